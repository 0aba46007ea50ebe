/**
 * The steps remove-node and replace-node share: the etcd quorum check without a member, the
 * member's key in the DCS deleted, its host keys dropped from DIR/ssh/known_hosts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { etcdMembers } from '../../components/common.js';
import { EtcdGateway } from '../../components/etcd/auth.js';
import { etcdPeerUrl } from '../../components/etcd/config.js';
import { etcdHealth } from '../../components/etcd/live.js';
import { applyEtcdMemberStep, planEtcdMembership, readEtcdMembers, type EtcdMemberStep } from '../../components/etcd/membership.js';
import { RefusedError } from '../../errors.js';
import type { ResolvedHost } from '../../model/types.js';
import { ETCD_ROOT_SECRET } from '../../secrets/store.js';
import { knownHostsName } from '../../transport/known-hosts.js';
import type { ClusterSession } from '../session.js';
import { tryReadCluster } from '../live/view.js';
import { onPatroniDcs } from '../patroni-dcs.js';
import { waitFor } from '../wait.js';
import { replicationSlotExistsCommand } from '../../components/host-commands.js';
import { patchDcsConfig } from '../../patroni/ops.js';
import { run } from '../../transport/types.js';
import { withoutKnownHosts } from './config-edit.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Refused (exit 3) before anything changes when etcd would lose its quorum without `host`'s member. */
export async function checkEtcdQuorum(
  session: ClusterSession,
  host: ResolvedHost,
  remaining: ResolvedHost[],
  verb = 'remove',
): Promise<{ gw: EtcdGateway; steps: EtcdMemberStep[] }> {
  const members = etcdMembers(session.cluster);
  const health = await Promise.all(
    members.map(async (h) => ({
      name: h.name,
      healthy: await etcdHealth(session.etcdHttp(h.name)).then(
        (x) => x.healthy,
        () => false,
      ),
    })),
  );
  const healthy = health.filter((h) => h.healthy).map((h) => h.name);
  const via = healthy.find((n) => n !== host.name);
  if (!via) {
    throw new RefusedError(`refusing to ${verb} ${host.name}; nothing was changed:`, ['no other etcd member answers healthy'], {
      hint: 'bring etcd back on the other members first (`pgha status DIR`)',
    });
  }
  const gw = new EtcdGateway(session.etcdHttp(via), `${via}: etcd`);
  if (host.vars.etcd_authentication_mode === 'basic') await gw.authenticate('root', session.material.secrets.get(ETCD_ROOT_SECRET));
  const wanted = etcdMembers({ ...session.cluster, hosts: remaining }).map((h) => ({ name: h.name, peerUrl: etcdPeerUrl(h) }));
  const plan = planEtcdMembership(await readEtcdMembers(gw), wanted, healthy);
  if (plan.refusals.length) {
    throw new RefusedError(`refusing to ${verb} ${host.name}; nothing was changed:`, plan.refusals, plan.hint ? { hint: plan.hint } : {});
  }
  return { gw, steps: plan.steps };
}

/** The member's etcd membership removed now (replace-node: before its host comes back empty). */
export async function removeEtcdMember(check: { gw: EtcdGateway; steps: EtcdMemberStep[] }): Promise<void> {
  for (const step of check.steps) await applyEtcdMemberStep(check.gw, step);
}

/** `host`'s pinned keys (by name and address) dropped from DIR/ssh/known_hosts; a line saying so, or undefined. */
export function dropKnownHosts(file: string, host: ResolvedHost): string | undefined {
  if (!existsSync(file)) return undefined;
  const ip = knownHostsName(host.ip);
  writeFileSync(
    file,
    withoutKnownHosts(readFileSync(file, 'utf8'), (p) => p === host.name || p === ip),
  );
  return `${file}: ${host.name}'s host keys dropped`;
}

/**
 * The removed member's key in the DCS, deleted at once instead of left to expire with its lease
 * (up to ttl): until it goes, the leader keeps its replication slot and status lists it.
 */
export async function forgetMember(session: ClusterSession, remaining: ResolvedHost[], name: string): Promise<string | undefined> {
  const outcome = await onPatroniDcs(
    session,
    (gw, prefix) => gw.must('/v3/kv/deleterange', { key: b64(`${prefix}members/${name}`) }),
    remaining,
  );
  // Not fatal: the key expires with its lease on its own.
  return outcome.ok ? undefined : `${name}'s member key stays in etcd until its lease expires (${outcome.errors.join('; ')})`;
}

/**
 * Until the remaining members' DCS view no longer lists `name` (its key deleted, or expired with
 * its lease: at most ttl), bounded; a line saying it still shows, or undefined once gone.
 */
export async function waitMemberGone(
  session: ClusterSession,
  members: readonly string[],
  name: string,
  timeoutMs = 45_000,
): Promise<string | undefined> {
  const gone = await waitFor(
    async () => {
      const info = await tryReadCluster(session, members);
      return info && !info.members.some((m) => m.name === name) ? true : undefined;
    },
    { timeoutMs, intervalMs: 500, what: `${name} to leave the DCS` },
  ).catch(() => false);
  return gone
    ? undefined
    : `${name} still shows in Patroni's view after ${Math.round(timeoutMs / 1000)} s; it goes when its key's lease expires`;
}

/** The physical slot Patroni keeps for a member: its name, lower-cased, anything but [a-z0-9_] as `_`. */
export function slotNameOf(member: string): string {
  return member.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * The leader's replication slot for a member that left, dropped now. Patroni 4 keeps the slots of
 * members that disappeared for `member_slots_ttl` (30 min by default), retaining WAL for a node
 * that is not coming back; remove-node sets it to 0 for one HA cycle (the PATCH wakes the leader's
 * loop), waits until the slot is gone, and puts the DCS value back. Patroni 3 drops the slot
 * itself once the member's key is gone, and ignores the key. A line when the slot stays.
 */
export async function dropMemberSlot(session: ClusterSession, leader: string, member: string): Promise<string | undefined> {
  const slot = slotNameOf(member);
  const port = Number(session.host(leader).vars.postgres_port);
  const exists = async () =>
    (await run(session.transport(leader), replicationSlotExistsCommand(slot, port), 'read replication slots')).stdout.trim() === '1';
  if (!(await exists())) return undefined;
  const before = (await session.patroni(leader).config()).member_slots_ttl;
  const writer = session.patroni(leader, { fromMember: true });
  await patchDcsConfig(writer, { member_slots_ttl: 0 });
  try {
    const gone = await waitFor(async () => ((await exists()) ? undefined : true), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `${leader} to drop ${member}'s replication slot`,
    }).catch(() => false);
    return gone
      ? undefined
      : `${leader} still holds replication slot ${slot}: drop it there (SELECT pg_drop_replication_slot('${slot}')) once Patroni no longer lists ${member}`;
  } finally {
    await patchDcsConfig(writer, { member_slots_ttl: before ?? null });
  }
}
