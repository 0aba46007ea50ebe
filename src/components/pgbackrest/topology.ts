/**
 * Who talks to whom for pgBackRest: the repository host (role `pgbackrest`) and the data nodes
 * whose `backup` names it (TPA's instance key). Pure reads of the resolved cluster, shared by the
 * component, its configuration and Patroni's archiving settings.
 */
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { dataNodes, hasRole, isDataNode, optStr } from '../common.js';

/** The stanza: one per cluster, named after it (as the Patroni scope is). */
export function stanzaOf(cluster: ResolvedCluster): string {
  return cluster.name;
}

/** The repository host a data node's `backup` names, when it names one with role pgbackrest. */
export function backupHostOf(cluster: ResolvedCluster, host: ResolvedHost): ResolvedHost | undefined {
  if (!isDataNode(host)) return undefined;
  const name = optStr(host.vars, 'backup');
  if (name === undefined) return undefined;
  return cluster.hosts.find((h) => h.name === name && hasRole(h, 'pgbackrest'));
}

/** Whether the data node archives to (and is backed up by) a repository host. */
export function hasBackup(cluster: ResolvedCluster, host: ResolvedHost): boolean {
  return backupHostOf(cluster, host) !== undefined;
}

/** The data nodes a repository host keeps backups of, in config.yml's order. */
export function backedUpBy(cluster: ResolvedCluster, repo: ResolvedHost): ResolvedHost[] {
  return dataNodes(cluster).filter((h) => backupHostOf(cluster, h)?.name === repo.name);
}

/** Whether the host runs pgBackRest: a repository host, or a data node that names one. */
export function runsPgbackrest(cluster: ResolvedCluster, host: ResolvedHost): boolean {
  return hasRole(host, 'pgbackrest') || hasBackup(cluster, host);
}
