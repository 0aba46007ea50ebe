/**
 * keepalived on the `haproxy` hosts of a cluster with `vip_address`: the virtual IP clients use,
 * held by one proxy at a time and moved to another within seconds when its holder or its HAProxy
 * dies (./config.ts says how and why).
 */
import { hasRole, optStr } from '../common.js';
import { pinned, type ClusterEntryPoint, type WithStatus } from '../component.js';
import { KEEPALIVED_CONFIG } from '../paths.js';
import type { ResolvedCluster } from '../../model/types.js';
import { haproxy } from '../haproxy/index.js';
import { keepalivedFiles } from './config.js';
import { keepalivedHealth } from './health.js';
import { KEEPALIVED_UNIT, keepalivedStateScript } from './live.js';
import { keepalivedStatus, type KeepalivedStatus } from './status.js';
import { vipHolders, vipOf } from './vip.js';

/** The VIP leads to the proxies' frontends: HAProxy's own entry points, at the VIP's address. */
function vipEntryPoints(cluster: ResolvedCluster): ClusterEntryPoint[] {
  const holders = vipHolders(cluster);
  const first = holders[0];
  const vip = first && vipOf(first.vars);
  if (!first || !vip) return [];
  const servedBy = holders.map((h) => h.name);
  const via = `VIP, keepalived on ${servedBy.join(', ')}`;
  return (haproxy.entryPoints?.(first) ?? []).map((e) => ({ ...e, ip: vip.address, via, servedBy }));
}

export const keepalived: WithStatus<'keepalived', KeepalivedStatus> = {
  name: 'keepalived',
  runsOn: (_cluster, host) => hasRole(host, 'haproxy') && vipOf(host.vars) !== undefined,
  packages: (host) => [pinned('keepalived', optStr(host.vars, 'keepalived_package_version'))],
  files: (cluster, host) => keepalivedFiles(cluster, host),
  units: () => [KEEPALIVED_UNIT],
  // SIGHUP: keepalived rereads its file; the VRRP instance keeps its state and the address stays put.
  reactions: (_cluster, path) => (path.startsWith('/etc/keepalived/') ? [{ unit: KEEPALIVED_UNIT, how: 'reload' }] : []),
  // Started with HAProxy (the service formation starts its units together): the track script
  // and VRRP's master-down wait (about 3.5 s) keep the address off a proxy whose HAProxy is not up.
  formation: 'service',
  health: keepalivedHealth,
  // A started keepalived waits about 3.5 s (three adverts) before it takes the VIP.
  awaitHealthAfterStart: true,
  // A host whose cluster dropped vip_address (or its haproxy role): pgha's keepalived stops, and
  // with it releases the address.
  retired: { units: [KEEPALIVED_UNIT], managedFile: KEEPALIVED_CONFIG },
  stateScript: keepalivedStateScript,
  status: keepalivedStatus,
  clusterEntryPoints: vipEntryPoints,
};
