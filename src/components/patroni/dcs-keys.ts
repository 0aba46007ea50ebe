/**
 * Where Patroni keeps a cluster's state in etcd, and which of it a restore forgets.
 */
import type { Vars } from '../../model/types.js';
import { str } from '../common.js';

/** `<namespace>/<cluster>/`: every key Patroni writes for the cluster starts with it. */
export function dcsPrefix(vars: Vars, cluster: string): string {
  return `${str(vars, 'patroni_dcs_namespace').replace(/\/$/, '')}/${cluster}/`;
}

/**
 * The keys a restore deletes: all of the cluster's state except its dynamic configuration
 * (`config`, which holds loop_wait, the archive settings and the operator's DCS settings).
 * Left behind, `status` would hold the old leader's last WAL position, far ahead of the restored
 * one, and Patroni would refuse to promote a member lagging that much
 * (maximum_lag_on_failover); `initialize`, `history`, `members/`, `leader`, `failover`, `sync`
 * and `failsafe` describe a cluster that no longer exists. With them gone, the restored node's
 * Patroni finds an uninitialised cluster with a data directory, takes the leader key and
 * writes the rest anew: a new cluster epoch.
 */
export function keysToForget(keys: readonly string[], prefix: string): string[] {
  return keys.filter((k) => k.startsWith(prefix) && k !== `${prefix}config`);
}
