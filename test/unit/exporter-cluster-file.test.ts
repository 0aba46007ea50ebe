/**
 * `pgha exporter --cluster-file FILE`, the monitoring host's mode: the file's parser, the pure
 * families read beside Patroni (etcd, HAProxy, certificates: src/app/exporter/cluster-extras.ts),
 * then the whole mode against fake members on loopback addresses that demand a client
 * certificate of a throwaway cluster CA (mtls), as Patroni, etcd and HAProxy's stats listener do.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveFamilies, backupFamilies } from '../../src/app/exporter/cluster-backups.js';
import { certificateFamilies, etcdFamilies, haproxyFamilies, pageValue } from '../../src/app/exporter/cluster-extras.js';
import { pgbouncerFamilies, pgbouncerTargets } from '../../src/app/exporter/cluster-pgbouncer.js';
import { parseClusterFile } from '../../src/app/exporter/cluster-file.js';
import { renderExposition } from '../../src/app/exporter/exposition.js';
import { runExporter } from '../../src/app/exporter/index.js';
import { issueCa, issueNodeCert } from '../../src/pki/certs.js';
import { recorded } from './exporter-fake-patroni.js';
import { parseExposition, sampleOf } from './exporter-text.js';
import { tempDirs } from './tempdirs.js';

const tmp = tempDirs();

const FILE = {
  scope: 'main',
  tls: { ca: '/etc/pgha-exporter/ssl/ca.crt', cert: '/etc/pgha-exporter/ssl/node.crt', key: '/etc/pgha-exporter/ssl/node.key' },
  patroni: [{ name: 'pg1', url: 'https://10.0.0.11:8008' }],
  etcd: [{ name: 'pg1', url: 'https://10.0.0.11:2379' }],
  haproxy: [{ name: 'proxy1', url: 'https://10.0.0.20:8404/stats;csv' }],
  certificates: [{ name: 'ca', path: '/etc/pgha-exporter/ssl/ca.crt' }],
};

describe('parseClusterFile', () => {
  const parse = (doc: unknown) => parseClusterFile('c.json', JSON.stringify(doc));
  const message = (doc: unknown) => {
    try {
      parse(doc);
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };

  it('reads what deploy writes', () => {
    const f = parse(FILE);
    expect(f.scope).toBe('main');
    expect(f.patroni.map((e) => [e.name, e.url.host])).toEqual([['pg1', '10.0.0.11:8008']]);
    expect(f.haproxy[0]!.url.pathname).toBe('/stats;csv');
    expect(f.tls.key).toBe('/etc/pgha-exporter/ssl/node.key');
  });

  it('takes a file with members and a CA only', () => {
    const f = parse({ scope: 'x', tls: { ca: '/ca' }, patroni: FILE.patroni });
    expect([f.etcd, f.haproxy, f.backups, f.archive, f.certificates, f.tls.cert]).toEqual([[], [], [], [], [], undefined]);
  });

  it('reads the repository and archiver endpoints where a repository exists', () => {
    const f = parse({
      ...FILE,
      backups: [{ name: 'backup1', url: 'https://10.0.0.30:9100/metrics' }],
      archive: [{ name: 'pg1', url: 'https://10.0.0.11:9187/metrics' }],
    });
    expect(f.backups.map((e) => [e.name, e.url.host, e.url.pathname])).toEqual([['backup1', '10.0.0.30:9100', '/metrics']]);
    expect(f.archive.map((e) => e.name)).toEqual(['pg1']);
    expect(message({ ...FILE, archive: [{ name: 'pg1', url: 'https://pg1:9187/metrics' }] })).toMatch(
      /archive\[0\]\.url must name the host by its address/,
    );
  });

  it('refuses what would be guessed at, naming the field', () => {
    expect(() => parseClusterFile('c.json', '{')).toThrow('--cluster-file: c.json: the file is not JSON');
    expect(message({ ...FILE, patroni: [] })).toMatch(/patroni names no member/);
    expect(message({ ...FILE, patroni: [{ name: 'pg1', url: 'https://pg1:8008' }] })).toMatch(
      /patroni\[0\]\.url must name the host by its address/,
    );
    expect(message({ ...FILE, etcd: [{ name: 'e', url: 'https://u:p@10.0.0.1:2379' }] })).toMatch(
      /etcd\[0\]\.url must not carry credentials/,
    );
    expect(message({ ...FILE, tls: { ca: '/ca', cert: '/c' } })).toMatch(/tls must name both cert and key/);
    expect(message({ ...FILE, scope: '' })).toMatch(/scope must be a non-empty string/);
  });
});

const ETCD_METRICS = `# HELP etcd_server_has_leader Whether or not a leader exists. 1 is existence, 0 is not.
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader 1
# HELP etcd_server_is_leader Whether or not this member is a leader. 1 if is, 0 otherwise.
# TYPE etcd_server_is_leader gauge
etcd_server_is_leader 0
etcd_server_leader_changes_seen_total 2
`;

const HAPROXY_CSV = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,addr
pgha_rw,FRONTEND,,,0,1,2000,3,0,0,0,0,0,,,,,OPEN,,,,,
pgha_rw,pg1,0,0,0,1,,3,0,0,,0,,0,0,0,0,UP,1,1,0,0,10.0.0.11:5432
pgha_rw,pg2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,3,10.0.0.12:5432
pgha_rw,BACKEND,0,0,0,1,200,3,0,0,0,0,,0,0,0,0,UP,1,1,0,,
pgha_ro,pg2,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,10.0.0.12:5432
`;

describe('the families beside Patroni', () => {
  it('etcd: up and healthy per member, leadership from its /metrics; a member down is 0 with no leader sample', () => {
    const page = parseExposition(
      renderExposition(
        etcdFamilies('main', [
          { member: 'pg1', health: { status: 200, text: '{"health":"true","reason":""}' }, metrics: { status: 200, text: ETCD_METRICS } },
          { member: 'pg2', health: { status: 503, text: '{"health":"false","reason":"RAFT NO LEADER"}' }, metrics: undefined },
          { member: 'pg3', health: undefined, metrics: undefined },
        ]),
      ),
    );
    expect(sampleOf(page, 'pgha_etcd_up', { member: 'pg1' })?.value).toBe(1);
    expect(sampleOf(page, 'pgha_etcd_healthy', { member: 'pg1' })?.value).toBe(1);
    expect(sampleOf(page, 'pgha_etcd_has_leader', { member: 'pg1' })?.value).toBe(1);
    expect(sampleOf(page, 'pgha_etcd_is_leader', { member: 'pg1' })?.value).toBe(0);
    expect(sampleOf(page, 'pgha_etcd_up', { member: 'pg2' })?.value).toBe(1);
    expect(sampleOf(page, 'pgha_etcd_healthy', { member: 'pg2' })?.value).toBe(0);
    expect(sampleOf(page, 'pgha_etcd_up', { member: 'pg3' })?.value).toBe(0);
    expect(sampleOf(page, 'pgha_etcd_is_leader', { member: 'pg3' })).toBeUndefined();
    expect(page.help.get('pgha_etcd_is_leader')).toMatch(/etcd_server_is_leader/);
  });

  it('pageValue reads a whole metric name only', () => {
    expect(pageValue('etcd_server_is_leader_x 5\netcd_server_is_leader 1\n', 'etcd_server_is_leader')).toBe(1);
    expect(pageValue('', 'etcd_server_is_leader')).toBeUndefined();
  });

  it('HAProxy: each backend server 1 when UP, the stats page itself up or 0', () => {
    const page = parseExposition(
      renderExposition(
        haproxyFamilies('main', [
          { host: 'proxy1', csv: { status: 200, text: HAPROXY_CSV } },
          { host: 'proxy2', csv: undefined },
        ]),
      ),
    );
    const servers = page.samples
      .filter((s) => s.name === 'pgha_haproxy_server_up')
      .map((s) => [s.labels.backend, s.labels.server, s.value]);
    expect(servers).toEqual([
      ['pgha_rw', 'pg1', 1],
      ['pgha_rw', 'pg2', 0],
      ['pgha_ro', 'pg2', 0],
    ]);
    expect(sampleOf(page, 'pgha_haproxy_up', { host: 'proxy1' })?.value).toBe(1);
    expect(sampleOf(page, 'pgha_haproxy_up', { host: 'proxy2' })?.value).toBe(0);
  });

  it('certificates: when each stops being valid; an unreadable one is readable 0 with no timestamp', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const ca = issueCa({ clusterName: 'main', now });
    const page = parseExposition(
      renderExposition(
        certificateFamilies('main', [
          { name: 'ca', pem: ca.certPem },
          { name: 'node', pem: undefined },
          { name: 'junk', pem: 'not a certificate' },
        ]),
      ),
    );
    const end = sampleOf(page, 'pgha_certificate_file_expiry_timestamp_seconds', { name: 'ca' })!.value;
    expect(end).toBe(new Date(new X509Certificate(ca.certPem).validTo).getTime() / 1000);
    expect(end - now.getTime() / 1000).toBeGreaterThan(300 * 86_400);
    expect(sampleOf(page, 'pgha_certificate_readable', { name: 'node' })?.value).toBe(0);
    expect(sampleOf(page, 'pgha_certificate_readable', { name: 'junk' })?.value).toBe(0);
    expect(sampleOf(page, 'pgha_certificate_file_expiry_timestamp_seconds', { name: 'junk' })).toBeUndefined();
  });
});

const NODE_EXPORTER_PAGE = `# HELP pgha_pgbackrest_last_backup_timestamp_seconds When the newest backup in the repository ended (Unix time; 0: none yet).
# TYPE pgha_pgbackrest_last_backup_timestamp_seconds gauge
pgha_pgbackrest_last_backup_timestamp_seconds{stanza="main"} 1700000000
node_load1 0.5
`;
const POSTGRES_EXPORTER_PAGE = `# TYPE pg_stat_archiver_archived_count counter
pg_stat_archiver_archived_count 42
# TYPE pg_stat_archiver_failed_count counter
pg_stat_archiver_failed_count 3
`;

/** pgbouncer_exporter 0.10's page: SHOW DATABASES rows as labels (the console's own row has no host). */
const PGBOUNCER_EXPORTER_PAGE = `# HELP pgbouncer_databases_current_connections Current number of connections for this database
# TYPE pgbouncer_databases_current_connections gauge
pgbouncer_databases_current_connections{database="pgbouncer",force_user="pgbouncer",host="",name="pgbouncer",pool_mode="statement",port="6432"} 0
pgbouncer_databases_current_connections{database="app",force_user="",host="10.0.0.11",name="app",pool_mode="transaction",port="5432"} 2
pgbouncer_databases_current_connections{database="postgres",force_user="",host="10.0.0.11",name="postgres",pool_mode="transaction",port="5432"} 1
# HELP pgbouncer_up The pgbouncer scrape succeeded
# TYPE pgbouncer_up gauge
pgbouncer_up 1
`;

