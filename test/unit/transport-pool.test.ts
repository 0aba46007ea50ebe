import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/transport/local.js';
import { TransportPool } from '../../src/transport/pool.js';

describe('TransportPool', () => {
  it('connects once per host, even for concurrent callers, and counts round trips', async () => {
    let connects = 0;
    const pool = new TransportPool(async (host) => {
      connects++;
      await new Promise((r) => setTimeout(r, 10));
      return new LocalTransport({ host });
    });
    const [a, b] = await Promise.all([pool.get('pg1'), pool.get('pg1')]);
    expect(a).toBe(b);
    await a.exec({ script: 'true' });
    await (await pool.get('pg2')).exec({ script: 'true' });
    await (await pool.get('pg1')).exec({ script: 'true' });
    expect(connects).toBe(2);
    expect(pool.execCounts()).toEqual({ pg1: 2, pg2: 1 });
    await pool.closeAll();
    expect(pool.execCounts()).toEqual({});
  });

  it('does not cache a failed connection', async () => {
    let n = 0;
    const pool = new TransportPool(async (host) => {
      if (n++ === 0) throw new Error('down');
      return new LocalTransport({ host });
    });
    await expect(pool.get('pg1')).rejects.toThrow('down');
    await expect(pool.get('pg1')).resolves.toBeInstanceOf(LocalTransport);
  });
});
