/** HAProxy's section of `pgha status`: each proxy's servers and which data nodes get writes. */
import type { StatusSection } from '../component.js';
import { haproxyServers, writesTo } from './health.js';
import type { HaproxyServer } from './live.js';

export interface HaproxyStatus {
  host: string;
  reachable: boolean;
  servers: HaproxyServer[];
  /** Data nodes receiving writes (UP in the read-write backend). */
  writesTo: string[];
  error?: string;
}

export const haproxyStatus: StatusSection<HaproxyStatus> = {
  // `error` says why the servers could not be read (the host, or its stats socket or page).
  read: (p) => {
    const { servers, error } = haproxyServers(p);
    return {
      host: p.host.name,
      reachable: p.error === undefined,
      servers,
      writesTo: writesTo(servers),
      ...(error ? { error } : {}),
    };
  },
  // `HAProxy proxy1: pgha_rw pg1 UP, pg2 DOWN; pgha_ro …`: each backend's servers, in HAProxy's order.
  lines: (entries) =>
    entries.map((h) => {
      if (h.error) return `HAProxy ${h.host}: ${h.reachable ? '' : 'unreachable: '}${h.error}`;
      const backends = [...new Set(h.servers.map((x) => x.backend))];
      const servers = (b: string) =>
        h.servers
          .filter((x) => x.backend === b)
          .map((x) => `${x.server} ${x.state}`)
          .join(', ');
      return `HAProxy ${h.host}: ${backends.map((b) => `${b} ${servers(b)}`).join('; ')}`;
    }),
};
