/**
 * `pgha switchover` (docs/architecture.md#operations): every pre-check evaluated and reported together, then
 * POST /switchover from the leader's own member tunnel (it is an unsafe call, and the REST API
 * allowlist admits only members), then waits until the candidate leads, clients' writes reach
 * it through HAProxy/PgBouncer (through the VIP, when the cluster has one: a proxy behind it
 * that does not follow is a warning), and the old primary streams from it.
 */
import { synchronousModeFromConfig, type SynchronousMode } from '../components/patroni/synchronous.js';
import { RefusedError, RuntimeError } from '../errors.js';
import { cancelSwitchover, postSwitchover } from '../patroni/ops.js';
import { platformFor } from '../platforms/index.js';
import { leaderName, leadersOf, maximumLagOnFailover, pickCandidate, replicaLag } from '../patroni/judge.js';
import { isHealthyReplicaState, isLeaderRole, isReplicaRole, type ClusterInfo, type PatroniNodeStatus } from '../patroni/types.js';
import { readNode, waitLeader } from './live/view.js';
import type { SessionSeams } from './session.js';
import { confirmOrRefuse } from './verbs/confirm.js';
import {
  readCluster,
  readConfig,
  readDcsLeader,
  waitBack,
  waitWritesReachLeader,
  withLive,
  type Live,
  type MissedEndpoint,
} from './verbs/live.js';

export interface SwitchoverFacts {
  candidate: string;
  /** Data nodes named in config.yml. */
  configured: readonly string[];
  info: ClusterInfo;
  /** maximum_lag_on_failover from the DCS configuration. */
  maxLag: number;
  /** The leader key in etcd: a name, null when absent, or why it could not be read. */
  dcsLeader: string | null | { error: string };
  /** GET /patroni of the leader and the candidate, when they answered. */
  leaderStatus?: PatroniNodeStatus | undefined;
  candidateStatus?: PatroniNodeStatus | undefined;
  /** Synchronous replication as the DCS configuration has it; absent reads as off. */
  synchronousMode?: SynchronousMode | 'quorum';
}

/** Members whose DCS role is a synchronous standby. */
export function syncStandbyNames(info: ClusterInfo): string[] {
  return info.members.filter((m) => m.role === 'sync_standby').map((m) => m.name);
}

/**
 * With synchronous replication on, Patroni promotes only a synchronous standby: POST /switchover
 * to any other replica is answered 412. Said before anything is sent, with the way forward.
 */
function synchronousReason(f: SwitchoverFacts, role: string): string | undefined {
  const mode = f.synchronousMode ?? 'off';
  if (mode === 'off' || role === 'sync_standby') return undefined;
  const sync = syncStandbyNames(f.info);
  const why = `${f.candidate} is not a synchronous standby, and with synchronous replication ${mode} Patroni promotes only one`;
  if (sync.length === 0) {
    return `${why}; no member is one right now: wait until \`pgha status DIR\` shows a synchronous standby and switch over to it`;
  }
  const list = sync.join(', ');
  return (
    `${why} (synchronous standby${sync.length === 1 ? '' : 's'}: ${list}); switch over to ${sync.length === 1 ? list : `one of ${list}`}` +
    `, or set patroni_synchronous_mode: off and run \`pgha deploy DIR\` first`
  );
}

export interface SwitchoverVerdict {
  leader: string | undefined;
  /** Bytes the candidate has yet to replay, when known. */
  lag: number | undefined;
  reasons: string[];
}

