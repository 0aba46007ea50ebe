/**
 * Recording what a local repository build resolved (resolved.ts), at the end of every build,
 * also one that found the repository up to date (it may predate the manifest):
 * - DIR/local-repo/resolved.json, always: what this cluster's hosts install;
 * - PGHA_CACHE_DIR/resolved-<codename>.json only when nothing was pinned, kept back or added, so
 *   the machine-wide record (what the README's table is made from) is the release as Debian
 *   serves it today, never a test's pinned old version.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { releaseByCodename } from '../../model/releases.js';
import { atomicWrite } from './atomic-write.js';
import { parsePackagesIndex } from './packages-index.js';
import { resolvedManifestFile } from './paths.js';
import { resolvedManifest } from './resolved.js';

export const RESOLVED_FILE = 'resolved.json';

export interface ResolvedInputs {
  codename: string;
  pins: Record<string, string>;
  extraVersions?: Record<string, string[]>;
  extraDebs?: string[];
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
  if (asServed) await atomicWrite(resolvedManifestFile(spec.codename, env), text);
}
