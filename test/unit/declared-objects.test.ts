import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PINNED_SEARCH_PATH, scramVerifier } from '../../src/components/host-commands.js';
import {
  applySql,
  checkSql,
  declaredObjects,
  declaredObjectsCommand,
  declaresObjects,
  extensionApplySql,
  extensionCheckSql,
  literal,
  MANAGED_MARKER,
  pendingOf,
  type Declared,
} from '../../src/components/postgres/declared.js';
import { postgres } from '../../src/components/postgres/index.js';
import { resolveCluster } from '../../src/model/resolve.js';
import { quote } from '../../src/transport/quote.js';
import { baseConfig } from './config-rules/helpers.js';

const secret = (name: string) => `secret-of-${name}-0123456789`;

function decl(db: string, opts: { owner?: string; schema?: string; ext?: string; user?: string; granted?: string } = {}): Declared {
  return declaredObjects({
    patroni_super_user: 'postgres',
    postgres_users: [
      {
        username: opts.user ?? 'app',
        role_attrs: ['createdb', 'NOSUPERUSER'],
        conn_limit: 5,
        granted_roles: [opts.granted ?? 'pg_read_all_data'],
      },
    ],
    postgres_databases: [
      {
        name: db,
        owner: opts.owner ?? 'app',
        lc_collate: 'C.UTF-8',
        extensions: [{ name: opts.ext ?? 'hstore', schema: opts.schema ?? 'ext' }],
      },
    ],
  });
}

/** Every SQL text the step runs for `d`, check and apply, prune or not. */
function allSql(d: Declared): string {
  const v = new Map(d.users.map((u) => [u.username, scramVerifier(u.username, secret(u.username))] as const));
  return [
    checkSql(d, v, false),
    checkSql(d, v, true),
    applySql(d, v, true),
    ...d.databases.flatMap((x) => [extensionCheckSql(x), extensionApplySql(x)]),
  ].join('\n');
}

describe('declaredObjects', () => {
  it('applies the defaults: LOGIN unless NOLOGIN, UTF8 from template0, owner the superuser, extensions in public', () => {
    const d = declaredObjects({
      patroni_super_user: 'postgres',
      postgres_users: [{ username: 'a' }, { username: 'b', role_attrs: ['nologin'] }],
      postgres_databases: [{ name: 'db', extensions: [{ name: 'hstore' }] }],
    });
    expect(d.users).toEqual([
      { username: 'a', roleAttrs: ['LOGIN'], grantedRoles: [] },
      { username: 'b', roleAttrs: ['NOLOGIN'], grantedRoles: [] },
    ]);
    expect(d.databases).toEqual([
      { name: 'db', owner: 'postgres', encoding: 'UTF8', template: 'template0', extensions: [{ name: 'hstore', schema: 'public' }] },
    ]);
    expect(declaresObjects({})).toBe(false);
    expect(declaresObjects({ postgres_users: [] })).toBe(true);
  });
});

describe('the SQL of declared users and databases', () => {
  // Names a user may declare: anything but control characters, quotes, semicolons and unicode welcome.
  const hostile = fc.oneof(
    fc.constantFrom(`a"b`, `x'; DROP DATABASE postgres; --`, 'we ird', 'ü€😀', `'`, `"`, `\\`, `$$`, `:'x'`, `%I`, 'changed', 'PGHA_SQL'),
    // eslint-disable-next-line no-control-regex -- control characters are what config.yml refuses
    fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s)),
  );

  it('holds a hostile name only as a quoted literal: replacing it by a plain one gives the SQL of the plain name', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, (db, schema, ext) => {
        const plain = allSql(decl('plain_db', { schema: 'plain_schema', ext: 'plain_ext' }));
        // The substitution below is unambiguous only when no literal occurs elsewhere (a name 'g'
        // is also regexp_replace's flag) nor inside another's.
        const lits = [db, schema, ext].map(literal);
        fc.pre(lits.every((l, k) => !plain.includes(l) && lits.every((m, j) => j === k || !m.includes(l))));
        let got = allSql(decl(db, { schema, ext }));
        // Longest first, so one name inside another's literal is not replaced half-way.
        const subs = [
          [literal(db), literal('plain_db')],
          [literal(schema), literal('plain_schema')],
          [literal(ext), literal('plain_ext')],
        ].sort((a, b) => b[0]!.length - a[0]!.length);
        const marks = subs.map((_, k) => `\u0001${String(k)}\u0001`);
        subs.forEach(([from], k) => (got = got.split(from!).join(marks[k])));
        subs.forEach(([, to], k) => (got = got.split(marks[k]!).join(to)));
        expect(got).toBe(plain);
      }),
      { numRuns: 200 },
    );
  });

  it('builds every statement with format(%I) and names only pg_catalog objects and operators', () => {
    // SET's `=` is syntax, not an operator.
    const sql = allSql(decl('db'))
      .split('\n')
      .filter((l) => !l.startsWith('SET '))
      .join('\n');
    expect(sql).not.toMatch(
      /(?<![.'])\b(pg_authid|pg_roles|pg_database|pg_extension|pg_auth_members|format|shobj_description|array_to_string)\b/,
    );
    expect(sql).not.toMatch(/\s(=|<>|!=)\s/);
    expect(sql).toContain(`pg_catalog.format('CREATE EXTENSION IF NOT EXISTS %I SCHEMA %I', 'hstore', 'ext')`);
    expect(sql).toContain(
      `pg_catalog.format('CREATE DATABASE %I OWNER %I TEMPLATE %I ENCODING %L LC_COLLATE %L', 'db', 'app', 'template0', 'UTF8', 'C.UTF-8')`,
    );
    expect(sql).toContain(`COMMENT ON ROLE %I IS %L', 'app', '${MANAGED_MARKER}'`);
  });

  it('drops only under --prune, databases before roles', () => {
    const d = decl('db');
    const v = new Map([['app', scramVerifier('app', secret('app'))]]);
    expect(applySql(d, v, false)).not.toContain('DROP');
    const pruned = applySql(d, v, true);
    expect(pruned.indexOf('DROP DATABASE')).toBeLessThan(pruned.indexOf('DROP ROLE'));
    expect(checkSql(d, v, false)).toContain('pgha deploy --prune drops it');
    expect(checkSql(d, v, true)).toContain('pending: drop role %I');
  });
});

