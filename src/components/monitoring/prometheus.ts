/**
 * Prometheus and Alertmanager on the monitoring host (docs/architecture.md#variables-and-layers):
 * prometheus.yml is a generated model ← prometheus_conf_settings (nulls negate), and so is
 * alertmanager.yml ← alertmanager_conf_settings; the alert rules are ./rules.ts.
 *
 * What is scraped, every target by address with the cluster CA and the monitoring host's node
 * certificate as client certificate (it carries clientAuth, src/app/cluster-dir.ts):
 * - Patroni's own /metrics on every data node (https when patroni_ssl_enabled; the client
 *   certificate is what an mtls REST API asks for, and harmless otherwise);
 * - etcd's /metrics on every member's client port (no RBAC applies to it);
 * - HAProxy's built-in exporter on the stats listener (`use-service prometheus-exporter`,
 *   ../haproxy/config.ts), which exists only with TLS: without it HAProxy is not scraped;
 * - node_exporter on every host, postgres_exporter on every data node (./exporters.ts);
 * - pgha's own exporter on this host's loopback (job `pgha`, ./pgha-exporter.ts): every member as
 *   Patroni, etcd and HAProxy see it, on one page.
 * - pgbouncer_exporter on every PgBouncer host of Debian 13 (job `pgbouncer`, ./exporters.ts):
 *   its pools, clients and servers from PgBouncer's console. PgBouncer on Debian 12 is not
 *   scraped: bookworm's package of that name is a Python exporter without TLS (./topology.ts).
 *
 * Each target carries a `host` label (the instance name), so alerts name hosts as config.yml does.
 */
import type { Plain } from '../../model/merge.js';
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { bool, dataNodes, etcdMembers, hasRole, hostPort, layered, num, str, tlsFiles } from '../common.js';
import { statsEndpoint } from '../haproxy/config.js';
import { toYaml } from '../yaml.js';
import { TEXTFILE_DIR } from './exporters.js';
import { certificateExpiryMetrics } from './certificates.js';
import { PGHA_EXPORTER_BIND } from './pgha-exporter.js';
import { runsPgbouncerExporter } from './topology.js';
import { prometheusRulesYaml } from './rules.js';

export const PROMETHEUS_UNIT = 'prometheus.service';
export const ALERTMANAGER_UNIT = 'prometheus-alertmanager.service';
export const PROMETHEUS_DIR = '/etc/prometheus';
export const PROMETHEUS_CONFIG = `${PROMETHEUS_DIR}/prometheus.yml`;
export const PROMETHEUS_RULES = `${PROMETHEUS_DIR}/pgha-rules.yml`;
export const ALERTMANAGER_CONFIG = `${PROMETHEUS_DIR}/alertmanager.yml`;
export const PROMETHEUS_DEFAULTS = '/etc/default/prometheus';
export const ALERTMANAGER_DEFAULTS = '/etc/default/prometheus-alertmanager';
export const PROMETHEUS_SSL_DIR = `${PROMETHEUS_DIR}/ssl`;
export const CERTIFICATES_TEXTFILE = `${TEXTFILE_DIR}/pgha-certificates.prom`;

/** TLS settings of a scrape: the cluster CA, and this host's certificate as the client's. */
function tlsConfig(sslDir: string): Plain {
  return { ca_file: `${sslDir}/ca.crt`, cert_file: `${sslDir}/node.crt`, key_file: `${sslDir}/node.key` };
}

function staticTargets(hosts: readonly ResolvedHost[], port: (h: ResolvedHost) => number): Plain[] {
  return hosts.map((h) => ({ targets: [hostPort(h.ip, port(h))], labels: { host: h.name } }));
}

function job(name: string, scheme: 'http' | 'https', sslDir: string, targets: Plain[], extra: Plain = {}): Plain {
  return { job_name: name, scheme, ...(scheme === 'https' ? { tls_config: tlsConfig(sslDir) } : {}), ...extra, static_configs: targets };
}

/** Every scrape job of the cluster, as Prometheus on `host` reaches it. */
function scrapeConfigs(cluster: ResolvedCluster, sslDir: string): Plain[] {
  const nodes = dataNodes(cluster);
  const jobs: Plain[] = [];
  // Each data node's own vars say whether its REST API speaks TLS; they agree across a cluster.
  const patroniTls = nodes.some((h) => bool(h.vars, 'patroni_ssl_enabled'));
  jobs.push(
    job(
      'patroni',
      patroniTls ? 'https' : 'http',
      sslDir,
      staticTargets(nodes, (h) => num(h.vars, 'patroni_listen_port')),
    ),
  );
  const members = etcdMembers(cluster);
  const etcdTls = members.some((h) => bool(h.vars, 'etcd_ssl_enabled'));
  jobs.push(
    job(
      'etcd',
      etcdTls ? 'https' : 'http',
      sslDir,
      staticTargets(members, (h) => num(h.vars, 'etcd_client_port')),
    ),
  );
  const proxies = cluster.hosts.filter((h) => hasRole(h, 'haproxy') && statsEndpoint(cluster, h) !== undefined);
  if (proxies.length) {
    jobs.push(
      job(
        'haproxy',
        'https',
        sslDir,
        staticTargets(proxies, (h) => statsEndpoint(cluster, h)!.port),
      ),
    );
  }
  jobs.push(
    job(
      'node',
      'https',
      sslDir,
      staticTargets(cluster.hosts, (h) => num(h.vars, 'node_exporter_port')),
    ),
  );
  jobs.push(
    job(
      'postgres',
      'https',
      sslDir,
      staticTargets(nodes, (h) => num(h.vars, 'postgres_exporter_port')),
    ),
  );
  const poolers = cluster.hosts.filter((h) => runsPgbouncerExporter(cluster, h));
  if (poolers.length) {
    jobs.push(
      job(
        'pgbouncer',
        'https',
        sslDir,
        staticTargets(poolers, (h) => num(h.vars, 'pgbouncer_exporter_port')),
      ),
    );
  }
  return jobs;
}

