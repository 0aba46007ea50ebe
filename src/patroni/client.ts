/**
 * Typed client for one member's Patroni REST API (3.0.x; 4.x answers the same way). Reads go
 * straight from the controller; writes must come from an allowlisted address, so callers pass a
 * `dial` that opens the connection from a cluster member (an SSH channel), see docs/architecture.md#security-invariants.
 *
 * Status codes, as Patroni's api.py uses them:
 *   200 done · 202 scheduled · 503 on /switchover or /failover with "status unknown": Patroni
 *   gave up waiting, the switchover may still complete → `pending`, the caller keeps polling
 *   400/409/412/422 refused with Patroni's reason → RefusedError (exit 3)
 *   401 wrong credentials, 403 outside the allowlist or no client certificate → RuntimeError
 *   with what to do; anything else → RuntimeError
 * Health checks (200 yes / 503 no) are answers, never errors.
 */
import { RefusedError, RuntimeError } from '../errors.js';
import type { Plain } from '../model/merge.js';
import { NodeHttpRequester, type Dial, type HttpRequest, type JsonResponse, type Requester, type TlsMaterial } from '../transport/https.js';
import type {
  ActionResult,
  ClusterInfo,
  HealthEndpoint,
  HealthQuery,
  HealthResult,
  HistoryEntry,
  PatroniNodeStatus,
  RestartRequest,
  SwitchoverRequest,
} from './types.js';
import { canonicalRole, isHealthyReplicaState, leaderOf } from './types.js';

export interface PatroniTarget {
  host: string;
  ip: string;
  port: number;
}

export interface PatroniCredentials {
  /** CA to verify the member with; client certificate and key in mtls mode. */
  tls: TlsMaterial;
  /** Basic auth for unsafe endpoints (authentication mode basic). */
  username?: string | undefined;
  password?: string | undefined;
  /** Plain http when patroni_ssl_enabled is off. */
  ssl: boolean;
}

export interface PatroniClientOptions {
  /** Replaces the HTTPS connection (tests, or another transport). */
  requester?: Requester;
}

/**
 * OpenSSL's codes for a server's alert about the client certificate: none sent (TLS 1.3
 * `certificate required`), not from a CA it trusts, or otherwise unacceptable.
 */
const CLIENT_CERT_ALERTS =
  /^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|TLSV1_ALERT_UNKNOWN_CA|SSLV3_ALERT_BAD_CERTIFICATE|SSLV3_ALERT_CERTIFICATE_UNKNOWN|SSLV3_ALERT_UNSUPPORTED_CERTIFICATE|SSLV3_ALERT_CERTIFICATE_EXPIRED|SSLV3_ALERT_CERTIFICATE_REVOKED|TLSV1_ALERT_ACCESS_DENIED)$/;

/** Codes with which Patroni refuses a request it understood: a precondition, exit 3. */
const REFUSED = new Set([400, 409, 412, 422]);

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

function reasonOf(res: JsonResponse): string {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  // send_error() pages are HTML; their <p> carries the message.
  const html = /<p>Message: ([^<]*)<\/p>/.exec(text);
  return (html?.[1] ?? text).trim() || `HTTP ${res.status}`;
}

