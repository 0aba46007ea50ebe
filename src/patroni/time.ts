/** Patroni's timestamps, read the one way every reader needs them. Pure. */

/**
 * Patroni's timestamps (`2026-11-22 05:28:52.250400+00:00`, or ISO 8601 with a `T`) → epoch
 * seconds with the fraction kept to the microsecond Patroni prints.
 */
export function epochSeconds(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/.exec(v.trim());
  if (!m) return undefined;
  const zone = m[4] === 'Z' ? 'Z' : m[4]!.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const whole = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(whole)) return undefined;
  const fraction = m[3] ? Number(`0.${m[3]}`) : 0;
  return Math.round((whole / 1000 + fraction) * 1e6) / 1e6;
}
