/**
 * PgBouncer on `pgbouncer` role data nodes: pgbouncer.ini from a model (pgbouncer_conf_settings
 * merged over, nulls negate), the `[databases]` section in an included file that the follower
 * rewrites when the leader moves, the auth user's userlist, and the follower itself.
 *
 * Model shape (also the shape of pgbouncer_conf_settings): { <section>: { <key>: value } },
 * sections `pgbouncer` and `users`; an empty or null section is not written.
 */
import type { Plain } from '../../model/merge.js';
import { isPlainObject } from '../../model/merge.js';
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { bool, dataNodes, hostPort, layered, leaderHost, num, str, type RenderOptions } from '../common.js';
import {
  PATRONI_CA,
  PATRONI_CERT,
  PATRONI_KEY,
  PG_SOCKET_DIR,
  PGBOUNCER_DATABASES,
  PGBOUNCER_FOLLOW_CONFIG,
  PGBOUNCER_FOLLOW_SCRIPT,
  PGBOUNCER_FOLLOW_UNIT,
  PGBOUNCER_INI,
  PGBOUNCER_PIDFILE,
  PGBOUNCER_USERLIST,
} from '../paths.js';
import { PGBOUNCER_EXPORTER_USER, runsPgbouncerExporter } from '../monitoring/topology.js';
import { FOLLOW_SCRIPT } from './follow.js';

/** Where PgBouncer reads its HBA rules, written only on a host that runs pgbouncer_exporter. */
export const PGBOUNCER_HBA = '/etc/pgbouncer/pgha_hba.conf';

/**
 * A SCRAM secret no password matches (its keys are zeros: a password would need a SHA-256
 * preimage of them), for the exporter's userlist line: PgBouncer only admits a user it finds
 * in auth_file, and the HBA file admits this one by peer and never by password.
 */
export const LOCKED_SCRAM_SECRET = `SCRAM-SHA-256$4096:${'A'.repeat(22)}==$${'A'.repeat(43)}=:${'A'.repeat(43)}=`;

/**
 * PgBouncer's HBA rules where pgbouncer_exporter runs (auth_type hba): the exporter's stats user
 * is admitted on the Unix socket to the console alone, by peer (its system user's name), and
 * refused everywhere else; every other user authenticates exactly as with auth_type
 * scram-sha-256, over the socket and over TCP alike.
 */
export function pgbouncerHba(): string {
  const u = PGBOUNCER_EXPORTER_USER;
  return [
    '# Managed by pgha: changes here are overwritten by `pgha deploy`.',
    '# pgbouncer_exporter reads the console as a stats user, by peer on the Unix socket only.',
    `local pgbouncer ${u} peer`,
    `local all ${u} reject`,
    `host all ${u} 0.0.0.0/0 reject`,
    `host all ${u} ::/0 reject`,
    '# Everyone else: as auth_type = scram-sha-256 (auth_file, then auth_query).',
    'local all all scram-sha-256',
    'host all all 0.0.0.0/0 scram-sha-256',
    'host all all ::/0 scram-sha-256',
    '',
  ].join('\n');
}

/** The function auth_query calls; deploy creates it (pgbouncerAuthSql) in every database. */
export const PGBOUNCER_AUTH_QUERY = 'SELECT usename, passwd FROM pgbouncer.get_auth($1)';

/**
 * SQL that lets the auth user look up passwords without reading pg_shadow itself. PgBouncer 1.18
 * runs auth_query in the database the client asked for, so this belongs in template1 (new
 * databases) and in every existing database.
 */
export function pgbouncerAuthSql(vars: Record<string, unknown>): string[] {
  const user = `"${str(vars, 'pgbouncer_auth_user').replace(/"/g, '""')}"`;
  return [
    'CREATE SCHEMA IF NOT EXISTS pgbouncer',
    `CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text) RETURNS TABLE(usename name, passwd text)
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename OPERATOR(pg_catalog.=) p_usename $$`,
    'REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC',
    `GRANT USAGE ON SCHEMA pgbouncer TO ${user}`,
    `GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO ${user}`,
  ];
}

