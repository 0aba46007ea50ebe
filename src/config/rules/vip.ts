/**
 * The virtual IP (vip_address): keepalived moves it between the haproxy hosts
 * (src/components/keepalived/). What the schema cannot say: that there are proxies to move it
 * between, that each knows its interface, and that the address is nobody's own.
 */
import { vipOf } from '../../components/keepalived/vip.js';
import type { HostRule, Rule } from './context.js';

/** A VIP with no proxy has nothing to run on: keepalived lives beside HAProxy. */
export const vipNeedsProxies: Rule = (ctx) => {
  const proxies = ctx.resolved.hosts.filter((h) => h.roles.includes('haproxy'));
  const i = ctx.resolved.hosts.findIndex((h) => vipOf(h.vars) !== undefined);
  if (i < 0) return;
  const loc = ctx.blame(i, ['vip_address']);
  if (proxies.length === 0) {
    ctx.report(
      'error',
      loc,
      'a virtual IP needs hosts with role haproxy (keepalived moves the address between them); add two haproxy instances or remove vip_address',
    );
  } else if (proxies.length === 1) {
    ctx.report(
      'warning',
      loc,
      `the virtual IP has one proxy to live on (${proxies[0]!.name}): it cannot move when that host dies; add a second haproxy instance`,
    );
  }
};

/** keepalived must be told which interface carries the address. */
export const vipInterfaceSet: HostRule = (ctx, host, i) => {
  if (!host.roles.includes('haproxy') || vipOf(host.vars) === undefined) return;
  if (typeof host.vars.vip_interface === 'string' && host.vars.vip_interface !== '') return;
  ctx.perHost(
    'error',
    ctx.blame(i, ['vip_address']),
    'vip interface',
    host.name,
    (hosts) =>
      `vip_interface is not set for ${hosts}: set it to the network interface that holds the host's ip_address (e.g. eth0), in cluster_vars or per instance`,
  );
};

/** An address a host already has would be taken from it whenever the VIP lands elsewhere. */
export const vipNotAHostAddress: Rule = (ctx) => {
  const i = ctx.resolved.hosts.findIndex((h) => vipOf(h.vars) !== undefined);
  const vip = i < 0 ? undefined : vipOf(ctx.resolved.hosts[i]!.vars);
  const owner = vip && ctx.resolved.hosts.find((h) => h.ip === vip.address);
  if (!vip || !owner) return;
  ctx.report(
    'error',
    ctx.blame(i, ['vip_address']),
    `${vip.address} is ${owner.name}'s ip_address; choose a free address on the proxies' network`,
  );
};
