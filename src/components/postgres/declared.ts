/**
 * The users and databases config.yml declares (`postgres_users`, `postgres_databases`, TPA's
 * names), reconciled by deploy through the leader as one cluster step: one read-only check (a
 * no-op deploy stays one read), one apply.
 *
 * - Every name reaches SQL as a literal (quotes doubled) and every statement is built by
 *   `pg_catalog.format('%I')` inside PostgreSQL, so a hostile name stays one identifier. The SQL
 *   travels on stdin; a database's name reaches psql only in PGDATABASE, shell-quoted.
 * - Passwords never leave the controller: a SCRAM verifier (deterministic salt, see
 *   scramVerifier) goes on stdin, the check compares it with pg_authid, and the apply turns off
 *   statement logging for its session, so the verifier reaches neither ps nor PostgreSQL's log.
 * - Extensions are created inside the target database, which its owner controls: the
 *   search_path is pinned at connection start and every catalog name and operator is qualified
 *   (docs/architecture.md#security-invariants).
 * - What pgha created carries a comment (MANAGED_MARKER) on the role or database: a marked one no
 *   longer declared is reported, and dropped only by `pgha deploy --prune`.
 */
import { QUIET_SESSION_SQL } from './quiet-session.js';
import { quote, type Command } from '../../transport/quote.js';
import { PINNED_SEARCH_PATH, scramVerifier } from '../host-commands.js';

/** The comment pgha puts on the roles and databases it created: how --prune knows them. */
export const MANAGED_MARKER = 'managed by pgha';

/** CREATE ROLE options a declared user may list in role_attrs, with the pg_authid column each sets. */
export const ROLE_ATTRIBUTES: Readonly<Record<string, string>> = {
  LOGIN: 'rolcanlogin',
  SUPERUSER: 'rolsuper',
  CREATEDB: 'rolcreatedb',
  CREATEROLE: 'rolcreaterole',
  INHERIT: 'rolinherit',
  REPLICATION: 'rolreplication',
  BYPASSRLS: 'rolbypassrls',
};

/** The allowlist, with each NO… form: what config's rule accepts (any case). */
export const ALLOWED_ROLE_ATTRS: readonly string[] = Object.keys(ROLE_ATTRIBUTES).flatMap((a) => [a, `NO${a}`]);

export interface DeclaredUser {
  username: string;
  /** Upper-cased, from the allowlist; LOGIN is implied unless NOLOGIN is listed (as CREATE USER). */
  roleAttrs: string[];
  connLimit?: number;
  grantedRoles: string[];
}

export interface DeclaredExtension {
  name: string;
  /** public unless declared: with the pinned search_path, CREATE EXTENSION needs one named. */
  schema: string;
}

export interface DeclaredDatabase {
  name: string;
  owner: string;
  encoding: string;
  lcCollate?: string;
  lcCtype?: string;
  template: string;
  extensions: DeclaredExtension[];
}

export interface Declared {
  users: DeclaredUser[];
  databases: DeclaredDatabase[];
}

type Rec = Record<string, unknown>;
const isRec = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x);
const strs = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
const optStr = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

/** Whether the variables declare users or databases at all ([] counts: pgha then reports what it created earlier). */
export function declaresObjects(vars: Rec): boolean {
  return Array.isArray(vars.postgres_users) || Array.isArray(vars.postgres_databases);
}