describe('declaredObjectsCommand', () => {
  const d = decl(`we"ird db; rm -rf /`);
  const check = declaredObjectsCommand(d, secret, 5432, { checkOnly: true, prune: false });
  const apply = declaredObjectsCommand(d, secret, 5432, { checkOnly: false, prune: false });
  const verifier = scramVerifier('app', secret('app'));

  it('carries the password nowhere and the verifier only on stdin, both masked', () => {
    for (const c of [check, apply]) {
      expect(c.script).not.toContain(secret('app'));
      expect(c.script).not.toContain(verifier);
      expect(c.stdin).not.toContain(secret('app'));
      expect(c.stdin).toContain(verifier);
      expect(c.secrets).toEqual([secret('app'), verifier]);
    }
    // The check sends no change: its stdin holds no statement generator.
    expect(check.stdin).not.toContain('\\gexec');
    expect(apply.stdin).toContain('ALTER ROLE %I WITH LOGIN CREATEDB NOSUPERUSER CONNECTION LIMIT 5 PASSWORD %L');
  });

  it('pins search_path and passes a database name only shell-quoted in PGDATABASE', () => {
    for (const c of [check, apply]) {
      expect(c.script).toContain(`export ${PINNED_SEARCH_PATH}`);
      expect(c.script).toContain(`PGDATABASE=${quote(`we"ird db; rm -rf /`)} pg -f -`);
      expect(c.script).not.toMatch(/psql[^\n]* -d /);
    }
    expect(check.script).not.toContain('CREATE EXTENSION');
    expect(apply.script).toContain('CREATE EXTENSION');
    expect(check.intent).toEqual({
      kind: 'declared-objects',
      users: ['app'],
      databases: [`we"ird db; rm -rf /`],
      checkOnly: true,
      prune: false,
    });
  });
});

describe('the postgres component', () => {
  const withVars = (vars: Record<string, unknown>) => {
    const c = baseConfig();
    Object.assign(c.cluster_vars, vars);
    return resolveCluster(c, {});
  };

  it('has no step and no secret while nothing is declared, one leader step once a list is', () => {
    expect(postgres.clusterSteps?.(withVars({}))).toEqual([]);
    expect(postgres.secretNames?.(withVars({}))).toEqual([]);
    const none = postgres.clusterSteps?.(withVars({ postgres_users: [] })) ?? [];
    expect(none.map((s) => [s.name, s.on])).toEqual([['declared-objects', { kind: 'leader' }]]);
    const cluster = withVars({ postgres_users: [{ username: 'app' }], postgres_databases: [{ name: 'appdb', owner: 'app' }] });
    expect(postgres.secretNames?.(cluster)).toEqual(['app']);
    const [step] = postgres.clusterSteps?.(cluster) ?? [];
    expect(step?.describe(cluster.hosts[0]!)).toBe('create the declared users app and databases appdb on the leader');
    expect(step?.explain?.('pending: create role app\npending: database appdb: owner app\nwarning: x\nchanged\n')).toBe(
      'create role app; database appdb: owner app',
    );
    expect(pendingOf('warning: role x was created by pgha\n')).toEqual([]);
  });
});
