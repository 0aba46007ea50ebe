/**
 * The monitoring part of `npm run bench` (issue 15): a cluster with a monitoring host, and
 *
 * - exporter_scrape_ms: `pgha exporter --cluster DIR` run here, on the controller, against the
 *   cluster's 3 members; the median time of one GET /metrics (each request scrapes every member
 *   afresh), after 3 unmeasured ones; monitoring_patronictl_list_ms: `patronictl list` on a
 *   member, the same median, for the goal exporter_scrape_ms ≤ 0.3 × patronictl list.
 * - exporter_rss_mb: that exporter's peak resident memory (VmHWM) after the scrapes. Goal ≤ 80.
 * - alert_fire_s: a replica's Patroni stopped → PatroniMemberDown firing in Prometheus' API on the
 *   monitoring host (rule `for: 1m`, scrapes every 15 s: about 75–90 s is what the rule allows).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, round } from './report.js';

export interface MonitoringFigures {
  exporter_scrape_ms: number;
  monitoring_patronictl_list_ms: number;
  exporter_rss_mb: number;
  alert_fire_s: number;
}

export interface MonitoringBenchDeps {
  dir: string;
  name: string;
  ips: Record<string, string>;
  /** The repository's bin/pgha.js. */
  bin: string;
  sshOk(dir: string, ip: string, script: string, input?: string): string;
  log(s: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SCRAPES = 20;
const PORT = 19547;

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

async function exporterFigures(d: MonitoringBenchDeps): Promise<{ scrapeMs: number[]; rssMb: number }> {
  const child = spawn(process.execPath, [d.bin, 'exporter', '--cluster', d.dir, '-p', String(PORT), '-b', '127.0.0.1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    const url = `http://127.0.0.1:${PORT}/metrics`;
    await until('the exporter to listen', 30, async () => ((await fetch(url)).ok ? true : undefined));
    const scrapeMs: number[] = [];
    for (let i = 0; i < SCRAPES + 3; i++) {
      const t0 = process.hrtime.bigint();
      const res = await fetch(url);
      const page = await res.text();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!page.includes('patroni_exporter_scrape_success'))
        throw new Error(`exporter page without its own metrics: ${page.slice(0, 200)}`);
      if (i >= 3) scrapeMs.push(round(ms, 1));
    }
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const hwmKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    return { scrapeMs, rssMb: round(hwmKb / 1024, 1) };
  } catch (e) {
    throw new Error(`${(e as Error).message}; exporter said: ${stderr.slice(-500)}`, { cause: e });
  } finally {
    child.kill('SIGTERM');
  }
}

export async function measureMonitoring(d: MonitoringBenchDeps, ctx: Record<string, unknown>): Promise<MonitoringFigures> {
  const { scrapeMs, rssMb } = await exporterFigures(d);
  const ctlLoop = d.sshOk(
    d.dir,
    d.ips.pg1!,
    `cd /tmp; for i in $(seq ${SCRAPES}); do s=$(date +%s%N); patronictl -c /etc/patroni/${d.name}.yml list >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); done`,
  );
  const ctl = ctlLoop.trim().split('\n').map(Number);
  d.log(
    `exporter --cluster: median ${median(scrapeMs)} ms per scrape of 3 members, peak RSS ${rssMb} MB; patronictl list ${median(ctl)} ms`,
  );

  // Which member leads, from Prometheus itself: the alert is about a replica.
  const prom = `http://${d.ips.monitor1!}:9090`;
  const api = async <T>(path: string): Promise<T> => ((await (await fetch(`${prom}${path}`)).json()) as { data: T }).data;
  const leader = await until('Prometheus to name the leader', 120, async () => {
    const r = await api<{ result: { metric: Record<string, string> }[] }>(
      `/api/v1/query?query=${encodeURIComponent('patroni_primary == 1')}`,
    );
    return r.result.length === 1 ? r.result[0]!.metric.host : undefined;
  });
  const victim = ['pg1', 'pg2', 'pg3'].find((n) => n !== leader)!;
  const firing = async () =>
    (await api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts.some(
      (a) => a.labels.alertname === 'PatroniMemberDown' && a.state === 'firing' && a.labels.host === victim,
    );
  const t0 = Date.now();
  d.sshOk(d.dir, d.ips[victim]!, `systemctl stop patroni@${d.name}`);
  let alertS: number;
  try {
    await until(`PatroniMemberDown for ${victim}`, 300, async () => ((await firing()) ? true : undefined));
    alertS = round((Date.now() - t0) / 1000, 1);
  } finally {
    d.sshOk(d.dir, d.ips[victim]!, `systemctl start patroni@${d.name}`);
  }
  d.log(`PatroniMemberDown fired ${alertS} s after ${victim}'s Patroni stopped`);
  ctx.monitoring = {
    exporter_scrape_samples_ms: scrapeMs,
    patronictl_samples_ms: ctl,
    alert_victim: victim,
    exporter: join('bin', 'pgha.js'),
  };
  return {
    exporter_scrape_ms: round(median(scrapeMs), 1),
    monitoring_patronictl_list_ms: Math.round(median(ctl)),
    exporter_rss_mb: rssMb,
    alert_fire_s: alertS,
  };
}