describe('the PgBouncer families (where pgbouncer_exporter runs)', () => {
  it('reads where each PgBouncer sends clients from its databases, once per address; a silent or failing one is 0 with no target', () => {
    expect(pgbouncerTargets(PGBOUNCER_EXPORTER_PAGE)).toEqual(['10.0.0.11']);
    const page = parseExposition(
      renderExposition(
        pgbouncerFamilies('main', [
          { host: 'pg1', metrics: { status: 200, text: PGBOUNCER_EXPORTER_PAGE } },
          { host: 'pg2', metrics: { status: 200, text: PGBOUNCER_EXPORTER_PAGE.replace('pgbouncer_up 1', 'pgbouncer_up 0') } },
          { host: 'pg3', metrics: undefined },
        ]),
      ),
    );
    expect(sampleOf(page, 'pgha_pgbouncer_up', { host: 'pg1' })?.value).toBe(1);
    expect(sampleOf(page, 'pgha_pgbouncer_target_info', { host: 'pg1' })?.labels.target).toBe('10.0.0.11');
    for (const h of ['pg2', 'pg3']) {
      expect(sampleOf(page, 'pgha_pgbouncer_up', { host: h })?.value).toBe(0);
      expect(sampleOf(page, 'pgha_pgbouncer_target_info', { host: h })).toBeUndefined();
    }
  });
});

