/**
 * The one definition of what a live cluster's state means (docs/architecture.md#operations):
 * who leads, which replica is healthy, how far behind it is, and whether the cluster as a whole
 * is fit for an operation. Pure functions of Patroni's answers (GET /cluster, GET /patroni);
 * every command that reads a live cluster (status, test, switchover, upgrade, the verbs,
 * deploy) judges through these.
 */
import {
  isHealthyReplicaState,
  isLeaderRole,
  leaderOf,
  parseSize,
  type ClusterInfo,
  type ClusterMember,
  type PatroniNodeStatus,
} from './types.js';

export { leaderOf };

/** Patroni's default maximum_lag_on_failover (1 MiB), used when the DCS configuration does not say. */
export const DEFAULT_MAXIMUM_LAG_ON_FAILOVER = 1_048_576;

/** maximum_lag_on_failover of a DCS configuration document (GET /config), in bytes; Patroni's default when absent or invalid. */
export function maximumLagOnFailover(config: Record<string, unknown> | undefined): number {
  const raw = config?.maximum_lag_on_failover;
  const v = typeof raw === 'number' || typeof raw === 'string' ? parseSize(raw) : undefined;
  return v !== undefined && Number.isFinite(v) && v >= 0 ? v : DEFAULT_MAXIMUM_LAG_ON_FAILOVER;
}

/** Every member holding a leader role (more than one is a split brain, none a cluster without a leader). */
export function leadersOf(info: ClusterInfo): ClusterMember[] {
  return info.members.filter((m) => isLeaderRole(m.role));
}

/** The name of the leader the DCS shows, if any. */
export function leaderName(info: ClusterInfo): string | undefined {
  return leaderOf(info)?.name;
}

/**
 * A replica that runs, streams and has reported a position: not a leader, state running (3.0.x)
 * or streaming (4.x), and a numeric lag in the DCS (`unknown` means it has not reported one).
 */
export function isStreamingReplica(m: ClusterMember): boolean {
  return !isLeaderRole(m.role) && isHealthyReplicaState(m.state) && typeof m.lag === 'number';
}

/** A streaming replica within `maxLag` bytes of the leader (at the limit still counts). */
export function isHealthyReplica(m: ClusterMember, maxLag: number): boolean {
  return isStreamingReplica(m) && (m.lag as number) <= maxLag;
}

/**
 * Bytes a replica is behind, from the members' own live positions (GET /patroni of both): the
 * leader's WAL position minus the furthest of what the replica received and replayed. The DCS's
 * `lag` is only as fresh as the last heartbeat (loop_wait), so right after a WAL segment switch
 * it can claim 16 MiB for a replica that is in fact caught up, or 0 for one that stalled a moment
 * ago. Undefined when either position is missing. (Replay alone would not do: after a segment
 * switch on an idle leader it trails by a segment of padding that needs no replay.)
 */
export function liveLag(leader: PatroniNodeStatus | undefined, replica: PatroniNodeStatus | undefined): number | undefined {
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const at = num(leader?.xlog?.location);
  const positions = [num(replica?.xlog?.received_location), num(replica?.xlog?.replayed_location)].filter(
    (x): x is number => x !== undefined,
  );
  if (at === undefined || !positions.length) return undefined;
  return Math.max(0, at - Math.max(...positions));
}

/** The lag to judge a replica by: live positions when both members answered, else the DCS's figure. */
export function replicaLag(dcsLag: unknown, leader?: PatroniNodeStatus, replica?: PatroniNodeStatus): number | undefined {
  return liveLag(leader, replica) ?? (typeof dcsLag === 'number' && Number.isFinite(dcsLag) ? dcsLag : undefined);
}

/** The leader's pg_stat_replication (its GET /patroni) shows `name` streaming. */
export function streamsTo(leader: PatroniNodeStatus | undefined, name: string): boolean {
  return leader?.replication?.some((r) => r.application_name === name && r.state === 'streaming') === true;
}

/**
 * The member `name` streams through, by its `replicatefrom` tag (config.yml's `upstream`, a
 * cascading replica), when that names another member of the cluster that does not lead. Patroni
 * follows such a member, and the leader otherwise (no tag, the member named is not in the
 * cluster, or it leads), so undefined means "from the leader".
 */
