/**
 * `pgha remove-node DIR NAME` (docs/architecture.md#changing-a-cluster): a node taken out of a
 * running cluster. Checked first, changing nothing when refused: NAME is in config.yml, is not
 * the configured primary, config.yml stays valid without it, it does not lead (exit 3: switch over
 * first), and etcd keeps its quorum without it. Then, in an order each step of which a re-run or a
 * plain deploy converges from: Patroni and PostgreSQL stopped on NAME and its member key deleted
 * from the DCS (the leader drops its replication slot at its next cycle); config.yml written
 * without it; deploy (etcd `member remove`, every other host's HAProxy, PgBouncer, pg_hba and
 * allowlist reloaded, nothing restarted); NAME's services disabled; its host removed where
 * provision made it (nspawn) and its pinned host keys dropped.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dataNodes, etcdMembers, hasRole, isDataNode } from '../../components/common.js';
import { EtcdGateway } from '../../components/etcd/auth.js';
import { etcdPeerUrl } from '../../components/etcd/config.js';
import { etcdHealth } from '../../components/etcd/live.js';
import { planEtcdMembership, readEtcdMembers } from '../../components/etcd/membership.js';
import { patroniUnit } from '../../components/patroni/config.js';
import { dcsPrefix } from '../../components/patroni/dcs-keys.js';
import { disableUnitsCommand } from '../../components/host-commands.js';
import { stopMemberCommand } from '../../components/pgbackrest/restore.js';
import { validateConfig } from '../../config/validate.js';
import { parseConfigText } from '../../config/load.js';
import { ConfigError, RefusedError, UsageError } from '../../errors.js';
import type { ResolvedHost } from '../../model/types.js';
import { leaderOf } from '../../patroni/judge.js';
import { platformFor } from '../../platforms/index.js';
import { knownHostsName } from '../../transport/known-hosts.js';
import { run } from '../../transport/types.js';
import { ETCD_ROOT_SECRET } from '../../secrets/store.js';
import { ensureClusterMaterial, loadCluster } from '../cluster-dir.js';
import { deploy, type DeployResult } from '../deploy/index.js';
import { tryReadCluster } from '../live/view.js';
import type { Progress } from '../progress.js';
import { ClusterSession, type SessionSeams } from '../session.js';
import { withoutInstance, withoutKnownHosts } from './config-edit.js';

export interface RemoveNodeRequest {
  concurrency: number;
  /** Progress lines on stderr (deploy's own phases go to `progress`). */
  log: (line: string) => void;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export async function removeNode(
  dir: string,
  name: string,
  req: RemoveNodeRequest,
  progress: Progress,
  seams: SessionSeams = {},
): Promise<DeployResult> {
  const loaded = loadCluster(dir);
  const { cluster, paths } = loaded;
  const host = cluster.hosts.find((h) => h.name === name);
  if (!host) {
    throw new UsageError(`${name} is not an instance of ${paths.config} (instances: ${cluster.hosts.map((h) => h.name).join(', ')})`, {
      hint: `a node already taken out of config.yml: \`pgha deploy ${paths.dir}\` finishes what remove-node began`,
    });
  }
  if (hasRole(host, 'primary')) {
    throw new UsageError(`${name} has role primary in ${paths.config}: the member a new cluster bootstraps on`, {
      hint: `give role primary to another data node (and ${name} role replica) in config.yml, then run remove-node again; \`pgha switchover ${paths.dir}\` first if ${name} leads`,
    });
  }
  const text = readFileSync(paths.config, 'utf8');
  const without = withoutInstance(text, name, paths.config);
  try {
    validateConfig(parseConfigText(without, 'config.yml'));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new UsageError(`without ${name}, config.yml would not be valid:\n${e.message}`, {
      hint: 'fix config.yml first, then run remove-node again',
    });
  }

  const material = await ensureClusterMaterial(loaded);
  const session = new ClusterSession(cluster, paths, material, seams.connectHost, seams.rest);
  try {
    const remaining = cluster.hosts.filter((h) => h.name !== name);
    if (isDataNode(host)) {
      const live = await tryReadCluster(
        session,
        dataNodes(cluster).map((h) => h.name),
      );
      if (live && leaderOf(live)?.name === name) {
        throw new RefusedError(`refusing to remove ${name}; nothing was changed:`, [`${name} is the leader`], {
          hint: `switch over first: pgha switchover ${paths.dir}`,
        });
      }
    }
    if (hasRole(host, 'etcd')) await checkEtcdQuorum(session, host, remaining);

    // Reachable or not (a dead host is removed all the same): what cannot be stopped is said.
    let reachable = true;
    try {
      await session.connect([host], 1);
    } catch (e) {
      reachable = false;
      req.log(`${name}: unreachable (${(e as Error).message.split('\n')[0]}); its services are not stopped`);
    }
    if (isDataNode(host)) {
      if (reachable) {
        const r = await run(session.transport(name), stopMemberCommand(host, patroniUnit(cluster)), 'stop Patroni and PostgreSQL');
        req.log(`${name}: Patroni and PostgreSQL ${r.stdout.includes('stopped') ? 'stopped' : 'already stopped'}`);
      }
      const kept = await forgetMember(session, remaining, name);
      if (kept) req.log(kept);
    }

    writeFileSync(paths.config, without);
    req.log(`${paths.config}: ${name} removed`);
    const result = await deploy(dir, { check: false, diff: false, extraVars: {}, concurrency: req.concurrency }, progress, seams);
    if (result.exitCode !== 0) return result;

    const lines: string[] = [];
    if (reachable) {
      const units = [isDataNode(host) ? patroniUnit(cluster) : undefined, hasRole(host, 'etcd') ? 'etcd.service' : undefined].filter(
        (u): u is string => u !== undefined,
      );
      if (units.length) {
        await run(session.transport(name), disableUnitsCommand(units), 'disable services');
        lines.push(`${name}: ${units.join(', ')} stopped and disabled`);
      }
    }
    await session.close();
    lines.push(await platformFor(cluster.platform).removeHost({ clusterName: cluster.name, host: name, log: req.log }));
    if (existsSync(paths.knownHosts)) {
      const ip = knownHostsName(host.ip);
      writeFileSync(
        paths.knownHosts,
        withoutKnownHosts(readFileSync(paths.knownHosts, 'utf8'), (p) => p === name || p === ip),
      );
      lines.push(`${paths.knownHosts}: ${name}'s host keys dropped`);
    }
    return { ...result, summary: [result.summary, ...lines].join('\n') };
  } finally {
    await session.close();
  }
}

