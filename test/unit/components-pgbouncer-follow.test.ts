/**
 * The PgBouncer follower script, run for real with python3 against a fake Patroni /cluster
 * endpoint: it must point the databases file at the running leader, reload PgBouncer only when
 * that changed, try the next member when one does not answer, and leave everything alone while
 * there is no leader.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databasesIni, followConfig } from '../../src/components/pgbouncer/config.js';
import { FOLLOW_SCRIPT } from '../../src/components/pgbouncer/follow.js';
import { loadExample } from '../golden/inputs.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;

let dir: string;
let server: Server;
let port = 0;
let members: unknown[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgha-follow-'));
  writeFileSync(join(dir, 'follow.py'), FOLLOW_SCRIPT);
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === '/cluster' ? { members } : {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  port = typeof a === 'object' && a ? a.port : 0;
});

afterAll(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setup(pidfile: string): string {
  const cluster = loadExample('m1-pgbouncer-bare', { patroni_ssl_enabled: false });
  const cfg = followConfig(cluster, cluster.hosts[1]!);
  // First an address nothing listens on (the local member down), then the fake API.
  Object.assign(cfg, {
    apis: ['http://127.0.0.1:1', `http://127.0.0.1:${port}`],
    databases_file: join(dir, 'databases.ini'),
    pidfile,
    lockfile: join(dir, 'lock'),
    callback_wait: 0,
  });
  const path = join(dir, 'follow.json');
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

function run(config: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('python3', [join(dir, 'follow.py'), 'on_role_change', 'replica', 'pool'], {
      env: { ...process.env, PGHA_FOLLOW_CONFIG: config },
    });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += String(d)));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe.skipIf(!hasPython)('pgbouncer-follow', () => {
  it('follows the leader and reloads PgBouncer only on change', async () => {
    // A stand-in for PgBouncer: a process whose exit by SIGHUP proves the reload.
    const pgb = spawn('sleep', ['30']);
    const pidfile = join(dir, 'pgbouncer.pid');
    writeFileSync(pidfile, `${pgb.pid}\n`);
    const exited = new Promise<NodeJS.Signals | null>((r) => pgb.on('exit', (_c, sig) => r(sig)));
    const config = setup(pidfile);
    writeFileSync(join(dir, 'databases.ini'), databasesIni('10.20.0.11', 5432));

    members = [
      { name: 'db1', role: 'replica', state: 'running', host: '10.20.0.11', port: 5432 },
      { name: 'db2', role: 'leader', state: 'running', host: '10.20.0.12', port: 5432 },
    ];
    const r = await run(config);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'databases.ini'), 'utf8')).toBe(databasesIni('10.20.0.12', 5432));
    expect(await exited).toBe('SIGHUP');

    // Unchanged leader: no rewrite, no signal (the pidfile now names a live process that must survive).
    const calm = spawn('sleep', ['30']);
    writeFileSync(pidfile, `${calm.pid}\n`);
    await run(config);
    expect(calm.exitCode).toBeNull();
    expect(calm.signalCode).toBeNull();
    calm.kill();
  });

  it('changes nothing while there is no running leader', async () => {
    const config = setup(join(dir, 'absent.pid'));
    writeFileSync(join(dir, 'databases.ini'), databasesIni('10.20.0.11', 5432));
    members = [
      { name: 'db1', role: 'replica', state: 'running', host: '10.20.0.11', port: 5432 },
      { name: 'db2', role: 'leader', state: 'stopped', host: '10.20.0.12', port: 5432 },
    ];
    const r = await run(config);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('no running leader yet');
    expect(readFileSync(join(dir, 'databases.ini'), 'utf8')).toBe(databasesIni('10.20.0.11', 5432));
  });

  it("accepts Patroni 3.0's `master` as well", async () => {
    const config = setup(join(dir, 'absent.pid'));
    members = [{ name: 'db3', role: 'master', state: 'running', host: '10.20.0.13', port: 5432 }];
    await run(config);
    expect(readFileSync(join(dir, 'databases.ini'), 'utf8')).toBe(databasesIni('10.20.0.13', 5432));
  });

  it('writes only a data node config.yml names: any other address, port or crafted value is logged and ignored', async () => {
    const config = setup(join(dir, 'absent.pid'));
    const before = databasesIni('10.20.0.11', 5432);
    for (const [host, port] of [
      ['10.66.6.6', 5432],
      ['10.20.0.12', 6543],
      ['10.20.0.12 port=5432\nauth_type = trust', 5432],
      ['10.20.0.12', '5432\n[pgbouncer]'],
    ] as const) {
      writeFileSync(join(dir, 'databases.ini'), before);
      members = [{ name: 'x', role: 'leader', state: 'running', host, port }];
      const r = await run(config);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('ignoring leader');
      expect(r.stderr).toContain('not a data node in config.yml (allowed: 10.20.0.11:5432, 10.20.0.12:5432, 10.20.0.13:5432)');
      expect(readFileSync(join(dir, 'databases.ini'), 'utf8')).toBe(before);
    }
  });
});

describe('the follower config', () => {
  it("lists every data node's address and PostgreSQL port as the only targets", () => {
    const cluster = loadExample('m1-pgbouncer-bare');
    expect(followConfig(cluster, cluster.hosts[0]!).allowed_targets).toEqual([
      { host: '10.20.0.11', port: 5432 },
      { host: '10.20.0.12', port: 5432 },
      { host: '10.20.0.13', port: 5432 },
    ]);
  });
});
