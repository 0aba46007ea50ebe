/**
 * pgBackRest's configuration on the repository host and on the data nodes it backs up
 * (docs/architecture.md#variables-and-layers): a generated model ← pgbackrest_conf_settings
 * (cluster_vars then instance vars; a null deletes a default) → nulls removed → an ini file.
 *
 * Model shape (also the shape of pgbackrest_conf_settings), in pgBackRest's own words:
 * { <section>: { <option>: value } }, sections `global` and the stanza (the cluster's name).
 * `true`/`false` print as y/n, a list repeats the option (as `tls-server-auth` needs).
 *
 * Transport is pgBackRest's TLS server on every host, with the node certificates of the cluster
 * CA: no SSH trust between postgres users. Each server admits only the clients it needs, by the
 * certificate's common name (the host name): a data node admits its repository host, the
 * repository host admits the data nodes it backs up.
 *
 * Hosts dial each other by instance name, not address: pgBackRest matches the name it dialled
 * against the server certificate's DNS names only (an IP address SAN is never compared), and
 * node certificates carry the instance name as one. The names must resolve on every host
 * (nspawn writes them into /etc/hosts; on bare hosts, DNS or /etc/hosts must have them).
 */
import { isPlainObject, type Plain } from '../../model/merge.js';
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { hasRole, layered, num, str, tlsFiles } from '../common.js';
import { PG_SOCKET_DIR } from '../paths.js';
import { backedUpBy, backupHostOf, stanzaOf } from './topology.js';

export const PGBACKREST_CONF_DIR = '/etc/pgbackrest';
/** pgBackRest's default configuration file: no `--config` needed on any command line. */
export const PGBACKREST_CONF = `${PGBACKREST_CONF_DIR}/pgbackrest.conf`;
export const PGBACKREST_SSL_DIR = `${PGBACKREST_CONF_DIR}/ssl`;
const CA = `${PGBACKREST_SSL_DIR}/ca.crt`;
const CERT = `${PGBACKREST_SSL_DIR}/node.crt`;
const KEY = `${PGBACKREST_SSL_DIR}/node.key`;

/**
 * What a DBA would choose, on both ends: zstd (both Debian builds, 2.45 and 2.55.1, link
 * libzstd), two processes, logs at info on the console and detail in the file.
 */
function commonGlobal(): Plain {
  return { 'compress-type': 'zst', 'process-max': 2, 'log-level-console': 'info', 'log-level-file': 'detail' };
}

/**
 * The repository's own choices, kept on the repository host only (a data node's copy could
 * disagree with it): two full backups kept (with the WAL they need), a backup that starts at once
 * rather than at the next checkpoint, and, where the stanza has a replica, backups read from it
 * rather than the leader. A stanza of one data node has no standby to read from, and pgBackRest
 * 2.45 (no `prefer` value yet) fails every backup-standby backup there, so it is left out.
 */
function repositoryGlobal(dataNodes: number): Plain {
  return {
    'repo1-path': '/var/lib/pgbackrest',
    'repo1-retention-full': 2,
    'start-fast': true,
    ...(dataNodes > 1 ? { 'backup-standby': true } : {}),
  };
}

/** This host's own TLS server: its address and port, its node certificate, the clients it admits. */
function tlsServer(host: ResolvedHost, clients: ResolvedHost[], stanza: string): Plain {
  return {
    'tls-server-address': host.ip,
    'tls-server-port': num(host.vars, 'pgbackrest_port'),
    'tls-server-cert-file': CERT,
    'tls-server-key-file': KEY,
    'tls-server-ca-file': CA,
    'tls-server-auth': clients.map((c) => `${c.name}=${stanza}`),
  };
}

/** The repository host: the repository itself, and every data node it backs up as pgN-host over TLS. */
function repositoryModel(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  const stanza = stanzaOf(cluster);
  const nodes = backedUpBy(cluster, host);
  const section: Plain = {};
  nodes.forEach((node, i) => {
    const pg = `pg${i + 1}`;
    Object.assign(section, {
      [`${pg}-host`]: node.name,
      [`${pg}-host-type`]: 'tls',
      [`${pg}-host-port`]: num(node.vars, 'pgbackrest_port'),
      [`${pg}-host-cert-file`]: CERT,
      [`${pg}-host-key-file`]: KEY,
      [`${pg}-host-ca-file`]: CA,
      [`${pg}-path`]: str(node.vars, 'postgres_data_dir'),
      [`${pg}-port`]: num(node.vars, 'postgres_port'),
    });
  });
  return { global: { ...repositoryGlobal(nodes.length), ...commonGlobal(), ...tlsServer(host, nodes, stanza) }, [stanza]: section };
}

