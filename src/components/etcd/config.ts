/**
 * etcd 3.4 on `etcd` role hosts: a YAML config file (the model, etcd_conf_settings merged over,
 * nulls removed) and a drop-in that makes Debian's etcd.service read only that file.
 */
import type { Plain } from '../../model/merge.js';
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { isPlainObject } from '../../model/merge.js';
import { bool, etcdMembers, hostPort, layered, nodePem, num, str, tlsFiles, withNewline, type RenderOptions } from '../common.js';
import { toYaml } from '../yaml.js';
import { ETCD_CONFIG, ETCD_DEFAULTS, ETCD_DROP_IN, ETCD_SSL_DIR } from '../paths.js';

function scheme(host: ResolvedHost): string {
  return bool(host.vars, 'etcd_ssl_enabled') ? 'https' : 'http';
}

export function etcdPeerUrl(host: ResolvedHost): string {
  return `${scheme(host)}://${hostPort(host.ip, num(host.vars, 'etcd_peer_port'))}`;
}

export function etcdClientUrl(host: ResolvedHost): string {
  return `${scheme(host)}://${hostPort(host.ip, num(host.vars, 'etcd_client_port'))}`;
}

/** Every etcd member's client URL: what etcdctl and health checks use. */
export function etcdEndpoints(cluster: ResolvedCluster): string[] {
  return etcdMembers(cluster).map(etcdClientUrl);
}

/**
 * etcd's peer TLS files when it has its own peer CA (ClusterPki.etcdPeer): the peer port trusts
 * peer-ca.crt alone, and a member presents peer.crt, so a certificate of the cluster CA (any
 * other host's) is no etcd peer. Without one, the node certificate and the cluster CA serve.
 */
const PEER_TLS = {
  'cert-file': `${ETCD_SSL_DIR}/peer.crt`,
  'key-file': `${ETCD_SSL_DIR}/peer.key`,
  'trusted-ca-file': `${ETCD_SSL_DIR}/peer-ca.crt`,
};

export function etcdModel(cluster: ResolvedCluster, host: ResolvedHost, opts: RenderOptions = {}, ownPeerCa = false): Plain {
  const v = host.vars;
  const ssl = bool(v, 'etcd_ssl_enabled');
  const clientPort = num(v, 'etcd_client_port');
  const model: Plain = {
    name: host.name,
    'data-dir': str(v, 'etcd_data_dir'),
    'listen-peer-urls': etcdPeerUrl(host),
    // Loopback too, so etcdctl on the host works without knowing the address.
    'listen-client-urls': [etcdClientUrl(host), `${scheme(host)}://127.0.0.1:${clientPort}`].join(','),
    'initial-advertise-peer-urls': etcdPeerUrl(host),
    'advertise-client-urls': etcdClientUrl(host),
    'initial-cluster': etcdMembers(cluster)
      .map((m) => `${m.name}=${etcdPeerUrl(m)}`)
      .join(','),
    'initial-cluster-token': `pgha-${cluster.name}`,
    // `existing` for a member joining a running etcd (deploy added it first; membership.ts): it
    // joins the members there are instead of forming a cluster of its own.
    'initial-cluster-state': opts.etcdJoining?.includes(host.name) ? 'existing' : 'new',
    // Patroni 3.0.2 fails against etcd's jwt tokens; simple tokens are what it was tested with.
    'auth-token': 'simple',
    'enable-v2': false,
    // Patroni's etcd3 client speaks JSON to the gRPC gateway, which etcd 3.4 leaves off when it
    // reads a config file (the command-line default is on).
    'enable-grpc-gateway': true,
    // 3.4 defaults to the deprecated capnslog logger when read from a file; stderr is the journal.
    logger: 'zap',
    'log-outputs': ['stderr'],
  };
  if (ssl) {
    const tls = {
      'cert-file': `${ETCD_SSL_DIR}/node.crt`,
      'key-file': `${ETCD_SSL_DIR}/node.key`,
      'trusted-ca-file': `${ETCD_SSL_DIR}/ca.crt`,
    };
    // etcd 3.4 demands a client certificate whenever trusted-ca-file is set, whatever
    // client-cert-auth says. With RBAC (basic) clients authenticate by password, so the client
    // side has no CA; without RBAC the certificate is the only thing keeping strangers out.
    model['client-transport-security'] =
      str(v, 'etcd_authentication_mode') === 'basic'
        ? { 'cert-file': tls['cert-file'], 'key-file': tls['key-file'], 'client-cert-auth': false }
        : { ...tls, 'client-cert-auth': true };
    model['peer-transport-security'] = { ...(ownPeerCa ? PEER_TLS : tls), 'client-cert-auth': true };
  }
  return model;
}

