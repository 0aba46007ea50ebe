/**
 * The operations suite: one real cluster (nspawn, 3 data nodes + HAProxy), created and removed
 * with the real CLI, for `status`, `test` and `exporter` (./status-cases.ts: reading first,
 * faults last) and switchover with the patronictl verbs in between. Asserted with independent
 * probes: patronictl on a node, psql through HAProxy from the controller, Patroni's GET /cluster,
 * HAProxy's socket, dpkg and os-release over OpenSSH.
 *
 * With PGHA_CAPTURE_FIXTURES=1 the suite first records the Patroni contract fixtures from this
 * cluster into test/fixtures/patroni-3.0.2/ (see capture.ts there), or into PGHA_CAPTURE_OUT.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoringAlertCases, monitoringTargetCases, type MonitoringEnv } from './monitoring-cases.js';
import { statusFaultCases, statusReadingCases, synchronousReplicationCases, type StatusEnv } from './status-cases.js';
import {
  ETCD_NODE_FILES,
  ETCD_PEER_FILES,
  etcdPeerProbe,
  patronictl as patronictlOn,
  ProxyWriter,
  waitHealthy as waitHealthyOn,
} from './probes.js';
import {
  clusterSecrets,
  configureM1Args,
  e2eSuiteCanRun,
  pghaOk,
  psql,
  removeStaleCluster,
  ssh,
  sshOk,
  type Ran,
  removeTestCluster,
} from './harness.js';

const canRun = e2eSuiteCanRun('operations');

const CLUSTER = 'e2eops';
const SUBNET = '10.234.1';
const IP: Record<string, string> = { pg1: `${SUBNET}.11`, pg2: `${SUBNET}.12`, pg3: `${SUBNET}.13` };
const PROXY = `${SUBNET}.14`;
/** The monitoring host configure --enable-monitoring adds, at the next free address. */
const MONITOR = `${SUBNET}.15`;
/** The second HAProxy host, which configure adds last. */
const PROXY2 = `${SUBNET}.16`;
const NAMES = ['pg1', 'pg2', 'pg3'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!canRun)('operations on nspawn: status, test, exporter, switchover and the patronictl verbs', () => {
  let root = '';
  let dir = '';
  const outputs: string[] = [];
  const figures: string[] = [];

  const secret = (name: string) => readFileSync(join(dir, 'secrets', name), 'utf8').trim();
  const patronictl = (node = 'pg1') => patronictlOn(dir, IP[node]!, CLUSTER);
  const leaderName = () => patronictl().find((m) => m.Role === 'Leader')?.Member;
  const viaProxy = (sql: string) => psql(`host=${PROXY} port=5432 user=postgres dbname=postgres sslmode=require`, sql, secret('postgres'));
  const onNode = (node: string, sql: string) =>
    sshOk(
      dir,
      IP[node]!,
      `cd /tmp && runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres -f -`,
      sql,
    ).trim();
  const run = async (args: string[], expectCode = 0): Promise<Ran> => {
    const r = await pghaOk([args[0]!, dir, ...args.slice(1)], expectCode, { timeoutMs: 10 * 60_000 });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const restGet = async (path: string): Promise<Record<string, unknown>> => {
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8'), servername: 'pg1' } });
    try {
      const res = await request(`https://${IP.pg1}:8008${path}`, { dispatcher });
      return (await res.body.json()) as Record<string, unknown>;
    } finally {
      await dispatcher.close();
    }
  };

  /** One leader, every member running with a numeric lag of 0: the state each test starts from. */
  const waitHealthy = async (timeoutMs = 90_000) => void (await waitHealthyOn(dir, IP.pg1!, CLUSTER, 3, timeoutMs));

  const assertLeader = (name: string) => {
    expect(patronictl(NAMES.find((n) => n !== name)).find((m) => m.Role === 'Leader')?.Member).toBe(name);
    const r = viaProxy('select inet_server_addr(), pg_is_in_recovery()');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${IP[name]}|f`);
  };

  beforeAll(async () => {
    await removeStaleCluster(CLUSTER);
    root = mkdtempSync(join(tmpdir(), 'pgha-e2e-swo-'));
    dir = join(root, CLUSTER);
    outputs.push((await pghaOk(configureM1Args(dir, SUBNET, { monitoring: true }))).stdout);
    outputs.push((await pghaOk(['download-packages', dir])).stdout);
    outputs.push((await pghaOk(['provision', dir])).stdout);
    const first = await pghaOk(['deploy', dir]);
    outputs.push(first.stdout, first.stderr);
    await waitHealthy();
    if (process.env.PGHA_CAPTURE_FIXTURES === '1') {
      const { captureFixtures } = await import('../fixtures/patroni-3.0.2/capture.js');
      await captureFixtures(dir, process.env.PGHA_CAPTURE_OUT ?? join(import.meta.dirname, '../fixtures/patroni-3.0.2'));
    }
  }, 30 * 60_000);

  afterAll(async () => {
    if (figures.length) process.stdout.write(`\nswitchover figures:\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
    await removeTestCluster(dir, root);
  }, 5 * 60_000);

  const statusEnv: StatusEnv = {
    dir: () => dir,
    cluster: CLUSTER,
    ips: { ...IP, proxy1: PROXY, monitor1: MONITOR, proxy2: PROXY2 },
    outputs,
  };
  const monitoringEnv: MonitoringEnv = { ...statusEnv, leader: () => leaderName() };
  statusReadingCases(statusEnv);
  monitoringTargetCases(monitoringEnv);

  it("etcd's peer port admits only certificates of etcd's own peer CA: not the monitoring host's, not a member's node certificate", () => {
    // Positive control: pg1's peer certificate, pg2's peer certificate verified by the peer CA.
    expect(etcdPeerProbe(dir, IP.pg1!, IP.pg2!, ETCD_PEER_FILES)).toMatch(/^ACCEPTED .*"etcdserver":"3\.5\./);
    // The monitoring server dials Patroni and etcd's client port with its certificate (cluster CA,
    // client use allowed), from its own address, which the certificate names: still no etcd peer.
    const fromMonitor = etcdPeerProbe(dir, MONITOR, IP.pg2!, { cert: '/etc/prometheus/ssl/node.crt', key: '/etc/prometheus/ssl/node.key' });
    const fromNodeCert = etcdPeerProbe(dir, IP.pg1!, IP.pg2!, ETCD_NODE_FILES);
    process.stdout.write(
      `[note] etcd peer port: monitoring host's certificate: ${fromMonitor}; a member's node certificate: ${fromNodeCert}\n`,
    );
    for (const out of [fromMonitor, fromNodeCert]) expect(out).toMatch(/^refused .*(certificate|unknown ca|reset|EOF|closed)/i);
  });
  // Synchronous replication (issue 14), on the healthy cluster led by pg1, which it leaves as it found it.
  synchronousReplicationCases({ ...statusEnv, viaProxy });

  it(
    'switches over to each replica in turn and back; HAProxy follows every time',
    async () => {
      expect(leaderName()).toBe('pg1');
      for (const target of ['pg2', 'pg3', 'pg1']) {
        await waitHealthy();
        const r = await run(['switchover', target, '--force']);
        expect(r.stdout).toMatch(new RegExp(`${target} leads after [\\d.]+ s`));
        expect(r.stdout).toMatch(
          /writes reach \S+ through VIP, keepalived on proxy1, proxy2 after [\d.]+ s, HAProxy on proxy1 after [\d.]+ s, HAProxy on proxy2 after/,
        );
        expect(r.stdout).toMatch(/streams from .*; switchover done in [\d.]+ s/);
        assertLeader(target);
        figures.push(`→ ${target}: ${r.stdout.trim().split('\n').slice(1).join(' | ')}`);
      }
    },
    10 * 60_000,
  );

  it('refuses an unknown node and the current leader (exit 3, reason listed)', async () => {
    await waitHealthy();
    const unknown = await run(['switchover', 'pg9', '--force'], 3);
    // Refused from config.yml alone, before any host is contacted.
    expect(unknown.stderr).toContain('pg9 is not a data node in config.yml');
    const leader = leaderName()!;
    const self = await run(['switchover', leader, '--force'], 3);
    expect(self.stderr).toContain(`${leader} is the current leader already`);
    expect(leaderName()).toBe(leader);
  }, 120_000);

  it('refuses a stopped replica, then accepts it once it is back', async () => {
    await waitHealthy();
    const leader = leaderName()!;
    const replica = NAMES.find((n) => n !== leader)!;
    sshOk(dir, IP[replica]!, `systemctl stop patroni@${CLUSTER}`);
    try {
      const r = await run(['switchover', replica, '--force'], 3);
      expect(r.stderr).toMatch(new RegExp(`${replica} (is not a member of the running cluster|is not a running replica)`));
      expect(leaderName()).toBe(leader);
    } finally {
      sshOk(dir, IP[replica]!, `systemctl start patroni@${CLUSTER}`);
    }
    await waitHealthy(180_000);
  }, 300_000);

  it('refuses a lagging replica, naming its lag and the limit', async () => {
    await waitHealthy();
    const leader = leaderName()!;
    const replica = NAMES.find((n) => n !== leader)!;
    // Patroni resumes a paused replay on its next loop (PostgreSQL 14+), so stall the WAL
    // receiver itself (by its pid, from pg_stat_wal_receiver) while the leader writes ~3 MB.
    const pid = onNode(replica, 'select pid from pg_stat_wal_receiver');
    expect(pid).toMatch(/^\d+$/);
    sshOk(dir, IP[replica]!, `kill -STOP ${pid}`);
    try {
      onNode(
        leader,
        'create table if not exists lagfill(x text); insert into lagfill select repeat(md5(i::text), 32) from generate_series(1, 3000) i;',
      );
      const r = await run(['switchover', replica, '--force'], 3);
      expect(r.stderr).toMatch(
        new RegExp(`${replica} lags (\\d+) bytes behind the leader, more than maximum_lag_on_failover \\(1048576\\)`),
      );
      expect(Number(/lags (\d+) bytes/.exec(r.stderr)?.[1])).toBeGreaterThan(1048576);
      expect(leaderName()).toBe(leader);
    } finally {
      sshOk(dir, IP[replica]!, `kill -CONT ${pid}`);
    }
    await waitHealthy(180_000);
  }, 300_000);

  it('schedules a switchover in 60 s, shows it in GET /cluster, and --cancel removes it', async () => {
    await waitHealthy();
    const leader = leaderName()!;
    const target = NAMES.find((n) => n !== leader)!;
    const at = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const r = await run(['switchover', target, '--scheduled', at, '--force']);
    expect(r.stdout).toMatch(new RegExp(`scheduled: Patroni switches over from ${leader} to ${target} at `));
    const scheduled = (await restGet('/cluster')).scheduled_switchover as Record<string, string> | undefined;
    expect(scheduled).toMatchObject({ from: leader, to: target });
    expect(Date.parse(scheduled!.at!)).toBe(Date.parse(at));
    // Anything else meanwhile is refused with the schedule named.
    const other = await run(['switchover', target, '--force'], 3);
    expect(other.stderr).toMatch(/already scheduled at/);
    const cancel = await run(['switchover', '--cancel']);
    expect(cancel.stdout).toMatch(new RegExp(`cancelled the scheduled switchover to ${target}`));
    expect((await restGet('/cluster')).scheduled_switchover).toBeUndefined();
    const again = await run(['switchover', '--cancel'], 3);
    expect(again.stderr).toContain('no scheduled switchover to cancel');
    expect(leaderName()).toBe(leader);
  }, 180_000);

  it('pause stops switchovers until resume', async () => {
    await waitHealthy();
    await run(['pause', '--wait']);
    expect((await restGet('/cluster')).pause).toBe(true);
    const leader = leaderName()!;
    const target = NAMES.find((n) => n !== leader)!;
    const refused = await run(['switchover', target, '--force'], 3);
    expect(refused.stderr).toMatch(/the cluster is paused/);
    expect((await run(['pause'])).stdout).toMatch(/paused already/);
    await run(['resume', '--wait']);
    expect((await restGet('/cluster')).pause).toBeUndefined();
  }, 180_000);

  it('edit-config shows a diff and needs --force without a terminal; restart --pending rolls the change', async () => {
    await waitHealthy();
    const refused = await run(['edit-config', '-p', 'shared_buffers=160MB'], 3);
    expect(refused.stdout).toMatch(/^\+\s+shared_buffers: 160MB$/m);
    expect(refused.stderr).toMatch(/no terminal to confirm on/);
    const applied = await run(['edit-config', '-p', 'shared_buffers=160MB', '--force']);
    expect(applied.stdout).toMatch(/PATCH \/config/);
    expect(applied.stdout).toMatch(/source of truth/);
    expect((await restGet('/config')).postgresql).toMatchObject({ parameters: { shared_buffers: '160MB' } });
    // Every member notices within one loop_wait that it needs a restart.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !patronictl().every((m) => m['Pending restart'] === '*')) await sleep(1000);
    expect(patronictl().map((m) => m['Pending restart'])).toEqual(['*', '*', '*']);

    const leader = leaderName()!;
    const r = await run(['restart', '--pending']);
    const order = [...r.stdout.matchAll(/^(pg\d): restarting/gm)].map((m) => m[1]);
    expect(order).toHaveLength(3);
    expect(order[2]).toBe(leader);
    await waitHealthy();
    for (const n of NAMES) expect(onNode(n, 'show shared_buffers')).toBe('160MB');
    expect(patronictl().map((m) => m['Pending restart'] ?? '')).toEqual(['', '', '']);
    expect(leaderName()).toBe(leader);
  }, 600_000);

  it('loses no acknowledged write through HAProxy during a switchover', async () => {
    await waitHealthy();
    const leader = leaderName()!;
    const target = NAMES.find((n) => n !== leader)!;
    const writer = new ProxyWriter(dir, PROXY);
    writer.install();
    const stop = writer.start('writer');
    await sleep(2000);
    const r = await run(['switchover', target, '--force']);
    await sleep(3000);
    const report = await stop();
    assertLeader(target);
    expect(report.acked).toBeGreaterThan(100);
    expect(report.lost).toBe(0);
    // Writes flow again by the end (3 s after the switchover returned), not only were none lost.
    expect(report.lastError, 'writes through HAProxy had not resumed when the writer stopped').toBeUndefined();
    expect(report.longestGapMs).toBeLessThan(3000);
    figures.push(
      `writer through HAProxy: ${report.acked} acknowledged inserts, ${report.lost} lost, longest gap ${report.longestGapMs} ms, ${report.errors} failed attempts; ${r.stdout.trim().split('\n').slice(1).join(' | ')}`,
    );
  }, 300_000);

  it('history lists the switchovers', async () => {
    const r = await run(['history', '-o', 'json']);
    const entries = JSON.parse(r.stdout) as { timeline: number; newLeader?: string }[];
    // pg1→pg2, pg2→pg3, pg3→pg1 and the writer's switchover.
    expect(entries.length).toBeGreaterThanOrEqual(4);
    expect(entries.slice(0, 3).map((e) => e.newLeader)).toEqual(['pg2', 'pg3', 'pg1']);
    const table = await run(['history']);
    expect(table.stdout).toMatch(/^TL\s+LSN\s+Reason/);
  }, 60_000);

  it('show-config reads the DCS configuration; failover refuses while the leader is healthy', async () => {
    const yaml = await run(['show-config']);
    expect(yaml.stdout).toMatch(/^maximum_lag_on_failover: 1048576$/m);
    const json = JSON.parse((await run(['show-config', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(json.loop_wait).toBe(10);
    const leader = leaderName()!;
    const target = NAMES.find((n) => n !== leader)!;
    const r = await run(['failover', '--candidate', target], 3);
    expect(r.stderr).toMatch(new RegExp(`${leader} is a healthy leader: use \`pgha switchover DIR ${target}\``));
    expect(leaderName()).toBe(leader);
  }, 60_000);

  it(
    'reload and restart one member act on that member only',
    async () => {
      await waitHealthy();
      const replica = NAMES.find((n) => n !== leaderName())!;
      const startTime = (n: string) => onNode(n, 'select pg_postmaster_start_time()');
      const before = Object.fromEntries(NAMES.map((n) => [n, startTime(n)]));
      await run(['reload', replica]);
      expect(startTime(replica)).toBe(before[replica]);
      await run(['restart', replica]);
      await waitHealthy();
      for (const n of NAMES) {
        if (n === replica) expect(startTime(n)).not.toBe(before[n]);
        else expect(startTime(n)).toBe(before[n]);
      }
    },
    5 * 60_000,
  );

  it(
    'reinit rebuilds a replica from the leader',
    async () => {
      await waitHealthy();
      const replica = NAMES.find((n) => n !== leaderName())!;
      onNode(replica, 'select 1');
      const marker = sshOk(dir, IP[replica]!, `stat -c %i /var/lib/postgresql/17/${CLUSTER}/PG_VERSION`).trim();
      await run(['reinit', replica, '--force']);
      await waitHealthy();
      // A fresh basebackup: the data directory's files are new.
      expect(sshOk(dir, IP[replica]!, `stat -c %i /var/lib/postgresql/17/${CLUSTER}/PG_VERSION`).trim()).not.toBe(marker);
    },
    5 * 60_000,
  );

  it(
    'without vip_address, deploy stops and disables keepalived on both proxies and the address is released; given back, one proxy holds it again',
    async () => {
      const path = join(dir, 'config.yml');
      const original = readFileSync(path, 'utf8');
      const doc = parse(original) as { cluster_vars: Record<string, unknown> };
      const vip = String(doc.cluster_vars.vip_address);
      const holding = () => [PROXY, PROXY2].filter((ip) => sshOk(dir, ip, `ip -o -4 addr show to ${vip}/32`).trim() !== '');
      expect(holding()).toHaveLength(1);
      delete doc.cluster_vars.vip_address;
      writeFileSync(path, stringify(doc));
      try {
        const check = await run(['deploy', '--check'], 10);
        expect(check.stdout.match(/stop and disable keepalived\.service/g)).toHaveLength(2);
        await run(['deploy']);
        for (const ip of [PROXY, PROXY2]) {
          expect(ssh(dir, ip, 'systemctl is-active keepalived; systemctl is-enabled keepalived').stdout.trim().split('\n')).toEqual([
            'inactive',
            'disabled',
          ]);
        }
        expect(holding()).toEqual([]);
        expect((await run(['deploy', '--check'])).stdout).not.toMatch(/keepalived/);
      } finally {
        writeFileSync(path, original);
      }
      await run(['deploy']);
      expect(holding()).toHaveLength(1);
      expect((await run(['test'])).stdout).toMatch(new RegExp(`VIP ${vip.replaceAll('.', '\\.')}: writes reach the leader`));
    },
    6 * 60_000,
  );

  // Last: the fault cases leave a host off the network.
  monitoringAlertCases(monitoringEnv);
  statusFaultCases(statusEnv);

  it('never prints a secret', () => {
    const all = outputs.join('\n');
    for (const s of clusterSecrets(dir)) expect(all).not.toContain(s);
  });
});
