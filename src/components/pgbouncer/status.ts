/** PgBouncer's section of `pgha status`: where each PgBouncer sends clients, and whether that is the leader. */
import type { StatusSection } from '../component.js';
import { pgbouncerTarget } from './health.js';

export interface PgbouncerStatus {
  host: string;
  reachable: boolean;
  target: { host: string; port: number } | null;
  /** The data node the target address belongs to. */
  targetMember: string | null;
  pointsAtLeader: boolean;
  error?: string;
}

export const pgbouncerStatus: StatusSection<PgbouncerStatus> = {
  // The target is an address: named by member through config.yml's and the DCS's addresses.
  read: (p, view) => {
    const { target, error } = pgbouncerTarget(p);
    const targetMember = target ? (view.memberAt.get(target.host) ?? null) : null;
    return {
      host: p.host.name,
      reachable: p.error === undefined,
      target,
      targetMember,
      pointsAtLeader: targetMember !== null && targetMember === view.leader,
      ...(error ? { error } : {}),
    };
  },
  lines: (entries) =>
    entries.map((p) => {
      if (p.error) return `PgBouncer ${p.host}: ${p.reachable ? '' : 'unreachable: '}${p.error}`;
      const who = p.targetMember ? ` (${p.targetMember}${p.pointsAtLeader ? ', the leader' : ', NOT the leader'})` : ' (not a member)';
      return `PgBouncer ${p.host}: → ${p.target!.host}:${p.target!.port}${who}`;
    }),
};
