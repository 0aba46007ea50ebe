/**
 * `pgha status` (docs/architecture.md#operations): the cluster as Patroni, etcd, HAProxy and PgBouncer see it, read
 * in parallel. It is meant to be as quick as `patronictl list`, so:
 *   - REST (Patroni, etcd) and HAProxy's stats page (`listen pgha_stats`, TLS with a client
 *     certificate from the cluster CA) are reached straight from the controller over node:https;
 *     SSH is opened only to PgBouncer hosts, and to HAProxy hosts without that stats page (no
 *     TLS, removed by haproxy_conf_settings, or not answering: a cluster deployed before it
 *     existed), concurrently with the rest, one exec per host;
 *   - nothing secret is needed (every call is a GET or an unauthenticated etcd status read);
 *   - heavy modules (ssh) are imported only when used; yaml is loaded anyway, to read config.yml.
 * A host that does not answer is reported as unreachable; the command fails only when no
 * Patroni member answers at all.
 */
import { dataText } from './output.js';
import { probeContext, sshConnector } from './live/probe.js';
import { HostStateReader, statsReader } from './live/proxies.js';
import { readStatus, type ClusterStatus } from './status/read.js';
import { formatStatusTable } from './status/table.js';

export type { ClusterStatus };

export type StatusFormat = 'table' | 'json' | 'yaml';

export async function formatStatus(s: ClusterStatus, format: StatusFormat): Promise<string> {
  return format === 'table' ? formatStatusTable(s) : dataText(s, format);
}

export interface StatusCommand {
  output: StatusFormat;
  watch: boolean;
  /** Seconds between rounds with watch. */
  interval: number;
}

/** The command: one read, or a refresh every `interval` seconds until SIGINT/SIGTERM. */
export async function runStatus(dir: string, o: StatusCommand, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const ctx = await probeContext(dir);
  if (!o.watch) {
    out.write(await formatStatus(await readStatus(ctx), o.output));
    return 0;
  }
  const proxies = new HostStateReader(ctx.cluster, sshConnector(ctx), statsReader(ctx));
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  try {
    for (;;) {
      let text: string;
      try {
        text = await formatStatus(await readStatus(ctx, { proxies }), o.output);
      } catch (e) {
        // A cluster that cannot be read right now (a failover, say) is what --watch is for.
        text = `${(e as Error).message}\n`;
      }
      const stamp = `${new Date().toISOString()}  every ${o.interval} s, Ctrl-C to stop\n`;
      out.write(tty ? `\x1b[H\x1b[2J${stamp}${text}` : o.output === 'table' ? `${stamp}${text}\n` : text);
      const next = await Promise.race([
        stopped.then(() => 'stop' as const),
        new Promise<'tick'>((r) => setTimeout(() => r('tick'), o.interval * 1000).unref()),
      ]);
      if (next === 'stop') return 0;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await proxies.close();
  }
}
