/**
 * The exporter's HTTP side: GET /metrics scrapes the member (each request its own scrape, as
 * Prometheus expects of an exporter) and serves the page; GET /health answers from the last
 * scrape — 200, or 503 with the reason — without scraping again, so a health checker polling it
 * adds no load on Patroni.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { metricsPage, type Scrape } from './answer.js';
import { CONTENT_TYPE } from './exposition.js';

export interface ExporterServerDeps {
  /** One scrape of the member's /patroni. */
  scrape: () => Promise<Scrape>;
  /** The member's name when Patroni does not say it (the URL's host). */
  fallbackMember: string;
  /** One line to the log (stderr); `debug` lines only with --debug. */
  log: (line: string, level?: 'info' | 'debug') => void;
}

/** The state /health reports: the last scrape's outcome, kept between requests. */
export class ScrapeState {
  last: Scrape | undefined;

  record(s: Scrape): void {
    this.last = s;
  }

  health(): { status: 200 | 503; body: Record<string, unknown> } {
    const s = this.last;
    if (!s) return { status: 503, body: { status: 'unknown', reason: 'Patroni has not been scraped yet' } };
    if (s.ok) return { status: 200, body: { status: 'ok', role: s.body.role, state: s.body.state } };
    return { status: 503, body: { status: 'failing', reason: s.reason } };
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function createExporterServer(deps: ExporterServerDeps, state: ScrapeState): { server: Server; scrapeOnce: () => Promise<Scrape> } {
  let lastFailure: string | undefined;
  const scrapeOnce = async (): Promise<Scrape> => {
    const s = await deps.scrape();
    state.record(s);
    // A failure is logged when it starts or changes, not on every scrape of a down member.
    if (!s.ok && s.reason !== lastFailure) deps.log(`scrape failed: ${s.reason}`);
    if (s.ok && lastFailure !== undefined) deps.log('scrape succeeded again');
    lastFailure = s.ok ? undefined : s.reason;
    deps.log(`scrape ${s.ok ? 'ok' : 'failed'} in ${s.durationSeconds.toFixed(3)} s`, 'debug');
    return s;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      const s = await scrapeOnce();
      send(res, 200, CONTENT_TYPE, metricsPage(s, deps.fallbackMember));
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
  return { server, scrapeOnce };
}
