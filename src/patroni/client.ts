/**
 * The client for one member's Patroni REST API (3.0.x; 4.x answers the same way): the
 * connection (TLS with the cluster CA, basic auth on unsafe calls, a `dial` for writes), the
 * typed reads and the errors. Reads go straight from the controller; writes must come from an
 * allowlisted address, so callers pass a `dial` that opens the connection from a cluster member
 * (an SSH channel), see docs/architecture.md#security-invariants. The write calls and what their
 * answers mean are in ./ops.ts; reading a whole cluster is src/app/live/view.ts.
 *
 * Failures, as Patroni's api.py answers them (`expectOk`):
 *   400/409/412/422 refused with Patroni's reason → RefusedError (exit 3)
 *   401 wrong credentials, 403 outside the allowlist or no client certificate → RuntimeError
 *   with what to do; anything else → RuntimeError
 * Health checks (200 yes / 503 no) are answers, never errors.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError, RuntimeError } from '../errors.js';
import type { Plain } from '../model/merge.js';
import {
  basicAuth,
  NodeHttpRequester,
  type Dial,
  type HttpRequest,
  type JsonResponse,
  type Requester,
  type TlsMaterial,
} from '../transport/https.js';
import type { ClusterInfo, PatroniNodeStatus } from './types.js';

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

function reasonOf(res: JsonResponse): string {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  // send_error() pages are HTML; their <p> carries the message.
  const html = /<p>Message: ([^<]*)<\/p>/.exec(text);
  return (html?.[1] ?? text).trim() || `HTTP ${res.status}`;
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
      return await this.requestRetryingResets({ ...req, headers }, !unsafe);
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

  /**
   * A reload that changes Patroni's certificates makes it replace its REST server: a connection
   * caught in the swap is reset before or during the TLS handshake (ECONNRESET, "socket
   * disconnected before secure TLS connection was established"; seen right after `rotate-certs`
   * reloaded a member). A read is asked again, twice at most, 300 ms apart; a write never is —
   * it may have been done.
   */
  private async requestRetryingResets(req: HttpRequest, idempotent: boolean): Promise<JsonResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.http.request(req);
      } catch (e) {
        const code = String((e as NodeJS.ErrnoException).code ?? '');
        if (!idempotent || attempt >= 2 || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw e;
        await sleep(300);
      }
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

  // ── reads ──

  async cluster(): Promise<ClusterInfo> {
    return (await this.expectOk({ method: 'GET', path: '/cluster' })).body as ClusterInfo;
  }

  /** GET /patroni: this member's own view (answers 200 also while PostgreSQL is down). */
  async patroni(): Promise<PatroniNodeStatus> {
    return (await this.call({ method: 'GET', path: '/patroni' })).body as PatroniNodeStatus;
  }

  async config(): Promise<Plain> {
    return (await this.expectOk({ method: 'GET', path: '/config' })).body as Plain;
  }

  /** A health-check endpoint (`/primary`, `/replica?lag=…`): 200 yes, 503 no; never an error. */
  async check(path: string): Promise<boolean> {
    return (await this.call({ method: 'GET', path })).status === 200;
  }

  /**
   * The serial number of the certificate the REST API serves (GET /liveness, which any running
   * Patroni answers): after a reload that changed its certificate, Patroni swaps its REST server
   * at its next HA cycle, and this tells when. Undefined without TLS.
   */
  async servingCertificateSerial(): Promise<string | undefined> {
    return (await this.call({ method: 'GET', path: '/liveness' })).peerCertificateSerial;
  }

  // Writes are the typed calls of ./ops.ts, on a client's call().

  async close(): Promise<void> {
    await this.http.close();
  }
}
