/**
 * What the operational commands (switchover and the patronictl verbs) share: a session with
 * the data nodes, the live view (src/app/live/view.ts) on it, the leader key in etcd, and the
 * "do writes reach the leader through the proxies" probe.
 */
import { RefusedError, RuntimeError, UsageError } from '../../errors.js';
import type { Plain } from '../../model/merge.js';
import type { ResolvedHost } from '../../model/types.js';
import type { ClusterInfo } from '../../patroni/types.js';
import { run } from '../../transport/types.js';
import { parseWriteProbe, probeWritesCommand, type Endpoint } from '../../components/postgres/write-probe.js';
import { ensureClusterMaterial, loadCluster, type LoadedCluster } from '../cluster-dir.js';
import { etcdMembers, isDataNode } from '../../components/common.js';
import { clusterEntryPoints, entryPointsOn } from '../../components/registry.js';
import * as view from '../live/view.js';
import { ClusterSession, type SessionSeams } from '../session.js';
import { waitFor } from '../wait.js';

export interface Live {
  loaded: LoadedCluster;
  session: ClusterSession;
  dataNodes: ResolvedHost[];
}

/**
 * Members named on the command line, checked against config.yml before any host is contacted:
 * `usage` for plain arguments (exit 2), `refusal` for a switchover or failover candidate, whose
 * existence is one of the documented pre-checks (exit 3).
 */
export interface NamedMembers {
  names: readonly string[];
  as: 'usage' | 'refusal';
}

/** Load DIR and open SSH to every data node (the tunnels for write calls run over them). */
export async function openLive(dir: string, named?: NamedMembers, seams: SessionSeams = {}): Promise<Live> {
  const loaded = loadCluster(dir);
  const dataNodes = loaded.cluster.hosts.filter(isDataNode);
  if (!dataNodes.length) throw new RefusedError(`${loaded.cluster.name} has no data nodes (no primary or replica role)`, []);
  const unknown = (named?.names ?? []).filter((n) => !dataNodes.some((h) => h.name === n));
  if (unknown.length) {
    const why = `${unknown.join(', ')} ${unknown.length === 1 ? 'is not a data node' : 'are not data nodes'} in config.yml (data nodes: ${dataNodes.map((h) => h.name).join(', ')})`;
    if (named?.as === 'refusal') throw new RefusedError('refused; nothing was changed:', [why]);
    throw new UsageError(why);
  }
  const material = await ensureClusterMaterial(loaded);
  const session = new ClusterSession(loaded.cluster, loaded.paths, material, seams.connectHost, seams.rest);
  try {
    await session.connect(dataNodes);
  } catch (e) {
    await session.close();
    throw e;
  }
  return { loaded, session, dataNodes };
}

export async function withLive<T>(dir: string, fn: (live: Live) => Promise<T>, named?: NamedMembers, seams: SessionSeams = {}): Promise<T> {
  const live = await openLive(dir, named, seams);
  try {
    return await fn(live);
  } finally {
    await live.session.close();
  }
}

const names = (live: Live) => live.dataNodes.map((h) => h.name);

/** GET /cluster through the live view, from the first data node that answers. */
export async function readCluster(live: Live): Promise<ClusterInfo> {
  return view.readCluster(live.session, names(live));
}

/** GET /config (the DCS configuration) from the first data node that answers. */
export async function readConfig(live: Live): Promise<Plain> {
  return view.readDcsConfig(live.session, names(live));
}

