/**
 * pgBackRest's health, as far as this first slice goes: its TLS server accepts connections on
 * every host that runs it, dialled from a data node (where archive-push and restores dial the
 * repository from). It asks nothing of the host itself, so `pgha status` opens no SSH session
 * for it. Whether the stanza exists and archiving works (`pgbackrest check`) belongs to the slice
 * that creates the stanza.
 */
import { quote, type Command } from '../../transport/quote.js';
import { num } from '../common.js';
import { firstLine, type CheckResult, type HealthCheck } from '../health.js';

/** A TCP connection to ip:port within 3 s (bash's /dev/tcp; exit 0 when it connects). */
export function tcpConnectCommand(ip: string, port: number): Command {
  return { script: `timeout 3 bash -c ${quote(`</dev/tcp/${ip}/${port}`)}` };
}

export const pgbackrestHealth: HealthCheck = async (probe, hosts) =>
  Promise.all(
    hosts.map(async (h): Promise<CheckResult> => {
      const port = num(h.vars, 'pgbackrest_port');
      const name = `pgBackRest ${h.name}: TLS server`;
      try {
        const ran = await probe.onDataNode(tcpConnectCommand(h.ip, port));
        if (!ran) return { name, ok: false, detail: 'no data node reachable over SSH to dial it from' };
        const ok = ran.result.code === 0;
        return { name, ok, detail: `${h.ip}:${port} ${ok ? 'accepts' : 'refuses'} connections (from ${ran.host.name})` };
      } catch (e) {
        return { name, ok: false, detail: firstLine(e) };
      }
    }),
  );
