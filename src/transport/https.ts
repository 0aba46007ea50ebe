/**
 * JSON over HTTP(S) to services in the cluster — Patroni's REST API and etcd's gateway —
 * verified against the cluster CA. Built on node's own modules rather than undici because
 * `pgha status` is measured against `patronictl list`, and loading undici alone costs more than
 * the whole round trip to a member; Patroni 3.0's server speaks HTTP/1.0 and closes every
 * connection, so a pool would buy nothing anyway.
 *
 * `dial` supplies the byte stream (an SSH channel from a member) so unsafe calls originate
 * inside Patroni's allowlist; TLS then runs end to end over that stream.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, createSecureContext, TLSSocket, type ConnectionOptions, type SecureContext } from 'node:tls';

export interface TlsMaterial {
  ca: string;
  /** Client certificate and key, for services that require them (mtls). */
  cert?: string | undefined;
  key?: string | undefined;
}

export interface HttpTarget {
  ip: string;
  port: number;
  /**
   * Host name the server certificate must carry, checked on connections through `dial` (an
   * SSH channel, where the address is the tunnel's); direct connections check `ip` instead.
   */
  servername: string;
}

export type Dial = (target: HttpTarget) => Promise<Duplex>;

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
  text: string;
  /** The serial number of the certificate the server presented (https only), as node prints it: upper-case hex. */
  peerCertificateSerial?: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | 'HEAD';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** What the Patroni client needs from a connection: a seam for tests and other transports. */
export interface Requester {
  request(req: HttpRequest): Promise<JsonResponse>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * One TLS context per set of certificates, shared by every connection made with it: `status`
 * opens ten at once, and building a context parses the CA and key each time (~0.7 ms apiece).
 */
const contexts = new Map<string, SecureContext>();
export function secureContextOf(tls: TlsMaterial): SecureContext {
  // Keyed by content: callers build equal material objects afresh. A process sees a handful.
  const id = `${tls.ca}\0${tls.cert ?? ''}\0${tls.key ?? ''}`;
  let ctx = contexts.get(id);
  if (!ctx) {
    ctx = createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key });
    contexts.set(id, ctx);
  }
  return ctx;
}

export function parseBody(text: string): unknown {
  if (!text || !/^\s*[[{]/.test(text)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class NodeHttpRequester implements Requester {
  private pool: HttpAgent | undefined;

  /**
   * `keepAlive`: requests share one connection, one after another, until close() — for a
   * server that keeps connections open (etcd), where a second TLS handshake costs more than
   * waiting for the first answer. Patroni 3.0 closes every connection, so there it buys nothing.
   */
  constructor(
    readonly target: HttpTarget,
    private readonly tls: TlsMaterial,
    private readonly dial?: Dial,
    readonly scheme: 'https' | 'http' = 'https',
    private readonly keepAlive = false,
  ) {}

  private agent(): HttpAgent | false {
    if (!this.keepAlive) return false;
    this.pool ??=
      this.scheme === 'https' ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    return this.pool;
  }

  private async tunnel(): Promise<Duplex> {
    const stream = await this.dial!(this.target);
    if (this.scheme === 'http') return stream;
    return new Promise<Duplex>((resolve, reject) => {
      const socket = tlsConnect({ socket: stream, secureContext: secureContextOf(this.tls), servername: this.target.servername });
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  async request(req: HttpRequest): Promise<JsonResponse> {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const tunnelled = this.dial ? await this.tunnel() : undefined;
    const timeoutMs = req.timeoutMs ?? 30_000;
    return new Promise<JsonResponse>((resolve, reject) => {
      const common = {
        host: this.target.ip,
        port: this.target.port,
        method: req.method,
        path: req.path,
        headers,
        // A stream from `dial` is used as is (node skips its agent when given createConnection);
        // otherwise a throwaway agent unless connections are kept.
        ...(tunnelled ? { createConnection: () => tunnelled } : { agent: this.agent() }),
      };
      const onResponse = (res: IncomingMessage) => {
        // Read now: once the body ends the server may have closed the connection.
        const serial = res.socket instanceof TLSSocket ? (res.socket.getPeerCertificate()?.serialNumber as string | undefined) : undefined;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: parseBody(text),
            text,
            ...(serial ? { peerCertificateSerial: serial } : {}),
          });
        });
        res.on('error', fail);
      };
      const r: ClientRequest =
        this.scheme === 'https'
          ? httpsRequest(this.httpsOptions(common), onResponse)
          : httpRequest({ ...common, timeout: CONNECT_TIMEOUT_MS }, onResponse);
      // `timeout` above only covers an idle socket; this bounds the whole exchange.
      const timer = setTimeout(() => r.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      function fail(e: Error) {
        clearTimeout(timer);
        reject(e);
      }
      r.on('timeout', () => r.destroy(new Error(`connection to ${common.host}:${common.port} timed out`)));
      r.on('error', fail);
      r.end(body);
    });
  }

  /**
   * node's https passes `secureContext` on to tls.connect; its typings do not list it.
   * No `servername`: the certificate is checked against the address dialled, which every node
   * certificate of the cluster CA carries as an IP SAN. With a name, tls.connect and
   * checkServerIdentity each run it through `net.isIP`, whose IPv6 regex is compiled on first
   * use and again when it tiers up: ~15 ms of every `pgha status`.
   */
  private httpsOptions(common: HttpsRequestOptions): HttpsRequestOptions {
    const options: HttpsRequestOptions & Pick<ConnectionOptions, 'secureContext'> = {
      ...common,
      secureContext: secureContextOf(this.tls),
      timeout: CONNECT_TIMEOUT_MS,
    };
    return options;
  }

  async close(): Promise<void> {
    // Without keepAlive nothing is pooled: every request closed its own connection.
    this.pool?.destroy();
    this.pool = undefined;
  }
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
