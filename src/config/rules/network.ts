/** Rules about what each host listens on: PostgreSQL's addresses and every service's port. */
import { HAPROXY_RO_BACKEND, HAPROXY_RW_BACKEND, haproxyListeners } from '../../components/haproxy/config.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { isDataNode, type HostRule, type Segments } from './context.js';

/**
 * A port a host listens on: the variable (or settings path) that chooses it, and what listens.
 * `port` is set for listeners whose port is read from a rendered configuration.
 */
export interface PortUse {
  variable: string;
  path: Segments;
  service: string;
  port?: number;
}

/** Every bind line of the final haproxy.cfg beyond the two frontends pgha's variables choose. */
function haproxyExtraListeners(cluster: ResolvedCluster, host: ResolvedHost): PortUse[] {
  const byVariable: Record<string, string> = { [HAPROXY_RW_BACKEND]: 'haproxy_port', [HAPROXY_RO_BACKEND]: 'haproxy_read_only_port' };
  // Without both ports haproxy.cfg cannot be rendered; the unset port is reported on its own.
  if (typeof host.vars.haproxy_port !== 'number' || typeof host.vars.haproxy_read_only_port !== 'number') return [];
  let listeners: ReturnType<typeof haproxyListeners>;
  try {
    listeners = haproxyListeners(cluster, host);
  } catch {
    // Settings the renderer cannot place are reported by their own rule (haproxyConfSettings).
    listeners = [];
  }
  const out: PortUse[] = [];
  for (const l of listeners) {
    if (l.kind === 'frontends' && byVariable[l.section]) continue;
    const path = ['haproxy_conf_settings', l.kind, l.section, 'bind'];
    out.push({ variable: `haproxy_conf_settings.${l.kind}.${l.section}`, path, service: `HAProxy's ${l.section}`, port: l.port });
  }
  return out;
}

/** The ports a host listens on given its roles: every listener of every component it runs. */
export function portVariables(cluster: ResolvedCluster, host: ResolvedHost): PortUse[] {
  const out: PortUse[] = [];
  const use = (variable: string, service: string) => out.push({ variable, path: [variable], service });
  if (isDataNode(host.roles)) {
    use('postgres_port', 'PostgreSQL');
    use('patroni_listen_port', 'the Patroni REST API');
  }
  if (host.roles.includes('etcd')) {
    use('etcd_client_port', 'etcd clients');
    use('etcd_peer_port', 'etcd peers');
  }
  // On a data node haproxy is already refused by its own rule; its ports would only repeat that.
  if (host.roles.includes('haproxy') && !isDataNode(host.roles)) {
    use('haproxy_port', 'HAProxy');
    if (host.vars.haproxy_read_only_load_balancer_enabled === true) use('haproxy_read_only_port', 'the HAProxy read-only frontend');
    out.push(...haproxyExtraListeners(cluster, host));
  }
  if (host.roles.includes('pgbouncer')) use('pgbouncer_port', 'PgBouncer');
  return out;
}

/**
 * PostgreSQL must answer on the member's address (replicas, proxies, Patroni's connect_address)
 * and on 127.0.0.1 (Patroni's local checks and rewinds): a list that drops either breaks HA.
 */
export const listenAddresses: HostRule = (ctx, host, i) => {
  const setting = host.vars.postgres_listen_addresses;
  if (!isDataNode(host.roles) || typeof setting !== 'string') return;
  const listed = setting.split(',').map((x) => x.trim());
  const any = listed.includes('*') || listed.includes('0.0.0.0');
  const missing: string[] = [];
  if (!any && !listed.includes(host.ip)) missing.push("the instance's ip_address");
  if (!any && !listed.includes('127.0.0.1') && !listed.includes('localhost')) missing.push('127.0.0.1');
  if (!missing.length) return;
  const what = missing.join(' and ');
  ctx.perHost(
    'error',
    ctx.blame(i, ['postgres_listen_addresses']),
    `listen ${what}`,
    host.name,
    (hosts) =>
      `PostgreSQL on ${hosts} would not listen on ${what}, which replicas, proxies and Patroni's local checks use; add it, use '*', or remove the variable (default: the instance's ip_address and 127.0.0.1)`,
  );
};

/** A service the host runs needs its port, and no two services may share one. */
export const ports: HostRule = (ctx, host, i) => {
  const byPort = new Map<number, PortUse>();
  for (const use of portVariables(ctx.resolved, host)) {
    const { variable, service } = use;
    const port = use.port ?? host.vars[variable];
    if (typeof port !== 'number') {
      ctx.perHost(
        'error',
        ctx.blame(i, [variable]),
        `unset ${variable}`,
        host.name,
        (hosts) => `${variable} is unset (null), but ${hosts} need it for ${service}; remove the null to get the default, or set a port`,
      );
      continue;
    }
    const first = byPort.get(port);
    if (first === undefined) {
      byPort.set(port, use);
      continue;
    }
    const other = first.variable;
    ctx.perHost(
      'error',
      ctx.louder(i, first.path, use.path),
      `port ${other} ${variable} ${port}`,
      host.name,
      (hosts) => `${other} (${first.service}) and ${variable} (${service}) are both ${port} on ${hosts}; give each service its own port`,
    );
  }
};
