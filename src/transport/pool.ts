import type { Transport } from './types.js';

/**
 * One transport per host for a whole run (DESIGN: one SSH connection per host, reused). Callers
 * ask by host name whenever they need it; the first ask connects, concurrent asks share that
 * attempt, and a failed attempt is not cached so a later phase may retry.
 */
export class TransportPool<T extends Transport = Transport> {
  private readonly conns = new Map<string, Promise<T>>();
  private readonly done = new Map<string, T>();

  constructor(private readonly connect: (host: string) => Promise<T>) {}

  get(host: string): Promise<T> {
    let p = this.conns.get(host);
    if (!p) {
      p = this.connect(host).then(
        (t) => {
          this.done.set(host, t);
          return t;
        },
        (e: unknown) => {
          this.conns.delete(host);
          throw e;
        },
      );
      this.conns.set(host, p);
    }
    return p;
  }

  /** Round trips per host so far, for benchmarks. */
  execCounts(): Record<string, number> {
    return Object.fromEntries([...this.done].map(([h, t]) => [h, t.execCount]));
  }

  async closeAll(): Promise<void> {
    const all = [...this.done.values()];
    this.conns.clear();
    this.done.clear();
    await Promise.allSettled(all.map((t) => t.close()));
  }
}
