/**
 * The one way pgha reads a live cluster (docs/architecture.md#operations): the members through
 * GET /cluster with fallback across members, each member's own GET /patroni, the DCS
 * configuration, and etcd's health. What the answers mean is judged in src/patroni/judge.ts.
 *
 * The connections come from a LiveSource: a ClusterSession (deploy, upgrade, switchover, the
 * verbs: SSH open, secrets loaded) or a probe context (status and test: REST only, short
 * timeouts, nothing secret), so every command reads the same way.
 */
import { RuntimeError } from '../../errors.js';
import type { Plain } from '../../model/merge.js';
import type { ResolvedHost } from '../../model/types.js';
import type { PatroniClient } from '../../patroni/client.js';
import { allBack, isStreamingReplica, leaderOf, streamsTo, upstreamOf } from '../../patroni/judge.js';
import { patchDcsConfig, postRestart, type RestartBody, type RestartOutcome } from '../../patroni/ops.js';
import { isLeaderRole, type ClusterInfo, type PatroniNodeStatus } from '../../patroni/types.js';
import type { Requester } from '../../transport/https.js';
import { etcdHealth } from '../../components/etcd/live.js';
import { firstLine } from '../../components/health.js';
import { waitFor } from '../wait.js';

/** Where the live reads get their connections (ClusterSession is one). */
export interface LiveSource {
  /** A client for a data node's REST API, for reads (straight from the controller). */
  patroni(name: string): PatroniClient;
  /** A requester for an etcd member's client port. */
  etcdHttp(name: string): Requester;
}

/** The first line of an error's message, defined once beside the health checks that print it. */
export { firstLine };

/**
 * GET /cluster from the first of `members` that answers: every member reports the same DCS view,
 * and one that is down (restarting, say) must not stop the read. An answer listing no member
 * (a Patroni that has not registered yet) is taken only when no member lists any.
 */
