/**
 * The postmaster watch (src/components/patroni/postmaster-watch.ts), run for real with python3:
 * a fake postmaster (a copy of sleep named `postgres`, so its comm is what a postmaster's is), a
 * fake data directory and a fake Patroni REST API. It must send nothing while the postmaster
 * runs, exactly one no-op `PATCH /config` with Patroni's credentials as soon as it crashes
 * (exits leaving its postmaster.pid) and its leftover backends are gone, nothing when it stops
 * (postmaster.pid removed first), and nothing for a stale postmaster.pid naming some other process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { POSTMASTER_WATCH, postmasterWatchFiles, postmasterWatchUnit } from '../../src/components/patroni/postmaster-watch.js';
import { patroni } from '../../src/components/patroni/index.js';
import { POSTMASTER_WATCH_SCRIPT, POSTMASTER_WATCH_UNIT } from '../../src/components/paths.js';
import { loadExample } from '../golden/inputs.js';

const SLEEP = ['/usr/bin/sleep', '/bin/sleep'].find((p) => spawnSync(p, ['0']).status === 0);
const hasPython = spawnSync('python3', ['-c', 'import yaml, os; os.pidfd_open']).status === 0;

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

let dir: string;
let server: Server;
let port = 0;
let seen: Seen[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgha-pmwatch-'));
  writeFileSync(join(dir, 'watch.py'), POSTMASTER_WATCH);
  if (SLEEP) copyFileSync(SLEEP, join(dir, 'postgres'));
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  port = typeof a === 'object' && a ? a.port : 0;
});

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  seen = [];
});

afterAll(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A data directory whose postmaster.pid names `pid`, and a Patroni file pointing at the fake API. */
function setup(name: string, pid: number): string {
  const dataDir = join(dir, name);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'postmaster.pid'), `${pid}\n${dataDir}\n`);
  const conf = join(dir, `${name}.yml`);
  writeFileSync(
    conf,
    [
      'restapi:',
      `  connect_address: 127.0.0.1:${port}`,
      '  authentication:',
      '    username: patroni',
      '    password: "s3cret"',
      'postgresql:',
      `  data_dir: ${dataDir}`,
      '',
    ].join('\n'),
  );
  return conf;
}

function start(cmd: string, args: string[]): ChildProcess {
  const p = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PGHA_WATCH_POLL: '0.05', PGHA_WATCH_LEFTOVER_WAIT: '10' },
  });
  children.push(p);
  return p;
}

/** The watch on `conf`, and a check of what it logged (it names each postmaster it waits on). */
function startWatch(conf: string): () => string {
  let err = '';
  start('python3', [join(dir, 'watch.py'), conf]).stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return () => err;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await sleep(20);
  }
  return ok();
}

