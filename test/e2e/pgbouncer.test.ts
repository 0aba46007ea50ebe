/**
 * The PgBouncer variant on real hosts, deployed the hard way: the first deploys are killed in
 * the middle of installing packages, of forming etcd and of replicas joining, and the next run
 * must converge. While deploys run, `ps` on every host is sampled for secrets. Afterwards every
 * PgBouncer host must follow the leader through switchovers, not only the hosts whose role changed.
 * The cluster has a pgBackRest repository host (`--enable-pgbackrest`): its stanza must converge
 * through the same killed deploys, and the leader archive WAL into it over pgBackRest's TLS.
 * It is monitored (`--enable-monitoring`): Prometheus must scrape every PgBouncer through
 * pgbouncer_exporter, which reads PgBouncer's console as a stats user and nothing more.
 * Its repository then serves a point-in-time restore in place (across a switchover and a
 * failover) and a clone: a second, small cluster (e2eclone) built from it at a point in time.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
  clusterSecrets,
  removeStaleCluster,
  e2eSuiteCanRun,
  pgha,
  pghaOk,
  psql,
  ssh,
  sshAsync,
  sshOk,
  removeTestCluster,
} from './harness.js';
import {
  containerInitPid,
  freezeContainer,
  GET_AUTH_COUNT_SQL,
  PLANTED_BY_DATABASE_OWNER,
  ProxyWriter,
  stopContainerCleanly,
  thawContainer,
  waitHealthy,
} from './probes.js';
import { hostPaths } from '../../src/platforms/nspawn/paths.js';

const canRun = e2eSuiteCanRun('pgbouncer');

const CLUSTER = 'e2epgb';
const SUBNET = '10.232.2';
const NODES = { pg1: `${SUBNET}.11`, pg2: `${SUBNET}.12`, pg3: `${SUBNET}.13` } as const;
/** The repository host configure --enable-pgbackrest adds, at the next free address. */
const BACKUP = `${SUBNET}.14`;
/** The monitoring host configure --enable-monitoring adds after it. */
const MONITOR = `${SUBNET}.15`;
type Node = keyof typeof NODES;
/** The cluster `restore --clone` builds from this one's repository: one data node and a repository host of its own. */
const CLONE = 'e2eclone';
const CLONE_SUBNET = '10.232.12';
const CLONE_PG1 = `${CLONE_SUBNET}.11`;
const CLONE_BACKUP = `${CLONE_SUBNET}.12`;

/** Run `pgha deploy` and SIGKILL it `delayMs` after its progress shows `phase` starting. */
function deployKilledDuring(dir: string, phase: string, delayMs: number): Promise<{ killed: boolean; output: string }> {
  return killedAfter(['deploy', dir], `❯ ${phase}`, delayMs);
}

/** Run pgha with `args` and SIGKILL it `delayMs` after its output first contains `marker`. */
function killedAfter(args: string[], marker: string, delayMs: number): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let armed = false;
    let killed = false;
    const onData = (b: Buffer) => {
      output += b.toString();
      if (!armed && output.includes(marker)) {
        armed = true;
        setTimeout(() => {
          killed = child.kill('SIGKILL');
        }, delayMs);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', () => resolve({ killed, output }));
  });
}

