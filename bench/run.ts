/**
 * `npm run bench` (root, nspawn): every figure of issue 5 item 1 in one run, written to
 * bench/results/<UTC date>.json and .md (see bench/report.ts for the method and the goals).
 *
 * Environment:
 *   PGHA_BENCH_ONLY=a,b   run only these parts (render, floor, deploy, status, switchover, tpa,
 *                         failover, pmkill, upgrade, rotate, freeze, scale, backup, monitoring, nodes); results then go to /var/tmp/pgha-bench-last.*
 *                         (pmkill: only the failover part's postmaster kill, PGHA_BENCH_PMKILLS times)
 *   PGHA_BENCH_PGBENCH_SCALE=n  pgbench scale of the backup part (70: about 1 GB)
 *   PGHA_BENCH_DIR=DIR    use this already deployed `bench3` cluster instead of creating one
 *                         (never torn down by the bench)
 *   PGHA_BENCH_KEEP=1     leave the bench3 cluster running at the end (its directory is printed)
 *   PGHA_BENCH_SWITCHOVERS=n  switchovers per HAProxy setting (5)
 *   PGHA_BENCH_PMKILLS=n  postmaster kills of the pmkill part (3; its figure is their median)
 *   PGHA_BENCH_OS_VERSION=12|13  the Debian release of the bench's clusters (default: pgha's default, 13)
 *
 * Clusters: benchfl (10.239.1.0/24, floor), bench3 (10.239.2.0/24), bench6 (10.239.3.0/24),
 * benchbr (10.239.4.0/24, with a pgBackRest repository host: the backup part, bench/backups.ts).
 * Every cluster it creates is deprovisioned at the end, on failure and on SIGINT/SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse, stringify } from 'yaml';
import { loadCluster } from '../src/app/cluster-dir.js';
import { PG_CREATECLUSTER_DROP_IN } from '../src/components/paths.js';
import { DEFAULT_OS_VERSION, releaseByVersion, releaseName, type DebianRelease } from '../src/model/releases.js';
import { hostPaths } from '../src/platforms/nspawn/paths.js';
import { packagesFor } from '../src/render/index.js';
import { BIN, REPO, configureM1Args, e2eBlocker, sshArgs, sshOk, type Ran } from '../test/e2e/harness.js';
import {
  ackedAfter,
  containerInitPid,
  crashContainer,
  fixedPatroniDeb,
  lostAckedAfter,
  freezeContainer,
  patronictl,
  ProxyWriter,
  rebuiltDeb,
  thawContainer,
  waitHealthy,
  type WriterReport,
} from '../test/e2e/probes.js';
import { emptyFigures, markdown, median, newestPerKey, round, type BenchFigures, type OtherColumn } from './report.js';
import { measureRenderPlan } from './render-plan.js';
import { measureBackups } from './backups.js';
import { measureMonitoring } from './monitoring.js';
import { measureNodes } from './nodes.js';
import { measureProxyLoss } from './proxy-loss.js';

const PARTS = [
  'render',
  'floor',
  'deploy',
  'status',
  'switchover',
  'tpa',
  'failover',
  'pmkill',
  'upgrade',
  'rotate',
  'freeze',
  'scale',
  'backup',
  'monitoring',
  'nodes',
] as const;
type Part = (typeof PARTS)[number];
const only = process.env.PGHA_BENCH_ONLY?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const p of only ?? [])
  if (!(PARTS as readonly string[]).includes(p)) throw new Error(`PGHA_BENCH_ONLY: unknown part ${p} (parts: ${PARTS.join(', ')})`);
const wants = (p: Part) => !only || only.includes(p);
const REUSE = process.env.PGHA_BENCH_DIR;
const KEEP = process.env.PGHA_BENCH_KEEP === '1';

/**
 * What differs between the releases the bench can run on: the Patroni its clusters start on (the
 * release's own, pinned so that a rebuilt one in the repository is not picked), the rebuilt one
 * its upgrade part rolls, and the PostgreSQL major (paths of the floor and the postmaster kill).
 */
interface BenchRelease {
  release: DebianRelease;
  patroniPin: string;
  patroniNew: string;
  /** Builds the .deb of patroniNew (after a first download-packages filled the package cache). */
  buildPatroniNew(workDir: string): Promise<{ file: string; version: string }>;
}

const BENCH_RELEASES: Record<number, Omit<BenchRelease, 'release'>> = {
  // pgha's fixed 3.0.2-1+pgha2 (packaging/patroni/README.md), rebuilt one higher.
  12: { patroniPin: '3.0.2-1', patroniNew: '3.0.2-1+pgha3', buildPatroniNew: async (w) => rebuiltDeb(w, await fixedPatroniDeb(), 'pgha3') },
  // pgha's own 4.0.7-3~deb13u1+pgha1 (a switchover releases the leader key sooner), what deploy
  // installs by default: the switchover part measures it. The upgrade part rolls a rebuild above it.
  13: {
    patroniPin: '4.0.7-3~deb13u1+pgha1',
    patroniNew: '4.0.7-3~deb13u1+pgha2',
    buildPatroniNew: async (w) => rebuiltDeb(w, await fixedPatroniDeb('4.0.7-3~deb13u1'), 'pgha2'),
  },
};