describe('the backup and archiving families (where a repository exists)', () => {
  it('the newest backup: its end time and age from the repository host, 0 up when its node_exporter did not answer', () => {
    const page = parseExposition(
      renderExposition(
        backupFamilies(
          'main',
          [
            { host: 'backup1', metrics: { status: 200, text: NODE_EXPORTER_PAGE } },
            { host: 'backup2', metrics: undefined },
          ],
          1700000600,
        ),
      ),
    );
    expect(sampleOf(page, 'pgha_backup_metrics_up', { host: 'backup1' })?.value).toBe(1);
    expect(sampleOf(page, 'pgha_backup_last_end_timestamp_seconds', { host: 'backup1' })?.value).toBe(1700000000);
    expect(sampleOf(page, 'pgha_backup_age_seconds', { host: 'backup1' })?.value).toBe(600);
    expect(sampleOf(page, 'pgha_backup_metrics_up', { host: 'backup2' })?.value).toBe(0);
    expect(sampleOf(page, 'pgha_backup_last_end_timestamp_seconds', { host: 'backup2' })).toBeUndefined();
    // No backup yet (the timer writes 0): the end time says so, and there is no age to make up.
    const none = parseExposition(
      renderExposition(
        backupFamilies('main', [{ host: 'backup1', metrics: { status: 200, text: NODE_EXPORTER_PAGE.replace('1700000000', '0') } }], 1),
      ),
    );
    expect(sampleOf(none, 'pgha_backup_last_end_timestamp_seconds', { host: 'backup1' })?.value).toBe(0);
    expect(sampleOf(none, 'pgha_backup_age_seconds', { host: 'backup1' })).toBeUndefined();
  });

  it("archiving: each member's archived and failed totals from pg_stat_archiver, as counters", () => {
    const text = renderExposition(
      archiveFamilies('main', [
        { member: 'pg1', metrics: { status: 200, text: POSTGRES_EXPORTER_PAGE } },
        { member: 'pg2', metrics: { status: 503, text: '' } },
      ]),
    );
    expect(text).toContain('# TYPE pgha_wal_archive_failures_total counter\n');
    const page = parseExposition(text);
    expect(sampleOf(page, 'pgha_wal_archived_total', { member: 'pg1' })?.value).toBe(42);
    expect(sampleOf(page, 'pgha_wal_archive_failures_total', { member: 'pg1' })?.value).toBe(3);
    expect(sampleOf(page, 'pgha_postgres_exporter_up', { member: 'pg2' })?.value).toBe(0);
    expect(sampleOf(page, 'pgha_wal_archived_total', { member: 'pg2' })).toBeUndefined();
  });
});

