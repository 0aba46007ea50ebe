/**
 * HAProxy on `haproxy` role hosts: a structured model of haproxy.cfg that haproxy_conf_settings
 * is merged over (nulls negate), flattened into lines for a logic-free template.
 *
 * Model shape (also the shape of haproxy_conf_settings):
 *   global / defaults:   { "<directive>": value }       e.g. { "timeout client": "30m" }
 *   default_server:      { "<server option>": value }   e.g. { inter: "3s", fall: 3, rise: 2 }
 *   frontends.<name>:    { "<directive>": value }
 *   listens.<name>:      { "<directive>": value }        (pgha_stats with TLS: see HAPROXY_STATS_LISTEN)
 *   backends.<name>:     { "<directive>": value, servers: { <name>: { address, <option>: value } } }
 * A value `true` prints the keyword alone, `false` or `null` omits it, a list repeats the
 * directive once per item, anything else prints `keyword value`. Keys keep their order, which
 * matters for `http-check` rules.
 */
import type { Plain } from '../../model/merge.js';
import { isPlainObject } from '../../model/merge.js';
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { bool, dataNodes, hostPort, layered, nodePem, num, optStr, str, tlsFiles, withNewline } from '../common.js';
import { isMonitored } from '../monitoring/topology.js';
import { HAPROXY_SERVER_STATE_FILE, serverStateFiles } from './server-state.js';
import { HAPROXY_ADMIN_SOCKET, HAPROXY_CA, HAPROXY_CLIENT_PEM, HAPROXY_CONFIG, HAPROXY_SSL_DIR } from '../paths.js';

export const HAPROXY_RW_BACKEND = 'pgha_rw';
export const HAPROXY_RO_BACKEND = 'pgha_ro';
/** Reads from synchronous standbys only (Patroni's /sync health endpoint), when haproxy_sync_read_port is set. */
export const HAPROXY_SYNC_BACKEND = 'pgha_sync';

/**
 * HAProxy's read-only stats page, for `pgha status` to read server states straight from the
 * controller (an HTTPS request instead of an SSH session to the proxy host). It exists only with
 * TLS (patroni_ssl_enabled), and asks every client for a certificate issued by the cluster CA
 * (`verify required`): without one the TLS handshake fails before any HTTP is spoken. It shows
 * states and counters, never changes them (no `stats admin`). Remove it with
 * `haproxy_conf_settings: {listens: {pgha_stats: null}}`; status then reads the admin socket over SSH.
 */
export const HAPROXY_STATS_LISTEN = 'pgha_stats';
export const HAPROXY_STATS_PORT = 8404;
export const HAPROXY_STATS_PATH = '/stats';
/** The proxy host's own certificate and key in one file, as `bind … ssl crt` wants them. */
export const HAPROXY_NODE_PEM = `${HAPROXY_SSL_DIR}/node.pem`;

/**
 * Checks every 500 ms, and 250 ms while a server is changing state: a demoted primary answers 503
 * on /primary and is marked down after 2 failures (~0.75 s), killing its sessions; the new primary
 * is up after 1 success (≤0.5 s). Two checks a second per server is nothing for Patroni's API.
 * `shutdown-backup-sessions` only acts if a user adds backup servers, then it moves their clients
 * back to the real primary.
 */
export const HAPROXY_DEFAULT_SERVER: Readonly<Plain> = Object.freeze({
  inter: '500ms',
  fastinter: '250ms',
  downinter: '500ms',
  fall: 2,
  rise: 1,
  'on-marked-down': 'shutdown-sessions',
  'on-marked-up': 'shutdown-backup-sessions',
});

/** What the server lines of a data node need, from that node's own vars (instance overrides). */
function serverEntry(target: ResolvedHost): Plain {
  const v = target.vars;
  const entry: Plain = {
    address: hostPort(target.ip, num(v, 'postgres_port')),
    check: true,
    port: num(v, 'patroni_listen_port'),
  };
  if (bool(v, 'patroni_ssl_enabled')) {
    Object.assign(entry, { 'check-ssl': true, verify: 'required', 'ca-file': HAPROXY_CA, verifyhost: target.name });
    if (str(v, 'patroni_authentication_mode') === 'mtls') entry.crt = HAPROXY_CLIENT_PEM;
  }
  return entry;
}

function servers(cluster: ResolvedCluster): Plain {
  return Object.fromEntries(dataNodes(cluster).map((h) => [h.name, serverEntry(h)]));
}