function benchRelease(): BenchRelease {
  const asked = process.env.PGHA_BENCH_OS_VERSION ?? String(DEFAULT_OS_VERSION);
  const release = releaseByVersion(asked);
  const parts = release && BENCH_RELEASES[release.version];
  if (!release || !parts) throw new Error(`PGHA_BENCH_OS_VERSION=${asked}: the bench runs on ${Object.keys(BENCH_RELEASES).join(' or ')}`);
  return { release, ...parts };
}
const REL = benchRelease();
const PG_MAJOR = REL.release.postgresDefault;
const SWITCHOVERS = Number(process.env.PGHA_BENCH_SWITCHOVERS ?? 5);
const PMKILLS = Number(process.env.PGHA_BENCH_PMKILLS ?? 3);
const STATUS_RUNS = 20;
/** TPA's HAProxy server checks; fastinter/downinter removed so that they default to inter, as in TPA. */
const TPA_CHECKS = { default_server: { inter: '3s', fall: 3, rise: 2, fastinter: null, downinter: null } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

interface Timed extends Ran {
  seconds: number;
}

/** A process, timed from spawn to exit. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30 * 60_000): Promise<Timed> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

const pgha = (args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []) =>
  timed(process.execPath, [...nodeFlags, BIN, ...args], env);

async function pghaOk(args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []): Promise<Timed> {
  const r = await pgha(args, env, nodeFlags);
  if (r.code !== 0)
    throw new Error(`pgha ${args.join(' ')} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
  return r;
}

/** OpenSSH to a host, asynchronously (so that several hosts can run at once). */
function sshAsync(dir: string, ip: string, script: string): Promise<Timed> {
  return timed('ssh', sshArgs(dir, ip, script));
}

/** A local bash pipeline (pipefail), timed; `input` goes to its stdin. */
function timedShell(script: string, input?: string): Promise<Timed> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdin.end(input ?? '');
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

// ── clusters ──

interface Cluster {
  name: string;
  dir: string;
  ips: Record<string, string>;
  proxy: string;
  dataNodes: string[];
}

const created = new Set<string>();
let root = '';

async function teardown(): Promise<void> {
  for (const dir of [...created]) {
    if (KEEP && dir.endsWith('/bench3')) {
      log(`kept ${dir} (PGHA_BENCH_KEEP=1); remove it with: pgha deprovision ${dir}`);
      continue;
    }
    log(`deprovision ${dir}`);
    const r = await pgha(['deprovision', dir]);
    if (r.code !== 0) process.stderr.write(`deprovision ${dir} failed:\n${r.stdout}\n${r.stderr}\n`);
    created.delete(dir);
  }
  if (root && !KEEP) rmSync(root, { recursive: true, force: true });
}

let tearingDown = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (tearingDown) return;
    tearingDown = true;
    log(`${sig}: tearing down`);
    void teardown().finally(() => process.exit(130));
  });
}

function describe(name: string, dir: string): Cluster {
  const doc = parse(readFileSync(join(dir, 'config.yml'), 'utf8')) as { instances: { Name: string; ip_address: string; role: string[] }[] };
  const ips = Object.fromEntries(doc.instances.map((i) => [i.Name, i.ip_address]));
  const proxy = doc.instances.find((i) => i.role.includes('haproxy'))!.ip_address;
  const dataNodes = doc.instances.filter((i) => i.role.includes('primary') || i.role.includes('replica')).map((i) => i.Name);
  return { name, dir, ips, proxy, dataNodes };
}

/** configure (+ extra replicas), pin patroni, build the repository, provision: ready for a cold deploy. */
async function makeCluster(
  name: string,
  subnet: string,
  opts: { extraReplicas?: number; debs?: () => Promise<string[]>; pgbackrest?: boolean; monitoring?: boolean } = {},
): Promise<Cluster> {
  const dir = join(root, name);
  created.add(dir); // deprovision also cleans up a half-provisioned cluster
  await pgha(['deprovision', dir]); // what a killed earlier run may have left (no-op otherwise)
  await pghaOk(
    configureM1Args(dir, subnet, {
      osVersion: REL.release.version,
      ...(opts.pgbackrest ? { pgbackrest: true } : {}),
      ...(opts.monitoring ? { monitoring: true } : {}),
    }),
  );
  const path = join(dir, 'config.yml');
  const doc = parse(readFileSync(path, 'utf8')) as { cluster_vars: Record<string, unknown>; instances: Record<string, unknown>[] };
  doc.cluster_vars.patroni_package_version = REL.patroniPin;
  for (let i = 0; i < (opts.extraReplicas ?? 0); i++) {
    const n = doc.instances.length + 1;
    doc.instances.push({ Name: `pg${n}`, node: n, location: 'main', role: ['replica'], ip_address: `${subnet}.${10 + n}` });
  }
  writeFileSync(path, stringify(doc));
  await pghaOk(['download-packages', dir]);
  // Rebuilt packages start from Debian's in the package cache, which that first run fills.
  if (opts.debs) await pghaOk(['download-packages', dir, ...(await opts.debs()).flatMap((d) => ['--add-deb', d])]);
  await pghaOk(['provision', dir]);
  return describe(name, dir);
}