/** Refused (exit 3) before anything changes when etcd would lose its quorum without `host`'s member. */
async function checkEtcdQuorum(session: ClusterSession, host: ResolvedHost, remaining: ResolvedHost[]): Promise<void> {
  const members = etcdMembers(session.cluster);
  const health = await Promise.all(
    members.map(async (h) => ({
      name: h.name,
      healthy: await etcdHealth(session.etcdHttp(h.name)).then(
        (x) => x.healthy,
        () => false,
      ),
    })),
  );
  const healthy = health.filter((h) => h.healthy).map((h) => h.name);
  const via = healthy.find((n) => n !== host.name);
  if (!via) {
    throw new RefusedError(`refusing to remove ${host.name}; nothing was changed:`, ['no other etcd member answers healthy'], {
      hint: 'bring etcd back on the other members first (`pgha status DIR`)',
    });
  }
  const gw = new EtcdGateway(session.etcdHttp(via), `${via}: etcd`);
  if (host.vars.etcd_authentication_mode === 'basic') await gw.authenticate('root', session.material.secrets.get(ETCD_ROOT_SECRET));
  const wanted = etcdMembers({ ...session.cluster, hosts: remaining }).map((h) => ({ name: h.name, peerUrl: etcdPeerUrl(h) }));
  const plan = planEtcdMembership(await readEtcdMembers(gw), wanted, healthy);
  if (plan.refusals.length) {
    throw new RefusedError(`refusing to remove ${host.name}; nothing was changed:`, plan.refusals, plan.hint ? { hint: plan.hint } : {});
  }
}

/**
 * The removed member's key in the DCS, deleted at once instead of left to expire with its lease
 * (up to ttl): until it goes, the leader keeps its replication slot and status lists it.
 */
async function forgetMember(session: ClusterSession, remaining: ResolvedHost[], name: string): Promise<string | undefined> {
  const errors: string[] = [];
  for (const h of etcdMembers({ ...session.cluster, hosts: remaining })) {
    try {
      const gw = new EtcdGateway(session.etcdHttp(h.name), `${h.name}: etcd`);
      if (h.vars.etcd_authentication_mode === 'basic') {
        const user = String(h.vars.patroni_etcd_user);
        await gw.authenticate(user, session.material.secrets.get(user));
      }
      await gw.must('/v3/kv/deleterange', { key: b64(`${dcsPrefix(h.vars, session.cluster.name)}members/${name}`) });
      return undefined;
    } catch (e) {
      errors.push(`${h.name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  // Not fatal: the key expires with its lease on its own.
  return `${name}'s member key stays in etcd until its lease expires (${errors.join('; ')})`;
}
