/**
 * Who is monitored and from where (issue 15, TPA's `monitoring-server` role): Prometheus and
 * Alertmanager run on hosts with role `monitoring-server`; while config.yml names one, every host
 * runs node_exporter and every data node postgres_exporter. Without one, nothing changes anywhere.
 */
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { releaseOf } from '../../model/releases.js';
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
 * Whether the host's release ships a PgBouncer exporter pgha installs: Debian 13's
 * prometheus-pgbouncer-exporter is prometheus-community's pgbouncer_exporter (exporter-toolkit's
 * TLS, like the other exporters). Debian 12's package of that name is another program (a Python
 * exporter, 1.7) that cannot speak TLS, so PgBouncer on Debian 12 is not scraped (a config
 * warning says so, src/config/rules/monitoring.ts).
 */
export function releaseHasPgbouncerExporter(host: ResolvedHost): boolean {
  return releaseOf(host.vars).version >= 13;
}

/** pgbouncer_exporter: the PgBouncer hosts of a monitored cluster that run Debian 13. */
export function runsPgbouncerExporter(cluster: ResolvedCluster, host: ResolvedHost): boolean {
  return hasRole(host, 'pgbouncer') && isMonitored(cluster) && releaseHasPgbouncerExporter(host);
}

/**
 * The database role postgres_exporter logs in as. Debian's unit runs the exporter as the system
 * user `prometheus`; a role of the same name lets it in by peer authentication over the local
 * socket, so there is no password to generate, store or leak.
 */
export const POSTGRES_EXPORTER_ROLE = 'prometheus';

/**
 * The PgBouncer user pgbouncer_exporter logs in to PgBouncer's console as: a `stats_users` member
 * (SHOW commands, nothing else), admitted by peer authentication on PgBouncer's Unix socket alone
 * (../pgbouncer/config.ts's HBA file). pgha runs the exporter as the system user `prometheus`
 * (Debian's unit would run it as `postgres`, PgBouncer's own user, whom PgBouncer lets in as its
 * admin), so the name is that user's and no password exists.
 */
export const PGBOUNCER_EXPORTER_USER = 'prometheus';