describe.skipIf(!canRun)('cluster on nspawn: M1 + PgBouncer, interrupted deploys', () => {
  let root = '';
  let dir = '';
  let cloneDir = '';
  const outputs: string[] = [];
  const psSamples: string[] = [];
  let sampling = false;

  const secret = (name: string) => readFileSync(join(dir, 'secrets', name), 'utf8').trim();
  /** `patronictl list` on a member (pg1 unless its container is down). */
  const patronictl = (at: Node = 'pg1') =>
    JSON.parse(sshOk(dir, NODES[at], `patronictl -c /etc/patroni/${CLUSTER}.yml list -f json`)) as {
      Member: string;
      Role: string;
      State: string;
    }[];
  const leader = (at: Node = 'pg1') => patronictl(at).find((m) => m.Role === 'Leader')?.Member as Node | undefined;
  /** One statement as postgres on a member's own socket; the first column of its rows. */
  const onNode = (node: Node, sql: string) =>
    sshOk(
      dir,
      NODES[node],
      `cd /tmp && runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres -c ${JSON.stringify(sql)}`,
    ).trim();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const viaPgbouncer = (node: Node) =>
    psql(
      `host=${NODES[node]} port=6432 user=postgres dbname=postgres sslmode=require`,
      'select host(inet_server_addr()), pg_is_in_recovery()',
      secret('postgres'),
    );

  /** Sample every host's process list until stopped, to look for secrets in argv. */
  async function samplePs(): Promise<void> {
    sampling = true;
    while (sampling) {
      for (const ip of Object.values(NODES)) {
        const r = ssh(dir, ip, 'ps -eo args');
        if (r.code === 0) psSamples.push(r.stdout);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * The leader's container stopped cleanly while a writer inserts through a survivor's PgBouncer:
   * a survivor leads, no acknowledged write is lost, the stopped host boots again and rejoins as a
   * replica, and the new leader archives its timeline into the repository from the switch point
   * on, no segment missing (`pgbackrest check` passes). Returns the writer's table.
   */
  async function failoverUnderWrites(): Promise<string> {
    const tStart = Date.now();
    const old = leader()!;
    const [at, other] = (Object.keys(NODES) as Node[]).filter((n) => n !== old) as [Node, Node];
    const timelineOf = (node: Node) =>
      onNode(node, 'select pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8)');
    const oldTimeline = timelineOf(old);
    const failed = (node: Node) => onNode(node, 'select failed_count from pg_catalog.pg_stat_archiver');
    const failedBefore = { [at]: failed(at), [other]: failed(other) };
    const w = new ProxyWriter(dir, NODES[at], 6432);
    w.install();
    const table = 'failover_writes';
    const stopWriter = w.start(table);
    await sleep(1000);
    const t0 = Date.now();
    const stopping = stopContainerCleanly(hostPaths(CLUSTER, old).pidFile);
    // Polled without blocking, so that the stop is timed as it happens.
    let next: Node | undefined;
    while (!next && Date.now() - t0 < 120_000) {
      const r = await sshAsync(dir, NODES[at], `timeout 5 patronictl -c /etc/patroni/${CLUSTER}.yml list -f json`, 10_000);
      try {
        const l = (JSON.parse(r.stdout) as { Member: string; Role: string; State: string }[]).find(
          (m) => m.Role === 'Leader' && m.State === 'running',
        );
        if (l && l.Member !== old) next = l.Member as Node;
      } catch {
        // no answer in the middle of the change: ask again
      }
      if (!next) await sleep(250);
    }
    const tLeader = (Date.now() - t0) / 1000;
    const tDown = await stopping;
    expect(next, `a new leader after ${old}'s container stopped`).toBeDefined();
    await w.waitWritable(60_000);
    await sleep(2000); // writes on the new leader's timeline
    const writes = await stopWriter();
    process.stdout.write(
      `[figure] ${old}'s container stopped (down after ${tDown.toFixed(1)} s): new leader ${next!} after ${tLeader.toFixed(1)} s; ` +
        `writes through ${at}'s PgBouncer: ${writes.acked} acknowledged, ${writes.errors} failed, ${writes.lost} lost, longest gap ${writes.longestGapMs} ms\n`,
    );
    expect(writes.lost, JSON.stringify({ ...writes, ackedAt: undefined })).toBe(0);
    // Archiving from the new leader while the old one is away: its first segment closed now.
    onNode(next!, 'select pg_catalog.txid_current()'); // a commit record, so the switch closes a segment
    onNode(next!, 'select pg_catalog.pg_switch_wal()');

    // Booted again on its kept state: Patroni starts with the container and follows the new leader.
    const t1 = Date.now();
    await pghaOk(['provision', dir]);
    const members = await waitHealthy(dir, NODES[at], CLUSTER, 3, 180_000);
    process.stdout.write(`[figure] ${old} booted and streaming again after ${((Date.now() - t1) / 1000).toFixed(1)} s\n`);
    expect(members.find((m) => m.Role === 'Leader')?.Member).toBe(next);
    expect(members.find((m) => m.Member === old)?.Role).toBe('Replica');

    // Archiving continues from the new leader, on its new timeline.
    const timeline = timelineOf(next!);
    expect(parseInt(timeline, 16), `timeline ${timeline} after ${oldTimeline}`).toBeGreaterThan(parseInt(oldTimeline, 16));
    onNode(next!, 'select pg_catalog.txid_current()'); // a commit record, so the switch closes a segment
    const last = onNode(next!, 'select pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())');
    let archived = '';
    for (let i = 0; i < 120 && archived !== 't'; i++) {
      await sleep(1000);
      archived = onNode(next!, `select coalesce(last_archived_wal, '') >= '${last}' from pg_catalog.pg_stat_archiver`);
    }
    const archiver = () => onNode(next!, 'select * from pg_catalog.pg_stat_archiver');
    expect(archived, archiver()).toBe('t');
    expect(failed(next!), archiver()).toBe(failedBefore[next!]);
    // Every segment of the new timeline, from the one holding the switch point (its history file) to the last.
    const segmentBytes = Number(onNode(next!, "select setting from pg_catalog.pg_settings where name = 'wal_segment_size'"));
    const perLog = 2 ** 32 / segmentBytes;
    const segno = (name: string) => parseInt(name.slice(8, 16), 16) * perLog + parseInt(name.slice(16, 24), 16);
    const history = onNode(next!, `select pg_catalog.pg_read_file('pg_wal/${timeline}.history')`);
    const [hi, lo] = history.trim().split('\n').pop()!.split('\t')[1]!.split('/');
    const first = Math.floor((parseInt(hi!, 16) * 2 ** 32 + parseInt(lo!, 16)) / segmentBytes);
    const stored = sshOk(dir, BACKUP, `find /var/lib/pgbackrest/archive/${CLUSTER} -name '${timeline}*' -printf '%f\\n'`).split('\n');
    expect(stored, 'the history file in the repository').toContainEqual(expect.stringMatching(new RegExp(`^${timeline}\\.history`)));
    const segments = [...new Set(stored.filter((f) => /^[0-9A-F]{24}-/.test(f)).map(segno))].sort((a, b) => a - b);
    const want = Array.from({ length: segno(last) - first + 1 }, (_, i) => first + i);
    expect(
      segments.filter((n) => n <= segno(last)),
      `segments of timeline ${timeline} in the repository`,
    ).toEqual(want);
    const check = ssh(dir, BACKUP, `cd /tmp && runuser -u postgres -- pgbackrest --stanza=${CLUSTER} check`);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    process.stdout.write(
      `[figure] timeline ${timeline}: ${want.length} segments archived from the switch point to ${last}, pgbackrest check passed; ` +
        `the failover step took ${((Date.now() - tStart) / 1000).toFixed(1)} s\n`,
    );
    return table;
  }

  beforeAll(async () => {
    await removeStaleCluster(CLUSTER);
    await removeStaleCluster(CLONE);
    root = mkdtempSync(join(tmpdir(), 'pgha-e2e-'));
    dir = join(root, CLUSTER);
    outputs.push(
      (
        await pghaOk([
          'configure',
          dir,
          '-a',
          'M1',
          '--enable-patroni',
          '--enable-pgbouncer',
          '--enable-pgbackrest',
          '--enable-monitoring',
          '--subnet',
          `${SUBNET}.0/24`,
        ])
      ).stdout,
    );
    outputs.push((await pghaOk(['download-packages', dir])).stdout);
    outputs.push((await pghaOk(['provision', dir])).stdout);
  }, 20 * 60_000);

  afterAll(async () => {
    sampling = false;
    if (cloneDir) await removeTestCluster(cloneDir, '');
    await removeTestCluster(dir, root);
  }, 5 * 60_000);

  it(
    'converges after deploys killed while installing packages, forming etcd and joining replicas',
    async () => {
      const sampler = samplePs();
      try {
        const killedInPackages = await deployKilledDuring(dir, 'packages', 4000);
        outputs.push(killedInPackages.output);
        expect(killedInPackages.killed).toBe(true);

        const killedInEtcd = await deployKilledDuring(dir, 'etcd', 300);
        outputs.push(killedInEtcd.output);

        // The primary bootstraps in a few seconds; replicas join after it.
        const killedInPatroni = await deployKilledDuring(dir, 'patroni', 6000);
        outputs.push(killedInPatroni.output);

        const converged = await pghaOk(['deploy', dir]);
        outputs.push(converged.stdout, converged.stderr);
      } finally {
        sampling = false;
        await sampler;
      }
      const members = patronictl();
      expect(members.filter((m) => m.Role === 'Leader')).toHaveLength(1);
      expect(members.filter((m) => m.Role === 'Replica' && ['running', 'streaming'].includes(m.State))).toHaveLength(2);
      const again = await pghaOk(['deploy', dir]);
      outputs.push(again.stdout);
      expect(again.stdout).toContain('no changes');
    },
    20 * 60_000,
  );

  it('pgBackRest: the stanza exists and checks out on the repository host; the leader archives WAL into it over TLS', async () => {
    const pgbr = (ip: string, args: string) => ssh(dir, ip, `cd /tmp && runuser -u postgres -- pgbackrest --stanza=${CLUSTER} ${args}`);
    const check = pgbr(BACKUP, 'check');
    expect(check.code, `${check.stdout}${check.stderr}`).toBe(0);
    const info = JSON.parse(pgbr(BACKUP, '--output=json info').stdout) as { name: string; archive: unknown[]; db: unknown[] }[];
    expect(info.map((s) => s.name)).toEqual([CLUSTER]);
    expect(info[0]!.db.length).toBeGreaterThan(0);
    // Every host runs pgBackRest's TLS server (the repository dials the nodes, the nodes the repository).
    for (const ip of [...Object.values(NODES), BACKUP]) expect(sshOk(dir, ip, 'systemctl is-active pgha-pgbackrest').trim()).toBe('active');
    // A segment switched out on the leader reaches the repository, with no archiving failure while
    // it does (failures counted before, while the killed deploys formed the cluster, are theirs).
    const leaderIp = NODES[leader()!];
    const local = (sql: string) =>
      sshOk(
        dir,
        leaderIp,
        `cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -c ${JSON.stringify(sql)}`,
      ).trim();
    const failedBefore = local('select failed_count from pg_catalog.pg_stat_archiver');
    local('select pg_catalog.txid_current()'); // a commit record, so the switch closes a segment
    const segment = local('select pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())');
    const inRepository = () => sshOk(dir, BACKUP, `find /var/lib/pgbackrest/archive/${CLUSTER} -name '${segment}*' | wc -l`).trim();
    let found = inRepository();
    for (let i = 0; i < 90 && found !== '1'; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      found = inRepository();
    }
    const why = () =>
      `${local('select * from pg_catalog.pg_stat_archiver')}\n${ssh(dir, leaderIp, 'journalctl -u patroni@* --no-pager -n 40').stdout}`;
    expect(found, why()).toBe('1');
    expect(local('select failed_count from pg_catalog.pg_stat_archiver'), why()).toBe(failedBefore);
  });

  it('(monitoring) Prometheus scrapes every PgBouncer through pgbouncer_exporter: targets up, pgbouncer_up 1, pools read', async () => {
    type Sample = { metric: Record<string, string>; value: [number, string] };
    const query = async (q: string): Promise<Sample[]> => {
      const res = await fetch(`http://${MONITOR}:9090/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; data: { result: Sample[] } };
      expect(body.status, q).toBe('success');
      return body.data.result;
    };
    const byHost = (r: Sample[]) => Object.fromEntries(r.map((x) => [x.metric.host, x.value[1]]));
    const all = { pg1: '1', pg2: '1', pg3: '1' };
    let up: Record<string, string> = {};
    for (let i = 0; i < 90; i++) {
      up = byHost(await query('up{job="pgbouncer"}').catch(() => []));
      if (Object.keys(all).every((h) => up[h] === '1') && Object.keys(up).length === 3) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const targets = await (await fetch(`http://${MONITOR}:9090/api/v1/targets?scrapePool=pgbouncer`)).text();
    expect(up, targets).toEqual(all);
    expect(byHost(await query('pgbouncer_up'))).toEqual(all);
    // The console answered SHOW POOLS: the pool of the database the suite's clients used.
    const pools = await query('pgbouncer_pools_client_active_connections');
    expect(new Set(pools.map((p) => p.metric.host))).toEqual(new Set(['pg1', 'pg2', 'pg3']));
    outputs.push(`[note] pgbouncer targets up: ${JSON.stringify(up)}; pool samples: ${pools.length}`);
  });

  it('(monitoring) the exporter runs as prometheus, a stats user on the socket only: SHOW yes, PAUSE no, TCP refused', () => {
    const ip = NODES.pg1;
    expect(sshOk(dir, ip, 'systemctl show -p User --value prometheus-pgbouncer-exporter').trim()).toBe('prometheus');
    const asPrometheus = (sql: string, host = '/var/run/postgresql') =>
      ssh(
        dir,
        ip,
        `cd /tmp && runuser -u prometheus -- psql -X -At -w -h ${host} -p 6432 -U prometheus -d pgbouncer -c ${JSON.stringify(sql)}`,
        '',
      );
    const show = asPrometheus('SHOW VERSION');
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/PgBouncer/);
    const pause = asPrometheus('PAUSE');
    expect(pause.code).not.toBe(0);
    expect(pause.stderr).toMatch(/admin access needed/);
    const tcp = asPrometheus('SHOW VERSION', ip);
    expect(tcp.code).not.toBe(0);
    expect(tcp.stderr).toMatch(/rejected|not allowed|authentication failed/);
  });

  it('never put a secret in deploy output or on a command line on the hosts', () => {
    expect(psSamples.length).toBeGreaterThan(10);
    const all = outputs.join('\n');
    const ps = psSamples.join('\n');
    for (const s of clusterSecrets(dir)) {
      expect(all).not.toContain(s);
      expect(ps).not.toContain(s);
    }
    // Nor in the hosts' logs.
    for (const ip of Object.values(NODES)) {
      const logs = sshOk(dir, ip, 'journalctl --no-pager -o cat 2>/dev/null | tail -n 20000');
      for (const s of clusterSecrets(dir)) expect(logs).not.toContain(s);
    }
  });

  it(
    'sends clients of every PgBouncer host to the leader, through switchovers',
    async () => {
      for (const node of Object.keys(NODES) as Node[]) {
        const r = viaPgbouncer(node);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe(`${NODES[leader()!]}|f`);
      }
      for (const target of ['pg2', 'pg3'] as Node[]) {
        const from = leader()!;
        if (from === target) continue;
        sshOk(dir, NODES.pg1, `patronictl -c /etc/patroni/${CLUSTER}.yml switchover --leader ${from} --candidate ${target} --force`);
        for (let i = 0; i < 60 && leader() !== target; i++) await new Promise((r) => setTimeout(r, 1000));
        expect(leader()).toBe(target);
        // Each host's follower notices within its poll interval.
        for (const node of Object.keys(NODES) as Node[]) {
          let got = '';
          for (let i = 0; i < 20; i++) {
            got = viaPgbouncer(node).stdout;
            if (got === `${NODES[target]}|f`) break;
            await new Promise((r) => setTimeout(r, 500));
          }
          expect(got, `PgBouncer on ${node} after switchover to ${target}`).toBe(`${NODES[target]}|f`);
        }
      }
    },
    5 * 60_000,
  );

  it("(monitoring) pgha's exporter on the monitoring host: every PgBouncer up and sending clients to the leader, the repository's newest backup, each member's archiver", async () => {
    // PgBouncer lists a database it reaches through its `*` entry once a client used it: one each.
    for (const node of Object.keys(NODES) as Node[]) expect(viaPgbouncer(node).stdout).toBe(`${NODES[leader()!]}|f`);
    const databases = ssh(
      dir,
      NODES.pg1,
      `cd /tmp && runuser -u prometheus -- psql -X -At -w -h /var/run/postgresql -p 6432 -U prometheus -d pgbouncer -c 'SHOW DATABASES'`,
      '',
    ).stdout;
    process.stdout.write(`[note] SHOW DATABASES on pg1's PgBouncer:\n${databases}\n`);
    // The repository host's timer writes the newest backup's time every five minutes: once now.
    sshOk(dir, BACKUP, 'systemctl start pgha-pgbackrest-metrics.service');
    const fetchPage = () =>
      sshOk(
        dir,
        MONITOR,
        `python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9547/metrics", timeout=30).read().decode())'`,
      );
    // A postgres_exporter collector that fails one scrape (seen once under load: pg_stat_archiver
    // missing on one member) leaves that member's counters out of that round, as it should: an
    // unknown is not a zero. Ask again, a few rounds, before judging.
    let page = fetchPage();
    const samples = (name: string) =>
      page
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`))
        .map((l) => ({
          labels: Object.fromEntries([...l.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])),
          value: Number(l.slice(l.lastIndexOf(' ') + 1)),
        }));
    const archiversSeen = () => samples('pgha_wal_archive_failures_total').length === 3;
    for (let i = 0; i < 5 && !archiversSeen(); i++) {
      await new Promise((r) => setTimeout(r, 3000));
      page = fetchPage();
    }
    const leaderIp = NODES[leader()!];
    for (const host of ['pg1', 'pg2', 'pg3']) {
      expect(samples('pgha_pgbouncer_up').find((x) => x.labels.host === host)?.value, `${host}\n${page}`).toBe(1);
      const targets = samples('pgha_pgbouncer_target_info')
        .filter((x) => x.labels.host === host)
        .map((x) => x.labels.target);
      outputs.push(`[note] pgha exporter: PgBouncer on ${host} sends clients to ${targets.join(', ')} (leader ${leaderIp})`);
      expect(targets, host).toContain(leaderIp);
      expect(samples('pgha_postgres_exporter_up').find((x) => x.labels.member === host)?.value, host).toBe(1);
    }
    expect(samples('pgha_backup_metrics_up').find((x) => x.labels.host === 'backup1')?.value, page).toBe(1);
    expect(samples('pgha_backup_last_end_timestamp_seconds').find((x) => x.labels.host === 'backup1')).toBeDefined();
    // The leaders of this suite archived segments (the pgBackRest case switched one out).
    expect(samples('pgha_wal_archived_total').reduce((n, x) => n + x.value, 0)).toBeGreaterThan(0);
    expect(
      samples('pgha_wal_archive_failures_total')
        .map((x) => x.labels.member)
        .sort(),
    ).toEqual(['pg1', 'pg2', 'pg3']);
  });

  it(
    'deploys only the hosts named with --hosts, and keeps the live leader',
    async () => {
      const before = leader();
      const r = await pghaOk(['deploy', dir, '--hosts', 'pg2', '--check'], 0, { env: { PGHA_REPORT_ROUNDTRIPS: '1' } });
      expect(Object.keys(JSON.parse(/ssh round trips: (.*)/.exec(r.stdout)?.[1] ?? '{}'))).toEqual(['pg2']);
      expect((await pgha(['deploy', dir, '--hosts', 'pg9'])).code).toBe(2);
      await pghaOk(['deploy', dir]);
      expect(leader()).toBe(before);
    },
    5 * 60_000,
  );

  it(
    'runs its SQL in databases other roles own without handing them superuser (pinned search_path, qualified operators)',
    async () => {
      const at = NODES[leader()!];
      // The database's name travels on stdin's first line, the SQL after it: no shell quoting games.
      const sql = (db: string, text: string) =>
        sshOk(
          dir,
          at,
          'IFS= read -r db; cd /tmp && PGDATABASE="$db" runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -f -',
          `${db}\n${text}\n`,
        ).trim();
      // The database's name has spaces, quotes and a glob character: deploy must treat it as one word.
      const appDb = 'app "db" *';
      sql('postgres', `CREATE ROLE app_owner LOGIN; CREATE DATABASE "app ""db"" *" OWNER app_owner;`);
      // What a database owner can plant: an exact-match operator for the catalog query deploy
      // ran (oid = regnamespace) and functions named like the ones pgha calls, all in public.
      sql(appDb, PLANTED_BY_DATABASE_OWNER);
      await pghaOk(['deploy', dir]);
      expect(sql('postgres', `SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'app_owner'`)).toBe('f');
      // ... and deploy still did its job in that database: the auth function exists there.
      expect(sql(appDb, GET_AUTH_COUNT_SQL)).toBe('1');
    },
    5 * 60_000,
  );

  it(
    'keeps running and archiving while the repository host is down: backup and deploy name it, the archive catches up with no segment lost',
    async () => {
      const local = (sql: string) =>
        sshOk(
          dir,
          NODES[leader()!],
          `cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -c ${JSON.stringify(sql)}`,
        ).trim();
      const switchSegment = () => {
        local('select pg_catalog.txid_current()'); // a commit record, so the switch closes a segment
        return local('select pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())');
      };
      const init = containerInitPid(hostPaths(CLUSTER, 'backup1').pidFile);
      const frozen = freezeContainer(init);
      const segments: string[] = [];
      try {
        for (let i = 0; i < 3; i++) segments.push(switchSegment());
        const backup = await pgha(['backup', dir]);
        expect(backup.code, backup.stdout + backup.stderr).not.toBe(0);
        expect(backup.stderr).toMatch(/backup1/);
        const deploy = await pgha(['deploy', dir]);
        expect(deploy.code, deploy.stdout + deploy.stderr).not.toBe(0);
        expect(deploy.stderr).toMatch(/backup1/);
        expect(deploy.stderr).toMatch(/nothing was changed/);
        // The database takes writes all along.
        expect(local('select 1 from (select pg_catalog.txid_current()) t')).toBe('1');
      } finally {
        thawContainer(init, frozen);
      }
      segments.push(switchSegment()); // a new segment wakes the archiver, which otherwise retries once a minute
      const last = segments[segments.length - 1]!;
      let archived = '';
      for (let i = 0; i < 120 && archived !== 't'; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        archived = local(`select coalesce(last_archived_wal, '') >= '${last}' from pg_catalog.pg_stat_archiver`);
      }
      expect(archived, local('select * from pg_catalog.pg_stat_archiver')).toBe('t');
      for (const seg of segments) {
        expect(
          sshOk(dir, BACKUP, `find /var/lib/pgbackrest/archive/${CLUSTER} -name '${seg}*' | wc -l`).trim(),
          `${seg} in the repository`,
        ).toBe('1');
      }
      const check = ssh(dir, BACKUP, `cd /tmp && runuser -u postgres -- pgbackrest --stanza=${CLUSTER} check`);
      expect(check.code, check.stdout + check.stderr).toBe(0);
    },
    5 * 60_000,
  );

  it(
    'restores the whole cluster to a point in time across a switchover and a failover (archiving continued from the new leader): exactly the rows committed before it, replicas rebuilt from the repository',
    async () => {
      const sql = (text: string, ip = NODES[leader()!]) =>
        sshOk(
          dir,
          ip,
          'cd /tmp && runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres -f -',
          `${text}\n`,
        ).trim();
      // Each INSERT its own transaction (psql autocommits statement by statement).
      const insert = (from: number, to: number) =>
        sql(Array.from({ length: to - from + 1 }, (_, i) => `INSERT INTO pitr (id) VALUES (${from + i});`).join('\n'));
      sql('CREATE TABLE pitr (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp())');
      const backup = await pghaOk(['backup', dir, '--type', 'full']);
      expect(backup.stdout).toMatch(/\d{8}-\d{6}F/);
      // status: the repository's newest backup and every data node's archiver.
      const st = JSON.parse((await pghaOk(['status', dir, '-o', 'json'])).stdout) as {
        pgbackrest: {
          host: string;
          lastBackup?: { type: string; ageSec: number | null } | null;
          archiver?: { working: boolean };
          error?: string;
        }[];
      };
      const repo = st.pgbackrest.find((e) => e.host === 'backup1');
      expect(repo?.error, JSON.stringify(repo)).toBeUndefined();
      expect(repo?.lastBackup?.type).toBe('full');
      expect(repo?.lastBackup?.ageSec).toBeLessThan(300);
      for (const e of st.pgbackrest.filter((x) => x.host !== 'backup1')) expect(e.archiver?.working, JSON.stringify(e)).toBe(true);
      expect((await pghaOk(['backups', dir, '-o', 'json'])).stdout).toMatch(/"type": "full"/);
      insert(1, 40);
      // A switchover between the backup and the target: recovery must follow the new timeline.
      const from = leader()!;
      await pghaOk(['switchover', dir, from === 'pg1' ? 'pg2' : 'pg1', '--force']);
      expect(leader()).not.toBe(from);
      insert(41, 50);
      // Then a failover (the new leader's container stopped under writes): a second timeline switch.
      const writerTable = await failoverUnderWrites();
      const written = sql(`SELECT pg_catalog.count(*) FROM ${writerTable}`);
      insert(51, 60);
      await sleep(1100);
      const target = sql('SELECT pg_catalog.now()');
      await sleep(1100);
      insert(61, 100);
      sql('DROP TABLE pitr');

      const live = await pgha(['restore', dir, '--target-time', target]);
      expect(live.code, live.stderr).toBe(3);
      expect(live.stderr).toMatch(/is live/);
      const early = await pgha(['restore', dir, '--target-time', '2000-01-01 00:00:00+00', '--force']);
      expect(early.code, early.stderr).toBe(3);
      expect(early.stderr).toMatch(/earliest restorable time: \d{4}-/);

      // Killed once the old cluster is down and forgotten: the next run (not live any more, so
      // without --force) must finish it, along the timeline the first run recorded.
      const restoreStarted = Math.floor(Date.now() / 1000);
      const killed = await killedAfter(['restore', dir, '--target-time', target, '--force'], 'etcd: forgot', 0);
      expect(killed.killed, killed.output).toBe(true);
      expect(existsSync(join(dir, 'restore-in-progress.json'))).toBe(true);
      const r = await pghaOk(['restore', dir, '--target-time', target]);
      expect(r.stdout).toMatch(/resuming a restore begun/);
      expect(r.stdout).toMatch(/rebuilt from the repository and streaming/);
      expect(r.stdout).toMatch(/ 0 failed/);
      const want = Array.from({ length: 60 }, (_, i) => String(i + 1)).join(',');
      for (const ip of Object.values(NODES)) {
        expect(sql("SELECT pg_catalog.string_agg(id::text, ',' ORDER BY id) FROM pitr", ip), `rows on ${ip}`).toBe(want);
        // Every row the writer committed across the failover, all before T.
        expect(sql(`SELECT pg_catalog.count(*) FROM ${writerTable}`, ip), `${writerTable} on ${ip}`).toBe(written);
      }
      process.stdout.write(`[figure] restored to T across both timeline switches: 60 rows of pitr, ${written} of ${writerTable}\n`);
      // The replicas came from the repository, not from a basebackup of the leader.
      for (const node of Object.keys(NODES) as Node[]) {
        if (node === leader()) continue;
        const log = ssh(dir, NODES[node], `journalctl -u patroni@${CLUSTER} --no-pager --since @${restoreStarted}`).stdout;
        expect(log, `${node}'s Patroni log`).toMatch(/replica has been created using pgbackrest/);
      }
      expect(existsSync(join(dir, 'restore-in-progress.json'))).toBe(false);

      // A replica rebuilt later (reinit) comes from the repository too, and streams.
      const replica = (Object.keys(NODES) as Node[]).find((n) => n !== leader())!;
      const reinitStarted = Math.floor(Date.now() / 1000);
      await pghaOk(['reinit', dir, replica, '--force']);
      const log = ssh(dir, NODES[replica], `journalctl -u patroni@${CLUSTER} --no-pager --since @${reinitStarted}`).stdout;
      expect(log).toMatch(/replica has been created using pgbackrest/);
      expect(sql('SELECT pg_catalog.count(*) FROM pitr', NODES[replica])).toBe('60');
    },
    12 * 60_000,
  );
  it(
    'clones the cluster at a point in time into a new cluster from its repository; the source is not changed',
    async () => {
      const sqlOn = (d: string, ip: string, text: string) =>
        sshOk(
          d,
          ip,
          'cd /tmp && runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres -f -',
          `${text}\n`,
        ).trim();
      const sourceLeader = NODES[leader()!];
      const rows = (d: string, ip: string) => sqlOn(d, ip, "SELECT pg_catalog.string_agg(id::text, ',' ORDER BY id) FROM pitr");
      const started = sqlOn(dir, sourceLeader, 'SELECT pg_catalog.pg_postmaster_start_time()');
      sqlOn(dir, sourceLeader, Array.from({ length: 10 }, (_, i) => `INSERT INTO pitr (id) VALUES (${61 + i});`).join('\n'));
      await new Promise((r) => setTimeout(r, 1100));
      const target = sqlOn(dir, sourceLeader, 'SELECT pg_catalog.now()');
      await new Promise((r) => setTimeout(r, 1100));
      sqlOn(dir, sourceLeader, Array.from({ length: 10 }, (_, i) => `INSERT INTO pitr (id) VALUES (${71 + i});`).join('\n'));

      cloneDir = join(root, CLONE);
      await pghaOk([
        'configure',
        cloneDir,
        '-a',
        'M1',
        '--enable-patroni',
        '--enable-pgbackrest',
        '--data-nodes',
        '1',
        '--subnet',
        `${CLONE_SUBNET}.0/24`,
      ]);
      // A clone of the directory itself, and of a cluster sharing its addresses: exit 2, nothing touched.
      const self = await pgha(['restore', dir, '--clone', dir, '--target-time', target]);
      expect(self.code, self.stderr).toBe(2);
      expect(self.stderr).toMatch(/is the cluster directory being restored/);
      await pghaOk(['download-packages', cloneDir]);
      await pghaOk(['provision', cloneDir]);

      const cloned = await pghaOk(['restore', dir, '--clone', cloneDir, '--target-time', target]);
      expect(cloned.stdout).toMatch(new RegExp(`stanza ${CLUSTER} copied as ${CLONE}`));
      expect(cloned.stdout).toMatch(/pg1: password of postgres, replicator(, rewind)? set from the cluster directory's secrets/);
      expect(cloned.stdout).toMatch(/ 0 failed/);
      // Exactly the rows committed at or before the target.
      expect(rows(cloneDir, CLONE_PG1)).toBe(Array.from({ length: 70 }, (_, i) => String(i + 1)).join(','));
      // The clone's superuser logs in with the clone's password, not the source's.
      const cloneSecret = readFileSync(join(cloneDir, 'secrets', 'postgres'), 'utf8').trim();
      const login = psql(
        `host=${CLONE_PG1} port=5432 user=postgres dbname=postgres sslmode=require`,
        'select pg_catalog.count(*) from pitr',
        cloneSecret,
      );
      expect(login.code, login.stderr).toBe(0);
      expect(login.stdout).toBe('70');
      // The clone archives and backs up into its own repository; a second clone into it is refused.
      const check = ssh(cloneDir, CLONE_BACKUP, `cd /tmp && runuser -u postgres -- pgbackrest --stanza=${CLONE} check`);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect((await pghaOk(['backup', cloneDir, '--type', 'incr'])).stdout).toMatch(/\d{8}-\d{6}F_\d{8}-\d{6}I/);
      const again = await pgha(['restore', dir, '--clone', cloneDir, '--target-time', target]);
      expect(again.code, again.stderr).toBe(3);
      expect(again.stderr).toMatch(/is in use, not a new cluster/);
      // The source kept running, unchanged: same postmaster, every row, its own repository.
      expect(sqlOn(dir, sourceLeader, 'SELECT pg_catalog.pg_postmaster_start_time()')).toBe(started);
      expect(rows(dir, sourceLeader)).toBe(Array.from({ length: 80 }, (_, i) => String(i + 1)).join(','));
      const own = ssh(dir, BACKUP, `cd /tmp && runuser -u postgres -- pgbackrest --stanza=${CLUSTER} check`);
      expect(own.code, own.stdout + own.stderr).toBe(0);
    },
    10 * 60_000,
  );
});
