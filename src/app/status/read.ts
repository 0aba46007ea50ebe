/**
 * `pgha status`'s reading (docs/architecture.md#operations): every member's GET /cluster and
 * GET /patroni, the DCS configuration's failsafe and synchronous modes, etcd, one SSH exec per host (its release,
 * daemon versions, each component's state) and the certificates, all in parallel, through the
 * live view (src/app/live/). A host that does not answer is reported as unreachable; the read
 * fails only when no Patroni member answers at all.
 */
import { etcdMembers, isDataNode } from '../../components/common.js';
import { failsafeModeOf } from '../../components/patroni/failsafe.js';
import { synchronousModeFromConfig, type SynchronousMode } from '../../components/patroni/synchronous.js';
import { RuntimeError } from '../../errors.js';
import { isPlainObject } from '../../model/merge.js';
import type { ResolvedHost } from '../../model/types.js';
import { leaderKeyBug, leaderKeyFix } from '../../patroni/known-bugs.js';
import { leaderOf, preferredAnswer } from '../../patroni/judge.js';
import { notInConfigHint, notInConfigMessage } from '../../patroni/not-in-config.js';
import { canonicalRole, isLeaderRole, type ClusterInfo, type ClusterMember, type ScheduledSwitchover } from '../../patroni/types.js';
import { probeSource, sshConnector, STATUS_TIMEOUT_MS, type ProbeContext } from '../live/probe.js';
import { hostReleaseParts, hostStatus, type HostRelease, type HostStatus } from '../live/host-release.js';
import { HostStateReader, statsReader, type ExtraParts } from '../live/proxies.js';
import { readEtcd, readMembers, type EtcdStatus, type LiveSource } from '../live/view.js';
import type { StatusSections } from '../../components/registry.js';
import { readStatusSections } from '../../components/status.js';
import { certificateStatus, type CertificateStatus } from './certificates.js';

export type { CertificateStatus, EtcdStatus, HostRelease, HostStatus };

export interface MemberStatus {
  name: string;
  host: string;
  /** `leader`, `replica`, `sync_standby`, `standby_leader`; `primary` for 3.0's `master`. */
  role: string | null;
  /** What the DCS says; `unreachable` when the member's REST API does not answer. */
  state: string;
  /** The DCS's state for the member even when its API is unreachable; null when absent. */
  dcsState: string | null;
  reachable: boolean;
  timeline: number | null;
  /** Bytes behind the leader; null for the leader or when unknown. */
  lag: number | null;
  lagUnknown: boolean;
  pendingRestart: boolean;
  scheduledRestart: string | null;
  tags: Record<string, unknown>;
  /** Patroni's version as the member's REST API reports it (GET /patroni); null when unknown. */
  patroniVersion?: string | null;
  /** A known write-losing bug of the running Patroni build, with its fix (src/patroni/known-bugs.ts). */
  knownBug?: string;
  /** A member of the live cluster config.yml does not name: what it is and the way out. */
  notInConfig?: string;
  error?: string;
}

/**
 * What status reads. Beside etcd (read over REST), every component with a status section has its
 * entries under its name (HAProxy's `haproxy`, PgBouncer's `pgbouncer`: src/components/status.ts),
 * between `etcd` and `certificates`.
 */
export type ClusterStatus = StatusHead & StatusSections & StatusTail;

interface StatusHead {
  cluster: string;
  leader: string | null;
  pause: boolean;
  /** failsafe_mode in the live DCS configuration (GET /config); null when no member answered it. */
  failsafeMode: boolean | null;
  /**
   * Synchronous replication as the live DCS configuration has it (synchronous_mode and
   * synchronous_mode_strict: off, on, strict; Patroni 4's quorum); null when no member answered.
   */
  synchronousMode: SynchronousMode | 'quorum' | null;
  /** The members whose role is sync_standby in the DCS (GET /cluster), in the members' order. */
  syncStandbys: string[];
  scheduledSwitchover: ScheduledSwitchover | null;
  members: MemberStatus[];
  etcd: EtcdStatus[];
}

interface StatusTail {
  certificates: CertificateStatus[];
  /** Every host's Debian release and installed daemon versions, in config order. */
  hosts: HostStatus[];
  /** Which member's /cluster answer the table is built from. */
  source: string | null;
}

/** Members in config order, with the DCS's view merged in; members the DCS knows but config does not come last. */
export function memberRows(
  dataNodes: readonly ResolvedHost[],
  info: ClusterInfo | undefined,
  reach: Map<string, string | undefined>,
  dir = 'DIR',
): MemberStatus[] {
  const byName = new Map((info?.members ?? []).map((m) => [m.name, m]));
  const row = (name: string, ip: string, m: ClusterMember | undefined): MemberStatus => {
    const error = reach.get(name);
    const reachable = reach.has(name) ? error === undefined : true;
    return {
      name,
      host: m?.host ?? ip,
      role: m ? canonicalRole(m.role) : null,
      state: !reachable ? 'unreachable' : (m?.state ?? 'absent'),
      dcsState: m?.state ?? null,
      reachable,
      timeline: typeof m?.timeline === 'number' ? m.timeline : null,
      lag: typeof m?.lag === 'number' ? m.lag : null,
      lagUnknown: m?.lag === 'unknown',
      pendingRestart: m?.pending_restart === true,
      scheduledRestart: m?.scheduled_restart?.schedule ?? null,
      tags: m?.tags ?? {},
      ...(error !== undefined ? { error } : {}),
    };
  };
  const rows = dataNodes.map((h) => row(h.name, h.ip, byName.get(h.name)));
  for (const m of info?.members ?? []) {
    if (dataNodes.some((h) => h.name === m.name)) continue;
    const what = isLeaderRole(m.role) ? 'the leader' : 'a member of the live cluster';
    rows.push({
      ...row(m.name, m.host ?? '', m),
      notInConfig: `${notInConfigMessage(m.name, what)}; fix: ${notInConfigHint(m.name, dir)}`,
    });
  }
  return rows;
}

