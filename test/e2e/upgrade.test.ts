/**
 * `pgha upgrade` on real hosts, on Debian 13 (PGHA_UPGRADE_OS_VERSION=12 for Debian 12): a
 * cluster deployed with the release's own PostgreSQL, Patroni, etcd and an older HAProxy pinned,
 * then rolled to rebuilt patroni packages with both ways of doing the leader (switchover; paused
 * restart, the default, also killed while paused and run again), to a rebuilt etcd, to the newer
 * HAProxy Debian ships and to a newer PostgreSQL package (killed half way and run again). A writer
 * on the HAProxy host inserts through HAProxy every 10 ms throughout; every acknowledged insert
 * must still be there afterwards. Figures (writes lost, longest gap, time) go to stderr at the
 * end; PGHA_UPGRADE_ROUNDS=n repeats the Patroni pair. CI runs it on 13; Debian 12's Patroni roll
 * (Debian's 3.0.2-1 to pgha's fixed build) is in faults-debian12.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  ackedAfter,
  containerInitPid,
  crashContainer,
  fixedPatroniDeb,
  patronictl as patronictlOn,
  rebuiltDeb,
  ProxyWriter,
  waitHealthy,
  type WriterReport,
} from './probes.js';
import { hostPaths } from '../../src/platforms/nspawn/paths.js';
import {
  BIN,
  clusterSecrets,
  configureM1Args,
  E2E_REQUIRED,
  e2eBlocker,
  pgha,
  pghaOk,
  sshOk,
  type Ran,
  removeTestCluster,
} from './harness.js';

const blocker = e2eBlocker();
if (blocker && E2E_REQUIRED) {
  describe('e2e prerequisites', () => {
    it('are present (PGHA_E2E=1)', () => {
      expect.fail(`end-to-end suite cannot run: ${blocker}`);
    });
  });
}

/**
 * What each release starts on and rolls to. Rebuilt packages (only the version changed, see
 * probes.ts rebuiltDeb) stand in where Debian has no newer build; HAProxy and, on 12, PostgreSQL
 * are real Debian pairs.
 */
interface UpgradeRelease {
  pgMajor: number;
  pgOld: string;
  pgNew: string;
  /** `show server_version` after the PostgreSQL upgrade. */
  pgServerVersion: RegExp;
  patroniOld: string;
  /** The two higher Patroni builds the suite alternates between. */
  patroniA: string;
  patroniB: string;
  etcdOld: string;
  haproxyOld: string;
  haproxyNew: string;
  /** Builds the packages Debian does not have, after download-packages filled the package cache. */
  rebuilt(root: string): Promise<string[]>;
}

const UPGRADE_RELEASES: Record<12 | 13, UpgradeRelease> = {
  12: {
    pgMajor: 15,
    pgOld: '15.18-0+deb12u1',
    pgNew: '15.20-0+deb12u1',
    pgServerVersion: /^15\.20 /,
    patroniOld: '3.0.2-1',
    // Above pgha's own 3.0.2-1+pgha2, which download-packages adds by itself.
    patroniA: '3.0.2-1+pgha3',
    patroniB: '3.0.2-1+pgha4',
    etcdOld: '3.4.23-4+b4',
    haproxyOld: '2.6.12-1+deb12u3',
    haproxyNew: '2.6.12-1+deb12u4',
    rebuilt: async (root) => [
      rebuiltDeb(root, await fixedPatroniDeb(), 'pgha3').file,
      rebuiltDeb(root, await fixedPatroniDeb(), 'pgha4').file,
      rebuiltDeb(root, 'etcd-server_3.4.23-4+b4_amd64.deb', 'pgha1').file,
      rebuiltDeb(root, 'etcd-client_3.4.23-4+b4_amd64.deb', 'pgha1').file,
    ],
  },
  13: {
    pgMajor: 17,
    pgOld: '17.12-0+deb13u1',
    // trixie has one PostgreSQL 17 build: the newer one is it, rebuilt (client and server: pgha pins both).
    pgNew: '17.12-0+deb13u1+pgha1',
    pgServerVersion: /^17\.12 /,
    patroniOld: '4.0.7-3~deb13u1',
    // Above pgha's own 4.0.7-3~deb13u1+pgha1, which download-packages adds by itself.
    patroniA: '4.0.7-3~deb13u1+pgha2',
    patroniB: '4.0.7-3~deb13u1+pgha3',
    etcdOld: '3.5.16-4',
    haproxyOld: '3.0.11-1+deb13u4',
    haproxyNew: '3.0.11-1+deb13u5',
    rebuilt: async (root) => {
      const patroni = await fixedPatroniDeb('4.0.7-3~deb13u1');
      return [
        [patroni, 'pgha2'],
        [patroni, 'pgha3'],
        ['etcd-server_3.5.16-4_amd64.deb', 'pgha1'],
        ['etcd-client_3.5.16-4_amd64.deb', 'pgha1'],
        ['postgresql-17_17.12-0+deb13u1_amd64.deb', 'pgha1'],
        ['postgresql-client-17_17.12-0+deb13u1_amd64.deb', 'pgha1'],
      ].map(([deb, suffix]) => rebuiltDeb(root, deb!, suffix!).file);
    },
  },
};

