/**
 * `pgha status`, `pgha test` and `pgha exporter` on the operations suite's cluster
 * (./operations.test.ts): the reading cases first, on a fresh cluster whose leader is pg1, and
 * the faults last (Patroni stopped on a replica, failover, restart --scheduled, a host off the
 * network), after the switchover cases. They had a cluster of their own until 2026-12-05; one
 * cluster for both keeps CI within its budget.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ClusterStatus } from '../../src/app/status.js';
import { BIN, clusterSecrets, pgha, pghaOk, ssh, sshOk, type Ran } from './harness.js';

export interface StatusEnv {
  dir(): string;
  cluster: string;
  /** pg1, pg2, pg3, proxy1 and monitor1, in config.yml's order. */
  ips: Record<string, string>;
  outputs: string[];
}

interface PatronictlMember {
  Member: string;
  Host: string;
  Role: string;
  State: string;
  TL?: number;
}

/** `pgha exporter --cluster DIR` on a free port of the controller; resolves once it listens. */
function exporterStarter(dir: () => string) {
  return (): Promise<{ child: ChildProcessWithoutNullStreams; url: string; log: () => string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'exporter', '--cluster', dir(), '-p', '0', '-b', '127.0.0.1'], {
        env: { ...process.env, CI: 'true' },
      });
      let log = '';
      child.stderr.on('data', (b: Buffer) => {
        log += b.toString();
        const m = /listening on (\S+), scraping/.exec(log);
        if (m) resolve({ child, url: `http://${m[1]!}`, log: () => log });
      });
      child.on('exit', (code) => reject(new Error(`pgha exporter exited ${code}: ${log}`)));
    });
}

