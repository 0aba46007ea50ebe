import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toYaml } from '../../src/components/yaml.js';

/** What toYaml must always print: yaml's own output, list sharing being invisible. */
const plainYaml = (doc: unknown) => stringify(doc, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });

/** Strings YAML 1.1 treats specially (booleans, numbers, indicators, document markers, …). */
const awkward = fc.constantFrom(
  'off',
  'on',
  'yes',
  'N',
  '1:20',
  '0o17',
  '0x1F',
  '1_000',
  '1e3',
  '.5',
  '---',
  '...',
  '- x',
  'a: b',
  '#c',
  ' lead',
  'trail ',
  '',
  '~',
  'null',
  '2001-12-14',
  'é',
  'x\ty',
  "it's",
  '"q"',
  '[a]',
  '{b}',
  '@x',
  '%x',
  '?',
  '-',
  'a #b',
  'a:',
  'two\nlines',
  'end\n',
);
const str = fc.oneof(awkward, fc.string({ maxLength: 12 }));
const doc = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.boolean(), fc.constant(null), tie('list'), tie('map')),
  list: fc.oneof(fc.array(str, { maxLength: 6 }), fc.array(tie('value'), { maxLength: 4 })),
  map: fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
})).value;

describe('toYaml', () => {
  it('prints what yaml prints, however lists repeat within and across documents', () => {
    fc.assert(
      fc.property(doc, fc.array(str, { maxLength: 5 }), (d, shared) => {
        // The same list at several depths and in several documents exercises the sharing.
        const withShared = { a: shared, b: { c: shared, d: [shared, d] }, e: d };
        expect(toYaml(d)).toBe(plainYaml(d));
        expect(toYaml(withShared)).toBe(plainYaml(withShared));
        expect(toYaml(withShared)).toBe(plainYaml(withShared));
      }),
      { numRuns: 400 },
    );
  });

  it('quotes YAML 1.1 booleans in lists as it does elsewhere', () => {
    expect(toYaml({ modes: ['off', 'on'], mode: 'off' })).toBe('modes:\n  - "off"\n  - "on"\nmode: "off"\n');
  });
});
