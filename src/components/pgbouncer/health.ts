/** PgBouncer's health: the `[databases]` target pgha's follower wrote is the leader's address and port. */
import type { CheckResult, HealthCheck, HostState } from '../health.js';
import { PGBOUNCER_DATABASES } from '../paths.js';
import { parseDatabasesIni } from './live.js';

/** The `pgbouncer` part of a host's state: where it sends clients, or why that is unknown. */
export function pgbouncerTarget(s: HostState): { target: { host: string; port: number } | null; error?: string } {
  const part = s.parts?.get('pgbouncer');
  const target = part && part.rc === 0 ? parseDatabasesIni(part.text) : null;
  const error =
    s.error ??
    (part && part.rc !== 0
      ? part.text.trim()
      : !part
        ? 'no answer'
        : !target
          ? `no [databases] target in ${PGBOUNCER_DATABASES}`
          : undefined);
  return error ? { target, error } : { target };
}

export const pgbouncerHealth: HealthCheck = async (probe, hosts) => {
  const [{ leader }, states] = await Promise.all([probe.live(), Promise.all(hosts.map((h) => probe.hostState(h)))]);
  return states.map((s): CheckResult => {
    const name = `PgBouncer ${s.host.name}: points at the leader`;
    const { target: t, error } = pgbouncerTarget(s);
    if (!t) return { name, ok: false, detail: error ?? 'no [databases] target' };
    const ok = leader !== undefined && t.host === leader.ip && t.port === Number(leader.vars.postgres_port);
    return {
      name,
      ok,
      detail: `${t.host}:${t.port}${ok ? ` = ${leader.name}` : `, leader is ${leader ? `${leader.name} (${leader.ip})` : 'unknown'}`}`,
    };
  });
};
