import { describe, expect, it } from 'vitest';
import { deepMerge, formatPath, layersUnder, recordProvenance, stripNulls } from '../../src/model/merge.js';
import type { Provenance } from '../../src/model/types.js';

describe('deepMerge', () => {
  it.each([
    ['maps merge key by key', { a: { x: 1, y: 2 } }, { a: { y: 3, z: 4 } }, { a: { x: 1, y: 3, z: 4 } }],
    ['lists replace', { a: [1, 2, 3] }, { a: [9] }, { a: [9] }],
    ['scalar replaces map', { a: { x: 1 } }, { a: 5 }, { a: 5 }],
    ['map replaces scalar', { a: 5 }, { a: { x: 1 } }, { a: { x: 1 } }],
    ['null is kept as a tombstone', { a: { x: 1, y: 2 } }, { a: { x: null } }, { a: { x: null, y: 2 } }],
    ['null replaces a whole section', { log: { level: 'INFO' } }, { log: null }, { log: null }],
    ['empty map changes nothing', { a: { x: 1 } }, { a: {} }, { a: { x: 1 } }],
  ])('%s', (_name, base, over, want) => {
    expect(deepMerge(base, over)).toEqual(want);
  });

  it('does not modify its inputs', () => {
    const base = { a: { x: [1] } };
    const over = { a: { y: { z: 1 } } };
    const out = deepMerge(base, over) as { a: { y: { z: number } } };
    out.a.y.z = 2;
    expect(base).toEqual({ a: { x: [1] } });
    expect(over).toEqual({ a: { y: { z: 1 } } });
  });
});

describe('stripNulls', () => {
  it('removes null keys at any depth but keeps list items', () => {
    expect(stripNulls({ a: null, b: { c: null, d: 1, e: { f: null } }, g: [null, 1] })).toEqual({
      b: { d: 1, e: {} },
      g: [null, 1],
    });
  });
});

describe('formatPath', () => {
  it('prints dotted paths, indexes and quoted keys', () => {
    expect(formatPath(['instances', 2, 'role', 0])).toBe('instances[2].role[0]');
    expect(formatPath(['parameters', 'pg_stat_statements.track'])).toBe('parameters["pg_stat_statements.track"]');
  });
});

describe('provenance', () => {
  it('records the highest layer per leaf and forgets replaced subtrees', () => {
    const prov: Provenance = new Map();
    recordProvenance(prov, ['s'], { a: { x: 1, y: 2 } }, 'builtin');
    recordProvenance(prov, ['s'], { a: { y: 3 } }, 'cluster_vars');
    expect(Object.fromEntries(layersUnder(prov, 's'))).toEqual({ 's.a.x': 'builtin', 's.a.y': 'cluster_vars' });
    recordProvenance(prov, ['s'], { a: null }, 'instance');
    expect(Object.fromEntries(layersUnder(prov, 's'))).toEqual({ 's.a': 'instance' });
  });
});
