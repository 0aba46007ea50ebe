/**
 * A fake Patroni member for the exporter's tests: node's HTTP (or HTTPS, with a certificate of a
 * throwaway cluster CA) server on 127.0.0.1 answering GET /patroni with a recorded answer of
 * Patroni 3.0.2 or 4.0.7 (test/fixtures/patroni-<version>), status code included — so the replica's 503 is
 * served exactly as a member sends it. The answer can be swapped between requests.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** The Patroni releases whose answers are recorded: Debian 12's and Debian 13's. */
export type RecordedVersion = '3.0.2' | '4.0.7';

export interface Answer {
  status: number;
  text: string;
}

/** A recorded answer: its status and body text, as the member sent them. */
export function recorded(name: string, version: RecordedVersion = '3.0.2'): Answer {
  const file = join(import.meta.dirname, `../fixtures/patroni-${version}`, `${name}.json`);
  const r = JSON.parse(readFileSync(file, 'utf8')) as { response: { status: number; body: string } };
  return { status: r.response.status, text: r.response.body };
}

export interface FakePatroni {
  url: string;
  /** The answer to give from now on. */
  answer: Answer;
  /** Requests seen, with their Authorization header when there was one. */
  requests: { path: string; authorization: string | undefined }[];
  close: () => Promise<void>;
}

export async function fakePatroni(answer: Answer, tls?: { keyPem: string; certPem: string }): Promise<FakePatroni> {
  const fake: FakePatroni = { url: '', answer, requests: [], close: async () => {} };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    fake.requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(fake.answer.status, { 'content-type': 'application/json' });
    res.end(fake.answer.text);
  };
  const server: Server = tls ? createHttps({ key: tls.keyPem, cert: tls.certPem }, handler) : createHttp(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  fake.url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/patroni`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}
