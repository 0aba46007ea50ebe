/**
 * `pgha exporter --cluster DIR`: every data node's /patroni and every etcd member through the
 * cluster's CA with pgha's client certificate, as one page.
 * The pure merge (src/app/exporter/cluster-page.ts), then the whole mode against fake members on
 * loopback addresses with certificates of a throwaway cluster CA: pg1 the leader, pg2 a replica
 * answering 503 with its status, pg3 with nothing listening.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { judgeAnswer, type Scrape } from '../../src/app/exporter/answer.js';
import { clusterCollection } from '../../src/app/exporter/cluster-page.js';
import { runExporter } from '../../src/app/exporter/index.js';
import { statusCacheKey, writeStatusCache } from '../../src/app/status-config-cache.js';
import { resolveCluster } from '../../src/model/resolve.js';
import type { ClusterConfig } from '../../src/model/types.js';
import { issueCa, issueClientCert, issueNodeCert } from '../../src/pki/certs.js';
import { recorded } from './exporter-fake-patroni.js';
import { parseExposition, sampleOf } from './exporter-text.js';
import { tempDirs } from './tempdirs.js';

const tmp = tempDirs();

function scrapeOf(name: string): Scrape {
  const r = recorded(name);
  const j = judgeAnswer(r.status, r.text);
  return j.ok ? { ...j, durationSeconds: 0.01 } : { ...j, durationSeconds: 0.01 };
}

describe('clusterCollection', () => {
  const c = clusterCollection(
    'e2estat',
    [
      { member: 'pg1', scrape: scrapeOf('get-patroni.leader') },
      { member: 'pg2', scrape: scrapeOf('get-primary.replica') },
      { member: 'pg3', scrape: { ok: false, reason: 'connection refused', durationSeconds: 0.002 } },
    ],
    0.03,
  );
  const page = parseExposition(c.page);

  it('declares each family once, with every member’s samples under it', () => {
    const roles = page.samples.filter((s) => s.name === 'patroni_patroni_info').map((s) => [s.labels.member, s.labels.role]);
    expect(roles).toEqual([
      ['pg1', 'master'],
      ['pg2', 'replica'],
    ]);
  });

  it('scrape success per member, labelled with scope and member', () => {
    expect(sampleOf(page, 'patroni_exporter_scrape_success', { member: 'pg1' })).toMatchObject({ labels: { scope: 'e2estat' }, value: 1 });
    expect(sampleOf(page, 'patroni_exporter_scrape_success', { member: 'pg2' })?.value).toBe(1);
    expect(sampleOf(page, 'patroni_exporter_scrape_success', { member: 'pg3' })?.value).toBe(0);
    expect(sampleOf(page, 'patroni_exporter_scrape_duration_seconds', { member: 'pg3' })?.value).toBe(0.002);
  });

  it('/health fails naming each member that did not answer', () => {
    expect(c.failure).toBe('pg3: connection refused');
    expect(clusterCollection('x', [{ member: 'pg1', scrape: scrapeOf('get-patroni.leader') }], 0).failure).toBeUndefined();
  });
});

describe('pgha exporter --cluster DIR', () => {
  const IPS = { pg1: '127.0.0.1', pg2: '127.0.0.2', pg3: '127.0.0.3' };
  const servers: Server[] = [];
  let dir = '';

  beforeAll(async () => {
    dir = join(tmp('pgha-exporter-cluster-'), 'e2estat');
    const now = new Date();
    const ca = issueCa({ clusterName: 'e2estat', now });
    mkdirSync(join(dir, 'ssl'), { recursive: true });
    writeFileSync(join(dir, 'ssl', 'ca.crt'), ca.certPem);
    // pgha's client certificate, which the members here demand (as etcd without RBAC does).
    const pgha = issueClientCert({ ca, commonName: 'pgha', now });
    mkdirSync(join(dir, 'ssl', 'clients'), { recursive: true });
    writeFileSync(join(dir, 'ssl', 'clients', 'pgha.crt'), pgha.certPem);
    writeFileSync(join(dir, 'ssl', 'clients', 'pgha.key'), pgha.keyPem, { mode: 0o600 });
    const answers = { pg1: recorded('get-patroni.leader'), pg2: recorded('get-primary.replica') };
    const etcd = {
      '/health': { status: 200, text: '{"health":"true","reason":""}' },
      '/metrics': { status: 200, text: 'etcd_server_has_leader 1\netcd_server_is_leader 0\n' },
    } as Record<string, { status: number; text: string }>;
    let port = 0;
    for (const name of ['pg1', 'pg2'] as const) {
      const cert = issueNodeCert({ ca, host: { name, ip: IPS[name] }, now });
      const s = createServer(
        { key: cert.keyPem, cert: cert.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
        (req, res) => {
          // One port stands in for the member's REST API and its etcd client port.
          const a = req.url === '/patroni' ? answers[name] : (etcd[req.url ?? ''] ?? { status: 404, text: '' });
          res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.text);
        },
      );
      servers.push(s);
      port = await new Promise<number>((r) => s.listen(port, IPS[name], () => r((s.address() as AddressInfo).port)));
    }
    // Loopback stand-ins for the hosts, seeded into the status cache as `pgha status` would have
    // left it (test/unit/status-read.test.ts does the same).
    const inst = (Name: keyof typeof IPS, node: number, role: string[]) => ({ Name, node, location: 'main', role, ip_address: IPS[Name] });
    const standIn = {
      architecture: 'M1',
      cluster_name: 'e2estat',
      cluster_vars: { patroni_ssl_enabled: true, patroni_listen_port: port, etcd_ssl_enabled: true, etcd_client_port: port },
      locations: [{ Name: 'main' }],
      instance_defaults: { platform: 'bare', vars: {} },
      instances: [inst('pg1', 1, ['primary', 'etcd']), inst('pg2', 2, ['replica', 'etcd']), inst('pg3', 3, ['replica', 'etcd'])],
    } as unknown as ClusterConfig;
    const text = stringify(standIn);
    writeFileSync(join(dir, 'config.yml'), text);
    writeStatusCache(dir, statusCacheKey(text), { cluster: resolveCluster(standIn), warnings: [] });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  it('serves every data node through the cluster CA; a member down is its own 0 and /health names it', async () => {
    const stderr = new PassThrough();
    let log = '';
    stderr.on('data', (c: Buffer) => (log += c.toString()));
    let stop!: (why: string) => void;
    const stopped = new Promise<string>((r) => (stop = r));
    const done = runExporter({ cluster: dir, port: '0', bind: '127.0.0.1', timeout: '2' }, { env: {}, stderr, stopped });
    try {
      for (let i = 0; i < 500 && !/listening on/.test(log); i++) await new Promise((r) => setTimeout(r, 10));
      const base = `http://${/listening on (\S+),/.exec(log)![1]}`;
      expect(log).toMatch(/scraping cluster e2estat \(pg1, pg2, pg3\)/);
      const page = parseExposition(await (await fetch(`${base}/metrics`)).text());
      expect(sampleOf(page, 'patroni_patroni_info', { member: 'pg1' })?.labels.role).toBe('master');
      expect(sampleOf(page, 'patroni_patroni_info', { member: 'pg2' })?.labels.role).toBe('replica');
      expect(sampleOf(page, 'patroni_exporter_scrape_success', { member: 'pg2' })?.value).toBe(1);
      expect(sampleOf(page, 'patroni_exporter_scrape_success', { member: 'pg3' })?.value).toBe(0);
      // etcd too, as the monitoring host's exporter reads it, with pgha's client certificate.
      expect(sampleOf(page, 'pgha_etcd_healthy', { member: 'pg1' })?.value).toBe(1);
      expect(sampleOf(page, 'pgha_etcd_has_leader', { member: 'pg2' })?.value).toBe(1);
      expect(sampleOf(page, 'pgha_etcd_up', { member: 'pg3' })?.value).toBe(0);
      // The certificates of DIR/ssl, as their files are named.
      expect(
        sampleOf(page, 'pgha_certificate_file_expiry_timestamp_seconds', { name: 'ca.crt' })!.value - Date.now() / 1000,
      ).toBeGreaterThan(300 * 86_400);
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { reason: string }).reason).toMatch(/^pg3: Patroni REST API GET \/patroni failed/);
    } finally {
      stop('test');
      expect(await done).toBe(0);
    }
  });

  it('refuses -u or --requests-verify beside --cluster (exit 2)', async () => {
    const io = { env: {}, stderr: new PassThrough() };
    await expect(runExporter({ cluster: dir, patroniUrl: 'http://x/patroni' }, io)).rejects.toMatchObject({
      exitCode: 2,
      message: '-u/--patroni-url and --cluster exclude each other',
    });
    await expect(runExporter({ cluster: dir, requestsVerify: 'false' }, io)).rejects.toMatchObject({ exitCode: 2 });
  });
});
