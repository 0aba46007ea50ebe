/**
 * `pgha exporter` end to end in one process: runExporter against a fake Patroni member on
 * 127.0.0.1 (plain HTTP, and HTTPS with a throwaway cluster CA), asked over HTTP as Prometheus
 * and a health checker would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runExporter } from '../../src/app/exporter/index.js';
import type { ExporterFlags } from '../../src/app/exporter/options.js';
import { issueCa, issueNodeCert } from '../../src/pki/certs.js';
import { fakePatroni, recorded, type FakePatroni } from './exporter-fake-patroni.js';
import { parseExposition, sampleOf } from './exporter-text.js';
import { tempDirs } from './tempdirs.js';

const tmp = tempDirs();

interface Running {
  base: string;
  log: () => string;
  stop: () => Promise<number>;
}

/** Starts the exporter on a free port of 127.0.0.1 and waits until it listens. */
async function start(flags: ExporterFlags, env: Record<string, string> = {}): Promise<Running> {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString()));
  let stop!: (why: string) => void;
  const stopped = new Promise<string>((r) => (stop = r));
  const done = runExporter({ port: '0', bind: '127.0.0.1', ...flags }, { env, stderr, stopped });
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 5);
    done.catch((e: unknown) => {
      clearInterval(timer);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
  // The scrape at start is part of starting: wait until /health reports it.
  for (let i = 0; i < 200; i++) {
    const h = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { status: string };
    if (h.status !== 'unknown') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    base: `http://127.0.0.1:${port}`,
    log: () => text,
    stop: async () => {
      stop('test');
      return done;
    },
  };
}

const running: Running[] = [];
const fakes: FakePatroni[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
  for (const f of fakes.splice(0)) await f.close();
});

async function exporterFor(flags: ExporterFlags, env: Record<string, string> = {}): Promise<Running> {
  const r = await start(flags, env);
  running.push(r);
  return r;
}

async function fake(...args: Parameters<typeof fakePatroni>): Promise<FakePatroni> {
  const f = await fakePatroni(...args);
  fakes.push(f);
  return f;
}