/** Pure: every reason the switchover must not happen, all at once. */
export function evaluateSwitchover(f: SwitchoverFacts): SwitchoverVerdict {
  const reasons: string[] = [];
  const { candidate, info } = f;
  const leaders = leadersOf(info);
  const leader = leaders.length === 1 ? leaders[0]!.name : undefined;
  const member = info.members.find((m) => m.name === candidate);
  let lag: number | undefined;

  if (!f.configured.includes(candidate)) {
    reasons.push(`${candidate} is not a data node in config.yml (data nodes: ${f.configured.join(', ') || 'none'})`);
  }
  if (!member) {
    reasons.push(`${candidate} is not a member of the running cluster (members: ${info.members.map((m) => m.name).join(', ') || 'none'})`);
  }
  if (leaders.length !== 1) {
    reasons.push(
      leaders.length === 0
        ? 'the cluster has no leader'
        : `the cluster has ${leaders.length} leaders (${leaders.map((m) => m.name).join(', ')}); exactly one is required`,
    );
  }
  if (member) {
    if (isLeaderRole(member.role)) {
      reasons.push(`${candidate} is the current leader already`);
    } else {
      if (!isReplicaRole(member.role) || !isHealthyReplicaState(member.state)) {
        reasons.push(`${candidate} is not a running replica (role ${member.role}, state ${member.state || 'unknown'})`);
      }
      if (member.tags?.nofailover === true) reasons.push(`${candidate} carries the tag nofailover: Patroni will not promote it`);
      // Live positions first (the DCS's figure is only as fresh as the last loop_wait), see replicaLag.
      lag = replicaLag(member.lag, f.leaderStatus, f.candidateStatus);
      if (lag === undefined) {
        if (isHealthyReplicaState(member.state)) reasons.push(`the replication lag of ${candidate} is unknown`);
      } else if (lag > f.maxLag) {
        reasons.push(`${candidate} lags ${lag} bytes behind the leader, more than maximum_lag_on_failover (${f.maxLag})`);
      }
      if (f.candidateStatus?.xlog?.paused === true) {
        reasons.push(`WAL replay is paused on ${candidate} (SELECT pg_wal_replay_resume() there)`);
      }
      const sync = synchronousReason(f, member.role);
      if (sync) reasons.push(sync);
    }
  }
  const dcs = f.dcsLeader;
  if (dcs !== null && typeof dcs === 'object') {
    reasons.push(`cannot read the leader key from etcd: ${dcs.error}`);
  } else if (dcs === null) {
    reasons.push('etcd holds no leader key: nobody holds the leader lock');
  } else if (leader !== undefined && dcs !== leader) {
    reasons.push(`etcd says the leader is ${dcs}, the REST API says ${leader}`);
  }
  if (info.pause === true) reasons.push('the cluster is paused (maintenance mode): run `pgha resume DIR` first');
  if (info.scheduled_switchover?.at) {
    const s = info.scheduled_switchover;
    reasons.push(
      `a switchover${s.to ? ` to ${s.to}` : ''} is already scheduled at ${s.at} (cancel it with \`pgha switchover DIR --cancel\`)`,
    );
  }
  return { leader, lag, reasons };
}

export interface SwitchoverRequest {
  candidate: string;
  scheduledAt?: string | undefined;
  force: boolean;
  /** How long the old leader may take to stream from the new one (default 180 s; upgrade, whose old leader may come back on new binaries, allows 300 s). */
  backTimeoutMs?: number;
  /** How long writes may take to reach the new leader through the entry points (default 60 s; verbs/live.ts#waitWritesReachLeader). */
  writesTimeoutMs?: number;
}

export interface SwitchoverReport {
  from: string;
  to: string;
  scheduledAt?: string;
  /** ms from the request to the candidate leading (state running). */
  toLeaderMs?: number;
  /** ms from the request to writes reaching it through every entry point that did, when there are any. */
  toWritesMs?: number;
  totalMs?: number;
  endpoints: string[];
  /** Entry points behind the VIP that writes did not reach, one `warning: …` line each, with the remedy. */
  warnings: string[];
}

export async function gatherFacts(live: Live, candidate: string): Promise<SwitchoverFacts> {
  const info = await readCluster(live);
  const config = await readConfig(live);
  let dcsLeader: SwitchoverFacts['dcsLeader'];
  try {
    dcsLeader = await readDcsLeader(live);
  } catch (e) {
    dcsLeader = { error: (e as Error).message.split('\n').join(' ') };
  }
  const status = async (name: string | undefined) =>
    name && live.dataNodes.some((h) => h.name === name) ? readNode(live.session, name) : undefined;
  const [leaderStatus, candidateStatus] = await Promise.all([status(leaderName(info)), status(candidate)]);
  return {
    candidate,
    configured: live.dataNodes.map((h) => h.name),
    info,
    maxLag: maximumLagOnFailover(config),
    dcsLeader,
    leaderStatus,
    candidateStatus,
    synchronousMode: synchronousModeFromConfig(config),
  };
}

