/**
 * Config warnings reach the operator from every command that reads config.yml, not only from
 * `render`: a typo'd variable is named (with "did you mean") on stderr, once, before the command
 * goes on. Run through the BUILT binary like cli.test.ts. The cluster lives on 10.250.7.0/24 and
 * test/fixtures/bad-input/no-connect.cjs is preloaded, so the commands that do reach for hosts
 * (deploy --check, status, test) are refused at their first connection: nothing leaves loopback.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from './tempdirs.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'pgha.js');
const PRELOAD = join(ROOT, 'test', 'fixtures', 'bad-input', 'no-connect.cjs');
const built = existsSync(join(ROOT, 'dist', 'cli', 'main.js'));
const tempDir = tempDirs();

const WARNING =
  /^warning: config\.yml:\d+: cluster_vars\.patroni_lisen_port: unknown variable, pgha ignores it; did you mean "patroni_listen_port"\?$/m;

let dir = '';
let connectLog = '';

function pgha(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: `--require ${PRELOAD}`, PGHA_CONNECT_LOG: connectLog, CI: '1' },
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The warning, exactly once. */
function warnedOnce(stderr: string): void {
  expect(stderr).toMatch(WARNING);
  expect(stderr.match(new RegExp(WARNING.source, 'gm'))).toHaveLength(1);
}

describe.skipIf(!built)('config warnings from every command (run `npm run build` first)', () => {
  beforeAll(() => {
    const root = tempDir('pgha-warn-');
    dir = join(root, 'warn');
    connectLog = join(root, 'connect.log');
    const r = pgha('configure', dir, '-a', 'M1', '--enable-patroni', '--enable-haproxy', '--subnet', '10.250.7.0/24');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const path = join(dir, 'config.yml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('cluster_vars:\n', 'cluster_vars:\n  patroni_lisen_port: 8009\n'));
  });

  it('explain prints the warning and still answers', () => {
    const r = pgha('explain', dir, 'pg1', 'patroni_listen_port');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('pg1: patroni_listen_port = 8008\nset by: builtin\n');
    warnedOnce(r.stderr);
  });

  it('render prints it, as before', () => {
    const r = pgha('render', dir, '--host', 'pg1', '--file', 'patroni.yml');
    expect(r.code).toBe(0);
    warnedOnce(r.stderr);
  });

  it('deploy --check prints it before reaching for any host', () => {
    const r = pgha('deploy', dir, '--check');
    warnedOnce(r.stderr);
    // No host key was ever pinned (no provision), so deploy refuses before connecting …
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refusing to connect; nothing was changed/);
    // … and the warning came first.
    expect(r.stderr.search(WARNING)).toBe(0);
  });

  it('status and test print it, from a fresh read and from the status cache', () => {
    for (const args of [
      ['status', dir],
      ['status', dir],
      ['test', dir],
    ]) {
      const r = pgha(...args);
      warnedOnce(r.stderr);
      expect(r.stderr.search(WARNING)).toBe(0);
    }
    expect(existsSync(join(dir, '.status-cache.json'))).toBe(true);
  });

  it('no connection left loopback', () => {
    const attempts = existsSync(connectLog) ? readFileSync(connectLog, 'utf8').trim().split('\n') : [];
    // Every attempt was to the cluster's own (unrouted) subnet, and the preload refused it.
    for (const a of attempts) expect(a).toMatch(/ 10\.250\.7\.\d+:\d+$/);
  });
});
