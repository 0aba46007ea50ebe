/**
 * Monitoring (issue 15): three registry entries, all inert unless config.yml has a host with role
 * `monitoring-server` (./topology.ts):
 * - `prometheus` on that host: Prometheus (its rules: ./rules.ts) and Alertmanager, both from
 *   Debian (prometheus, prometheus-alertmanager), and pgha's own exporter run by Debian's nodejs
 *   (./pgha-exporter.ts); its status section prints their URLs;
 * - `node_exporter` on every host; `postgres_exporter` on every data node, with its role set up
 *   on the leader as a cluster step (./exporters.ts); `pgbouncer_exporter` on every PgBouncer
 *   host of Debian 13 (its stats user is PgBouncer's configuration, ../pgbouncer/config.ts).
 */
import { hasRole, hostPort, num, optStr } from '../common.js';
import { companion, pinned, portOf, type ClusterStep, type Component, type WithStatus } from '../component.js';
import { monitoringRoleCommand } from '../host-commands.js';
import { exporterHealth, prometheusHealth } from './health.js';
import { PGHA_EXPORTER_SSL_DIR, PGHA_EXPORTER_UNIT, pghaExporterFiles, pghaExporterReacts } from './pgha-exporter.js';
import {
  NODE_EXPORTER,
  PGBOUNCER_EXPORTER,
  PGBOUNCER_EXPORTER_DROP_IN,
  POSTGRES_EXPORTER,
  nodeExporterFiles,
  pgbouncerExporterFiles,
  postgresExporterFiles,
} from './exporters.js';
import {
  ALERTMANAGER_CONFIG,
  ALERTMANAGER_DEFAULTS,
  ALERTMANAGER_UNIT,
  PROMETHEUS_CONFIG,
  PROMETHEUS_DEFAULTS,
  PROMETHEUS_RULES,
  PROMETHEUS_SSL_DIR,
  PROMETHEUS_UNIT,
  monitoringFiles,
} from './prometheus.js';
import { POSTGRES_EXPORTER_ROLE, runsNodeExporter, runsPgbouncerExporter, runsPostgresExporter } from './topology.js';
import type { ResolvedHost } from '../../model/types.js';

/** What `pgha status` prints for a monitoring host: where its UIs answer. */
export interface MonitoringStatus {
  host: string;
  prometheus: string;
  alertmanager: string;
}

function urls(host: ResolvedHost): MonitoringStatus {
  return {
    host: host.name,
    prometheus: `http://${hostPort(host.ip, num(host.vars, 'prometheus_port'))}/`,
    alertmanager: `http://${hostPort(host.ip, num(host.vars, 'alertmanager_port'))}/`,
  };
}

const PRIVATE = { owner: 'prometheus', group: 'prometheus', mode: 0o750 } as const;

export const prometheus: WithStatus<'prometheus', MonitoringStatus> = {
  name: 'prometheus',
  runsOn: (_cluster, host) => hasRole(host, 'monitoring-server'),
  // Alertmanager's package has no version variable of its own: it follows the release, and so
  // does nodejs, which runs pgha's exporter (its single-file build runs on Debian 12's 18 and 13's 20).
  packages: (host) => [
    pinned('prometheus', optStr(host.vars, 'prometheus_package_version')),
    companion('prometheus-alertmanager'),
    companion('nodejs'),
  ],
  files: (cluster, host, ctx) => [...monitoringFiles(cluster, host, ctx.inputs), ...pghaExporterFiles(cluster, host, ctx.inputs)],
  units: () => [ALERTMANAGER_UNIT, PROMETHEUS_UNIT, PGHA_EXPORTER_UNIT],
  // Both reload their configuration (and Prometheus its rules) on SIGHUP, Debian's ExecReload;
  // their command lines (/etc/default) need a restart. Certificates are read per scrape.
  reactions: (_cluster, path) => {
    if (path === PROMETHEUS_CONFIG || path === PROMETHEUS_RULES) return [{ unit: PROMETHEUS_UNIT, how: 'reload' }];
    if (path === PROMETHEUS_DEFAULTS) return [{ unit: PROMETHEUS_UNIT, how: 'restart' }];
    if (path === ALERTMANAGER_CONFIG) return [{ unit: ALERTMANAGER_UNIT, how: 'reload' }];
    if (path === ALERTMANAGER_DEFAULTS) return [{ unit: ALERTMANAGER_UNIT, how: 'restart' }];
    if (pghaExporterReacts(path)) return [{ unit: PGHA_EXPORTER_UNIT, how: 'restart' }];
    return [];
  },
  formation: 'service',
  ports: () => [
    portOf('prometheus_port', 'Prometheus'),
    portOf('alertmanager_port', 'Alertmanager'),
    portOf('pgha_exporter_port', 'pgha exporter'),
  ],
  privateDirs: { [PROMETHEUS_SSL_DIR]: PRIVATE, [PGHA_EXPORTER_SSL_DIR]: PRIVATE },
  upgrade: { kind: 'service', how: 'restart', port: (host) => num(host.vars, 'prometheus_port') },
  health: prometheusHealth,
  // Prometheus scrapes etcd, Patroni (mtls too) and HAProxy with the monitoring host's certificate.
  dialsWithHostCert: () => true,
  // Read from config.yml alone: status opens no SSH session for it.
  status: {
    read: (state) => urls(state.host),
    lines: (entries) => entries.map((e) => `Monitoring ${e.host}: Prometheus ${e.prometheus}, Alertmanager ${e.alertmanager}`),
  },
};

