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
 * A record older than the committed manifest does not replace it; a release with no record keeps
 * its committed manifest, or its column says how to make one.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RELEASES, type DebianRelease } from '../src/model/releases.js';
import { newestVersions, type IndexEntry } from '../src/platforms/nspawn/packages-index.js';
import { patroniBuildFile, patroniBuildOf } from '../src/platforms/nspawn/patroni-fix.js';
import { aptListsDir, resolvedManifestFile } from '../src/platforms/nspawn/paths.js';
import { TABLE_COMPONENTS, parseResolvedManifest, resolvedManifest, type ResolvedManifest } from '../src/platforms/nspawn/resolved.js';
import { aptListEntries } from '../src/platforms/nspawn/resolved-store.js';
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
      if (manifest && manifest.codename !== release.codename) throw new Error(`${file} is a manifest of ${manifest.codename}`);
      return { release, manifest };
    }),
  );
}

/**
 * The entries a local repository built from these apt lists holds for the table's packages: the
 * mirror's, plus pgha's patroni build where the repository builder adds it (src/platforms/nspawn/
 * repo.ts: beside the Debian version it is built from, versioned above it, so hosts install it).
 */
export function asLocalRepoWouldHold(entries: readonly IndexEntry[]): IndexEntry[] {
  const newest = newestVersions(entries, ['patroni']).patroni;
  const build = newest === undefined ? undefined : patroniBuildOf(newest);
  return build ? [...entries, { name: 'patroni', version: build.version, file: patroniBuildFile(build) }] : [...entries];
}

async function fromAptLists(release: DebianRelease): Promise<ResolvedManifest | undefined> {
  const dir = aptListsDir(release.codename);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('_Packages')).map((f) => join(dir, f));
  if (!files.length) return undefined;
  const entries = await aptListEntries(release.codename);
  const date = new Date(Math.max(...(await Promise.all(files.map(async (f) => (await stat(f)).mtimeMs)))));
  return resolvedManifest(release, asLocalRepoWouldHold(entries), {
    source: `download-packages' apt lists of ${release.codename} (main, -updates, -security), as its local repository holds them`,
    date,
    components: TABLE_COMPONENTS,
  });
}

/** This machine's record of a release, if it has one: download-packages' own, else (asked) its apt lists. */
async function machineManifest(
  release: DebianRelease,
  useAptLists: boolean,
): Promise<{ manifest: ResolvedManifest; from: string } | undefined> {
  const recorded = resolvedManifestFile(release.codename);
  if (existsSync(recorded)) return { manifest: parseResolvedManifest(await readFile(recorded, 'utf8'), recorded), from: recorded };
  const listed = useAptLists ? await fromAptLists(release) : undefined;
  return listed && { manifest: listed, from: aptListsDir(release.codename) };
}

async function refresh(release: DebianRelease, useAptLists: boolean): Promise<string> {
  const file = manifestFile(release);
  const committed = existsSync(file) ? parseResolvedManifest(await readFile(file, 'utf8'), file) : undefined;
  const found = await machineManifest(release, useAptLists);
  if (!found) return `${release.codename}: nothing on this machine, kept ${committed ? file : 'no manifest'}`;
  // An older build on this machine does not roll back what a newer one resolved elsewhere.
  if (committed && found.manifest.date < committed.date) return `${release.codename}: kept ${file} (${found.from} is older)`;
  await writeFile(file, `${JSON.stringify(found.manifest, null, 2)}\n`);
  return `${release.codename}: from ${found.from}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const useAptLists = process.argv.includes('--from-apt-lists');
  for (const r of Object.values(RELEASES)) process.stdout.write(`${await refresh(r, useAptLists)}\n`);
  const readme = await readFile(README_FILE, 'utf8');
  await writeFile(README_FILE, spliceSection(readme, releasesSection(await committedColumns())));
  process.stdout.write(`wrote ${README_FILE}\n`);
}
