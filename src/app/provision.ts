/**
 * `pgha provision`, `deprovision` and `download-packages`: the cluster's platform makes the hosts
 * exist (nspawn) or checks that they do (bare); the local package repository is built on this
 * machine with the nspawn platform's tools, whatever the cluster's platform.
 */
import { existsSync } from 'node:fs';
import { RuntimeError, UsageError } from '../errors.js';
import { releaseOf, type DebianRelease } from '../model/releases.js';
import type { ResolvedCluster } from '../model/types.js';
import { platformFor, type Log } from '../platforms/index.js';
import { assertHostPrereqs, requireRoot } from '../platforms/nspawn/prereqs.js';
import { oneRelease } from '../platforms/nspawn/release.js';
import { buildLocalRepo } from '../platforms/nspawn/repo.js';
import { packagesFor } from '../render/index.js';
import { ensureClusterMaterial, loadCluster, type LoadedCluster } from './cluster-dir.js';

export async function provision(
  dir: string,
  opts: { installPrereqs: boolean; log: Log; acceptNewHostKeys?: boolean; knownHostsFile?: string },
): Promise<string> {
  const loaded = loadCluster(dir);
  const platform = platformFor(loaded.cluster.platform);
  const unbindable = platform.clusterDirProblem(loaded.paths.dir);
  if (unbindable) throw new UsageError(`cluster directory ${unbindable}`);
  const material = await ensureClusterMaterial(loaded);
  const { cluster, paths } = loaded;
  return platform.provision({
    clusterDir: paths.dir,
    clusterName: cluster.name,
    hosts: cluster.hosts.map((h) => ({ name: h.name, ip: h.ip, release: releaseOf(h.vars) })),
    sshPublicKey: material.sshPublicKey,
    access: { privateKeyFile: paths.privateKey, knownHostsFile: paths.knownHosts },
    localRepoDir: paths.localRepo,
    installPrereqs: opts.installPrereqs,
    acceptNewHostKeys: opts.acceptNewHostKeys === true,
    ...(opts.knownHostsFile !== undefined ? { vouchedKnownHostsFile: opts.knownHostsFile } : {}),
    log: opts.log,
  });
}

export async function deprovision(dir: string, opts: { log: Log }): Promise<string> {
  const { cluster } = loadCluster(dir);
  return platformFor(cluster.platform).deprovision({
    clusterName: cluster.name,
    hosts: cluster.hosts.map((h) => ({ name: h.name, ip: h.ip })),
    log: opts.log,
  });
}

/**
 * The one Debian release DIR/local-repo is resolved for: every host's (a usage error naming the
 * hosts when they differ, as one repository serves them all).
 */
export function clusterRelease(cluster: ResolvedCluster): DebianRelease {
  return oneRelease(cluster.hosts.map((h) => ({ name: h.name, release: releaseOf(h.vars) })));
}

/** Every package any host needs, with the pins the variables ask for. */
export function clusterPackageSet(cluster: ResolvedCluster): { packages: string[]; pins: Record<string, string> } {
  const names = new Set<string>();
  const pins: Record<string, string> = {};
  for (const h of cluster.hosts) {
    for (const p of packagesFor(cluster, h)) {
      names.add(p.name);
      if (p.version) {
        if (pins[p.name] && pins[p.name] !== p.version) {
          throw new UsageError(`${p.name} is pinned to both ${pins[p.name]} and ${p.version} on different hosts`, {
            hint: 'pin one version per package in cluster_vars',
          });
        }
        pins[p.name] = p.version;
      }
    }
  }
  return { packages: [...names].sort(), pins };
}

export async function downloadPackages(loaded: LoadedCluster, opts: { log: Log; extraDebs?: string[] }): Promise<string> {
  requireRoot('download-packages');
  await assertHostPrereqs();
  const { packages, pins } = clusterPackageSet(loaded.cluster);
  for (const deb of opts.extraDebs ?? []) {
    if (!existsSync(deb)) throw new UsageError(`--add-deb ${deb}: no such file`);
  }
  const { codename } = clusterRelease(loaded.cluster);
  const r = await buildLocalRepo(
    { clusterDir: loaded.paths.dir, codename, packages, pins, extraDebs: opts.extraDebs ?? [] },
    { log: opts.log },
  );
  if (!r.debs) throw new RuntimeError('the local repository came out empty');
  return `${r.reused ? 'up to date' : 'built'}: ${r.dir} (Debian ${codename}: ${r.debs} packages for ${packages.join(', ')}) in ${r.seconds.toFixed(1)} s`;
}

export { loadCluster };