export function haproxyModel(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  const v = host.vars;
  const model: Plain = {
    global: {
      log: ['/dev/log local0', '/dev/log local1 notice'],
      chroot: '/var/lib/haproxy',
      'stats socket': `${HAPROXY_ADMIN_SOCKET} mode 660 level admin`,
      'stats timeout': '30s',
      // What the old process knew of each server's health, saved by ./server-state.ts's reload.
      'server-state-file': HAPROXY_SERVER_STATE_FILE,
      user: 'haproxy',
      group: 'haproxy',
      maxconn: 4096,
      'ssl-server-verify': 'required',
    },
    defaults: {
      mode: 'tcp',
      log: 'global',
      'option tcplog': true,
      'option dontlognull': true,
      retries: 2,
      'load-server-state-from-file': 'global',
      'timeout connect': '4s',
      // Database sessions idle for long stretches; a short timeout would cut pooled connections.
      'timeout client': '30m',
      'timeout server': '30m',
      // A demoted primary answers 503 at once and a dead one fails to connect within `inter`;
      // only a stalled API waits this long, and marking a primary down kills its sessions, so a
      // short stall must not look like a failure.
      'timeout check': '2s',
    },
    default_server: { ...HAPROXY_DEFAULT_SERVER },
    frontends: {
      [HAPROXY_RW_BACKEND]: { bind: `*:${num(v, 'haproxy_port')}`, default_backend: HAPROXY_RW_BACKEND },
    },
    backends: {
      [HAPROXY_RW_BACKEND]: {
        'option httpchk': true,
        // OPTIONS, not GET: Patroni answers it with the status line alone. A GET's JSON body is
        // written after HAProxy already has its status and hung up, and Patroni logs a ~30-line
        // traceback (SSLEOFError / BrokenPipe) for it: several a minute per proxy.
        'http-check send': 'meth OPTIONS uri /primary',
        'http-check expect': 'status 200',
        servers: servers(cluster),
      },
    },
  };
  if (bool(v, 'haproxy_read_only_load_balancer_enabled')) {
    const lag = optStr(v, 'patroni_repl_max_lag');
    (model.frontends as Plain)[HAPROXY_RO_BACKEND] = {
      bind: `*:${num(v, 'haproxy_read_only_port')}`,
      default_backend: HAPROXY_RO_BACKEND,
    };
    (model.backends as Plain)[HAPROXY_RO_BACKEND] = {
      balance: 'roundrobin',
      'option httpchk': true,
      'http-check send': `meth OPTIONS uri /replica${lag === undefined ? '' : `?lag=${lag}`}`,
      'http-check expect': 'status 200',
      servers: servers(cluster),
    };
  }
  const syncPort = v.haproxy_sync_read_port;
  if (typeof syncPort === 'number') {
    // Patroni answers 200 on /sync only on a synchronous standby: with synchronous replication
    // off no server is up and the frontend refuses connections, which the config rules warn about.
    (model.frontends as Plain)[HAPROXY_SYNC_BACKEND] = { bind: `*:${syncPort}`, default_backend: HAPROXY_SYNC_BACKEND };
    (model.backends as Plain)[HAPROXY_SYNC_BACKEND] = {
      balance: 'roundrobin',
      'option httpchk': true,
      'http-check send': 'meth OPTIONS uri /sync',
      'http-check expect': 'status 200',
      servers: servers(cluster),
    };
  }
  if (statsListenerEnabled(cluster)) {
    model.listens = {
      [HAPROXY_STATS_LISTEN]: {
        bind: `*:${HAPROXY_STATS_PORT} ssl crt ${HAPROXY_NODE_PEM} ca-file ${HAPROXY_CA} verify required`,
        mode: 'http',
        'option dontlog-normal': true,
        'timeout client': '10s',
        'stats enable': true,
        'stats uri': HAPROXY_STATS_PATH,
        // Fills the CSV's addr column, which status shows; only CA-verified clients see it.
        'stats show-legends': true,
        // HAProxy's built-in Prometheus exporter, for the monitoring host's Prometheus (which
        // presents its node certificate like any client here). Only in a monitored cluster.
        ...(isMonitored(cluster) ? { 'http-request use-service prometheus-exporter if { path /metrics }': true } : {}),
      },
    };
  }
  return model;
}

/** The stats listener needs the cluster CA and a node certificate on the proxy: TLS mode only. */
export function statsListenerEnabled(cluster: ResolvedCluster): boolean {
  return dataNodes(cluster).some((h) => bool(h.vars, 'patroni_ssl_enabled'));
}

/**
 * Where `pgha status` finds the stats page of a proxy host: the port of the final
 * (haproxy_conf_settings applied) `listen pgha_stats` bind line, or undefined when there is none.
 */
export function statsEndpoint(cluster: ResolvedCluster, host: ResolvedHost): { port: number; path: string } | undefined {
  if (!statsListenerEnabled(cluster)) return undefined;
  const doc = haproxyDocument(cluster, host);
  const listen = isPlainObject(doc.listens) ? doc.listens[HAPROXY_STATS_LISTEN] : undefined;
  if (!isPlainObject(listen) || typeof listen.bind !== 'string') return undefined;
  const m = /^\S*:(\d+)\s.*\bssl\b.*\bverify required\b/.exec(listen.bind);
  if (!m) return undefined;
  const uri = typeof listen['stats uri'] === 'string' ? listen['stats uri'] : HAPROXY_STATS_PATH;
  return { port: Number(m[1]), path: uri };
}

/** One TCP port HAProxy listens on, and the section whose `bind` line opens it. */
export interface HaproxyListener {
  /** `frontends` or `listens`. */
  kind: string;
  section: string;
  port: number;
}

