/**
 * Reads what hosts say about their components (docs/architecture.md#operations): HAProxy's stats
 * page (`listen pgha_stats`, TLS with pgha's client certificate) straight from the controller
 * where there is one, else one SSH exec per host running every component's state script. What
 * the answers mean for status, each component says (its `status` section).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { statsEndpoint } from '../../components/haproxy/config.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { NodeHttpRequester } from '../../transport/https.js';
import type { Transport } from '../../transport/types.js';
import { privateOrUndefined, STATUS_TIMEOUT_MS, type ConnectSsh, type ProbeContext } from './probe.js';
import type { HostState } from '../../components/health.js';
import { readHostState, stateParts } from './host-state.js';
import { firstLine as errText } from './view.js';

/** HAProxy's stats CSV of a proxy host; undefined when the host has no stats page to read. */
export type ReadStats = (h: ResolvedHost) => Promise<string | undefined>;

/** Errors after which asking the same host over SSH is pointless: it does not answer at all. */
const UNREACHABLE = /timed out|no answer within|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN/;

/**
 * The client identity for the stats page: pgha's own client certificate (DIR/ssl/clients/pgha),
 * which every cluster has. Proxy hosts' node certificates are server-only and would be refused.
 */
async function statsIdentity(ctx: ProbeContext): Promise<{ cert: string; key: string } | undefined> {
  if (ctx.tls.cert && ctx.tls.key) return { cert: ctx.tls.cert, key: ctx.tls.key };
  const [cert, key] = await Promise.all([
    readFile(join(ctx.paths.ssl, 'clients', 'pgha.crt'), 'utf8').catch(() => undefined),
    privateOrUndefined(join(ctx.paths.ssl, 'clients', 'pgha.key')),
  ]);
  return cert && key ? { cert, key } : undefined;
}

/** Reads `listen pgha_stats` over TLS (one request, no SSH). */
export function statsReader(ctx: ProbeContext): ReadStats {
  return async (h) => {
    const ep = statsEndpoint(ctx.cluster, h);
    if (!ep) return undefined;
    const id = await statsIdentity(ctx);
    if (!id) return undefined;
    const http = new NodeHttpRequester({ ip: h.ip, port: ep.port, servername: h.name }, { ca: ctx.tls.ca, ...id });
    const res = await http.request({ method: 'GET', path: `${ep.path};csv`, timeoutMs: STATUS_TIMEOUT_MS });
    if (res.status !== 200 || !res.text.startsWith('#')) throw new Error(`stats page answered ${res.status}`);
    return res.text;
  };
}

/** Parts a caller reads on a host beside its components' state scripts, in the same exec. */
export type ExtraParts = (h: ResolvedHost) => { name: string; script: string }[];

/**
 * Reads a host's components' state: HAProxy's stats page over TLS where that is all there is to
 * read, else one SSH exec per host. Keeps SSH connections across `--watch` rounds; a failed one
 * is dropped and retried next time. `extra` (status: the host's release and daemon versions) makes
 * every host one to read over SSH; HAProxy's state then comes from its admin socket in that same
 * exec, since the stats page would only add a request, and from the stats page only when SSH fails.
 */
export class HostStateReader {
  private readonly open = new Map<string, Transport>();
  constructor(
    private readonly cluster: ResolvedCluster,
    private readonly connect: ConnectSsh,
    private readonly stats?: ReadStats,
    private readonly extra?: ExtraParts,
  ) {}

  async read(h: ResolvedHost): Promise<HostState> {
    const parts = stateParts(this.cluster, h);
    const extra = this.extra?.(h) ?? [];
    const statsPage = this.stats !== undefined && parts.length === 1 && parts[0]!.name === 'haproxy';
    if (statsPage && !extra.length) {
      const page = await this.readStats(h);
      if (page) return page;
    }
    if (!parts.length && !extra.length) return { host: h, parts: new Map() };
    const state = await this.readSsh(h, extra);
    if (state.error && statsPage && extra.length && !UNREACHABLE.test(state.error)) {
      // SSH refused (a key problem, say) where HAProxy's stats page may still answer: its state at least.
      const page = await this.readStats(h);
      if (page) return page;
    }
    return state;
  }

  /** HAProxy's state from its stats page; undefined when SSH should be tried (no page, or it refused). */
  private async readStats(h: ResolvedHost): Promise<HostState | undefined> {
    try {
      const csv = await this.stats!(h);
      if (csv !== undefined) return { host: h, parts: new Map([['haproxy-csv', { text: csv, rc: 0 }]]) };
    } catch (e) {
      // Not answering at all: SSH would only wait as long again. Anything else (refused: a
      // cluster deployed before the stats page existed; a TLS failure) falls back to SSH.
      if (UNREACHABLE.test(errText(e))) return { host: h, error: errText(e) };
    }
    return undefined;
  }

  private async readSsh(h: ResolvedHost, extra: readonly { name: string; script: string }[]): Promise<HostState> {
    let t = this.open.get(h.name);
    if (!t) {
      try {
        t = await this.connect(h);
      } catch (e) {
        return { host: h, error: errText(e) };
      }
      this.open.set(h.name, t);
    }
    const state = await readHostState(t, this.cluster, h, extra);
    if (state.error) {
      // Dropped, to be opened again next round (`--watch`).
      this.open.delete(h.name);
      await t.close().catch(() => undefined);
    }
    return state;
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((t) => t.close().catch(() => undefined)));
    this.open.clear();
  }
}
