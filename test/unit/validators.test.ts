/**
 * The real validators on what pgha renders: Debian's `patroni --validate-config` and
 * `haproxy -c -f`. Missing binaries skip the test, except where PGHA_E2E=1 or CI is set (CI
 * installs patroni, haproxy and postgresql-15, whose bin_dir Patroni's validator checks).
 *
 * Only machine-specific facts are rewritten before validating: Patroni's validator refuses a
 * listen address whose port already answers and an etcd host that does not answer, so listen
 * addresses move to free loopback ports and etcd3.hosts to a local TCP listener; certificate
 * paths point at real PEM files in a temporary directory because HAProxy loads them.
 */
import { EMPTY_SERVER_STATE, HAPROXY_SERVER_STATE_FILE } from '../../src/components/haproxy/server-state.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { HAPROXY_SSL_DIR } from '../../src/components/paths.js';
import type { DesiredFile } from '../../src/model/types.js';
import { renderCluster } from '../../src/render/index.js';
import { exampleNames, fakeInputs, loadExample } from '../golden/inputs.js';

const STRICT = process.env.PGHA_E2E === '1' || Boolean(process.env.CI);

function which(bin: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** it() when the binaries are there; a failure in strict mode; a skip otherwise. */
function withBinary(...bins: string[]): typeof it | typeof it.skip {
  const missing = bins.filter((b) => !which(b));
  if (missing.length === 0) return it;
  if (STRICT) {
    return ((name: string) =>
      it(name, () => {
        throw new Error(
          `${missing.join(', ')} not installed (apt-get install ${missing.join(' ')}); PGHA_E2E/CI require the real validators`,
        );
      })) as unknown as typeof it;
  }
  return it.skip;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

let dir: string;
let etcdStandIn: Server;
let etcdPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgha-validators-'));
  etcdStandIn = createServer((sock) => sock.destroy());
  await new Promise<void>((resolve) => etcdStandIn.listen(0, '127.0.0.1', resolve));
  const addr = etcdStandIn.address();
  etcdPort = typeof addr === 'object' && addr ? addr.port : 0;
  if (which('openssl')) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=pgha-test',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'ca.crt'),
      ],
      { stdio: 'ignore' },
    );
    execFileSync('sh', ['-c', `cat "${dir}/ca.crt" "${dir}/key.pem" > "${dir}/haproxy.pem"`]);
    // The stats listener's own certificate and key (HAPROXY_NODE_PEM).
    execFileSync('sh', ['-c', `cp "${dir}/haproxy.pem" "${dir}/node.pem"`]);
  }
});

afterAll(() => {
  etcdStandIn?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function renderedFile(example: string, match: (f: DesiredFile) => boolean): { host: string; file: DesiredFile }[] {
  const cluster = loadExample(example);
  const out: { host: string; file: DesiredFile }[] = [];
  for (const [host, files] of renderCluster(cluster, fakeInputs(cluster))) {
    for (const f of files) if (match(f)) out.push({ host, file: f });
  }
  return out;
}

/** A PostgreSQL bin directory this machine has, if any. */
function installedPgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  return readdirSync(root)
    .map((v) => join(root, v, 'bin'))
    .find((d) => existsSync(d));
}

describe('patroni --validate-config', () => {
  for (const example of exampleNames()) {
    withBinary('patroni')(`${example}: every data node's Patroni file is valid`, async () => {
      const files = renderedFile(example, (f) => /^\/etc\/patroni\/[^/]+\.yml$/.test(f.path));
      expect(files.length).toBeGreaterThan(0);
      for (const { host, file } of files) {
        const doc = parse(file.content) as Record<string, Record<string, unknown>>;
        doc.restapi!.listen = `127.0.0.1:${await freePort()}`;
        doc.postgresql!.listen = `127.0.0.1:${await freePort()}`;
        doc.postgresql!.data_dir = join(dir, `${example}-${host}-data`);
        // The validator checks that bin_dir exists: an example of the other Debian release names
        // a PostgreSQL major this machine may lack, so point it at one that is installed.
        if (!existsSync(String(doc.postgresql!.bin_dir))) doc.postgresql!.bin_dir = installedPgBin() ?? doc.postgresql!.bin_dir;
        doc.etcd3!.hosts = [`127.0.0.1:${etcdPort}`];
        const path = join(dir, `${example}-${host}.yml`);
        writeFileSync(path, stringify(doc, { version: '1.1' }), { mode: 0o600 });
        const r = spawnSync('patroni', ['--validate-config', path], { encoding: 'utf8', timeout: 60_000 });
        expect({ host, status: r.status, stderr: r.stderr.trim(), stdout: r.stdout.trim() }).toEqual({
          host,
          status: 0,
          stderr: '',
          stdout: '',
        });
      }
    });
  }
});

describe('haproxy -c', () => {
  for (const example of exampleNames()) {
    const files = renderedFile(example, (f) => f.path === '/etc/haproxy/haproxy.cfg');
    if (files.length === 0) continue;
    withBinary('haproxy', 'openssl')(`${example}: haproxy.cfg is valid`, () => {
      for (const { host, file } of files) {
        const path = join(dir, `${example}-${host}-haproxy.cfg`);
        // The state file HAProxy's unit creates before its first start (server-state.ts).
        const state = join(dir, `${example}-${host}-server-state`);
        writeFileSync(state, EMPTY_SERVER_STATE);
        writeFileSync(path, file.content.split(`${HAPROXY_SSL_DIR}/`).join(`${dir}/`).split(HAPROXY_SERVER_STATE_FILE).join(state));
        const r = spawnSync('haproxy', ['-c', '-f', path], { encoding: 'utf8', timeout: 60_000 });
        expect({ host, status: r.status, output: `${r.stdout}${r.stderr}` }).toMatchObject({ host, status: 0 });
        expect(`${r.stdout}${r.stderr}`).not.toMatch(/\[(WARNING|ALERT)\]/);
      }
    });
  }
});
