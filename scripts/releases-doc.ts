/**
 * Rewrites README.md's table of Debian releases × component versions (`npm run docs:releases`)
 * from the manifests committed under docs/releases/<codename>.json. Those are what
 * `pgha download-packages` resolved (src/platforms/nspawn/resolved-store.ts), so the table is
 * never typed by hand; test/unit/releases-doc.test.ts fails when README.md and the committed
 * manifests disagree.
 *
 * Before writing, each release's manifest is refreshed from this machine, when it has one:
 * - PGHA_CACHE_DIR/resolved-<codename>.json, written by a download-packages run with nothing
 *   pinned (the release as Debian serves it);
 * - with `--from-apt-lists`, for a release that has none of those: the apt lists a
 *   download-packages run of that release left in PGHA_CACHE_DIR/apt-lists-<codename> (the
 *   mirror's main, -updates and -security indexes it resolved from), read as that run's local
 *   repository would hold them. For machines whose last build predates the manifests.
 * A release with neither keeps its committed manifest, or its column says how to make one.
 */
import { existsSync } from 'node:fs';
import { copyFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RELEASES, type DebianRelease } from '../src/model/releases.js';
import { newestVersions, parsePackagesIndex, type IndexEntry } from '../src/platforms/nspawn/packages-index.js';
import { PATRONI_FIX_BASE, PATRONI_FIX_FILE, PATRONI_FIX_VERSION } from '../src/platforms/nspawn/patroni-fix.js';
import { aptListsDir, resolvedManifestFile } from '../src/platforms/nspawn/paths.js';
import { RESOLVED_COMPONENTS, parseResolvedManifest, resolvedManifest } from '../src/platforms/nspawn/resolved.js';
import { releasesSection, spliceSection, type ReleaseColumn } from './releases-table.js';

export const README_FILE = fileURLToPath(new URL('../README.md', import.meta.url));
export const MANIFEST_DIR = fileURLToPath(new URL('../docs/releases/', import.meta.url));

export function manifestFile(r: DebianRelease): string {
  return join(MANIFEST_DIR, `${r.codename}.json`);
}

/** Every release pgha deploys, with its committed manifest where there is one. */
export async function committedColumns(): Promise<ReleaseColumn[]> {
  return Promise.all(
    Object.values(RELEASES).map(async (release) => {
      const file = manifestFile(release);
      const manifest = existsSync(file) ? parseResolvedManifest(await readFile(file, 'utf8'), file) : undefined;
      return { release, manifest };
    }),
  );
}

/**
 * The entries a local repository built from these apt lists holds for the table's packages: the
 * mirror's, plus pgha's patroni build where the repository builder adds it (src/platforms/nspawn/
 * repo.ts: beside Debian's 3.0.2-1, versioned above it, so hosts install it).
 */
export function asLocalRepoWouldHold(entries: readonly IndexEntry[]): IndexEntry[] {
  return newestVersions(entries, ['patroni']).patroni === PATRONI_FIX_BASE
    ? [...entries, { name: 'patroni', version: PATRONI_FIX_VERSION, file: PATRONI_FIX_FILE }]
    : [...entries];
}

async function fromAptLists(release: DebianRelease): Promise<string | undefined> {
  const dir = aptListsDir(release.codename);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('_Packages')).map((f) => join(dir, f));
  if (!files.length) return undefined;
  const entries = (await Promise.all(files.map(async (f) => parsePackagesIndex(await readFile(f, 'utf8'))))).flat();
  const date = new Date(Math.max(...(await Promise.all(files.map(async (f) => (await stat(f)).mtimeMs)))));
  const manifest = resolvedManifest(release, asLocalRepoWouldHold(entries), {
    source: `download-packages' apt lists of ${release.codename} (main, -updates, -security), as its local repository holds them`,
    date,
    // The mirror holds pgBackRest, but no local repository does (no pgha cluster installs it).
    components: RESOLVED_COMPONENTS.filter((c) => c !== 'pgbackrest'),
  });
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

async function refresh(release: DebianRelease, useAptLists: boolean): Promise<string> {
  const recorded = resolvedManifestFile(release.codename);
  if (existsSync(recorded)) {
    parseResolvedManifest(await readFile(recorded, 'utf8'), recorded);
    await copyFile(recorded, manifestFile(release));
    return `${release.codename}: from ${recorded}`;
  }
  if (useAptLists) {
    const text = await fromAptLists(release);
    if (text) {
      await writeFile(manifestFile(release), text);
      return `${release.codename}: from ${aptListsDir(release.codename)}`;
    }
  }
  return `${release.codename}: nothing on this machine, kept docs/releases/${release.codename}.json${existsSync(manifestFile(release)) ? '' : ' (none)'}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const useAptLists = process.argv.includes('--from-apt-lists');
  for (const r of Object.values(RELEASES)) process.stdout.write(`${await refresh(r, useAptLists)}\n`);
  const readme = await readFile(README_FILE, 'utf8');
  await writeFile(README_FILE, spliceSection(readme, releasesSection(await committedColumns())));
  process.stdout.write(`wrote ${README_FILE}\n`);
}
