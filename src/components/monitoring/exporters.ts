/**
 * The exporters Prometheus scrapes: Debian's prometheus-node-exporter on every host of a
 * monitored cluster, prometheus-postgres-exporter on its data nodes and
 * prometheus-pgbouncer-exporter on its PgBouncer hosts (Debian 13 only, ./topology.ts). All listen on the host's
 * own address only, and speak TLS with the host's node certificate, admitting only clients whose
 * certificate the cluster CA issued (exporter-toolkit's web configuration): what they expose
 * (process lists, database names, settings) is not for the whole network.
 */
import type { DesiredFile, RenderInputs, ResolvedHost } from '../../model/types.js';
import { hasRole, hostPort, num, tlsFiles } from '../common.js';
import { toYaml } from '../yaml.js';
import { PG_SOCKET_DIR, PGBOUNCER_PIDFILE } from '../paths.js';
import { PGBOUNCER_EXPORTER_USER, POSTGRES_EXPORTER_ROLE } from './topology.js';

export interface ExporterPaths {
  unit: string;
  defaults: string;
  sslDir: string;
  webConfig: string;
}

export const NODE_EXPORTER: ExporterPaths = {
  unit: 'prometheus-node-exporter.service',
  defaults: '/etc/default/prometheus-node-exporter',
  sslDir: '/etc/prometheus/node-exporter-ssl',
  webConfig: '/etc/prometheus/node-exporter-web.yml',
};

export const POSTGRES_EXPORTER: ExporterPaths = {
  unit: 'prometheus-postgres-exporter.service',
  defaults: '/etc/default/prometheus-postgres-exporter',
  sslDir: '/etc/prometheus/postgres-exporter-ssl',
  webConfig: '/etc/prometheus/postgres-exporter-web.yml',
};

export const PGBOUNCER_EXPORTER: ExporterPaths = {
  unit: 'prometheus-pgbouncer-exporter.service',
  defaults: '/etc/default/prometheus-pgbouncer-exporter',
  sslDir: '/etc/prometheus/pgbouncer-exporter-ssl',
  webConfig: '/etc/prometheus/pgbouncer-exporter-web.yml',
};

/** Debian's unit runs the exporter as `postgres`; this drop-in runs it as `prometheus` (./topology.ts). */
export const PGBOUNCER_EXPORTER_DROP_IN = '/etc/systemd/system/prometheus-pgbouncer-exporter.service.d/pgha.conf';

/**
 * Where node_exporter reads metrics pgha writes as files: the certificates' expiry on the
 * monitoring host (./certificates.ts), the newest backup on a repository host
 * (../pgbackrest/metrics.ts). A directory of pgha's own: Debian's /var/lib/prometheus/node-exporter
 * belongs to the package's collectors, and writing into it would make the directory root's.
 */
export const TEXTFILE_DIR = '/var/lib/pgha/node-exporter';

function webConfig(paths: ExporterPaths): string {
  return toYaml({
    tls_server_config: {
      cert_file: `${paths.sslDir}/node.crt`,
      key_file: `${paths.sslDir}/node.key`,
      client_ca_file: `${paths.sslDir}/ca.crt`,
      client_auth_type: 'RequireAndVerifyClientCert',
    },
  });
}

/** A shell-safe double-quoted value for an /etc/default file (systemd's EnvironmentFile reads it too). */
function envValue(words: readonly string[]): string {
  return `"${words.join(' ')}"`;
}

function header(variables: string): string {
  return `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.\n# Set ${variables} in config.yml instead.\n`;
}

function exporterTls(paths: ExporterPaths, inputs: RenderInputs, host: ResolvedHost): DesiredFile[] {
  return [
    ...tlsFiles(paths.sslDir, 'prometheus', 'prometheus', inputs, host),
    { path: paths.webConfig, content: webConfig(paths), owner: 'root', group: 'prometheus', mode: 0o640 },
  ];
}