/**
 * Rules are evaluated as often as targets are scraped: an alert with `for: 30s` then fires within
 * a minute of its condition (two evaluations apart, plus one scrape of delay).
 */
export function prometheusModel(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  const interval = str(host.vars, 'prometheus_scrape_interval');
  return {
    global: { scrape_interval: interval, evaluation_interval: interval, external_labels: { cluster: cluster.name } },
    rule_files: [PROMETHEUS_RULES],
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [hostPort(host.ip, num(host.vars, 'alertmanager_port'))] }] }],
    },
    scrape_configs: [
      {
        job_name: 'prometheus',
        static_configs: [{ targets: [hostPort(host.ip, num(host.vars, 'prometheus_port'))], labels: { host: host.name } }],
      },
      {
        job_name: 'alertmanager',
        static_configs: [{ targets: [hostPort(host.ip, num(host.vars, 'alertmanager_port'))], labels: { host: host.name } }],
      },
      ...scrapeConfigs(cluster, PROMETHEUS_SSL_DIR),
      // No `host` label on the target: the exporter's samples name their own member or proxy
      // (`member`, `host`), which a target label would push aside as `exported_host`.
      { job_name: 'pgha', static_configs: [{ targets: [hostPort(PGHA_EXPORTER_BIND, num(host.vars, 'pgha_exporter_port'))] }] },
    ],
  };
}

/** prometheus.yml's document: the model with prometheus_conf_settings merged over it, nulls removed. */
export function prometheusDocument(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  return layered(prometheusModel(cluster, host), host.vars.prometheus_conf_settings);
}

/**
 * Alertmanager sends nowhere until told to: every alert goes to the receiver `null`, which has no
 * integration, so alerts show in Alertmanager's UI (and Prometheus's) and no one is paged by a
 * default. Set alertmanager_conf_settings.route and .receivers to deliver them.
 */
export function alertmanagerModel(): Plain {
  return {
    route: { receiver: 'null', group_by: ['alertname', 'cluster'], group_wait: '30s', group_interval: '5m', repeat_interval: '4h' },
    receivers: [{ name: 'null' }],
  };
}

export function alertmanagerDocument(host: ResolvedHost): Plain {
  return layered(alertmanagerModel(), host.vars.alertmanager_conf_settings);
}

const MANAGED = '# Managed by pgha: changes here are overwritten by `pgha deploy`.\n';

/**
 * Debian's units read ARGS from /etc/default: the listen address (this host's own, not every
 * interface), the retention, and Alertmanager's gossip port turned off (one Alertmanager has no
 * peers; left on, it would listen on 9094 unchecked by the port rules).
 */
function defaultsFile(path: string, variables: string, args: readonly string[]): DesiredFile {
  const content = `${MANAGED}# Set ${variables} in config.yml instead.\nARGS="${args.join(' ')}"\n`;
  return { path, content, owner: 'root', group: 'root', mode: 0o644 };
}

export function monitoringFiles(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): DesiredFile[] {
  const conf = (path: string, yaml: string, variable: string): DesiredFile => ({
    path,
    content: `${MANAGED}# Set ${variable} in config.yml instead.\n${yaml}`,
    owner: 'root',
    group: 'prometheus',
    mode: 0o640,
  });
  return [
    ...tlsFiles(PROMETHEUS_SSL_DIR, 'prometheus', 'prometheus', inputs, host),
    conf(PROMETHEUS_CONFIG, toYaml(prometheusDocument(cluster, host)), 'prometheus_conf_settings'),
    conf(PROMETHEUS_RULES, prometheusRulesYaml(cluster, host), 'prometheus_rules_settings'),
    conf(ALERTMANAGER_CONFIG, toYaml(alertmanagerDocument(host)), 'alertmanager_conf_settings'),
    defaultsFile(PROMETHEUS_DEFAULTS, 'prometheus_port and prometheus_retention', [
      `--config.file=${PROMETHEUS_CONFIG}`,
      `--web.listen-address=${hostPort(host.ip, num(host.vars, 'prometheus_port'))}`,
      `--storage.tsdb.retention.time=${str(host.vars, 'prometheus_retention')}`,
    ]),
    defaultsFile(ALERTMANAGER_DEFAULTS, 'alertmanager_port', [
      `--config.file=${ALERTMANAGER_CONFIG}`,
      `--web.listen-address=${hostPort(host.ip, num(host.vars, 'alertmanager_port'))}`,
      '--cluster.listen-address=',
    ]),
    { path: CERTIFICATES_TEXTFILE, content: certificateExpiryMetrics(cluster, inputs), owner: 'root', group: 'root', mode: 0o644 },
  ];
}
