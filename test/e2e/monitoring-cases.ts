/**
 * The monitoring host (issue 15) on the operations suite's cluster (./operations.test.ts), asked
 * through Prometheus' own HTTP API from the controller: every target up after deploy, an alert
 * that fires when a replica's Patroni stops and resolves when it is back, the leader metric
 * following a switchover; and `pgha exporter -u` on one replica with the cluster CA.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { BIN, pgha, sshOk } from './harness.js';

export interface MonitoringEnv {
  dir(): string;
  cluster: string;
  /** pg1, pg2, pg3, proxy1 and monitor1. */
  ips: Record<string, string>;
  leader(): string | undefined;
}

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
  scrapeUrl: string;
}
interface Alert {
  labels: Record<string, string>;
  state: string;
}

async function api<T>(env: MonitoringEnv, path: string): Promise<T> {
  const res = await fetch(`http://${env.ips.monitor1}:9090${path}`);
  const body = (await res.json()) as { status: string; data: T };
  expect(body.status, path).toBe('success');
  return body.data;
}

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < seconds; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(1000);
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Right after the first deploy. */
export function monitoringTargetCases(env: MonitoringEnv): void {
  it('(monitoring) every scrape target is up within 60 s of deploy', async () => {
    const targets = await until('every target up', 60, async () => {
      const t = (await api<{ activeTargets: Target[] }>(env, '/api/v1/targets')).activeTargets;
      return t.length && t.every((x) => x.health === 'up') ? t : undefined;
    }).catch(async (e: unknown) => {
      const t = (await api<{ activeTargets: Target[] }>(env, '/api/v1/targets')).activeTargets;
      throw new Error(
        `${String(e)}\n${t
          .filter((x) => x.health !== 'up')
          .map((x) => `${x.scrapeUrl}: ${x.health} ${x.lastError}`)
          .join('\n')}`,
      );
    });
    const jobs = new Set(targets.map((t) => t.labels.job));
    for (const job of ['patroni', 'etcd', 'haproxy', 'node', 'postgres'])
      expect(
        [...jobs].some((j) => j!.includes(job)),
        `a ${job} job in ${[...jobs].join(', ')}`,
      ).toBe(true);
    // Every host has its node exporter scraped; every data node its Patroni.
    for (const h of ['pg1', 'pg2', 'pg3', 'proxy1', 'monitor1'])
      expect(
        targets.some((t) => t.scrapeUrl.includes(`//${env.ips[h]}:9100/`)),
        `${h}'s node exporter`,
      ).toBe(true);
    for (const h of ['pg1', 'pg2', 'pg3'])
      expect(
        targets.some((t) => t.scrapeUrl.includes(`//${env.ips[h]}:8008/`)),
        `${h}'s Patroni`,
      ).toBe(true);
  });

  it('(monitoring) pgha exporter -u on a replica, with the cluster CA: role replica, /health 200', async () => {
    const replica = ['pg1', 'pg2', 'pg3'].find((n) => n !== env.leader())!;
    const child = spawn(
      process.execPath,
      [
        BIN,
        'exporter',
        '-p',
        '0',
        '-b',
        '127.0.0.1',
        '-u',
        `https://${env.ips[replica]}:8008/patroni`,
        '--requests-verify',
        join(env.dir(), 'ssl', 'ca.crt'),
      ],
      { env: { ...process.env, CI: 'true' } },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let log = '';
        child.stderr.on('data', (b: Buffer) => {
          log += b.toString();
          const m = /listening on (\S+), scraping/.exec(log);
          if (m) resolve(`http://${m[1]!}`);
        });
        child.on('exit', (code) => reject(new Error(`pgha exporter exited ${code}: ${log}`)));
      });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^patroni_patroni_info\{[^}]*role="replica"[^}]*\} 1$/m);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
}

/** A replica's Patroni stopped: PatroniMemberDown fires, then resolves once it is back. */
export function monitoringAlertCases(env: MonitoringEnv): void {
  const firing = async (host: string) =>
    (await api<{ alerts: Alert[] }>(env, '/api/v1/alerts')).alerts.some(
      (a) => a.labels.alertname === 'PatroniMemberDown' && a.state === 'firing' && a.labels.host === host,
    );

  it('(monitoring) the leader metric names the leader, after switchovers too', async () => {
    const leader = env.leader()!;
    await until(`patroni_primary to name ${leader}`, 60, async () => {
      const r = await api<{ result: { metric: Record<string, string> }[] }>(
        env,
        `/api/v1/query?query=${encodeURIComponent('patroni_primary == 1')}`,
      );
      return r.result.length === 1 && r.result[0]!.metric.host === leader ? true : undefined;
    });
  });

  it(
    '(monitoring) PatroniMemberDown fires within 2 minutes of a replica stopping, and resolves when it is back',
    async () => {
      const victim = ['pg1', 'pg2', 'pg3'].find((n) => n !== env.leader())!;
      const t0 = Date.now();
      sshOk(env.dir(), env.ips[victim]!, `systemctl stop patroni@${env.cluster}`);
      try {
        await until(`PatroniMemberDown firing for ${victim}`, 120, async () => ((await firing(victim)) ? true : undefined));
        process.stdout.write(`\nPatroniMemberDown fired ${((Date.now() - t0) / 1000).toFixed(1)} s after ${victim}'s Patroni stopped\n`);
      } finally {
        sshOk(env.dir(), env.ips[victim]!, `systemctl start patroni@${env.cluster}`);
      }
      await until(`PatroniMemberDown for ${victim} to resolve`, 120, async () => ((await firing(victim)) ? undefined : true));
      // The next cases start from a healthy cluster.
      await until('pgha test to pass', 120, async () => ((await pgha(['test', env.dir()])).code === 0 ? true : undefined));
    },
    6 * 60_000,
  );
}
