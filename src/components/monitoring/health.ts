/**
 * The monitoring components' health for `pgha test` (and `pgha upgrade`'s gate), dialled from a
 * data node as pgBackRest's is, so no check needs SSH to the host it checks:
 * - Prometheus and Alertmanager answer `GET /-/ready` with 200; Prometheus's detail adds how
 *   many of its targets are up (`up` over the HTTP API). A target down is what its alerts are
 *   for, and each component's own check names it; it does not fail this one.
 * - node_exporter and postgres_exporter accept connections on their ports (they demand a client
 *   certificate, which a data node's shell has no business presenting).
 * - pgha's exporter answers /health on the monitoring host's loopback, the one address it
 *   listens on, so it is asked on that host over SSH. It serving is what is checked: a member it
 *   cannot read (its 503, whose reason the detail shows) is Patroni's checks' to fail.
 * Plain HTTP through bash's /dev/tcp: a minimal Debian host has bash, not always curl.
 */
import { quote, type Command } from '../../transport/quote.js';
import type { ResolvedHost } from '../../model/types.js';
import { hostPort, num } from '../common.js';
import { firstLine, portAccepts, type CheckResult, type HealthCheck } from '../health.js';
import { PGHA_EXPORTER_BIND } from './pgha-exporter.js';

/** An HTTP/1.0 GET of `path` on ip:port within 5 s, printing the whole answer (status line, headers, body). */
export function httpGetCommand(ip: string, port: number, path: string): Command {
  const inner = `exec 3<>/dev/tcp/${ip}/${port} && printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' ${quote(path)} ${quote(`${ip}:${port}`)} >&3 && cat <&3`;
  return { script: `timeout 5 bash -c ${quote(inner)}` };
}

/** The status code of a raw HTTP answer, and its body. */
export function parseHttpAnswer(text: string): { status: number | undefined; body: string } {
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text)?.[1];
  const at = text.indexOf('\r\n\r\n');
  return { status: status === undefined ? undefined : Number(status), body: at < 0 ? '' : text.slice(at + 4) };
}

/** `up`'s samples from Prometheus's query API: how many targets answer, of how many. */
export function targetsUp(body: string): { up: number; total: number; down: string[] } | undefined {
  try {
    const doc = JSON.parse(body) as { data?: { result?: { metric?: Record<string, string>; value?: [number, string] }[] } };
    const result = doc.data?.result;
    if (!Array.isArray(result)) return undefined;
    const down = result
      .filter((r) => r.value?.[1] !== '1')
      .map((r) => `${r.metric?.job ?? '?'} ${r.metric?.host ?? r.metric?.instance ?? '?'}`);
    return { up: result.length - down.length, total: result.length, down: down.sort() };
  } catch {
    return undefined;
  }
}

async function ready(probe: Parameters<HealthCheck>[0], name: string, ip: string, port: number): Promise<CheckResult> {
  try {
    const ran = await probe.onDataNode(httpGetCommand(ip, port, '/-/ready'));
    if (!ran) return { name, ok: false, detail: 'no data node reachable over SSH to dial it from' };
    const { status } = parseHttpAnswer(ran.result.stdout);
    const ok = status === 200;
    return {
      name,
      ok,
      detail: `${ip}:${port} ${ok ? 'ready' : status === undefined ? 'does not answer' : `answers ${status}`} (from ${ran.host.name})`,
    };
  } catch (e) {
    return { name, ok: false, detail: firstLine(e) };
  }
}

/** What pgha exporter's /health says, as one line: the members' roles, or why a round failed. */
export function exporterHealthDetail(status: number | undefined, body: string): { ok: boolean; detail: string } {
  if (status !== 200 && status !== 503) return { ok: false, detail: status === undefined ? 'does not answer' : `answers ${status}` };
  let doc: { reason?: unknown; members?: Record<string, { role?: unknown }> } = {};
  try {
    doc = JSON.parse(body) as typeof doc;
  } catch {
    return { ok: false, detail: `answers ${status} without its JSON status` };
  }
  if (status === 200) {
    const roles = Object.entries(doc.members ?? {}).map(([m, v]) => `${m} ${typeof v.role === 'string' ? v.role : '?'}`);
    return { ok: true, detail: `serving; read ${roles.join(', ') || 'every member'}` };
  }
  return { ok: true, detail: `serving; last round: ${typeof doc.reason === 'string' ? doc.reason : 'failing'}` };
}

async function pghaExporterCheck(probe: Parameters<HealthCheck>[0], h: ResolvedHost): Promise<CheckResult> {
  const name = `pgha exporter ${h.name}: serving`;
  const port = num(h.vars, 'pgha_exporter_port');
  try {
    const ran = await probe.onHost(h, httpGetCommand(PGHA_EXPORTER_BIND, port, '/health'));
    const { status, body } = parseHttpAnswer(ran.stdout);
    const judged = exporterHealthDetail(status, body);
    return { name, ok: judged.ok, detail: `${hostPort(PGHA_EXPORTER_BIND, port)} ${judged.detail}` };
  } catch (e) {
    return { name, ok: false, detail: firstLine(e) };
  }
}

export const prometheusHealth: HealthCheck = async (probe, hosts) =>
  (
    await Promise.all(
      hosts.map(async (h) => {
        const port = num(h.vars, 'prometheus_port');
        const checks = [
          await ready(probe, `Prometheus ${h.name}: ready`, h.ip, port),
          await ready(probe, `Alertmanager ${h.name}: ready`, h.ip, num(h.vars, 'alertmanager_port')),
        ];
        const first = checks[0]!;
        if (first.ok) {
          const ran = await probe.onDataNode(httpGetCommand(h.ip, port, '/api/v1/query?query=up')).catch(() => undefined);
          const t = ran ? targetsUp(parseHttpAnswer(ran.result.stdout).body) : undefined;
          if (t) first.detail += `; ${t.up} of ${t.total} targets up${t.down.length ? ` (down: ${t.down.join(', ')})` : ''}`;
        }
        checks.push(await pghaExporterCheck(probe, h));
        return checks;
      }),
    )
  ).flat();

/** An exporter's port accepts connections on every host running it. */
export function exporterHealth(label: string, portVariable: string): HealthCheck {
  return async (probe, hosts) =>
    Promise.all(hosts.map((h) => portAccepts(probe, h, num(h.vars, portVariable), `${label} ${h.name}: listening`)));
}
