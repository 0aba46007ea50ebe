/**
 * pgha's own exporter as a service on the monitoring host (issue 15): `pgha exporter
 * --cluster-file` run by Debian's nodejs from the single-file build (scripts/build-exporter.mjs;
 * it runs on Debian 12's node 18 and 13's node 20), reading every data node's /patroni, each etcd
 * member's health and leadership, each HAProxy stats page, the newest backup and each data node's
 * WAL archiver where a repository exists, each PgBouncer's state and target, and the
 * certificates it holds, as one page Prometheus
 * scrapes (job `pgha`).
 *
 * - No cluster directory on the host: deploy writes /etc/pgha-exporter/cluster.json (members by
 *   address, the paths of the CA and of the host's node certificate and key; no secret), and the
 *   host's node certificate (clientAuth, like Prometheus's) answers an mtls REST API, etcd's
 *   client-cert-auth and the stats listener's `verify required`.
 * - It listens on 127.0.0.1 only and speaks plain HTTP: its one client is Prometheus on the same
 *   host, and what it serves (roles, WAL positions) stays off the network, as node_exporter's TLS
 *   keeps it for theirs.
 * - It runs as `prometheus` (Debian's package makes the user; no user of pgha's own to create)
 *   with a copy of the host's certificate and key in its own directory, like each exporter, and
 *   systemd keeps Prometheus's data out of its reach (InaccessiblePaths) and the system read-only.
 */
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { bool, dataNodes, etcdMembers, hasRole, hostPort, num, tlsFiles } from '../common.js';
import { statsEndpoint } from '../haproxy/config.js';
import { isMonitored, runsPgbouncerExporter } from './topology.js';

export const PGHA_EXPORTER_UNIT = 'pgha-exporter.service';
export const PGHA_EXPORTER_UNIT_FILE = `/etc/systemd/system/${PGHA_EXPORTER_UNIT}`;
export const PGHA_EXPORTER_BUNDLE = '/usr/local/lib/pgha/pgha-exporter.mjs';
export const PGHA_EXPORTER_DIR = '/etc/pgha-exporter';
export const PGHA_EXPORTER_SSL_DIR = `${PGHA_EXPORTER_DIR}/ssl`;
export const PGHA_EXPORTER_CLUSTER_FILE = `${PGHA_EXPORTER_DIR}/cluster.json`;
/** Its one client is Prometheus on the same host. */
export const PGHA_EXPORTER_BIND = '127.0.0.1';

const MANAGED = '# Managed by pgha: changes here are overwritten by `pgha deploy`.';

function url(https: boolean, ip: string, port: number, path = ''): string {
  return `${https ? 'https' : 'http'}://${hostPort(ip, port)}${path}`;
}

/** What the exporter scrapes (src/app/exporter/cluster-file.ts reads it back): addresses and paths, no secret. */
export function exporterClusterFile(cluster: ResolvedCluster): Record<string, unknown> {
  const ssl = PGHA_EXPORTER_SSL_DIR;
  const proxies = cluster.hosts.flatMap((h) => {
    const stats = hasRole(h, 'haproxy') ? statsEndpoint(cluster, h) : undefined;
    return stats ? [{ name: h.name, url: url(true, h.ip, stats.port, `${stats.path};csv`) }] : [];
  });
  // Their node_exporter and the data nodes' postgres_exporter run only on a monitored cluster
  // (`pgha exporter --cluster DIR` describes any cluster with this).
  const repositories = isMonitored(cluster) ? cluster.hosts.filter((h) => hasRole(h, 'pgbackrest')) : [];
  const bouncers = cluster.hosts.filter((h) => runsPgbouncerExporter(cluster, h));
  return {
    scope: cluster.name,
    tls: { ca: `${ssl}/ca.crt`, cert: `${ssl}/node.crt`, key: `${ssl}/node.key` },
    patroni: dataNodes(cluster).map((h) => ({
      name: h.name,
      url: url(bool(h.vars, 'patroni_ssl_enabled'), h.ip, num(h.vars, 'patroni_listen_port')),
    })),
    etcd: etcdMembers(cluster).map((h) => ({
      name: h.name,
      url: url(bool(h.vars, 'etcd_ssl_enabled'), h.ip, num(h.vars, 'etcd_client_port')),
    })),
    haproxy: proxies,
    // Where a repository exists: the newest backup (its node_exporter's textfile metric) and each
    // data node's archiver (postgres_exporter), both over the exporters' TLS.
    ...(repositories.length
      ? {
          backups: repositories.map((h) => ({ name: h.name, url: url(true, h.ip, num(h.vars, 'node_exporter_port'), '/metrics') })),
          archive: dataNodes(cluster).map((h) => ({
            name: h.name,
            url: url(true, h.ip, num(h.vars, 'postgres_exporter_port'), '/metrics'),
          })),
        }
      : {}),
    // Where pgbouncer_exporter runs: whether each PgBouncer answers, and where it sends clients.
    ...(bouncers.length
      ? { pgbouncer: bouncers.map((h) => ({ name: h.name, url: url(true, h.ip, num(h.vars, 'pgbouncer_exporter_port'), '/metrics') })) }
      : {}),
    certificates: [
      { name: 'ca', path: `${ssl}/ca.crt` },
      { name: 'monitoring-node', path: `${ssl}/node.crt` },
    ],
  };
}

function unit(host: ResolvedHost): string {
  const port = num(host.vars, 'pgha_exporter_port');
  return `${MANAGED}
# Set pgha_exporter_port in config.yml instead.
[Unit]
Description=pgha exporter: the cluster's Patroni, etcd and HAProxy state for Prometheus
After=network-online.target
Wants=network-online.target

[Service]
User=prometheus
Group=prometheus
ExecStart=/usr/bin/node ${PGHA_EXPORTER_BUNDLE} --cluster-file ${PGHA_EXPORTER_CLUSTER_FILE} --bind ${PGHA_EXPORTER_BIND} --port ${port}
Restart=on-failure
RestartSec=5s
# It reads its files and dials the cluster; it writes nothing and needs no privilege.
NoNewPrivileges=yes
CapabilityBoundingSet=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
# The prometheus user's other belongings: the exporter shares the user, not Prometheus's data.
InaccessiblePaths=-/var/lib/prometheus -/etc/prometheus

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The monitoring host's files for the exporter. `inputs.exporterBundle()` is the built file,
 * read by the caller (deploy, render) from dist/exporter/; it is asked for only here, so a
 * cluster without a monitoring host never needs it.
 */
export function pghaExporterFiles(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): DesiredFile[] {
  return [
    { path: PGHA_EXPORTER_BUNDLE, content: inputs.exporterBundle(), owner: 'root', group: 'root', mode: 0o644 },
    ...tlsFiles(PGHA_EXPORTER_SSL_DIR, 'prometheus', 'prometheus', inputs, host),
    {
      path: PGHA_EXPORTER_CLUSTER_FILE,
      content: `${JSON.stringify(exporterClusterFile(cluster), null, 2)}\n`,
      owner: 'root',
      group: 'root',
      mode: 0o644,
    },
    { path: PGHA_EXPORTER_UNIT_FILE, content: unit(host), owner: 'root', group: 'root', mode: 0o644 },
  ];
}

/** node reads its files once, at start: any of them changed is a restart. */
export function pghaExporterReacts(path: string): boolean {
  return (
    path === PGHA_EXPORTER_BUNDLE ||
    path === PGHA_EXPORTER_UNIT_FILE ||
    path === PGHA_EXPORTER_CLUSTER_FILE ||
    path.startsWith(`${PGHA_EXPORTER_SSL_DIR}/`)
  );
}