/** The declarations of one host's variables (schema-valid), with their defaults applied. */
export function declaredObjects(vars: Rec): Declared {
  const superUser = String(vars.patroni_super_user ?? 'postgres');
  const users = (Array.isArray(vars.postgres_users) ? vars.postgres_users : []).filter(isRec).map((u): DeclaredUser => {
    const attrs = strs(u.role_attrs).map((a) => a.toUpperCase());
    return {
      username: String(u.username),
      roleAttrs: attrs.includes('NOLOGIN') || attrs.includes('LOGIN') ? attrs : ['LOGIN', ...attrs],
      ...(typeof u.conn_limit === 'number' ? { connLimit: u.conn_limit } : {}),
      grantedRoles: strs(u.granted_roles),
    };
  });
  const databases = (Array.isArray(vars.postgres_databases) ? vars.postgres_databases : []).filter(isRec).map((d): DeclaredDatabase => {
    const lcCollate = optStr(d.lc_collate);
    const lcCtype = optStr(d.lc_ctype);
    return {
      name: String(d.name),
      owner: optStr(d.owner) ?? superUser,
      encoding: optStr(d.encoding) ?? 'UTF8',
      ...(lcCollate !== undefined ? { lcCollate } : {}),
      ...(lcCtype !== undefined ? { lcCtype } : {}),
      // template1 may hold what someone added to it, and refuses an encoding or locale other than its own.
      template: optStr(d.template) ?? 'template0',
      extensions: (Array.isArray(d.extensions) ? d.extensions : [])
        .filter(isRec)
        .map((e) => ({ name: String(e.name), schema: optStr(e.schema) ?? 'public' })),
    };
  });
  return { users, databases };
}

/** A SQL string literal (standard_conforming_strings: only the quote is special). */
export function literal(x: string): string {
  return `'${x.replace(/'/g, "''")}'`;
}

const EQ = 'OPERATOR(pg_catalog.=)';
const NE = 'OPERATOR(pg_catalog.<>)';
const MARKER = literal(MANAGED_MARKER);
const nameArray = (names: readonly string[]) => `ARRAY[${names.map(literal).join(', ')}]::pg_catalog.name[]`;
const roleOid = (name: string) => `(SELECT oid FROM pg_catalog.pg_roles WHERE rolname ${EQ} ${literal(name)})`;
/** A line of output naming something, control characters (a hand-made name's newline) made visible. */
const line = (fmt: string, ...args: string[]) =>
  `pg_catalog.regexp_replace(pg_catalog.format(${[literal(fmt), ...args].join(', ')}), '[[:cntrl:]]', '?', 'g')`;
/** Marked by pgha: the comment on a shared object (a role's in pg_authid, a database's in pg_database). */
const marked = (oid: string, catalog: 'pg_authid' | 'pg_database') =>
  `COALESCE(pg_catalog.shobj_description(${oid}, '${catalog}') ${EQ} ${MARKER}, false)`;

/** The check's and the apply's statements carry verifiers: the session keeps them out of the log. */
const QUIET = QUIET_SESSION_SQL.split('\n');

/** The differences of a declared role from pg_authid row `a`, as an SQL text[] of words (NULLs dropped when joined). */
function roleDiffs(u: DeclaredUser, verifier: string): string {
  const parts = [`CASE WHEN NOT COALESCE(a.rolpassword ${EQ} ${literal(verifier)}, false) THEN 'password' END`];
  for (const attr of u.roleAttrs) {
    const no = attr.startsWith('NO') && ROLE_ATTRIBUTES[attr.slice(2)] !== undefined;
    const column = ROLE_ATTRIBUTES[no ? attr.slice(2) : attr];
    if (!column) continue;
    parts.push(`CASE WHEN ${no ? '' : 'NOT '}a.${column} THEN ${literal(attr)} END`);
  }
  if (u.connLimit !== undefined) parts.push(`CASE WHEN a.rolconnlimit ${NE} ${String(u.connLimit)} THEN 'CONNECTION LIMIT' END`);
  for (const g of u.grantedRoles) {
    parts.push(
      `CASE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.member ${EQ} a.oid AND m.roleid ${EQ} ${roleOid(g)}) THEN ${line('grant %I', literal(g))} END`,
    );
  }
  parts.push(`CASE WHEN NOT ${marked('a.oid', 'pg_authid')} THEN 'marker' END`);
  return `pg_catalog.array_to_string(ARRAY[${parts.join(',\n    ')}]::pg_catalog.text[], ', ')`;
}

