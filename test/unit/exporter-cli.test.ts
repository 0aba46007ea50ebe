/**
 * `pgha exporter` as an operator runs it: the built binary (`npm run build` first), its options
 * from flags and environment, bad input exit 2 without a stack trace, a clean stop on SIGTERM,
 * and its /metrics page accepted by Prometheus' own checker, `promtool check metrics` (Debian's
 * `prometheus` package, which .ci/run installs). Under CI a missing promtool
 * fails that test; elsewhere it is skipped.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { judgeAnswer, type Scrape } from '../../src/app/exporter/answer.js';
import { clusterCollection } from '../../src/app/exporter/cluster-page.js';
import { fakePatroni, recorded, type FakePatroni, type RecordedVersion } from './exporter-fake-patroni.js';
import { parseExposition, sampleOf } from './exporter-text.js';

const BIN = resolve(import.meta.dirname, '../../bin/pgha.js');
const built = existsSync(resolve(import.meta.dirname, '../../dist/bundle/main.js'));

/** The environment without any PATRONI_EXPORTER_* of the machine running the tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PATRONI_EXPORTER_')));
  return { ...env, ...extra };
}

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, 'exporter', ...args], { encoding: 'utf8', env: cleanEnv(env), timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Started {
  child: ChildProcessWithoutNullStreams;
  /** host:port from the exporter's "listening on" line. */
  address: string;
  stderr: () => string;
}

const children: ChildProcessWithoutNullStreams[] = [];
const fakes: FakePatroni[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const f of fakes.splice(0)) await f.close();
});

function startCli(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'exporter', ...args], { env: cleanEnv(env) });
  children.push(child);
  let err = '';
  return new Promise((resolvePromise, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (\S+), scraping/.exec(err);
      if (m) resolvePromise({ child, address: m[1]!, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (code) => r(code))));
}

async function fake(name: string, version: RecordedVersion = '3.0.2'): Promise<FakePatroni> {
  const f = await fakePatroni(recorded(name, version));
  fakes.push(f);
  return f;
}

