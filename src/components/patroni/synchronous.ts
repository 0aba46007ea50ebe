/**
 * Synchronous replication (Patroni's synchronous_mode, synchronous_mode_strict and
 * synchronous_node_count, in the DCS configuration). The cluster-wide variables
 * `patroni_synchronous_mode` (off, on, strict) and `patroni_synchronous_node_count` choose them;
 * pgha owns the three keys, so turning the mode off removes them from the DCS again.
 *
 * - on: Patroni names `patroni_synchronous_node_count` replicas in synchronous_standby_names, so
 *   a commit returns once one of them has it; when no synchronous standby is left, Patroni empties
 *   the list and the primary goes on accepting writes asynchronously (availability first).
 * - strict: the list is never emptied; with no synchronous standby, commits wait (durability first).
 * Either way Patroni promotes only a synchronous standby on failover, and POST /switchover to any
 * other replica is refused (412).
 */
import type { Plain } from '../../model/merge.js';
import type { Vars } from '../../model/types.js';

export const SYNCHRONOUS_MODES = ['off', 'on', 'strict'] as const;
export type SynchronousMode = (typeof SYNCHRONOUS_MODES)[number];

/** The variable's value; anything the schema would refuse reads as off. */
export function synchronousModeOf(vars: Vars): SynchronousMode {
  const v = vars.patroni_synchronous_mode;
  return v === 'on' || v === 'strict' ? v : 'off';
}

/** patroni_synchronous_node_count, 1 when unset. */
export function synchronousNodeCountOf(vars: Vars): number {
  const n = vars.patroni_synchronous_node_count;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * Its part of the desired DCS document. Off is three tombstones, as failsafe_mode's off is one: a
 * cluster that never had the keys gets no PATCH and no change in its rendered bootstrap.dcs, one
 * that has them gets them deleted (Patroni reads missing keys as off and a count of 1). On sends
 * synchronous_mode_strict as a tombstone too, so going from strict to on deletes it.
 */
export function synchronousDcs(vars: Vars): Plain {
  const mode = synchronousModeOf(vars);
  if (mode === 'off') return { synchronous_mode: null, synchronous_mode_strict: null, synchronous_node_count: null };
  return {
    synchronous_mode: true,
    synchronous_mode_strict: mode === 'strict' ? true : null,
    synchronous_node_count: synchronousNodeCountOf(vars),
  };
}

function truthy(v: unknown): boolean {
  return v === true || (typeof v === 'string' && ['true', 'on', 'yes', '1'].includes(v.trim().toLowerCase()));
}

/**
 * The mode a live DCS configuration (GET /config) is in. Patroni reads both keys as booleans
 * (a hand edit may give them as text), and strict counts only with synchronous_mode on. Patroni
 * 4's `synchronous_mode: quorum`, which pgha never sets, is reported as such.
 */
export function synchronousModeFromConfig(config: Plain): SynchronousMode | 'quorum' {
  if (typeof config.synchronous_mode === 'string' && config.synchronous_mode.trim().toLowerCase() === 'quorum') return 'quorum';
  if (!truthy(config.synchronous_mode)) return 'off';
  return truthy(config.synchronous_mode_strict) ? 'strict' : 'on';
}
