/**
 * Names the nspawn platform derives from a cluster's: its bridge, its machines, and which
 * cluster names it accepts (they end up in paths, cgroups and interface names). Pure.
 */
import { createHash } from 'node:crypto';

/** Bridge name (≤ 15 chars, IFNAMSIZ-1) derived deterministically from the cluster name. */
export function bridgeName(clusterName: string): string {
  return `pgha-${createHash('sha1').update(clusterName).digest('hex').slice(0, 6)}`;
}

/**
 * Machine name given to systemd-nspawn -M: `<host>.<cluster>`, so two clusters with the same
 * host names don't collide in nspawn's per-machine state (/run/systemd/nspawn/propagate/NAME)
 * or in the host-side veth name (`vb-NAME`, which nspawn shortens with a hash when too long).
 * The hostname inside is set separately (`--hostname`, /etc/hostname).
 */
export function machineName(clusterName: string, host: string): string {
  const label = clusterName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const name = `${host}.${label}`;
  if (label && name.length <= 64) return name;
  return `${host}.${createHash('sha1').update(clusterName).digest('hex').slice(0, 8)}`;
}

/** Cluster names end up in paths, cgroup and machine names: keep them plain. */
export function isValidClusterName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name) && !name.includes('..');
}
