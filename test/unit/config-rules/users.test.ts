import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { userNames, userVariables } from '../../../src/config/rules/users.js';
import { baseConfig, contextOf, pgbouncerConfig, problems, withInstanceVars } from './helpers.js';

const rule = eachHost(userNames);

describe('userVariables', () => {
  it('lists only the users a host creates', () => {
    const base = contextOf(baseConfig());
    expect(userVariables(base.resolved, base.resolved.hosts[0]!)).toEqual([
      'patroni_super_user',
      'patroni_replication_user',
      'patroni_restapi_user',
      'patroni_rewind_user',
      'patroni_etcd_user',
    ]);
    const c = pgbouncerConfig();
    c.cluster_vars = { patroni_rewind_enabled: false, etcd_authentication_mode: 'none' };
    const p = contextOf(c);
    expect(userVariables(p.resolved, p.resolved.hosts[0]!)).toEqual([
      'patroni_super_user',
      'patroni_replication_user',
      'patroni_restapi_user',
      'pgbouncer_auth_user',
    ]);
  });
});

describe('userNames', () => {
  it('accepts the default names', () => {
    expect(problems(rule, baseConfig())).toEqual([]);
    expect(problems(rule, pgbouncerConfig())).toEqual([]);
  });

  it("refuses etcd's root and the name of root's secret", () => {
    const c = baseConfig();
    c.cluster_vars.patroni_etcd_user = 'root';
    c.cluster_vars.patroni_restapi_user = 'etcd_root';
    expect(problems(rule, c)).toEqual([
      "E cluster_vars.patroni_restapi_user: etcd_root is the name pgha keeps etcd root's password under; choose another name",
      "E cluster_vars.patroni_etcd_user: root is etcd's own superuser, which pgha manages; choose another name (default etcd_patroni)",
    ]);
  });

  it('refuses pg_ for PostgreSQL roles only', () => {
    const c = pgbouncerConfig();
    c.cluster_vars.pgbouncer_auth_user = 'pg_bouncer';
    c.cluster_vars.patroni_restapi_user = 'pg_api';
    expect(problems(rule, c)).toEqual([
      'E cluster_vars.pgbouncer_auth_user: PostgreSQL reserves role names starting with pg_; choose another name for pgbouncer_auth_user',
    ]);
  });

  it('refuses two users with one name, blaming the higher layer', () => {
    const c = withInstanceVars(baseConfig(), 0, { patroni_rewind_user: 'postgres' });
    expect(problems(rule, c)).toEqual([
      'E instances[0].vars.patroni_rewind_user: patroni_rewind_user and patroni_super_user are both "postgres"; each of these users needs its own name (its own password and privileges)',
    ]);
  });

  it('blames the later user when both are set in one layer, once for all hosts', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_replication_user = 'postgres';
    expect(problems(rule, c)).toEqual([
      'E cluster_vars.patroni_replication_user: patroni_replication_user and patroni_super_user are both "postgres"; each of these users needs its own name (its own password and privileges)',
    ]);
  });
});
