import { describe, expect, it } from 'vitest';
import { dcsPatch } from '../../src/components/patroni/dcs-patch.js';
import { desiredDcs } from '../../src/components/patroni/dcs.js';
import { synchronousDcs, synchronousModeFromConfig } from '../../src/components/patroni/synchronous.js';
import { stripNulls } from '../../src/model/merge.js';

describe('patroni_synchronous_mode → the DCS keys', () => {
  it('off (the default) owns the three keys as tombstones: nothing rendered, nothing patched on a cluster without them', () => {
    expect(synchronousDcs({})).toEqual({ synchronous_mode: null, synchronous_mode_strict: null, synchronous_node_count: null });
    const dcs = stripNulls(desiredDcs({ patroni_synchronous_mode: 'off', patroni_synchronous_node_count: 1 }, 'c'));
    expect(dcs).not.toHaveProperty('synchronous_mode');
    expect(dcs).not.toHaveProperty('synchronous_node_count');
    expect(dcsPatch(desiredDcs({}, 'c'), stripNulls(desiredDcs({}, 'c')))).toBeUndefined();
  });

  it('on and strict map to synchronous_mode, synchronous_mode_strict and synchronous_node_count', () => {
    expect(stripNulls(synchronousDcs({ patroni_synchronous_mode: 'on' }))).toEqual({ synchronous_mode: true, synchronous_node_count: 1 });
    expect(stripNulls(synchronousDcs({ patroni_synchronous_mode: 'strict', patroni_synchronous_node_count: 2 }))).toEqual({
      synchronous_mode: true,
      synchronous_mode_strict: true,
      synchronous_node_count: 2,
    });
  });

  it('a running cluster converges: on, strict → on (strict deleted), off (all deleted), already right (no patch)', () => {
    const live = stripNulls(desiredDcs({}, 'c'));
    expect(dcsPatch(desiredDcs({ patroni_synchronous_mode: 'on' }, 'c'), live)).toEqual({
      synchronous_mode: true,
      synchronous_node_count: 1,
    });
    const strictLive = { ...live, synchronous_mode: true, synchronous_mode_strict: true, synchronous_node_count: 1 };
    expect(dcsPatch(desiredDcs({ patroni_synchronous_mode: 'on' }, 'c'), strictLive)).toEqual({ synchronous_mode_strict: null });
    expect(dcsPatch(desiredDcs({}, 'c'), strictLive)).toEqual({
      synchronous_mode: null,
      synchronous_mode_strict: null,
      synchronous_node_count: null,
    });
    expect(dcsPatch(desiredDcs({ patroni_synchronous_mode: 'strict' }, 'c'), strictLive)).toBeUndefined();
  });

  it("the user's own DCS settings still win over the variables", () => {
    const dcs = desiredDcs({ patroni_synchronous_mode: 'on', patroni_dynamic_conf_settings: { synchronous_node_count: 2 } }, 'c');
    expect(dcs.synchronous_node_count).toBe(2);
  });

  it('reads a live DCS configuration as Patroni does', () => {
    expect(synchronousModeFromConfig({})).toBe('off');
    expect(synchronousModeFromConfig({ synchronous_mode: false, synchronous_mode_strict: true })).toBe('off');
    expect(synchronousModeFromConfig({ synchronous_mode: true })).toBe('on');
    expect(synchronousModeFromConfig({ synchronous_mode: 'on', synchronous_mode_strict: 'true' })).toBe('strict');
    expect(synchronousModeFromConfig({ synchronous_mode: 'quorum' })).toBe('quorum');
  });
});
