/**
 * `pgha status` (docs/architecture.md#operations): the cluster as Patroni, etcd, HAProxy and PgBouncer see it, read
 * in parallel, with each host's Debian release and daemon versions. It is meant to be as quick as
 * `patronictl list`, so:
 *   - REST (Patroni, etcd) is reached straight from the controller over node:https;
 *   - every host gets one SSH exec, concurrently with the rest: its release and daemon versions
 *     and its components' state (HAProxy's admin socket, PgBouncer's target); HAProxy's stats page
 *     (`listen pgha_stats`, TLS with a client certificate from the cluster CA) is read instead only
 *     when SSH to its host fails;
 *   - nothing secret is needed (every call is a GET or an unauthenticated etcd status read);
 *   - heavy modules (ssh) are imported only when used; yaml is loaded anyway, to read config.yml.
 * A host that does not answer is reported as unreachable; the command fails only when no
 * Patroni member answers at all.
 */
import { dataText } from './output.js';
import { checkSshKeyReadable, probeContext } from './live/probe.js';
import { readStatus, statusHostReader, type ClusterStatus } from './status/read.js';
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
  /** Also each host's Debian release and installed daemon versions (one SSH exec per host). */
  versions?: boolean;
}

/** The command: one read, or a refresh every `interval` seconds until SIGINT/SIGTERM. */
export async function runStatus(dir: string, o: StatusCommand, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const ctx = await probeContext(dir);
  await checkSshKeyReadable(ctx);
  if (!o.watch) {
    out.write(await formatStatus(await readStatus(ctx, { versions: o.versions }), o.output));
    return 0;
  }
  const proxies = statusHostReader(ctx, o.versions === true);
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
        text = await formatStatus(await readStatus(ctx, { proxies, versions: o.versions }), o.output);
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
