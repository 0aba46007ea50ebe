/** etcd, the DCS: on hosts with role `etcd` (data nodes by default, or dedicated hosts). */
import { ETCD_ROOT_SECRET } from '../../secrets/store.js';
import { hasRole, num, optStr, userSecrets } from '../common.js';
import { pinned, portOf, type Component } from '../component.js';
import { ETCD_CONFIG, ETCD_DEFAULTS, ETCD_SSL_DIR } from '../paths.js';
import { etcdFiles, onlyInitialSettingsDiffer, withInitialSettingsOf } from './config.js';
import { etcdHealthCheck } from './health.js';

export const ETCD_UNIT = 'etcd.service';

export const etcd: Component = {
  name: 'etcd',
  runsOn: (_cluster, host) => hasRole(host, 'etcd'),
  packages: (host) => {
    const ver = optStr(host.vars, 'etcd_package_version');
    return [pinned('etcd-server', ver), pinned('etcd-client', ver)];
  },
  files: (cluster, host, ctx) => etcdFiles(cluster, host, ctx.inputs, ctx.opts),
  units: () => [ETCD_UNIT],
  // etcd reads its configuration only at start: a change means a (health-gated, rolling) restart.
  // Its trusted CA file too (etcd does not reload its CA pool), so a new trust bundle
  // restarts each member in turn; node.crt/node.key restart it as well, since a client that dials
  // an IP address sends no server name and may be served the certificate loaded at start.
  // The initial-* settings alone are read only when a member forms or joins the cluster: a member
  // added or removed elsewhere changes them on every host, and restarts none.
  reactions: (_cluster, path, change) => {
    if (path === ETCD_CONFIG && change && onlyInitialSettingsDiffer(change.before, change.after)) return [];
    if (path.startsWith('/etc/etcd/') || path === ETCD_DEFAULTS) return [{ unit: ETCD_UNIT, how: 'restart' }];
    return [];
  },
  // A member that has started reads initial-* never again, and the value it joined with
  // (`existing` for a member added later) must not flip back to `new` in its file on the next
  // deploy: once it runs, the host's initial-* settings are kept.
  settle: (path, desired, onHost, unitActive) =>
    path === ETCD_CONFIG && unitActive(ETCD_UNIT) ? withInitialSettingsOf(desired, onHost) : desired,
  formation: 'etcd',
  ports: () => [portOf('etcd_client_port', 'etcd clients'), portOf('etcd_peer_port', 'etcd peers')],
  privateDirs: { [ETCD_SSL_DIR]: { owner: 'etcd', group: 'etcd', mode: 0o750 } },
  upgrade: {
    kind: 'service',
    how: 'restart',
    port: (host) => num(host.vars, 'etcd_client_port'),
    quorumGate: true,
  },
  health: etcdHealthCheck,
  // With basic auth, Patroni logs in as its own etcd user, and deploy as root to create it.
  secretNames: (cluster) =>
    cluster.hosts.flatMap((h) =>
      h.vars.etcd_authentication_mode === 'basic' ? [...userSecrets([h], 'patroni_etcd_user'), ETCD_ROOT_SECRET] : [],
    ),
  // Members dial each other as peers, and peer TLS checks the client certificate.
  dialsWithHostCert: () => true,
};
