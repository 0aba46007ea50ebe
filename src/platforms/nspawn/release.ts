/**
 * Which Debian release an nspawn cluster runs. Its containers share one local repository,
 * resolved in one release's image, so every host of a cluster runs the same release; two
 * clusters of different releases run side by side (each release has its own cached image).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { releaseName, type DebianRelease } from '../../model/releases.js';

export function oneRelease(hosts: readonly { name: string; release: DebianRelease }[]): DebianRelease {
  const first = hosts[0];
  if (!first) throw new UsageError('no hosts to provision');
  const others = hosts.filter((h) => h.release.codename !== first.release.codename);
  if (others.length) {
    const by = (r: DebianRelease) =>
      hosts
        .filter((h) => h.release.codename === r.codename)
        .map((h) => h.name)
        .join(', ');
    throw new UsageError(
      `one cluster's hosts run one Debian release (one local repository and one image serve them all), but ${by(first.release)} run ${releaseName(first.release)} and ${by(others[0]!.release)} run ${releaseName(others[0]!.release)}`,
      { hint: 'set os_version once in cluster_vars; a cluster of another release can run beside this one' },
    );
  }
  return first.release;
}

/** The release DIR/local-repo was resolved for (from its manifest), or undefined when it does not say. */
export async function localRepoCodename(repoDir: string): Promise<string | undefined> {
  try {
    const m = JSON.parse(await readFile(join(repoDir, '.pgha-repo.json'), 'utf8')) as { codename?: unknown };
    return typeof m.codename === 'string' ? m.codename : undefined;
  } catch {
    return undefined;
  }
}
