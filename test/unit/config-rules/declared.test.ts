import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { declaredDatabases, declaredUsers, hbaSettings } from '../../../src/config/rules/declared.js';
import { baseConfig, pgbouncerConfig, problems, run } from './helpers.js';

const users = (list: unknown[]) => {
  const c = pgbouncerConfig();
  c.cluster_vars.postgres_users = list;
  return c;
};

describe('declaredUsers', () => {
  it('accepts ordinary users, attributes in any case, and an empty list', () => {
    expect(
      problems(
        declaredUsers,
        users([{ username: 'app', role_attrs: ['login', 'CREATEDB', 'NoSuperuser'], granted_roles: ['pg_read_all_data'] }]),
      ),
    ).toEqual([]);
    expect(problems(declaredUsers, users([]))).toEqual([]);
    expect(problems(declaredUsers, baseConfig())).toEqual([]);
  });

  it("refuses the users pgha runs the cluster with, PostgreSQL's reserved names and pg_", () => {
    const c = users([
      { username: 'postgres' },
      { username: 'replicator' },
      { username: 'pgbouncer_auth_user' },
      { username: 'etcd_root' },
      { username: 'pg_app' },
      { username: 'public' },
      { username: 'patroni' },
    ]);
    c.cluster_vars.patroni_restapi_user = 'patroni';
    expect(problems(declaredUsers, c)).toEqual([
      'E cluster_vars.postgres_users[0].username: postgres is patroni_super_user, which pgha creates and manages; choose another name for this user',
      'E cluster_vars.postgres_users[1].username: replicator is patroni_replication_user, which pgha creates and manages; choose another name for this user',
      'E cluster_vars.postgres_users[2].username: pgbouncer_auth_user is pgbouncer_auth_user, which pgha creates and manages; choose another name for this user',
      "E cluster_vars.postgres_users[3].username: etcd_root is the name pgha keeps etcd root's password under; choose another name for this user",
      'E cluster_vars.postgres_users[4].username: PostgreSQL reserves role names starting with pg_; choose another name',
      'E cluster_vars.postgres_users[5].username: public is reserved by PostgreSQL and cannot name a role; choose another name',
      'E cluster_vars.postgres_users[6].username: patroni is patroni_restapi_user, which pgha creates and manages; choose another name for this user',
    ]);
  });

  it('refuses duplicates, unknown or contradictory attributes, and a role granted to itself, with line numbers', () => {
    const c = users([{ username: 'app', role_attrs: ['LOGIN', 'NOLOGIN', 'DROP TABLE'], granted_roles: ['app'] }, { username: 'app' }]);
    const { errors } = run(declaredUsers, c);
    expect(errors.every((e) => /^config\.yml:\d+: cluster_vars\.postgres_users\[\d\]/.test(e))).toBe(true);
    expect(problems(declaredUsers, c)).toEqual([
      'E cluster_vars.postgres_users[0].role_attrs[0]: LOGIN and NOLOGIN are both listed; keep one',
      'E cluster_vars.postgres_users[0].role_attrs[2]: "DROP TABLE" is not a role attribute pgha sets; use one of LOGIN, NOLOGIN, SUPERUSER, NOSUPERUSER, CREATEDB, NOCREATEDB, CREATEROLE, NOCREATEROLE, INHERIT, NOINHERIT, REPLICATION, NOREPLICATION, BYPASSRLS, NOBYPASSRLS',
      'E cluster_vars.postgres_users[0].granted_roles[0]: a role cannot be granted to itself; remove app',
      'E cluster_vars.postgres_users[1].username: app is declared twice (also postgres_users[0]); declare each user once',
    ]);
  });

  it('blames the instance layer that sets the list', () => {
    const c = baseConfig();
    c.instances[0]!.vars = { postgres_users: [{ username: 'postgres' }] };
    expect(problems(declaredUsers, c)).toEqual([
      'E instances[0].vars.postgres_users[0].username: postgres is patroni_super_user, which pgha creates and manages; choose another name for this user',
    ]);
  });
});

describe('declaredDatabases', () => {
  const dbs = (list: unknown[], userList: unknown[] = [{ username: 'app' }]) => {
    const c = users(userList);
    c.cluster_vars.postgres_databases = list;
    return c;
  };

  it('accepts a declared owner, the superuser, no owner, and hostile names', () => {
    expect(
      problems(
        declaredDatabases,
        dbs([{ name: 'a"b; DROP DATABASE x;--\' ü', owner: 'app' }, { name: 'b', owner: 'postgres' }, { name: 'c' }]),
      ),
    ).toEqual([]);
  });

  it('refuses an undeclared owner, duplicates, system databases and names PostgreSQL would truncate', () => {
    expect(
      problems(
        declaredDatabases,
        dbs([
          { name: 'app', owner: 'nobody' },
          { name: 'app', owner: 'app' },
          { name: 'template1' },
          { name: 'é'.repeat(40) },
          { name: 'x', extensions: [{ name: 'hstore', schema: 'ü'.repeat(32) }] },
        ]),
      ),
    ).toEqual([
      'E cluster_vars.postgres_databases[0].owner: "nobody" is neither a user of postgres_users nor the superuser (postgres); declare it in postgres_users or choose a declared owner',
      'E cluster_vars.postgres_databases[1].name: "app" is declared twice (also postgres_databases[0]); declare each database once',
      'E cluster_vars.postgres_databases[2].name: template1 is a database every cluster has, which pgha does not manage; choose another name',
      'E cluster_vars.postgres_databases[3].name: is longer than 63 bytes, which PostgreSQL truncates; shorten it',
      'E cluster_vars.postgres_databases[4].extensions[0].schema: is longer than 63 bytes, which PostgreSQL truncates; shorten it',
    ]);
  });
});

describe('hbaSettings', () => {
  const rule = eachHost(hbaSettings);
  const hba = (lines: unknown[]) => {
    const c = baseConfig();
    c.cluster_vars.postgres_hba_settings = lines;
    return c;
  };

  it('accepts pg_hba records of every type, tabs included', () => {
    expect(
      problems(rule, hba(['hostssl app app 10.0.0.0/8 scram-sha-256', 'local\tapp\tapp\tpeer', 'host all baddie 0.0.0.0/0 reject'])),
    ).toEqual([]);
  });

  it('refuses line breaks, unknown record types and short records, once for all hosts', () => {
    expect(
      problems(rule, hba(['host all all 0.0.0.0/0 trust\nhost all all ::/0 trust', 'include /etc/passwd x y z', 'host all all trust'])),
    ).toEqual([
      'E cluster_vars.postgres_hba_settings[0]: holds a line break or control character; write one pg_hba.conf record per list item',
      'E cluster_vars.postgres_hba_settings[1]: starts with "include"; a pg_hba.conf record starts with one of local, host, hostssl, hostnossl, hostgssenc, hostnogssenc',
      'E cluster_vars.postgres_hba_settings[2]: has 4 fields; a host record needs at least 5 (type, database, user, address, method)',
    ]);
  });
});
