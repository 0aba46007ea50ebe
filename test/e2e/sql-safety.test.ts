/**
 * pgha's SQL run as the superuser, against a real PostgreSQL on this machine (no containers):
 * in a database an application role owns, with objects that role planted to hijack unqualified
 * names and operators, the role must stay non-superuser and pgha's work must still be done.
 * Needs root (runuser) and the host's postgresql package, like the rest of test/e2e.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgbouncerAuthUserCommand } from '../../src/components/host-commands.js';
import { pgbouncerAuthSql } from '../../src/components/pgbouncer/config.js';
import { e2eSuiteCanRun } from './harness.js';
import { GET_AUTH_COUNT_SQL, PLANTED_BY_DATABASE_OWNER } from './probes.js';

const canRun = e2eSuiteCanRun('sql-safety');
const PORT = 55499;

function pgBin(): string {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort() : [];
  return `/usr/lib/postgresql/${versions.at(-1) ?? '15'}/bin`;
}

describe.skipIf(!canRun)('SQL pgha runs as superuser in databases other roles own', () => {
  let root = '';
  let socketDir = '';
  const asPostgres = (args: string[], input = '', env: Record<string, string> = {}) => {
    const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], {
      input,
      encoding: 'utf8',
      env: { ...process.env, ...env },
      cwd: '/tmp',
    });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r.stdout.trim();
  };
  const sql = (db: string, text: string) =>
    asPostgres(['psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(PORT), '-f', '-'], `${text}\n`, {
      PGDATABASE: db,
    });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pgha-sql-'));
    socketDir = join(root, 'sock');
    spawnSync('install', ['-d', '-o', 'postgres', '-m', '0700', socketDir, join(root, 'data')]);
    chownSync(root, 0, 0);
    spawnSync('chmod', ['0755', root]);
    asPostgres([join(pgBin(), 'initdb'), '-D', join(root, 'data'), '-A', 'trust', '--no-sync']);
    asPostgres([
      join(pgBin(), 'pg_ctl'),
      '-D',
      join(root, 'data'),
      '-w',
      '-l',
      join(root, 'sock', 'log'),
      '-o',
      `-p ${PORT} -k ${socketDir} -c listen_addresses=''`,
      'start',
    ]);
  }, 60_000);

  afterAll(() => {
    if (root && existsSync(join(root, 'data', 'postmaster.pid'))) {
      spawnSync('runuser', ['-u', 'postgres', '--', join(pgBin(), 'pg_ctl'), '-D', join(root, 'data'), '-m', 'immediate', 'stop']);
    }
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the PgBouncer auth step: a planted operator and get_auth do not make the owner superuser', () => {
    // A name with spaces, quotes and a glob character must stay one database name.
    const appDb = 'app "db" *';
    sql('postgres', 'CREATE ROLE app_owner LOGIN');
    sql('postgres', `CREATE DATABASE "app ""db"" *" OWNER app_owner`);
    sql(
      appDb,
      `${PLANTED_BY_DATABASE_OWNER}
ALTER DATABASE "app ""db"" *" SET search_path = public, pg_catalog;`,
    );
    const cmd = pgbouncerAuthUserCommand(
      'pgbouncer_auth_user',
      'pw-0123456789abcdef',
      PORT,
      pgbouncerAuthSql({ pgbouncer_auth_user: 'pgbouncer_auth_user' }),
    );
    const r = spawnSync('bash', ['-c', cmd.script.replaceAll('/var/run/postgresql', socketDir)], { input: cmd.stdin, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('changed');
    expect(sql('postgres', `SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'app_owner'`)).toBe('f');
    expect(sql(appDb, GET_AUTH_COUNT_SQL)).toBe('1');
    // A second run finds everything in place and changes nothing.
    const again = spawnSync('bash', ['-c', cmd.script.replaceAll('/var/run/postgresql', socketDir)], {
      input: cmd.stdin,
      encoding: 'utf8',
    });
    expect(again.status).toBe(0);
    expect(again.stdout).toBe('');
  });
});
