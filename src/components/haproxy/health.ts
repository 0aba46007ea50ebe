/**
 * HAProxy's health, proven from inside the cluster rather than trusted from HAProxy's own view:
 * psql on a data node connects through each HAProxy's read-write port and asks the server that
 * answers whether it is a primary and what its address is; then HAProxy's own table must show
 * the leader, and only the leader, UP in the read-write backend. The probe is the switchover's
 * (../postgres/write-probe.ts): the password travels on stdin into a 0600 passfile.
 */
import type { ResolvedHost } from '../../model/types.js';
import { firstLine, type CheckResult, type HealthCheck, type HealthProbe, type HostState } from '../health.js';
import { parseWriteProbe, probeWritesCommand } from '../postgres/write-probe.js';
import { parseServersState, parseStatsCsv, type HaproxyServer } from './live.js';
import { HAPROXY_RW_BACKEND } from './config.js';

/** The `haproxy` part of a host's state (stats socket) or `haproxy-csv` (stats page): its servers, or why not. */
export function haproxyServers(s: HostState): { servers: HaproxyServer[]; error?: string } {
  const csv = s.parts?.get('haproxy-csv');
  const part = csv ?? s.parts?.get('haproxy');
  const error = s.error ?? (part && part.rc !== 0 ? `stats socket: ${part.text.trim().split('\n').pop()}` : part ? undefined : 'no answer');
  const servers = part && part.rc === 0 ? (csv ? parseStatsCsv(part.text) : parseServersState(part.text)) : [];
  return error ? { servers, error } : { servers };
}

/** Data nodes receiving writes: UP in the read-write backend. */
export function writesTo(servers: readonly HaproxyServer[]): string[] {
  return servers.filter((s) => s.backend === HAPROXY_RW_BACKEND && s.state === 'UP').map((s) => s.server);
}

/**
 * Whether writes through `h`'s read-write port (or `at`, another address of the same proxies:
 * the VIP) land on the leader: psql from a data node, asking the server that answers.
 */
export async function writesReachLeader(
  probe: HealthProbe,
  h: ResolvedHost,
  leader: ResolvedHost | undefined,
  at: { name: string; via: string; ip: string } = {
    name: `HAProxy ${h.name}: writes reach the leader`,
    via: `HAProxy on ${h.name}`,
    ip: h.ip,
  },
): Promise<CheckResult> {
  const { name, via, ip } = at;
  const superuser = String(h.vars.patroni_super_user);
  const password = probe.secret(superuser);
  if (!leader) return { name, ok: false, detail: 'no leader to compare with' };
  if (!password) return { name, ok: false, detail: `no DIR/secrets/${superuser}` };
  const port = Number(h.vars.haproxy_port);
  // HAProxy passes TCP through to whichever member leads: the chain to the cluster CA is verified.
  const ep = { via, ip, port, ...(h.vars.patroni_ssl_enabled === true ? { tls: 'verify-ca' as const } : {}) };
  try {
    const ran = await probe.onDataNode(probeWritesCommand(ep, superuser, password));
    if (!ran) return { name, ok: false, detail: 'no data node reachable over SSH to run psql from' };
    const { host: runner, result: r } = ran;
    const { writable, server } = parseWriteProbe(r.stdout);
    const ok = r.code === 0 && writable && server === leader.ip;
    const detail =
      r.code !== 0
        ? `psql via ${ip}:${port} from ${runner.name} failed: ${(r.stderr.trim().split('\n').pop() ?? '').replaceAll(password, '********')}`
        : `psql via ${ip}:${port} reached ${server || '?'}${writable ? ' (primary)' : ' (in recovery)'}${server === leader.ip ? `, the leader ${leader.name}` : `, not the leader ${leader.name} (${leader.ip})`}`;
    return { name, ok, detail };
  } catch (e) {
    return { name, ok: false, detail: firstLine(e) };
  }
}

async function backendShowsLeader(probe: HealthProbe, h: ResolvedHost, leader: ResolvedHost | undefined): Promise<CheckResult> {
  const name = `HAProxy ${h.name}: backend`;
  const { servers, error } = haproxyServers(await probe.hostState(h));
  if (error) return { name, ok: false, detail: error };
  const up = writesTo(servers);
  const ok = leader !== undefined && up.length === 1 && up[0] === leader.name;
  return {
    name,
    ok,
    detail: `${HAPROXY_RW_BACKEND} UP: ${up.join(', ') || 'none'}${ok ? '' : ` (want only ${leader?.name ?? 'the leader'})`}`,
  };
}

export const haproxyHealth: HealthCheck = async (probe, hosts) => {
  const { leader } = await probe.live();
  const writes = await Promise.all(hosts.map((h) => writesReachLeader(probe, h, leader)));
  const backends = await Promise.all(hosts.map((h) => backendShowsLeader(probe, h, leader)));
  return [...writes, ...backends];
};
