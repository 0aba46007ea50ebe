import { describe, expect, it } from 'vitest';
import { dcsPatch } from '../../src/components/patroni/dcs-patch.js';
import { desiredDcs } from '../../src/components/patroni/dcs.js';
import { failsafeModeOf } from '../../src/components/patroni/failsafe.js';
import { stripNulls } from '../../src/model/merge.js';

describe('desiredDcs', () => {
  it('layers Patroni defaults, postgres parameters, bootstrap.dcs, then dynamic settings', () => {
    const dcs = desiredDcs(
      {
        patroni_conf_settings: { bootstrap: { dcs: { ttl: 40, loop_wait: 5 } } },
        patroni_dynamic_conf_settings: { loop_wait: 8, postgresql: { parameters: { work_mem: '8MB', wal_keep_size: null } } },
      },
      'c',
    );
    expect(dcs.ttl).toBe(40);
    expect(dcs.loop_wait).toBe(8);
    expect(dcs.retry_timeout).toBe(10);
    const params = (dcs.postgresql as { parameters: Record<string, unknown> }).parameters;
    expect(params.work_mem).toBe('8MB');
    expect(params.wal_keep_size).toBeNull();
    expect(stripNulls(params)).not.toHaveProperty('wal_keep_size');
  });
  it('turns pg_rewind off with patroni_rewind_enabled: false', () => {
    expect((desiredDcs({ patroni_rewind_enabled: false }, 'c').postgresql as { use_pg_rewind: boolean }).use_pg_rewind).toBe(false);
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

describe('failsafe_mode', () => {
  it('is off by default: a tombstone, so the rendered bootstrap.dcs does not name it', () => {
    expect(desiredDcs({}, 'c').failsafe_mode).toBeNull();
    expect(desiredDcs({ failsafe_mode: false }, 'c').failsafe_mode).toBeNull();
    expect(stripNulls(desiredDcs({ failsafe_mode: false }, 'c'))).not.toHaveProperty('failsafe_mode');
  });
  it('on: failsafe_mode: true in the DCS document (bootstrap.dcs and the PATCH)', () => {
    expect(stripNulls(desiredDcs({ failsafe_mode: true }, 'c'))).toMatchObject({ failsafe_mode: true });
  });
  it("the user's own DCS settings win over the variable", () => {
    expect(desiredDcs({ failsafe_mode: true, patroni_dynamic_conf_settings: { failsafe_mode: false } }, 'c').failsafe_mode).toBe(false);
    expect(desiredDcs({ patroni_conf_settings: { bootstrap: { dcs: { failsafe_mode: true } } } }, 'c').failsafe_mode).toBe(true);
  });
  it('a running cluster converges: set when turned on, deleted when turned off, untouched when already right', () => {
    const live = { ttl: 30, loop_wait: 10 };
    expect(dcsPatch(desiredDcs({ failsafe_mode: true }, 'c'), live)).toMatchObject({ failsafe_mode: true });
    expect(dcsPatch(desiredDcs({ failsafe_mode: true }, 'c'), { ...live, failsafe_mode: true })?.failsafe_mode).toBeUndefined();
    expect(dcsPatch(desiredDcs({ failsafe_mode: false }, 'c'), { ...live, failsafe_mode: true })).toMatchObject({ failsafe_mode: null });
    // Off and never set: no PATCH for it, so clusters deployed before the variable existed stay untouched.
    expect(dcsPatch(desiredDcs({}, 'c'), live)?.failsafe_mode).toBeUndefined();
  });
  it('reads the live value as Patroni does: missing is off', () => {
    expect(failsafeModeOf({})).toBe(false);
    expect(failsafeModeOf({ failsafe_mode: true })).toBe(true);
    expect(failsafeModeOf({ failsafe_mode: false })).toBe(false);
    expect(failsafeModeOf({ failsafe_mode: 'on' })).toBe(true);
    expect(failsafeModeOf({ failsafe_mode: 'off' })).toBe(false);
    expect(failsafeModeOf({ failsafe_mode: null })).toBe(false);
  });
});
