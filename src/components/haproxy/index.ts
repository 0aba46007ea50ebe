/** HAProxy on hosts with role `haproxy`: the read-write (and read-only) entry point, following Patroni's health endpoints. */
import { hasRole, num, optStr } from '../common.js';
import { pinned, type Component } from '../component.js';
import { HAPROXY_SSL_DIR } from '../paths.js';
import { haproxyFiles } from './config.js';

export const HAPROXY_UNIT = 'haproxy.service';

export const haproxy: Component = {
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
  privateDirs: { [HAPROXY_SSL_DIR]: { owner: 'root', group: 'haproxy', mode: 0o750 } },
  // The master re-executes its (new) binary on reload and keeps client sessions.
  upgrade: { kind: 'service', how: 'reload-or-restart', port: (host) => num(host.vars, 'haproxy_port') },
};