describe('pgha exporter --cluster-file FILE (mtls members)', () => {
  const servers: Server[] = [];
  let file = '';
  let clientCerts = 0;

  beforeAll(async () => {
    const dir = tmp('pgha-exporter-file-');
    const now = new Date();
    const ca = issueCa({ clusterName: 'main', now });
    const monitor = issueNodeCert({ ca, host: { name: 'monitor1', ip: '127.0.0.9' }, now });
    const paths = { ca: join(dir, 'ca.crt'), cert: join(dir, 'node.crt'), key: join(dir, 'node.key') };
    writeFileSync(paths.ca, ca.certPem);
    writeFileSync(paths.cert, monitor.certPem);
    writeFileSync(paths.key, monitor.keyPem, { mode: 0o600 });
    const answers: Record<string, { status: number; text: string }> = {
      '/patroni': recorded('get-patroni.leader'),
      '/health': { status: 200, text: '{"health":"true","reason":""}' },
      '/metrics': { status: 200, text: ETCD_METRICS.replace('etcd_server_is_leader 0', 'etcd_server_is_leader 1') },
      '/stats;csv': { status: 200, text: HAPROXY_CSV },
      '/node/metrics': { status: 200, text: NODE_EXPORTER_PAGE },
      '/pg/metrics': { status: 200, text: POSTGRES_EXPORTER_PAGE },
      '/pgb/metrics': { status: 200, text: PGBOUNCER_EXPORTER_PAGE },
    };
    const cert = issueNodeCert({ ca, host: { name: 'pg1', ip: '127.0.0.1' }, now });
    // Like Patroni with verify_client: required, etcd with client-cert-auth and the stats listener's `verify required`.
    const s = createServer(
      { key: cert.keyPem, cert: cert.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        clientCerts++;
        const a = answers[req.url ?? ''] ?? { status: 404, text: '' };
        res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.text);
      },
    );
    servers.push(s);
    const port = await new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
    const url = `https://127.0.0.1:${port}`;
    file = join(dir, 'cluster.json');
    writeFileSync(
      file,
      JSON.stringify({
        scope: 'main',
        tls: paths,
        patroni: [
          { name: 'pg1', url },
          { name: 'pg2', url: 'https://127.0.0.2:1' },
        ],
        etcd: [{ name: 'pg1', url }],
        haproxy: [{ name: 'proxy1', url: `${url}/stats;csv` }],
        backups: [{ name: 'backup1', url: `${url}/node/metrics` }],
        archive: [{ name: 'pg1', url: `${url}/pg/metrics` }],
        pgbouncer: [{ name: 'pg1', url: `${url}/pgb/metrics` }],
        certificates: [
          { name: 'ca', path: paths.ca },
          { name: 'gone', path: join(dir, 'gone.crt') },
        ],
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  it('reads every member through the CA with the host certificate; what is down is its own 0', async () => {
    const stderr = new PassThrough();
    let log = '';
    stderr.on('data', (c: Buffer) => (log += c.toString()));
    let stop!: (why: string) => void;
    const stopped = new Promise<string>((r) => (stop = r));
    const done = runExporter({ clusterFile: file, port: '0', bind: '127.0.0.1', timeout: '2' }, { env: {}, stderr, stopped });
    try {
      for (let i = 0; i < 500 && !/listening on/.test(log); i++) await new Promise((r) => setTimeout(r, 10));
      const base = `http://${/listening on (\S+),/.exec(log)![1]}`;
      expect(log).toMatch(/scraping cluster main \(pg1, pg2\) from /);
      const page = parseExposition(await (await fetch(`${base}/metrics`)).text());
      expect(clientCerts).toBeGreaterThan(0);
      expect(sampleOf(page, 'patroni_patroni_info', { member: 'pg1' })?.labels.role).toBe('master');
      expect(sampleOf(page, 'patroni_exporter_scrape_success', { member: 'pg2' })?.value).toBe(0);
      expect(sampleOf(page, 'pgha_etcd_is_leader', { member: 'pg1' })?.value).toBe(1);
      expect(sampleOf(page, 'pgha_haproxy_server_up', { server: 'pg1', backend: 'pgha_rw' })?.value).toBe(1);
      expect(sampleOf(page, 'pgha_certificate_readable', { name: 'gone' })?.value).toBe(0);
      expect(sampleOf(page, 'pgha_backup_last_end_timestamp_seconds', { host: 'backup1' })?.value).toBe(1700000000);
      expect(sampleOf(page, 'pgha_wal_archive_failures_total', { member: 'pg1' })?.value).toBe(3);
      expect(sampleOf(page, 'pgha_pgbouncer_target_info', { host: 'pg1' })?.labels.target).toBe('10.0.0.11');
      expect(sampleOf(page, 'pgha_certificate_file_expiry_timestamp_seconds', { name: 'ca' })!.value - Date.now() / 1000).toBeGreaterThan(
        300 * 86_400,
      );
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { reason: string }).reason).toMatch(/^pg2: /);
    } finally {
      stop('test');
      expect(await done).toBe(0);
    }
  });

  it('a file or key it cannot read is exit 2 before anything listens', async () => {
    const io = { env: {}, stderr: new PassThrough() };
    await expect(runExporter({ clusterFile: join(tmp('pgha-exporter-none-'), 'nope.json') }, io)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^--cluster-file: cannot read the file .*nope\.json: ENOENT/),
    });
    await expect(runExporter({ clusterFile: file, cluster: 'x' }, io)).rejects.toMatchObject({
      exitCode: 2,
      message: '--cluster and --cluster-file exclude each other',
    });
    await expect(runExporter({ clusterFile: file, patroniUrl: 'http://x/patroni' }, io)).rejects.toMatchObject({
      message: '-u/--patroni-url and --cluster-file exclude each other',
    });
  });
});

