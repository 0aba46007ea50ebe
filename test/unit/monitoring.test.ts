/**
 * Monitoring (issue 15): what `configure --enable-monitoring` writes, what a monitored cluster
 * renders (Prometheus's scrape jobs, the exporters, HAProxy's exporter, the exporter's pg_hba
 * line and role), that an unmonitored one renders nothing of it, how prometheus_rules_settings
 * layers over pgha's rules, and Prometheus' own checker on the rendered files: `promtool check
 * config`, `promtool check rules` and `promtool test rules` (Debian's `prometheus` package, which
 * .ci/run installs; under CI a missing promtool fails, elsewhere those tests are skipped).
 * The whole files are in the golden of examples/m1-monitoring-debian13.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate as X509 } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../src/components/registry.js';
import { certificateExpiryMetrics } from '../../src/components/monitoring/certificates.js';
import { prometheus } from '../../src/components/monitoring/index.js';
import { parseHttpAnswer, prometheusHealth } from '../../src/components/monitoring/health.js';
import type { HealthProbe } from '../../src/components/health.js';
import type { Command } from '../../src/transport/quote.js';
import { prometheusDocument } from '../../src/components/monitoring/prometheus.js';
import { defaultRules, prometheusRules } from '../../src/components/monitoring/rules.js';
import { POSTGRES_EXPORTER_ROLE } from '../../src/components/monitoring/topology.js';
import { pgHba } from '../../src/components/patroni/config.js';
import { BACKUP_METRICS_SCRIPT } from '../../src/components/pgbackrest/metrics.js';
import { haproxyDocument } from '../../src/components/haproxy/config.js';
import { buildConfig } from '../../src/config/configure.js';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import type { Plain } from '../../src/model/merge.js';
import type { DesiredFile, ResolvedCluster, ResolvedHost } from '../../src/model/types.js';
import { resolveCluster } from '../../src/model/resolve.js';
import { issueCa, issueClientCert, issueNodeCert } from '../../src/pki/certs.js';
import { nspawnPlatform } from '../../src/platforms/nspawn/index.js';
import { renderCluster } from '../../src/render/index.js';
import { fakeInputs, loadExample } from '../golden/inputs.js';
import { configureOptions } from './configure-options.js';

const host = (c: ResolvedCluster, name: string): ResolvedHost => {
  const h = c.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
};

const watched = loadExample('m1-monitoring-debian13');
const monitor = host(watched, 'monitor1');

describe('configure --enable-monitoring', () => {
  it('adds monitor1 at the next free address, and a config.yml that validates', () => {
    const cfg = buildConfig(configureOptions({ enableHaproxy: true, enableMonitoring: true }), nspawnPlatform.configure);
    expect(cfg.instances.map((i) => [i.Name, i.role.join('+'), i.ip_address.split('.')[3]])).toEqual([
      ['pg1', 'primary+etcd', '11'],
      ['pg2', 'replica+etcd', '12'],
      ['pg3', 'replica+etcd', '13'],
      ['proxy1', 'haproxy', '14'],
      ['monitor1', 'monitoring-server', '15'],
      // The second proxy comes last, so that it moved no other host's address.
      ['proxy2', 'haproxy', '16'],
    ]);
    expect(validateConfig(parseConfigText(stringify(cfg), 'config.yml')).warnings).toEqual([]);
  });

  it('refuses a monitoring port that another listener of the host already has', () => {
    const cfg = buildConfig(configureOptions({ enableMonitoring: true }), nspawnPlatform.configure);
    cfg.cluster_vars.prometheus_port = 9093;
    expect(() => validateConfig(parseConfigText(stringify(cfg), 'config.yml'))).toThrow(/prometheus_port|alertmanager_port/);
  });
});

describe('who runs what', () => {
  const runs = (c: ResolvedCluster, name: string) =>
    c.hosts.filter((h) => COMPONENTS.find((x) => x.name === name)!.runsOn(c, h)).map((h) => h.name);

  it('Prometheus on the monitoring host, node_exporter everywhere, postgres_exporter on the data nodes', () => {
    expect(runs(watched, 'prometheus')).toEqual(['monitor1']);
    expect(runs(watched, 'node_exporter')).toEqual(['pg1', 'pg2', 'pg3', 'proxy1', 'backup1', 'monitor1']);
    expect(runs(watched, 'postgres_exporter')).toEqual(['pg1', 'pg2', 'pg3']);
  });

  it('is inert without a monitoring host: no host runs any of it, pg_hba and HAProxy gain nothing', () => {
    for (const example of ['m1-haproxy-nspawn', 'm1-overrides', 'm1-pgbouncer-bare', 'm1-pgbackrest-debian13']) {
      const c = loadExample(example);
      for (const name of ['prometheus', 'node_exporter', 'postgres_exporter']) expect(runs(c, name)).toEqual([]);
      for (const h of c.hosts.filter((x) => x.roles.includes('primary') || x.roles.includes('replica'))) {
        expect(pgHba(c, h).join('\n')).not.toContain(POSTGRES_EXPORTER_ROLE);
      }
      for (const h of c.hosts.filter((x) => x.roles.includes('haproxy'))) {
        expect(JSON.stringify(haproxyDocument(c, h))).not.toContain('prometheus-exporter');
      }
    }
  });

  it('lets postgres_exporter in by peer, to the postgres database only, before the catch-all line', () => {
    const hba = pgHba(watched, host(watched, 'pg2'));
    const peer = hba.indexOf(`local postgres ${POSTGRES_EXPORTER_ROLE} peer`);
    expect(peer).toBeGreaterThan(-1);
    expect(peer).toBeLessThan(hba.indexOf('local all all scram-sha-256'));
  });

  it("serves HAProxy's exporter on the stats listener, behind its client-certificate check", () => {
    const listen = (haproxyDocument(watched, host(watched, 'proxy1')).listens as Plain).pgha_stats as Plain;
    expect(listen['http-request use-service prometheus-exporter if { path /metrics }']).toBe(true);
    expect(String(listen.bind)).toMatch(/verify required/);
  });
});

describe('prometheus.yml', () => {
  const doc = prometheusDocument(watched, monitor);
  const jobs = doc.scrape_configs as Plain[];
  const job = (name: string) => jobs.find((j) => j.job_name === name)!;
  const targets = (name: string) =>
    (job(name).static_configs as Plain[]).map((s) => [(s.labels as Plain).host, (s.targets as string[])[0]]);

  it('scrapes every component by address, each target labelled with its host', () => {
    expect(jobs.map((j) => j.job_name)).toEqual(['prometheus', 'alertmanager', 'patroni', 'etcd', 'haproxy', 'node', 'postgres', 'pgha']);
    expect(targets('patroni')).toEqual([
      ['pg1', '10.10.15.11:8008'],
      ['pg2', '10.10.15.12:8008'],
      ['pg3', '10.10.15.13:8008'],
    ]);
    expect(targets('etcd').map((t) => t[1])).toEqual(['10.10.15.11:2379', '10.10.15.12:2379', '10.10.15.13:2379']);
    expect(targets('haproxy')).toEqual([['proxy1', '10.10.15.21:8404']]);
    expect(targets('node').map((t) => t[0])).toEqual(['pg1', 'pg2', 'pg3', 'proxy1', 'backup1', 'monitor1']);
    expect(targets('postgres').map((t) => t[1])).toEqual(['10.10.15.11:9187', '10.10.15.12:9187', '10.10.15.13:9187']);
    // pgha's exporter on the loopback, without a host label: its samples name their own member or proxy.
    expect(job('pgha')).toEqual({ job_name: 'pgha', static_configs: [{ targets: ['127.0.0.1:9547'] }] });
  });

  it('over TLS with the cluster CA and the monitoring host certificate as client certificate', () => {
    for (const name of ['patroni', 'etcd', 'haproxy', 'node', 'postgres']) {
      expect(job(name)).toMatchObject({
        scheme: 'https',
        tls_config: {
          ca_file: '/etc/prometheus/ssl/ca.crt',
          cert_file: '/etc/prometheus/ssl/node.crt',
          key_file: '/etc/prometheus/ssl/node.key',
        },
      });
    }
  });

  it('evaluates rules as often as it scrapes, and sends alerts to its own Alertmanager', () => {
    expect(doc.global).toMatchObject({ scrape_interval: '15s', evaluation_interval: '15s' });
    expect(JSON.stringify(doc.alerting)).toContain('10.10.15.41:9093');
  });

  it('scrapes Patroni and etcd over plain HTTP where they do not speak TLS, and skips HAProxy without its TLS stats listener', () => {
    const cfg = buildConfig(configureOptions({ enableHaproxy: true, enableMonitoring: true }), nspawnPlatform.configure);
    for (const k of ['patroni_ssl_enabled', 'etcd_ssl_enabled']) cfg.cluster_vars[k] = false;
    cfg.cluster_vars.etcd_authentication_mode = 'none';
    cfg.cluster_vars.patroni_authentication_mode = 'basic';
    const c = resolveCluster(cfg);
    const plainJobs = prometheusDocument(c, host(c, 'monitor1')).scrape_configs as Plain[];
    expect(plainJobs.find((j) => j.job_name === 'patroni')).toMatchObject({ scheme: 'http' });
    expect(plainJobs.find((j) => j.job_name === 'patroni')!.tls_config).toBeUndefined();
    expect(plainJobs.find((j) => j.job_name === 'etcd')).toMatchObject({ scheme: 'http' });
    expect(plainJobs.some((j) => j.job_name === 'haproxy')).toBe(false);
  });
});

describe('prometheus_rules_settings', () => {
  const names = (rules: Plain[]) => rules.map((r) => r.alert);

  it("merges over pgha's rule of that name, and null removes one (the example's)", () => {
    const rules = prometheusRules(watched, monitor);
    expect(names(rules)).not.toContain('PatroniMultipleLeaders');
    expect(rules.find((r) => r.alert === 'PatroniPendingRestart')).toMatchObject({
      expr: 'patroni_pending_restart == 1',
      for: '2h',
      labels: { severity: 'info' },
    });
  });

  it('keeps every default without settings, and adds a rule it does not know', () => {
    const c = loadExample('m1-monitoring-debian13', {
      prometheus_rules_settings: { MyRule: { expr: 'up == 0', for: '5m' }, PatroniMultipleLeaders: { for: '1m' } },
    });
    const rules = prometheusRules(c, host(c, 'monitor1'));
    expect(names(rules)).toEqual([...Object.keys(defaultRules(c)), 'MyRule']);
    expect(rules.find((r) => r.alert === 'PatroniMultipleLeaders')?.for).toBe('1m');
  });

  it("takes PatroniReplicationLag's threshold from Patroni's maximum_lag_on_failover", () => {
    const c = loadExample('m1-monitoring-debian13', { patroni_dynamic_conf_settings: { maximum_lag_on_failover: 33554432 } });
    expect(String(defaultRules(c).PatroniReplicationLag!.expr)).toMatch(/> 33554432$/);
    expect(String(defaultRules(watched).PatroniReplicationLag!.expr)).toMatch(/> 1048576$/);
  });
});

describe('status and the cluster step', () => {
  it('prints where Prometheus and Alertmanager answer, from config.yml alone', () => {
    const entry = prometheus.status.read({ host: monitor }, { memberAt: new Map(), leader: undefined });
    expect(prometheus.status.lines([entry])).toEqual([
      'Monitoring monitor1: Prometheus http://10.10.15.41:9090/, Alertmanager http://10.10.15.41:9093/',
    ]);
    expect(prometheus.stateScript).toBeUndefined();
  });

  it('sets up the exporter role on the leader with the pinned search_path, printing changed only when it did', () => {
    const step = COMPONENTS.find((c) => c.name === 'postgres_exporter')!.clusterSteps!(watched)[0]!;
    expect(step.on).toEqual({ kind: 'leader' });
    const pg1 = host(watched, 'pg1');
    const ctx = { secret: () => 'unused' };
    const check = step.check(pg1, ctx);
    const apply = step.apply(pg1, ctx);
    for (const cmd of [check, apply]) {
      expect(cmd.script).toContain("PGOPTIONS='-c search_path=pg_catalog,pg_temp'");
      expect(cmd.script).not.toContain(POSTGRES_EXPORTER_ROLE);
    }
    expect(check.stdin).not.toMatch(/CREATE|ALTER|GRANT/);
    expect(apply.stdin).toContain("GRANT pg_monitor TO %I', 'prometheus'");
    expect(step.describe(pg1)).toBe('set up role prometheus (LOGIN, pg_monitor) on the leader');
  });
});

describe('certificate expiry metrics', () => {
  it('one sample per certificate, its notAfter as Unix time', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const ca = issueCa({ clusterName: 'watched', now });
    const pg1 = issueNodeCert({ ca, host: { name: 'pg1', ip: '10.10.15.11' }, now });
    const client = issueClientCert({ ca, commonName: 'pgha', now });
    const c = loadExample('m1-monitoring-debian13');
    const text = certificateExpiryMetrics(
      { ...c, hosts: c.hosts.filter((h) => h.name === 'pg1') },
      {
        secret: () => '',
        exporterBundle: () => '',
        pki: {
          caCert: ca.certPem,
          nodes: { pg1: { cert: pg1.certPem, key: pg1.keyPem } },
          clients: { pgha: { cert: client.certPem, key: client.keyPem } },
        },
      },
    );
    const at = (pem: string) => String(Math.floor(new Date(new X509(pem).validTo).getTime() / 1000));
    expect(text).toContain(`pgha_certificate_expiry_timestamp_seconds{cluster="watched",kind="ca",name="ca"} ${at(ca.certPem)}`);
    expect(text).toContain(`{cluster="watched",kind="node",name="pg1"} ${at(pg1.certPem)}`);
    expect(text).toContain(`{cluster="watched",kind="client",name="pgha"} ${at(client.certPem)}`);
  }, 30_000);
});

describe('the newest backup as a metric', () => {
  const files = renderCluster(watched, fakeInputs(watched));
  const script = files.get('backup1')!.find((f) => f.path === BACKUP_METRICS_SCRIPT)!;

  it('only on the repository host of a monitored cluster, with its timer', () => {
    expect([...files].filter(([, fs]) => fs.some((f) => f.path === BACKUP_METRICS_SCRIPT)).map(([h]) => h)).toEqual(['backup1']);
    const pgbackrest = COMPONENTS.find((c) => c.name === 'pgbackrest')!;
    expect(pgbackrest.units(watched, host(watched, 'backup1'))).toContain('pgha-pgbackrest-metrics.timer');
    const plain = loadExample('m1-pgbackrest-debian13');
    expect(pgbackrest.units(plain, host(plain, 'backup1'))).not.toContain('pgha-pgbackrest-metrics.timer');
  });

  it("writes the largest numeric stop of pgBackRest's JSON, or 0 without a backup", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgha-backup-metric-'));
    try {
      const run = (json: string) => {
        // pgBackRest replaced by the JSON it would print; the textfile directory by a temporary one.
        const body = script.content
          .replace(/runuser -u postgres -- pgbackrest [^)]*/, `printf '%s' '${json}'`)
          .replaceAll('/var/lib/pgha/node-exporter', dir);
        const r = spawnSync('sh', ['-c', body], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        return readFileSync(join(dir, 'pgha-pgbackrest.prom'), 'utf8');
      };
      const two =
        '[{"backup":[{"lsn":{"start":"0/2000028","stop":"0/2000100"},"timestamp":{"start":1700000000,"stop":1700000100}},{"timestamp":{"start":1700086400,"stop":1700086500}}],"name":"watched"}]';
      expect(run(two)).toContain('pgha_pgbackrest_last_backup_timestamp_seconds{stanza="watched"} 1700086500\n');
      expect(run('[{"backup":[],"name":"watched"}]')).toContain('pgha_pgbackrest_last_backup_timestamp_seconds{stanza="watched"} 0\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('health', () => {
  /** A probe whose data node is this machine: the command's script runs here, in bash. */
  const localProbe = {
    cluster: watched,
    onDataNode: (cmd: Command) =>
      new Promise((done) => {
        const child = spawn('bash', ['-c', cmd.script]);
        let stdout = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.on('close', (code) => done({ host: host(watched, 'pg2'), result: { code: code ?? 1, stdout, stderr: '' } }));
      }),
    // The monitoring host is this machine too: pgha's exporter is asked on its loopback.
    onHost: (_h: ResolvedHost, cmd: Command) =>
      new Promise((done) => {
        const child = spawn('bash', ['-c', cmd.script]);
        let stdout = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.on('close', (code) => done({ code: code ?? 1, stdout, stderr: '' }));
      }),
  } as unknown as HealthProbe;

  let server: Server | undefined;
  afterAll(() => server?.close());

  it("reads Prometheus's and Alertmanager's /-/ready and Prometheus's targets over plain HTTP from a data node", async () => {
    server = createServer((req, res) => {
      if (req.url === '/-/ready') return void res.writeHead(200).end('ready');
      if (req.url === '/health')
        return void res.writeHead(503).end(JSON.stringify({ status: 'failing', reason: 'pg3: connection refused' }));
      if (req.url === '/api/v1/query?query=up') {
        const sample = (job: string, h: string, v: string) => ({ metric: { job, host: h }, value: [0, v] });
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            status: 'success',
            data: { result: [sample('node', 'pg1', '1'), sample('etcd', 'pg3', '0'), sample('patroni', 'pg2', '1')] },
          }),
        );
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const local = {
      ...monitor,
      ip: '127.0.0.1',
      vars: { ...monitor.vars, prometheus_port: port, alertmanager_port: port, pgha_exporter_port: port },
    };
    expect(await prometheusHealth(localProbe, [local])).toEqual([
      { name: 'Prometheus monitor1: ready', ok: true, detail: `127.0.0.1:${port} ready (from pg2); 2 of 3 targets up (down: etcd pg3)` },
      { name: 'Alertmanager monitor1: ready', ok: true, detail: `127.0.0.1:${port} ready (from pg2)` },
      // It serves; a member it cannot read is Patroni's checks' to fail, and shows here as the reason.
      { name: 'pgha exporter monitor1: serving', ok: true, detail: `127.0.0.1:${port} serving; last round: pg3: connection refused` },
    ]);
    const closed = { ...local, vars: { ...local.vars, alertmanager_port: 1 } };
    const [, am] = await prometheusHealth(localProbe, [closed]);
    expect(am).toMatchObject({ ok: false, detail: '127.0.0.1:1 does not answer (from pg2)' });
  });

  it('parses a raw HTTP answer', () => {
    expect(parseHttpAnswer('HTTP/1.0 503 Service Unavailable\r\nX: y\r\n\r\nnot ready')).toEqual({ status: 503, body: 'not ready' });
    expect(parseHttpAnswer('')).toEqual({ status: undefined, body: '' });
  });
});

