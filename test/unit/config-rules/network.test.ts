import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { listenAddresses, ports, portVariables } from '../../../src/config/rules/network.js';
import { baseConfig, contextOf, pgbouncerConfig, problems, withInstanceVars } from './helpers.js';

describe('portVariables', () => {
  it('lists the ports of every component a host runs', () => {
    const c = pgbouncerConfig();
    const ctx = contextOf(c);
    expect(portVariables(ctx.resolved, ctx.resolved.hosts[0]!).map((u) => u.variable)).toEqual([
      'etcd_client_port',
      'etcd_peer_port',
      'patroni_listen_port',
      'postgres_port',
      'pgbouncer_port',
    ]);
  });

  it("adds HAProxy's read-only frontend and its other listeners, read from haproxy.cfg", () => {
    const c = baseConfig();
    c.cluster_vars.haproxy_read_only_load_balancer_enabled = true;
    c.cluster_vars.haproxy_conf_settings = { listens: { stats: { bind: '*:7000' } } };
    const ctx = contextOf(c);
    const uses = portVariables(ctx.resolved, ctx.resolved.hosts[3]!);
    expect(uses.map((u) => [u.variable, u.service, u.port])).toEqual([
      ['haproxy_port', 'HAProxy', undefined],
      ['haproxy_read_only_port', 'the HAProxy read-only frontend', undefined],
      // pgha's own stats listener, which `pgha status` reads.
      ['haproxy_conf_settings.listens.pgha_stats', "HAProxy's pgha_stats", 8404],
      ['haproxy_conf_settings.listens.stats', "HAProxy's stats", 7000],
    ]);
  });
});

describe('ports', () => {
  const rule = eachHost(ports);

  it('accepts the default ports', () => {
    expect(problems(rule, baseConfig())).toEqual([]);
    expect(problems(rule, pgbouncerConfig())).toEqual([]);
  });

  it('reports a clash once, blaming the higher layer and naming the hosts', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_listen_port = 2379;
    withInstanceVars(c, 2, { etcd_client_port: 2379 });
    expect(problems(rule, c)).toEqual([
      'E cluster_vars.patroni_listen_port: etcd_client_port (etcd clients) and patroni_listen_port (the Patroni REST API) are both 2379 on pg1, pg2; give each service its own port',
      'E instances[2].vars.etcd_client_port: etcd_client_port (etcd clients) and patroni_listen_port (the Patroni REST API) are both 2379 on pg3; give each service its own port',
    ]);
  });

  it("reports the synchronous-standby read frontend's port clashing, and ignores it while unset", () => {
    const c = baseConfig();
    c.cluster_vars.patroni_synchronous_mode = 'on';
    c.cluster_vars.haproxy_read_only_load_balancer_enabled = true;
    c.cluster_vars.haproxy_sync_read_port = 5433;
    expect(problems(rule, c)).toEqual([
      'E cluster_vars.haproxy_sync_read_port: haproxy_read_only_port (the HAProxy read-only frontend) and haproxy_sync_read_port (the HAProxy synchronous-standby read frontend) are both 5433 on proxy1; give each service its own port',
    ]);
    c.cluster_vars.haproxy_sync_read_port = 5434;
    expect(problems(rule, c)).toEqual([]);
    const ctx = contextOf(c);
    expect(portVariables(ctx.resolved, ctx.resolved.hosts[3]!).map((u) => u.variable)).toContain('haproxy_sync_read_port');
    expect(
      portVariables(contextOf(baseConfig()).resolved, contextOf(baseConfig()).resolved.hosts[3]!).map((u) => u.variable),
    ).not.toContain('haproxy_sync_read_port');
  });

  it('reports a clash with a listener of haproxy.cfg at its bind line', () => {
    const c = baseConfig();
    c.cluster_vars.haproxy_conf_settings = { listens: { stats: { bind: '*:5432' } } };
    expect(problems(rule, c)).toEqual([
      "E cluster_vars.haproxy_conf_settings.listens.stats.bind: haproxy_port (HAProxy) and haproxy_conf_settings.listens.stats (HAProxy's stats) are both 5432 on proxy1; give each service its own port",
    ]);
  });

  it('reports a port a service needs that is unset', () => {
    const c = baseConfig();
    c.instance_defaults.vars = { etcd_peer_port: null };
    expect(problems(rule, c)).toEqual([
      'E instance_defaults.vars.etcd_peer_port: etcd_peer_port is unset (null), but pg1, pg2, pg3 need it for etcd peers; remove the null to get the default, or set a port',
    ]);
  });
});

describe('listenAddresses', () => {
  const rule = eachHost(listenAddresses);

  it("accepts '*', 0.0.0.0, or the address with 127.0.0.1 or localhost", () => {
    const c = baseConfig();
    expect(problems(rule, c)).toEqual([]);
    for (const v of ['*', '0.0.0.0', '10.33.0.11, localhost']) {
      expect(problems(rule, withInstanceVars(baseConfig(), 0, { postgres_listen_addresses: v }))).toEqual([]);
    }
  });

  it('reports what is missing, per host', () => {
    const c = baseConfig();
    c.cluster_vars.postgres_listen_addresses = '10.33.0.11';
    const tail =
      "which replicas, proxies and Patroni's local checks use; add it, use '*', or remove the variable (default: the instance's ip_address and 127.0.0.1)";
    expect(problems(rule, c)).toEqual([
      `E cluster_vars.postgres_listen_addresses: PostgreSQL on pg1 would not listen on 127.0.0.1, ${tail}`,
      `E cluster_vars.postgres_listen_addresses: PostgreSQL on pg2, pg3 would not listen on the instance's ip_address and 127.0.0.1, ${tail}`,
    ]);
  });
});
