/**
 * The cluster's virtual IP: one address clients use that moves to whichever proxy host is alive
 * (keepalived on the `haproxy` hosts, ./config.ts). Pure readers of its variables.
 */
import { createHash } from 'node:crypto';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { hasRole } from '../common.js';

export interface Vip {
  /** The address alone (`10.1.2.250`). */
  address: string;
  /** Its prefix length on the interface: `vip_address: 10.1.2.250/24` gives 24; a bare address 32. */
  prefix: number;
}

/** `vip_address` as written (`a.b.c.d` or `a.b.c.d/nn`), or undefined when the cluster has none. */
export function vipOf(vars: ResolvedHost['vars']): Vip | undefined {
  const raw = vars.vip_address;
  if (typeof raw !== 'string' || raw === '') return undefined;
  const [address, prefix] = raw.split('/');
  return { address: address!, prefix: prefix === undefined ? 32 : Number(prefix) };
}

/** The hosts keepalived runs on: the proxies, when the cluster has a VIP. */
export function vipHolders(cluster: ResolvedCluster): ResolvedHost[] {
  return cluster.hosts.filter((h) => hasRole(h, 'haproxy') && vipOf(h.vars) !== undefined);
}

/**
 * VRRP's router id (1–255) for the cluster: `keepalived_virtual_router_id`, or one derived from
 * the cluster's name, so two clusters on one network rarely pick the same.
 */
export function virtualRouterId(cluster: ResolvedCluster, host: ResolvedHost): number {
  const set = host.vars.keepalived_virtual_router_id;
  if (typeof set === 'number') return set;
  return 1 + ((createHash('sha256').update(cluster.name).digest()[0] ?? 0) % 255);
}