const DATABASES_HEADER = '; Managed by pgha: rewritten by pgbouncer-follow whenever the Patroni leader moves.\n';

/** The follower fills `{host}`/`{port}`; the same template renders the initial file here. */
function databasesTemplate(): string {
  return `${DATABASES_HEADER}[databases]\n* = host={host} port={port}\n`;
}

export function databasesIni(ip: string, port: number): string {
  return databasesTemplate().replace('{host}', ip).replace('{port}', String(port));
}

export function pgbouncerModel(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  const v = host.vars;
  const pgbouncer: Plain = {
    listen_addr: `${host.ip},127.0.0.1`,
    listen_port: num(v, 'pgbouncer_port'),
    unix_socket_dir: PG_SOCKET_DIR,
    pidfile: PGBOUNCER_PIDFILE,
    auth_type: 'scram-sha-256',
    auth_file: PGBOUNCER_USERLIST,
    auth_user: str(v, 'pgbouncer_auth_user'),
    auth_query: PGBOUNCER_AUTH_QUERY,
    admin_users: str(v, 'patroni_super_user'),
    stats_users: str(v, 'patroni_super_user'),
    pool_mode: 'session',
    max_client_conn: 1000,
    default_pool_size: 20,
    ignore_startup_parameters: 'extra_float_digits',
    // A login to the old leader fails while it demotes; PgBouncer then refuses every client for
    // server_login_retry (15 s by default) even after the follower has pointed it at the new
    // leader. One second keeps a switchover's cut on that host as short as on the others.
    server_login_retry: 1,
  };
  // pgbouncer_exporter (monitoring, Debian 13): a stats user admitted by peer on the socket.
  if (runsPgbouncerExporter(cluster, host)) {
    Object.assign(pgbouncer, {
      auth_type: 'hba',
      auth_hba_file: PGBOUNCER_HBA,
      stats_users: [str(v, 'patroni_super_user'), PGBOUNCER_EXPORTER_USER],
    });
  }
  if (bool(v, 'patroni_ssl_enabled')) {
    Object.assign(pgbouncer, {
      client_tls_sslmode: 'require',
      // Patroni's copies: PgBouncer runs as postgres too, so one copy of the key is enough.
      client_tls_cert_file: PATRONI_CERT,
      client_tls_key_file: PATRONI_KEY,
      client_tls_ca_file: PATRONI_CA,
      // PostgreSQL only accepts TCP over TLS (hostssl); node certificates carry the IP as SAN.
      server_tls_sslmode: 'verify-full',
      server_tls_ca_file: PATRONI_CA,
    });
  }
  return { pgbouncer, users: {} };
}

export function pgbouncerDocument(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  return layered(pgbouncerModel(cluster, host), host.vars.pgbouncer_conf_settings);
}

export interface PgbouncerView {
  sections: { name: string; settings: { key: string; value: string }[] }[];
  include: string;
}

export function pgbouncerView(doc: Plain): PgbouncerView {
  const sections: PgbouncerView['sections'] = [];
  for (const [name, s] of Object.entries(doc)) {
    if (!isPlainObject(s)) continue;
    const settings = Object.entries(s)
      .filter(([, val]) => val !== null && val !== undefined && !isPlainObject(val))
      .map(([key, val]) => ({ key, value: Array.isArray(val) ? val.map(String).join(',') : String(val) }));
    if (settings.length) sections.push({ name, settings });
  }
  return { sections, include: PGBOUNCER_DATABASES };
}