export function nodeExporterFiles(host: ResolvedHost, inputs: RenderInputs): DesiredFile[] {
  const args = [
    `--web.listen-address=${hostPort(host.ip, num(host.vars, 'node_exporter_port'))}`,
    `--web.config.file=${NODE_EXPORTER.webConfig}`,
  ];
  // Where pgha writes metrics as files: the certificates' expiry (monitoring host), the newest backup (repository host).
  if (hasRole(host, 'monitoring-server', 'pgbackrest')) args.push(`--collector.textfile.directory=${TEXTFILE_DIR}`);
  const content = `${header('node_exporter_port')}ARGS=${envValue(args)}\n`;
  return [
    ...exporterTls(NODE_EXPORTER, inputs, host),
    { path: NODE_EXPORTER.defaults, content, owner: 'root', group: 'root', mode: 0o644 },
  ];
}

/**
 * postgres_exporter connects over the local socket as its own role, by peer authentication (no
 * password: see POSTGRES_EXPORTER_ROLE), to the `postgres` database; the role is created on the
 * leader by the component's cluster step and granted pg_monitor, nothing more.
 */
export function postgresExporterFiles(host: ResolvedHost, inputs: RenderInputs): DesiredFile[] {
  const dsn = `host=${PG_SOCKET_DIR} port=${num(host.vars, 'postgres_port')} user=${POSTGRES_EXPORTER_ROLE} dbname=postgres sslmode=disable`;
  const args = [
    `--web.listen-address=${hostPort(host.ip, num(host.vars, 'postgres_exporter_port'))}`,
    `--web.config.file=${POSTGRES_EXPORTER.webConfig}`,
  ];
  const content = `${header('postgres_exporter_port')}DATA_SOURCE_NAME="${dsn}"\nARGS=${envValue(args)}\n`;
  return [
    ...exporterTls(POSTGRES_EXPORTER, inputs, host),
    { path: POSTGRES_EXPORTER.defaults, content, owner: 'root', group: 'root', mode: 0o644 },
  ];
}

const PGBOUNCER_EXPORTER_DROP_IN_TEXT = `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
# Not PgBouncer's own user: PgBouncer admits \`postgres\` on its socket as its admin.
[Service]
User=prometheus
Group=prometheus
`;

/**
 * pgbouncer_exporter reads PgBouncer's console (the `pgbouncer` database) over PgBouncer's Unix
 * socket as PGBOUNCER_EXPORTER_USER, a stats user PgBouncer admits there by peer authentication
 * (../pgbouncer/config.ts): the connection string holds no password, so the defaults file is no
 * secret. The pid file gives its `pgbouncer_process_*` metrics.
 */
export function pgbouncerExporterFiles(host: ResolvedHost, inputs: RenderInputs): DesiredFile[] {
  const dsn = `host=${PG_SOCKET_DIR} port=${num(host.vars, 'pgbouncer_port')} user=${PGBOUNCER_EXPORTER_USER} dbname=pgbouncer sslmode=disable`;
  const args = [
    `--web.listen-address=${hostPort(host.ip, num(host.vars, 'pgbouncer_exporter_port'))}`,
    `--web.config.file=${PGBOUNCER_EXPORTER.webConfig}`,
    `--pgBouncer.pid-file=${PGBOUNCER_PIDFILE}`,
  ];
  const content = `${header('pgbouncer_exporter_port')}PGBOUNCER_EXPORTER_CONNECTION_STRING="${dsn}"\nARGS=${envValue(args)}\n`;
  return [
    ...exporterTls(PGBOUNCER_EXPORTER, inputs, host),
    { path: PGBOUNCER_EXPORTER.defaults, content, owner: 'root', group: 'root', mode: 0o644 },
    { path: PGBOUNCER_EXPORTER_DROP_IN, content: PGBOUNCER_EXPORTER_DROP_IN_TEXT, owner: 'root', group: 'root', mode: 0o644 },
  ];
}