function databaseDiffs(d: DeclaredDatabase): string {
  return `pg_catalog.array_to_string(ARRAY[
    CASE WHEN NOT COALESCE(x.datdba ${EQ} ${roleOid(d.owner)}, false) THEN ${line('owner %I', literal(d.owner))} END,
    CASE WHEN NOT ${marked('x.oid', 'pg_database')} THEN 'marker' END]::pg_catalog.text[], ', ')`;
}

const hasRole = (name: string) => `EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname ${EQ} ${literal(name)})`;
const hasDatabase = (name: string) => `EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname ${EQ} ${literal(name)})`;

/**
 * The read-only check, run in the `postgres` database: one `pending: …` line per role or
 * database to create or change, `warning: …` lines for what cannot or will not be changed (an
 * encoding differing from the declared one; marked objects no longer declared, which become
 * `pending: drop …` lines under --prune).
 */
export function checkSql(decl: Declared, verifiers: ReadonlyMap<string, string>, prune: boolean): string {
  const out = [...QUIET];
  for (const u of decl.users) {
    const name = literal(u.username);
    out.push(`SELECT ${line('pending: create role %I', name)} WHERE NOT ${hasRole(u.username)};`);
    out.push(
      `SELECT ${line('pending: role %I: %s', name, 'd')} FROM (SELECT ${roleDiffs(u, verifiers.get(u.username) ?? '')} AS d FROM pg_catalog.pg_authid a WHERE a.rolname ${EQ} ${name}) s WHERE s.d ${NE} '';`,
    );
  }
  for (const d of decl.databases) {
    const name = literal(d.name);
    out.push(`SELECT ${line('pending: create database %I', name)} WHERE NOT ${hasDatabase(d.name)};`);
    out.push(
      `SELECT ${line('pending: database %I: %s', name, 'd')} FROM (SELECT ${databaseDiffs(d)} AS d FROM pg_catalog.pg_database x WHERE x.datname ${EQ} ${name}) s WHERE s.d ${NE} '';`,
    );
    out.push(
      `SELECT ${line('warning: database %I has encoding %s, config.yml declares %s; pgha does not re-create a database', name, 'pg_catalog.pg_encoding_to_char(x.encoding)', literal(d.encoding))} FROM pg_catalog.pg_database x WHERE x.datname ${EQ} ${name} AND pg_catalog.upper(pg_catalog.pg_encoding_to_char(x.encoding)) ${NE} pg_catalog.upper(${literal(d.encoding)});`,
    );
  }
  const undeclared = (what: 'role' | 'database') =>
    prune
      ? `pending: drop ${what} %I (created by pgha, no longer declared)`
      : `warning: ${what} %I was created by pgha and is no longer declared in postgres_${what === 'role' ? 'users' : 'databases'}; pgha deploy --prune drops it`;
  out.push(
    `SELECT ${line(undeclared('database'), 'x.datname')} FROM pg_catalog.pg_database x WHERE ${marked('x.oid', 'pg_database')} AND NOT x.datname ${EQ} ANY (${nameArray(decl.databases.map((d) => d.name))}) ORDER BY 1;`,
    `SELECT ${line(undeclared('role'), 'a.rolname')} FROM pg_catalog.pg_authid a WHERE ${marked('a.oid', 'pg_authid')} AND NOT a.rolname ${EQ} ANY (${nameArray(decl.users.map((u) => u.username))}) ORDER BY 1;`,
  );
  return `${out.join('\n')}\n`;
}

/** The extensions of one database missing there (run inside it). */
export function extensionCheckSql(d: DeclaredDatabase): string {
  return d.extensions
    .map(
      (e) =>
        `SELECT ${line('pending: database %I: create extension %I', literal(d.name), literal(e.name))} WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname ${EQ} ${literal(e.name)});`,
    )
    .join('\n');
}

