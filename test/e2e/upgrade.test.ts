/**
 * `pgha upgrade` on real hosts: a cluster deployed with postgresql-15 15.18, Debian's patroni
 * 3.0.2-1, etcd 3.4.23-4+b4 and HAProxy deb12u3 pinned, then rolled to rebuilt patroni packages
 * with both ways of doing the leader (switchover; paused restart, the default, also killed while
 * paused and run again), to a rebuilt etcd, to HAProxy deb12u4 and to PostgreSQL 15.20 (killed
 * half way and run again). A writer on the HAProxy host inserts through HAProxy every 10 ms
 * throughout; every acknowledged insert must still be there afterwards. Figures (writes lost,
 * longest gap, time) go to stderr at the end; PGHA_UPGRADE_ROUNDS=n repeats the Patroni pair.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { BIN, clusterSecrets, E2E_REQUIRED, e2eBlocker, pgha, pghaOk, psql, sshOk, type Ran, removeTestCluster } from './harness.js';

const blocker = e2eBlocker();
if (blocker && E2E_REQUIRED) {
  describe('e2e prerequisites', () => {
    it('are present (PGHA_E2E=1)', () => {
      expect.fail(`end-to-end suite cannot run: ${blocker}`);
    });
  });
}

const CLUSTER = 'e2eupg';
const SUBNET = '10.235.1';
const NODES = { pg1: `${SUBNET}.11`, pg2: `${SUBNET}.12`, pg3: `${SUBNET}.13` } as const;
const PROXY = `${SUBNET}.14`;
const PG_OLD = '15.18-0+deb12u1';
const PG_NEW = '15.20-0+deb12u1';
const DEB_CACHE = '/var/cache/pgha/debs';
const ROUNDS = Number(process.env.PGHA_UPGRADE_ROUNDS ?? 1);
const ETCD_OLD = '3.4.23-4+b4';
const ETCD_NEW = `${ETCD_OLD}+pgha1`;
const HAPROXY_OLD = '2.6.12-1+deb12u3';
const HAPROXY_NEW = '2.6.12-1+deb12u4';

/** A Debian .deb from the package cache with only its version changed (DESIGN §9). */
function rebuiltDeb(workDir: string, cached: string, suffix: string): { file: string; version: string } {
  const src = join(DEB_CACHE, cached);
  const tree = join(workDir, `${cached}-${suffix}`);
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  run('dpkg-deb', ['-R', src, tree]);
  const control = join(tree, 'DEBIAN', 'control');
  const text = readFileSync(control, 'utf8');
  const [, name, old] = /^Package: (\S+)$[\s\S]*^Version: (\S+)$/m.exec(text) ?? [];
  const version = `${old}+${suffix}`;
  writeFileSync(control, text.replace(/^Version: .*$/m, `Version: ${version}`));
  const file = join(workDir, `${name}_${version}_${/_all\.deb$/.test(cached) ? 'all' : 'amd64'}.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '-b', tree, file]);
  return { file, version };
}

/**
 * Inserts ids 1, 2, … through HAProxy every 10 ms, on a fresh connection after any error (250 ms
 * to connect, 2 s per insert), and prints `A id time` for each acknowledged one. It runs on the
 * HAProxy host, in python3 with psycopg2 (both come with Debian's patroni dependencies).
 */
const WRITER = `import os, select, sys, time
import psycopg2, psycopg2.extensions as ext
table, stop = sys.argv[1], sys.argv[2]
dsn = "host=${PROXY} port=5432 user=postgres dbname=postgres sslmode=require password=" + open('/root/.writer-pw').read().strip()
def wait(conn, deadline):
    while True:
        st = conn.poll()
        if st == ext.POLL_OK:
            return
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError('timeout')
        if st == ext.POLL_READ:
            select.select([conn.fileno()], [], [], left)
        else:
            select.select([], [conn.fileno()], [], left)
conn = None
i = 0
while not os.path.exists(stop):
    t = time.time()
    try:
        if conn is None:
            conn = psycopg2.connect(dsn, async_=1)
            wait(conn, t + 0.25)
        i += 1
        cur = conn.cursor()
        cur.execute("insert into " + table + "(id) values (%s)", (i,))
        wait(conn, time.time() + 2)
        print("A", i, "%.3f" % time.time(), flush=True)
    except Exception as e:
        try:
            conn.close()
        except Exception:
            pass
        conn = None
        print("E", i, "%.3f" % time.time(), (str(e).splitlines() or [type(e).__name__])[0], flush=True)
    time.sleep(max(0.0, 0.01 - (time.time() - t)))
`;

interface WriterReport {
  acked: number;
  lost: number;
  longestGapMs: number;
  errors: number;
}

describe.skipIf(blocker !== undefined)('upgrade on nspawn: M1 + HAProxy', () => {
  let root = '';
  let dir = '';
  const outputs: string[] = [];
  const figures: string[] = [];
  const secret = (name: string) => readFileSync(join(dir, 'secrets', name), 'utf8').trim();
  const viaProxy = (sql: string) => psql(`host=${PROXY} port=5432 user=postgres dbname=postgres sslmode=require`, sql, secret('postgres'));
  const patronictl = (ip: string = NODES.pg1) =>
    JSON.parse(sshOk(dir, ip, `patronictl -c /etc/patroni/${CLUSTER}.yml list -f json`)) as { Member: string; Role: string; State: string; 'Lag in MB'?: number | string }[];
  const leaderName = () => patronictl().find((m) => m.Role === 'Leader')?.Member;
  const dpkgVersion = (ip: string, pkg: string) => sshOk(dir, ip, `dpkg-query -W -f='\${Version}' ${pkg}`).trim();
  const localSql = (ip: string, sql: string) => sshOk(dir, ip, `cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -c ${JSON.stringify(sql)}`).trim();

  async function healthy(): Promise<void> {
    for (let i = 0; i < 120; i++) {
      try {
        const m = patronictl();
        if (m.length === 3 && m.filter((x) => x.Role === 'Leader').length === 1 && m.every((x) => ['running', 'streaming'].includes(x.State))) return;
      } catch {
        // a member may still be restarting
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`cluster not healthy: ${JSON.stringify(patronictl())}`);
  }

  /** Start the writer into a fresh table; the returned function stops it and reports. */
  function startWriter(table: string): () => Promise<WriterReport> {
    const created = viaProxy(`create table ${table}(id int primary key, at timestamptz default now())`);
    if (created.code !== 0) throw new Error(created.stderr);
    const stopFile = `/tmp/${table}.stop`;
    const child: ChildProcess = spawn(
      'ssh',
      ['-i', join(dir, 'ssh', 'id_pgha'), '-o', `UserKnownHostsFile=${join(dir, 'ssh', 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `root@${PROXY}`, `python3 /root/writer.py ${table} ${stopFile}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const closed = new Promise<void>((r) => child.on('close', () => r()));
    return async () => {
      sshOk(dir, PROXY, `touch ${stopFile}`);
      await closed;
      const acked: number[] = [];
      const times: number[] = [];
      let errors = 0;
      for (const line of out.split('\n')) {
        const f = line.split(' ');
        if (f[0] === 'A') {
          acked.push(Number(f[1]));
          times.push(Number(f[2]));
        } else if (f[0] === 'E') errors++;
      }
      if (!acked.length) throw new Error(`writer acknowledged nothing:\n${out.slice(-2000)}\n${err}`);
      let gap = 0;
      for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
      const present = new Set(viaProxy(`select id from ${table}`).stdout.split('\n').filter(Boolean).map(Number));
      const lost = acked.filter((id) => !present.has(id)).length;
      return { acked: acked.length, lost, longestGapMs: Math.round(gap * 1000), errors };
    };
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pgha-e2e-upg-'));
    dir = join(root, CLUSTER);
    outputs.push((await pghaOk(['configure', dir, '-a', 'M1', '--enable-patroni', '--enable-haproxy', '--subnet', `${SUBNET}.0/24`])).stdout);
    const configPath = join(dir, 'config.yml');
    const doc = parse(readFileSync(configPath, 'utf8')) as { cluster_vars: Record<string, unknown> };
    doc.cluster_vars.postgres_package_version = PG_OLD;
    // Otherwise apt picks the newest in the repository: a rebuilt one, or HAProxy's deb12u4.
    doc.cluster_vars.patroni_package_version = '3.0.2-1';
    doc.cluster_vars.etcd_package_version = ETCD_OLD;
    doc.cluster_vars.haproxy_package_version = HAPROXY_OLD;
    writeFileSync(configPath, stringify(doc));
    const debs = [
      rebuiltDeb(root, 'patroni_3.0.2-1_all.deb', 'pgha1'),
      rebuiltDeb(root, 'patroni_3.0.2-1_all.deb', 'pgha2'),
      rebuiltDeb(root, `etcd-server_${ETCD_OLD}_amd64.deb`, 'pgha1'),
      rebuiltDeb(root, `etcd-client_${ETCD_OLD}_amd64.deb`, 'pgha1'),
    ];
    outputs.push((await pghaOk(['download-packages', dir, ...debs.flatMap((d) => ['--add-deb', d.file])])).stdout);
    outputs.push((await pghaOk(['provision', dir])).stdout);
    const first = await pghaOk(['deploy', dir]);
    outputs.push(first.stdout, first.stderr);
    sshOk(dir, PROXY, 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-psycopg2 >/dev/null');
    sshOk(dir, PROXY, 'cat > /root/writer.py', WRITER);
    sshOk(dir, PROXY, 'umask 077 && cat > /root/.writer-pw', secret('postgres'));
  }, 30 * 60_000);

  afterAll(async () => {
    if (figures.length) process.stderr.write(`\nupgrade figures:\n${figures.join('\n')}\n`);
    await removeTestCluster(dir, root);
  }, 5 * 60_000);

  it('starts on the pinned PostgreSQL 15.18 and Debian patroni 3.0.2-1', () => {
    for (const ip of Object.values(NODES)) {
      expect(dpkgVersion(ip, 'postgresql-15')).toBe(PG_OLD);
      expect(dpkgVersion(ip, 'patroni')).toBe('3.0.2-1');
    }
  });

  it('refuses (exit 3) a paused cluster, saying why', async () => {
    sshOk(dir, NODES.pg1, `patronictl -c /etc/patroni/${CLUSTER}.yml pause --wait`);
    const r = await pgha(['upgrade', dir, '--components=patroni', '-e', 'patroni_package_version=3.0.2-1+pgha1', '--health-grace', '0']);
    sshOk(dir, NODES.pg1, `patronictl -c /etc/patroni/${CLUSTER}.yml resume --wait`);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/paused/);
    await healthy();
  }, 120_000);

  async function patroniUpgrade(version: string, strategy: 'switchover' | 'pause', table: string): Promise<{ report: WriterReport; run: Ran; seconds: number }> {
    await healthy();
    const leader = leaderName()!;
    const leaderIp = NODES[leader as keyof typeof NODES];
    const pmBefore = localSql(leaderIp, 'select pg_postmaster_start_time()');
    const stop = startWriter(table);
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    const run = await pgha(['upgrade', dir, '--components=patroni', '-e', `patroni_package_version=${version}`, '--primary-strategy', strategy]);
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
    figures.push(`patroni → ${version} (--primary-strategy ${strategy}): ${report.acked} writes acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms, ${report.errors} failed attempts, upgrade ${seconds.toFixed(1)} s`);
    figures.push(...run.stdout.split('\n').filter((l) => / s$/.test(l) && / on pg/.test(l)).map((l) => `    ${l}`));
    return { report, run, seconds };
  }

  // PGHA_UPGRADE_ROUNDS=n repeats both strategies (alternating between the two rebuilt
  // versions) to compare them on more than one sample; the figures go to stderr at the end.
  for (let round = 1; round <= ROUNDS; round++) {
    it(`upgrades patroni replicas first, switching the leader over, losing no acknowledged write (round ${round})`, async () => {
      const { report } = await patroniUpgrade('3.0.2-1+pgha1', 'switchover', `w_switchover_${round}`);
      expect(report.lost).toBe(0);
      for (const ip of Object.values(NODES)) expect(dpkgVersion(ip, 'patroni')).toBe('3.0.2-1+pgha1');
      await healthy();
    }, 15 * 60_000);

    it(`upgrades patroni with a paused restart of the leader: PostgreSQL keeps running, no acknowledged write lost (round ${round})`, async () => {
      const { report } = await patroniUpgrade('3.0.2-1+pgha2', 'pause', `w_pause_${round}`);
      expect(report.lost).toBe(0);
      for (const ip of Object.values(NODES)) expect(dpkgVersion(ip, 'patroni')).toBe('3.0.2-1+pgha2');
      await healthy();
    }, 15 * 60_000);
  }

  it('a re-run at the same versions changes nothing', async () => {
    const r = await pghaOk(['upgrade', dir, '--components=patroni', '-e', 'patroni_package_version=3.0.2-1+pgha2']);
    expect(r.stdout.match(/already at/g)?.length).toBe(3);
    expect(r.stdout).not.toMatch(/switched over/);
  }, 5 * 60_000);

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
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8'), servername: 'pg1' }, connectTimeout: 1000 });
    try {
      const res = await request(`https://${NODES.pg1}:8008/cluster`, { dispatcher, headersTimeout: 1000, bodyTimeout: 1000 });
      return ((await res.body.json()) as { pause?: boolean }).pause === true;
    } finally {
      await dispatcher.close();
    }
  };

  it('the default (paused restart of the leader) killed while paused: the next run lifts the pause and converges', async () => {
    await healthy();
    const stop = startWriter('w_pause_killed');
    const args = ['upgrade', dir, '--components=patroni', '-e', 'patroni_package_version=3.0.2-1+pgha1'];
    const killed = await killedWhen(args, clusterPaused);
    outputs.push(killed.out);
    expect(killed.signal, killed.out).toBe('SIGKILL');
    expect(existsSync(join(dir, 'upgrade-paused'))).toBe(true);
    const resumed = await pgha([...args, '--health-grace', '120']);
    outputs.push(resumed.stdout, resumed.stderr);
    const report = await stop();
    figures.push(`patroni → 3.0.2-1+pgha1 (default, killed while paused, re-run): ${report.acked} acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms`);
    expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    expect(await clusterPaused()).toBe(false);
    expect(existsSync(join(dir, 'upgrade-paused'))).toBe(false);
    expect(report.lost).toBe(0);
    for (const ip of Object.values(NODES)) expect(dpkgVersion(ip, 'patroni')).toBe('3.0.2-1+pgha1');
    await healthy();
  }, 15 * 60_000);

  it(`rolls etcd ${ETCD_OLD} → ${ETCD_NEW} one member at a time, losing no acknowledged write`, async () => {
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
  }, 10 * 60_000);

  it(`upgrades HAProxy ${HAPROXY_OLD} → ${HAPROXY_NEW} by a reload that runs the new binary, losing no acknowledged write`, async () => {
    await healthy();
    const stop = startWriter('w_haproxy');
    await new Promise((r) => setTimeout(r, 1000));
    const r = await pgha(['upgrade', dir, '--components=haproxy', '-e', `haproxy_package_version=${HAPROXY_NEW}`]);
    outputs.push(r.stdout, r.stderr);
    await new Promise((r2) => setTimeout(r2, 1000));
    const report = await stop();
    figures.push(`haproxy → ${HAPROXY_NEW}: ${report.acked} acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms`);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(report.lost).toBe(0);
    expect(dpkgVersion(PROXY, 'haproxy')).toBe(HAPROXY_NEW);
    expect(sshOk(dir, PROXY, 'readlink /proc/$(systemctl show -p MainPID --value haproxy)/exe').trim()).toBe('/usr/sbin/haproxy');
  }, 10 * 60_000);

  it('upgrades PostgreSQL 15.18 → 15.20, resuming after being killed half way, losing no acknowledged write', async () => {
    await healthy();
    const stop = startWriter('w_postgres');
    await new Promise((r) => setTimeout(r, 2000));
    const args = ['upgrade', dir, '--components=postgres', '-e', `postgres_package_version=${PG_NEW}`];
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
    const atTarget = Object.values(NODES).filter((ip) => dpkgVersion(ip, 'postgresql-15') === PG_NEW).length;
    expect(atTarget).toBeGreaterThanOrEqual(1);

    const resumed = await pgha([...args, '--health-grace', '120']);
    outputs.push(resumed.stdout, resumed.stderr);
    await new Promise((r) => setTimeout(r, 2000));
    const report = await stop();
    figures.push(`postgres → ${PG_NEW} (killed, then re-run): ${report.acked} acknowledged, ${report.lost} lost, longest gap ${report.longestGapMs} ms`);
    expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    expect(resumed.stdout).toMatch(/postgres on pg\d: already at/);
    expect(report.lost).toBe(0);
    for (const ip of Object.values(NODES)) {
      expect(dpkgVersion(ip, 'postgresql-15')).toBe(PG_NEW);
      expect(localSql(ip, 'show server_version')).toMatch(/^15\.20 /);
    }
    await healthy();
  }, 20 * 60_000);

  it('prints no secret', () => {
    const secrets = clusterSecrets(dir);
    for (const out of outputs) for (const s of secrets) expect(out.includes(s)).toBe(false);
  });
});
