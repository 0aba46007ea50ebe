/**
 * Patroni's failsafe mode (failsafe_mode, in the DCS configuration since Patroni 3.0.0): with it,
 * a leader that loses the DCS keeps running as primary as long as every member still answers its
 * REST API, instead of demoting itself. The `failsafe_mode` variable chooses it cluster-wide; pgha
 * owns the key, so turning the variable off removes it from the DCS again.
 */
import type { Plain } from '../../model/merge.js';
import type { Vars } from '../../model/types.js';

/**
 * Its part of the desired DCS document. Off is a null (a tombstone), not `false`: the rendered
 * bootstrap.dcs stays as it was before the variable existed, a running cluster that never had the
 * key gets no PATCH for it, and one that has it gets it deleted, which Patroni reads as off.
 */
export function failsafeDcs(vars: Vars): Plain {
  return { failsafe_mode: vars.failsafe_mode === true ? true : null };
}

/**
 * Whether a live DCS configuration (GET /config) has failsafe mode on: Patroni treats a missing
 * key as off and reads the value as a boolean, which a hand-written edit may give as text.
 */
export function failsafeModeOf(config: Plain): boolean {
  const v = config.failsafe_mode;
  return v === true || (typeof v === 'string' && ['true', 'on', 'yes', '1'].includes(v.trim().toLowerCase()));
}