export const fmtSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * `pgha switchover DIR [NEW_PRIMARY]`. Without NEW_PRIMARY pgha picks one as the upgrade does
 * (judge.ts#pickCandidate: a synchronous standby when there is one, else the healthy replica
 * with the least lag) and says which, then runs the same pre-checks on it.
 */
export async function switchover(
  dir: string,
  req: Omit<SwitchoverRequest, 'candidate'> & { candidate?: string | undefined },
  out: (line: string) => void,
  seams: SessionSeams = {},
): Promise<SwitchoverReport> {
  const named = req.candidate;
  if (named !== undefined) {
    return withLive(dir, (live) => switchoverLive(live, { ...req, candidate: named }, out), { names: [named], as: 'refusal' }, seams);
  }
  return withLive(
    dir,
    async (live) => {
      const info = await readCluster(live);
      const leader = leaderName(info);
      const candidate = leader === undefined ? undefined : pickCandidate(info, leader);
      if (candidate === undefined) {
        throw new RefusedError('switchover refused; nothing was changed: no healthy replica to switch over to', [], {
          hint: '`pgha status DIR` shows the members; name one with `pgha switchover DIR NEW_PRIMARY` once it streams',
        });
      }
      const sync = info.members.find((m) => m.name === candidate)?.role === 'sync_standby';
      out(`candidate: ${candidate} (${sync ? 'the synchronous standby' : 'the healthy replica with the least lag'})`);
      return switchoverLive(live, { ...req, candidate }, out);
    },
    undefined,
    seams,
  );
}

/**
 * The switchover on an open session: the pre-checks (a refusal lists every reason), the request
 * from the leader's member tunnel, then the waits until the candidate leads, writes reach it
 * through every entry point clients use (the VIP rather than the proxies behind it: a proxy host
 * that is down is a warning, not a failure) and the old leader streams from it. `pgha upgrade`
 * moves its leader through here too.
 */
export async function switchoverLive(live: Live, req: SwitchoverRequest, out: (line: string) => void): Promise<SwitchoverReport> {
  const facts = await gatherFacts(live, req.candidate);
  const verdict = evaluateSwitchover(facts);
  if (verdict.reasons.length || !verdict.leader) {
    throw new RefusedError(`switchover to ${req.candidate} refused; nothing was changed:`, verdict.reasons, {
      hint: 'fix the listed problems (`patronictl list` on a data node shows the members) and run again',
    });
  }
  const from = verdict.leader;
  const to = req.candidate;
  out(
    `switchover: ${from} → ${to}${req.scheduledAt ? ` at ${req.scheduledAt}` : ''} (lag of ${to}: ${verdict.lag ?? 0} bytes, limit ${facts.maxLag})`,
  );
  await confirmOrRefuse(
    `Switch the leader from ${from} to ${to}${req.scheduledAt ? ` at ${req.scheduledAt}` : ' now'}?`,
    req.force,
    'switchover',
  );

  const t0 = Date.now();
  const outcome = await postSwitchover(live.session.patroni(from, { fromMember: true }), {
    leader: from,
    candidate: to,
    ...(req.scheduledAt ? { scheduled_at: req.scheduledAt } : {}),
  }).catch((e: unknown) => {
    throw explainPatroniRefusal(e, to);
  });
  if (outcome.kind === 'scheduled') {
    const at = (await readCluster(live)).scheduled_switchover?.at ?? req.scheduledAt ?? '';
    out(`scheduled: Patroni switches over from ${from} to ${to} at ${at} (cancel with \`pgha switchover DIR --cancel\`)`);
    return { from, to, scheduledAt: at, endpoints: [], warnings: [] };
  }
  if (outcome.kind === 'unknown') out(`Patroni: ${outcome.message}; polling the cluster`);

  const newLeader = await waitLeader(
    live.session,
    live.dataNodes.map((h) => h.name),
    { notName: from },
    {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: `${to} to lead`,
      where: `${to}: patroni`,
      hint: `look at \`journalctl -u patroni@${live.loaded.cluster.name}\` on ${from} and ${to}`,
    },
  );
  if (newLeader !== to) {
    throw new RuntimeError(`${newLeader} took the lead instead of ${to}`, {
      hint: `run \`pgha switchover DIR ${to}\` again once the cluster is healthy`,
    });
  }
  const toLeaderMs = Date.now() - t0;
  out(`${to} leads after ${fmtSeconds(toLeaderMs)}`);

  const { reached, missed } = await waitWritesReachLeader(live, to, t0, req.writesTimeoutMs);
  const toWritesMs = reached.length ? Math.max(...reached.map((r) => r.ms)) : undefined;
  if (reached.length) out(`writes reach ${to} through ${reached.map((r) => `${r.ep.via} after ${fmtSeconds(r.ms)}`).join(', ')}`);
  const warnings = missed.map((m) => missedEndpointWarning(m, to, platformFor(live.loaded.cluster.platform).hostDownRemedy));
  for (const w of warnings) out(w);
  await waitBack(live, from, `${from} to stream from ${to}`, req.backTimeoutMs ?? 180_000);
  const totalMs = Date.now() - t0;
  out(`${from} streams from ${to}; switchover done in ${fmtSeconds(totalMs)} (new leader after ${fmtSeconds(toLeaderMs)})`);
  return {
    from,
    to,
    toLeaderMs,
    ...(toWritesMs !== undefined ? { toWritesMs } : {}),
    totalMs,
    endpoints: reached.map((r) => r.ep.via),
    warnings,
  };
}

