/**
 * Property-based tests over the model pipeline (issue 5, item 4): load → validate → merge → resolve
 * → render. For arbitrary input nothing may throw except ConfigError/UsageError (exit 2); a config
 * that validates must resolve and render. Plus the algebra of the layered merge (docs/architecture.md#variables-and-layers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { deepMerge, isPlainObject, stripNulls } from '../../src/model/merge.js';
import { resolveCluster } from '../../src/model/resolve.js';
import type { ClusterConfig, ResolvedCluster, Vars } from '../../src/model/types.js';
import { renderCluster } from '../../src/render/index.js';
import { EXAMPLES_DIR, exampleNames, fakeInputs } from '../golden/inputs.js';

const RUNS = Number(process.env.PGHA_PROPERTY_RUNS ?? 150);
const examples = exampleNames().map((name) => {
  const text = readFileSync(join(EXAMPLES_DIR, name, 'config.yml'), 'utf8');
  return { name, text, raw: parseConfigText(text, 'config.yml').raw as ClusterConfig };
});

/** Every variable name the examples set: mutations hit real variables, not only unknown ones. */
const knownVars = [
  ...new Set(
    examples.flatMap((e) => [
      ...Object.keys(e.raw.cluster_vars ?? {}),
      ...Object.keys((e.raw.instance_defaults as { vars?: Vars } | undefined)?.vars ?? {}),
      ...e.raw.instances.flatMap((i) => Object.keys(i.vars ?? {})),
    ]),
  ),
].sort();

const isExpected = (e: unknown): boolean => e instanceof ConfigError || e instanceof UsageError;

/** The whole offline pipeline, as `pgha render` runs it. Returns what stage it reached. */
function pipeline(text: string, extra: Vars = {}): 'load' | 'validate' | 'render' {
  const doc = parseConfigText(text, 'config.yml');
  let valid;
  try {
    valid = validateConfig(doc, extra);
  } catch (e) {
    if (isExpected(e)) return doc.problems.length ? 'load' : 'validate';
    throw e;
  }
  const cluster = resolveCluster(valid.config, extra);
  renderCluster(cluster, fakeInputs(cluster));
  return 'render';
}

const scalar = fc.oneof(
  fc.integer({ min: -70000, max: 70000 }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.double({ noNaN: true }),
);
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('v'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).v;
const varName = fc.oneof(fc.constantFrom(...knownVars), fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/));
const example = fc.constantFrom(...examples);

/** A structural mutation of a valid config: set, delete or retype something somewhere. */
type Mutation = (c: Record<string, unknown>) => void;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(varName, value).map(([k, v]) => (c: Record<string, unknown>) => {
    if (isPlainObject(c.cluster_vars)) c.cluster_vars[k] = v;
  }),
  fc.tuple(fc.nat(5), varName, value).map(([i, k, v]) => (c: Record<string, unknown>) => {
    const inst = Array.isArray(c.instances) ? (c.instances[i % c.instances.length] as unknown) : undefined;
    if (isPlainObject(inst)) inst.vars = { ...(isPlainObject(inst.vars) ? inst.vars : {}), [k]: v };
  }),
  fc
    .tuple(fc.nat(5), fc.constantFrom('Name', 'node', 'location', 'role', 'ip_address', 'vars', 'platform'), value)
    .map(([i, k, v]) => (c: Record<string, unknown>) => {
      const inst = Array.isArray(c.instances) ? (c.instances[i % c.instances.length] as unknown) : undefined;
      if (isPlainObject(inst)) inst[k] = v;
    }),
  fc
    .tuple(fc.constantFrom('architecture', 'cluster_name', 'cluster_vars', 'locations', 'instance_defaults', 'instances'), value)
    .map(([k, v]) => (c: Record<string, unknown>) => {
      c[k] = v;
    }),
  fc
    .constantFrom('architecture', 'cluster_name', 'cluster_vars', 'locations', 'instance_defaults', 'instances')
    .map((k) => (c: Record<string, unknown>) => {
      delete c[k];
    }),
);