export async function readCluster(src: LiveSource, members: readonly string[]): Promise<ClusterInfo> {
  const errors: string[] = [];
  let empty: ClusterInfo | undefined;
  for (const name of members) {
    try {
      const info = await src.patroni(name).cluster();
      if (!Array.isArray(info.members)) continue;
      if (info.members.length) return info;
      empty ??= info;
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (empty) return empty;
  throw new RuntimeError(`no data node answered GET /cluster:\n${errors.map((e) => `  - ${e}`).join('\n')}`, {
    hint: 'check that Patroni runs on the data nodes (pgha deploy DIR)',
  });
}

/** readCluster for waits and gates: undefined when no member answers with members. */
export async function tryReadCluster(src: LiveSource, members: readonly string[]): Promise<ClusterInfo | undefined> {
  try {
    const info = await readCluster(src, members);
    return info.members.length ? info : undefined;
  } catch {
    return undefined;
  }
}

/** GET /config (the DCS configuration) from the first of `members` that answers. */
export async function readDcsConfig(src: LiveSource, members: readonly string[]): Promise<Plain> {
  const errors: string[] = [];
  for (const name of members) {
    try {
      return await src.patroni(name).config();
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new RuntimeError(`no data node answered GET /config:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
}

/** GET /patroni of one member (its own view: state, role, WAL positions, WAL senders); undefined when it does not answer. */
export async function readNode(src: LiveSource, name: string): Promise<PatroniNodeStatus | undefined> {
  try {
    return await src.patroni(name).patroni();
  } catch {
    return undefined;
  }
}

/** One member's answers to GET /cluster and GET /patroni, or why it did not answer. */
export interface MemberRead {
  name: string;
  info?: ClusterInfo;
  node?: PatroniNodeStatus;
  error?: string;
}

/**
 * GET /cluster and GET /patroni of every member at once (status and test: each member's
 * reachability is part of the answer, and the running build is only in /patroni).
 */
export async function readMembers(src: LiveSource, members: readonly string[], timeoutMs?: number): Promise<MemberRead[]> {
  return Promise.all(
    members.map(async (name): Promise<MemberRead> => {
      const c = src.patroni(name);
      const t = timeoutMs !== undefined ? { timeoutMs } : {};
      try {
        const [res, node] = await Promise.all([
          c.call({ method: 'GET', path: '/cluster', ...t }),
          c.call({ method: 'GET', path: '/patroni', ...t }).catch(() => undefined),
        ]);
        if (res.status !== 200 || typeof res.body !== 'object') return { name, error: `GET /cluster answered ${res.status}` };
        return {
          name,
          info: res.body as ClusterInfo,
          ...(node?.status === 200 && typeof node.body === 'object' ? { node: node.body as PatroniNodeStatus } : {}),
        };
      } catch (e) {
        return { name, error: firstLine(e).replace(/^Patroni REST API GET \/cluster failed: /, '') };
      }
    }),
  );
}

/**
 * `name` is back for real. The member keys in the DCS lag by up to one loop_wait and can still
 * say "running" just after a demotion or restart, so live sources must agree too: its own
 * GET /patroni says running, and, unless it leads, the leader's pg_stat_replication (GET
 * /patroni on the leader) shows it streaming, and the DCS shows it a streaming replica (the
 * next switchover's pre-checks read that, and `patronictl list` shows it).
 * `asReplica`: it must be back as a replica, under a running leader, with Patroni not paused.
 */
export async function isBack(src: LiveSource, members: readonly string[], name: string, o: { asReplica?: boolean } = {}): Promise<boolean> {
  const info = await readCluster(src, members);
  const leader = leaderOf(info);
  if (!leader) return false;
  if (o.asReplica && (info.pause || leader.state !== 'running' || leader.name === name)) return false;
  const own = await src.patroni(name).patroni();
  if (own.state !== 'running') return false;
  if (name === leader.name) return isLeaderRole(own.role);
  const member = info.members.find((m) => m.name === name);
  if (!member || !isStreamingReplica(member)) return false;
  return streamsToLeaderOrUpstream(src, info, leader.name, name);
}

/**
 * Whether `name` streams: the leader's pg_stat_replication shows it, or, for a cascading replica
 * (its replicatefrom tag, upstreamOf), its upstream's does.
 */
async function streamsToLeaderOrUpstream(
  src: LiveSource,
  info: ClusterInfo,
  leader: string,
  name: string,
  leaderNode?: PatroniNodeStatus,
): Promise<boolean> {
  if (streamsTo(leaderNode ?? (await src.patroni(leader).patroni()), name)) return true;
  const up = upstreamOf(info, name);
  return up !== undefined && streamsTo(await src.patroni(up).patroni(), name);
}

export interface WaitBackOptions {
  /** What is awaited, for the timeout message. */
  what: string;
  cluster: string;
  timeoutMs?: number;
  asReplica?: boolean;
}

/** Wait until isBack: every command that restarts a member (verbs, switchover, upgrade) waits the same way. */
export async function waitBack(src: LiveSource, members: readonly string[], name: string, o: WaitBackOptions): Promise<void> {
  await waitFor(async () => ((await isBack(src, members, name, { asReplica: o.asReplica ?? false })) ? true : undefined), {
    timeoutMs: o.timeoutMs ?? 300_000,
    intervalMs: 500,
    what: o.what,
    where: `${name}: patroni`,
    hint: `look at \`journalctl -u patroni@${o.cluster}\` on ${name}`,
  });
}

/** Wait until `name` (or, without one, anyone but `notName`) leads and runs; returns the new leader's name. */
export async function waitLeader(
  src: LiveSource,
  members: readonly string[],
  want: { name?: string; notName?: string },
  o: { what: string; timeoutMs: number; intervalMs?: number; where?: string; hint?: string },
): Promise<string> {
  return waitFor(
    async () => {
      const l = leaderOf(await readCluster(src, members));
      if (!l || l.state !== 'running') return undefined;
      if (want.name !== undefined && l.name !== want.name) return undefined;
      return l.name !== want.notName ? l.name : undefined;
    },
    { intervalMs: 500, ...o },
  );
}

/**
 * Wait until every named member is back (judge.allBack, replicas within `maxLag`) and the
 * leader's own WAL senders show each replica streaming: the lag in /cluster comes from the DCS
 * and can be stale. Returns the cluster as last read.
 */
export async function waitAllStreaming(
  src: LiveSource,
  members: readonly string[],
  names: readonly string[],
  o: { maxLag: number; timeoutMs?: number; intervalMs?: number },
): Promise<ClusterInfo> {
  return waitFor(
    async () => {
      const info = await tryReadCluster(src, members);
      if (!info || !allBack(info, names, o.maxLag)) return undefined;
      const leader = leaderOf(info)!.name;
      const node = await src.patroni(leader).patroni();
      for (const n of names) {
        if (n !== leader && !(await streamsToLeaderOrUpstream(src, info, leader, n, node))) return undefined;
      }
      return info;
    },
    {
      timeoutMs: o.timeoutMs ?? 300_000,
      intervalMs: o.intervalMs ?? 300,
      what: `members ${names.join(', ')} to run and stream from the leader`,
    },
  );
}

/** A LiveSource that can also write: clients whose connection opens on the member itself (the REST API allowlist). */
export interface WriteSource extends LiveSource {
  patroni(name: string, opts?: { fromMember?: boolean }): PatroniClient;
}

/**
 * One step of every rolling restart (the restart verb, upgrade, deploy's pending restarts):
 * PostgreSQL restarted by Patroni through the member's own tunnel, then, unless Patroni only
 * scheduled it or found nothing pending, a wait until the member is back (isBack).
 */
export async function restartMember(
  src: WriteSource,
  members: readonly string[],
  name: string,
  o: WaitBackOptions & { body?: RestartBody },
): Promise<RestartOutcome> {
  const r = await postRestart(src.patroni(name, { fromMember: true }), o.body ?? {});
  if (r.kind === 'restarted') await waitBack(src, members, name, o);
  return r;
}

/**
 * Pause or resume Patroni (PATCH /config `pause` through `via`'s member tunnel), then wait until
 * the DCS and each of `waitOn` (its own GET /patroni) agree: a member only leaves PostgreSQL
 * running when it stops if its own view of the cluster is paused.
 */
export async function setPause(
  src: WriteSource,
  members: readonly string[],
  via: string,
  pause: boolean,
  o: { waitOn: readonly string[]; what: string; patched?: () => void },
): Promise<void> {
  await patchDcsConfig(src.patroni(via, { fromMember: true }), { pause });
  o.patched?.();
  if (!o.waitOn.length) return;
  await waitFor(
    async () => {
      const nodes = await Promise.all(o.waitOn.map((n) => readNode(src, n)));
      if (!nodes.every((n) => n !== undefined && (n.pause === true) === pause)) return undefined;
      return Boolean((await tryReadCluster(src, members))?.pause) === pause ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: o.what },
  );
}

// ── etcd ──

export { etcdHealth, readEtcd, type EtcdStatus } from '../../components/etcd/live.js';

export interface EtcdHealth {
  host: string;
  healthy: boolean;
  detail?: string;
}

/** Every given etcd member's health, at once; a member that does not answer is unhealthy, with the reason. */
export async function etcdMembersHealth(src: LiveSource, hosts: readonly ResolvedHost[], timeoutMs = 3_000): Promise<EtcdHealth[]> {
  return Promise.all(
    hosts.map(async (h): Promise<EtcdHealth> => {
      try {
        const r = await etcdHealth(src.etcdHttp(h.name), timeoutMs);
        return r.healthy ? { host: h.name, healthy: true } : { host: h.name, healthy: false, detail: `GET /health: ${r.status}` };
      } catch (e) {
        return { host: h.name, healthy: false, detail: (e as Error).message };
      }
    }),
  );
}
