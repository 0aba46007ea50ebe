/**
 * `pgha replace-node DIR NAME` (TPA's rehydrate; docs/architecture.md#changing-a-cluster): a host
 * that is gone, or must be rebuilt, comes back empty under the same name and address. Refused,
 * changing nothing, for a name not in config.yml (exit 2), for the leader (exit 3: switch over
 * first) and when etcd would lose its quorum while the member is away (exit 3). Then the old
 * identity goes: its etcd membership (`member remove`; the empty host joins again as a new
 * member), its key in the DCS, its pinned host keys and, where provision made it (nspawn), the
 * host itself; provision makes the host again (bare: the operator reinstalled it, and its new key
 * is pinned only as provision's rules allow) and deploy builds it as a new member: etcd `member
 * add`, Patroni's replica from the leader, every other host reloaded. Nothing else restarts.
 */
import { dataNodes, hasRole, isDataNode } from '../../components/common.js';
import { RefusedError, UsageError } from '../../errors.js';
import { leaderOf } from '../../patroni/judge.js';
import { platformFor } from '../../platforms/index.js';
import { ensureClusterMaterial, loadCluster } from '../cluster-dir.js';
import { deploy, type DeployResult } from '../deploy/index.js';
import { tryReadCluster } from '../live/view.js';
import type { Progress } from '../progress.js';
import { provision } from '../provision.js';
import { ClusterSession, type SessionSeams } from '../session.js';
import { checkEtcdQuorum, dropKnownHosts, forgetMember, removeEtcdMember } from './steps.js';

export interface ReplaceNodeRequest {
  concurrency: number;
  log: (line: string) => void;
  /** bare: pin the rebuilt host's new key after printing its fingerprint (provision's flag). */
  acceptNewHostKeys?: boolean;
  /** bare: pin it only if this known_hosts file lists it (provision's flag). */
  knownHostsFile?: string;
}

export async function replaceNode(
  dir: string,
  name: string,
  req: ReplaceNodeRequest,
  progress: Progress,
  seams: SessionSeams & { skipProvision?: boolean } = {},
): Promise<DeployResult> {
  const loaded = loadCluster(dir);
  const { cluster, paths } = loaded;
  const host = cluster.hosts.find((h) => h.name === name);
  if (!host)
    throw new UsageError(`${name} is not an instance of ${paths.config} (instances: ${cluster.hosts.map((h) => h.name).join(', ')})`);
  const material = await ensureClusterMaterial(loaded);
  const session = new ClusterSession(cluster, paths, material, seams.connectHost, seams.rest);
  const lines: string[] = [];
  try {
    if (isDataNode(host)) {
      const others = dataNodes(cluster)
        .map((h) => h.name)
        .filter((n) => n !== name);
      const live = await tryReadCluster(session, others);
      if (live && leaderOf(live)?.name === name) {
        throw new RefusedError(`refusing to replace ${name}; nothing was changed:`, [`${name} is the leader`], {
          hint: `switch over first: pgha switchover ${paths.dir}`,
        });
      }
    }
    const remaining = cluster.hosts.filter((h) => h.name !== name);
    const etcd = hasRole(host, 'etcd') ? await checkEtcdQuorum(session, host, remaining, 'replace') : undefined;

    // The old identity goes, the host first: nothing of it may answer for the new one.
    lines.push(await platformFor(cluster.platform).removeHost({ clusterName: cluster.name, host: name, log: req.log }));
    if (etcd) {
      await removeEtcdMember(etcd);
      if (etcd.steps.length) lines.push(`etcd: member ${name} removed; it joins again as a new member`);
    }
    if (isDataNode(host)) {
      const kept = await forgetMember(session, remaining, name);
      if (kept) req.log(kept);
    }
    const dropped = dropKnownHosts(paths.knownHosts, host);
    if (dropped) lines.push(dropped);
  } finally {
    await session.close();
  }
  if (!seams.skipProvision) {
    lines.push(
      await provision(dir, {
        installPrereqs: false,
        log: req.log,
        ...(req.acceptNewHostKeys ? { acceptNewHostKeys: true } : {}),
        ...(req.knownHostsFile !== undefined ? { knownHostsFile: req.knownHostsFile } : {}),
      }),
    );
  }
  const result = await deploy(dir, { check: false, diff: false, extraVars: {}, concurrency: req.concurrency }, progress, seams);
  return { ...result, summary: [...lines, result.summary].join('\n') };
}
