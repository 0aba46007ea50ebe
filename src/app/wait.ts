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
}

/** Call `probe` until it returns a value other than undefined; errors count as "not yet". */
export async function waitFor<T>(probe: () => Promise<T | undefined>, o: WaitOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let last: string;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = '';
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new RuntimeError(
        `timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${o.what}${last ? ` (last error: ${last})` : ''}`,
        {
          ...(o.where ? { where: o.where } : {}),
          ...(o.hint ? { hint: o.hint } : {}),
        },
      );
    }
    await sleep(o.intervalMs ?? 500);
  }
}
