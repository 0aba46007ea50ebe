/**
 * Patroni's write endpoints (switchover, failover, restart, reload, reinitialize, config) as
 * typed calls on a PatroniClient. Callers hand in a client built with `fromMember: true`: these
 * are unsafe methods, which the REST API allowlist only admits from a cluster member.
 *
 * Outcomes follow Patroni 3.0.2's api.py: the status code alone is not enough (a 503 from
 * POST /switchover may mean "still in progress"), so each call turns code + text into a result.
 */
import { RefusedError, RuntimeError } from '../errors.js';
import type { Plain } from '../model/merge.js';
import type { JsonResponse } from '../transport/https.js';
import type { PatroniClient } from './client.js';

const text = (res: JsonResponse) => (typeof res.body === 'string' ? res.body : res.text).trim();

/** 4xx answers are Patroni refusing a precondition; they become exit 3 with its reason. */
function refusedOrFailed(c: PatroniClient, what: string, res: JsonResponse): never {
  const msg = `${what}: Patroni answered ${res.status}: ${text(res) || '(no reason given)'}`;
  if (res.status >= 400 && res.status < 500) throw new RefusedError(msg, [], { where: c.target.host });
  throw new RuntimeError(msg, { where: c.target.host });
}

export interface SwitchoverBody {
  leader: string;
  candidate: string;
  /** ISO 8601 with a time zone; Patroni refuses one without. */
  scheduled_at?: string;
}

export type SwitchoverOutcome =
  | { kind: 'done'; message: string }
  | { kind: 'scheduled'; message: string }
  /** Patroni stopped waiting before the new leader showed up: poll GET /cluster. */
  | { kind: 'unknown'; message: string };

export async function postSwitchover(c: PatroniClient, body: SwitchoverBody): Promise<SwitchoverOutcome> {
  let res: JsonResponse;
  try {
    // Patroni holds the request open while it polls the DCS (up to 2 × max(10, loop_wait) s).
    res = await c.call({ method: 'POST', path: '/switchover', body, timeoutMs: 90_000 });
  } catch (e) {
    // The request may have been accepted before the connection broke; only the cluster knows.
    return { kind: 'unknown', message: (e as Error).message };
  }
  const t = text(res);
  if (res.status === 200) return { kind: 'done', message: t };
  if (res.status === 202) return { kind: 'scheduled', message: t };
  if (res.status === 503 && /status unknown|timed? ?out/i.test(t)) return { kind: 'unknown', message: t };
  return refusedOrFailed(c, 'POST /switchover', res);
}

/** DELETE /switchover: true when a scheduled switchover was removed, false when there was none. */
export async function cancelSwitchover(c: PatroniClient): Promise<boolean> {
  const res = await c.call({ method: 'DELETE', path: '/switchover' });
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  return refusedOrFailed(c, 'DELETE /switchover', res);
}

export async function postFailover(c: PatroniClient, body: { candidate: string; leader?: string }): Promise<SwitchoverOutcome> {
  let res: JsonResponse;
  try {
    res = await c.call({ method: 'POST', path: '/failover', body, timeoutMs: 90_000 });
  } catch (e) {
    return { kind: 'unknown', message: (e as Error).message };
  }
  const t = text(res);
  if (res.status === 200) return { kind: 'done', message: t };
  if (res.status === 503 && /status unknown/i.test(t)) return { kind: 'unknown', message: t };
  return refusedOrFailed(c, 'POST /failover', res);
}

export interface RestartBody {
  restart_pending?: boolean;
  /** ISO 8601 with a time zone: Patroni restarts the member then, by itself. */
  schedule?: string;
}

export type RestartOutcome = { kind: 'restarted' | 'scheduled' | 'not-needed'; message: string };

export async function postRestart(c: PatroniClient, body: RestartBody): Promise<RestartOutcome> {
  // POST /restart returns once PostgreSQL is back, which can take a while on a busy node.
  const res = await c.call({ method: 'POST', path: '/restart', body, timeoutMs: 180_000 });
  const t = text(res);
  if (res.status === 200) return { kind: 'restarted', message: t };
  if (res.status === 202) return { kind: 'scheduled', message: t };
  // With restart_pending, a member without pending changes answers 503 "restart conditions are not satisfied".
  if (res.status === 503 && body.restart_pending && /conditions are not satisfied/i.test(t)) return { kind: 'not-needed', message: t };
  return refusedOrFailed(c, 'POST /restart', res);
}

export async function postReload(c: PatroniClient): Promise<string> {
  const res = await c.call({ method: 'POST', path: '/reload', body: {} });
  if (res.status === 200 || res.status === 202) return text(res);
  return refusedOrFailed(c, 'POST /reload', res);
}

/**
 * POST /reinitialize. Patroni answers 503 with a reason when it will not (on the leader, or
 * with another action in progress): that is a refusal, not a failure of the host.
 */
export async function postReinitialize(c: PatroniClient, force: boolean): Promise<string> {
  const res = await c.call({ method: 'POST', path: '/reinitialize', body: { force } });
  const t = text(res);
  if (res.status === 200) return t;
  if (res.status === 503 && t) throw new RefusedError(`POST /reinitialize: ${t}`, [], { where: c.target.host });
  return refusedOrFailed(c, 'POST /reinitialize', res);
}

/** PATCH /config: Patroni merges the patch into the DCS document; a null deletes the key. Returns the new document. */
export async function patchDcsConfig(c: PatroniClient, patch: Plain): Promise<Plain> {
  const res = await c.call({ method: 'PATCH', path: '/config', body: patch });
  if (res.status === 200 && typeof res.body === 'object' && res.body !== null) return res.body as Plain;
  // 409: someone else changed the document between Patroni's read and write.
  if (res.status === 409)
    throw new RuntimeError('PATCH /config lost a race with another change of the DCS configuration; run the command again', {
      where: c.target.host,
    });
  return refusedOrFailed(c, 'PATCH /config', res);
}

/** One line of GET /history: [timeline, lsn, reason, timestamp?, new leader?]. */
export type HistoryLine = [number, number, string, string?, string?];

export interface HistoryEntry {
  timeline: number;
  lsn: number;
  reason: string;
  timestamp?: string | undefined;
  newLeader?: string | undefined;
}

export function parseHistory(body: unknown): HistoryEntry[] {
  if (!Array.isArray(body)) return [];
  return body
    .filter((l): l is unknown[] => Array.isArray(l) && l.length >= 3)
    .map((l) => ({
      timeline: Number(l[0]),
      lsn: Number(l[1]),
      reason: String(l[2]),
      timestamp: typeof l[3] === 'string' ? l[3] : undefined,
      newLeader: typeof l[4] === 'string' ? l[4] : undefined,
    }));
}

export async function getHistory(c: PatroniClient): Promise<HistoryEntry[]> {
  return parseHistory((await c.expectOk({ method: 'GET', path: '/history' })).body);
}
