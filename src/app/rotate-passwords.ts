/**
 * `pgha rotate-passwords DIR [NAME...]`: new passwords for the cluster's users (PostgreSQL's
 * superuser, replication and rewind roles, Patroni's REST API, etcd's root and Patroni users, the
 * PgBouncer auth user), rolled out without restarting anything. The new values are staged
 * (DIR/secrets/.rotate/), etcd root's is set in etcd, then all are moved into DIR/secrets and
 * deploy converges the cluster to them in its usual order: each role's password on the leader
 * before Patroni reloads it (open connections stay up), Patroni reloaded before etcd changes its
 * user's password (src/components/etcd/auth.ts, deferredEtcdStep), PgBouncer's files reloaded.
 * Interrupted anywhere, a re-run resumes with the same staged values, or `pgha deploy` finishes it.
 */
import { commitStagedSecret, endStaging, ETCD_ROOT_SECRET, stageSecret } from '../secrets/store.js';
import { EtcdGateway } from '../components/etcd/auth.js';
import { changeRootPassword } from '../components/etcd/root-password.js';
import { etcdMembers } from '../components/common.js';
import { RuntimeError, UsageError } from '../errors.js';
import { clusterSecretNames, ensureClusterMaterial, loadCluster, type LoadedCluster } from './cluster-dir.js';
import { deploy, type DeployResult } from './deploy/index.js';
import { etcdHealth } from './live/view.js';
import type { Progress } from './progress.js';
import { ClusterSession, type SessionSeams } from './session.js';

export interface RotateRequest {
  /** Secret names to rotate; empty: every secret the cluster uses. */
  names: string[];
  concurrency: number;
}

/** The names asked for, checked against the cluster's secrets before anything is touched. */
export function namesToRotate(loaded: LoadedCluster, asked: readonly string[]): string[] {
  const all = clusterSecretNames(loaded.cluster);
  const unknown = asked.filter((n) => !all.includes(n));
  if (unknown.length) {
    throw new UsageError(`rotate-passwords: ${unknown.map((n) => `'${n}'`).join(', ')} is not a secret of this cluster`, {
      hint: `name some of: ${all.join(', ')} (or none, for all of them)`,
    });
  }
  return asked.length ? [...new Set(asked)].sort() : all;
}

/** etcd's root password, in etcd, through the first member that answers its health check. */
async function rotateEtcdRoot(loaded: LoadedCluster, next: string, seams: SessionSeams): Promise<string> {
  const material = await ensureClusterMaterial(loaded);
  const session = new ClusterSession(loaded.cluster, loaded.paths, material, seams.connectHost, seams.rest);
  try {
    for (const h of etcdMembers(loaded.cluster)) {
      const healthy = await etcdHealth(session.etcdHttp(h.name)).then(
        (r) => r.healthy,
        () => false,
      );
      if (!healthy) continue;
      const gw = new EtcdGateway(session.etcdHttp(h.name), `${h.name}: etcd auth`);
      const outcome = await changeRootPassword(gw, material.secrets.get(ETCD_ROOT_SECRET), next);
      return outcome === 'changed' ? `etcd: set the password of root (through ${h.name})` : `etcd: root's password: ${outcome}`;
    }
  } finally {
    await session.close();
  }
  throw new RuntimeError("no etcd member answers its health check: cannot change root's password", {
    hint: `bring etcd back (pgha status ${loaded.paths.dir}), then run pgha rotate-passwords again`,
  });
}

export async function rotatePasswords(
  dir: string,
  req: RotateRequest,
  progress: Progress,
  seams: SessionSeams = {},
): Promise<DeployResult> {
  const loaded = loadCluster(dir, {});
  const names = namesToRotate(loaded, req.names);
  const staged = new Map<string, string>();
  for (const n of names) staged.set(n, await stageSecret(loaded.paths.dir, n));
  const notes: string[] = [];
  const root = staged.get(ETCD_ROOT_SECRET);
  if (root !== undefined) notes.push(await rotateEtcdRoot(loaded, root, seams));
  for (const n of names) await commitStagedSecret(loaded.paths.dir, n);
  await endStaging(loaded.paths.dir);
  const result = await deploy(dir, { check: false, diff: false, extraVars: {}, concurrency: req.concurrency }, progress, seams);
  return { ...result, summary: [`new passwords: ${names.join(', ')}`, ...notes, result.summary].join('\n') };
}