/**
 * Every port the final HAProxy configuration binds (frontends and listens, after
 * haproxy_conf_settings), so that config validation can refuse two services on one port:
 * HAProxy itself starts with both and answers each connection from either, at random.
 */
export function haproxyListeners(cluster: ResolvedCluster, host: ResolvedHost): HaproxyListener[] {
  const doc = haproxyDocument(cluster, host);
  const out: HaproxyListener[] = [];
  for (const kind of ['frontends', 'listens']) {
    const sections = doc[kind];
    if (!isPlainObject(sections)) continue;
    for (const [section, body] of Object.entries(sections)) {
      const binds = isPlainObject(body) ? body.bind : undefined;
      for (const bind of Array.isArray(binds) ? binds : [binds]) {
        const m = typeof bind === 'string' ? /^\S*:(\d+)(?:\s|$)/.exec(bind) : null;
        if (m) out.push({ kind, section, port: Number(m[1]) });
      }
    }
  }
  return out;
}

export function haproxyDocument(cluster: ResolvedCluster, host: ResolvedHost): Plain {
  return layered(haproxyModel(cluster, host), host.vars.haproxy_conf_settings);
}

function words(options: Plain): string[] {
  const out: string[] = [];
  for (const [k, val] of Object.entries(options)) {
    if (val === false || val === null || val === undefined) continue;
    out.push(val === true ? k : `${k} ${String(val)}`);
  }
  return out;
}

function directives(section: unknown): string[] {
  if (!isPlainObject(section)) return [];
  const out: string[] = [];
  for (const [k, val] of Object.entries(section)) {
    if (val === false || val === null || val === undefined || isPlainObject(val)) continue;
    if (Array.isArray(val)) out.push(...val.map((x) => `${k} ${String(x)}`));
    else out.push(val === true ? k : `${k} ${String(val)}`);
  }
  return out;
}

export interface HaproxyView {
  global: string[];
  defaults: string[];
  frontends: { name: string; lines: string[] }[];
  listens: { name: string; lines: string[] }[];
  backends: { name: string; lines: string[]; servers: string[] }[];
}

/** The model flattened into the lines the template prints. */
export function haproxyView(doc: Plain): HaproxyView {
  const defaults = directives(doc.defaults);
  const ds = words(isPlainObject(doc.default_server) ? doc.default_server : {});
  if (ds.length) defaults.push(`default-server ${ds.join(' ')}`);
  const sections = (v: unknown) => Object.entries(isPlainObject(v) ? v : {}).filter(([, s]) => isPlainObject(s)) as [string, Plain][];
  return {
    global: directives(doc.global),
    defaults,
    frontends: sections(doc.frontends).map(([name, s]) => ({ name, lines: directives(s) })),
    listens: sections(doc.listens).map(([name, s]) => ({ name, lines: directives(s) })),
    backends: sections(doc.backends).map(([name, s]) => ({
      name,
      lines: directives(s),
      servers: Object.entries(isPlainObject(s.servers) ? s.servers : {})
        .filter(([, sv]) => isPlainObject(sv))
        .map(([sname, sv]) => {
          const { address, ...opts } = sv as Plain;
          return ['server', sname, String(address), ...words(opts)].join(' ');
        }),
    })),
  };
}

export function haproxyFiles(
  cluster: ResolvedCluster,
  host: ResolvedHost,
  inputs: RenderInputs,
  render: (view: HaproxyView) => string,
): DesiredFile[] {
  const files: DesiredFile[] = [];
  const nodes = dataNodes(cluster);
  if (nodes.some((h) => bool(h.vars, 'patroni_ssl_enabled'))) {
    files.push(...tlsFiles(HAPROXY_SSL_DIR, 'root', 'haproxy', inputs, host, false));
  }
  if (statsListenerEnabled(cluster)) {
    const pem = nodePem(inputs, host);
    files.push({
      path: HAPROXY_NODE_PEM,
      content: withNewline(pem.cert) + withNewline(pem.key),
      // Read by HAProxy as root before it drops privileges, like haproxy.pem.
      owner: 'root',
      group: 'root',
      mode: 0o600,
      sensitive: true,
    });
  }
  if (nodes.some((h) => bool(h.vars, 'patroni_ssl_enabled') && str(h.vars, 'patroni_authentication_mode') === 'mtls')) {
    const client = inputs.pki.clients.haproxy;
    if (!client) throw new Error('mtls mode needs the "haproxy" client certificate in the cluster PKI (this is a bug)');
    // HAProxy loads certificates while parsing its configuration, as root, before it chroots and
    // drops to the haproxy user (and a reload re-executes the root master): nothing running as
    // haproxy ever needs to read the key, so a compromised worker cannot either.
    files.push({
      path: HAPROXY_CLIENT_PEM,
      content: withNewline(client.cert) + withNewline(client.key),
      owner: 'root',
      group: 'root',
      mode: 0o600,
      sensitive: true,
    });
  }
  files.push({
    path: HAPROXY_CONFIG,
    content: render(haproxyView(haproxyDocument(cluster, host))),
    owner: 'root',
    group: 'root',
    mode: 0o644,
  });
  files.push(...serverStateFiles());
  return files;
}
