/**
 * Making sure the local repository (nspawn) carries every version an upgrade installs, without
 * losing what it already carries: the versions hosts run now (so a re-deploy or a rollback still
 * finds them) and .debs added with `download-packages --add-deb` (a rebuilt patroni is on no
 * mirror, and the repository builder drops any .deb it is not given again).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError } from '../../errors.js';
import type { PackageVersionsRequest } from '../platform.js';
import { parsePackagesIndex, type IndexEntry } from './packages-index.js';
import { buildLocalRepo } from './repo.js';

/** pkg=version pairs the index does not hold. */
export function missingVersions(index: readonly IndexEntry[], wanted: Record<string, string>): string[] {
  return Object.entries(wanted)
    .filter(([n, v]) => !index.some((e) => e.name === n && e.version === v))
    .map(([n, v]) => `${n}=${v}`);
}

interface Manifest {
  packages?: { name: string; version: string; arch: string }[];
  files?: string[];
}

/**
 * Build what is missing. Returns a line for the summary; does nothing (and says so) when every
 * wanted version is already in the repository.
 */
export async function ensureRepoVersions(req: PackageVersionsRequest): Promise<string> {
  const { wanted, log } = req;
  const repo = req.localRepoDir;
  const index = parsePackagesIndex(await readFile(join(repo, 'Packages'), 'utf8').catch(() => ''));
  const missing = missingVersions(index, wanted);
  if (!missing.length)
    return `local repository already holds ${
      Object.entries(wanted)
        .map(([n, v]) => `${n}=${v}`)
        .join(', ') || 'everything'
    }`;

  const manifest = JSON.parse(await readFile(join(repo, '.pgha-repo.json'), 'utf8').catch(() => '{}')) as Manifest;
  const resolvedFiles = new Set((manifest.packages ?? []).map((p) => `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`));
  const extraFiles = (manifest.files ?? []).filter((f) => !resolvedFiles.has(f));
  const fromExtras = new Set(index.filter((e) => extraFiles.includes(e.file)).map((e) => `${e.name}=${e.version}`));

  const { packages, pins } = req.packageSet();
  // A pin an added .deb satisfies is not on the mirror: resolving it there would fail.
  const mirrorPins = Object.fromEntries(Object.entries(pins).filter(([n, v]) => !fromExtras.has(`${n}=${v}`)));
  const extraVersions: Record<string, string[]> = {};
  for (const p of manifest.packages ?? []) {
    const target = wanted[p.name];
    if (target !== undefined && p.version !== target && packages.includes(p.name) && !fromExtras.has(`${p.name}=${p.version}`)) {
      (extraVersions[p.name] ??= []).push(p.version);
    }
  }
  log(
    `local repository lacks ${missing.join(', ')}: fetching (keeping ${
      Object.entries(extraVersions)
        .map(([n, vs]) => `${n}=${vs.join('|')}`)
        .join(', ') || 'no older versions'
    })`,
  );
  const r = await buildLocalRepo(
    {
      clusterDir: req.clusterDir,
      codename: req.release.codename,
      packages,
      pins: mirrorPins,
      extraDebs: extraFiles.map((f) => join(repo, f)),
      extraVersions,
    },
    { log },
  );
  const after = parsePackagesIndex(await readFile(join(repo, 'Packages'), 'utf8').catch(() => ''));
  const still = missingVersions(after, wanted);
  if (still.length)
    throw new RuntimeError(`the local repository still lacks ${still.join(', ')} after a rebuild`, {
      where: 'upgrade: local repository',
      hint: 'check the versions against the Debian archive, or add the .deb with `pgha download-packages DIR --add-deb FILE`',
    });
  return `local repository: added ${missing.join(', ')} (${r.debs} packages, ${r.seconds.toFixed(1)} s)`;
}