describe.skipIf(!hasPython || !SLEEP)('the postmaster watch script', () => {
  it('wakes Patroni once, at once, when the postmaster exits, and not before', async () => {
    const postmaster = start(join(dir, 'postgres'), ['60']);
    const conf = setup('crash', postmaster.pid!);
    const logged = startWatch(conf);
    // Under load python3 takes a while to start: wait for it to watch, not for a fixed time.
    expect(await until(() => logged().includes(`watching postmaster ${postmaster.pid}`), 10_000)).toBe(true);
    await sleep(300);
    expect(seen).toEqual([]);
    const killed = Date.now();
    postmaster.kill('SIGKILL');
    expect(await until(() => seen.length > 0, 3000)).toBe(true);
    expect(Date.now() - killed).toBeLessThan(1500);
    await sleep(300);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('PATCH');
    expect(seen[0]!.url).toBe('/config');
    expect(seen[0]!.auth).toBe(`Basic ${Buffer.from('patroni:s3cret').toString('base64')}`);
    // Removing a key the DCS configuration never has: Patroni's patch changes nothing, writes
    // nothing to the DCS, and only wakes its loop. A value here would change the configuration.
    expect(JSON.parse(seen[0]!.body)).toEqual({ pgha_postmaster_exited: null });
  });

  it('does not wake Patroni when the postmaster stops (its postmaster.pid removed first): only a crash does', async () => {
    const postmaster = start(join(dir, 'postgres'), ['60']);
    const conf = setup('stopped', postmaster.pid!);
    const logged = startWatch(conf);
    expect(await until(() => logged().includes(`watching postmaster ${postmaster.pid}`), 10_000)).toBe(true);
    // As PostgreSQL's proc_exit does in every shutdown mode: the lock file goes, then the process.
    rmSync(join(dir, 'stopped', 'postmaster.pid'));
    postmaster.kill('SIGTERM');
    expect(await until(() => logged().includes(`postmaster ${postmaster.pid} stopped (postmaster.pid removed)`), 5000)).toBe(true);
    await sleep(300);
    expect(seen).toEqual([]);
  });

  it('waits for the crashed postmaster’s leftover backends to exit before it wakes Patroni', async () => {
    const postmaster = start(join(dir, 'postgres'), ['60']);
    const backend = start(join(dir, 'postgres'), ['60']);
    const conf = setup('leftover', postmaster.pid!);
    const logged = startWatch(conf);
    expect(await until(() => logged().includes(`watching postmaster ${postmaster.pid}`), 10_000)).toBe(true);
    postmaster.kill('SIGKILL');
    await sleep(700);
    expect(seen).toEqual([]);
    backend.kill('SIGKILL');
    expect(await until(() => seen.length === 1, 3000)).toBe(true);
    expect(seen[0]!.url).toBe('/config');
  });

  it('ignores a stale postmaster.pid that names a process other than postgres', async () => {
    const other = start(SLEEP!, ['60']);
    const conf = setup('stale', other.pid!);
    const logged = startWatch(conf);
    await sleep(1000);
    other.kill('SIGKILL');
    await sleep(700);
    expect(seen).toEqual([]);
    expect(logged()).not.toContain('watching');
  });

  it('follows the next postmaster after a restart', async () => {
    const first = start(join(dir, 'postgres'), ['60']);
    const conf = setup('restart', first.pid!);
    const logged = startWatch(conf);
    expect(await until(() => logged().includes(`watching postmaster ${first.pid}`), 10_000)).toBe(true);
    first.kill('SIGKILL');
    expect(await until(() => seen.length === 1, 3000)).toBe(true);
    const second = start(join(dir, 'postgres'), ['60']);
    writeFileSync(join(dir, 'restart', 'postmaster.pid'), `${second.pid}\n`);
    expect(await until(() => logged().includes(`watching postmaster ${second.pid}`), 10_000)).toBe(true);
    expect(seen).toHaveLength(1);
    second.kill('SIGKILL');
    expect(await until(() => seen.length === 2, 3000)).toBe(true);
  });
});

describe('the postmaster watch on a data node', () => {
  const cluster = loadExample('m1-haproxy-nspawn');
  const pg1 = cluster.hosts.find((h) => h.name === 'pg1')!;

  it('is a unit of the Patroni component, after Patroni itself (which deploy and upgrade treat as the member)', () => {
    expect(patroni.units(cluster, pg1)).toEqual([`patroni@${cluster.name}.service`, POSTMASTER_WATCH_UNIT]);
  });

  it("runs as postgres on Patroni's own configuration file", () => {
    const unit = postmasterWatchUnit(cluster);
    expect(unit).toContain('User=postgres');
    expect(unit).toContain(`ExecStart=/usr/bin/python3 ${POSTMASTER_WATCH_SCRIPT} /etc/patroni/${cluster.name}.yml`);
    expect(postmasterWatchFiles(cluster).map((f) => f.path)).toEqual([
      POSTMASTER_WATCH_SCRIPT,
      `/etc/systemd/system/${POSTMASTER_WATCH_UNIT}`,
    ]);
  });

  it("restarts only for its own files; Patroni's file reloads Patroni alone", () => {
    expect(patroni.reactions(cluster, POSTMASTER_WATCH_SCRIPT)).toEqual([{ unit: POSTMASTER_WATCH_UNIT, how: 'restart' }]);
    expect(patroni.reactions(cluster, `/etc/systemd/system/${POSTMASTER_WATCH_UNIT}`)).toEqual([
      { unit: POSTMASTER_WATCH_UNIT, how: 'restart' },
    ]);
    expect(patroni.reactions(cluster, `/etc/patroni/${cluster.name}.yml`)).toEqual([
      { unit: `patroni@${cluster.name}.service`, how: 'reload' },
    ]);
  });
});