describe.skipIf(!built)('pgha exporter, the built binary (run `npm run build` first)', () => {
  it('--help lists patroni-exporter’s options with their variables', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const o of ['--port', '--bind', '--patroni-url', '--timeout', '--debug', '--address-family', '--requests-verify'])
      expect(r.stdout).toContain(o);
    for (const v of ['PATRONI_EXPORTER_PORT', 'PATRONI_EXPORTER_URL', 'PATRONI_EXPORTER_REQUEST_VERIFY']) expect(r.stdout).toContain(v);
  });

  it.each([
    ['an unknown flag', ['--cluster-of-clusters'], {}, /unknown option '--cluster-of-clusters'/],
    ['a bad port', ['-p', '99999'], {}, /-p\/--port: "99999" is not a port\n {2}fix: give a port number/],
    ['a bad port variable', [], { PATRONI_EXPORTER_PORT: 'abc' }, /PATRONI_EXPORTER_PORT: "abc" is not a port/],
    [
      'a URL without scheme',
      ['-u', '10.0.0.1:8008/patroni'],
      {},
      /-u\/--patroni-url: "10\.0\.0\.1:8008\/patroni" is not a URL\n {2}fix: give the full URL/,
    ],
    ['a bad family', ['-a', 'ipx'], {}, /-a\/--address-family: "ipx" is not an address family/],
    ['a bad debug variable', [], { PATRONI_EXPORTER_DEBUG: 'sometimes' }, /PATRONI_EXPORTER_DEBUG: "sometimes" is not a boolean/],
    [
      'a missing CA bundle',
      ['--requests-verify', '/nonexistent/ca.crt'],
      {},
      /--requests-verify: cannot read the CA bundle \/nonexistent\/ca\.crt: ENOENT/,
    ],
  ] as [string, string[], Record<string, string>, RegExp][])('%s: exit 2 with the flag or variable named', (_name, args, env, message) => {
    // Listening on a free port of loopback, should a case ever get that far.
    const r = run(args, { PATRONI_EXPORTER_PORT: '0', PATRONI_EXPORTER_BIND: '127.0.0.1', ...env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a port already taken: exit 2 naming the port and the fix', async () => {
    const p = await fake('get-patroni.leader');
    const first = await startCli(['-b', '127.0.0.1', '-p', '0', '-u', p.url]);
    const port = first.address.split(':').pop()!;
    const r = run(['-b', '127.0.0.1', '-p', port, '-u', p.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE\\n {2}fix: .*-p/--port`));
  });

  it('reads its options from the environment, flags winning; stops with exit 0 on SIGTERM', async () => {
    const p = await fake('get-patroni.leader');
    const e = await startCli(['-b', '127.0.0.1', '-u', p.url], {
      PATRONI_EXPORTER_PORT: '0',
      PATRONI_EXPORTER_BIND: '192.0.2.1',
      PATRONI_EXPORTER_URL: 'this is not read',
      PATRONI_EXPORTER_DEBUG: 'true',
    });
    expect(e.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const page = parseExposition(await (await fetch(`http://${e.address}/metrics`)).text());
    expect(sampleOf(page, 'patroni_exporter_scrape_success')?.value).toBe(1);
    expect(e.stderr()).toMatch(/scrape ok in/);
    e.child.kill('SIGTERM');
    expect(await exitOf(e.child)).toBe(0);
  });

  it('ipv6 on :: listens on both families', async () => {
    const p = await fake('get-patroni.replica');
    const e = await startCli(['-a', 'ipv6', '-b', '::', '-p', '0', '-u', p.url]);
    const port = e.address.split(':').pop()!;
    expect(e.address).toMatch(/^\[::\]:\d+$/);
    // /metrics scrapes; /health then answers from that scrape (the one at start may still run).
    const page = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(sampleOf(page, 'patroni_exporter_scrape_success')?.value).toBe(1);
    expect((await fetch(`http://[::1]:${port}/health`)).status).toBe(200);
  });
});

function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}

const inCi = process.env.CI === 'true';

describe.skipIf(!built || (!inCi && !hasPromtool()))('promtool check metrics', () => {
  it('accepts /metrics for the leader, a replica answering 503, and a failed scrape (3.0.2 and 4.0.7)', async () => {
    // Under CI a missing promtool is a missing prerequisite, not a reason to skip.
    expect(hasPromtool(), 'promtool is missing: .ci/run installs Debian’s prometheus package (apt-get install prometheus)').toBe(true);
    const answers = ['get-patroni.leader', 'get-primary.replica', 'get-patroni.reinitializing'].flatMap((name) =>
      (['3.0.2', '4.0.7'] as const).map((version) => ({ name, version })),
    );
    for (const { name, version } of answers) {
      const p = await fake(name, version);
      const e = await startCli(['-b', '127.0.0.1', '-p', '0', '-u', p.url]);
      const text = await (await fetch(`http://${e.address}/metrics`)).text();
      await p.close();
      fakes.splice(fakes.indexOf(p), 1);
      const failed = await (await fetch(`http://${e.address}/metrics`)).text();
      for (const [label, page] of [
        [`${name} ${version}`, text],
        [`${name} ${version} (Patroni down)`, failed],
      ] as const) {
        const r = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
        expect(`${label}: ${r.status} ${r.stdout}${r.stderr}`).toBe(`${label}: 0 `);
      }
    }
  });

  it('accepts the cluster page of --cluster (families merged across members)', () => {
    expect(hasPromtool(), 'promtool is missing: .ci/run installs Debian’s prometheus package (apt-get install prometheus)').toBe(true);
    const scrape = (name: string): Scrape => {
      const r = recorded(name);
      const j = judgeAnswer(r.status, r.text);
      return j.ok ? { ...j, durationSeconds: 0.01 } : { ...j, durationSeconds: 0.01 };
    };
    const page = clusterCollection(
      'e2estat',
      [
        { member: 'pg1', scrape: scrape('get-patroni.leader') },
        { member: 'pg2', scrape: scrape('get-primary.replica') },
        { member: 'pg3', scrape: { ok: false, reason: 'connection refused', durationSeconds: 0.001 } },
      ],
      0.02,
    ).page;
    const r = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
    expect(`${r.status} ${r.stdout}${r.stderr}`).toBe('0 ');
  });
});
