/**
 * `pgha provision`, `deprovision` and `download-packages`: make the hosts exist (nspawn) or
 * check that they do (bare), and build the local package repository.
 */
import { existsSync } from 'node:fs';
import { RuntimeError, UsageError } from '../errors.js';
import type { ResolvedCluster } from '../model/types.js';
import { assertHostPrereqs, installHostPrereqs } from '../platforms/prereqs.js';
import { buildLocalRepo, deprovisionNspawn, provisionNspawn, type Log } from '../platforms/nspawn/index.js';
import { bindMountProblem } from '../platforms/nspawn/paths.js';
import { provisionBare } from '../platforms/bare.js';
import { packagesFor } from '../render/index.js';
import { ensureClusterMaterial, loadCluster, type LoadedCluster } from './cluster-dir.js';

/** The /24 holding every host of an nspawn cluster (configure assigns them so). */
export function nspawnSubnet(cluster: ResolvedCluster): string {
  const nets = new Set(cluster.hosts.map((h) => h.ip.split('.').slice(0, 3).join('.')));
  if (nets.size !== 1) {
    throw new UsageError(`nspawn hosts must share one /24, but config.yml uses ${[...nets].map((n) => `${n}.0/24`).join(', ')}`, {
      hint: 'give every instance an ip_address in the same /24, or re-run `pgha configure --subnet … --force`',
    });
  }
  return `${[...nets][0]}.0/24`;
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0)
    throw new UsageError(`${what} on the nspawn platform must run as root (containers, bridges and mounts)`, { hint: 'run it with sudo' });
}

export async function provision(
  dir: string,
  opts: { installPrereqs: boolean; log: Log; acceptNewHostKeys?: boolean; knownHostsFile?: string },
): Promise<string> {
  const loaded = loadCluster(dir);
  const unbindable = loaded.cluster.platform === 'nspawn' ? bindMountProblem(loaded.paths.dir) : undefined;
  if (unbindable) throw new UsageError(`cluster directory ${unbindable}`);
  const material = await ensureClusterMaterial(loaded);
  const { cluster, paths } = loaded;
  if (cluster.platform === 'bare') {
    return provisionBare({
      hosts: cluster.hosts.map((h) => ({ name: h.name, ip: h.ip })),
      knownHosts: paths.knownHosts,
      privateKeyFile: paths.privateKey,
      ...(opts.acceptNewHostKeys ? { acceptNewHostKeys: true } : {}),
      ...(opts.knownHostsFile !== undefined ? { knownHostsFile: opts.knownHostsFile } : {}),
    });
  }
  requireRoot('provision');
  if (opts.installPrereqs) await installHostPrereqs(opts.log);
  await assertHostPrereqs();
  const result = await provisionNspawn(
    {
      clusterDir: paths.dir,
      clusterName: cluster.name,
      subnet: nspawnSubnet(cluster),
      hosts: cluster.hosts.map((h) => ({ name: h.name, ip: h.ip })),
      authorizedKey: material.sshPublicKey,
      localRepoDir: paths.localRepo,
    },
    { log: opts.log },
  );
  const rows = result.hosts.map(
    (h) => `  ${h.host.padEnd(10)} ${h.ip.padEnd(15)} ${h.action.padEnd(8)} pid ${h.pid}  ${h.seconds.toFixed(1)} s`,
  );
  return [
    `provisioned ${rows.length} containers on bridge ${result.bridge} (${result.bridgeAddress}) in ${result.seconds.toFixed(1)} s:`,
    ...rows,
    `host keys pinned in ${result.knownHostsFile}`,
  ].join('\n');
}

export async function deprovision(dir: string, opts: { log: Log }): Promise<string> {
  const { cluster } = loadCluster(dir);
  if (cluster.platform === 'bare') {
    throw new UsageError('deprovision is for nspawn clusters: pgha never removes hosts it did not create', {
      hint: 'decommission bare hosts yourself',
    });
  }
  requireRoot('deprovision');
  const result = await deprovisionNspawn(
    { clusterName: cluster.name, hosts: cluster.hosts.map((h) => ({ name: h.name, ip: h.ip })) },
    { log: opts.log },
  );
  const rows = result.hosts.map((h) => `  ${h.host.padEnd(10)} ${h.stopped}`);
  return [`removed ${rows.length} containers and bridge ${result.bridge} in ${result.seconds.toFixed(1)} s:`, ...rows].join('\n');
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
  const r = await buildLocalRepo({ clusterDir: loaded.paths.dir, packages, pins, extraDebs: opts.extraDebs ?? [] }, { log: opts.log });
  if (!r.debs) throw new RuntimeError('the local repository came out empty');
  return `${r.reused ? 'up to date' : 'built'}: ${r.dir} (${r.debs} packages for ${packages.join(', ')}) in ${r.seconds.toFixed(1)} s`;
}

export { loadCluster };
