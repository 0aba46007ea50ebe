/**
 * keepalived.conf for the proxy hosts of a cluster with a VIP: one VRRP instance whose address
 * lives on exactly one proxy at a time.
 *
 * - Every proxy starts as BACKUP with `nopreempt`; the highest priority (the first proxy in
 *   config.yml) takes the address at formation. Once the address has moved (its holder died or
 *   its HAProxy stopped), it stays where it is when the old holder returns: moving it back would
 *   cut every client a second time for nothing.
 * - The peers are named (unicast), so VRRP needs no multicast on the network, and a proxy
 *   listens only to the cluster's own proxies.
 * - A proxy whose haproxy.service is not running goes to FAULT and gives the address up within
 *   two seconds (`pgha_haproxy` below), so the address always leads to a running HAProxy.
 * - VRRP has no authentication worth the name: the address is a route, not a trust. Clients
 *   verify the server's certificate against the cluster CA, which a host that claims the address
 *   does not have.
 */
import type { DesiredFile, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { MANAGED_BY_PGHA, str } from '../common.js';
import { KEEPALIVED_CONFIG } from '../paths.js';
import { vipHolders, vipOf, virtualRouterId } from './vip.js';

/** How often VRRP advertises; a backup takes over after about three missed adverts. */
const ADVERT_INTERVAL_S = 1;

/** VRRP priorities, first proxy highest: 150, 140, … (keepalived's range is 1–254). */
function priorityOf(cluster: ResolvedCluster, host: ResolvedHost): number {
  const i = vipHolders(cluster).findIndex((h) => h.name === host.name);
  return Math.max(150 - 10 * Math.max(i, 0), 10);
}

export function keepalivedConf(cluster: ResolvedCluster, host: ResolvedHost): string {
  const vip = vipOf(host.vars);
  if (!vip) throw new Error(`${host.name}: keepalived without vip_address`);
  const iface = str(host.vars, 'vip_interface');
  const peers = vipHolders(cluster).filter((h) => h.name !== host.name);
  return [
    `${MANAGED_BY_PGHA}: changes here are overwritten by \`pgha deploy\`.`,
    'global_defs {',
    `    router_id ${host.name}`,
    // The check runs as root; keepalived then insists that nobody else can change what it runs.
    '    enable_script_security',
    '    script_user root',
    '}',
    '',
    'vrrp_script pgha_haproxy {',
    '    script "/usr/bin/systemctl is-active --quiet haproxy.service"',
    '    interval 1',
    '    fall 2',
    '    rise 2',
    '}',
    '',
    `vrrp_instance pgha_${cluster.name} {`,
    '    state BACKUP',
    '    nopreempt',
    `    interface ${iface}`,
    `    virtual_router_id ${virtualRouterId(cluster, host)}`,
    `    priority ${priorityOf(cluster, host)}`,
    `    advert_int ${ADVERT_INTERVAL_S}`,
    `    unicast_src_ip ${host.ip}`,
    '    unicast_peer {',
    ...peers.map((p) => `        ${p.ip}`),
    '    }',
    '    virtual_ipaddress {',
    `        ${vip.address}/${vip.prefix} dev ${iface}`,
    '    }',
    '    track_script {',
    '        pgha_haproxy',
    '    }',
    '}',
    '',
  ].join('\n');
}

export function keepalivedFiles(cluster: ResolvedCluster, host: ResolvedHost): DesiredFile[] {
  return [{ path: KEEPALIVED_CONFIG, content: keepalivedConf(cluster, host), owner: 'root', group: 'root', mode: 0o644 }];
}
