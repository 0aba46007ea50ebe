/** Rules about authentication modes that only make sense over TLS. */
import type { HostRule } from './context.js';

/** With mtls, clients prove who they are by TLS certificate: without TLS there is nothing to prove it with. */
export const mtlsNeedsTls: HostRule = (ctx, host, i) => {
  if (host.vars.patroni_authentication_mode !== 'mtls' || host.vars.patroni_ssl_enabled === true) return;
  ctx.perHost(
    'error',
    ctx.blame(i, ['patroni_authentication_mode']),
    'mtls',
    host.name,
    () =>
      'mtls needs patroni_ssl_enabled: true (clients prove who they are with TLS certificates); set patroni_ssl_enabled: true, or use basic',
  );
};

/** A warning: legal, but basic authentication without TLS sends etcd passwords readable on the wire. */
export const etcdBasicCleartext: HostRule = (ctx, host, i) => {
  const v = host.vars;
  if (!host.roles.includes('etcd') || v.etcd_authentication_mode !== 'basic' || v.etcd_ssl_enabled === true) return;
  ctx.perHost(
    'warning',
    ctx.blame(i, ['etcd_authentication_mode']),
    'etcd basic cleartext',
    host.name,
    () => 'basic without etcd_ssl_enabled: true sends etcd passwords in clear text; set etcd_ssl_enabled: true',
  );
};
