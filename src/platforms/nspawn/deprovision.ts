/**
 * Removing an nspawn cluster: every container stopped (gracefully first), its overlay
 * unmounted, its cgroups, state directory and bridge removed.
 */
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError, UsageError } from '../../errors.js';
import type { HostAddr } from '../platform.js';
import { removeBridge } from './bridge.js';
import { cgroupRoots, killAll, processesInCgroups, removeCgroupTree } from './cgroups.js';
import { runningPid, stopPid } from './container.js';
import { bridgeName, isValidClusterName } from './names.js';
import { cgroupDirs, clusterStateDir, hostPaths } from './paths.js';
import { assertRoot } from './prereqs.js';
import type { NspawnClusterSpec, NspawnOptions } from './provision.js';
import { acquireLock, findNspawnByRoot, isMounted, mountPoints, noLog, run } from './sys.js';

export interface HostStop {
  host: string;
  /** graceful: stopped on SIGTERM; killed: needed SIGKILL; none: was not running. */
  stopped: 'graceful' | 'killed' | 'none';
  seconds: number;
}

export interface DeprovisionResult {
  bridge: string;
  hosts: HostStop[];
  seconds: number;
}

/**
 * Stop and remove every container of the cluster (those of `spec.hosts` and any other found in
 * its state directory), the overlays, the state directory and the bridge. Safe to run again.
 */
export async function deprovisionNspawn(
  spec: Pick<NspawnClusterSpec, 'clusterName'> & { hosts?: HostAddr[] },
  opts: NspawnOptions = {},
): Promise<DeprovisionResult> {
  const log = opts.log ?? noLog;
  const env = opts.env ?? process.env;
  const start = Date.now();
  if (!isValidClusterName(spec.clusterName)) throw new UsageError(`invalid cluster name ${JSON.stringify(spec.clusterName)}`);
  assertRoot('deprovision');
  const bridge = bridgeName(spec.clusterName);
  const base = clusterStateDir(spec.clusterName, env);
  const release = await acquireLock(`${base}.lock`, `cluster ${spec.clusterName}`, log);
  try {
    const names = new Set((spec.hosts ?? []).map((h) => h.name));
    for (const e of await readdir(base, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) names.add(e.name);

    const roots = await cgroupRoots();
    const hosts = await Promise.all([...names].map((name) => stopContainer(spec.clusterName, name, roots, env, log)));

    for (const cg of cgroupDirs(roots, spec.clusterName)) await removeCgroupTree(cg);
    for (const root of roots) await rmdir(join(root, 'pgha')).catch(() => {});

    const left = (await mountPoints()).filter((m) => m === base || m.startsWith(`${base}/`));
    if (left.length) {
      throw new RuntimeError(`still mounted: ${left.join(', ')}`, {
        where: 'deprovision',
        hint: `unmount them, then run deprovision again`,
      });
    }
    await rm(base, { recursive: true, force: true });
    await removeBridge(bridge, log);
    return { bridge, hosts, seconds: (Date.now() - start) / 1000 };
  } finally {
    await release();
  }
}

/** One container stopped (gracefully first, then its cgroups' processes killed) and its overlay unmounted. */
async function stopContainer(
  clusterName: string,
  name: string,
  roots: string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<HostStop> {
  const t0 = Date.now();
  const paths = hostPaths(clusterName, name, env);
  const pids = new Set<number>();
  const recorded = await runningPid(paths);
  if (recorded !== undefined) pids.add(recorded);
  for (const p of await findNspawnByRoot(paths.merged)) pids.add(p);
  let stopped: HostStop['stopped'] = 'none';
  for (const pid of pids) {
    log(`${name}: stopping (pid ${pid})`);
    const r = await stopPid(pid);
    if (r === 'killed' || (r === 'graceful' && stopped === 'none')) stopped = r;
  }
  // Left-overs of a container whose nspawn was killed: its init and everything under it.
  const orphans = await processesInCgroups(cgroupDirs(roots, clusterName, name));
  if (orphans.length) {
    stopped = 'killed';
    await killAll(orphans);
  }
  if (await isMounted(paths.merged)) {
    const r = await run('umount', [paths.merged], { allowFail: true });
    if (r.code !== 0) await run('umount', ['-l', paths.merged], { where: `deprovision: ${name}: unmount` });
  }
  return { host: name, stopped, seconds: (Date.now() - t0) / 1000 };
}

/**
 * One container of the cluster removed (pgha remove-node): stopped, unmounted, its cgroups and
 * state directory deleted; the bridge and the other containers left as they are. Safe to run again.
 */
export async function removeNspawnHost(spec: { clusterName: string; host: string }, opts: NspawnOptions = {}): Promise<HostStop> {
  const log = opts.log ?? noLog;
  const env = opts.env ?? process.env;
  if (!isValidClusterName(spec.clusterName)) throw new UsageError(`invalid cluster name ${JSON.stringify(spec.clusterName)}`);
  assertRoot('remove-node');
  const base = clusterStateDir(spec.clusterName, env);
  const release = await acquireLock(`${base}.lock`, `cluster ${spec.clusterName}`, log);
  try {
    const roots = await cgroupRoots();
    const stopped = await stopContainer(spec.clusterName, spec.host, roots, env, log);
    for (const cg of cgroupDirs(roots, spec.clusterName, spec.host)) await removeCgroupTree(cg);
    const paths = hostPaths(spec.clusterName, spec.host, env);
    if (await isMounted(paths.merged))
      throw new RuntimeError(`still mounted: ${paths.merged}`, {
        where: `remove-node: ${spec.host}`,
        hint: 'unmount it, then run remove-node again',
      });
    await rm(paths.base, { recursive: true, force: true });
    return stopped;
  } finally {
    await release();
  }
}