export const nodeExporter: Component = {
  name: 'node_exporter',
  runsOn: runsNodeExporter,
  packages: (host) => [pinned('prometheus-node-exporter', optStr(host.vars, 'node_exporter_package_version'))],
  files: (_cluster, host, ctx) => nodeExporterFiles(host, ctx.inputs),
  units: () => [NODE_EXPORTER.unit],
  reactions: (_cluster, path) =>
    path === NODE_EXPORTER.defaults || path === NODE_EXPORTER.webConfig || path.startsWith(`${NODE_EXPORTER.sslDir}/`)
      ? [{ unit: NODE_EXPORTER.unit, how: 'restart' }]
      : [],
  formation: 'service',
  ports: () => [portOf('node_exporter_port', 'node_exporter')],
  privateDirs: { [NODE_EXPORTER.sslDir]: PRIVATE },
  upgrade: { kind: 'service', how: 'restart', port: (host) => num(host.vars, 'node_exporter_port') },
  health: exporterHealth('node_exporter', 'node_exporter_port'),
};

/** postgres_exporter's role: LOGIN and pg_monitor, on the leader (replicas get it by replication). */
const monitoringRole: ClusterStep = {
  name: 'role',
  on: { kind: 'leader' },
  title: 'postgres_exporter role',
  describe: () => `set up role ${POSTGRES_EXPORTER_ROLE} (LOGIN, pg_monitor) on the leader`,
  check: (host) => monitoringRoleCommand(POSTGRES_EXPORTER_ROLE, num(host.vars, 'postgres_port'), { checkOnly: true }),
  apply: (host) => monitoringRoleCommand(POSTGRES_EXPORTER_ROLE, num(host.vars, 'postgres_port')),
};

export const postgresExporter: Component = {
  name: 'postgres_exporter',
  runsOn: runsPostgresExporter,
  packages: (host) => [pinned('prometheus-postgres-exporter', optStr(host.vars, 'postgres_exporter_package_version'))],
  files: (_cluster, host, ctx) => postgresExporterFiles(host, ctx.inputs),
  units: () => [POSTGRES_EXPORTER.unit],
  reactions: (_cluster, path) =>
    path === POSTGRES_EXPORTER.defaults || path === POSTGRES_EXPORTER.webConfig || path.startsWith(`${POSTGRES_EXPORTER.sslDir}/`)
      ? [{ unit: POSTGRES_EXPORTER.unit, how: 'restart' }]
      : [],
  formation: 'service',
  ports: () => [portOf('postgres_exporter_port', 'postgres_exporter')],
  privateDirs: { [POSTGRES_EXPORTER.sslDir]: PRIVATE },
  upgrade: { kind: 'service', how: 'restart', port: (host) => num(host.vars, 'postgres_exporter_port') },
  health: exporterHealth('postgres_exporter', 'postgres_exporter_port'),
  clusterSteps: () => [monitoringRole],
};

/**
 * pgbouncer_exporter (Debian 13's prometheus-pgbouncer-exporter) on the PgBouncer hosts of a
 * monitored cluster. It needs no cluster step: its stats user and the HBA line admitting it live
 * in PgBouncer's own files, which PgBouncer reloads.
 */
export const pgbouncerExporter: Component = {
  name: 'pgbouncer_exporter',
  runsOn: runsPgbouncerExporter,
  packages: (host) => [pinned('prometheus-pgbouncer-exporter', optStr(host.vars, 'pgbouncer_exporter_package_version'))],
  files: (_cluster, host, ctx) => pgbouncerExporterFiles(host, ctx.inputs),
  units: () => [PGBOUNCER_EXPORTER.unit],
  reactions: (_cluster, path) =>
    path === PGBOUNCER_EXPORTER.defaults ||
    path === PGBOUNCER_EXPORTER.webConfig ||
    path === PGBOUNCER_EXPORTER_DROP_IN ||
    path.startsWith(`${PGBOUNCER_EXPORTER.sslDir}/`)
      ? [{ unit: PGBOUNCER_EXPORTER.unit, how: 'restart' }]
      : [],
  formation: 'service',
  ports: () => [portOf('pgbouncer_exporter_port', 'pgbouncer_exporter')],
  privateDirs: { [PGBOUNCER_EXPORTER.sslDir]: PRIVATE },
  upgrade: { kind: 'service', how: 'restart', port: (host) => num(host.vars, 'pgbouncer_exporter_port') },
  health: exporterHealth('pgbouncer_exporter', 'pgbouncer_exporter_port'),
};
