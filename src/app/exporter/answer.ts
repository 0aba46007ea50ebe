/**
 * What one scrape of a member's /patroni amounts to, and the page /metrics serves for it. Pure.
 *
 * Patroni answers /patroni — and every health endpoint — with its JSON status whatever the code:
 * 503 when PostgreSQL is not running, and a replica's health endpoints answer 503 with
 * `"role": "replica"`. Such an answer is a member telling its state, so it is parsed like a 200;
 * a scrape fails only when no Patroni status came back (no connection, timeout, TLS refused, an
 * error page, something that is not Patroni).
 */
import type { MetricFamily } from './exposition.js';
import { renderExposition } from './exposition.js';
import { patroniFamilies } from './patroni-metrics.js';

/** One round of scraping, ready to serve: the /metrics page and what /health says about it. */
export interface Collection {
  page: string;
  /** Why the round failed; undefined when it did not. */
  failure: string | undefined;
  /** What /health adds when healthy (role and state of the member, or the members). */
  summary: Record<string, unknown>;
  durationSeconds: number;
}

/** What one round scrapes, and how the exporter's start line names it. */
export interface ExporterSource {
  what: string;
  collect: () => Promise<Collection>;
}

export type Scrape =
  { ok: true; body: Record<string, unknown>; durationSeconds: number } | { ok: false; reason: string; durationSeconds: number };

/** A Patroni status: a JSON object saying at least a role or a state. */
function patroniStatus(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  return typeof o.role === 'string' || typeof o.state === 'string' ? o : undefined;
}

/** An HTTP answer → a status to export, or why there is none. */
export function judgeAnswer(status: number, text: string): { ok: true; body: Record<string, unknown> } | { ok: false; reason: string } {
  const body = patroniStatus(text);
  if ((status === 200 || status === 503) && body) return { ok: true, body };
  if (status === 200 || status === 503)
    return { ok: false, reason: `HTTP ${status} without a Patroni status (not a JSON object with role or state)` };
  return { ok: false, reason: `HTTP ${status}` };
}

/** pgha exporter's own families: did the last scrape work, and how long it took. */
export function exporterFamilies(s: Scrape): MetricFamily[] {
  return [
    {
      name: 'patroni_exporter_scrape_success',
      help: "1 when this scrape read the member's Patroni status, 0 when it did not (see /health for why).",
      type: 'gauge',
      samples: [{ labels: {}, value: s.ok ? 1 : 0 }],
    },
    {
      name: 'patroni_exporter_scrape_duration_seconds',
      help: "Seconds this scrape of Patroni's REST API took.",
      type: 'gauge',
      samples: [{ labels: {}, value: Math.round(s.durationSeconds * 1e6) / 1e6 }],
    },
  ];
}

/** The /metrics page for one scrape: the member's families when it answered, then the exporter's. */
export function metricsPage(s: Scrape, fallbackMember: string): string {
  const member = s.ok ? patroniFamilies(s.body, fallbackMember) : [];
  return renderExposition([...member, ...exporterFamilies(s)]);
}

/** One member's scrape as the server serves it: the page, and what /health says about it. */
export function memberCollection(s: Scrape, fallbackMember: string): Collection {
  return {
    page: metricsPage(s, fallbackMember),
    failure: s.ok ? undefined : s.reason,
    summary: s.ok ? { role: s.body.role, state: s.body.state } : {},
    durationSeconds: s.durationSeconds,
  };
}