async function scrape(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

/** The value of a metric's sample for one member (its labels carry member="NAME"). */
function sample(page: string, metric: string, member: string): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(`member="${member}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function helpers(env: StatusEnv) {
  const IPS = env.ips;
  const CLUSTER = env.cluster;
  const patronictl = (ip = IPS.pg1!): PatronictlMember[] =>
    JSON.parse(sshOk(env.dir(), ip, `patronictl -c /etc/patroni/${CLUSTER}.yml list -f json`)) as PatronictlMember[];
  const status = async (): Promise<ClusterStatus> => {
    const r = await pghaOk(['status', env.dir(), '-o', 'json']);
    env.outputs.push(r.stdout, r.stderr);
    return JSON.parse(r.stdout) as ClusterStatus;
  };
  const replicaName = () => patronictl().find((m) => m.Role !== 'Leader')!.Member;
  return { IPS, CLUSTER, patronictl, status, replicaName };
}

/** The cases that read a healthy cluster led by pg1 (they run first). */
export function statusReadingCases(env: StatusEnv): void {
  const { IPS, CLUSTER, patronictl, status } = helpers(env);
  const outputs = env.outputs;
  let dir = '';
  it('(status) the cluster is led by pg1', () => {
    dir = env.dir();
    expect(patronictl().find((m) => m.Role === 'Leader')?.Member).toBe('pg1');
  });

  it('status -o json agrees with patronictl list on a node', async () => {
    const s = await status();
    const ctl = patronictl(IPS.pg2);
    expect(s.cluster).toBe(CLUSTER);
    expect(s.members.map((m) => m.name)).toEqual(ctl.map((m) => m.Member).sort());
    for (const m of ctl) {
      const mine = s.members.find((x) => x.name === m.Member)!;
      expect(mine.role === 'leader' ? 'Leader' : 'Replica').toBe(m.Role);
      expect(mine.state).toBe(m.State);
      expect(mine.host).toBe(m.Host);
      expect(mine.reachable).toBe(true);
      if (m.TL !== undefined) expect(mine.timeline).toBe(m.TL);
    }
    expect(s.leader).toBe(ctl.find((m) => m.Role === 'Leader')?.Member);
    expect(s.pause).toBe(false);
  });

  it('status --versions shows each host’s Debian release and installed daemon versions; failsafe mode always', async () => {
    expect((await status()).hosts).toEqual([]);
    const json = await pghaOk(['status', dir, '-o', 'json', '--versions']);
    const s = JSON.parse(json.stdout) as ClusterStatus;
    expect(s.failsafeMode).toBe(false);
    expect(s.hosts.map((h) => h.name)).toEqual(Object.keys(IPS));
    for (const h of s.hosts) {
      expect(h.reachable, h.error).toBe(true);
      // Independent of pgha: the host's own os-release and dpkg, read with OpenSSH.
      const osr = sshOk(dir, IPS[h.name]!, '. /etc/os-release; echo "$ID $VERSION_ID $VERSION_CODENAME"').trim();
      expect(`${h.release!.id} ${h.release!.version} ${h.release!.codename}`).toBe(osr);
      expect(osr).toBe('debian 13 trixie');
      const names = Object.keys(h.packages!);
      // Every host also runs the monitoring host's node exporter; data nodes its postgres exporter.
      const own: Record<string, string[]> = {
        proxy1: ['haproxy', 'keepalived'],
        proxy2: ['haproxy', 'keepalived'],
        monitor1: ['prometheus'],
      };
      expect(names).toEqual(expect.arrayContaining(own[h.name] ?? ['etcd-server', 'patroni', 'postgresql-17']));
      expect(names).toEqual([...names].sort());
      for (const [p, v] of Object.entries(h.packages!)) {
        expect(sshOk(dir, IPS[h.name]!, `dpkg-query -W -f='\${Version}' ${p}`).trim()).toBe(v);
      }
    }
    const table = await pghaOk(['status', dir, '--versions']);
    expect(table.stdout).toMatch(new RegExp(`^\\+ Cluster: ${CLUSTER} \\(failsafe mode: off\\) -+\\+`));
    expect(table.stdout).toMatch(/^ {2}pg1 +Debian 13 \(trixie\) {2}etcd-server \S+, patroni 4\.0\.7\S*, postgresql-17 17\.\S+/m);
    expect(table.stdout).toMatch(/^ {2}proxy1 +Debian 13 \(trixie\) {2}haproxy 3\.0\.\S+/m);
  });

  it('status shows etcd health, HAProxy routing writes to the leader, certificate expiry', async () => {
    const s = await status();
    expect(s.etcd.map((e) => [e.name, e.healthy])).toEqual([
      ['pg1', true],
      ['pg2', true],
      ['pg3', true],
    ]);
    expect(s.etcd.filter((e) => e.leader)).toHaveLength(1);
    expect(s.haproxy.map((h) => h.host)).toEqual(Object.keys(IPS).filter((n) => n.startsWith('proxy')));
    for (const h of s.haproxy) {
      expect(h.writesTo, h.host).toEqual([s.leader]);
      expect(h.servers.map((x) => x.server).sort()).toEqual(['pg1', 'pg2', 'pg3']);
      for (const x of h.servers) expect(x.address, x.server).toBe(IPS[x.server]);
    }
    // The VIP: on exactly one proxy, keepalived running on both.
    expect(s.keepalived.filter((k) => k.holdsVip)).toHaveLength(1);
    expect(s.keepalived.map((k) => k.keepalived)).toEqual(s.haproxy.map(() => 'active'));
    // Independent: HAProxy's own socket, read with OpenSSH.
    const raw = sshOk(
      dir,
      IPS.proxy1!,
      `python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect("/run/haproxy/admin.sock"); s.sendall(b"show servers state\\n"); print(s.makefile().read())'`,
    );
    const upLine = raw.split('\n').find((l) => / pgha_rw \d+ \S+ \S+ 2 /.test(l));
    expect(upLine).toContain(` ${s.leader} `);
    expect(s.certificates.map((c) => c.host).sort()).toEqual(['CA', 'etcd peer CA', ...Object.keys(IPS)].sort());
    for (const c of s.certificates) expect(c.daysLeft).toBeGreaterThan(300);
  });

  it('status prints a patronictl-like table by default, and yaml on request', async () => {
    const table = await pghaOk(['status', dir]);
    outputs.push(table.stdout);
    expect(table.stdout).toMatch(new RegExp(`^\\+ Cluster: ${CLUSTER} \\(failsafe mode: off\\) -+\\+`));
    expect(table.stdout).toMatch(/\| Member \| Host +\| Role +\| State +\| TL \| Lag in MB \|/);
    expect(table.stdout).toMatch(new RegExp(`\\| pg1 +\\| ${IPS.pg1!.replace(/\./g, '\\.')} \\| Leader +\\| running`));
    expect(table.stdout).toContain('etcd: 3/3 healthy');
    expect(table.stdout).toMatch(/HAProxy proxy1: pgha_rw pg1 UP, pg2 DOWN, pg3 DOWN/);
    const yaml = await pghaOk(['status', dir, '-o', 'yaml']);
    outputs.push(yaml.stdout);
    expect((parse(yaml.stdout) as ClusterStatus).leader).toBe('pg1');
  });

  it('failsafe_mode: deploy -e failsafe_mode=true puts it in the live DCS and status shows it on; a plain deploy removes it', async () => {
    const showConfig = () =>
      parse(sshOk(dir, IPS.pg1!, `patronictl -c /etc/patroni/${CLUSTER}.yml show-config`)) as Record<string, unknown>;
    expect(showConfig().failsafe_mode).toBeUndefined();
    outputs.push((await pghaOk(['deploy', dir, '-e', 'failsafe_mode=true'])).stdout);
    expect(showConfig().failsafe_mode).toBe(true);
    expect((await status()).failsafeMode).toBe(true);
    expect((await pghaOk(['status', dir])).stdout).toMatch(new RegExp(`^\\+ Cluster: ${CLUSTER} \\(failsafe mode: on\\) -+\\+`));
    outputs.push((await pghaOk(['deploy', dir])).stdout);
    expect(showConfig().failsafe_mode).toBeUndefined();
    expect((await status()).failsafeMode).toBe(false);
  }, 180_000);

  it('pgha test passes on a healthy cluster', async () => {
    const r = await pgha(['test', dir]);
    outputs.push(r.stdout, r.stderr);
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).not.toContain('✗');
    for (const what of [
      'pg1: REST API',
      'pg2: replication',
      'pg3: replication',
      'replication: leader',
      'etcd pg1: health',
      'etcd: anonymous read',
      'etcd: etcd_patroni authenticates',
      'HAProxy proxy1: writes reach the leader',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^✓ ${what}`, 'm'));
    }
    expect(r.stdout).toMatch(/\d+ passed, 0 failed/);
  });

  const startExporter = exporterStarter(() => dir);

  it('pgha exporter --cluster DIR: every member and etcd member in metrics promtool accepts, /health 200', async () => {
    const ex = await startExporter();
    try {
      const m = await scrape(`${ex.url}/metrics`);
      expect(m.status).toBe(200);
      const ctl = patronictl();
      for (const member of ctl) {
        const role = member.Role === 'Leader' ? 'primary' : 'replica';
        const info = m.text.split('\n').find((l) => l.startsWith('patroni_patroni_info{') && l.includes(`member="${member.Member}"`));
        expect(info).toMatch(new RegExp(`role="${role}".*version="4\\.0\\.7"\\} 1$`));
        expect(sample(m.text, 'patroni_exporter_scrape_success', member.Member)).toBe(1);
      }
      expect(String(sample(m.text, 'patroni_postgresql_server_version', 'pg1'))).toMatch(/^17\d{4}$/);
      // etcd as the monitoring host's exporter reads it, from the controller with pgha's client certificate.
      for (const member of ctl) expect(sample(m.text, 'pgha_etcd_healthy', member.Member), member.Member).toBe(1);
      expect(ctl.map((member) => sample(m.text, 'pgha_etcd_is_leader', member.Member)).filter((v) => v === 1)).toHaveLength(1);
      const check = spawnSync('promtool', ['check', 'metrics'], { input: m.text, encoding: 'utf8' });
      expect(check.error, 'promtool (Debian package prometheus, installed by .ci/run)').toBeUndefined();
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
      expect((await scrape(`${ex.url}/health`)).status).toBe(200);
      for (const s of clusterSecrets(dir)) expect(`${m.text}${ex.log()}`).not.toContain(s);
    } finally {
      ex.child.kill('SIGTERM');
    }
  });
}

/** The faults, after every other case of the suite. */
export function statusFaultCases(env: StatusEnv): void {
  const { IPS, CLUSTER, patronictl, status, replicaName } = helpers(env);
  const outputs = env.outputs;
  let dir = '';
  it('(status) faults begin', () => {
    dir = env.dir();
    expect(dir).not.toBe('');
  });
  const startExporter = exporterStarter(() => dir);

  it('Patroni stopped on a replica: test exits 1 naming it, status still reports the others, the exporter says so', async () => {
    const victim = replicaName();
    const ex = await startExporter();
    sshOk(dir, IPS[victim]!, `systemctl stop patroni@${CLUSTER}`);
    try {
      const m = await scrape(`${ex.url}/metrics`);
      expect(sample(m.text, 'patroni_exporter_scrape_success', victim)).toBe(0);
      const h = await scrape(`${ex.url}/health`);
      expect(h.status).toBe(503);
      expect(h.text).toContain(victim);

      const t = await pgha(['test', dir]);
      outputs.push(t.stdout, t.stderr);
      expect(t.code).toBe(1);
      expect(t.stdout).toMatch(new RegExp(`^✗ ${victim}: REST API +unreachable`, 'm'));
      expect(t.stdout).toMatch(new RegExp(`^failed:\\n(  - .*\\n)*  - ${victim}: REST API`, 'm'));
      expect(t.stdout).toMatch(/^✓ replication: leader/m);

      const s = await status();
      const v = s.members.find((m) => m.name === victim)!;
      expect(v.reachable).toBe(false);
      expect(v.state).toBe('unreachable');
      for (const m of s.members.filter((x) => x.name !== victim)) {
        expect(m.reachable).toBe(true);
        // Patroni 4 says `streaming` for a replica that receives WAL, 3.0.2 `running`.
        expect(m.state).toMatch(m.name === s.leader ? /^running$/ : /^(running|streaming)$/);
      }
      expect(s.leader).toBeTruthy();
    } finally {
      ex.child.kill('SIGTERM');
      sshOk(dir, IPS[victim]!, `systemctl start patroni@${CLUSTER}`);
    }
    // Back to healthy before the next fault.
    const deadline = Date.now() + 120_000;
    let last = '';
    while (Date.now() < deadline) {
      const r = await pgha(['test', dir]);
      last = r.stdout;
      if (r.code === 0) break;
      await sleep(2000);
    }
    expect(last).toMatch(/ 0 failed/);
  }, 180_000);

  // The verbs that move or restart PostgreSQL on their own schedule, on the same cluster (it had
  // its own until 2026-12-05; one cluster fewer keeps CI in its budget): `failover` promoting a
  // candidate through Patroni (forced past a healthy leader, the only way to trigger it on
  // demand), and `restart --scheduled`, which Patroni carries out later by itself.
  const leaderNow = () => patronictl().find((m) => m.Role === 'Leader' && m.State === 'running')?.Member;
  const startTime = (node: string) =>
    sshOk(
      dir,
      IPS[node]!,
      'cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -c "select pg_postmaster_start_time()"',
    ).trim();
  const until = async (what: string, ok: () => boolean, seconds = 120) => {
    for (let i = 0; i < seconds; i++) {
      try {
        if (ok()) return;
      } catch {
        // A member in the middle of a restart: ask again.
      }
      await sleep(1000);
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it('failover --force promotes the candidate, and the old leader follows it', async () => {
    await until('a leader', () => leaderNow() !== undefined);
    const from = leaderNow()!;
    const to = from === 'pg3' ? 'pg2' : 'pg3';
    expect((await pgha(['failover', dir, '--candidate', to])).code).toBe(3);
    const r = await pghaOk(['failover', dir, '--candidate', to, '--force']);
    outputs.push(r.stdout, r.stderr);
    expect(r.stdout).toContain(`${to} leads after`);
    expect(leaderNow()).toBe(to);
    await until(`${from} to stream from ${to}`, () =>
      ['running', 'streaming'].includes(patronictl().find((m) => m.Member === from)?.State ?? ''),
    );
  }, 180_000);

  it('restart --scheduled leaves the restart to Patroni at the given time', async () => {
    const node = ['pg1', 'pg2', 'pg3'].find((n) => n !== leaderNow())!;
    const before = startTime(node);
    const at = new Date(Date.now() + 15_000).toISOString();
    await pghaOk(['restart', dir, node, '--scheduled', at]);
    // Not yet: the restart is Patroni's to do, at its time.
    expect(startTime(node)).toBe(before);
    await until(`${node} to restart at ${at}`, () => startTime(node) !== before, 90);
    await until('every replica streaming again', () =>
      patronictl()
        .filter((m) => m.Role !== 'Leader')
        .every((m) => ['running', 'streaming'].includes(m.State)),
    );
  }, 180_000);

  it('a host off the network: status shows it unreachable and still exits 0', async () => {
    const victim = replicaName();
    // Detached, so this ssh session returns before the link it runs over goes away.
    const r = ssh(dir, IPS[victim]!, 'nohup sh -c "sleep 1; ip link set host0 down" >/dev/null 2>&1 &');
    expect(r.code).toBe(0);
    await sleep(2500);
    // If the victim led etcd, the other two report unhealthy until they elect a leader
    // (election timeout plus pre-vote, a few seconds on a loaded machine): status shows that
    // transient truthfully, so wait for the quorum to settle rather than racing it.
    let s: ClusterStatus | undefined;
    const settle = Date.now() + 30_000;
    for (;;) {
      const res = await pgha(['status', dir, '-o', 'json', '--versions']);
      outputs.push(res.stdout, res.stderr);
      expect(res.code, res.stderr).toBe(0);
      s = JSON.parse(res.stdout) as ClusterStatus;
      if (s.etcd.filter((e) => e.healthy).length === 2 || Date.now() > settle) break;
      await sleep(1000);
    }
    const v = s.members.find((m) => m.name === victim)!;
    expect(v.reachable).toBe(false);
    expect(v.state).toBe('unreachable');
    expect(s.etcd.find((e) => e.name === victim)?.reachable).toBe(false);
    expect(s.etcd.filter((e) => e.healthy).length).toBe(2);
    expect(s.members.filter((m) => m.reachable).length).toBe(2);
    expect(s.haproxy[0]!.writesTo).toEqual([s.leader]);
    expect(s.hosts.find((h) => h.name === victim)).toMatchObject({ reachable: false, release: null, packages: null });
    const table = await pgha(['status', dir]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`\\| ${victim} +\\| \\S+ +\\| \\w* *\\| unreachable`));
  }, 120_000);
}

// ---- synchronous replication (issue 14) ----------------------------------------------------------
// On the operations suite's cluster (about a minute: two deploys that only PATCH /config).

export interface SyncEnv extends StatusEnv {
  /** psql through HAProxy's read-write port, as postgres. */
  viaProxy(sql: string): Ran;
}

/**
 * patroni_synchronous_mode: on set in config.yml, deployed (a DCS patch, no restart); status shows
 * one synchronous standby; a write through HAProxy commits; a switchover to the replica that is
 * not the synchronous standby is refused before Patroni is asked (exit 3); then config.yml as it
 * was and a deploy turn it off again. Runs on a healthy cluster led by pg1, leaving it so.
 */
export function synchronousReplicationCases(env: SyncEnv): void {
  const { CLUSTER, IPS, status } = helpers(env);
  it('synchronous replication: on through config.yml, one sync standby, writes commit, a non-sync switchover refused; then off', async () => {
    const dir = env.dir();
    const file = join(dir, 'config.yml');
    const original = readFileSync(file, 'utf8');
    const showConfig = () =>
      parse(sshOk(dir, IPS.pg1!, `patronictl -c /etc/patroni/${CLUSTER}.yml show-config`)) as Record<string, unknown>;
    try {
      writeFileSync(file, original.replace(/^cluster_vars:\n/m, 'cluster_vars:\n  patroni_synchronous_mode: "on"\n'));
      const check = await pgha(['deploy', dir, '--check']);
      env.outputs.push(check.stdout, check.stderr);
      expect(check.code).toBe(10);
      expect(check.stdout).toContain('cluster: patroni: PATCH /config {"synchronous_mode":true,"synchronous_node_count":1}');
      expect(check.stdout).not.toContain('rolling restart');
      env.outputs.push((await pghaOk(['deploy', dir])).stdout);
      expect(showConfig()).toMatchObject({ synchronous_mode: true, synchronous_node_count: 1 });

      // Patroni names the synchronous standby within a loop or two of reading the new configuration.
      let s = await status();
      for (let i = 0; i < 30 && s.syncStandbys.length !== 1; i++) {
        await sleep(1000);
        s = await status();
      }
      expect(s.synchronousMode).toBe('on');
      expect(s.syncStandbys).toHaveLength(1);
      const sync = s.syncStandbys[0]!;
      expect(s.members.find((m) => m.name === sync)?.role).toBe('sync_standby');
      expect((await pghaOk(['status', dir])).stdout).toContain(` Synchronous mode: on, synchronous standby: ${sync}`);

      // A commit through HAProxy is acknowledged (it waited for the synchronous standby).
      const w = env.viaProxy(
        "CREATE TABLE IF NOT EXISTS sync_probe (id int); INSERT INTO sync_probe VALUES (1); SELECT sync_state FROM pg_stat_replication WHERE sync_state = 'sync'",
      );
      expect(w.stderr).toBe('');
      expect(w.stdout.split('\n')).toContain('sync');

      const other = ['pg2', 'pg3'].find((n) => n !== sync)!;
      const refused = await pgha(['switchover', dir, other, '--force']);
      env.outputs.push(refused.stdout, refused.stderr);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain(`${other} is not a synchronous standby`);
      expect(refused.stderr).toContain(`switch over to ${sync}`);
      expect((await status()).leader).toBe('pg1');
    } finally {
      writeFileSync(file, original);
      env.outputs.push((await pghaOk(['deploy', dir])).stdout);
    }
    expect(showConfig().synchronous_mode).toBeUndefined();
    expect((await status()).synchronousMode).toBe('off');
  }, 300_000);
}
