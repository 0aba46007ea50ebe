/**
 * The Patroni configuration file of a data node (docs/architecture.md#variables-and-layers): generated base → feature blocks →
 * patroni_conf_settings merged last → every null removed. Built as an object, written with `yaml`.
 */
import { deepMerge, isPlainObject, stripNulls, type Plain } from '../../model/merge.js';
import type { DesiredFile, FileMask, RenderInputs, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { bool, dataNodes, etcdMembers, hasRole, hostCidr, hostPort, num, optStr, plain, str, strList, tlsFiles } from '../common.js';
import {
  PATRONI_CA,
  PATRONI_CERT,
  PATRONI_KEY,
  PATRONI_SSL_DIR,
  PG_CREATECLUSTER_DROP_IN,
  PG_SOCKET_DIR,
  PGBOUNCER_FOLLOW_SCRIPT,
} from '../paths.js';
import { toYaml } from '../yaml.js';
import { replicaFromRepository } from './archiving.js';
import { isMonitored, POSTGRES_EXPORTER_ROLE } from '../monitoring/topology.js';
import { desiredDcs } from './dcs.js';

/** Debian's `patroni@.service` reads `/etc/patroni/%i.yml`; the instance is the cluster name. */
export function patroniUnit(cluster: ResolvedCluster): string {
  return `patroni@${cluster.name}.service`;
}

export function patroniConfigPath(cluster: ResolvedCluster): string {
  return `/etc/patroni/${cluster.name}.yml`;
}

/** Every `password:` line of a YAML file, whatever its value's quoting: masked when shown. */
export const YAML_PASSWORD_LINE: FileMask = { pattern: /^(\s*(?:- )?password: ).*$/gm, replace: "$1'********'" };

function patroniSsl(host: ResolvedHost): boolean {
  return bool(host.vars, 'patroni_ssl_enabled');
}

/** The REST API's base URL of a data node, as its own vars configure it. */
export function restApiUrl(host: ResolvedHost): string {
  return `${patroniSsl(host) ? 'https' : 'http'}://${hostPort(host.ip, num(host.vars, 'patroni_listen_port'))}`;
}

/**
 * pg_hba: the local superuser by peer (Patroni runs as postgres over the socket), everything else
 * by scram-sha-256; replication only from members. Loopback stays `host`: it never leaves the
 * machine and local tools should not need certificates to reach their own server.
 *
 * `postgres_hba_settings` (TPA's extra lines) come right after the superuser's peer lines: pg_hba
 * is first match wins, so after the catch-all lines a declared line (a `reject`, a `cert` for one
 * database) would never be read; before pgha's own superuser lines it could lock Patroni out.
 */
export function pgHba(cluster: ResolvedCluster, host: ResolvedHost): string[] {
  const v = host.vars;
  const tcp = patroniSsl(host) ? 'hostssl' : 'host';
  const superUser = str(v, 'patroni_super_user');
  const replUser = str(v, 'patroni_replication_user');
  const hba = [
    `local all ${superUser} peer`,
    `local replication ${superUser} peer`,
    // postgres_exporter (monitoring): its system user logs in as the role of the same name, by peer.
    ...(isMonitored(cluster) ? [`local postgres ${POSTGRES_EXPORTER_ROLE} peer`] : []),
    ...(Array.isArray(v.postgres_hba_settings) ? v.postgres_hba_settings.map(String) : []),
    'local all all scram-sha-256',
    'host all all 127.0.0.1/32 scram-sha-256',
    'host all all ::1/128 scram-sha-256',
    // A demoted primary's Patroni checks replication over localhost before it rejoins; without
    // this line it retries for a whole HA loop and the member shows as stopped meanwhile.
    `host replication ${replUser} 127.0.0.1/32 scram-sha-256`,
    `host replication ${replUser} ::1/128 scram-sha-256`,
  ];
  for (const member of dataNodes(cluster)) {
    hba.push(`${tcp} replication ${replUser} ${hostCidr(member.ip)} scram-sha-256`);
  }
  hba.push(`${tcp} all all 0.0.0.0/0 scram-sha-256`, `${tcp} all all ::/0 scram-sha-256`);
  return hba;
}

function restApi(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): Plain {
  const v = host.vars;
  const address = hostPort(host.ip, num(v, 'patroni_listen_port'));
  const api: Plain = { listen: address, connect_address: address };
  if (patroniSsl(host)) {
    Object.assign(api, { certfile: PATRONI_CERT, keyfile: PATRONI_KEY, cafile: PATRONI_CA });
  }
  if (str(v, 'patroni_authentication_mode') === 'mtls' && patroniSsl(host)) {
    api.verify_client = 'required';
  } else {
    const user = str(v, 'patroni_restapi_user');
    api.authentication = { username: user, password: inputs.secret(user) };
  }
  // Write endpoints only: GETs (HAProxy's checks, status) are not subject to the allowlist.
  api.allowlist = [...dataNodes(cluster).map((h) => h.ip), ...strList(v.patroni_restapi_allowlist_extra)];
  api.allowlist_include_members = true;
  return api;
}

/** patronictl on a node talks to the REST API with the same trust and identity as the members. */
function ctl(host: ResolvedHost, inputs: RenderInputs): Plain | undefined {
  if (!patroniSsl(host)) return undefined;
  const out: Plain = { insecure: false, cacert: PATRONI_CA };
  if (str(host.vars, 'patroni_authentication_mode') === 'mtls') {
    Object.assign(out, { certfile: PATRONI_CERT, keyfile: PATRONI_KEY });
  } else {
    const user = str(host.vars, 'patroni_restapi_user');
    out.authentication = { username: user, password: inputs.secret(user) };
  }
  return out;
}

function etcd3(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): Plain {
  const v = host.vars;
  const out: Plain = {
    hosts: etcdMembers(cluster).map((m) => hostPort(m.ip, num(m.vars, 'etcd_client_port'))),
    protocol: bool(v, 'etcd_ssl_enabled') ? 'https' : 'http',
  };
  if (bool(v, 'etcd_ssl_enabled')) {
    out.cacert = PATRONI_CA;
    // Without RBAC the client certificate is the only thing keeping strangers out of the DCS.
    if (str(v, 'etcd_authentication_mode') !== 'basic') Object.assign(out, { cert: PATRONI_CERT, key: PATRONI_KEY });
  }
  if (str(v, 'etcd_authentication_mode') === 'basic') {
    const user = str(v, 'patroni_etcd_user');
    Object.assign(out, { username: user, password: inputs.secret(user) });
  }
  return out;
}

/**
 * libpq settings for Patroni's own connections to other members (replication, basebackup,
 * pg_rewind) when PostgreSQL speaks TLS: the server must present a certificate from the cluster
 * CA naming the address dialled (node certificates carry their IP). Without them libpq's default
 * `prefer` would send credentials to whoever answers on that address. Local connections over the
 * Unix socket ignore them.
 */
function serverVerification(host: ResolvedHost): Plain {
  return patroniSsl(host) ? { sslmode: 'verify-full', sslrootcert: PATRONI_CA } : {};
}

function postgresql(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): Plain {
  const v = host.vars;
  const port = num(v, 'postgres_port');
  const user = (key: string) => {
    const name = str(v, key);
    return { username: name, password: inputs.secret(name), ...serverVerification(host) };
  };
  const parameters: Plain = { unix_socket_directories: PG_SOCKET_DIR };
  if (patroniSsl(host)) {
    Object.assign(parameters, { ssl: 'on', ssl_cert_file: PATRONI_CERT, ssl_key_file: PATRONI_KEY, ssl_ca_file: PATRONI_CA });
  }
  const hba = pgHba(cluster, host);
  return {
    listen: `${optStr(v, 'postgres_listen_addresses') ?? `${host.ip},127.0.0.1`}:${port}`,
    connect_address: hostPort(host.ip, port),
    data_dir: str(v, 'postgres_data_dir'),
    bin_dir: str(v, 'postgres_bin_dir'),
    pgpass: `/var/lib/postgresql/.pgpass_patroni_${cluster.name}`,
    use_unix_socket: true,
    authentication: {
      superuser: user('patroni_super_user'),
      replication: user('patroni_replication_user'),
    },
    parameters,
    pg_hba: hba,
    // pg_basebackup's default spread checkpoint makes every new replica (deploy, reinit) wait
    // for the primary to pace a checkpoint out over checkpoint_completion_target: 1 s on an idle
    // primary, minutes on a busy one. As Patroni's own documentation and autobase do, ask for
    // an immediate one; patroni_conf_settings can add max-rate, or null it back to spread.
    basebackup: { checkpoint: 'fast' },
  };
}

/** The generated base of docs/architecture.md#variables-and-layers, before feature blocks. */
function base(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): Plain {
  const v = host.vars;
  const pg = postgresql(cluster, host, inputs);
  const out: Plain = {
    scope: cluster.name,
    namespace: str(v, 'patroni_dcs_namespace'),
    name: host.name,
    restapi: restApi(cluster, host, inputs),
  };
  const c = ctl(host, inputs);
  if (c) out.ctl = c;
  Object.assign(out, {
    etcd3: etcd3(cluster, host, inputs),
    bootstrap: {
      dcs: {},
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums'],
      // Patroni 3.0.2's --validate-config insists on it; at runtime postgresql.pg_hba wins.
      pg_hba: pg.pg_hba,
    },
    postgresql: pg,
    watchdog: {},
    // replicatefrom: TPA's `upstream`, a cascading replica. Patroni ignores it while the member
    // leads, and falls back to the leader while the named member is not running.
    tags: {
      nofailover: false,
      noloadbalance: false,
      clonefrom: false,
      nosync: false,
      ...(host.upstream === undefined ? {} : { replicatefrom: host.upstream }),
    },
    log: { level: 'INFO' },
  });
  return out;
}

/** The feature blocks of docs/architecture.md#variables-and-layers that are not already part of the base. */
function features(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): Plain {
  const v = host.vars;
  const out: Plain = {};
  if (bool(v, 'patroni_rewind_enabled')) {
    const name = str(v, 'patroni_rewind_user');
    out.postgresql = {
      use_pg_rewind: true,
      authentication: { rewind: { username: name, password: inputs.secret(name), ...serverVerification(host) } },
    };
  }
  // Patroni's default is `automatic`, which warns on every start where there is no watchdog.
  out.watchdog = bool(v, 'patroni_watchdog_enabled') ? { mode: 'required', device: '/dev/watchdog', safety_margin: 5 } : { mode: 'off' };
  if (hasRole(host, 'pgbouncer')) {
    out.postgresql = deepMerge(out.postgresql ?? {}, { callbacks: { on_role_change: PGBOUNCER_FOLLOW_SCRIPT } });
  }
  return deepMerge(out, replicaFromRepository(v, cluster.name)) as Plain;
}

/**
 * The whole document. `bootstrap.dcs` is desiredDcs() (which already merged
 * patroni_conf_settings.bootstrap.dcs under patroni_dynamic_conf_settings), so that subtree is
 * not merged a second time: it would override the dynamic settings.
 */
export function patroniDocument(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): Plain {
  const settings = structuredClone(plain(host.vars.patroni_conf_settings));
  const bootstrap = plain(settings.bootstrap);
  if ('dcs' in bootstrap) {
    delete bootstrap.dcs;
  }
  let doc = deepMerge(base(cluster, host, inputs), features(cluster, host, inputs)) as Plain;
  doc = deepMerge(doc, settings) as Plain;
  const stripped = stripNulls(doc);
  if (isPlainObject(stripped.bootstrap)) {
    stripped.bootstrap.dcs = stripNulls(desiredDcs(host.vars, cluster.name));
    // The validator-only copy mirrors the real rules unless the user set it on purpose.
    const pg = stripped.postgresql;
    if (!('pg_hba' in bootstrap) && isPlainObject(pg) && Array.isArray(pg.pg_hba)) stripped.bootstrap.pg_hba = pg.pg_hba;
  }
  return stripped;
}

export function patroniFiles(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): DesiredFile[] {
  const v = host.vars;
  const files: DesiredFile[] = [
    {
      path: PG_CREATECLUSTER_DROP_IN,
      // Installing postgresql-<ver> would otherwise create and start a `main` cluster on the
      // port Patroni's PostgreSQL needs; Patroni creates the only cluster this host runs.
      content: '# Managed by pgha: Patroni creates and runs the only cluster on this host.\ncreate_main_cluster = false\n',
      owner: 'root',
      group: 'root',
      mode: 0o644,
    },
  ];
  if (patroniSsl(host) || bool(v, 'etcd_ssl_enabled')) {
    files.push(...tlsFiles(PATRONI_SSL_DIR, 'postgres', 'postgres', inputs, host));
  }
  files.push({
    path: patroniConfigPath(cluster),
    content: toYaml(patroniDocument(cluster, host, inputs)),
    owner: 'postgres',
    group: 'postgres',
    mode: 0o600,
    masks: [YAML_PASSWORD_LINE],
  });
  files.push({
    path: `/etc/systemd/system/${patroniUnit(cluster)}.d/pgha.conf`,
    content: patroniDropIn(host),
    owner: 'root',
    group: 'root',
    mode: 0o644,
  });
  return files;
}

/**
 * Debian's unit says Restart=no so a crashed database can be inspected; but with KillMode=process
 * a crashed Patroni leaves PostgreSQL running unmanaged (no failover, no leader key renewal), and a
 * restarted Patroni simply adopts it again. Stopping needs longer than Debian's 30 s: Patroni
 * stops PostgreSQL with a checkpoint first.
 */
function patroniDropIn(host: ResolvedHost): string {
  const lines = [
    '# Managed by pgha: changes here are overwritten by `pgha deploy`.',
    '[Service]',
    'Restart=on-failure',
    'RestartSec=5s',
    'TimeoutStopSec=300s',
  ];
  if (bool(host.vars, 'patroni_watchdog_enabled')) {
    // `+`: as root although the service runs as postgres; `-`: Patroni reports a missing watchdog itself.
    lines.push('ExecStartPre=-+/sbin/modprobe softdog', 'ExecStartPre=-+/bin/chown postgres /dev/watchdog');
  }
  return `${lines.join('\n')}\n`;
}