describe('load, validate, resolve, render: no crash on arbitrary input', () => {
  it('arbitrary text only ever gives problems or ConfigError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const doc = parseConfigText(text, 'config.yml');
        for (const p of doc.problems) expect(p.file).toBe('config.yml');
        pipeline(text);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary YAML-ish text built from config fragments', () => {
    const line = fc.oneof(
      fc.constantFrom(
        'architecture: M1',
        'cluster_name: x',
        'cluster_vars:',
        '  postgres_version: 15',
        'instances:',
        '  - Name: a',
        '    node: 1',
        '    role: [primary]',
        '\t- x',
        'a: &x 1',
        'b: *x',
        'c: *y',
        '{',
        '[',
        '"',
        "'",
        '? a',
        '---',
        '...',
        '%YAML 1.2',
        'k: !!binary x',
        'k: !tag v',
        '<<: *x',
      ),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => void pipeline(lines.join('\n'))),
      { numRuns: RUNS },
    );
  });

  it('each example, mutated anywhere: ConfigError, or it validates and then resolves and renders', () => {
    fc.assert(
      fc.property(example, fc.array(mutation, { minLength: 1, maxLength: 3 }), (ex, muts) => {
        const raw = structuredClone(ex.raw) as unknown as Record<string, unknown>;
        for (const m of muts) m(raw);
        pipeline(stringify(raw));
      }),
      // Found by this property (see the -e one below): a null for a variable render needs.
      {
        numRuns: RUNS,
        examples: [
          [
            examples[0]!,
            [(c: Record<string, unknown>) => void (isPlainObject(c.cluster_vars) && (c.cluster_vars.patroni_authentication_mode = null))],
          ],
        ],
      },
    );
  });

  it('arbitrary -e variables on each example: ConfigError/UsageError, or it renders', () => {
    fc.assert(
      fc.property(
        example,
        fc.dictionary(varName, value, { maxKeys: 3, noNullPrototype: true }),
        (ex, extra) => void pipeline(ex.text, extra),
      ),
      // Found by this property: null unsets a variable with no fallback and render throws a bug error.
      { numRuns: RUNS, examples: [[examples[0]!, { etcd_authentication_mode: null }]] },
    );
  });

  it('a problem found in a file always carries the file and, for YAML errors, a line', () => {
    fc.assert(
      fc.property(example, fc.array(mutation, { minLength: 1, maxLength: 2 }), (ex, muts) => {
        const raw = structuredClone(ex.raw) as unknown as Record<string, unknown>;
        for (const m of muts) m(raw);
        try {
          validateConfig(parseConfigText(stringify(raw), 'config.yml'));
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          expect(e.problems.length).toBeGreaterThan(0);
          for (const p of e.problems) {
            expect(p.file).toBe('config.yml');
            expect(p.message).not.toBe('');
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- merge algebra ----------------------------------------------------------------------------------
const key = fc.constantFrom('a', 'b', 'c', 'd', 'x.y', 'log');
const tree: fc.Arbitrary<unknown> = fc.letrec<{ t: unknown }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('t'), { maxLength: 3 }),
    fc.dictionary(key, tie('t'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).t;
const map = fc.dictionary(key, tree, { maxKeys: 4, noNullPrototype: true });

/** Every leaf path of a plain-object tree (lists and scalars are leaves). */
function leaves(v: unknown, path: string[] = []): [string[], unknown][] {
  if (isPlainObject(v) && Object.keys(v).length) return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  return [[path, v]];
}
function at(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const k of path) {
    if (!isPlainObject(cur) || !(k in cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}
const has = (v: unknown, path: string[]): boolean => {
  let cur = v;
  for (const k of path) {
    if (!isPlainObject(cur) || !(k in cur)) return false;
    cur = cur[k];
  }
  return true;
};

describe('merge algebra', () => {
  it('merging {} is the identity, on either side for maps', () => {
    fc.assert(
      fc.property(map, (m) => {
        expect(deepMerge(m, {})).toEqual(m);
        expect(deepMerge({}, m)).toEqual(m);
      }),
      { numRuns: RUNS },
    );
  });

  it('stripNulls is idempotent and leaves no null map value', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const once = stripNulls(t);
        expect(stripNulls(once)).toEqual(once);
        for (const [path, v] of leaves(once)) if (path.length) expect(v).not.toBeNull();
      }),
      { numRuns: RUNS },
    );
  });

  it("a later layer's leaf always wins (scalars and lists replace)", () => {
    fc.assert(
      fc.property(map, map, (base, over) => {
        const merged = deepMerge(base, over);
        for (const [path, v] of leaves(over)) {
          if (!path.length) continue;
          const got = at(merged, path);
          if (isPlainObject(v))
            expect(isPlainObject(got)).toBe(true); // {} over a map keeps the map
          else expect(got).toEqual(v);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('lists replace, never concatenate', () => {
    fc.assert(
      fc.property(key, fc.array(scalar, { maxLength: 4 }), fc.array(scalar, { maxLength: 4 }), (k, a, b) => {
        expect(deepMerge({ [k]: a }, { [k]: b })).toEqual({ [k]: b });
      }),
      { numRuns: RUNS },
    );
  });

  it('null removes the key after stripNulls, whatever was below', () => {
    fc.assert(
      fc.property(map, fc.array(key, { minLength: 1, maxLength: 3 }), (base, path) => {
        let over: unknown = null;
        for (const k of [...path].reverse()) over = { [k]: over };
        const out = stripNulls(deepMerge(base, over));
        expect(has(out, path)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  // (Not associative: ({d:{a:0}} ⊕ {d:0}) ⊕ {d:{}} is {d:{}} but {d:{a:0}} ⊕ ({d:0} ⊕ {d:{}}) is {d:{a:0}}:
  // a scalar replaces a map, and an empty map over it is a map again. Layers are merged in order only.)
  it('keys only in the base survive untouched; the result has exactly the keys of both', () => {
    fc.assert(
      fc.property(map, map, (a, b) => {
        const m = deepMerge(a, b) as Record<string, unknown>;
        for (const k of Object.keys(a)) if (!(k in b)) expect(m[k]).toEqual(a[k]);
        expect(Object.keys(m).sort()).toEqual([...new Set([...Object.keys(a), ...Object.keys(b)])].sort());
      }),
      { numRuns: RUNS },
    );
  });

  it('does not modify its inputs', () => {
    fc.assert(
      fc.property(map, map, (a, b) => {
        const a0 = structuredClone(a);
        const b0 = structuredClone(b);
        deepMerge(a, b);
        stripNulls(a);
        expect(a).toEqual(a0);
        expect(b).toEqual(b0);
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- resolve ----------------------------------------------------------------------------------------------
function snapshot(c: ResolvedCluster): unknown {
  return { ...c, hosts: c.hosts.map((h) => ({ ...h, provenance: [...h.provenance.entries()] })) };
}

describe('resolve', () => {
  it('is deterministic and pure (same config and -e, same result; inputs untouched)', () => {
    fc.assert(
      fc.property(example, fc.dictionary(varName, value, { maxKeys: 3, noNullPrototype: true }), (ex, extra) => {
        const config = structuredClone(ex.raw);
        const before = structuredClone(config);
        const extra0 = structuredClone(extra);
        const a = resolveCluster(config, extra);
        const b = resolveCluster(structuredClone(before), structuredClone(extra0));
        expect(snapshot(a)).toEqual(snapshot(b));
        expect(config).toEqual(before);
        expect(extra).toEqual(extra0);
      }),
      { numRuns: RUNS },
    );
  });

  it('an -e scalar is what every host resolves (the top layer wins)', () => {
    fc.assert(
      fc.property(
        example,
        fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/),
        fc.oneof(fc.integer(), fc.boolean(), fc.string({ maxLength: 8 })),
        (ex, k, v) => {
          const c = resolveCluster(ex.raw, { [k]: v });
          for (const h of c.hosts) {
            expect(h.vars[k]).toEqual(v);
            expect(h.provenance.get(k)).toBe('-e');
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('rendering a valid example is deterministic', () => {
    for (const ex of examples) {
      const c1 = resolveCluster(ex.raw);
      const c2 = resolveCluster(ex.raw);
      expect(renderCluster(c1, fakeInputs(c1))).toEqual(renderCluster(c2, fakeInputs(c2)));
    }
  });
});