export function etcdDocument(cluster: ResolvedCluster, host: ResolvedHost, opts: RenderOptions = {}, ownPeerCa = false): Plain {
  return layered(etcdModel(cluster, host, opts, ownPeerCa), host.vars.etcd_conf_settings);
}

/** peer.crt, peer.key and peer-ca.crt: the member's peer certificate (its node one until the peer CA issued it) and the peer trust. */
function peerTlsFiles(inputs: RenderInputs, host: ResolvedHost, peer: NonNullable<RenderInputs['pki']['etcdPeer']>): DesiredFile[] {
  const pem = peer.nodes[host.name] ?? nodePem(inputs, host);
  return [
    { path: PEER_TLS['trusted-ca-file'], content: withNewline(peer.caCert), owner: 'etcd', group: 'etcd', mode: 0o644 },
    { path: PEER_TLS['cert-file'], content: withNewline(pem.cert), owner: 'etcd', group: 'etcd', mode: 0o644 },
    { path: PEER_TLS['key-file'], content: withNewline(pem.key), owner: 'etcd', group: 'etcd', mode: 0o600, sensitive: true },
  ];
}

/**
 * `desired` with the initial-* settings of `onHost` (a member's file once it has started), in
 * their places; `desired` as it is when either does not parse. The result is the host's copy
 * byte for byte when nothing but initial-* differed.
 */
export function withInitialSettingsOf(desired: string, onHost: string): string {
  try {
    const want = parse(desired) as unknown;
    const have = parse(onHost) as unknown;
    if (!isPlainObject(want) || !isPlainObject(have)) return desired;
    if (onlyInitialSettingsDiffer(onHost, desired)) return onHost;
    const merged = Object.fromEntries(Object.entries(want).map(([k, v]) => [k, k.startsWith('initial-') && k in have ? have[k] : v]));
    return toYaml(merged);
  } catch {
    return desired;
  }
}

/** Whether two etcd config files differ only in settings etcd reads when a member first starts (initial-*). */
export function onlyInitialSettingsDiffer(before: string, after: string): boolean {
  const rest = (text: string): unknown => {
    try {
      const doc = parse(text) as unknown;
      if (!isPlainObject(doc)) return undefined;
      return Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith('initial-')));
    } catch {
      return undefined;
    }
  };
  const a = rest(before);
  return a !== undefined && isDeepStrictEqual(a, rest(after));
}

/**
 * Debian's unit runs `etcd $DAEMON_ARGS` with ETCD_NAME=%H and ETCD_DATA_DIR in its environment:
 * both are reset so that only the config file counts.
 */
const DROP_IN = `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
[Service]
Environment=
ExecStart=
ExecStart=/usr/bin/etcd --config-file ${ETCD_CONFIG}
Restart=on-failure
RestartSec=2s
`;

/**
 * The package's default file may add flags; ours adds none and names the config file, so even an
 * etcd started before the drop-in is loaded (package postinst) joins pgha's cluster, not a
 * single-node one of its own.
 */
const DEFAULTS = `# Managed by pgha: etcd is configured in ${ETCD_CONFIG} (see ${ETCD_DROP_IN}).
ETCD_CONFIG_FILE=${ETCD_CONFIG}
DAEMON_ARGS=
`;

export function etcdFiles(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs, opts: RenderOptions = {}): DesiredFile[] {
  const files: DesiredFile[] = [];
  const peer = bool(host.vars, 'etcd_ssl_enabled') ? inputs.pki.etcdPeer : undefined;
  if (bool(host.vars, 'etcd_ssl_enabled')) files.push(...tlsFiles(ETCD_SSL_DIR, 'etcd', 'etcd', inputs, host));
  if (peer) files.push(...peerTlsFiles(inputs, host, peer));
  files.push(
    {
      path: ETCD_CONFIG,
      content: toYaml(etcdDocument(cluster, host, opts, peer !== undefined)),
      owner: 'root',
      group: 'etcd',
      mode: 0o640,
    },
    { path: ETCD_DEFAULTS, content: DEFAULTS, owner: 'root', group: 'root', mode: 0o644 },
    { path: ETCD_DROP_IN, content: DROP_IN, owner: 'root', group: 'root', mode: 0o644 },
  );
  return files;
}