// ── parts ──

/** The floor: plain apt-get install of pgha's package set on all hosts at once, plus initdb + basebackup. */
async function measureFloor(ctx: Record<string, unknown>): Promise<number> {
  const c = await makeCluster('benchfl', '10.239.1');
  const loaded = loadCluster(c.dir);
  const installs = await Promise.all(
    loaded.cluster.hosts.map(async (h) => {
      const pkgs = packagesFor(loaded.cluster, h).map((p) => (p.version ? `${p.name}=${p.version}` : p.name));
      const script = `set -e
export DEBIAN_FRONTEND=noninteractive
mkdir -p ${PG_CREATECLUSTER_DROP_IN.replace(/\/[^/]+$/, '')} && echo 'create_main_cluster = false' > ${PG_CREATECLUSTER_DROP_IN}
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
s=$(date +%s%N)
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold ${pkgs.join(' ')} >/dev/null
e=$(date +%s%N)
rm -f /usr/sbin/policy-rc.d
echo $(( (e - s) / 1000000 ))`;
      const r = await sshAsync(c.dir, h.ip, script);
      if (r.code !== 0) throw new Error(`floor install on ${h.name}: ${r.stderr}`);
      return { host: h.name, wallS: round(r.seconds, 2), insideS: Number(r.stdout.trim()) / 1000, packages: pkgs };
    }),
  );
  const installS = Math.max(...installs.map((i) => i.wallS));
  const B = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
  const D = '/var/lib/postgresql/floor';
  const primary = c.ips.pg1!;
  const init = sshOk(
    c.dir,
    primary,
    `set -e; s=$(date +%s%N)
install -d -o postgres -g postgres ${D}
cd /tmp && runuser -u postgres -- ${B}/initdb -D ${D}/data -A trust >/dev/null
echo 'host replication all 0.0.0.0/0 trust' >> ${D}/data/pg_hba.conf
runuser -u postgres -- ${B}/pg_ctl -D ${D}/data -l ${D}/log -w -o "-c listen_addresses='*' -c unix_socket_directories=/tmp" start >/dev/null
e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
  );
  const backup = sshOk(
    c.dir,
    c.ips.pg2!,
    `set -e; s=$(date +%s%N)
install -d -o postgres -g postgres ${D}
cd /tmp && runuser -u postgres -- ${B}/pg_basebackup -h ${primary} -U postgres -D ${D}/replica -X stream -c fast
e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
  );
  const initS = Number(init.trim()) / 1000;
  const backupS = Number(backup.trim()) / 1000;
  ctx.floor = { installs, install_slowest_s: installS, initdb_and_start_s: initS, basebackup_s: backupS };
  log(`floor: install ${installS} s (slowest host), initdb+start ${initS} s, basebackup ${backupS} s`);
  await pgha(['deprovision', c.dir]);
  created.delete(c.dir);
  return round(installS + initS + backupS, 2);
}

async function switchoverGaps(c: Cluster, writer: ProxyWriter, label: string): Promise<WriterReport[]> {
  const reports: WriterReport[] = [];
  for (let i = 1; i <= SWITCHOVERS; i++) {
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000);
    const leader = patronictl(c.dir, c.ips.pg1!, c.name).find((m) => m.Role === 'Leader')!.Member;
    const target = c.dataNodes[(c.dataNodes.indexOf(leader) + 1) % c.dataNodes.length]!;
    await writer.waitWritable();
    const stop = writer.start(`bench_${label}_${i}_${Date.now() % 100000}`);
    await sleep(2000);
    const r = await pgha(['switchover', c.dir, target, '--force']);
    await sleep(2000);
    const report = await stop();
    if (r.code !== 0) throw new Error(`switchover to ${target} exited ${r.code}: ${r.stderr}`);
    log(
      `${label} switchover ${i} ${leader} → ${target}: longest gap ${report.longestGapMs} ms, lost ${report.lost}, pgha ${round(r.seconds, 1)} s`,
    );
    reports.push(report);
  }
  return reports;
}

/** Sets (or, with undefined, removes) one of config.yml's cluster_vars. */
function setClusterVar(dir: string, key: string, value: unknown): void {
  const path = join(dir, 'config.yml');
  const doc = parse(readFileSync(path, 'utf8')) as { cluster_vars: Record<string, unknown> };
  if (value === undefined) delete doc.cluster_vars[key];
  else doc.cluster_vars[key] = value;
  writeFileSync(path, stringify(doc));
}