/**
 * The changes, in the `postgres` database: roles (created, then attributes, connection limit and
 * password set where anything differs, marked), grants once every role exists, databases
 * (created from the template with encoding and locale, owner set, marked), and under --prune the
 * marked ones no longer declared dropped, databases before roles (a role owning a database
 * cannot be dropped). Each statement is generated by `\gexec` only where it is needed.
 */
export function applySql(decl: Declared, verifiers: ReadonlyMap<string, string>, prune: boolean): string {
  const out = [...QUIET];
  for (const u of decl.users) {
    const name = literal(u.username);
    const attrs = u.roleAttrs.filter((a) => ALLOWED_ROLE_ATTRS.includes(a));
    const limit = u.connLimit !== undefined ? ` CONNECTION LIMIT ${String(u.connLimit)}` : '';
    out.push(`SELECT pg_catalog.format('CREATE ROLE %I', ${name}) WHERE NOT ${hasRole(u.username)} \\gexec`);
    out.push(
      `SELECT pg_catalog.format(${literal(`ALTER ROLE %I WITH ${attrs.join(' ')}${limit} PASSWORD %L`)}, ${name}, ${literal(verifiers.get(u.username) ?? '')}) FROM pg_catalog.pg_authid a WHERE a.rolname ${EQ} ${name} AND ${roleDiffs(u, verifiers.get(u.username) ?? '')} ${NE} '' \\gexec`,
    );
    out.push(
      `SELECT pg_catalog.format('COMMENT ON ROLE %I IS %L', ${name}, ${MARKER}) FROM pg_catalog.pg_authid a WHERE a.rolname ${EQ} ${name} AND NOT ${marked('a.oid', 'pg_authid')} \\gexec`,
    );
  }
  for (const u of decl.users) {
    for (const g of u.grantedRoles) {
      out.push(
        `SELECT pg_catalog.format('GRANT %I TO %I', ${literal(g)}, ${literal(u.username)}) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.member ${EQ} ${roleOid(u.username)} AND m.roleid ${EQ} ${roleOid(g)}) \\gexec`,
      );
    }
  }
  for (const d of decl.databases) {
    const name = literal(d.name);
    const args = [name, literal(d.owner), literal(d.template), literal(d.encoding)];
    let fmt = 'CREATE DATABASE %I OWNER %I TEMPLATE %I ENCODING %L';
    if (d.lcCollate !== undefined) {
      fmt += ' LC_COLLATE %L';
      args.push(literal(d.lcCollate));
    }
    if (d.lcCtype !== undefined) {
      fmt += ' LC_CTYPE %L';
      args.push(literal(d.lcCtype));
    }
    out.push(`SELECT pg_catalog.format(${literal(fmt)}, ${args.join(', ')}) WHERE NOT ${hasDatabase(d.name)} \\gexec`);
    out.push(
      `SELECT pg_catalog.format('ALTER DATABASE %I OWNER TO %I', ${name}, ${literal(d.owner)}) FROM pg_catalog.pg_database x WHERE x.datname ${EQ} ${name} AND NOT COALESCE(x.datdba ${EQ} ${roleOid(d.owner)}, false) \\gexec`,
    );
    out.push(
      `SELECT pg_catalog.format('COMMENT ON DATABASE %I IS %L', ${name}, ${MARKER}) FROM pg_catalog.pg_database x WHERE x.datname ${EQ} ${name} AND NOT ${marked('x.oid', 'pg_database')} \\gexec`,
    );
  }
  if (prune) {
    out.push(
      `SELECT pg_catalog.format('DROP DATABASE %I', x.datname) FROM pg_catalog.pg_database x WHERE ${marked('x.oid', 'pg_database')} AND NOT x.datname ${EQ} ANY (${nameArray(decl.databases.map((d) => d.name))}) \\gexec`,
      `SELECT pg_catalog.format('DROP ROLE %I', a.rolname) FROM pg_catalog.pg_authid a WHERE ${marked('a.oid', 'pg_authid')} AND NOT a.rolname ${EQ} ANY (${nameArray(decl.users.map((u) => u.username))}) \\gexec`,
    );
  }
  return `${out.join('\n')}\n`;
}

