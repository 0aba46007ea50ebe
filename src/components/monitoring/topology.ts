/**
 * Who is monitored and from where (issue 15, TPA's `monitoring-server` role): Prometheus and
 * Alertmanager run on hosts with role `monitoring-server`; while config.yml names one, every host
 * runs node_exporter and every data node postgres_exporter. Without one, nothing changes anywhere.
 */
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { hasRole, isDataNode } from '../common.js';

/** The hosts running Prometheus and Alertmanager, in config.yml's order. */
export function monitoringHosts(cluster: ResolvedCluster): ResolvedHost[] {
  return cluster.hosts.filter((h) => hasRole(h, 'monitoring-server'));
}

export function isMonitored(cluster: ResolvedCluster): boolean {
  return cluster.hosts.some((h) => hasRole(h, 'monitoring-server'));
}

/** node_exporter: every host of a monitored cluster, the monitoring host included. */
export function runsNodeExporter(cluster: ResolvedCluster, _host: ResolvedHost): boolean {
  return isMonitored(cluster);
}

/** postgres_exporter: the data nodes of a monitored cluster. */
export function runsPostgresExporter(cluster: ResolvedCluster, host: ResolvedHost): boolean {
  return isDataNode(host) && isMonitored(cluster);
}

/**
 * The database role postgres_exporter logs in as. Debian's unit runs the exporter as the system
 * user `prometheus`; a role of the same name lets it in by peer authentication over the local
 * socket, so there is no password to generate, store or leak.
 */
export const POSTGRES_EXPORTER_ROLE = 'prometheus';
