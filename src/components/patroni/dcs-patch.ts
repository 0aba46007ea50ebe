/**
 * The PATCH /config body that brings a live DCS configuration to the desired one (docs/architecture.md#variables-and-layers):
 * keys that differ are sent, keys desired as null are sent as null when present (Patroni deletes
 * them), keys the user never named are left alone. Pure.
 */
import { isDeepStrictEqual } from 'node:util';
import { isPlainObject, type Plain } from '../../model/merge.js';

export function dcsPatch(desired: Plain, live: Plain): Plain | undefined {
  const patch: Plain = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = live[key];
    if (want === null) {
      if (have !== undefined && have !== null) patch[key] = null;
    } else if (isPlainObject(want) && isPlainObject(have)) {
      const sub = dcsPatch(want, have);
      if (sub) patch[key] = sub;
    } else if (!isDeepStrictEqual(normalise(want), normalise(have))) {
      patch[key] = want;
    }
  }
  return Object.keys(patch).length ? patch : undefined;
}

/**
 * Patroni stores parameters as given but reports some as strings; compare numbers and
 * booleans by their text so `max_connections: 100` equals `"100"`.
 */
function normalise(v: unknown): unknown {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isPlainObject(v))
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, normalise(x)]),
    );
  return v;
}
