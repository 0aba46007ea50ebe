/**
 * The exporter's HTTP side: GET /metrics collects afresh (each request its own scrape, as
 * Prometheus expects of an exporter) and serves the page; GET /health answers from the last
 * collection — 200, or 503 with the reason — without scraping again, so a health checker polling
 * it adds no load on Patroni. What a collection is (one member, or every member of a cluster)
 * is the caller's: ./answer.ts and ./cluster-page.ts build them (`Collection`, in ./answer.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Collection } from './answer.js';
import { CONTENT_TYPE } from './exposition.js';

export interface ExporterServerDeps {
  collect: () => Promise<Collection>;
  /** One line to the log (stderr); `debug` lines only with --debug. */
  log: (line: string, level?: 'info' | 'debug') => void;
}

/** The state /health reports: the last collection's outcome, kept between requests. */
export class CollectionState {
  last: Collection | undefined;

  health(): { status: 200 | 503; body: Record<string, unknown> } {
    const c = this.last;
    if (!c) return { status: 503, body: { status: 'unknown', reason: 'Patroni has not been scraped yet' } };
    if (c.failure === undefined) return { status: 200, body: { status: 'ok', ...c.summary } };
    return { status: 503, body: { status: 'failing', reason: c.failure } };
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function createExporterServer(
  deps: ExporterServerDeps,
  state: CollectionState,
): { server: Server; collectOnce: () => Promise<Collection> } {
  let lastFailure: string | undefined;
  const collectOnce = async (): Promise<Collection> => {
    const c = await deps.collect();
    state.last = c;
    // A failure is logged when it starts or changes, not on every scrape of a down member.
    if (c.failure !== undefined && c.failure !== lastFailure) deps.log(`scrape failed: ${c.failure}`);
    if (c.failure === undefined && lastFailure !== undefined) deps.log('scrape succeeded again');
    lastFailure = c.failure;
    deps.log(`scrape ${c.failure === undefined ? 'ok' : 'failed'} in ${c.durationSeconds.toFixed(3)} s`, 'debug');
    return c;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      send(res, 200, CONTENT_TYPE, (await collectOnce()).page);
      return;
    }
    if (path === '/health') {
      const h = state.health();
      send(res, h.status, 'application/json', `${JSON.stringify(h.body)}\n`);
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /health\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      deps.log(`internal error serving ${req.url ?? ''}: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  return { server, collectOnce };
}