// ---- promtool ----

function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}
const inCi = process.env.CI === 'true';

function promtool(args: string[], cwd?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!inCi && !hasPromtool())('promtool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-promtool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files = renderCluster(watched, fakeInputs(watched)).get('monitor1') ?? [];
  const file = (path: string): DesiredFile => {
    const f = files.find((x) => x.path === path);
    if (!f) throw new Error(`monitor1 renders no ${path}`);
    return f;
  };
  /**
   * The monitoring host's /etc/prometheus under a temporary directory, every absolute path in
   * the files moved along: promtool check config insists that the rule and certificate files a
   * configuration names exist (fake PEMs do: it checks presence, not content).
   */
  const root = join(dir, 'root');
  const write = (f: DesiredFile) => {
    const to = join(root, f.path);
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, f.content.replaceAll('/etc/prometheus/', `${root}/etc/prometheus/`));
    return to;
  };
  const present = () => expect(hasPromtool(), 'promtool is missing: .ci/run installs Debian’s prometheus package').toBe(true);

  it('check config accepts the rendered prometheus.yml (rules and certificates in place)', () => {
    present();
    for (const f of files.filter((x) => x.path.startsWith('/etc/prometheus/'))) write(f);
    const r = promtool(['check', 'config', join(root, '/etc/prometheus/prometheus.yml')]);
    expect(r.out).toMatch(/SUCCESS/);
    expect(r.status, r.out).toBe(0);
  });

  it('check rules accepts the rendered rules, with and without settings', () => {
    present();
    const r = promtool(['check', 'rules', write(file('/etc/prometheus/pgha-rules.yml'))]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS: 11 rules found/);
    const c = loadExample('m1-monitoring-debian13', { prometheus_rules_settings: null });
    const all = renderCluster(c, fakeInputs(c))
      .get('monitor1')!
      .find((f) => f.path === '/etc/prometheus/pgha-rules.yml')!;
    const path = join(dir, 'all-rules.yml');
    writeFileSync(path, all.content);
    const every = promtool(['check', 'rules', path]);
    expect(every.status, every.out).toBe(0);
    expect(every.out).toMatch(new RegExp(`SUCCESS: ${Object.keys(defaultRules(c)).length} rules found`));
  });

  it('test rules: PatroniMemberDown fires after its for (postgres stopped, or Patroni not answering), not before', () => {
    present();
    const c = loadExample('m1-monitoring-debian13', { prometheus_rules_settings: null });
    const rules = renderCluster(c, fakeInputs(c))
      .get('monitor1')!
      .find((f) => f.path === '/etc/prometheus/pgha-rules.yml')!;
    writeFileSync(join(dir, 'rules.yml'), rules.content);
    const member = (h: string, n: number) => `{job="patroni",instance="10.10.15.${n}:8008",host="${h}",scope="watched",name="${h}"}`;
    const test = {
      rule_files: ['rules.yml'],
      evaluation_interval: '15s',
      tests: [
        {
          interval: '15s',
          input_series: [
            // pg2: PostgreSQL stops at 30 s; Patroni still answers.
            { series: `patroni_postgres_running${member('pg2', 12)}`, values: '1 1 0x20' },
            { series: `up${member('pg2', 12)}`, values: '1x22' },
            // pg3: Patroni stops answering at 30 s.
            { series: `up${member('pg3', 13)}`, values: '1 1 0x20' },
            { series: `patroni_postgres_running${member('pg3', 13)}`, values: '1 1' },
            // pg1 stays up throughout.
            { series: `patroni_postgres_running${member('pg1', 11)}`, values: '1x22' },
            { series: `up${member('pg1', 11)}`, values: '1x22' },
          ],
          alert_rule_test: [
            // 45 s: down for 15 s, under the rule's 1 m.
            { eval_time: '45s', alertname: 'PatroniMemberDown', exp_alerts: [] },
            // 2 m: down for 90 s.
            {
              eval_time: '2m',
              alertname: 'PatroniMemberDown',
              exp_alerts: [
                {
                  exp_labels: {
                    severity: 'critical',
                    job: 'patroni',
                    instance: '10.10.15.12:8008',
                    host: 'pg2',
                    scope: 'watched',
                    name: 'pg2',
                  },
                  exp_annotations: {
                    summary: 'Patroni member pg2 is down',
                    description: 'Patroni on pg2 does not answer, or reports PostgreSQL not running.',
                  },
                },
                {
                  exp_labels: {
                    severity: 'critical',
                    job: 'patroni',
                    instance: '10.10.15.13:8008',
                    host: 'pg3',
                    scope: 'watched',
                    name: 'pg3',
                  },
                  exp_annotations: {
                    summary: 'Patroni member pg3 is down',
                    description: 'Patroni on pg3 does not answer, or reports PostgreSQL not running.',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'test.yml'), stringify(test));
    const r = promtool(['test', 'rules', 'test.yml'], dir);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS/);
    expect(parse(rules.content)).toBeTruthy();
  });

  it("test rules: leader rules read Patroni 3.0's patroni_master and 4.x's patroni_primary alike, and the replica lag over maximum_lag_on_failover", () => {
    present();
    const c = loadExample('m1-monitoring-debian13', { prometheus_rules_settings: null });
    const rules = renderCluster(c, fakeInputs(c))
      .get('monitor1')!
      .find((f) => f.path === '/etc/prometheus/pgha-rules.yml')!;
    writeFileSync(join(dir, 'rules2.yml'), rules.content);
    const m = (h: string, n: number) => `{job="patroni",instance="10.10.15.${n}:8008",host="${h}",scope="watched",name="${h}"}`;
    const test = {
      rule_files: ['rules2.yml'],
      evaluation_interval: '15s',
      tests: [
        {
          // Patroni 3.0 (patroni_master only): pg1 leads, then no one from 30 s.
          interval: '15s',
          input_series: [
            { series: `patroni_master${m('pg1', 11)}`, values: '1 1 0x10' },
            { series: `patroni_master${m('pg2', 12)}`, values: '0x12' },
          ],
          alert_rule_test: [
            { eval_time: '30s', alertname: 'PatroniNoLeader', exp_alerts: [] },
            {
              eval_time: '90s',
              alertname: 'PatroniNoLeader',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', scope: 'watched' },
                  exp_annotations: {
                    summary: 'Patroni cluster watched has no leader',
                    description: 'No member of watched reports itself the leader: writes fail until one is elected.',
                  },
                },
              ],
            },
          ],
        },
        {
          // Patroni 4.x (both names, equal): two leaders from 0 s; a replica 2 MiB behind from 0 s.
          interval: '15s',
          input_series: [
            { series: `patroni_primary${m('pg1', 11)}`, values: '1x10' },
            { series: `patroni_master${m('pg1', 11)}`, values: '1x10' },
            { series: `patroni_primary${m('pg2', 12)}`, values: '1x10' },
            { series: `patroni_master${m('pg2', 12)}`, values: '1x10' },
            { series: `patroni_replica${m('pg2', 12)}`, values: '0x10' },
            { series: `patroni_replica${m('pg3', 13)}`, values: '1x10' },
            { series: `patroni_xlog_location${m('pg1', 11)}`, values: '10000000x10' },
            { series: `patroni_xlog_location${m('pg3', 13)}`, values: '0x10' },
            { series: `patroni_xlog_received_location${m('pg3', 13)}`, values: '7902848x10' },
          ],
          alert_rule_test: [
            { eval_time: '15s', alertname: 'PatroniMultipleLeaders', exp_alerts: [] },
            {
              eval_time: '45s',
              alertname: 'PatroniMultipleLeaders',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', scope: 'watched' },
                  exp_annotations: {
                    summary: 'Patroni cluster watched has 2 leaders',
                    description: 'More than one member reports itself the leader (split brain).',
                  },
                },
              ],
            },
            { eval_time: '45s', alertname: 'PatroniNoLeader', exp_alerts: [] },
            {
              eval_time: '75s',
              alertname: 'PatroniReplicationLag',
              exp_alerts: [
                {
                  exp_labels: {
                    severity: 'warning',
                    job: 'patroni',
                    instance: '10.10.15.13:8008',
                    host: 'pg3',
                    scope: 'watched',
                    name: 'pg3',
                  },
                  // 10000000 - 7902848 bytes: 2 MiB, over the default 1 MiB.
                  exp_annotations: {
                    summary: 'Replica pg3 lags 2MiB behind the leader',
                    description: 'Over maximum_lag_on_failover (1048576 bytes): Patroni would not promote this replica.',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'test2.yml'), stringify(test));
    const r = promtool(['test', 'rules', 'test2.yml'], dir);
    expect(r.status, r.out).toBe(0);
  });
});
