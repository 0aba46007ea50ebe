/**
 * HAProxy on hosts with role `haproxy`: the read-write (and read-only, and synchronous-standby read)
 * entry points, following Patroni's health endpoints.
 */
import { hasRole, isDataNode, num, optStr } from '../common.js';
import { pinned, portOf, type WithStatus, type PortUse } from '../component.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { HAPROXY_SSL_DIR } from '../paths.js';
import { HAPROXY_RO_BACKEND, HAPROXY_RW_BACKEND, HAPROXY_SYNC_BACKEND, haproxyFiles, haproxyListeners } from './config.js';
import { haproxyHealth } from './health.js';
import { haproxyStateScript } from './live.js';
import { haproxyStatus, type HaproxyStatus } from './status.js';

export const HAPROXY_UNIT = 'haproxy.service';

export const haproxy: WithStatus<'haproxy', HaproxyStatus> = {
  name: 'haproxy',
  runsOn: (_cluster, host) => hasRole(host, 'haproxy'),
  packages: (host) => [pinned('haproxy', optStr(host.vars, 'haproxy_package_version'))],
  files: (cluster, host, ctx) => haproxyFiles(cluster, host, ctx.inputs, (view) => ctx.template('haproxy.cfg.hbs', view)),
  units: () => [HAPROXY_UNIT],
  // A reload starts new workers on the new configuration; established sessions stay on the old ones.
  reactions: (_cluster, path) => {
    if (path.startsWith('/etc/haproxy/')) return [{ unit: HAPROXY_UNIT, how: 'reload' }];
    return [];
  },
  formation: 'service',
  // On a data node haproxy is refused by its own rule; its ports would only repeat that.
  ports: (cluster, host) =>
    isDataNode(host)
      ? []
      : [
          portOf('haproxy_port', 'HAProxy'),
          ...(host.vars.haproxy_read_only_load_balancer_enabled === true
            ? [portOf('haproxy_read_only_port', 'the HAProxy read-only frontend')]
            : []),
          ...(typeof host.vars.haproxy_sync_read_port === 'number'
            ? [portOf('haproxy_sync_read_port', 'the HAProxy synchronous-standby read frontend')]
            : []),
          ...haproxyExtraListeners(cluster, host),
        ],
  privateDirs: { [HAPROXY_SSL_DIR]: { owner: 'root', group: 'haproxy', mode: 0o750 } },
  // The master re-executes its (new) binary on reload and keeps client sessions.
  upgrade: { kind: 'service', how: 'reload-or-restart', port: (host) => num(host.vars, 'haproxy_port') },
  health: haproxyHealth,
  // Under mtls its health checks need a client certificate for Patroni's REST API; not the
  // host's, which serves TLS only (it has no dialsWithHostCert). Issued whenever a host asks for
  // mtls, whether or not the cluster has an HAProxy host.
  clientIdentities: (cluster) => (cluster.hosts.some((h) => h.vars.patroni_authentication_mode === 'mtls') ? ['haproxy'] : []),
  stateScript: haproxyStateScript,
  status: haproxyStatus,
  // TCP passes through to whichever member leads, so the name on its certificate cannot be known
  // in advance: a client verifies the chain to the cluster CA only.
  entryPoints: (host) => {
    const tls = host.vars.patroni_ssl_enabled === true ? { tls: 'verify-ca' as const } : {};
    return [
      { kind: 'read-write', port: Number(host.vars.haproxy_port), label: 'HAProxy', ...tls },
      ...(host.vars.haproxy_read_only_load_balancer_enabled === true
        ? [{ kind: 'read-only' as const, port: Number(host.vars.haproxy_read_only_port), label: 'HAProxy', ...tls }]
        : []),
      ...(typeof host.vars.haproxy_sync_read_port === 'number'
        ? [{ kind: 'read-sync' as const, port: host.vars.haproxy_sync_read_port, label: 'HAProxy', ...tls }]
        : []),
    ];
  },
};

/** Every bind line of the final haproxy.cfg beyond the two frontends pgha's variables choose. */
function haproxyExtraListeners(cluster: ResolvedCluster, host: ResolvedHost): PortUse[] {
  const byVariable: Record<string, string> = {
    [HAPROXY_RW_BACKEND]: 'haproxy_port',
    [HAPROXY_RO_BACKEND]: 'haproxy_read_only_port',
    [HAPROXY_SYNC_BACKEND]: 'haproxy_sync_read_port',
  };
  // Without both ports haproxy.cfg cannot be rendered; the unset port is reported on its own.
  if (typeof host.vars.haproxy_port !== 'number' || typeof host.vars.haproxy_read_only_port !== 'number') return [];
  let listeners: ReturnType<typeof haproxyListeners>;
  try {
    listeners = haproxyListeners(cluster, host);
  } catch {
    // Settings the renderer cannot place are reported by their own config rule.
    listeners = [];
  }
  return listeners
    .filter((l) => !(l.kind === 'frontends' && byVariable[l.section]))
    .map((l) => ({
      variable: `haproxy_conf_settings.${l.kind}.${l.section}`,
      path: ['haproxy_conf_settings', l.kind, l.section, 'bind'],
      service: `HAProxy's ${l.section}`,
      port: l.port,
    }));
}