export function upstreamOf(info: ClusterInfo, name: string): string | undefined {
  const tag = info.members.find((m) => m.name === name)?.tags?.replicatefrom;
  if (typeof tag !== 'string' || tag === name) return undefined;
  const up = info.members.find((m) => m.name === tag);
  return up === undefined || isLeaderRole(up.role) ? undefined : tag;
}

/** Every named member back: exactly one leader, running; the others healthy replicas (within `maxLag` when given). */
export function allBack(info: ClusterInfo, names: readonly string[], maxLag = Number.POSITIVE_INFINITY): boolean {
  const leaders = leadersOf(info);
  if (leaders.length !== 1 || leaders[0]!.state !== 'running') return false;
  return names.every((n) => {
    const m = info.members.find((x) => x.name === n);
    return m !== undefined && (isLeaderRole(m.role) ? m.state === 'running' : isHealthyReplica(m, maxLag));
  });
}

export interface ClusterHealthInput {
  /** Data nodes config.yml lists. */
  members: readonly string[];
  /** GET /cluster, undefined when no member answered. */
  info: ClusterInfo | undefined;
  /** etcd members and whether GET /health said so (or why not). */
  etcd: readonly { host: string; healthy: boolean; detail?: string | undefined }[];
}

/**
 * Every reason the cluster is not healthy, empty when it is: every etcd member healthy, Patroni
 * not paused, exactly one leader and it runs, every configured data node a member and (but the
 * leader) a streaming replica, no member config.yml does not know.
 */
export function clusterProblems(input: ClusterHealthInput): string[] {
  const out: string[] = [];
  for (const e of input.etcd) if (!e.healthy) out.push(`etcd on ${e.host} is not healthy${e.detail ? ` (${e.detail})` : ''}`);
  if (input.members.length === 0) return out;
  const info = input.info;
  if (!info) {
    out.push('no Patroni member answers GET /cluster');
    return out;
  }
  if (info.pause) out.push('Patroni is paused (resume it with `patronictl resume` once you know why it was paused)');
  const leaders = leadersOf(info);
  if (leaders.length !== 1) out.push(`the cluster has ${leaders.length} leaders (wanted exactly one)`);
  for (const l of leaders) if (l.state !== 'running') out.push(`leader ${l.name} is ${l.state}, not running`);
  for (const name of input.members) {
    const m = info.members.find((x) => x.name === name);
    if (!m) {
      out.push(`${name} is not a member of the cluster (Patroni not running there?)`);
      continue;
    }
    if (isLeaderRole(m.role)) continue;
    if (!isHealthyReplicaState(m.state)) out.push(`${name} is ${m.state}, not running/streaming`);
    else if (typeof m.lag !== 'number') out.push(`${name} reports lag ${JSON.stringify(m.lag ?? null)}: not streaming`);
  }
  for (const m of info.members) if (!input.members.includes(m.name)) out.push(`${m.name} is a member but not in config.yml`);
  return out;
}

export function clusterHealthy(input: ClusterHealthInput): boolean {
  return clusterProblems(input).length === 0;
}

/**
 * The switchover candidate: a healthy replica without nofailover, one in `preferred` first (an
 * upgraded one, so the leader moves once), least lag first, then by name. When some healthy
 * replica is a synchronous standby (synchronous replication is on), only those are candidates:
 * Patroni refuses to promote any other.
 */
export function pickCandidate(info: ClusterInfo, leader: string, preferred: ReadonlySet<string> = new Set()): string | undefined {
  const eligible = info.members
    .filter((m) => m.name !== leader && isStreamingReplica(m) && m.tags?.nofailover !== true)
    .sort((a, b) => Number(a.lag) - Number(b.lag) || a.name.localeCompare(b.name));
  const sync = eligible.filter((m) => m.role === 'sync_standby');
  const healthy = sync.length ? sync : eligible;
  return (healthy.find((m) => preferred.has(m.name)) ?? healthy[0])?.name;
}

/**
 * When the members each answered GET /cluster, the one answer to build on: every member reads
 * the same DCS, and the leader's own answer is the freshest about itself.
 */
export function preferredAnswer<T extends { name: string; info?: ClusterInfo | undefined }>(answers: readonly T[]): T | undefined {
  const answered = answers.filter((a) => a.info);
  return answered.find((a) => leaderOf(a.info!)?.name === a.name) ?? answered[0];
}