export function requireMember(live: Live, name: string): ResolvedHost {
  const h = live.dataNodes.find((x) => x.name === name);
  if (!h) {
    throw new RefusedError(`${name} is not a data node of ${live.loaded.cluster.name}`, [], {
      hint: `data nodes: ${live.dataNodes.map((x) => x.name).join(', ')}`,
    });
  }
  return h;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * The leader key in etcd, read as Patroni's own etcd user through the JSON gateway. Returns
 * null when the key is absent (nobody holds the lock).
 */
export async function readDcsLeader(live: Live): Promise<string | null> {
  const etcdHosts = etcdMembers(live.loaded.cluster);
  const errors: string[] = [];
  for (const h of etcdHosts) {
    try {
      const v = h.vars;
      const gw = live.session.etcd(h.name);
      if (v.etcd_authentication_mode === 'basic') {
        const user = String(v.patroni_etcd_user);
        const state = await gw.authenticate(user, live.session.material.secrets.get(user));
        if (state === 'denied') throw new RuntimeError(`etcd refused ${user}'s password`);
      }
      const key = `${String(v.patroni_dcs_namespace).replace(/\/$/, '')}/${live.loaded.cluster.name}/leader`;
      const res = await gw.post('/v3/kv/range', { key: b64(key) });
      if (res.status !== 200) throw new RuntimeError(`etcd /v3/kv/range answered ${res.status}: ${res.text.trim()}`);
      const kvs = (res.body as { kvs?: { value?: string }[] }).kvs ?? [];
      const value = kvs[0]?.value;
      return value === undefined ? null : Buffer.from(value, 'base64').toString();
    } catch (e) {
      errors.push(`${h.name}: ${(e as Error).message}`);
    }
  }
  throw new RuntimeError(`cannot read the leader key from etcd:\n${errors.map((e) => `  - ${e}`).join('\n')}`, {
    hint: 'check etcd health on the etcd hosts (journalctl -u etcd)',
  });
}

/**
 * A read-write entry point of the cluster: a VIP's, or one on a host (`host`). `servedThrough`
 * is the address of the VIP that leads to it, when one does: clients then need not use it directly.
 */
export interface WriteEndpoint extends Endpoint {
  host?: string;
  servedThrough?: string;
}

/** Every read-write entry point the components declare (src/components/registry.ts): a VIP first, then host by host. */
export function writeEndpoints(live: Live): WriteEndpoint[] {
  const cluster = live.loaded.cluster;
  const shared = clusterEntryPoints(cluster).filter((e) => e.kind === 'read-write');
  return [
    ...shared.map((e): WriteEndpoint => ({ via: e.via, ip: e.ip, port: e.port, ...(e.tls ? { tls: e.tls } : {}) })),
    ...cluster.hosts.flatMap((h) =>
      entryPointsOn(cluster, h)
        .filter((e) => e.kind === 'read-write')
        .map((e): WriteEndpoint => {
          const vip = shared.find((v) => v.label === e.label && v.servedBy.includes(h.name));
          return {
            via: `${e.label} on ${h.name}`,
            ip: h.ip,
            port: e.port,
            host: h.name,
            ...(e.tls ? { tls: e.tls } : {}),
            ...(vip ? { servedThrough: vip.ip } : {}),
          };
        }),
    ),
  ];
}

export type { Endpoint, WriteProbe } from '../../components/postgres/write-probe.js';
import type { WriteProbe } from '../../components/postgres/write-probe.js';

export async function probeWrites(live: Live, from: string, ep: Endpoint): Promise<WriteProbe> {
  const user = String(live.session.host(from).vars.patroni_super_user);
  const r = await run(
    live.session.transport(from),
    probeWritesCommand(ep, user, live.session.material.secrets.get(user)),
    `psql through ${ep.via}`,
  );
  return parseWriteProbe(r.stdout);
}

/** An entry point behind a VIP whose writes did not reach the leader, with what its last probe saw (one line). */
export interface MissedEndpoint {
  ep: WriteEndpoint;
  last: string;
}

/**
 * Wait until the client endpoints land on `leader` and it takes writes; all endpoints in
 * parallel, each with the ms since `since` at which it first did. Those behind a VIP are not
 * required (clients use the VIP, which needs one of them): they get `graceMs` more once the
 * required ones are reached (HAProxy's checks see a new leader within about a second), never
 * beyond `timeoutMs`, and the ones not reached by then are returned as missed. Without a VIP
 * every endpoint is required: each is one clients use.
 */
export async function waitWritesReachLeader(
  live: Live,
  leader: string,
  since: number,
  timeoutMs = 60_000,
  graceMs = 10_000,
): Promise<{ reached: { ep: WriteEndpoint; ms: number }[]; missed: MissedEndpoint[] }> {
  const leaderIp = live.session.host(leader).ip;
  const endpoints = writeEndpoints(live);
  const last = new Map<WriteEndpoint, string>();
  const reach = async (ep: WriteEndpoint, signal?: AbortSignal) => {
    // `HAProxy on proxy1`; a VIP's via (`VIP, keepalived on proxy1, proxy2`) names no one host.
    const [kind, host] = ep.host === undefined ? ['keepalived', `the proxies (${ep.via.split(' on ')[1] ?? ''})`] : ep.via.split(' on ');
    await waitFor(
      async () => {
        const p = await probeWrites(live, leader, ep).catch((e: unknown) => {
          last.set(ep, (e as Error).message.replace(/\s*\n\s*/g, ' '));
          throw e;
        });
        last.set(ep, `it led to ${p.server || 'no server'}${p.writable ? '' : ', in recovery'}`);
        return p.writable && p.server === leaderIp ? true : undefined;
      },
      {
        timeoutMs,
        intervalMs: 250,
        what: `writes through ${ep.via} to reach ${leader}`,
        hint: `look at ${kind ?? 'the proxy'}'s log on ${host ?? 'its host'}`,
        ...(signal ? { signal } : {}),
      },
    );
    return { ep, ms: Date.now() - since };
  };
  const stop = new AbortController();
  const optional = endpoints
    .filter((ep) => ep.servedThrough !== undefined)
    .map((ep) =>
      reach(ep, stop.signal).then(
        (r) => ({ reached: r }),
        () => ({ missed: { ep, last: last.get(ep) ?? 'no probe finished' } }),
      ),
    );
  let required: { ep: WriteEndpoint; ms: number }[];
  try {
    required = await Promise.all(endpoints.filter((ep) => ep.servedThrough === undefined).map((ep) => reach(ep)));
  } catch (e) {
    stop.abort();
    await Promise.all(optional);
    throw e;
  }
  const grace = setTimeout(() => stop.abort(), graceMs);
  const rest = await Promise.all(optional).finally(() => clearTimeout(grace));
  const reached = [...required, ...rest.flatMap((r) => ('reached' in r ? [r.reached] : []))];
  return {
    reached: endpoints.flatMap((ep) => reached.filter((r) => r.ep === ep)),
    missed: rest.flatMap((r) => ('missed' in r ? [r.missed] : [])),
  };
}

/** `name` is back after a restart, reinit or switchover (src/app/live/view.ts#isBack). */
export async function waitBack(live: Live, name: string, what: string, timeoutMs = 300_000): Promise<void> {
  await view.waitBack(live.session, names(live), name, { what, timeoutMs, cluster: live.loaded.cluster.name });
}
