/**
 * Typed client for one Patroni REST API endpoint. Reads go straight from the controller;
 * writes must come from an allowlisted address, so callers pass a `dial` that opens the
 * connection from a cluster member (an SSH channel), see DESIGN §6.
 */
import { RefusedError, RuntimeError } from '../errors.js';
import type { Plain } from '../model/merge.js';
import { basicAuth, HttpsJsonClient, type Dial, type HttpRequest, type JsonResponse, type TlsMaterial } from '../transport/https.js';
import type { ClusterInfo, PatroniNodeStatus } from './types.js';

export interface PatroniTarget {
  host: string;
  ip: string;
  port: number;
}

export interface PatroniCredentials {
  tls: TlsMaterial;
  /** Basic auth for unsafe endpoints (authentication mode basic). */
  username?: string | undefined;
  password?: string | undefined;
  /** Plain http when patroni_ssl_enabled is off. */
  ssl: boolean;
}

export class PatroniClient {
  private readonly http: HttpsJsonClient;

  constructor(
    readonly target: PatroniTarget,
    private readonly creds: PatroniCredentials,
    dial?: Dial,
  ) {
    this.http = new HttpsJsonClient({ ip: target.ip, port: target.port, servername: target.host }, creds.tls, dial, creds.ssl ? 'https' : 'http');
  }

  async call(req: HttpRequest): Promise<JsonResponse> {
    const unsafe = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    const headers = { ...(req.headers ?? {}) };
    if (unsafe && this.creds.username && this.creds.password) Object.assign(headers, basicAuth(this.creds.username, this.creds.password));
    try {
      return await this.http.request({ ...req, headers });
    } catch (e) {
      throw new RuntimeError(`Patroni REST API ${req.method} ${req.path} failed: ${(e as Error).message}`, {
        where: this.target.host,
        hint: `check that patroni@ runs on ${this.target.host} and listens on ${this.target.ip}:${this.target.port}`,
      });
    }
  }

  /** A call whose non-2xx answer is an error carrying Patroni's reason. */
  async expectOk(req: HttpRequest): Promise<JsonResponse> {
    const res = await this.call(req);
    if (res.status >= 200 && res.status < 300) return res;
    const reason = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
    const msg = `Patroni refused ${req.method} ${req.path} with ${res.status}: ${reason.trim()}`;
    if ([400, 409, 412, 422].includes(res.status)) throw new RefusedError(msg, [], { where: this.target.host });
    throw new RuntimeError(msg, { where: this.target.host });
  }

  async cluster(): Promise<ClusterInfo> {
    return (await this.expectOk({ method: 'GET', path: '/cluster' })).body as ClusterInfo;
  }

  async patroni(): Promise<PatroniNodeStatus> {
    // GET /patroni answers 503 on a node that is not running PostgreSQL, still with a JSON body.
    return (await this.call({ method: 'GET', path: '/patroni' })).body as PatroniNodeStatus;
  }

  async config(): Promise<Plain> {
    return (await this.expectOk({ method: 'GET', path: '/config' })).body as Plain;
  }

  async patchConfig(patch: Plain): Promise<Plain> {
    return (await this.expectOk({ method: 'PATCH', path: '/config', body: patch })).body as Plain;
  }

  async restart(body: Plain = {}): Promise<JsonResponse> {
    return this.call({ method: 'POST', path: '/restart', body, timeoutMs: 120_000 });
  }

  async reload(): Promise<JsonResponse> {
    return this.call({ method: 'POST', path: '/reload', body: {} });
  }

  /** Health-check endpoints answer with a status code only: 200 yes, 503 no. */
  async check(path: string): Promise<boolean> {
    return (await this.call({ method: 'GET', path })).status === 200;
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
