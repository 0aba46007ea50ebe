/** Rules about what each host listens on: PostgreSQL's addresses and every service's port. */
import type { PortUse } from '../../components/component.js';
import { COMPONENTS } from '../../components/registry.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { isDataNode, type HostRule } from './context.js';

export type { PortUse } from '../../components/component.js';

/** The ports a host listens on: every port of every component it runs (each component declares its own). */
export function portVariables(cluster: ResolvedCluster, host: ResolvedHost): PortUse[] {
  return COMPONENTS.filter((c) => c.runsOn(cluster, host)).flatMap((c) => c.ports?.(cluster, host) ?? []);
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
