/** Polling with a deadline, for states that other processes bring about (Patroni, etcd, systemd). */
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError } from '../errors.js';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message: "pg2 to stream from pg1". */
  what: string;
  where?: string;
  hint?: string;
  /** Stops the wait early, failing as a timeout would: the caller no longer needs the answer. */
  signal?: AbortSignal;
}

/** Call `probe` until it returns a value other than undefined; errors count as "not yet". */
export async function waitFor<T>(probe: () => Promise<T | undefined>, o: WaitOptions): Promise<T> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  let last: string;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = '';
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() >= deadline || o.signal?.aborted) {
      const waited = o.signal?.aborted
        ? `gave up after ${Math.round((Date.now() - started) / 1000)} s`
        : `timed out after ${Math.round(o.timeoutMs / 1000)} s`;
      throw new RuntimeError(`${waited} waiting for ${o.what}${last ? ` (last error: ${last})` : ''}`, {
        ...(o.where ? { where: o.where } : {}),
        ...(o.hint ? { hint: o.hint } : {}),
      });
    }
    // An abort ends the sleep; the loop then probes once more and gives up.
    await sleep(o.intervalMs ?? 500, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
  }
}
