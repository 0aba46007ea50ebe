import { describe, expect, it } from 'vitest';
import { dcsPatch } from '../../src/components/patroni/dcs-patch.js';
import { desiredDcs } from '../../src/components/patroni/dcs.js';
import { stripNulls } from '../../src/model/merge.js';

describe('desiredDcs', () => {
  it('layers Patroni defaults, postgres parameters, bootstrap.dcs, then dynamic settings', () => {
    const dcs = desiredDcs({
      patroni_conf_settings: { bootstrap: { dcs: { ttl: 40, loop_wait: 5 } } },
      patroni_dynamic_conf_settings: { loop_wait: 8, postgresql: { parameters: { work_mem: '8MB', wal_keep_size: null } } },
    });
    expect(dcs.ttl).toBe(40);
    expect(dcs.loop_wait).toBe(8);
    expect(dcs.retry_timeout).toBe(10);
    const params = (dcs.postgresql as { parameters: Record<string, unknown> }).parameters;
    expect(params.work_mem).toBe('8MB');
    expect(params.wal_keep_size).toBeNull();
    expect(stripNulls(params)).not.toHaveProperty('wal_keep_size');
  });
  it('turns pg_rewind off with patroni_rewind_enabled: false', () => {
    expect((desiredDcs({ patroni_rewind_enabled: false }).postgresql as { use_pg_rewind: boolean }).use_pg_rewind).toBe(false);
  });
});

describe('dcsPatch', () => {
  const live = {
    ttl: 30,
    loop_wait: 10,
    postgresql: { use_slots: true, parameters: { max_connections: '100', work_mem: '4MB', foo: 'x' } },
    other: 1,
  };
  it('is empty when nothing differs (numbers equal their text)', () => {
    expect(dcsPatch({ ttl: 30, postgresql: { parameters: { max_connections: 100 } } }, live)).toBeUndefined();
  });
  it('sends differing keys only, and leaves unnamed keys alone', () => {
    expect(dcsPatch({ ttl: 40, postgresql: { parameters: { work_mem: '8MB', max_connections: 100 } } }, live)).toEqual({
      ttl: 40,
      postgresql: { parameters: { work_mem: '8MB' } },
    });
  });
  it('sends null for a key the user negated, only if it is present', () => {
    expect(dcsPatch({ postgresql: { parameters: { foo: null, bar: null } } }, live)).toEqual({ postgresql: { parameters: { foo: null } } });
  });
});