export interface StatusReadOptions {
  now?: Date;
  /**
   * Also read every host's Debian release and installed daemon versions (`status --versions`).
   * Off by default: it costs an SSH session per host, where status otherwise asks only REST
   * APIs (and SSH only hosts whose state has no API: PgBouncer's), and status is meant to answer
   * faster than `patronictl list`.
   */
  versions?: boolean;
  /** The hosts' reader, kept across `--watch` rounds, made by `statusHostReader` with the same `versions`. */
  proxies?: HostStateReader;
}

/** What status reads on every host beside its components' state: its release and daemon versions. */
export function statusHostParts(ctx: ProbeContext): ExtraParts {
  return (h) => hostReleaseParts(ctx.cluster, h);
}

/**
 * The reader status uses: HAProxy's stats page and one SSH exec per host that has state only SSH
 * reads; with `versions`, one SSH exec on every host (HAProxy's stats page only when SSH fails).
 */
export function statusHostReader(ctx: ProbeContext, versions = false): HostStateReader {
  return new HostStateReader(ctx.cluster, sshConnector(ctx), statsReader(ctx), versions ? statusHostParts(ctx) : undefined);
}

/**
 * failsafe_mode from GET /config of the first member that answers; null when none does. Every
 * member serves the DCS configuration it last read, so the first data node is asked at once,
 * beside the other reads, and the next only when it does not answer.
 */
export async function readFailsafeMode(src: LiveSource, members: readonly string[]): Promise<boolean | null> {
  const config = await readDcsConfig(src, members);
  return config === null ? null : failsafeModeOf(config);
}

/** The DCS configuration (GET /config) of the first member that answers; null when none does. */
export async function readDcsConfig(src: LiveSource, members: readonly string[]): Promise<Record<string, unknown> | null> {
  for (const name of members) {
    try {
      const r = await src.patroni(name).call({ method: 'GET', path: '/config', timeoutMs: STATUS_TIMEOUT_MS });
      if (r.status === 200 && isPlainObject(r.body)) return r.body;
    } catch {
      // The next member may answer.
    }
  }
  return null;
}

/** Members whose DCS role is a synchronous standby (3.x and 4.x say `sync_standby`). */
export function syncStandbysOf(info: ClusterInfo): string[] {
  return info.members.filter((m) => m.role === 'sync_standby').map((m) => m.name);
}

/** Reads everything at once. Throws only when no Patroni member answers. */
export async function readStatus(ctx: ProbeContext, o: StatusReadOptions = {}): Promise<ClusterStatus> {
  const { cluster } = ctx;
  const dataNodes = cluster.hosts.filter(isDataNode);
  const etcdHosts = etcdMembers(cluster);
  const ownProxies = o.proxies ? undefined : statusHostReader(ctx, o.versions === true);
  const proxies = o.proxies ?? ownProxies!;
  const src = probeSource(ctx);
  try {
    const names = dataNodes.map((h) => h.name);
    // Every host is read at most once (one SSH exec): its components' state, and with
    // `versions` its release and daemon versions.
    const [members, etcd, hostReads, certificates, dcsConfig] = await Promise.all([
      readMembers(src, names, STATUS_TIMEOUT_MS),
      Promise.all(etcdHosts.map((h) => readEtcd(src.etcdHttp(h.name), h, STATUS_TIMEOUT_MS))),
      Promise.all(cluster.hosts.map((h) => proxies.read(h))),
      certificateStatus(ctx.paths, cluster.hosts, o.now ?? new Date()),
      readDcsConfig(src, names),
    ]);
    const source = preferredAnswer(members);
    const info = source?.info;
    if (!info) {
      throw new RuntimeError(`no Patroni member answers:\n${members.map((m) => `  - ${m.name}: ${m.error}`).join('\n')}`, {
        hint: `check that patroni@${cluster.name} runs on the data nodes (and that the hosts are up: pgha provision for nspawn)`,
      });
    }
    const reach = new Map(members.map((m) => [m.name, m.error]));
    const rows = memberRows(dataNodes, info, reach, ctx.paths.dir);
    for (const m of members) {
      const row = rows.find((r) => r.name === m.name);
      if (!row || !m.node) continue;
      row.patroniVersion = m.node.patroni?.version ?? null;
      const bug = leaderKeyBug(m.node.patroni);
      if (bug) row.knownBug = `${bug}; fix: ${leaderKeyFix(ctx.paths.dir)}`;
    }
    const leader = leaderOf(info);
    const memberAt = new Map<string, string>();
    for (const h of dataNodes) memberAt.set(h.ip, h.name);
    for (const m of info.members) if (m.host) memberAt.set(m.host, m.name);
    return {
      cluster: cluster.name,
      leader: leader?.name ?? null,
      pause: info.pause === true,
      failsafeMode: dcsConfig === null ? null : failsafeModeOf(dcsConfig),
      synchronousMode: dcsConfig === null ? null : synchronousModeFromConfig(dcsConfig),
      syncStandbys: syncStandbysOf(info),
      scheduledSwitchover: info.scheduled_switchover ?? null,
      members: rows,
      etcd,
      ...readStatusSections(cluster, hostReads, { memberAt, leader: leader?.name }),
      certificates,
      hosts: o.versions ? hostReads.map(hostStatus) : [],
      source: source.name,
    };
  } finally {
    await Promise.all([ownProxies?.close(), src.close()]);
  }
}