export function queryString(q: HealthQuery = {}): string {
  const parts: string[] = [];
  if (q.lag !== undefined) parts.push(`lag=${encodeURIComponent(String(q.lag))}`);
  for (const [k, v] of Object.entries(q.tags ?? {})) parts.push(`tag_${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export class PatroniClient {
  private readonly http: Requester;

  constructor(
    readonly target: PatroniTarget,
    private readonly creds: PatroniCredentials,
    dial?: Dial,
    opts: PatroniClientOptions = {},
  ) {
    this.http =
      opts.requester ??
      new NodeHttpRequester({ ip: target.ip, port: target.port, servername: target.host }, creds.tls, dial, creds.ssl ? 'https' : 'http');
  }

  /** One request as is: any status code comes back; only a failed connection throws. */
  async call(req: HttpRequest): Promise<JsonResponse> {
    const unsafe = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    const headers = { ...(req.headers ?? {}) };
    if (unsafe && this.creds.username && this.creds.password) Object.assign(headers, basicAuth(this.creds.username, this.creds.password));
    try {
      return await this.http.request({ ...req, headers });
    } catch (e) {
      const code = String((e as NodeJS.ErrnoException).code ?? '');
      // The member's TLS alert about *our* certificate (mtls: verify_client required): without
      // this it reads like a server certificate problem or a member that is down.
      if (CLIENT_CERT_ALERTS.test(code)) {
        throw new RuntimeError(
          `Patroni REST API ${req.method} ${req.path} failed: the member refused pgha's client certificate (${(e as Error).message.replace(/^.*routines:[^:]*:([^:]+):.*$/s, '$1')})`,
          {
            where: this.target.host,
            hint: this.creds.tls.cert
              ? 'DIR/ssl/clients/pgha.crt must be signed by the cluster CA the members trust (DIR/ssl/ca.crt, deployed by `pgha deploy DIR`)'
              : 'the REST API requires a client certificate (patroni_authentication_mode: mtls) and DIR/ssl/clients/pgha.crt is missing: run `pgha deploy DIR` to issue it',
          },
        );
      }
      // Another cluster's (or a stale) certificate at this address is not a down member.
      if (/CERT|SELF_SIGNED|SIGNATURE|ALTNAME/.test(code)) {
        throw new RuntimeError(`Patroni REST API ${req.method} ${req.path} failed: TLS verification: ${(e as Error).message}`, {
          where: this.target.host,
          hint: `the server at ${this.target.ip}:${this.target.port} does not present a certificate for ${this.target.host} from this cluster's CA (DIR/ssl/ca.crt); is this the right cluster directory?`,
        });
      }
      throw new RuntimeError(`Patroni REST API ${req.method} ${req.path} failed: ${(e as Error).message}`, {
        where: this.target.host,
        hint: `check that patroni@ runs on ${this.target.host} and listens on ${this.target.ip}:${this.target.port}`,
      });
    }
  }

  /** The error for an answer that is neither success nor a state to poll. */
  failure(req: HttpRequest, res: JsonResponse): Error {
    const reason = reasonOf(res);
    const msg = `Patroni refused ${req.method} ${req.path} with ${res.status}: ${reason}`;
    const where = this.target.host;
    if (REFUSED.has(res.status)) return new RefusedError(msg, [], { where });
    if (res.status === 401) {
      return new RuntimeError(msg, {
        where,
        hint: `the REST API password differs from DIR/secrets/${this.creds.username ?? 'patroni'}; run \`pgha deploy DIR\` to bring the hosts in line`,
      });
    }
    if (res.status === 403) {
      return new RuntimeError(msg, {
        where,
        hint: /certificate/i.test(reason)
          ? 'the API requires a client certificate (mtls): check DIR/ssl/clients/pgha.crt exists and is signed by the cluster CA'
          : `the caller is outside restapi.allowlist; write calls must come from a member (an SSH channel from ${where})`,
      });
    }
    return new RuntimeError(msg, { where });
  }

  /** A call whose non-2xx answer is an error carrying Patroni's reason. */
  async expectOk(req: HttpRequest): Promise<JsonResponse> {
    const res = await this.call(req);
    if (res.status >= 200 && res.status < 300) return res;
    throw this.failure(req, res);
  }

  private async action(req: HttpRequest, opts: { pollable?: boolean } = {}): Promise<ActionResult> {
    const res = await this.call(req);
    const message = typeof res.body === 'string' ? res.body.trim() : res.text.trim();
    if (res.status === 200) return { outcome: 'done', status: 200, message };
    if (res.status === 202) return { outcome: 'scheduled', status: 202, message };
    // Patroni polls the DCS for a while after writing the failover key; when that runs out it
    // cannot tell whether the switchover failed, so it answers 503 "… status unknown".
    if (opts.pollable && res.status === 503 && /status unknown|timed? ?out/i.test(message))
      return { outcome: 'pending', status: 503, message };
    throw this.failure(req, res);
  }

  // ── reads ──

  async cluster(): Promise<ClusterInfo> {
    return (await this.expectOk({ method: 'GET', path: '/cluster' })).body as ClusterInfo;
  }

  /** GET /patroni: this member's own view (answers 200 also while PostgreSQL is down). */
  async patroni(): Promise<PatroniNodeStatus> {
    return (await this.call({ method: 'GET', path: '/patroni' })).body as PatroniNodeStatus;
  }

  async history(): Promise<HistoryEntry[]> {
    return (await this.expectOk({ method: 'GET', path: '/history' })).body as HistoryEntry[];
  }

  /** Prometheus text exposition. */
  async metrics(): Promise<string> {
    return (await this.expectOk({ method: 'GET', path: '/metrics' })).text;
  }

  async config(): Promise<Plain> {
    return (await this.expectOk({ method: 'GET', path: '/config' })).body as Plain;
  }

  /**
   * A health check, with the member's status document. `GET` (not HEAD) because Patroni 3.0
   * answers HEAD and OPTIONS with a bare status line, and the document is what callers show.
   */
  async health(endpoint: HealthEndpoint, query: HealthQuery = {}): Promise<HealthResult> {
    const path = `${endpoint}${queryString(query)}`;
    const res = await this.call({ method: 'GET', path });
    if (res.status !== 200 && res.status !== 503) throw this.failure({ method: 'GET', path }, res);
    const node = typeof res.body === 'object' && res.body !== null ? (res.body as PatroniNodeStatus) : undefined;
    return { endpoint: path, ok: res.status === 200, status: res.status, ...(node ? { node } : {}) };
  }

  /** Health-check endpoints answer 200 yes, 503 no. */
  async check(path: string): Promise<boolean> {
    return (await this.call({ method: 'GET', path })).status === 200;
  }

  isPrimary = () => this.health('/primary').then((r) => r.ok);
  isLeader = () => this.health('/leader').then((r) => r.ok);
  isReplica = (query: HealthQuery = {}) => this.health('/replica', query).then((r) => r.ok);
  isReadOnly = () => this.health('/read-only').then((r) => r.ok);
  isStandbyLeader = () => this.health('/standby-leader').then((r) => r.ok);
  isSync = () => this.health('/sync').then((r) => r.ok);
  isAsync = () => this.health('/async').then((r) => r.ok);
  isRunning = () => this.health('/health').then((r) => r.ok);
  isLive = () => this.health('/liveness').then((r) => r.ok);
  isReady = () => this.health('/readiness').then((r) => r.ok);

  // ── writes (need the allowlist: construct with a dial from a member) ──

  async patchConfig(patch: Plain): Promise<Plain> {
    return (await this.expectOk({ method: 'PATCH', path: '/config', body: patch })).body as Plain;
  }

  /** Replaces the whole dynamic configuration. */
  async putConfig(config: Plain): Promise<Plain> {
    return (await this.expectOk({ method: 'PUT', path: '/config', body: config })).body as Plain;
  }

  /** Raw POST /restart, kept for callers that read the response themselves. */
  async restart(body: Plain = {}): Promise<JsonResponse> {
    return this.call({ method: 'POST', path: '/restart', body, timeoutMs: 120_000 });
  }

  /** Restart now (done) or at `schedule` (scheduled); Patroni's conditions refuse with exit 3. */
  async restartMember(req: RestartRequest = {}): Promise<ActionResult> {
    return this.action({ method: 'POST', path: '/restart', body: req, timeoutMs: 120_000 });
  }

  /** Cancels a scheduled restart; false when none was scheduled. */
  async cancelRestart(): Promise<boolean> {
    const res = await this.call({ method: 'DELETE', path: '/restart' });
    if (res.status === 404) return false;
    if (res.status === 200) return true;
    throw this.failure({ method: 'DELETE', path: '/restart' }, res);
  }

  async reload(): Promise<JsonResponse> {
    return this.call({ method: 'POST', path: '/reload', body: {} });
  }

  async reloadMember(): Promise<ActionResult> {
    return this.action({ method: 'POST', path: '/reload', body: {} });
  }

  /**
   * POST /switchover. Without `scheduledAt` Patroni answers once the candidate leads (done),
   * or after about 20 s with `pending`: then poll with waitForLeader.
   */
  async switchover(req: SwitchoverRequest): Promise<ActionResult> {
    const body: Plain = { leader: req.leader };
    if (req.candidate) body.candidate = req.candidate;
    if (req.scheduledAt) body.scheduled_at = req.scheduledAt;
    return this.action({ method: 'POST', path: '/switchover', body, timeoutMs: 90_000 }, { pollable: true });
  }

  /** Cancels a scheduled switchover; false when none was scheduled. */
  async cancelSwitchover(): Promise<boolean> {
    const res = await this.call({ method: 'DELETE', path: '/switchover' });
    if (res.status === 404) return false;
    if (res.status === 200) return true;
    throw this.failure({ method: 'DELETE', path: '/switchover' }, res);
  }

  /** POST /failover to a named candidate (works with or without a healthy leader). */
  async failover(req: { candidate: string; leader?: string }): Promise<ActionResult> {
    const body: Plain = { candidate: req.candidate };
    if (req.leader) body.leader = req.leader;
    return this.action({ method: 'POST', path: '/failover', body, timeoutMs: 90_000 }, { pollable: true });
  }

  /** Wipes this replica's data directory and clones it again; the leader refuses (503). */
  async reinitialize(opts: { force?: boolean } = {}): Promise<ActionResult> {
    return this.action({ method: 'POST', path: '/reinitialize', body: opts.force ? { force: true } : {} });
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Injected by tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * After a `pending` (or done) switchover: poll GET /cluster through any of `clients` until
 * `candidate` (or, without one, anyone but `oldLeader`) leads and is running. Errors and
 * unreachable members count as "not yet": mid-switchover the old leader's API may be down.
 */
export async function waitForLeader(
  clients: readonly PatroniClient[],
  want: { candidate?: string; oldLeader?: string },
  o: PollOptions,
): Promise<ClusterInfo> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? defaultSleep;
  const deadline = now() + o.timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    for (const c of clients) {
      try {
        const info = await c.cluster();
        const l = leaderOf(info);
        const fits = l && (want.candidate ? l.name === want.candidate : l.name !== want.oldLeader);
        if (fits && l.state === 'running') return info;
        last = l ? `${l.name} leads (${l.state})` : 'no leader';
        break;
      } catch (e) {
        last = (e as Error).message;
      }
    }
    if (now() >= deadline) {
      throw new RuntimeError(
        `timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${want.candidate ?? 'a new leader'} to lead (last: ${last})`,
        {
          hint: 'look at `pgha status DIR`; Patroni may still complete the switchover',
        },
      );
    }
    await sleep(o.intervalMs ?? 1000);
  }
}

/** Every member but the leader a healthy replica: the state a switchover ends in. */
export function allStreaming(info: ClusterInfo): boolean {
  const l = leaderOf(info);
  return l !== undefined && info.members.every((m) => m === l || (canonicalRole(m.role) !== 'primary' && isHealthyReplicaState(m.state)));
}
