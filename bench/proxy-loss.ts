/**
 * proxy_loss_gap_ms (issue 14): the HAProxy host holding the VIP crashes under a writer that
 * inserts through the VIP from a data node; the time from the crash to the first write
 * acknowledged through the VIP again. See bench/report.ts for the method.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { hostPaths } from '../src/platforms/nspawn/paths.js';
import { containerInitPid, crashContainer, firstAckAfterMs, ProxyWriter } from '../test/e2e/probes.js';

export interface ProxyLossCluster {
  name: string;
  dir: string;
  ips: Record<string, string>;
}

export interface ProxyLossDeps {
  pghaOk(args: string[]): Promise<{ stdout: string }>;
  until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs?: number): Promise<void>;
  sleep(ms: number): Promise<unknown>;
  log(line: string): void;
}

type VipEntry = { host: string; holdsVip: boolean };

export async function measureProxyLoss(c: ProxyLossCluster, d: ProxyLossDeps, ctx: Record<string, unknown>): Promise<number | null> {
  const vars = (parse(readFileSync(join(c.dir, 'config.yml'), 'utf8')) as { cluster_vars: Record<string, unknown> }).cluster_vars;
  if (typeof vars.vip_address !== 'string') {
    d.log('proxy loss: the cluster has no vip_address, not measured');
    return null;
  }
  const vip = vars.vip_address.split('/')[0]!;
  const holders = async () =>
    (JSON.parse((await d.pghaOk(['status', c.dir, '-o', 'json'])).stdout) as { keepalived: VipEntry[] }).keepalived
      .filter((e) => e.holdsVip)
      .map((e) => e.host);
  const [holder] = await holders();
  if (!holder) throw new Error('proxy loss: no proxy holds the VIP');
  const writer = new ProxyWriter(c.dir, vip, 5432, c.ips.pg3);
  writer.install();
  await writer.waitWritable();
  const stop = writer.start(`bench_proxyloss_${Date.now() % 100000}`);
  await d.sleep(2000);
  const crashedAt = Date.now();
  crashContainer(containerInitPid(hostPaths(c.name, holder).pidFile));
  await d.until('another proxy to hold the VIP', async () => {
    const now = await holders().catch(() => [] as string[]);
    return now.length === 1 && now[0] !== holder;
  });
  await d.sleep(3000);
  const report = await stop();
  // The longest gap is the outage: the writes in flight at the crash fail, the next go to the new holder.
  const gap = report.longestGapMs;
  ctx.proxy_loss = {
    crashed: holder,
    first_ack_after_crash_ms: firstAckAfterMs(report, crashedAt) ?? null,
    ...report,
    ackedAt: undefined,
    lostAckedAt: undefined,
  };
  d.log(
    `proxy loss (${holder} crashed): longest gap ${gap} ms through the VIP; ${report.errors} failed, ${report.lost} lost of ${report.acked}`,
  );
  await d.pghaOk(['provision', c.dir]);
  return gap;
}