/** What the follower needs to know about this host, as data (the script is fixed text). */
export function followConfig(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  const v = host.vars;
  const ssl = bool(v, 'patroni_ssl_enabled');
  const api = (h: ResolvedHost) => `${ssl ? 'https' : 'http'}://${hostPort(h.ip, num(h.vars, 'patroni_listen_port'))}`;
  // Patroni's API listens on the member's address only, so "local" is this host's own address.
  const members = dataNodes(cluster);
  const ordered = [...members.filter((h) => h.name === host.name), ...members.filter((h) => h.name !== host.name)];
  const cfg: Plain = {
    apis: ordered.map(api),
    databases_file: PGBOUNCER_DATABASES,
    databases_template: databasesTemplate(),
    default_port: num(v, 'postgres_port'),
    // The only targets the follower writes (see ./follow.ts): each data node's PostgreSQL.
    allowed_targets: members.map((h) => ({ host: h.ip, port: num(h.vars, 'postgres_port') })),
    pidfile: PGBOUNCER_PIDFILE,
    lockfile: `${PG_SOCKET_DIR}/pgha-pgbouncer-follow.lock`,
    interval: 2,
    timeout: 2,
    callback_wait: 30,
  };
  if (ssl) {
    cfg.cafile = PATRONI_CA;
    // verify_client: required refuses even GETs without a certificate.
    if (str(v, 'patroni_authentication_mode') === 'mtls') Object.assign(cfg, { certfile: PATRONI_CERT, keyfile: PATRONI_KEY });
  }
  return cfg;
}

const FOLLOW_UNIT = `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
[Unit]
Description=pgha: point PgBouncer at the Patroni leader
After=network-online.target pgbouncer.service
Wants=network-online.target

[Service]
Type=simple
User=postgres
Group=postgres
ExecStart=/usr/bin/python3 ${PGBOUNCER_FOLLOW_SCRIPT} --watch
Restart=always
RestartSec=2s

[Install]
WantedBy=multi-user.target
`;

/** Debian's pgbouncer.service never restarts; a pooler that stays down is an outage. */
const PGBOUNCER_DROP_IN = `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
[Service]
Restart=on-failure
RestartSec=2s
`;

function userlistLine(user: string, password: string): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `${q(user)} ${q(password)}\n`;
}

export function pgbouncerFiles(
  cluster: ResolvedCluster,
  host: ResolvedHost,
  inputs: RenderInputs,
  render: (view: PgbouncerView) => string,
  opts: RenderOptions = {},
): DesiredFile[] {
  const v = host.vars;
  const files: DesiredFile[] = [];
  const target = leaderHost(cluster, opts);
  if (!target) throw new Error('a pgbouncer host needs a data node to point at');
  const authUser = str(v, 'pgbouncer_auth_user');
  const exporter = runsPgbouncerExporter(cluster, host);
  const userlist =
    userlistLine(authUser, inputs.secret(authUser)) + (exporter ? userlistLine(PGBOUNCER_EXPORTER_USER, LOCKED_SCRAM_SECRET) : '');
  files.push(
    {
      path: PGBOUNCER_INI,
      content: render(pgbouncerView(pgbouncerDocument(cluster, host))),
      owner: 'root',
      group: 'postgres',
      mode: 0o640,
    },
    {
      path: PGBOUNCER_DATABASES,
      content: databasesIni(target.ip, num(target.vars, 'postgres_port')),
      owner: 'postgres',
      group: 'postgres',
      mode: 0o640,
    },
    {
      path: PGBOUNCER_USERLIST,
      content: userlist,
      owner: 'postgres',
      group: 'postgres',
      mode: 0o600,
      // "user" "password": the second field, whatever it holds, is the secret.
      masks: [{ pattern: /^("(?:[^"\n]|"")*"\s+)"(?:[^"\n]|"")*"$/gm, replace: '$1"********"' }],
    },
    ...(exporter ? [{ path: PGBOUNCER_HBA, content: pgbouncerHba(), owner: 'root', group: 'postgres', mode: 0o640 }] : []),
    { path: PGBOUNCER_FOLLOW_SCRIPT, content: FOLLOW_SCRIPT, owner: 'root', group: 'root', mode: 0o755 },
    {
      path: PGBOUNCER_FOLLOW_CONFIG,
      content: `${JSON.stringify(followConfig(cluster, host), null, 2)}\n`,
      owner: 'root',
      group: 'root',
      mode: 0o644,
    },
    { path: `/etc/systemd/system/${PGBOUNCER_FOLLOW_UNIT}`, content: FOLLOW_UNIT, owner: 'root', group: 'root', mode: 0o644 },
    {
      path: '/etc/systemd/system/pgbouncer.service.d/pgha.conf',
      content: PGBOUNCER_DROP_IN,
      owner: 'root',
      group: 'root',
      mode: 0o644,
    },
  );
  return files;
}
