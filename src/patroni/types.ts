/** Shapes of Patroni 3.0.x REST responses that pgha reads. Patroni 3.0.2 says `master` where 4.x says `primary`. */

export interface ClusterMember {
  name: string;
  role: string;
  state: string;
  api_url?: string;
  host?: string;
  port?: number;
  timeline?: number;
  lag?: number | string;
  pending_restart?: boolean;
  tags?: Record<string, unknown>;
  scheduled_restart?: unknown;
}

export interface ClusterInfo {
  members: ClusterMember[];
  pause?: boolean;
  scheduled_switchover?: { at?: string; from?: string; to?: string };
}

export interface PatroniNodeStatus {
  state: string;
  role: string;
  server_version?: number;
  timeline?: number;
  pending_restart?: boolean;
  patroni?: { version: string; scope: string };
  xlog?: Record<string, unknown>;
  replication?: { usename: string; application_name: string; client_addr: string; state: string; sync_state: string }[];
  database_system_identifier?: string;
  pause?: boolean;
}

export function isLeaderRole(role: string): boolean {
  return role === 'leader' || role === 'master' || role === 'primary' || role === 'standby_leader';
}

export function isReplicaRole(role: string): boolean {
  return role === 'replica' || role === 'sync_standby' || role === 'standby';
}

/** A replica is healthy when it runs and streams (3.0.2 reports `running`; later `streaming`). */
export function isHealthyReplicaState(state: string): boolean {
  return state === 'running' || state === 'streaming';
}

export function leaderOf(info: ClusterInfo): ClusterMember | undefined {
  return info.members.find((m) => isLeaderRole(m.role));
}