/** Writes stop after `fault`, and come back: the longest gap once writes flow again. */
async function failoverGap(
  c: Cluster,
  writer: ProxyWriter,
  table: string,
  fault: (leader: string) => Promise<void>,
  recovered: (leader: string) => Promise<void>,
): Promise<WriterReport> {
  await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000);
  const leader = patronictl(c.dir, c.ips.pg1!, c.name).find((m) => m.Role === 'Leader')!.Member;
  const waited = await writer.waitWritable();
  if (waited > 500) log(`${table}: HAProxy led to a writable primary only after ${waited} ms more`);
  const stop = writer.start(table);
  await sleep(2000);
  await fault(leader);
  await recovered(leader);
  // Patroni calling the cluster healthy is not yet writes through HAProxy (see waitWritable).
  await writer.waitWritable();
  await sleep(3000);
  const report = await stop();
  if (report.lastError)
    log(
      `${table}: writes had not resumed when the writer stopped (last error: ${report.lastError}); a writable primary ${report.settleMs} ms later`,
    );
  return report;
}

/** kill -9 of the leader's postmaster under the writer: Patroni restarts it in place (or another member takes over). */
async function postmasterKillGap(c: Cluster, w: ProxyWriter): Promise<WriterReport> {
  return failoverGap(
    c,
    w,
    `bench_pmkill_${Date.now() % 100000}`,
    async (leader) => {
      sshOk(c.dir, c.ips[leader]!, `kill -9 $(head -1 /var/lib/postgresql/${PG_MAJOR}/${c.name}/postmaster.pid)`);
    },
    async () => waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000).then(() => undefined),
  );
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await ok()) return;
    } catch {
      // not yet
    }
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The other release's newest committed figures (bench/results/*.json; files from before the
 * bench named its release ran Debian 12), as the Markdown's second column.
 */
function otherReleaseColumn(): OtherColumn | undefined {
  const dirPath = join(REPO, 'bench', 'results');
  const runs = readdirSync(dirPath)
    .filter((n) => n.endsWith('.json'))
    .map((n) => {
      const doc = JSON.parse(readFileSync(join(dirPath, n), 'utf8')) as Partial<BenchFigures> & { context?: { os_version?: number } };
      return { date: n.slice(0, 10), os: doc.context?.os_version ?? 12, figures: doc };
    })
    .filter((r) => r.os !== REL.release.version);
  if (!runs.length) return undefined;
  const other = releaseByVersion(runs[0]!.os);
  return { label: `${other ? releaseName(other) : `Debian ${runs[0]!.os}`} (newest committed run)`, values: newestPerKey(runs) };
}

// ── main ──

