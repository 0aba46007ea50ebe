/**
 * The faults suite, run by faults.test.ts (Debian 13, every case) and faults-debian12.test.ts
 * (Debian 12: the roll of pgha's fixed Patroni onto a running cluster, then the stalls). Faults on a real cluster (3 data nodes with etcd + HAProxy, nspawn): the leader's whole
 * container losing power, one etcd member stopped, a data node off the network while a
 * config change is pending, the leader frozen or partitioned under a writer, and the partition
 * again with synchronous_mode strict (issue 14: 0 acknowledged writes lost). Each is asserted with probes that do not go through pgha's code
 * (patronictl and psql on the nodes over OpenSSH, psql through HAProxy, etcd's /health over
 * HTTPS), and each ends with the cluster converged again by pgha itself. The containers are
 * removed even when a test fails.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { ClusterStatus } from '../../src/app/status.js';
import {
  firstAckAfterMs,
  freezeContainer,
  lostAckedAfter,
  patronictl as patronictlOn,
  pidsInContainer,
  procState,
  ProxyWriter,
  thawContainer,
  type PatronictlMember,
  type WriterReport,
} from './probes.js';
import {
  clusterSecrets,
  configureM1Args,
  e2eSuiteCanRun,
  pgha,
  pghaOk,
  psql,
  removeStaleCluster,
  removeTestCluster,
  ssh,
  sshOk,
  type Ran,
} from './harness.js';

export interface FaultsOptions {
  /** The Debian release of every host (configure --os-version). */
  osVersion: 12 | 13;
  cluster: string;
  subnet: string;
  /** e2eSuiteCanRun's name for the suite. */
  suite: string;
  /** The Patroni package deploy must install: pgha's fixed build on 12, Debian's own (already fixed) on 13. */
  patroniVersion: string;
  /**
   * Only the cases where Patroni's leader key is at stake (frozen leader, partitioned leader), the
   * frozen etcd-only member (with etcdNodes) and the secret check: what a second release must prove.
   */
  stallsOnly: boolean;
  /** Dedicated etcd hosts (configure --etcd-nodes): adds the frozen etcd-only member case. */
  etcdNodes?: number;
  /**
   * Deploy this (Debian's own, unfixed) Patroni first, see deploy, status and test warn about it,
   * then roll patroniVersion onto the running cluster with `pgha upgrade --components=patroni
   * --primary-strategy switchover` under a writer, as an operator with an existing cluster would.
   */
  rollFixFrom?: string;
}