/**
 * A data node: the repository is remote (repo1-host over TLS); WAL is pushed asynchronously
 * through a local spool, so archive_command returns quickly and a repository host that is down
 * only fills the spool until it is back.
 */
function dataNodeModel(cluster: ResolvedCluster, host: ResolvedHost, repo: ResolvedHost): Plain {
  const stanza = stanzaOf(cluster);
  return {
    global: {
      ...commonGlobal(),
      'repo1-host': repo.name,
      'repo1-host-type': 'tls',
      'repo1-host-port': num(repo.vars, 'pgbackrest_port'),
      'repo1-host-cert-file': CERT,
      'repo1-host-key-file': KEY,
      'repo1-host-ca-file': CA,
      'archive-async': true,
      'spool-path': '/var/spool/pgbackrest',
      ...tlsServer(host, [repo], stanza),
    },
    [stanza]: {
      'pg1-path': str(host.vars, 'postgres_data_dir'),
      'pg1-port': num(host.vars, 'postgres_port'),
      'pg1-socket-path': PG_SOCKET_DIR,
    },
  };
}

/** The generated model of the host's pgbackrest.conf, before the user's settings. */
export function pgbackrestModel(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  if (hasRole(host, 'pgbackrest')) return repositoryModel(cluster, host);
  const repo = backupHostOf(cluster, host);
  if (!repo) throw new Error(`${host.name} runs pgBackRest without a repository host (its backup names none): this is a bug`);
  return dataNodeModel(cluster, host, repo);
}

/** The model with pgbackrest_conf_settings merged over it and every null removed. */
export function pgbackrestDocument(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  return layered(pgbackrestModel(cluster, host), host.vars.pgbackrest_conf_settings);
}

function iniValue(v: unknown): string {
  if (v === true) return 'y';
  if (v === false) return 'n';
  return String(v);
}

/** The document as pgBackRest's ini: one `[section]` per map, a list as the option repeated. */
export function pgbackrestIni(doc: Plain): string {
  const out = [
    '# Managed by pgha: changes here are overwritten by `pgha deploy`.',
    '# Set pgbackrest_conf_settings in config.yml instead.',
  ];
  for (const [name, section] of Object.entries(doc)) {
    if (!isPlainObject(section)) continue;
    const lines: string[] = [];
    for (const [key, value] of Object.entries(section)) {
      if (value === null || value === undefined || isPlainObject(value)) continue;
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${key}=${iniValue(v)}`);
    }
    if (lines.length) out.push('', `[${name}]`, ...lines);
  }
  return `${out.join('\n')}\n`;
}

/** A directory option of the final document, when it names an absolute path. */
function dirOption(doc: Plain, option: string, fallback?: string): string[] {
  const v = isPlainObject(doc.global) ? doc.global[option] : undefined;
  const dir = typeof v === 'string' ? v : fallback;
  return dir !== undefined && dir.startsWith('/') ? [dir] : [];
}

/** A data node's archive spool (spool-path), when its final pgbackrest.conf names one. */
export function spoolPathOf(cluster: ResolvedCluster, host: ResolvedHost): string | undefined {
  return dirOption(pgbackrestDocument(cluster, host), 'spool-path')[0];
}

/**
 * The directories pgBackRest writes, owned by postgres (it runs as postgres: the server and
 * PostgreSQL's archive_command alike), created by the server unit before it starts.
 */
export function pgbackrestDirs(cluster: ResolvedCluster, host: ResolvedHost): string[] {
  const doc = pgbackrestDocument(cluster, host);
  const dirs = [...dirOption(doc, 'log-path', '/var/log/pgbackrest')];
  if (hasRole(host, 'pgbackrest')) dirs.push(...dirOption(doc, 'repo1-path'));
  else dirs.push(...dirOption(doc, 'spool-path'));
  return dirs;
}

export function pgbackrestConfFiles(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs): DesiredFile[] {
  return [
    ...tlsFiles(PGBACKREST_SSL_DIR, 'postgres', 'postgres', inputs, host),
    {
      path: PGBACKREST_CONF,
      content: pgbackrestIni(pgbackrestDocument(cluster, host)),
      owner: 'root',
      group: 'postgres',
      mode: 0o640,
    },
  ];
}