/**
 * The extensions of one database, created inside it. A declared schema other than public is
 * created for the database's owner first (the owner controls the database anyway); the
 * extension's own script runs with its schema as search_path, as PostgreSQL always does.
 */
export function extensionApplySql(d: DeclaredDatabase): string {
  const out = ['SET client_min_messages = warning;'];
  for (const e of d.extensions) {
    if (e.schema !== 'public' && e.schema !== 'pg_catalog') {
      out.push(
        `SELECT pg_catalog.format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', ${literal(e.schema)}, ${literal(d.owner)}) \\gexec`,
      );
    }
    out.push(`SELECT pg_catalog.format('CREATE EXTENSION IF NOT EXISTS %I SCHEMA %I', ${literal(e.name)}, ${literal(e.schema)}) \\gexec`);
  }
  return `${out.join('\n')}\n`;
}

/** The verifier of each declared user's password, from DIR/secrets. */
export function verifiersOf(decl: Declared, secret: (name: string) => string): Map<string, string> {
  return new Map(decl.users.map((u) => [u.username, scramVerifier(u.username, secret(u.username))] as const));
}

/**
 * The step's command. Both print the check's lines; the apply then, when any is `pending:`,
 * makes the changes and prints `changed`. stdin: the check's SQL, a NUL, the apply's (the
 * verifiers are in both, so neither is ever in the script).
 */
export function declaredObjectsCommand(
  decl: Declared,
  secret: (name: string) => string,
  port: number,
  opts: { checkOnly: boolean; prune: boolean },
): Command {
  const verifiers = verifiersOf(decl, secret);
  const pg = `runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -p ${String(port)} -h /var/run/postgresql`;
  const withExtensions = decl.databases.filter((d) => d.extensions.length);
  const extChecks = withExtensions.map(
    (d) => `if [ "$(PGDATABASE=postgres pg -c ${quote(`SELECT ${hasDatabase(d.name)}`)} </dev/null)" = t ]; then
  out+=$'\\n'"$(printf '%s' ${quote(extensionCheckSql(d))} | PGDATABASE=${quote(d.name)} pg -f -)"
fi`,
  );
  const extApplies = withExtensions.map(
    (d) => `  printf '%s' ${quote(extensionApplySql(d))} | PGDATABASE=${quote(d.name)} pg -f - >/dev/null`,
  );
  const script = `set -euo pipefail
cd /tmp
export ${PINNED_SEARCH_PATH}
pg() { ${pg} "$@"; }
IFS= read -r -d '' check || true
IFS= read -r -d '' apply || true
out=$(printf '%s' "$check" | PGDATABASE=postgres pg -f -)
${extChecks.join('\n')}
printf '%s\\n' "$out" | sed '/^$/d'
${
  opts.checkOnly
    ? `if printf '%s\\n' "$out" | grep -q '^pending: '; then echo changed; fi`
    : `if printf '%s\\n' "$out" | grep -q '^pending: '; then
  printf '%s' "$apply" | PGDATABASE=postgres pg -f - >/dev/null
${extApplies.join('\n')}
  echo changed
fi`
}
`;
  const check = checkSql(decl, verifiers, opts.prune);
  const stdin = opts.checkOnly ? `${check}\0` : `${check}\0${applySql(decl, verifiers, opts.prune)}`;
  return {
    script,
    stdin,
    secrets: [...decl.users.map((u) => secret(u.username)), ...verifiers.values()],
    intent: {
      kind: 'declared-objects',
      users: decl.users.map((u) => u.username),
      databases: decl.databases.map((d) => d.name),
      checkOnly: opts.checkOnly,
      prune: opts.prune,
    },
  };
}

/** The plan's words for a check's output: its `pending:` lines, `; `-joined. */
export function pendingOf(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('pending: '))
    .map((l) => l.slice('pending: '.length));
}
