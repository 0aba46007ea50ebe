/**
 * Shapes of Patroni 3.0.x REST responses (checked against captures in
 * test/fixtures/patroni-3.0.2/). Patroni 3.0.2 says `master` where 4.x says `primary`, and
 * reports a streaming replica as `running` where 4.x says `streaming`: the helpers here accept
 * both spellings so nothing else has to.
 */

export interface ClusterMember {
  name: string;
  /** `leader`, `standby_leader`, `sync_standby`, `replica` (3.x); 4.x adds `quorum_standby`. */
  role: string;
  state: string;
  api_url?: string;
  host?: string;
  port?: number;
  timeline?: number;
  /** Bytes behind the leader, or `unknown` when the member has not reported a position. */
  lag?: number | string;
  pending_restart?: boolean;
  tags?: Record<string, unknown>;
  scheduled_restart?: { schedule?: string; postgres_version?: string; role?: string; restart_pending?: boolean };
}

export interface ScheduledSwitchover {
  at?: string;
  from?: string;
  to?: string;
}

export interface ClusterInfo {
  members: ClusterMember[];
  pause?: boolean;
  scheduled_switchover?: ScheduledSwitchover;
}

export interface WalPositions {
  /** Primary: current WAL write position. */
  location?: number;
  /** Replica: received and replayed positions. */
  received_location?: number;
  replayed_location?: number;
  replayed_timestamp?: string | null;
  paused?: boolean;
}

export interface ReplicationConnection {
  usename: string;
  application_name: string;
  client_addr: string;
  state: string;
  sync_state: string;
  sync_priority?: number;
}

/** GET /patroni, and the body of every GET health check. */
export interface PatroniNodeStatus {
  state: string;
  /** `master` (3.0.x) or `primary` (later), `replica`, `standby_leader`, `uninitialized`. */
  role: string;
  server_version?: number;
  postmaster_start_time?: string;
  /** null on a 3.0.2 replica whose timeline is not known yet. */
  timeline?: number | null;
  pending_restart?: boolean;
  /** pgha_fixes: what pgha's own Patroni build says it fixes (src/patroni/known-bugs.ts). */
  patroni?: { version: string; scope: string; pgha_fixes?: string[] };
  xlog?: WalPositions;
  replication?: ReplicationConnection[];
  database_system_identifier?: string;
  dcs_last_seen?: number;
  pause?: boolean;
  cluster_unlocked?: boolean;
  sync_standby?: boolean;
  tags?: Record<string, unknown>;
  scheduled_restart?: { schedule?: string; postgres_version?: string; role?: string; restart_pending?: boolean };
  watchdog_failed?: boolean;
}

/** `master` and `primary` are one role; everything pgha shows and compares uses `primary`. */
export function canonicalRole(role: string): string {
  return role === 'master' ? 'primary' : role;
}

export function isLeaderRole(role: string): boolean {
  return role === 'leader' || role === 'master' || role === 'primary' || role === 'standby_leader';
}

export function isReplicaRole(role: string): boolean {
  return role === 'replica' || role === 'sync_standby' || role === 'quorum_standby' || role === 'standby';
}

/** A replica state that runs and streams (3.0.2 reports `running`; later `streaming`); a healthy replica is judge.ts#isHealthyReplica. */
export function isHealthyReplicaState(state: string): boolean {
  return state === 'running' || state === 'streaming';
}

/** The member the DCS names leader (judgments of the cluster's state are in ./judge.ts). */
export function leaderOf(info: ClusterInfo): ClusterMember | undefined {
  return info.members.find((m) => isLeaderRole(m.role));
}

/** Patroni's size units for `lag` and maximum_lag_on_failover-like settings, to bytes. */
export function parseSize(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+)\s*(B|kB|KB|MB|GB|TB)?\s*$/.exec(v);
  if (!m) return undefined;
  const unit = { B: 1, kB: 1024, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[m[2] ?? 'B'] ?? 1;
  return Number(m[1]) * unit;
}
