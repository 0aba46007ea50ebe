/**
 * What an etcd member says about itself over its client port: GET /health, and the maintenance
 * status (whether it leads, its version). Read by status, the health check, deploy and upgrade.
 */
import type { ResolvedHost } from '../../model/types.js';
import type { Requester } from '../../transport/https.js';
import { firstLine } from '../health.js';

/** etcd's GET /health: healthy when it answers 200 with `"health": "true"`. Throws when the member does not answer. */
export async function etcdHealth(http: Requester, timeoutMs = 3_000): Promise<{ healthy: boolean; status: number }> {
  const res = await http.request({ method: 'GET', path: '/health', timeoutMs });
  const body = res.body as { health?: string | boolean } | undefined;
  return { healthy: res.status === 200 && String(body?.health) === 'true', status: res.status };
}

export interface EtcdStatus {
  name: string;
  endpoint: string;
  reachable: boolean;
  healthy: boolean;
  leader: boolean;
  version: string | null;
  error?: string;
}

/** One etcd member as status shows it: health, whether it leads, its version (two requests, one connection). */
export async function readEtcd(http: Requester, h: ResolvedHost, timeoutMs: number): Promise<EtcdStatus> {
  const endpoint = `${h.vars.etcd_ssl_enabled === true ? 'https' : 'http'}://${h.ip}:${String(h.vars.etcd_client_port)}`;
  const base: EtcdStatus = { name: h.name, endpoint, reachable: false, healthy: false, leader: false, version: null };
  try {
    const [health, status] = await Promise.all([
      etcdHealth(http, timeoutMs),
      http.request({ method: 'POST', path: '/v3/maintenance/status', body: {}, timeoutMs }),
    ]);
    const sb = status.body as { header?: { member_id?: string }; leader?: string; version?: string };
    return {
      ...base,
      reachable: true,
      healthy: health.healthy,
      leader: status.status === 200 && sb.leader !== undefined && sb.leader === sb.header?.member_id,
      version: sb.version ?? null,
    };
  } catch (e) {
    return { ...base, error: firstLine(e) };
  }
}
