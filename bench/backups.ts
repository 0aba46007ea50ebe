/**
 * The backup part of `npm run bench` (issue 13): a cluster with a pgBackRest repository host,
 * ≥ 1 GB of pgbench data, and each figure beside its floor, measured the same way:
 *
 * - backup_full_s: `pgha backup --type full` (taken from a replica: backup-standby), whole command;
 *   backup_floor_s: tar of the same replica's data directory, zstd -3 on two threads (pgBackRest's
 *   compress-type and process-max), into a file on the repository host. The bytes travel
 *   replica → this machine → repository host over SSH (there is no trust between the hosts), so
 *   the floor pays one more hop than pgBackRest does.
 * - restore_pitr_s: the leader-to-be's own restore, as `pgha restore --target-time T --force`
 *   prints it (`restored and recovered to T in X s`): pgBackRest's restore of the backup, the
 *   replay of the WAL up to T and the promotion, on that node; the stops of the members, the
 *   archive flush and the DCS reset before it are not in it (nor in the floor).
 *   restore_floor_s: the floor's archive unpacked on a data node the same way round. The WAL
 *   between the backup and T is a few segments, replayed in well under a second: the floor
 *   leaves it out. restore_total_s: the whole `pgha restore` command (stops, flush, restore,
 *   new full backup, replicas rebuilt, `pgha test`); the context keeps it beside pgha's running
 *   total at the promotion (restore.until_promoted_s).
 * - pitr_rows_wrong: rows present that were written after T, plus rows missing from before (goal 0).
 * - replica_from_repo_s: `pgha reinit` of a replica (Patroni builds it from the repository);
 *   replica_basebackup_s: pg_basebackup of the same leader into a scratch directory on that host.
 * - archive_lag_max_s: under pgbench -T 60 on the leader, sampled each second: how long since the
 *   last segment was archived while one is waiting (0 when none waits). Goal ≤ 5 s.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { round } from './report.js';

export interface BackupFigures {
  backup_full_s: number;
  backup_floor_s: number;
  restore_pitr_s: number;
  restore_floor_s: number;
  restore_total_s: number;
  pitr_rows_wrong: number;
  replica_from_repo_s: number;
  replica_basebackup_s: number;
  archive_lag_max_s: number;
}

export interface BackupBenchDeps {
  dir: string;
  name: string;
  ips: Record<string, string>;
  pgMajor: number;
  scale: number;
  pghaOk(args: string[]): Promise<{ stdout: string; seconds: number }>;
  sshOk(dir: string, ip: string, script: string, input?: string): string;
  /** A local shell pipeline, timed (bash -o pipefail); `input` is its stdin (the only way a secret goes in). */
  shell(script: string, input?: string): Promise<{ code: number; stdout: string; stderr: string; seconds: number }>;
  log(s: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureBackups(d: BackupBenchDeps, ctx: Record<string, unknown>): Promise<BackupFigures> {
  const { dir, ips } = d;
  // The machine's load around this part (the run's context has it at the start of the whole run).
  const loadNow = () => loadavg().map((x) => round(x, 2));
  const loadAtStart = loadNow();
  const data = `/var/lib/postgresql/${d.pgMajor}/${d.name}`;
  const sql = (ip: string, text: string) =>
    d
      .sshOk(
        dir,
        ip,
        'cd /tmp && runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres -f -',
        `${text}\n`,
      )
      .trim();
  const leaderIp = () => {
    for (const n of ['pg1', 'pg2', 'pg3']) if (sql(ips[n]!, 'select pg_catalog.pg_is_in_recovery()') === 'f') return ips[n]!;
    throw new Error('no primary');
  };
  const ssh = (ip: string) =>
    `ssh -i ${dir}/ssh/id_pgha -o UserKnownHostsFile=${dir}/ssh/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes root@${ip}`;
  const caughtUp = async (ip: string) => {
    for (let i = 0; i < 600; i++) {
      const lag = sql(
        ip,
        'select coalesce(max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)), -1) from pg_catalog.pg_stat_replication',
      );
      if (lag === '0') return;
      await sleep(1000);
    }
    throw new Error('replicas did not catch up');
  };

  let L = leaderIp();
  d.log(`backup: pgbench -i -s ${d.scale}`);
  const init = await d.shell(
    `${ssh(L)} "cd /tmp && runuser -u postgres -- /usr/lib/postgresql/${d.pgMajor}/bin/pgbench -i -q -s ${d.scale} -h /var/run/postgresql postgres" 2>&1`,
  );
  if (init.code !== 0) throw new Error(`pgbench -i: ${init.stdout}`);
  const bytes = Number(sql(L, "select pg_catalog.pg_database_size('postgres')"));
  ctx.backup_data = { pgbench_scale: d.scale, database_bytes: bytes, pgbench_init_s: round(init.seconds, 1) };
  await caughtUp(L);

  // Archive lag under a write load.
  d.log('backup: archive lag under pgbench -T 60');
  const load = d.shell(
    `${ssh(L)} "cd /tmp && runuser -u postgres -- /usr/lib/postgresql/${d.pgMajor}/bin/pgbench -T 60 -c 4 -j 2 -h /var/run/postgresql postgres" 2>&1`,
  );
  const lags: number[] = [];
  for (let i = 0; i < 60; i++) {
    lags.push(
      Number(
        sql(
          L,
          "select case when exists (select 1 from pg_catalog.pg_ls_archive_statusdir() where name like '%.ready') then extract(epoch from pg_catalog.now() - coalesce(last_archived_time, pg_catalog.now())) else 0 end from pg_catalog.pg_stat_archiver",
        ),
      ),
    );
    await sleep(1000);
  }
  const loaded = await load;
  ctx.archive_lag = {
    samples_s: lags.map((x) => round(x, 1)),
    pgbench: loaded.stdout.split('\n').filter((l) => /^tps|transactions/.test(l)),
  };
  await caughtUp(L);

  d.log('backup: pgha backup --type full');
  const backup = await d.pghaOk(['backup', dir, '--type', 'full']);
  ctx.backup_output = backup.stdout.trim().split('\n');
  d.log('backup: floor (tar | zstd -3 -T2 from pg2 to the repository host)');
  const floor = await d.shell(
    `${ssh(ips.pg2!)} "cd ${data} && tar -cf - --exclude=./pg_wal --exclude=./postmaster.pid ." | zstd -q -3 -T2 | ${ssh(ips.backup1!)} "cat > /var/lib/pgbackrest/floor.tar.zst"`,
  );
  if (floor.code !== 0) throw new Error(`floor backup: ${floor.stderr}`);

  // Point in time: rows before T, rows after, then the table dropped.
  L = leaderIp();
  sql(L, 'CREATE TABLE pitr (id int PRIMARY KEY)');
  sql(L, Array.from({ length: 200 }, (_, i) => `INSERT INTO pitr VALUES (${i + 1});`).join('\n'));
  await sleep(1100);
  const target = sql(L, 'SELECT pg_catalog.now()');
  await sleep(1100);
  sql(L, Array.from({ length: 200 }, (_, i) => `INSERT INTO pitr VALUES (${i + 201});`).join('\n'));
  sql(L, 'DROP TABLE pitr');
  d.log(`backup: pgha restore --target-time ${target}`);
  const restore = await d.pghaOk(['restore', dir, '--target-time', target, '--force']);
  // "  pg1: restored and recovered to <target> in <X> s, promoted onto timeline <N> (<running total> s)"
  const recovered = /restored and recovered to .*? in ([\d.]+) s, promoted onto timeline \S+ \(([\d.]+) s\)/.exec(restore.stdout);
  if (!recovered) throw new Error(`no recovery time in the restore's output:\n${restore.stdout}`);
  L = leaderIp();
  const ids = new Set(sql(L, 'SELECT id FROM pitr').split('\n').filter(Boolean).map(Number));
  let wrong = 0;
  for (let i = 1; i <= 400; i++) if (ids.has(i) !== i <= 200) wrong++;
  ctx.restore = {
    target,
    recovered_s: Number(recovered[1]),
    until_promoted_s: Number(recovered[2]),
    total_s: round(restore.seconds, 1),
    output: restore.stdout.split('\n').filter((l) => !l.startsWith('✓')),
  };

  d.log('backup: restore floor (the floor archive unpacked on pg3)');
  const unpack = await d.shell(
    `${ssh(ips.backup1!)} "cat /var/lib/pgbackrest/floor.tar.zst" | zstd -q -d -T2 | ${ssh(ips.pg3!)} "rm -rf /var/lib/postgresql/floor && mkdir -p /var/lib/postgresql/floor && tar -xf - -C /var/lib/postgresql/floor"`,
  );
  if (unpack.code !== 0) throw new Error(`floor restore: ${unpack.stderr}`);
  d.sshOk(dir, ips.pg3!, 'rm -rf /var/lib/postgresql/floor');
  d.sshOk(dir, ips.backup1!, 'rm -f /var/lib/pgbackrest/floor.tar.zst');

  // A replica from the repository, and from the leader.
  const replica = ['pg3', 'pg2', 'pg1'].find((n) => ips[n] !== L)!;
  d.log(`backup: pgha reinit ${replica} (from the repository)`);
  const reinit = await d.pghaOk(['reinit', dir, replica, '--force']);
  d.log(`backup: pg_basebackup on ${replica} from the leader`);
  const replicator = readFileSync(`${dir}/secrets/replicator`, 'utf8').trim();
  const bb = await d.shell(
    `${ssh(ips[replica]!)} 'umask 077; f=$(mktemp); chown postgres "$f"; IFS= read -r pw; printf "*:*:*:replicator:%s\\n" "$pw" > "$f"; rm -rf /var/lib/postgresql/bb; install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/bb; cd /tmp; s=$(date +%s%N); PGPASSFILE="$f" runuser -u postgres -- /usr/lib/postgresql/${d.pgMajor}/bin/pg_basebackup -d "host=${L} port=5432 user=replicator sslmode=verify-full sslrootcert=/etc/patroni/ssl/ca.crt" -D /var/lib/postgresql/bb -X stream -c fast; rc=$?; e=$(date +%s%N); rm -f "$f"; rm -rf /var/lib/postgresql/bb; echo $(( (e - s) / 1000000 )); exit $rc'`,
    `${replicator}\n`,
  );
  if (bb.code !== 0) throw new Error(`pg_basebackup: ${bb.stderr}`);

  ctx.backup_loadavg = { at_start: loadAtStart, at_end: loadNow() };
  return {
    backup_full_s: round(backup.seconds, 1),
    backup_floor_s: round(floor.seconds, 1),
    restore_pitr_s: Number(recovered[1]),
    restore_floor_s: round(unpack.seconds, 1),
    restore_total_s: round(restore.seconds, 1),
    pitr_rows_wrong: wrong,
    replica_from_repo_s: round(reinit.seconds, 1),
    replica_basebackup_s: round(Number(bb.stdout.trim().split('\n').pop()) / 1000, 1),
    archive_lag_max_s: round(Math.max(...lags), 1),
  };
}
