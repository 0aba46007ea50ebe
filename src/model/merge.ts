/**
 * Deep merge with null-negation and provenance (docs/architecture.md#variables-and-layers).
 * Maps merge key by key; lists and scalars replace; `null` replaces too and is kept as a
 * tombstone so that it can negate a value supplied later from below (a generated base),
 * until `stripNulls` removes it at the very end.
 */
import type { Layer, Provenance } from './types.js';

export type Plain = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** `a.b["x.y"][2]`: readable, and unambiguous for keys holding dots (postgres GUCs do). */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Merge `over` onto `base`, returning a new value. Neither input is modified. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Plain = { ...base };
    for (const [k, v] of Object.entries(over)) {
      out[k] = k in base ? deepMerge(base[k], v) : clone(v);
    }
    return out;
  }
  return clone(over);
}

/** Remove every key whose value is null, at any depth (list items are kept as they are). */
export function stripNulls<T>(v: T): T {
  if (Array.isArray(v)) return (v as unknown[]).map((x) => stripNulls(x)) as T;
  if (!isPlainObject(v)) return v;
  const out: Plain = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null) continue;
    out[k] = stripNulls(x);
  }
  return out as T;
}

/**
 * Record in `prov` which layer set each leaf of `over` (as merged at `segments`).
 * A replaced subtree forgets the provenance of what it replaced.
 */
export function recordProvenance(prov: Provenance, segments: (string | number)[], over: unknown, layer: Layer): void {
  const here = formatPath(segments);
  if (isPlainObject(over) && Object.keys(over).length > 0) {
    prov.delete(here);
    for (const [k, v] of Object.entries(over)) recordProvenance(prov, [...segments, k], v, layer);
    return;
  }
  for (const key of [...prov.keys()]) {
    if (key.startsWith(`${here}.`) || key.startsWith(`${here}[`)) prov.delete(key);
  }
  prov.set(here, layer);
}

/** The layer that last set `path` or anything below it (the highest such layer). */
export function layersUnder(prov: Provenance, path: string): Map<string, Layer> {
  const out = new Map<string, Layer>();
  for (const [k, layer] of prov) {
    if (k === path || k.startsWith(`${path}.`) || k.startsWith(`${path}[`)) out.set(k, layer);
  }
  return out;
}