describe('pgha exporter over plain HTTP', () => {
  it('serves the leader: text format 0.0.4, role and scrape success', async () => {
    const p = await fake(recorded('get-patroni.leader'));
    const e = await exporterFor({ patroniUrl: p.url });
    const res = await fetch(`${e.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const page = parseExposition(await res.text());
    expect(sampleOf(page, 'patroni_patroni_info')?.labels).toMatchObject({ scope: 'e2estat', member: '127.0.0.1', role: 'master' });
    expect(sampleOf(page, 'patroni_exporter_scrape_success')?.value).toBe(1);
    expect(sampleOf(page, 'patroni_exporter_scrape_duration_seconds')?.value).toBeGreaterThan(0);
    const health = await fetch(`${e.base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', role: 'master', state: 'running' });
  });

  it('a replica answering 503 with its status is healthy and exported as a replica', async () => {
    const p = await fake(recorded('get-primary.replica'));
    expect(p.answer.status).toBe(503);
    const e = await exporterFor({ patroniUrl: p.url });
    const page = parseExposition(await (await fetch(`${e.base}/metrics`)).text());
    expect(sampleOf(page, 'patroni_patroni_info')?.labels.role).toBe('replica');
    expect(sampleOf(page, 'patroni_exporter_scrape_success')?.value).toBe(1);
    expect((await fetch(`${e.base}/health`)).status).toBe(200);
  });

  it('scrapes on every /metrics request; /health answers from the last scrape without scraping', async () => {
    const p = await fake(recorded('get-patroni.leader'));
    const e = await exporterFor({ patroniUrl: p.url });
    const atStart = p.requests.length;
    expect(atStart).toBe(1);
    await fetch(`${e.base}/metrics`);
    await fetch(`${e.base}/metrics`);
    await fetch(`${e.base}/health`);
    expect(p.requests.length).toBe(3);
    expect(p.requests.every((r) => r.path === '/patroni')).toBe(true);
  });

  it('Patroni down: scrape_success 0, /health 503 with the reason, then 200 again once it answers', async () => {
    const p = await fake(recorded('get-patroni.leader'));
    const e = await exporterFor({ patroniUrl: p.url });
    await p.close();
    fakes.splice(fakes.indexOf(p), 1);
    const page = parseExposition(await (await fetch(`${e.base}/metrics`)).text());
    expect(sampleOf(page, 'patroni_exporter_scrape_success')?.value).toBe(0);
    expect(page.samples.some((s) => s.name === 'patroni_patroni_info')).toBe(false);
    const health = await fetch(`${e.base}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'failing', reason: expect.stringMatching(/connection refused/) });
    expect(e.log()).toMatch(/scrape failed: connection refused/);
  });

  it('down at start is a failing /health, not a failed start', async () => {
    const p = await fake(recorded('get-patroni.leader'));
    const url = p.url;
    await p.close();
    fakes.splice(fakes.indexOf(p), 1);
    const e = await exporterFor({ patroniUrl: url });
    const health = await fetch(`${e.base}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { reason: string }).reason).toMatch(/connection refused/);
  });

  it('an answer that is not Patroni is a failed scrape with its HTTP status', async () => {
    const p = await fake({ status: 404, text: 'not here' });
    const e = await exporterFor({ patroniUrl: p.url });
    await fetch(`${e.base}/metrics`);
    const health = await fetch(`${e.base}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'failing', reason: 'HTTP 404' });
  });

  it('times out by --timeout', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const e = await exporterFor({ patroniUrl: `http://127.0.0.1:${port}/patroni`, timeout: '0.3' });
      const page = parseExposition(await (await fetch(`${e.base}/metrics`)).text());
      expect(Date.now() - started).toBeLessThan(3000);
      expect(sampleOf(page, 'patroni_exporter_scrape_success')?.value).toBe(0);
      expect(((await (await fetch(`${e.base}/health`)).json()) as { reason: string }).reason).toBe('no answer within 0.3 s');
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('credentials in the URL are sent, never logged or exported', async () => {
    const p = await fake(recorded('get-patroni.leader'));
    const withCreds = p.url.replace('://', '://patroni:s3cr%40t@');
    const e = await exporterFor({ patroniUrl: withCreds, debug: true });
    const text = await (await fetch(`${e.base}/metrics`)).text();
    expect(p.requests[0]!.authorization).toBe(`Basic ${Buffer.from('patroni:s3cr@t').toString('base64')}`);
    expect(text).not.toMatch(/s3cr/);
    expect(e.log()).not.toMatch(/s3cr/);
    expect(e.log()).toMatch(/scraping http:\/\/\*\*\*@127\.0\.0\.1/);
  });

  it('other paths are 404, other methods 405', async () => {
    const p = await fake(recorded('get-patroni.leader'));
    const e = await exporterFor({ patroniUrl: p.url });
    expect((await fetch(`${e.base}/`)).status).toBe(404);
    expect((await fetch(`${e.base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('stops cleanly (exit 0) with a scraper connection still open', async () => {
    const p = await fake(recorded('get-patroni.leader'));
    const e = await start({ patroniUrl: p.url });
    await fetch(`${e.base}/metrics`);
    expect(await e.stop()).toBe(0);
  });
});

describe('pgha exporter over HTTPS (--requests-verify)', () => {
  const now = new Date();
  const ca = issueCa({ clusterName: 'exp', now });
  const pg1 = issueNodeCert({ ca, host: { name: 'pg1', ip: '127.0.0.1' }, now });
  const other = issueCa({ clusterName: 'other', now });
  const dir = tmp('pgha-exporter-tls-');
  const caFile = join(dir, 'ca.crt');
  const otherFile = join(dir, 'other.crt');
  writeFileSync(caFile, ca.certPem);
  writeFileSync(otherFile, other.certPem);

  async function scrapeWith(requestsVerify: string): Promise<{ success: number | undefined; health: { status: number; body: unknown } }> {
    const p = await fake(recorded('get-patroni.replica'), pg1);
    const e = await exporterFor({ patroniUrl: p.url, requestsVerify });
    const page = parseExposition(await (await fetch(`${e.base}/metrics`)).text());
    const h = await fetch(`${e.base}/health`);
    return { success: sampleOf(page, 'patroni_exporter_scrape_success')?.value, health: { status: h.status, body: await h.json() } };
  }

  it('verifies the member with the cluster CA given as PATH', async () => {
    const r = await scrapeWith(caFile);
    expect(r.success).toBe(1);
    expect(r.health.status).toBe(200);
  });

  it('refuses a member the given CA did not sign: failing scrape, the reason names the fix', async () => {
    const r = await scrapeWith(otherFile);
    expect(r.success).toBe(0);
    expect(r.health).toEqual({
      status: 503,
      body: { status: 'failing', reason: expect.stringMatching(/TLS verification failed.*--requests-verify PATH/) },
    });
  });

  it('true verifies against the system CAs, which do not know a cluster CA', async () => {
    const r = await scrapeWith('true');
    expect(r.success).toBe(0);
    expect(r.health.status).toBe(503);
  });

  it('false skips verification, only when the operator says so, and says it in the log', async () => {
    const p = await fake(recorded('get-patroni.replica'), pg1);
    const e = await exporterFor({ patroniUrl: p.url }, { PATRONI_EXPORTER_REQUEST_VERIFY: 'false' });
    expect((await fetch(`${e.base}/health`)).status).toBe(200);
    expect(e.log()).toMatch(/TLS verification is off/);
  });

  it('a CA bundle that is missing or not PEM is a usage error (exit 2) before listening', async () => {
    await expect(start({ requestsVerify: join(dir, 'missing.crt') })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/cannot read the CA bundle .*missing\.crt: ENOENT/),
    });
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    await expect(start({ requestsVerify: notPem })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/holds no PEM certificate/),
    });
  });
});
