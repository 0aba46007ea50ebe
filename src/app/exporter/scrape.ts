/**
 * The exporter's one outgoing request: GET the member's /patroni within the timeout, TLS checked
 * the way --requests-verify says. An answer of any status comes back as text for ./answer.ts to
 * judge; only a failed exchange (refused, timed out, TLS refused, too large) becomes a reason.
 * Reasons are built here from error codes, never from the URL, so credentials in it cannot leak
 * into /health or the log.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { SecureContext } from 'node:tls';
import { secureContextOf } from '../../transport/https.js';
import { judgeAnswer, type Scrape } from './answer.js';

/** How the member's certificate is checked: Node's CA store, this CA bundle (PEM), or not at all. */
export type TlsCheck = { mode: 'system' } | { mode: 'off' } | { mode: 'ca'; pem: string };

/** A /patroni answer is a few kilobytes; more means something else answers. */
const MAX_BODY = 1 << 20;

function describe(e: NodeJS.ErrnoException, timeoutSeconds: number): string {
  const code = String(e.code ?? '');
  if (code === 'ETIMEDOUT_PGHA') return `no answer within ${timeoutSeconds} s`;
  if (code === 'ECONNREFUSED') return 'connection refused (is Patroni running and listening there?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return "the URL's host name does not resolve";
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code === 'ECONNRESET') return 'connection reset by the server';
  if (/CERT|SELF_SIGNED|SIGNATURE|ALTNAME|UNABLE_TO/.test(code)) {
    return `TLS verification failed (${code}): give the CA that signed Patroni's certificate with --requests-verify PATH`;
  }
  if (code.startsWith('ERR_SSL') || code === 'EPROTO') return `TLS handshake failed (${code})`;
  return code ? `request failed (${code})` : `request failed (${e.message})`;
}

function tlsOptions(check: TlsCheck): Pick<RequestOptions, 'rejectUnauthorized'> & { secureContext?: SecureContext } {
  if (check.mode === 'off') return { rejectUnauthorized: false };
  // The cluster CA, through the same shared context every REST client of pgha uses.
  if (check.mode === 'ca') return { rejectUnauthorized: true, secureContext: secureContextOf({ ca: check.pem }) };
  return { rejectUnauthorized: true };
}

/** One scrape of `url`: the parsed status, or why there is none, with its duration. */
export async function scrapePatroni(url: URL, timeoutSeconds: number, tls: TlsCheck): Promise<Scrape> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const { status, text } = await get(url, timeoutSeconds, tls);
    const judged = judgeAnswer(status, text);
    return judged.ok ? { ok: true, body: judged.body, durationSeconds: elapsed() } : { ...judged, durationSeconds: elapsed() };
  } catch (e) {
    return { ok: false, reason: describe(e as NodeJS.ErrnoException, timeoutSeconds), durationSeconds: elapsed() };
  }
}

function get(url: URL, timeoutSeconds: number, tls: TlsCheck): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    const options: RequestOptions = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers,
      agent: false,
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          req.destroy(Object.assign(new Error('answer too large'), { code: 'ETOOLARGE' }));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    };
    const req = url.protocol === 'https:' ? httpsRequest({ ...options, ...tlsOptions(tls) }, onResponse) : httpRequest(options, onResponse);
    // Bounds the whole exchange, connection and body included, as patroni-exporter's timeout did.
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT_PGHA' })),
      Math.round(timeoutSeconds * 1000),
    );
    function fail(e: Error) {
      clearTimeout(timer);
      reject(e);
    }
    req.on('error', fail);
    req.end();
  });
}
