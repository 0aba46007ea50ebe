/**
 * One member's GET /patroni through a PatroniClient, as a Scrape: shared by `--cluster DIR`
 * (./cluster.ts) and `--cluster-file` (./cluster-file-source.ts), so both read members alike.
 * GET /patroni takes no password; the client brings the CA and, under mtls, the client certificate.
 */
import type { PatroniClient } from '../../patroni/client.js';
import { judgeAnswer, type Scrape } from './answer.js';

export async function scrapeMember(client: PatroniClient, timeoutSeconds: number): Promise<Scrape> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const res = await client.call({ method: 'GET', path: '/patroni', timeoutMs: Math.round(timeoutSeconds * 1000) });
    const judged = judgeAnswer(res.status, res.text);
    return judged.ok ? { ok: true, body: judged.body, durationSeconds: elapsed() } : { ...judged, durationSeconds: elapsed() };
  } catch (e) {
    // PatroniClient's errors name the member, the cause and never a credential.
    return { ok: false, reason: (e as Error).message, durationSeconds: elapsed() };
  }
}
