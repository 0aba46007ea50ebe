import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { clusterWideVariables, requiredVariables, stableString, unknownVariables } from '../../../src/config/rules/variables.js';
import { baseConfig, problems, withInstanceVars } from './helpers.js';

describe('unknownVariables', () => {
  it('accepts known variables in every layer', () => {
    const c = withInstanceVars(baseConfig(), 1, { postgres_port: 5433 });
    c.instance_defaults.vars = { use_local_repo_only: true };
    expect(problems(unknownVariables, c, { patroni_ssl_enabled: true })).toEqual([]);
  });

  it('warns in layer order, suggesting a close name', () => {
    const c = withInstanceVars(baseConfig(), 1, { postgres_prot: 5433 });
    c.cluster_vars.my_own_note = 'x';
    expect(problems(unknownVariables, c, { etcd_ssl_enable: true })).toEqual([
      'W cluster_vars.my_own_note: unknown variable, pgha ignores it; check the spelling, or remove it',
      'W instances[1].vars.postgres_prot: unknown variable, pgha ignores it; did you mean "postgres_port"?',
      'W -e etcd_ssl_enable: unknown variable, pgha ignores it; did you mean "etcd_ssl_enabled"?',
    ]);
  });
});

describe('clusterWideVariables', () => {
  it('accepts a cluster-wide variable set in one place for all', () => {
    const c = baseConfig();
    c.instance_defaults.vars = { patroni_dcs_namespace: '/x' };
    expect(problems(clusterWideVariables, c)).toEqual([]);
  });

  it('accepts an instance value equal to everyone else’s', () => {
    expect(problems(clusterWideVariables, withInstanceVars(baseConfig(), 2, { postgres_version: 15 }))).toEqual([]);
  });

  it('blames each instance that sets a value others lack', () => {
    const c = withInstanceVars(baseConfig(), 1, { patroni_dcs_namespace: '/a' });
    withInstanceVars(c, 2, { patroni_dcs_namespace: '/b' });
    const tail = 'set it once in cluster_vars or instance_defaults.vars';
    expect(problems(clusterWideVariables, c)).toEqual([
      `E instances[1].vars.patroni_dcs_namespace: must be the same on every host (here "/a", elsewhere "/pgha", "/b"); ${tail}`,
      `E instances[2].vars.patroni_dcs_namespace: must be the same on every host (here "/b", elsewhere "/pgha", "/a"); ${tail}`,
    ]);
  });

  it('compares maps whatever their key order, and shows null as unset', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_dynamic_conf_settings = { ttl: 40, loop_wait: 10 };
    withInstanceVars(c, 0, { patroni_dynamic_conf_settings: { loop_wait: 10, ttl: 40 } });
    expect(problems(clusterWideVariables, c)).toEqual([]);
    withInstanceVars(c, 0, { pgbouncer_auth_user: null });
    expect(problems(clusterWideVariables, c)).toEqual([
      'E instances[0].vars.pgbouncer_auth_user: must be the same on every host (here unset, elsewhere "pgbouncer_auth_user"); set it once in cluster_vars or instance_defaults.vars',
    ]);
  });

  it('stableString sorts keys at every depth', () => {
    expect(stableString({ b: [1, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
    expect(stableString(undefined)).toBe('unset');
  });
});

describe('requiredVariables', () => {
  const rule = eachHost(requiredVariables);

  it('accepts the defaults', () => {
    expect(problems(rule, baseConfig())).toEqual([]);
  });

  it('reports a null once where it is set, naming the hosts', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_dcs_namespace = null;
    expect(problems(rule, c)).toEqual([
      'E cluster_vars.patroni_dcs_namespace: patroni_dcs_namespace is unset (null), but pg1, pg2, pg3, proxy1 need it; remove the null to get the default ("/pgha")',
    ]);
  });

  it('blames the highest layer, -e included', () => {
    const c = withInstanceVars(baseConfig(), 3, { etcd_authentication_mode: null });
    expect(problems(rule, c)).toEqual([
      'E instances[3].vars.etcd_authentication_mode: etcd_authentication_mode is unset (null), but proxy1 need it; remove the null to get the default ("none")',
    ]);
    expect(problems(rule, baseConfig(), { patroni_authentication_mode: null })).toEqual([
      'E -e patroni_authentication_mode: patroni_authentication_mode is unset (null), but pg1, pg2, pg3, proxy1 need it; remove the null to get the default ("basic")',
    ]);
  });
});
