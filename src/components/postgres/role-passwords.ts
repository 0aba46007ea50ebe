/**
 * The passwords of the roles Patroni logs in with (superuser, replication, rewind), kept equal to
 * DIR/secrets by deploy: Patroni sets them only when it bootstraps the cluster, so a password
 * changed in DIR/secrets (by `pgha rotate-passwords`, or by hand) would otherwise reach
 * patroni.yml but not PostgreSQL.
 *
 * Nothing secret crosses the wire in either direction. The read returns, per role, the
 * verifier's public part (iterations and salt) and a SHA-256 of the whole verifier; the
 * controller computes the verifier its password would have with that salt and compares the
 * hashes. The write sends a SCRAM verifier on stdin, never the password, so PostgreSQL's logs
 * and catalog never hold it. Both run in the `postgres` database with the pinned search_path
 * and pg_catalog-qualified names.
 */
import { QUIET_SESSION_SQL } from './quiet-session.js';
import { createHash } from 'node:crypto';
import { quote, type Command } from '../../transport/quote.js';
import { PINNED_SEARCH_PATH, scramVerifier, scramVerifierWith } from '../host-commands.js';

const EQ = 'OPERATOR(pg_catalog.=)';

/** The roles Patroni logs in with, by the variables naming them, each with its password from DIR/secrets. */
export function patroniRolePasswords(vars: Record<string, unknown>, secret: (name: string) => string): Map<string, string> {
  const users = [
    vars.patroni_super_user,
    vars.patroni_replication_user,
    ...(vars.patroni_rewind_enabled === true ? [vars.patroni_rewind_user] : []),
  ];
  return new Map(users.map((u) => [String(u), secret(String(u))] as const));
}
const literal = (x: string) => `'${x.replace(/'/g, "''")}'`;

function psql(port: number, extra: string): string {
  return `cd /tmp && ${PINNED_SEARCH_PATH} runuser -u postgres -- psql -X -q -At -F '|' -v ON_ERROR_STOP=1 -p ${port} -h /var/run/postgresql -d postgres ${extra}`;
}

/** Per role: `name|iterations:salt|sha256 of the verifier` (empty fields when it has no SCRAM password). */
export function readRolePasswordsCommand(users: readonly string[], port: number): Command {
  const sql = `SELECT rolname,
  CASE WHEN pg_catalog.starts_with(rolpassword, 'SCRAM-SHA-256$') THEN pg_catalog.split_part(pg_catalog.split_part(rolpassword, '$', 2), '$', 1) ELSE '' END,
  COALESCE(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(rolpassword, 'UTF8')), 'hex'), '')
FROM pg_catalog.pg_authid WHERE rolname ${EQ} ANY (ARRAY[${users.map(literal).join(', ')}]::pg_catalog.name[])`;
  return { script: psql(port, `-c ${quote(sql)}`), intent: { kind: 'role-passwords', users, checkOnly: true } };
}

/** The roles among `passwords` whose stored verifier is not that of their password (missing roles are Patroni's to create). */
export function rolesToUpdate(output: string, passwords: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const line of output.split('\n').filter(Boolean)) {
    const [name = '', params = '', hash = ''] = line.split('|');
    const password = passwords.get(name);
    if (password === undefined) continue;
    const m = /^(\d+):([A-Za-z0-9+/=]+)$/.exec(params);
    const matches =
      m !== null &&
      createHash('sha256')
        .update(scramVerifierWith(password, Buffer.from(m[2]!, 'base64'), Number(m[1])))
        .digest('hex') === hash;
    if (!matches) out.push(name);
  }
  return out.sort();
}

/** Sets each role's password to its verifier (on stdin: the verifiers are as good as passwords to an attacker who can log in with SCRAM). */
export function setRolePasswordsCommand(passwords: ReadonlyMap<string, string>, port: number): Command {
  const verifiers = [...passwords].map(([user, pw]) => [user, scramVerifier(user, pw)] as const);
  const sql = verifiers
    .map(([user, v]) => `SELECT pg_catalog.format('ALTER ROLE %I WITH PASSWORD %L', ${literal(user)}, ${literal(v)}) \\gexec`)
    .join('\n');
  return {
    script: `set -euo pipefail\n${psql(port, '-f -')}`,
    stdin: `${QUIET_SESSION_SQL}\n${sql}\n`,
    secrets: [...passwords.values(), ...verifiers.map(([, v]) => v)],
    intent: { kind: 'role-passwords', users: [...passwords.keys()], checkOnly: false },
  };
}