export function faultsSuite(o: FaultsOptions): void {
  /**
   * PGHA_FAULTS_UNPATCHED=1 deploys Debian's own patroni 3.0.2-1 (pinned) instead of pgha's fixed
   * build, as cluster sbfault on 10.241.1.0/24 beside a CI run: the freeze cases must then fail
   * (packaging/patroni/README.md). Not for CI.
   */
  const UNPATCHED = process.env.PGHA_FAULTS_UNPATCHED === '1' && o.osVersion === 12;
  const CLUSTER = UNPATCHED ? 'sbfault' : o.cluster;
  const SUBNET = UNPATCHED ? '10.241.1' : o.subnet;
  const canRun = e2eSuiteCanRun(o.suite);
  /**
   * The crash, stop, network, frozen-replica and strict-partition cases run on the default release
   * only (a frozen replica never touches the leader key: 0 lost on both releases in every run up to
   * stop 20; synchronous mode is Patroni's own code, which pgha's patch does not touch, and CI
   * time is tight); the leader's stalls on every release.
   */
  const itAll = o.stallsOnly ? () => undefined : it;
  /** Patroni's ttl as pgha sets it (src/components/patroni/dcs.ts), and how long a freeze lasts. */
  const TTL_MS = 30_000;
  const FREEZE_MS = 45_000;
  /** Every host's address, as configure wrote them into config.yml (filled in beforeAll). */
  const IP: Record<string, string> = {};
  const DATA = ['pg1', 'pg2', 'pg3'];
  const STATE = `/var/lib/pgha/${CLUSTER}`;

  /** The pid of a container's init (its systemd), the only child of the host's systemd-nspawn. */
  function containerInit(host: string): number {
    const nspawn = Number(readFileSync(join(STATE, host, 'pid'), 'utf8').trim());
    expect(readFileSync(`/proc/${nspawn}/comm`, 'utf8').trim()).toBe('systemd-nspawn');
    const children = readFileSync(`/proc/${nspawn}/task/${nspawn}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(children).toHaveLength(1);
    const init = children[0]!;
    expect(readFileSync(`/proc/${init}/comm`, 'utf8').trim()).toBe('systemd');
    // Its own pid namespace: killing it takes the whole container, nothing of the machine's.
    expect(spawnSync('readlink', [`/proc/${init}/ns/pid`], { encoding: 'utf8' }).stdout).not.toBe(
      spawnSync('readlink', ['/proc/self/ns/pid'], { encoding: 'utf8' }).stdout,
    );
    return init;
  }

  /** Every process of a host's container (see probes.ts). */
  const containerPids = (host: string): number[] => pidsInContainer(containerInit(host));
  const freeze = (host: string): number[] => freezeContainer(containerInit(host));
  const thaw = (host: string, pids: readonly number[]): void => {
    let init: number | undefined;
    try {
      init = containerInit(host);
    } catch {
      // the container is gone: resume what was stopped, if anything is left
    }
    thawContainer(init, pids);
  };

  describe.skipIf(!canRun)(`faults on nspawn: M1 + HAProxy, Debian ${o.osVersion}`, () => {
    let root = '';
    let dir = '';
    const outputs: string[] = [];

    const patronictl = (ip: string): PatronictlMember[] => patronictlOn(dir, ip, CLUSTER);
    const secret = (name: string) => readFileSync(join(dir, 'secrets', name), 'utf8').trim();
    /** psql through HAProxy; stdout is the first row (psql prints INSERT's command tag after it). */
    const viaProxy = (sql: string): Ran => {
      const r = psql(`host=${IP.proxy1} port=5432 user=postgres dbname=postgres sslmode=require`, sql, secret('postgres'));
      return { ...r, stdout: r.stdout.split('\n')[0] ?? '' };
    };
    /** psql on a node over its socket, as the postgres OS user (no pgha code involved). */
    const local = (node: string, sql: string) =>
      sshOk(
        dir,
        IP[node]!,
        `cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -v ON_ERROR_STOP=1 -c ${JSON.stringify(sql)}`,
      ).trim();
    const run = async (args: string[]): Promise<Ran> => {
      const r = await pgha(args);
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    const ok = async (args: string[], code = 0): Promise<Ran> => {
      const r = await pghaOk(args, code);
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    /** Sets (or, with undefined, removes) one of config.yml's cluster_vars. */
    const setClusterVar = (key: string, value: unknown): void => {
      const configPath = join(dir, 'config.yml');
      const doc = parse(readFileSync(configPath, 'utf8')) as { cluster_vars: Record<string, unknown> };
      if (value === undefined) delete doc.cluster_vars[key];
      else doc.cluster_vars[key] = value;
      writeFileSync(configPath, stringify(doc));
    };
    const setPatroniPin = (version: string | undefined): void => setClusterVar('patroni_package_version', version);
    const status = async (): Promise<ClusterStatus> => JSON.parse((await ok(['status', dir, '-o', 'json'])).stdout) as ClusterStatus;
    const until = async <T>(what: string, probe: () => T | undefined | Promise<T | undefined>, seconds = 180): Promise<T> => {
      const deadline = Date.now() + seconds * 1000;
      let last = '';
      for (;;) {
        try {
          const v = await probe();
          if (v !== undefined) return v;
        } catch (e) {
          // A member in the middle of a restart or an election: ask again.
          last = (e as Error).message;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
        await sleep(1000);
      }
    };
    const leaderOn = (ip: string) => patronictl(ip).find((m) => m.Role === 'Leader' && m.State === 'running')?.Member;
    /** Waits until `probe` sees a running leader other than `old` (a fault's successor), and names it. */
    const newLeaderOn = (probe: string, old: string, seconds?: number) =>
      until(
        'a new leader among the survivors',
        () => {
          const l = leaderOn(probe);
          return l && l !== old ? l : undefined;
        },
        seconds,
      );
    /** The leader as patronictl on the first data node that answers sees it. */
    const leaderNow = (): string => {
      for (const n of DATA) {
        const r = ssh(dir, IP[n]!, `patronictl -c /etc/patroni/${CLUSTER}.yml list -f json`);
        const l =
          r.code === 0
            ? (JSON.parse(r.stdout) as PatronictlMember[]).find((m) => m.Role === 'Leader' && m.State === 'running')?.Member
            : undefined;
        if (l) return l;
      }
      throw new Error('no data node names a running leader');
    };
    /** patronictl's roles of a member that follows the leader (a synchronous standby under synchronous_mode). */
    const REPLICA_ROLES = ['Replica', 'Sync Standby'];
    /** Every member streaming with no lag, as patronictl on `ip` sees it, or undefined. */
    const converged = (ip: string): PatronictlMember[] | undefined => {
      const ms = patronictl(ip);
      const leaders = ms.filter((m) => m.Role === 'Leader' && m.State === 'running');
      const replicas = ms.filter((m) => m.Role !== 'Leader');
      const good =
        ms.length === 3 &&
        leaders.length === 1 &&
        replicas.every(
          (m) => REPLICA_ROLES.includes(m.Role) && ['running', 'streaming'].includes(m.State) && Number(m['Lag in MB'] ?? 0) === 0,
        );
      return good ? ms : undefined;
    };
    /** The leader's own view of its WAL senders: who really streams from it. */
    const streamingFrom = (leader: string): string[] =>
      local(leader, "select application_name from pg_stat_replication where state = 'streaming' order by 1").split('\n').filter(Boolean);
    const testExits0 = async () => {
      const t = await until(
        'pgha test to pass',
        async () => {
          const r = await run(['test', dir]);
          return r.code === 0 ? r : undefined;
        },
        120,
      );
      expect(t.stdout).not.toContain('✗');
      expect(t.stdout).toMatch(/\d+ passed, 0 failed/);
    };
    const sha = (node: string, path: string) => sshOk(dir, IP[node]!, `sha256sum ${path}`).split(' ')[0]!;
    const unitStamp = (node: string, unit: string) =>
      sshOk(dir, IP[node]!, `systemctl show -p ActiveEnterTimestampMonotonic -p MainPID ${unit}`).trim();
    const postmasterStart = (node: string) => local(node, 'select pg_postmaster_start_time()');

    beforeAll(async () => {
      await removeStaleCluster(CLUSTER);
      root = mkdtempSync(join(tmpdir(), 'pgha-e2e-faults-'));
      dir = join(root, CLUSTER);
      await ok(configureM1Args(dir, SUBNET, { osVersion: o.osVersion, etcdNodes: o.etcdNodes }));
      const written = parse(readFileSync(join(dir, 'config.yml'), 'utf8')) as { instances: { Name: string; ip_address: string }[] };
      for (const i of written.instances) IP[i.Name] = i.ip_address;
      const startsOn = UNPATCHED ? '3.0.2-1' : o.rollFixFrom;
      if (startsOn) setPatroniPin(startsOn);
      await ok(['download-packages', dir]);
      await ok(['provision', dir]);
      const deployed = await ok(['deploy', dir]);
      // pgha's own Patroni build unless pinned to Debian's, and deploy says when it is not.
      for (const n of DATA) {
        expect(sshOk(dir, IP[n]!, "dpkg-query -W -f='${Version}' patroni").trim()).toBe(startsOn ?? o.patroniVersion);
      }
      if (startsOn) {
        for (const n of DATA) {
          expect(deployed.stdout).toMatch(
            new RegExp(
              `^warning: ${n}: Patroni 3\\.0\\.2 without the leader key fix: .*; fix: pgha download-packages .*--components=patroni$`,
              'm',
            ),
          );
        }
      } else expect(deployed.stdout).not.toContain('leader key fix');
      await until('the cluster to stream with no lag', () => converged(IP.pg2!));
      expect(viaProxy('create table faults (id serial primary key, at text not null default host(inet_server_addr()))').code).toBe(0);
    }, 30 * 60_000);

    afterAll(async () => {
      await removeTestCluster(dir, root);
    }, 5 * 60_000);

    if (o.rollFixFrom) {
      const from = o.rollFixFrom;
      it(
        `status and test flag Patroni ${from}; upgrade rolls ${o.patroniVersion} onto the running cluster (switchover of the leader), losing no acknowledged write`,
        async () => {
          const s = await status();
          for (const n of DATA) expect(s.members.find((m) => m.name === n)?.knownBug).toMatch(/without the leader key fix/);
          expect((await ok(['status', dir])).stdout).toMatch(
            /^warning: pg1: Patroni 3\.0\.2 without the leader key fix: .*; fix: pgha download-packages /m,
          );
          const t = await run(['test', dir]);
          expect(t.stdout).toMatch(/leader key fix/);

          const leader = leaderNow();
          const w = proxyWriter();
          await w.waitWritable();
          const stop = w.start(`w_rollfix_${Date.now() % 100000}`);
          await sleep(2000);
          const up = await run([
            'upgrade',
            dir,
            '--components=patroni',
            '-e',
            `patroni_package_version=${o.patroniVersion}`,
            '--primary-strategy',
            'switchover',
          ]);
          await sleep(2000);
          const report = await stop();
          expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
          process.stdout.write(
            `[figure] upgrade patroni ${from} → ${o.patroniVersion}: ${report.acked} acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms\n`,
          );
          expect(report.lost).toBe(0);
          for (const n of DATA) expect(sshOk(dir, IP[n]!, "dpkg-query -W -f='${Version}' patroni").trim()).toBe(o.patroniVersion);
          // The leader was switched over, by the code path `pgha switchover` takes.
          expect(leaderNow()).not.toBe(leader);
          const after = await status();
          for (const n of DATA) expect(after.members.find((m) => m.name === n)?.knownBug).toBeUndefined();
          // Unpinned again, deploy keeps the fixed build (the newest in the repository) and warns no more.
          setPatroniPin(undefined);
          const d = await ok(['deploy', dir]);
          expect(d.stdout).not.toContain('leader key fix');
          await until('the cluster to stream with no lag', () => converged(IP.pg2!));
        },
        15 * 60_000,
      );
    }

    it('a replica’s GET /metrics parses as Prometheus text (promtool), with a numeric timeline', async () => {
      // Debian's 3.0.2 printed a replica's timeline as "None": Prometheus rejected the whole
      // scrape and PatroniMemberDown fired for healthy replicas (packaging/patroni/README.md).
      const leader = leaderNow();
      const replica = DATA.find((n) => n !== leader)!;
      const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8'), timeout: 5000 } });
      try {
        const res = await request(`https://${IP[replica]}:8008/metrics`, { dispatcher });
        const body = await res.body.text();
        expect(res.statusCode).toBe(200);
        expect(body).toMatch(/^patroni_replica\{[^}]*\} 1$/m);
        expect(body).toMatch(/^patroni_postgres_timeline\{[^}]*\} \d+$/m);
        const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
        const said = `${check.stdout}${check.stderr}`;
        // promtool exits 1 when the text does not parse, 3 for lint findings only: Patroni's own
        // metric names (counters without _total) draw those on every release, and scrape fine.
        expect(check.error).toBeUndefined();
        expect([0, 3], said).toContain(check.status);
        expect(said).not.toMatch(/error|parsing/i);
        process.stdout.write(`[figure] ${replica} GET /metrics: ${body.split('\n').length} lines, promtool exit ${check.status}\n`);
      } finally {
        await dispatcher.close();
      }
    });

    itAll(
      'leader container loses power: Patroni fails over, HAProxy follows, pgha reports it, and the old leader rejoins as a replica',
      async () => {
        const old = leaderOn(IP.pg2!)!;
        expect(DATA).toContain(old);
        const survivors = DATA.filter((n) => n !== old);
        const probe = IP[survivors[0]!]!;
        const before = Number(viaProxy('insert into faults default values returning id').stdout);
        expect(before).toBeGreaterThan(0);

        // SIGKILL to the container's init: the kernel kills its whole pid namespace at once, like a
        // power cut — Patroni gets no chance to hand over the leader key, which has to expire.
        const t0 = Date.now();
        process.kill(containerInit(old), 'SIGKILL');
        const next = await newLeaderOn(probe, old);
        const tLeader = (Date.now() - t0) / 1000;
        expect(survivors).toContain(next);
        // Writes through HAProxy land on the new leader (its address, and it is not in recovery).
        const row = await until('writes through HAProxy to reach the new leader', () => {
          const r = viaProxy('insert into faults default values returning at, pg_is_in_recovery()');
          return r.code === 0 && r.stdout === `${IP[next]}|f` ? r.stdout : undefined;
        });
        const tWrites = (Date.now() - t0) / 1000;
        expect(row).toBe(`${IP[next]}|f`);
        // Figures for the notes, not assertions.
        process.stdout.write(
          `[figure] leader power cut: new leader ${next} after ${tLeader.toFixed(1)} s, writes through HAProxy reach it after ${tWrites.toFixed(1)} s\n`,
        );

        const s = await status();
        expect(s.leader).toBe(next);
        const dead = s.members.find((m) => m.name === old)!;
        expect(dead.reachable).toBe(false);
        expect(dead.state).toBe('unreachable');
        expect(s.etcd.find((e) => e.name === old)?.healthy).toBe(false);
        expect(
          s.etcd
            .filter((e) => e.healthy)
            .map((e) => e.name)
            .sort(),
        ).toEqual(survivors);
        expect(s.haproxy[0]!.writesTo).toEqual([next]);
        const table = await ok(['status', dir]);
        expect(table.stdout).toMatch(new RegExp(`\\| ${old} +\\| \\S+ +\\| \\w* *\\| unreachable`));
        expect(table.stdout).toMatch(new RegExp(`\\| ${next} +\\| \\S+ +\\| Leader +\\| running`));

        const t = await run(['test', dir]);
        expect(t.code, t.stdout).toBe(1);
        expect(t.stdout).toMatch(new RegExp(`^✗ ${old}: REST API +unreachable`, 'm'));
        expect(t.stdout).toMatch(new RegExp(`^✓ replication: leader +${next}`, 'm'));

        // Power back: provision boots the stopped container on its kept state, deploy brings it in.
        const t1 = Date.now();
        await ok(['provision', dir]);
        const d = await ok(['deploy', dir]);
        process.stdout.write(`[figure] provision + deploy to bring ${old} back: ${((Date.now() - t1) / 1000).toFixed(1)} s\n`);
        expect(d.stdout).not.toMatch(/^error/m);
        // The leader stayed where the failover put it: deploy follows the DCS, not config.yml.
        const ms = await until(`${old} to stream from ${next} with no lag`, () => converged(probe));
        expect(ms.find((m) => m.Role === 'Leader')?.Member).toBe(next);
        expect(ms.find((m) => m.Member === old)?.Role).toBe('Replica');
        expect(Number(ms.find((m) => m.Member === old)?.['Lag in MB'] ?? 0)).toBe(0);
        expect(streamingFrom(next)).toContain(old);
        expect(local(old, 'select pg_is_in_recovery()')).toBe('t');
        // Everything written through HAProxy before and after the failover is there on the old leader.
        const last = Number(viaProxy('insert into faults default values returning id').stdout);
        await until(
          `${old} to replay row ${last}`,
          () => (Number(local(old, 'select max(id) from faults')) >= last ? true : undefined),
          60,
        );
        expect(Number(local(old, `select count(*) from faults where id in (${before}, ${last})`))).toBe(2);
        await testExits0();
      },
      20 * 60_000,
    );

    itAll(
      'one etcd member down: status and test name it, an etcd reconfiguration is refused, a plain deploy warns and starts it',
      async () => {
        const leader = leaderNow();
        const victim = DATA.find((n) => n !== leader)!;
        const others = DATA.filter((n) => n !== victim);
        sshOk(dir, IP[victim]!, 'systemctl stop etcd.service');
        expect(ssh(dir, IP[victim]!, 'systemctl is-active etcd.service').stdout.trim()).toBe('inactive');

        const s = await status();
        const e = s.etcd.find((x) => x.name === victim)!;
        expect(e.healthy).toBe(false);
        expect(e.reachable).toBe(false);
        for (const n of others) expect(s.etcd.find((x) => x.name === n)?.healthy).toBe(true);
        const table = await ok(['status', dir]);
        expect(table.stdout).toContain('etcd: 2/3 healthy');
        expect(table.stdout).toMatch(new RegExp(`^  ${victim} +https://${IP[victim]!.replace(/\./g, '\\.')}:2379 +unreachable: `, 'm'));

        const t = await run(['test', dir]);
        expect(t.code, t.stdout).toBe(1);
        expect(t.stdout).toMatch(new RegExp(`^✗ etcd ${victim}: health +unreachable`, 'm'));
        for (const n of others) expect(t.stdout).toMatch(new RegExp(`^✓ etcd ${n}: health`, 'm'));

        // A deploy that would restart etcd members for a new configuration: refused before any
        // change, naming the member and the fix.
        const etcdConf = '/etc/etcd/pgha.conf.yml';
        const confBefore = Object.fromEntries(DATA.map((n) => [n, sha(n, etcdConf)]));
        const stampsBefore = Object.fromEntries(others.map((n) => [n, unitStamp(n, 'etcd.service')]));
        const refused = await run(['deploy', dir, '-e', 'etcd_conf_settings={heartbeat-interval: 150}']);
        expect(refused.code, refused.stdout + refused.stderr).toBe(3);
        // For the notes: what the operator reads.
        process.stdout.write(`[output] deploy with etcd ${victim} down and an etcd change:\n${refused.stderr}`);
        expect(refused.stderr).toContain(`etcd member ${victim} is down`);
        expect(refused.stderr).toMatch(/below etcd's quorum of 2/);
        expect(refused.stderr).toContain(`fix: bring etcd back on ${victim}`);
        expect(refused.stderr).toContain('systemctl start etcd');
        for (const n of DATA) expect(sha(n, etcdConf), `${n}: ${etcdConf}`).toBe(confBefore[n]);
        for (const n of others) expect(unitStamp(n, 'etcd.service'), `${n}: etcd restarted`).toBe(stampsBefore[n]);
        expect(ssh(dir, IP[victim]!, 'systemctl is-active etcd.service').stdout.trim()).toBe('inactive');

        // --check shows the warning and that deploy would start it.
        const check = await run(['deploy', dir, '--check']);
        expect(check.code, check.stdout + check.stderr).toBe(10);
        expect(check.stdout).toContain(`warning: etcd member ${victim} is down`);
        expect(check.stdout).toMatch(new RegExp(`^${victim}: \\d+ changes?\\n(?:  .*\\n)*  start etcd\\.service$`, 'm'));
        expect(ssh(dir, IP[victim]!, 'systemctl is-active etcd.service').stdout.trim()).toBe('inactive');

        // A deploy that leaves etcd's configuration alone goes on, says so, and starts the member.
        const d = await ok(['deploy', dir]);
        process.stdout.write(
          `[output] deploy with etcd ${victim} down:\n${d.stdout
            .split('\n')
            .filter((l) => l.startsWith('warning:'))
            .join('\n')}\n`,
        );
        expect(d.stdout).toMatch(
          new RegExp(
            `^warning: etcd member ${victim} is down \\(etcd\\.service inactive; .*\\); 2 of 3 healthy, quorum 2 kept; deploy starts etcd\\.service on ${victim}`,
            'm',
          ),
        );
        expect(sshOk(dir, IP[victim]!, 'systemctl is-active etcd.service').trim()).toBe('active');
        for (const n of others) expect(unitStamp(n, 'etcd.service'), `${n}: etcd restarted`).toBe(stampsBefore[n]);
        // Independent: every member's /health over HTTPS with the cluster CA.
        for (const n of DATA) {
          const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8'), servername: n } });
          const res = await request(`https://${IP[n]}:2379/health`, { dispatcher });
          expect(res.statusCode).toBe(200);
          expect(((await res.body.json()) as { health?: string }).health).toBe('true');
          await dispatcher.close();
        }
        const again = await ok(['deploy', dir]);
        expect(again.stdout).toContain('no changes');
        expect(again.stdout).not.toContain('warning:');
        await testExits0();
      },
      15 * 60_000,
    );

    itAll(
      'a data node off the network with a change pending: deploy changes nothing anywhere and names it; back online it applies and converges',
      async () => {
        const leader = leaderNow();
        const victim = DATA.find((n) => n !== leader)!;
        const reachable = DATA.filter((n) => n !== victim);
        const patroniConf = `/etc/patroni/${CLUSTER}.yml`;
        const unit = `patroni@${CLUSTER}.service`;

        // A real change for every data node: a PostgreSQL parameter in Patroni's local configuration.
        const configPath = join(dir, 'config.yml');
        const doc = parse(readFileSync(configPath, 'utf8')) as { cluster_vars: Record<string, unknown> };
        doc.cluster_vars.patroni_conf_settings = { postgresql: { parameters: { log_min_duration_statement: '1500ms' } } };
        writeFileSync(configPath, stringify(doc));
        expect(local(leader, 'show log_min_duration_statement')).toBe('-1');

        const before = Object.fromEntries(
          reachable.map((n) => [n, { conf: sha(n, patroniConf), patroni: unitStamp(n, unit), postmaster: postmasterStart(n) }]),
        );
        const nspawnInit = containerInit(victim);
        // Detached, so this ssh session returns before the link it runs over goes away.
        expect(ssh(dir, IP[victim]!, 'nohup sh -c "sleep 1; ip link set host0 down" >/dev/null 2>&1 &').code).toBe(0);
        try {
          await until(`${victim} to drop off the network`, () => (ssh(dir, IP[victim]!, 'true').code !== 0 ? true : undefined), 60);
          const d = await run(['deploy', dir]);
          expect(d.code, d.stdout + d.stderr).toBe(1);
          process.stdout.write(`[output] deploy with ${victim} off the network:\n${d.stderr}`);
          expect(d.stderr).toMatch(/cannot reach 1 host\(s\); nothing was changed/);
          // The failure line itself names the host, not only its fix.
          expect(d.stderr).toMatch(new RegExp(`^  - ${victim} \\(${IP[victim]!.replace(/\./g, '\\.')}\\): ssh: `, 'm'));
          for (const n of reachable) {
            expect(sha(n, patroniConf), `${n}: ${patroniConf} changed`).toBe(before[n]!.conf);
            expect(unitStamp(n, unit), `${n}: Patroni restarted`).toBe(before[n]!.patroni);
            expect(postmasterStart(n), `${n}: PostgreSQL restarted`).toBe(before[n]!.postmaster);
            expect(local(n, 'show log_min_duration_statement')).toBe('-1');
          }
        } finally {
          // Back on the network from the machine's side: the container's own network namespace.
          const up = spawnSync('nsenter', ['-t', String(nspawnInit), '-n', 'ip', 'link', 'set', 'host0', 'up'], { encoding: 'utf8' });
          expect(up.status, up.stderr).toBe(0);
        }
        await until(`${victim} back on the network`, () => (ssh(dir, IP[victim]!, 'true').code === 0 ? true : undefined), 90);

        const d = await ok(['deploy', dir]);
        expect(d.stdout).toMatch(new RegExp(`^${victim}: `, 'm'));
        for (const n of DATA) {
          expect(sha(n, patroniConf), `${n}: ${patroniConf}`).not.toBe(before[reachable[0]!]!.conf);
          expect(sshOk(dir, IP[n]!, `grep -c 'log_min_duration_statement: 1500ms' ${patroniConf}`).trim()).toBe('1');
        }
        // Applied by a reload (a sighup parameter): the running servers have it, none was restarted.
        for (const n of DATA)
          await until(
            `${n} to run with the new parameter`,
            () => (local(n, 'show log_min_duration_statement') === '1500ms' ? true : undefined),
            60,
          );
        for (const n of reachable) expect(postmasterStart(n), `${n}: PostgreSQL restarted`).toBe(before[n]!.postmaster);
        await until('the cluster to stream with no lag', () => converged(IP[leader]!));
        const again = await ok(['deploy', dir]);
        expect(again.stdout).toContain('no changes');
        await ok(['deploy', dir, '--check'], 0);
        await testExits0();
      },
      15 * 60_000,
    );

    let writer: ProxyWriter | undefined;
    const proxyWriter = (): ProxyWriter => {
      if (!writer) {
        writer = new ProxyWriter(dir, IP.proxy1!);
        writer.install();
      }
      return writer;
    };
    /** Data nodes whose PostgreSQL accepts writes, each asked over its own socket (not through the DCS). */
    const writable = (): string[] => DATA.filter((n) => local(n, 'select pg_is_in_recovery()') === 'f');
    /** Leaders named by patronictl on `ip`, sampled every second for `ms`. */
    const leadersFor = async (ip: string, ms: number): Promise<Set<string>> => {
      const seen = new Set<string>();
      const end = Date.now() + ms;
      while (Date.now() < end) {
        try {
          for (const m of patronictl(ip)) if (m.Role === 'Leader') seen.add(m.Member);
        } catch {
          // asked again a second later
        }
        await sleep(1000);
      }
      return seen;
    };
    /** After a fault on `victim`: it rejoins as a replica streaming from `leader`, the only writable node. */
    const rejoined = async (victim: string, leader: string, probe: string) => {
      const ms = await until(`${victim} to stream from ${leader} with no lag`, () => converged(probe), 300);
      expect(ms.find((m) => m.Role === 'Leader')?.Member).toBe(leader);
      expect(REPLICA_ROLES).toContain(ms.find((m) => m.Member === victim)?.Role);
      await until(`${leader} to see ${victim} streaming`, () => (streamingFrom(leader).includes(victim) ? true : undefined), 60);
      expect(local(victim, 'select pg_is_in_recovery()')).toBe('t');
      expect(writable()).toEqual([leader]);
    };

    it(
      'leader frozen (SIGSTOP of every process in its container) past the ttl under a writer: writes resume within ttl + 10 s (bench goal ttl + 5 s), the old leader never leads again and rejoins as a replica, 0 acknowledged writes lost',
      async () => {
        const w = proxyWriter();
        await until('the cluster to stream with no lag', () => converged(IP.pg1!));
        const old = leaderNow();
        const survivors = DATA.filter((n) => n !== old);
        const probe = IP[survivors[0]!]!;
        const stop = w.start('frozen_leader');
        let stopped = false;
        let frozen: number[] = [];
        try {
          await sleep(3000);
          const t0 = Date.now();
          let next = '';
          let tLeader = 0;
          // When the fault had taken effect: writes acknowledged before that are not "resumed".
          let tCut = t0;
          try {
            frozen = freeze(old);
            tCut = Date.now();
            expect(frozen.length).toBeGreaterThan(5);
            // Every process of the container is stopped: Patroni, PostgreSQL, etcd, sshd, systemd.
            expect(containerPids(old).filter((p) => procState(p) !== 'T')).toEqual([]);
            next = await newLeaderOn(probe, old, 120);
            tLeader = Date.now() - t0;
            await sleep(Math.max(0, FREEZE_MS - (Date.now() - t0)));
          } finally {
            thaw(old, frozen);
          }
          const tResumed = Date.now() - t0;
          expect(survivors).toContain(next);
          // The resumed leader must not take the leader key back: watch it while its Patroni wakes up.
          const leaders = await leadersFor(probe, 40_000);
          expect([...leaders], `leaders seen after ${old} resumed`).toEqual([next]);
          await rejoined(old, next, probe);
          const report = await stop();
          stopped = true;
          const after = firstAckAfterMs(report, tCut);
          const resumedMs = after === undefined ? undefined : after + (tCut - t0);
          process.stdout.write(
            `[figure] leader ${old} frozen ${(tResumed / 1000).toFixed(1)} s: new leader ${next} after ${(tLeader / 1000).toFixed(1)} s, first write acknowledged ${resumedMs} ms after the freeze, longest gap ${report.longestGapMs} ms, ${report.acked} acknowledged, ${report.lost} lost\n`,
          );
          expect(report.lost, 'acknowledged writes missing on the leader').toBe(0);
          expect(resumedMs).toBeDefined();
          // The leader key expires up to ttl after the freeze, then a replica promotes and HAProxy
          // follows: measured 32.2–35.0 s on a loaded 2-core machine, so ttl + 5 s is the bench's goal
          // (frozen_leader_gap_ms), and the suite allows load a further 5 s rather than flake.
          expect(resumedMs!).toBeLessThanOrEqual(TTL_MS + 10_000);
          await testExits0();
        } finally {
          thaw(old, frozen);
          if (!stopped) {
            // A failed run still says what the writer lost: the figure that shows what went wrong.
            const r = await stop().catch(() => undefined);
            if (r) process.stdout.write(`[figure] failed run: ${r.acked} acknowledged, ${r.lost} lost, longest gap ${r.longestGapMs} ms\n`);
          }
        }
      },
      15 * 60_000,
    );

    itAll(
      'replica frozen past the ttl under a writer: the leader keeps leading and writing, the replica resumes streaming, 0 acknowledged writes lost',
      async () => {
        const w = proxyWriter();
        await until('the cluster to stream with no lag', () => converged(IP.pg1!));
        const leader = leaderNow();
        const victim = DATA.find((n) => n !== leader)!;
        const probe = IP[leader]!;
        const stop = w.start('frozen_replica');
        let stopped = false;
        let frozen: number[] = [];
        try {
          await sleep(3000);
          const t0 = Date.now();
          let during = new Set<string>();
          try {
            frozen = freeze(victim);
            expect(frozen.length).toBeGreaterThan(5);
            expect(containerPids(victim).filter((p) => procState(p) !== 'T')).toEqual([]);
            during = await leadersFor(probe, FREEZE_MS - (Date.now() - t0));
          } finally {
            thaw(victim, frozen);
          }
          const after = await leadersFor(probe, 15_000);
          expect(
            [...during, ...after].every((l) => l === leader),
            `leaders seen: ${[...during, ...after].join(', ')}`,
          ).toBe(true);
          await rejoined(victim, leader, probe);
          const report = await stop();
          stopped = true;
          process.stdout.write(
            `[figure] replica ${victim} frozen ${FREEZE_MS / 1000} s: longest write gap ${report.longestGapMs} ms, ${report.acked} acknowledged, ${report.lost} lost\n`,
          );
          expect(report.lost).toBe(0);
          // Asynchronous replication: a stopped replica holds nothing up.
          expect(report.longestGapMs).toBeLessThanOrEqual(10_000);
          await testExits0();
        } finally {
          thaw(victim, frozen);
          if (!stopped) {
            // A failed run still says what the writer lost: the figure that shows what went wrong.
            const r = await stop().catch(() => undefined);
            if (r) process.stdout.write(`[figure] failed run: ${r.acked} acknowledged, ${r.lost} lost, longest gap ${r.longestGapMs} ms\n`);
          }
        }
      },
      15 * 60_000,
    );

    if (o.etcdNodes) {
      it(
        'etcd-only member frozen past the ttl under a writer: quorum holds, the leader keeps leading and writing, the member rejoins healthy, 0 acknowledged writes lost',
        async () => {
          const w = proxyWriter();
          await until('the cluster to stream with no lag', () => converged(IP.pg1!));
          const leader = leaderNow();
          const victim = 'etcd1';
          const probe = IP[leader]!;
          const stop = w.start('frozen_etcd');
          let stopped = false;
          let frozen: number[] = [];
          try {
            await sleep(3000);
            const t0 = Date.now();
            let during = new Set<string>();
            try {
              frozen = freeze(victim);
              expect(frozen.length).toBeGreaterThan(3);
              expect(containerPids(victim).filter((p) => procState(p) !== 'T')).toEqual([]);
              during = await leadersFor(probe, FREEZE_MS - (Date.now() - t0));
            } finally {
              thaw(victim, frozen);
            }
            const after = await leadersFor(probe, 15_000);
            expect(
              [...during, ...after].every((l) => l === leader),
              `leaders seen: ${[...during, ...after].join(', ')}`,
            ).toBe(true);
            // Independent of pgha: the resumed member answers /health over HTTPS again.
            const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8'), timeout: 3000 } });
            try {
              await until(`${victim} to be a healthy etcd member again`, async () => {
                const res = await request(`https://${IP[victim]}:2379/health`, { dispatcher });
                const body = (await res.body.json()) as { health?: string };
                return res.statusCode === 200 && body.health === 'true' ? true : undefined;
              });
            } finally {
              await dispatcher.close();
            }
            const report = await stop();
            stopped = true;
            process.stdout.write(
              `[figure] etcd-only member ${victim} frozen ${FREEZE_MS / 1000} s: longest write gap ${report.longestGapMs} ms, ${report.acked} acknowledged, ${report.lost} lost\n`,
            );
            expect(report.lost).toBe(0);
            await testExits0();
          } finally {
            thaw(victim, frozen);
            if (!stopped) {
              const r = await stop().catch(() => undefined);
              if (r)
                process.stdout.write(`[figure] failed run: ${r.acked} acknowledged, ${r.lost} lost, longest gap ${r.longestGapMs} ms\n`);
            }
          }
        },
        15 * 60_000,
      );
    }

    interface Partitioned {
      next: string;
      /** ms from just before the cut to the new leader, as patronictl on a survivor saw it. */
      tLeaderMs: number;
      report: WriterReport;
      /** ms from just before the cut to the first write acknowledged after it took effect. */
      resumedMs: number | undefined;
    }
    /**
     * The steps both partition cases share: the leader `old`'s container link down under the
     * HAProxy writer until a survivor leads and FREEZE_MS have passed, then up again. While it is
     * cut off and a survivor leads, writes through HAProxy land on that survivor and `isolated`
     * may probe the old leader; every write acknowledged after the cut is on the new leader (the
     * isolated one accepted none through the entry point). Back on the network no other member
     * leads, and the old leader rejoins as a replica.
     */
    const partitionLeader = async (old: string, table: string, isolated?: (next: string) => void): Promise<Partitioned> => {
      const w = proxyWriter();
      const survivors = DATA.filter((n) => n !== old);
      const probe = IP[survivors[0]!]!;
      const init = containerInit(old);
      const link = (state: 'up' | 'down') =>
        spawnSync('nsenter', ['-t', String(init), '-n', 'ip', 'link', 'set', 'host0', state], { encoding: 'utf8' });
      const stop = w.start(table);
      let stopped = false;
      let cut = false;
      try {
        await sleep(3000);
        const t0 = Date.now();
        let next = '';
        let tLeaderMs = 0;
        // When the fault had taken effect: writes acknowledged before that are not "resumed".
        let tCut = t0;
        try {
          const down = link('down');
          expect(down.status, down.stderr).toBe(0);
          tCut = Date.now();
          cut = true;
          next = await newLeaderOn(probe, old, 120);
          tLeaderMs = Date.now() - t0;
          // The entry point follows the new leader; no insert through it reaches the old one.
          const landed = new Set<string>();
          await until(
            'writes through HAProxy to reach the new leader',
            () => {
              const r = viaProxy('insert into faults default values returning at, pg_is_in_recovery()');
              if (r.code === 0) landed.add(r.stdout);
              return r.code === 0 && r.stdout === `${IP[next]}|f` ? true : undefined;
            },
            60,
          );
          expect([...landed]).toEqual([`${IP[next]}|f`]);
          isolated?.(next);
          await sleep(Math.max(0, FREEZE_MS - (Date.now() - t0)));
        } finally {
          if (cut) expect(link('up').status).toBe(0);
          cut = false;
        }
        expect(survivors).toContain(next);
        const leaders = await leadersFor(probe, 20_000);
        expect([...leaders]).toEqual([next]);
        await rejoined(old, next, probe);
        const report = await stop();
        stopped = true;
        expect(lostAckedAfter(report, tCut), 'writes acknowledged after the cut that the new leader lacks').toBe(0);
        const after = firstAckAfterMs(report, tCut);
        return { next, tLeaderMs, report, resumedMs: after === undefined ? undefined : after + (tCut - t0) };
      } finally {
        if (cut) link('up');
        if (!stopped) {
          // A failed run still says what the writer lost: the figure that shows what went wrong.
          const r = await stop().catch(() => undefined);
          if (r) process.stdout.write(`[figure] failed run: ${r.acked} acknowledged, ${r.lost} lost, longest gap ${r.longestGapMs} ms\n`);
        }
      }
    };

    it(
      'leader partitioned (its container link down) past the ttl under a writer: one leader elected, HAProxy follows it, the old one rejoins as a replica; lost writes measured (asynchronous replication)',
      async () => {
        await until('the cluster to stream with no lag', () => converged(IP.pg1!));
        const old = leaderNow();
        const p = await partitionLeader(old, 'partitioned_leader');
        const { report } = p;
        process.stdout.write(
          `[figure] leader ${old} partitioned ${FREEZE_MS / 1000} s: new leader ${p.next} after ${(p.tLeaderMs / 1000).toFixed(1)} s, first write acknowledged ${p.resumedMs} ms after the cut, longest gap ${report.longestGapMs} ms, ${report.acked} acknowledged, ${report.lost} lost (asynchronous replication)\n`,
        );
        expect(p.resumedMs).toBeDefined();
        await testExits0();
      },
      15 * 60_000,
    );

    /**
     * An insert on `node`'s own socket, run inside its container from the machine (nsenter: it
     * works while the node is off the network), given 5 s.
     */
    const insertInside = (node: string, sql = 'insert into faults default values returning id'): Ran => {
      const r = spawnSync(
        'nsenter',
        [
          '-t',
          String(containerInit(node)),
          '-m',
          '-u',
          '-i',
          '-n',
          'sh',
          '-c',
          `cd /tmp && timeout -k 2 5 runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -v ON_ERROR_STOP=1 -c ${JSON.stringify(sql)}`,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      return { code: r.status ?? 1, stdout: (r.stdout ?? '').trim(), stderr: r.stderr ?? '' };
    };

    // Last: it leaves the cluster in strict mode, which no later case expects otherwise.
    itAll(
      'synchronous_mode strict (config.yml, deployed with no restart), then the leader partitioned past the ttl under a writer: the synchronous standby is promoted, the isolated old leader acknowledges no write, it rejoins as a replica, 0 acknowledged writes lost',
      async () => {
        await until('the cluster to stream with no lag', () => converged(IP.pg1!));
        const old = leaderNow();
        const started = postmasterStart(old);
        setClusterVar('patroni_synchronous_mode', 'strict');
        await ok(['deploy', dir]);
        // A DCS change (PATCH /config): the leader's PostgreSQL kept running.
        expect(postmasterStart(old)).toBe(started);
        const s = await until(
          'pgha status to name one synchronous standby',
          async () => {
            const st = await status();
            return st.syncStandbys.length === 1 ? st : undefined;
          },
          60,
        );
        expect(s.synchronousMode).toBe('strict');
        expect(s.leader).toBe(old);
        const sync = s.syncStandbys[0]!;
        expect(s.members.find((m) => m.name === sync)?.role).toBe('sync_standby');
        // The probe below works on this container while the link is up: a failure later is the node's answer.
        expect(insertInside(old, 'select 1')).toMatchObject({ code: 0, stdout: '1' });
        let isolated: Ran | undefined;
        const p = await partitionLeader(old, 'strict_partitioned_leader', () => {
          // With no synchronous standby reachable the commit waits (strict), or Patroni, cut off from
          // etcd, has demoted it already: either way nothing is acknowledged.
          isolated = insertInside(old);
        });
        const { report } = p;
        // timeout(1) exits 124 when psql gave up at its TERM, 137 when it had to be killed.
        const waited = isolated!.code === 124 || isolated!.code === 137;
        const said = waited ? 'waited 5 s, unacknowledged' : `refused: ${isolated!.stderr.trim().split('\n')[0]}`;
        process.stdout.write(
          `[figure] synchronous_mode strict, leader ${old} partitioned ${FREEZE_MS / 1000} s: synchronous standby ${sync}, new leader ${p.next} after ${(p.tLeaderMs / 1000).toFixed(1)} s, first write acknowledged ${p.resumedMs} ms after the cut, longest gap ${report.longestGapMs} ms, ${report.acked} acknowledged, ${report.lost} lost; an insert on the isolated old leader's socket: ${said}\n`,
        );
        expect(p.next, 'the promoted member').toBe(sync);
        expect(isolated!.code, `insert on the isolated ${old}: ${isolated!.stdout}`).not.toBe(0);
        expect(waited || /read-only|recovery|connection to server|the database system is/.test(isolated!.stderr), isolated!.stderr).toBe(
          true,
        );
        expect(report.lost, 'acknowledged writes missing on the new leader').toBe(0);
        expect(p.resumedMs).toBeDefined();
        await testExits0();
      },
      15 * 60_000,
    );

    it('never prints a secret', () => {
      const all = outputs.join('\n');
      for (const s of clusterSecrets(dir)) expect(all).not.toContain(s);
    });
  });
}