async function main(): Promise<void> {
  const blocker = e2eBlocker();
  if (blocker) throw new Error(`cannot run the benchmark here: ${blocker}`);
  const started = Date.now();
  const f: BenchFigures = emptyFigures();
  const ctx: Record<string, unknown> = {
    machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} at start`,
    node: process.version,
    release: releaseName(REL.release),
    os_version: REL.release.version,
    parts: only ?? 'all',
  };
  root = mkdtempSync('/var/tmp/pgha-bench-');

  if (wants('render')) {
    log('render + plan, 500 hosts');
    const r = measureRenderPlan(5, 500, REL.release);
    f.render_plan_500_hosts_ms = r.medianMs;
    ctx.render_plan = r;
    log(`render + plan: ${r.medianMs} ms (${r.samplesMs.join(', ')})`);
  }

  if (wants('floor')) {
    log('floor: fresh containers, plain apt-get + initdb + basebackup');
    f.deploy_floor_s = await measureFloor(ctx);
  }

  const needMain =
    (['deploy', 'status', 'switchover', 'tpa', 'failover', 'pmkill', 'upgrade', 'rotate', 'freeze', 'nodes'] as Part[]).some(wants) ||
    (wants('scale') && f.cold_deploy_s === null);
  let c: Cluster | undefined;
  if (needMain && REUSE) {
    c = describe(basename(REUSE), REUSE); // the cluster's own name: patronictl's config and nspawn's state are named by it
    log(`using the deployed cluster in ${REUSE}`);
  } else if (needMain) {
    log(`bench3 (${releaseName(REL.release)}): configure, download-packages, provision`);
    c = await makeCluster('bench3', '10.239.2', {
      debs: async () => {
        const deb = await REL.buildPatroniNew(root);
        if (deb.version !== REL.patroniNew) throw new Error(`rebuilt patroni is ${deb.version}, expected ${REL.patroniNew}`);
        return [deb.file];
      },
    });
    log('bench3: cold deploy');
    const rssFile = join(root, 'deploy.rss');
    const cold = await pghaOk(['deploy', c.dir], { PGHA_BENCH_RSS_FILE: rssFile }, ['--require', join(REPO, 'bench', 'peak-rss.cjs')]);
    f.cold_deploy_s = round(cold.seconds, 2);
    f.cli_peak_rss_mb = round(Number(readFileSync(rssFile, 'utf8').trim()) / 1024, 1);
    // listr2's per-phase timers ("✔ packages [23s]"): where a cold deploy spends its time.
    ctx.cold_deploy_phases = cold.stdout.split('\n').filter((l) => /^✔ .*\[[\dms. ]+\]$/.test(l));
    log(`cold deploy ${f.cold_deploy_s} s, peak RSS ${f.cli_peak_rss_mb} MB`);
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000);
    const noop = await pghaOk(['deploy', c.dir], { PGHA_REPORT_ROUNDTRIPS: '1' });
    const trips = JSON.parse(/^ssh round trips: (.*)$/m.exec(noop.stdout)?.[1] ?? 'null') as Record<string, number> | null;
    if (!trips) throw new Error(`no round-trip report in the no-op deploy:\n${noop.stdout}`);
    f.noop_deploy_s = round(noop.seconds, 2);
    f.ssh_roundtrips_per_host_noop = Math.max(...Object.values(trips));
    ctx.noop = { roundtrips: trips, summary: noop.stdout.trim().split('\n').slice(-3) };
    log(`no-op deploy ${f.noop_deploy_s} s, round trips ${JSON.stringify(trips)}`);
  }

  if (c) {
    ctx.versions = [`postgresql-${PG_MAJOR}`, 'patroni', 'etcd-server', 'haproxy']
      .map((p) => `${p} ${sshOk(c.dir, p === 'haproxy' ? c.proxy : c.ips.pg1!, `dpkg-query -W -f='\${Version}' ${p}`).trim()}`)
      .join(', ');
  }

  if (c && wants('status')) {
    log(`status × ${STATUS_RUNS} (after 1 warm-up), patronictl list × ${STATUS_RUNS} on pg1`);
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000);
    await pghaOk(['status', c.dir]);
    const samples: number[] = [];
    for (let i = 0; i < STATUS_RUNS; i++) samples.push(Math.round((await pghaOk(['status', c.dir])).seconds * 1000));
    const loop = sshOk(
      c.dir,
      c.ips.pg1!,
      `cd /tmp; for i in $(seq ${STATUS_RUNS}); do s=$(date +%s%N); patronictl -c /etc/patroni/${c.name}.yml list >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); done`,
    );
    const ctl = loop.trim().split('\n').map(Number);
    f.status_ms = Math.round(median(samples));
    f.patronictl_list_ms = Math.round(median(ctl));
    ctx.status = { status_samples_ms: samples, patronictl_samples_ms: ctl };
    log(`status ${f.status_ms} ms, patronictl list ${f.patronictl_list_ms} ms`);
  }

  let writer: ProxyWriter | undefined;
  const getWriter = () => {
    if (!writer) {
      writer = new ProxyWriter(c!.dir, c!.proxy);
      writer.install();
    }
    return writer;
  };

  if (c && wants('switchover')) {
    const reports = await switchoverGaps(c, getWriter(), 'sw');
    const gaps = reports.map((r) => r.longestGapMs);
    f.switchover_gap_ms_p50 = Math.round(median(gaps));
    f.switchover_gap_ms_max = Math.max(...gaps);
    ctx.switchover = { gaps_ms: gaps, lost: reports.map((r) => r.lost) };
  }

  if (c && wants('tpa')) {
    log("TPA's checks: haproxy_conf_settings.default_server = inter 3s fall 3 rise 2");
    setClusterVar(c.dir, 'haproxy_conf_settings', TPA_CHECKS);
    try {
      await pghaOk(['deploy', c.dir]);
      const cfg = sshOk(c.dir, c.proxy, 'grep default-server /etc/haproxy/haproxy.cfg');
      if (!/inter 3s/.test(cfg) || /fastinter/.test(cfg)) throw new Error(`TPA's settings not in haproxy.cfg: ${cfg}`);
      ctx.tpa_default_server = cfg.trim();
      const reports = await switchoverGaps(c, getWriter(), 'tpa');
      const gaps = reports.map((r) => r.longestGapMs);
      f.switchover_gap_ms_p50_tpa_checks = Math.round(median(gaps));
      ctx.switchover_tpa = { gaps_ms: gaps, lost: reports.map((r) => r.lost) };
    } finally {
      setClusterVar(c.dir, 'haproxy_conf_settings', undefined);
      await pghaOk(['deploy', c.dir]);
    }
  }

  if (c && wants('failover')) {
    const w = getWriter();
    const newLeader = async (old: string) =>
      until('a new running leader', () => {
        const other = c.dataNodes.find((n) => n !== old)!;
        return patronictl(c.dir, c.ips[other]!, c.name).some((m) => m.Role === 'Leader' && m.State === 'running' && m.Member !== old);
      });
    log('failover: kill -9 of the leader postmaster');
    const pm = await postmasterKillGap(c, w);
    f.postmaster_kill_gap_ms = pm.longestGapMs;
    ctx.failover_postmaster_kill = pm;
    log(`postmaster kill: longest gap ${pm.longestGapMs} ms, lost ${pm.lost}`);

    log("failover: the leader's container stopped");
    let stoppedHost = '';
    const ns = await failoverGap(
      c,
      w,
      `bench_nodestop_${Date.now() % 100000}`,
      async (leader) => {
        stoppedHost = leader;
        const pid = Number(readFileSync(hostPaths(c.name, leader).pidFile, 'utf8').trim());
        process.kill(pid, 'SIGTERM'); // systemd-nspawn powers the container off cleanly
        await until(`container ${leader} (pid ${pid}) to stop`, () => !existsSync(`/proc/${pid}`), 120_000);
      },
      newLeader,
    );
    f.failover_gap_ms_node_stop = ns.longestGapMs;
    ctx.failover_node_stop = { ...ns, stopped: stoppedHost };
    log(`node stop (${stoppedHost}): longest gap ${ns.longestGapMs} ms, lost ${ns.lost}`);
    await pghaOk(['provision', c.dir]);
    await pghaOk(['deploy', c.dir]);
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 300_000);

    log("failover: the leader's host crashes (SIGKILL to every process of its container at once)");
    let crashed = '';
    let killed = 0;
    const cr = await failoverGap(
      c,
      w,
      `bench_crash_${Date.now() % 100000}`,
      async (leader) => {
        crashed = leader;
        const pidFile = hostPaths(c.name, leader).pidFile;
        const nspawn = Number(readFileSync(pidFile, 'utf8').trim());
        killed = crashContainer(containerInitPid(pidFile));
        await until(`container ${leader} (systemd-nspawn ${nspawn}) to be gone`, () => !existsSync(`/proc/${nspawn}`), 60_000);
      },
      newLeader,
    );
    f.leader_crash_gap_ms = cr.longestGapMs;
    ctx.leader_crash = { ...cr, crashed, processes_killed: killed };
    log(`leader crash (${crashed}, ${killed} processes): longest gap ${cr.longestGapMs} ms, lost ${cr.lost}`);
    // Power back: provision boots the container on its kept state, deploy brings it in as a replica.
    const back = Date.now();
    await pghaOk(['provision', c.dir]);
    await pghaOk(['deploy', c.dir]);
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 300_000);
    ctx.leader_crash_rejoin_s = round((Date.now() - back) / 1000, 1);

    log('failover: the HAProxy host holding the VIP crashes');
    f.proxy_loss_gap_ms = await measureProxyLoss(c, { pghaOk, until, sleep, log }, ctx);
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 300_000);
  }

  if (c && wants('pmkill') && !wants('failover')) {
    const gaps: number[] = [];
    const lost: number[] = [];
    for (let i = 1; i <= PMKILLS; i++) {
      const pm = await postmasterKillGap(c, getWriter());
      log(`postmaster kill ${i}: longest gap ${pm.longestGapMs} ms, lost ${pm.lost}, load ${loadavg()[0]!.toFixed(2)}`);
      gaps.push(pm.longestGapMs);
      lost.push(pm.lost);
    }
    f.postmaster_kill_gap_ms = Math.round(median(gaps));
    ctx.postmaster_kills = { gaps_ms: gaps, lost, load_after: loadavg().map((x) => round(x, 2)) };
  }

  if (c && wants('upgrade')) {
    log(`upgrade --components=patroni to ${REL.patroniNew}`);
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000);
    await getWriter().waitWritable();
    const stop = getWriter().start(`bench_upgrade_${Date.now() % 100000}`);
    await sleep(2000);
    const r = await pgha(['upgrade', c.dir, '--components=patroni', '-e', `patroni_package_version=${REL.patroniNew}`]);
    await sleep(2000);
    const report = await stop();
    if (r.code !== 0) throw new Error(`upgrade exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    f.upgrade_patroni_lost_writes = report.lost;
    f.upgrade_patroni_gap_ms = report.longestGapMs;
    ctx.upgrade = { ...report, seconds: round(r.seconds, 1) };
    log(`upgrade: lost ${report.lost}, longest gap ${report.longestGapMs} ms, ${round(r.seconds, 1)} s`);
  }

  if (c && wants('rotate')) {
    log('rotate-passwords under the writer');
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000);
    await getWriter().waitWritable();
    const stop = getWriter().start(`bench_rotate_${Date.now() % 100000}`);
    await sleep(2000);
    const r = await pgha(['rotate-passwords', c.dir]);
    await sleep(2000);
    const report = await stop();
    if (r.code !== 0) throw new Error(`rotate-passwords exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    f.rotate_passwords_failed_writes = report.errors;
    ctx.rotate_passwords = { ...report, seconds: round(r.seconds, 1) };
    log(`rotate-passwords: ${report.errors} failed, ${report.lost} lost of ${report.acked}, ${round(r.seconds, 1)} s`);
    // The writer reconnects with the password it was given: give it the new one for the parts after.
    getWriter().install();

    log('rotate-certs --ca under the writer');
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000);
    await getWriter().waitWritable();
    const stopCa = getWriter().start(`bench_rotate_ca_${Date.now() % 100000}`);
    await sleep(2000);
    const rc = await pgha(['rotate-certs', c.dir, '--ca']);
    await sleep(2000);
    const caReport = await stopCa();
    if (rc.code !== 0) throw new Error(`rotate-certs --ca exited ${rc.code}:\n${rc.stdout}\n${rc.stderr}`);
    f.rotate_ca_failed_writes = caReport.errors;
    ctx.rotate_ca = { ...caReport, seconds: round(rc.seconds, 1) };
    log(`rotate-certs --ca: ${caReport.errors} failed, ${caReport.lost} lost of ${caReport.acked}, ${round(rc.seconds, 1)} s`);
  }

  if (c && wants('freeze')) {
    // On Debian 12 bench3 starts on Debian's pinned 3.0.2-1, which has the leader key bug (issue 17): measure
    // the build pgha deploys, as the upgrade part leaves it or by that upgrade here.
    const st = JSON.parse((await pghaOk(['status', c.dir, '-o', 'json'])).stdout) as { members: { knownBug?: string }[] };
    if (st.members.some((m) => m.knownBug)) {
      log(`freeze: upgrading patroni to ${REL.patroniNew} first`);
      await pghaOk(['upgrade', c.dir, '--components=patroni', '-e', `patroni_package_version=${REL.patroniNew}`]);
    }
    const w = getWriter();
    const HOLD_MS = 45_000;
    const healthyAgain = async () => waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 300_000).then(() => undefined);
    const otherLeads = (old: string) =>
      c.dataNodes
        .filter((n) => n !== old)
        .some((n) => patronictl(c.dir, c.ips[n]!, c.name).some((m) => m.Role === 'Leader' && m.State === 'running' && m.Member !== old));
    /**
     * A fault on the leader (`cut` makes it and returns its undo) under the HAProxy writer and a
     * second writer straight to the leader's PostgreSQL, held HOLD_MS and until another member
     * leads; what each writer had acknowledged after the fault took effect (split brain), and
     * whether the old leader came back as a replica.
     */
    const leaderFault = async (label: string, cut: (init: number) => () => void) => {
      let old = '';
      let tCut = 0;
      let stopDirect: (() => Promise<WriterReport>) | undefined;
      const report = await failoverGap(
        c,
        w,
        `bench_${label}_${Date.now() % 100000}`,
        async (leader) => {
          old = leader;
          stopDirect = w.start(`bench_${label}_direct_${Date.now() % 100000}`, c.ips[leader]);
          await sleep(1000);
          const undo = cut(containerInitPid(hostPaths(c.name, leader).pidFile));
          tCut = Date.now();
          try {
            await sleep(HOLD_MS);
            await until('another member to lead', () => otherLeads(leader), 60_000);
          } finally {
            undo();
          }
        },
        healthyAgain,
      );
      const direct = await stopDirect!();
      // A replica or, under synchronous_mode, the sync standby: anything but a leader, and in recovery.
      const role = patronictl(c.dir, c.ips[old]!, c.name).find((m) => m.Member === old)?.Role;
      const inRecovery = sshOk(
        c.dir,
        c.ips[old]!,
        `cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -c 'select pg_is_in_recovery()'`,
      ).trim();
      const asReplica = role !== undefined && role !== 'Leader' && inRecovery === 't';
      const split = {
        old_leader: old,
        via_haproxy: lostAckedAfter(report, tCut),
        direct: ackedAfter(direct, tCut),
        direct_acked_before: direct.acked - ackedAfter(direct, tCut),
        direct_errors: direct.errors,
        back_as_replica: asReplica,
      };
      log(
        `${label}: old leader ${old} accepted ${split.via_haproxy} through HAProxy, ${split.direct} directly; back as a replica: ${asReplica}`,
      );
      return { report, direct, split };
    };

    log(`freeze: every process of the leader's container stopped for ${HOLD_MS / 1000} s (and until another member leads)`);
    const frozen = await leaderFault('freeze', (init) => {
      const pids = freezeContainer(init);
      return () => thawContainer(init, pids);
    });
    const fr = frozen.report;
    f.frozen_leader_lost_writes = fr.lost;
    f.frozen_leader_gap_ms = fr.longestGapMs;
    f.frozen_leader_split_brain_writes = frozen.split.via_haproxy + frozen.split.direct;
    ctx.frozen_leader = fr;
    ctx.frozen_leader_split_brain = frozen.split;
    log(`frozen leader: longest gap ${fr.longestGapMs} ms, lost ${fr.lost} of ${fr.acked}`);

    const partition = (label: string) =>
      leaderFault(label, (init) => {
        const link = (state: string) => spawnSync('nsenter', ['-t', String(init), '-n', 'ip', 'link', 'set', 'host0', state]);
        if (link('down').status !== 0) throw new Error("cannot take the leader's link down");
        return () => void link('up');
      });

    log(`partition: the leader's container link down for ${HOLD_MS / 1000} s (and until another member leads)`);
    const part = await partition('partition');
    const pa = part.report;
    f.partition_lost_writes = pa.lost;
    f.partition_split_brain_writes = part.split.via_haproxy;
    ctx.partition = pa;
    ctx.partition_split_brain = part.split;
    log(`partitioned leader: longest gap ${pa.longestGapMs} ms, lost ${pa.lost} of ${pa.acked} (asynchronous replication)`);

    log('partition again, with patroni_synchronous_mode: strict');
    // pgha's own variable, as an operator sets it: deploy PATCHes Patroni's configuration, no restart.
    setClusterVar(c.dir, 'patroni_synchronous_mode', 'strict');
    try {
      await pghaOk(['deploy', c.dir]);
      await until('a synchronous standby', () => patronictl(c.dir, c.ips.pg1!, c.name).some((m) => m.Role === 'Sync Standby'), 120_000);
      const strict = await partition('sync_strict');
      const ps = strict.report;
      f.sync_strict_lost_writes = ps.lost;
      ctx.sync_strict = ps;
      ctx.sync_strict_split_brain = strict.split;
      log(`partitioned leader, strict: longest gap ${ps.longestGapMs} ms, lost ${ps.lost} of ${ps.acked}`);
    } finally {
      setClusterVar(c.dir, 'patroni_synchronous_mode', undefined);
      await pghaOk(['deploy', c.dir]);
    }
  }

  if (c && wants('nodes')) {
    log('nodes: a fourth data node added (provision + deploy), pg_basebackup on it, then remove-node, under the writer');
    await waitHealthy(c.dir, c.ips.pg1!, c.name, 3, 180_000);
    const figures = await measureNodes(
      {
        dir: c.dir,
        name: c.name,
        pgMajor: PG_MAJOR,
        writer: getWriter(),
        pgha: (args) => pghaOk(args),
        log,
      },
      ctx,
    );
    Object.assign(f, figures);
    log(`nodes: ${JSON.stringify(figures)}`);
  }

  if (c && !REUSE && !KEEP) {
    await pgha(['deprovision', c.dir]);
    created.delete(c.dir);
  }

  if (wants('backup')) {
    log('benchbr: 3 data nodes, HAProxy and a pgBackRest repository host');
    const cb = await makeCluster('benchbr', '10.239.4', { pgbackrest: true });
    await pghaOk(['deploy', cb.dir]);
    const figures = await measureBackups(
      {
        dir: cb.dir,
        name: cb.name,
        ips: cb.ips,
        pgMajor: PG_MAJOR,
        scale: Number(process.env.PGHA_BENCH_PGBENCH_SCALE ?? 70),
        pghaOk: (args) => pghaOk(args),
        sshOk,
        shell: (script, input) => timedShell(script, input),
        log,
      },
      ctx,
    );
    Object.assign(f, figures);
    log(`backup: ${JSON.stringify(figures)}`);
    await pgha(['deprovision', cb.dir]);
    created.delete(cb.dir);
  }

  if (wants('monitoring')) {
    log('benchmon: 3 data nodes, HAProxy and a monitoring host');
    const cm = await makeCluster('benchmon', '10.239.5', { monitoring: true });
    await pghaOk(['deploy', cm.dir]);
    const figures = await measureMonitoring({ dir: cm.dir, name: cm.name, ips: cm.ips, bin: BIN, sshOk, log }, ctx);
    Object.assign(f, figures);
    log(`monitoring: ${JSON.stringify(figures)}`);
    await pgha(['deprovision', cm.dir]);
    created.delete(cm.dir);
  }

  if (wants('scale')) {
    log('bench6: 6 data nodes + 1 HAProxy, cold deploy');
    const c6 = await makeCluster('bench6', '10.239.3', { extraReplicas: 3 });
    const cold6 = await pghaOk(['deploy', c6.dir]);
    ctx.cold_deploy_6_s = round(cold6.seconds, 2);
    if (f.cold_deploy_s !== null) f.deploy_3_vs_6_data_nodes_ratio = round(cold6.seconds / f.cold_deploy_s, 2);
    log(`6 data nodes: ${round(cold6.seconds, 2)} s`);
    await pgha(['deprovision', c6.dir]);
    created.delete(c6.dir);
  }

  ctx.bench_run_s = Math.round((Date.now() - started) / 1000);
  const date = new Date().toISOString().slice(0, 10);
  const base = only || REUSE ? '/var/tmp/pgha-bench-last' : join(REPO, 'bench', 'results', `${date}-debian${REL.release.version}`);
  mkdirSync(join(base, '..'), { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify({ ...f, context: ctx }, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(date, f, ctx, otherReleaseColumn()));
  process.stdout.write(readFileSync(`${base}.md`, 'utf8'));
  log(`wrote ${base}.json and ${base}.md in ${String(ctx.bench_run_s)} s`);
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (!tearingDown) await teardown();
  });
