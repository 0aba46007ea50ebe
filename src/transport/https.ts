/**
 * JSON over HTTPS to services in the cluster (Patroni's REST API, etcd's gateway), verified
 * against the cluster CA. A `dial` function may supply the byte stream (e.g. an SSH channel
 * opened from a cluster member), so a request can originate from inside the allowlist.
 */
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Client, type Dispatcher } from 'undici';

export interface TlsMaterial {
  ca: string;
  /** Client certificate and key, for services that require them (mtls). */
  cert?: string | undefined;
  key?: string | undefined;
}

export interface HttpTarget {
  ip: string;
  port: number;
  /** Host name the server certificate must carry. */
  servername: string;
}

export type Dial = (target: HttpTarget) => Promise<Duplex>;

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
  text: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | 'HEAD';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export class HttpsJsonClient {
  private readonly client: Client;

  constructor(
    readonly target: HttpTarget,
    tls: TlsMaterial,
    dial?: Dial,
    readonly scheme: 'https' | 'http' = 'https',
  ) {
    const tlsOptions: ConnectionOptions = {
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: target.servername,
    };
    const origin = `${scheme}://${target.ip}:${target.port}`;
    this.client = new Client(origin, {
      connect: dial
        ? (_opts, callback) => {
            dial(target).then(
              (stream) => {
                if (scheme === 'http') return callback(null, stream as never);
                const socket = tlsConnect({ ...tlsOptions, socket: stream });
                socket.once('secureConnect', () => callback(null, socket));
                socket.once('error', (e) => callback(e, null));
              },
              (e: Error) => callback(e, null),
            );
          }
        : { ...tlsOptions, timeout: 5_000 },
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
      pipelining: 0,
    });
  }

  async request(req: HttpRequest): Promise<JsonResponse> {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    const opts: Dispatcher.RequestOptions = {
      method: req.method,
      path: req.path,
      headers,
      body,
      headersTimeout: req.timeoutMs ?? 30_000,
      bodyTimeout: req.timeoutMs ?? 30_000,
    };
    const res = await this.client.request(opts);
    const text = await res.body.text();
    let parsed: unknown = text;
    if (text && /^[\s]*[[{]/.test(text)) {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = text;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text };
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
