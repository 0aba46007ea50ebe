/**
 * Recording what a local repository build resolved (resolved.ts), at the end of every build,
 * also one that found the repository up to date (it may predate the manifest):
 * - DIR/local-repo/resolved.json, always: what this cluster's hosts install;
 * - PGHA_CACHE_DIR/resolved-<codename>.json only when nothing was pinned, kept back or added, so
 *   the machine-wide record (what the README's table is made from) is the release as Debian
 *   serves it today, never a test's pinned old version. It covers every component of the table,
 *   not only this cluster's: the release's apt lists this build refreshed hold the rest (a
 *   cluster without PgBouncer would otherwise drop PgBouncer's row).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { releaseByCodename } from '../../model/releases.js';
import { atomicWrite } from './atomic-write.js';
import { parsePackagesIndex, type IndexEntry } from './packages-index.js';
import { aptListsDir, resolvedManifestFile } from './paths.js';
import { TABLE_COMPONENTS, resolvedManifest } from './resolved.js';

export const RESOLVED_FILE = 'resolved.json';

export interface ResolvedInputs {
  codename: string;
  pins: Record<string, string>;
  extraVersions?: Record<string, string[]>;
  extraDebs?: string[];
}

/** Every entry of the release's apt lists (main, -updates, -security) a download-packages run left; none when there are none. */
export async function aptListEntries(codename: string, env: NodeJS.ProcessEnv = process.env): Promise<IndexEntry[]> {
  const dir = aptListsDir(codename, env);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('_Packages')).map((f) => join(dir, f));
  return (await Promise.all(files.map(async (f) => parsePackagesIndex(await readFile(f, 'utf8'))))).flat();
}

export async function recordResolved(repoDir: string, spec: ResolvedInputs, env: NodeJS.ProcessEnv): Promise<void> {
  const release = releaseByCodename(spec.codename);
  if (!release) return; // not a release pgha deploys: nothing the table could show
  const index = join(repoDir, 'Packages');
  const entries = parsePackagesIndex(await readFile(index, 'utf8'));
  // The index's own time: an up-to-date repository was resolved when it was built, not now.
  const date = (await stat(index)).mtime;
  const text = `${JSON.stringify(resolvedManifest(release, entries, { source: 'the local repository (pgha download-packages)', date }), null, 2)}\n`;
  await atomicWrite(join(repoDir, RESOLVED_FILE), text);
  const asServed = !Object.keys(spec.pins).length && !Object.keys(spec.extraVersions ?? {}).length && !(spec.extraDebs ?? []).length;
  if (!asServed) return;
  // The local repository first: where it holds a package (pgha's patroni build on 12) its version
  // is the newest, as apt, which prefers it, would install.
  const served = resolvedManifest(release, [...entries, ...(await aptListEntries(spec.codename, env))], {
    source: `download-packages: the local repository and the apt lists of ${spec.codename} (main, -updates, -security)`,
    date,
    components: TABLE_COMPONENTS,
  });
  await atomicWrite(resolvedManifestFile(spec.codename, env), `${JSON.stringify(served, null, 2)}\n`);
}
