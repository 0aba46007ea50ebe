import { describe, expect, it } from 'vitest';
import { vipInterfaceSet, vipNeedsProxies, vipNotAHostAddress } from '../../../src/config/rules/vip.js';
import { eachHost } from '../../../src/config/rules/context.js';
import { baseConfig, pgbouncerConfig, problems } from './helpers.js';

/** The base cluster with a second proxy and a VIP on the proxies' network. */
function withVip(vars: Record<string, unknown> = { vip_address: '10.33.0.250', vip_interface: 'eth0' }) {
  const c = baseConfig();
  c.instances.push({ Name: 'proxy2', node: 5, location: 'main', role: ['haproxy'], ip_address: '10.33.0.15' });
  Object.assign(c.cluster_vars, vars);
  return c;
}

describe('config rules: the virtual IP', () => {
  it('two proxies, an interface and a free address: nothing to say', () => {
    for (const rule of [vipNeedsProxies, vipNotAHostAddress, eachHost(vipInterfaceSet)]) expect(problems(rule, withVip())).toEqual([]);
  });

  it('refuses a VIP with no proxy to hold it, and warns when only one can', () => {
    const pgb = pgbouncerConfig();
    pgb.cluster_vars.vip_address = '10.33.0.250';
    expect(problems(vipNeedsProxies, pgb)).toEqual([
      'E cluster_vars.vip_address: a virtual IP needs hosts with role haproxy (keepalived moves the address between them); add two haproxy instances or remove vip_address',
    ]);
    const one = baseConfig();
    Object.assign(one.cluster_vars, { vip_address: '10.33.0.250', vip_interface: 'eth0' });
    expect(problems(vipNeedsProxies, one)).toEqual([
      'W cluster_vars.vip_address: the virtual IP has one proxy to live on (proxy1): it cannot move when that host dies; add a second haproxy instance',
    ]);
  });

  it('asks for the interface, naming the proxies without one', () => {
    expect(problems(eachHost(vipInterfaceSet), withVip({ vip_address: '10.33.0.250' }))).toEqual([
      "E cluster_vars.vip_address: vip_interface is not set for proxy1, proxy2: set it to the network interface that holds the host's ip_address (e.g. eth0), in cluster_vars or per instance",
    ]);
  });

  it("refuses a host's own address as the VIP", () => {
    expect(problems(vipNotAHostAddress, withVip({ vip_address: '10.33.0.12/24', vip_interface: 'eth0' }))).toEqual([
      "E cluster_vars.vip_address: 10.33.0.12 is pg2's ip_address; choose a free address on the proxies' network",
    ]);
  });
});