const OS_VERSION = process.env.PGHA_UPGRADE_OS_VERSION === '12' ? 12 : 13;
const R = UPGRADE_RELEASES[OS_VERSION];
const CLUSTER = 'e2eupg';
const SUBNET = '10.235.1';
const NODES = { pg1: `${SUBNET}.11`, pg2: `${SUBNET}.12`, pg3: `${SUBNET}.13` } as const;
const PROXY = `${SUBNET}.14`;
const ROUNDS = Number(process.env.PGHA_UPGRADE_ROUNDS ?? 1);
const ETCD_NEW = `${R.etcdOld}+pgha1`;
const PG_PACKAGE = `postgresql-${R.pgMajor}`;

describe.skipIf(blocker !== undefined)(`upgrade on nspawn: M1 + HAProxy, Debian ${OS_VERSION}`, () => {
  let root = '';
  let dir = '';
  const outputs: string[] = [];
  const figures: string[] = [];
  const patronictl = (ip: string = NODES.pg1) => patronictlOn(dir, ip, CLUSTER);
  const leaderName = () => patronictl().find((m) => m.Role === 'Leader')?.Member;
  const dpkgVersion = (ip: string, pkg: string) => sshOk(dir, ip, `dpkg-query -W -f='\${Version}' ${pkg}`).trim();
  const localSql = (ip: string, sql: string) =>
    sshOk(dir, ip, `cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -c ${JSON.stringify(sql)}`).trim();

  const healthy = () => waitHealthy(dir, NODES.pg1, CLUSTER, 3).then(() => undefined);
  let writer: ProxyWriter;
  const startWriter = (table: string) => writer.start(table);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pgha-e2e-upg-'));
    dir = join(root, CLUSTER);
    outputs.push((await pghaOk(configureM1Args(dir, SUBNET, { osVersion: OS_VERSION }))).stdout);
    const configPath = join(dir, 'config.yml');
    const doc = parse(readFileSync(configPath, 'utf8')) as { cluster_vars: Record<string, unknown> };
    // Otherwise apt picks the newest in the repository: a rebuilt one, or the newer HAProxy.
    doc.cluster_vars.postgres_package_version = R.pgOld;
    doc.cluster_vars.patroni_package_version = R.patroniOld;
    doc.cluster_vars.etcd_package_version = R.etcdOld;
    doc.cluster_vars.haproxy_package_version = R.haproxyOld;
    writeFileSync(configPath, stringify(doc));
    // The rebuilt packages start from Debian's in the package cache, which a fresh machine fills
    // on its first download-packages (pins included): run one before rebuilding.
    outputs.push((await pghaOk(['download-packages', dir])).stdout);
    const debs = await R.rebuilt(root);
    outputs.push((await pghaOk(['download-packages', dir, ...debs.flatMap((d) => ['--add-deb', d])])).stdout);
    outputs.push((await pghaOk(['provision', dir])).stdout);
    const first = await pghaOk(['deploy', dir]);
    outputs.push(first.stdout, first.stderr);
    writer = new ProxyWriter(dir, PROXY);
    writer.install();
  }, 30 * 60_000);

  afterAll(async () => {
    if (figures.length) process.stderr.write(`\nupgrade figures:\n${figures.join('\n')}\n`);
    await removeTestCluster(dir, root);
  }, 5 * 60_000);

  it(`starts on the pinned ${PG_PACKAGE} ${R.pgOld} and Debian's patroni ${R.patroniOld}`, () => {
    for (const ip of Object.values(NODES)) {
      expect(dpkgVersion(ip, PG_PACKAGE)).toBe(R.pgOld);
      expect(dpkgVersion(ip, 'patroni')).toBe(R.patroniOld);
    }
  });

  it('refuses (exit 3) a paused cluster, saying why', async () => {
    sshOk(dir, NODES.pg1, `patronictl -c /etc/patroni/${CLUSTER}.yml pause --wait`);
    const r = await pgha(['upgrade', dir, '--components=patroni', '-e', `patroni_package_version=${R.patroniA}`, '--health-grace', '0']);
    sshOk(dir, NODES.pg1, `patronictl -c /etc/patroni/${CLUSTER}.yml resume --wait`);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/paused/);
    await healthy();
  }, 120_000);

  async function patroniUpgrade(
    version: string,
    strategy: 'switchover' | 'pause',
    table: string,
  ): Promise<{ report: WriterReport; run: Ran; seconds: number }> {
    await healthy();
    const leader = leaderName()!;
    const leaderIp = NODES[leader as keyof typeof NODES];
    const pmBefore = localSql(leaderIp, 'select pg_postmaster_start_time()');
    const stop = startWriter(table);
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    const run = await pgha([
      'upgrade',
      dir,
      '--components=patroni',
      '-e',
      `patroni_package_version=${version}`,
      '--primary-strategy',
      strategy,
    ]);
    const seconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const report = await stop();
    outputs.push(run.stdout, run.stderr);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    if (strategy === 'pause') {
      expect(leaderName()).toBe(leader);
      expect(localSql(leaderIp, 'select pg_postmaster_start_time()')).toBe(pmBefore);
    } else {
      expect(leaderName()).not.toBe(leader);
    }
    figures.push(
      `patroni → ${version} (--primary-strategy ${strategy}): ${report.acked} writes acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms, ${report.errors} failed attempts, upgrade ${seconds.toFixed(1)} s`,
    );
    figures.push(
      ...run.stdout
        .split('\n')
        .filter((l) => / s$/.test(l) && / on pg/.test(l))
        .map((l) => `    ${l}`),
    );
    return { report, run, seconds };
  }

  // PGHA_UPGRADE_ROUNDS=n repeats both strategies (alternating between the two rebuilt
  // versions) to compare them on more than one sample; the figures go to stderr at the end.
  for (let round = 1; round <= ROUNDS; round++) {
    it(
      `upgrades patroni replicas first, switching the leader over, losing no acknowledged write (round ${round})`,
      async () => {
        const { report } = await patroniUpgrade(R.patroniA, 'switchover', `w_switchover_${round}`);
        expect(report.lost).toBe(0);
        for (const ip of Object.values(NODES)) expect(dpkgVersion(ip, 'patroni')).toBe(R.patroniA);
        await healthy();
      },
      15 * 60_000,
    );

    it(
      `upgrades patroni with a paused restart of the leader: PostgreSQL keeps running, no acknowledged write lost (round ${round})`,
      async () => {
        const { report } = await patroniUpgrade(R.patroniB, 'pause', `w_pause_${round}`);
        expect(report.lost).toBe(0);
        for (const ip of Object.values(NODES)) expect(dpkgVersion(ip, 'patroni')).toBe(R.patroniB);
        await healthy();
      },
      15 * 60_000,
    );
  }

  it(
    'a re-run at the same versions changes nothing',
    async () => {
      const r = await pghaOk(['upgrade', dir, '--components=patroni', '-e', `patroni_package_version=${R.patroniB}`]);
      expect(r.stdout.match(/already at/g)?.length).toBe(3);
      expect(r.stdout).not.toMatch(/switched over/);
    },
    5 * 60_000,
  );

  /** Run pgha and SIGKILL it once `when` says so (polled every 200 ms). */
  async function killedWhen(args: string[], when: () => Promise<boolean>): Promise<{ out: string; signal: string | null }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let done = false;
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (_code, signal) => {
        done = true;
        resolve({ out, signal });
      });
      const poll = async () => {
        while (!done) {
          if (await when().catch(() => false)) {
            child.kill('SIGKILL');
            return;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      void poll();
    });
  }

  const clusterPaused = async (): Promise<boolean> => {
    const dispatcher = new Agent({
      connect: { ca: readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8'), servername: 'pg1' },
      connectTimeout: 1000,
    });
    try {
      const res = await request(`https://${NODES.pg1}:8008/cluster`, { dispatcher, headersTimeout: 1000, bodyTimeout: 1000 });
      return ((await res.body.json()) as { pause?: boolean }).pause === true;
    } finally {
      await dispatcher.close();
    }
  };

  it(
    'the default (paused restart of the leader) killed while paused: the next run lifts the pause and converges',
    async () => {
      await healthy();
      const stop = startWriter('w_pause_killed');
      const args = ['upgrade', dir, '--components=patroni', '-e', `patroni_package_version=${R.patroniA}`];
      const killed = await killedWhen(args, clusterPaused);
      outputs.push(killed.out);
      expect(killed.signal, killed.out).toBe('SIGKILL');
      expect(existsSync(join(dir, 'upgrade-paused'))).toBe(true);
      const resumed = await pgha([...args, '--health-grace', '120']);
      outputs.push(resumed.stdout, resumed.stderr);
      const report = await stop();
      figures.push(
        `patroni → ${R.patroniA} (default, killed while paused, re-run): ${report.acked} acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms`,
      );
      expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
      expect(await clusterPaused()).toBe(false);
      expect(existsSync(join(dir, 'upgrade-paused'))).toBe(false);
      expect(report.lost).toBe(0);
      for (const ip of Object.values(NODES)) expect(dpkgVersion(ip, 'patroni')).toBe(R.patroniA);
      await healthy();
    },
    15 * 60_000,
  );

  it(
    `rolls etcd ${R.etcdOld} → ${ETCD_NEW} one member at a time, losing no acknowledged write`,
    async () => {
      await healthy();
      const stop = startWriter('w_etcd');
      await new Promise((r) => setTimeout(r, 1000));
      const r = await pgha(['upgrade', dir, '--components=etcd', '-e', `etcd_package_version=${ETCD_NEW}`]);
      outputs.push(r.stdout, r.stderr);
      const report = await stop();
      figures.push(`etcd → ${ETCD_NEW}: ${report.acked} acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms`);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(report.lost).toBe(0);
      for (const ip of Object.values(NODES)) {
        expect(dpkgVersion(ip, 'etcd-server')).toBe(ETCD_NEW);
        expect(sshOk(dir, ip, 'systemctl is-active etcd').trim()).toBe('active');
      }
      await healthy();
    },
    10 * 60_000,
  );

  it(
    `upgrades HAProxy ${R.haproxyOld} → ${R.haproxyNew} by a reload that runs the new binary, losing no acknowledged write`,
    async () => {
      await healthy();
      const stop = startWriter('w_haproxy');
      await new Promise((r) => setTimeout(r, 1000));
      const r = await pgha(['upgrade', dir, '--components=haproxy', '-e', `haproxy_package_version=${R.haproxyNew}`]);
      outputs.push(r.stdout, r.stderr);
      await new Promise((r2) => setTimeout(r2, 1000));
      const report = await stop();
      figures.push(`haproxy → ${R.haproxyNew}: ${report.acked} acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms`);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(report.lost).toBe(0);
      expect(dpkgVersion(PROXY, 'haproxy')).toBe(R.haproxyNew);
      expect(sshOk(dir, PROXY, 'readlink /proc/$(systemctl show -p MainPID --value haproxy)/exe').trim()).toBe('/usr/sbin/haproxy');
    },
    10 * 60_000,
  );

  it(
    `upgrades PostgreSQL ${R.pgOld} → ${R.pgNew}, resuming after being killed half way, losing no acknowledged write`,
    async () => {
      await healthy();
      const startedBefore = Object.fromEntries(Object.values(NODES).map((ip) => [ip, localSql(ip, 'select pg_postmaster_start_time()')]));
      const stop = startWriter('w_postgres');
      await new Promise((r) => setTimeout(r, 2000));
      const args = ['upgrade', dir, '--components=postgres', '-e', `postgres_package_version=${R.pgNew}`];
      // Killed a few seconds after the first host finished: the second is part way through.
      const killed = await new Promise<{ out: string; signal: string | null }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let timer: NodeJS.Timeout | undefined;
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (!timer && /✔ postgres on /.test(out)) timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        });
        child.stderr.on('data', (b: Buffer) => (out += b.toString()));
        child.on('close', (_code, signal) => resolve({ out, signal }));
      });
      outputs.push(killed.out);
      expect(killed.signal, killed.out).toBe('SIGKILL');
      const atTarget = Object.values(NODES).filter((ip) => dpkgVersion(ip, PG_PACKAGE) === R.pgNew).length;
      expect(atTarget).toBeGreaterThanOrEqual(1);

      const resumed = await pgha([...args, '--health-grace', '120']);
      outputs.push(resumed.stdout, resumed.stderr);
      await new Promise((r) => setTimeout(r, 2000));
      const report = await stop();
      figures.push(
        `postgres → ${R.pgNew} (killed, then re-run): ${report.acked} acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms`,
      );
      expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
      expect(resumed.stdout).toMatch(/postgres on pg\d: already at/);
      expect(report.lost).toBe(0);
      for (const ip of Object.values(NODES)) {
        expect(dpkgVersion(ip, PG_PACKAGE)).toBe(R.pgNew);
        expect(dpkgVersion(ip, `postgresql-client-${R.pgMajor}`)).toBe(R.pgNew);
        expect(localSql(ip, 'show server_version')).toMatch(R.pgServerVersion);
        // Restarted onto the new package's binaries, on every member.
        expect(localSql(ip, 'select pg_postmaster_start_time()')).not.toBe(startedBefore[ip]);
      }
      await healthy();
    },
    20 * 60_000,
  );

  it(
    'the VIP: deploy and status name it and it leads to the leader; the proxy holding it crashes under a writer, the other takes it, no acknowledged write is lost; with that proxy still down a switchover succeeds through the VIP, warning about it, losing no acknowledged write; the crashed proxy returns without taking it back',
    async () => {
      await healthy();
      const vip = String(
        (parse(readFileSync(join(dir, 'config.yml'), 'utf8')) as { cluster_vars: Record<string, unknown> }).cluster_vars.vip_address,
      );
      expect(outputs.join('\n')).toContain(`read-write: host=${vip} port=5432 (VIP, keepalived on proxy1, proxy2)`);
      type VipEntry = { host: string; holdsVip: boolean; keepalived: string; reachable: boolean };
      const vipStatus = async () =>
        (JSON.parse((await pghaOk(['status', dir, '-o', 'json'])).stdout) as { keepalived: VipEntry[] }).keepalived;
      const holders = async () => (await vipStatus()).filter((e) => e.holdsVip).map((e) => e.host);
      // One holder: proxy1 (the higher priority) at formation, unless an HAProxy restart during the
      // upgrade above made its track script give the address to proxy2, where nopreempt keeps it.
      const [first] = await holders();
      expect(await holders()).toHaveLength(1);
      const other = first === 'proxy1' ? 'proxy2' : 'proxy1';
      const ipOf = (name: string) => (name === 'proxy1' ? PROXY : `${SUBNET}.15`);

      // Written from a data node, which outlives the proxy.
      const vipWriter = new ProxyWriter(dir, vip, 5432, NODES.pg3);
      vipWriter.install();
      const stop = vipWriter.start('w_vip');
      await new Promise((r) => setTimeout(r, 2000));
      const crashedAt = Date.now();
      crashContainer(containerInitPid(hostPaths(CLUSTER, first!).pidFile));
      // keepalived's backup takes over after three missed adverts (1 s apart); writes resume there.
      const deadline = Date.now() + 60_000;
      while ((await holders().catch(() => [])).join() !== other && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      await new Promise((r) => setTimeout(r, 3000));
      const report = await stop();
      // The longest gap is the outage: the writes in flight at the crash fail, the next succeed on the other proxy.
      figures.push(
        `VIP holder ${first} crashed: longest gap ${report.longestGapMs} ms through the VIP; ${report.acked} acknowledged, ${report.errors} failed, ${report.lost} lost`,
      );
      expect(await holders()).toEqual([other]);
      expect(ackedAfter(report, crashedAt)).toBeGreaterThan(0);
      expect(report.lost).toBe(0);

      // With the crashed proxy still down, a switchover needs writes to reach the new leader
      // through the VIP only, and names the dead proxy in a warning rather than failing on it.
      const before = leaderName();
      const stopSw = vipWriter.start('w_vip_switchover');
      await new Promise((r) => setTimeout(r, 2000));
      const sw = await pgha(['switchover', dir, '--force']);
      outputs.push(sw.stdout, sw.stderr);
      const switchedAt = Date.now();
      await new Promise((r) => setTimeout(r, 2000));
      const swReport = await stopSw();
      const warning = sw.stdout.split('\n').find((l) => l.startsWith('warning: '));
      figures.push(
        `switchover with ${first} down: longest gap ${swReport.longestGapMs} ms through the VIP; ${swReport.acked} acknowledged, ${swReport.errors} failed, ${swReport.lost} lost`,
        ...sw.stdout
          .split('\n')
          .filter((l) => /^(writes reach|warning:|\S+ streams from)/.test(l))
          .map((l) => `    ${l}`),
      );
      expect(sw.code, `${sw.stdout}\n${sw.stderr}`).toBe(0);
      expect(leaderName()).not.toBe(before);
      expect(sw.stdout).toMatch(new RegExp(`^writes reach pg\\d through VIP, keepalived on proxy1, proxy2 after `, 'm'));
      expect(warning).toMatch(new RegExp(`^warning: writes through HAProxy on ${first} do not reach pg\\d .*pgha provision DIR`));
      expect(swReport.lost).toBe(0);
      expect(ackedAfter(swReport, switchedAt - 1000)).toBeGreaterThan(0);

      // The crashed proxy boots again: keepalived there comes up as a backup (nopreempt), the VIP stays put.
      outputs.push((await pghaOk(['provision', dir])).stdout);
      const back = Date.now() + 60_000;
      while ((await vipStatus()).find((e) => e.host === first)?.keepalived !== 'active' && Date.now() < back)
        await new Promise((r) => setTimeout(r, 1000));
      await new Promise((r) => setTimeout(r, 4000));
      expect(await holders()).toEqual([other]);
      const tested = await pgha(['test', dir]);
      outputs.push(tested.stdout, tested.stderr);
      expect(tested.code, tested.stdout + tested.stderr).toBe(0);
      expect(tested.stdout).toMatch(new RegExp(`VIP ${vip.replaceAll('.', '\\.')}: one holder.*held by ${other}`));
      expect(tested.stdout).toMatch(new RegExp(`VIP ${vip.replaceAll('.', '\\.')}: writes reach the leader`));

      // HAProxy stopped on the holder: keepalived's track script gives the address up, the other takes it.
      sshOk(dir, ipOf(other), 'systemctl stop haproxy.service');
      const moved = Date.now() + 30_000;
      while ((await holders()).join() !== first && Date.now() < moved) await new Promise((r) => setTimeout(r, 500));
      expect(await holders()).toEqual([first]);
      sshOk(dir, ipOf(other), 'systemctl start haproxy.service');
    },
    10 * 60_000,
  );

  it('prints no secret', () => {
    const secrets = clusterSecrets(dir);
    for (const out of outputs) for (const s of secrets) expect(out.includes(s)).toBe(false);
  });
});