describe.skipIf(process.env.CI !== 'true' && spawnSync('promtool', ['--version']).status !== 0)('promtool check metrics', () => {
  it('accepts the etcd, HAProxy, certificate, backup, archiving and PgBouncer families (base units in every name)', () => {
    const ca = issueCa({ clusterName: 'main', now: new Date() });
    const page = renderExposition([
      ...etcdFamilies('main', [
        { member: 'pg1', health: { status: 200, text: '{"health":"true","reason":""}' }, metrics: { status: 200, text: ETCD_METRICS } },
        { member: 'pg2', health: undefined, metrics: undefined },
      ]),
      ...haproxyFamilies('main', [{ host: 'proxy1', csv: { status: 200, text: HAPROXY_CSV } }]),
      ...certificateFamilies('main', [
        { name: 'ca', pem: ca.certPem },
        { name: 'gone', pem: undefined },
      ]),
      ...backupFamilies('main', [{ host: 'backup1', metrics: { status: 200, text: NODE_EXPORTER_PAGE } }], 1700000600),
      ...archiveFamilies('main', [{ member: 'pg1', metrics: { status: 200, text: POSTGRES_EXPORTER_PAGE } }]),
      ...pgbouncerFamilies('main', [{ host: 'pg1', metrics: { status: 200, text: PGBOUNCER_EXPORTER_PAGE } }]),
    ]);
    // Under CI a missing promtool is a missing prerequisite (.ci/run installs Debian's prometheus).
    const r = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
    expect(`${r.status} ${r.stdout}${r.stderr}`).toBe('0 ');
  });
});
