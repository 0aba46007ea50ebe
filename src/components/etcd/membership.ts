/**
 * etcd's membership changed at runtime, one member at a time (etcd's own rule for runtime
 * reconfiguration): a member config.yml adds is announced with `member add` before it first
 * starts, and joins with `initial-cluster-state: existing`; a member config.yml no longer names
 * is dropped with `member remove`. The judgement (which step, and whether quorum survives it) is
 * pure; reading and changing the membership go through etcd's JSON gateway.
 */
import { RuntimeError } from '../../errors.js';
import type { EtcdGateway } from './auth.js';

/** A majority of `members`: what etcd needs healthy to work. */
export function quorumOf(members: number): number {
  return Math.floor(members / 2) + 1;
}

/** A member as `member list` reports it; one added but not started yet has no name. */
export interface LiveEtcdMember {
  id: string;
  name: string;
  peerUrls: string[];
}

/** A member config.yml wants: its name and peer URL (what `member add` announces). */
export interface WantedEtcdMember {
  name: string;
  peerUrl: string;
}

export type EtcdMemberStep = { op: 'add'; name: string; peerUrl: string } | { op: 'remove'; name: string; id: string; peerUrl: string };

export interface EtcdMembershipPlan {
  steps: EtcdMemberStep[];
  /** Non-empty: refuse (exit 3) before anything changes. */
  refusals: string[];
  hint?: string;
}

export function describeEtcdMemberStep(s: EtcdMemberStep): string {
  return s.op === 'add' ? `add member ${s.name} (${s.peerUrl})` : `remove member ${s.name} (${s.peerUrl})`;
}

/** The name a live member goes by: its own, or (added, never started) the wanted one at its peer URL. */
function liveName(m: LiveEtcdMember, wanted: readonly WantedEtcdMember[]): string {
  return m.name || wanted.find((w) => m.peerUrls.includes(w.peerUrl))?.name || `(unstarted ${m.peerUrls.join(',')})`;
}

/**
 * The membership step this deploy takes, if any. `healthy`: the live members (by name) that
 * answered healthy. Members are matched by peer URL, which is what etcd knows them by.
 *
 * One change per run: etcd validates a joining member's `initial-cluster` against the membership
 * as it is when the member starts, and a second change before the first member is healthy risks
 * quorum. Each step keeps a majority of the new membership healthy, or is refused.
 */
export function planEtcdMembership(
  live: readonly LiveEtcdMember[],
  wanted: readonly WantedEtcdMember[],
  healthy: readonly string[],
): EtcdMembershipPlan {
  const add = wanted.filter((w) => !live.some((m) => m.peerUrls.includes(w.peerUrl)));
  const remove = live.filter((m) => !wanted.some((w) => m.peerUrls.includes(w.peerUrl)));
  const steps: EtcdMemberStep[] = [
    ...remove.map((m): EtcdMemberStep => ({ op: 'remove', name: liveName(m, wanted), id: m.id, peerUrl: m.peerUrls[0] ?? '' })),
    ...add.map((w): EtcdMemberStep => ({ op: 'add', name: w.name, peerUrl: w.peerUrl })),
  ];
  if (steps.length === 0) return { steps, refusals: [] };
  const names = live.map((m) => liveName(m, wanted));
  const up = names.filter((n) => healthy.includes(n));
  if (steps.length > 1) {
    return {
      steps,
      refusals: [
        `config.yml changes etcd's membership by ${steps.length} members (${steps.map(describeEtcdMemberStep).join('; ')}); etcd changes one member at a time`,
      ],
      hint: `change one etcd member per deploy: put all but one of these changes back in config.yml, deploy, and repeat (live members: ${names.join(', ')})`,
    };
  }
  const step = steps[0]!;
  const size = live.length + (step.op === 'add' ? 1 : -1);
  // A member being added is not healthy until it has started; one being removed no longer counts.
  const remaining = step.op === 'remove' ? up.filter((n) => n !== step.name) : up;
  if (size < 1) {
    return {
      steps,
      refusals: [`removing ${step.name} would leave etcd with no member`],
      hint: 'keep at least one etcd member in config.yml',
    };
  }
  if (remaining.length < quorumOf(size)) {
    const down = names.filter((n) => !healthy.includes(n));
    return {
      steps,
      refusals: [
        `etcd would lose its quorum: after ${describeEtcdMemberStep(step)} it has ${size} members, needing ${quorumOf(size)} healthy, ` +
          `and only ${remaining.length} (${remaining.join(', ') || 'none'}) are${down.length ? `; down: ${down.join(', ')}` : ''}`,
      ],
      hint: `bring the members that are down back first (\`pgha status DIR\` shows etcd's health), then deploy again`,
    };
  }
  return { steps, refusals: [] };
}

/** The gateway's uint64 member IDs arrive as decimal strings; `member list` and `remove` use them as such. */
interface MemberListBody {
  members?: { ID?: string; name?: string; peerURLs?: string[] }[];
}

export async function readEtcdMembers(gw: EtcdGateway): Promise<LiveEtcdMember[]> {
  const res = await gw.must('/v3/cluster/member/list', {});
  const body = res.body as MemberListBody;
  return (body.members ?? []).map((m) => ({ id: String(m.ID ?? ''), name: m.name ?? '', peerUrls: m.peerURLs ?? [] }));
}

export async function applyEtcdMemberStep(gw: EtcdGateway, s: EtcdMemberStep): Promise<void> {
  if (s.op === 'add') {
    // Already added by a run that stopped before starting the member: add would fail "Peer URLs already exists".
    const live = await readEtcdMembers(gw);
    if (live.some((m) => m.peerUrls.includes(s.peerUrl))) return;
    await gw.must('/v3/cluster/member/add', { peerURLs: [s.peerUrl] });
    return;
  }
  if (!s.id) throw new RuntimeError(`etcd member ${s.name} has no ID in member list`);
  await gw.must('/v3/cluster/member/remove', { ID: s.id }, /member not found/i);
}
