/**
 * Properties of rendering under arbitrary user settings: whatever maps, scalars and nulls a user
 * puts in *_conf_settings, no file ever carries a null, `undefined` or `[object Object]`, the
 * YAML files parse back, and every null in the settings removes its key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isPlainObject } from '../../src/model/merge.js';
import { renderCluster } from '../../src/render/index.js';
import { fakeInputs, loadExample } from '../golden/inputs.js';

const key = fc.constantFrom(
  'log',
  'restapi',
  'level',
  'tags',
  'postgresql',
  'parameters',
  'global',
  'defaults',
  'maxconn',
  'pool_mode',
  'x',
  'y',
);
const scalar = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.constantFrom('on', 'off', 'yes', 'a b', '10s'),
  fc.boolean(),
  fc.constant(null),
);
const settings = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, scalar, tie('map')),
  map: fc.dictionary(key, tie('node'), { maxKeys: 4 }),
})).map;

function nullPaths(v: unknown, at: string[] = []): string[][] {
  if (!isPlainObject(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => (x === null ? [[...at, k]] : nullPaths(x, [...at, k])));
}

function has(doc: unknown, path: string[]): boolean {
  let cur: unknown = doc;
  for (const p of path) {
    if (!isPlainObject(cur) || !(p in cur)) return false;
    cur = cur[p];
  }
  return true;
}

describe('rendering arbitrary settings', () => {
  it('never prints null, undefined or objects, and nulls remove their keys', () => {
    fc.assert(
      fc.property(settings, settings, settings, settings, (p, h, b, e) => {
        const cluster = loadExample('m1-pgbouncer-bare', {
          patroni_conf_settings: p,
          haproxy_conf_settings: h,
          pgbouncer_conf_settings: b,
          etcd_conf_settings: e,
        });
        for (const files of renderCluster(cluster, fakeInputs(cluster)).values()) {
          for (const f of files) {
            expect(f.content).not.toMatch(/undefined|\[object Object\]/);
            if (f.path.endsWith('.yml')) {
              const doc = parse(f.content, { version: '1.1' });
              expect(JSON.stringify(doc)).not.toContain('null');
              const own = f.path.startsWith('/etc/patroni/') ? p : e;
              // bootstrap.dcs is rebuilt from desiredDcs(); its nulls are checked in render-layers.
              for (const path of nullPaths(own).filter((x) => !(x[0] === 'bootstrap' && x[1] === 'dcs'))) {
                expect(has(doc, path)).toBe(false);
              }
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