/**
 * A proxy behind the VIP that writes did not reach: the switchover stands (clients use the VIP,
 * which reached the new leader through another proxy), but that proxy cannot take the VIP over
 * until it is back. Names the host and what to do about it.
 */
export function missedEndpointWarning(m: MissedEndpoint, leader: string, hostDownRemedy: string): string {
  const host = m.ep.host ?? m.ep.via;
  const unit = m.ep.via.split(' on ')[0]!.toLowerCase();
  return (
    `warning: writes through ${m.ep.via} do not reach ${leader} (${m.last}); the VIP ${m.ep.servedThrough ?? ''} does, ` +
    `but ${host} cannot take it over: if ${host} is down, ${hostDownRemedy}, else look at \`systemctl status ${unit}\` on ${host}; then run \`pgha test DIR\``
  );
}

/**
 * Patroni's 412 when the candidate is not a synchronous standby ("candidate name does not match
 * with sync_standby"): the pre-check missed it because the synchronous standby changed between
 * the check and the request (or the DCS turned synchronous mode on meanwhile). Said in plain
 * words; any other error passes through unchanged.
 */
export function explainPatroniRefusal(e: unknown, candidate: string): unknown {
  if (!(e instanceof RefusedError) || !/answered 412\b/.test(e.message) || !/sync/i.test(e.message)) return e;
  return new RefusedError(
    `switchover to ${candidate} refused by Patroni; nothing was changed: ${candidate} is not the synchronous standby now, and with synchronous replication on Patroni promotes only a synchronous standby (it would lose the commits only that standby has)`,
    [e.message.split('\n')[0]!],
    {
      hint: '`pgha status DIR` names the synchronous standby: switch over to it, or set patroni_synchronous_mode: off and run `pgha deploy DIR` first',
    },
  );
}

export async function cancelScheduledSwitchover(dir: string, out: (line: string) => void, seams: SessionSeams = {}): Promise<void> {
  await withLive(
    dir,
    async (live) => {
      const info = await readCluster(live);
      const via = leaderName(info) ?? live.dataNodes[0]!.name;
      const scheduled = info.scheduled_switchover;
      const removed = await cancelSwitchover(live.session.patroni(via, { fromMember: true }));
      if (!removed) {
        throw new RefusedError('no scheduled switchover to cancel', [], {
          hint: 'a switchover that already ran cannot be undone; switch over again instead',
        });
      }
      out(`cancelled the scheduled switchover${scheduled?.to ? ` to ${scheduled.to}` : ''}${scheduled?.at ? ` at ${scheduled.at}` : ''}`);
    },
    undefined,
    seams,
  );
}
