/**
 * The part of a restore that rebuilds a cluster from its repository, shared by `pgha restore`
 * in place and by `--clone` (./index.ts, ./clone.ts hold the refusals before it):
 *
 *  1. stop every member, replicas first, so no failover runs while the cluster goes down;
 *  2. forget the cluster's state in etcd, keeping its configuration;
 *  3. (the clone's repository copy, `beforeRestore`);
 *  4. restore and recover the node that will lead, by hand (see
 *     ../../components/pgbackrest/restore.ts for why not through Patroni);
 *  5. start its Patroni: it takes the leader key of an empty DCS, a new cluster epoch, and
 *     archives onto a new timeline; then the passwords of Patroni's roles set from DIR/secrets
 *     where the backup holds others (a backup from before `pgha rotate-passwords`, or another
 *     cluster's), so the replicas and Patroni's own logins work;
 *  6. a full backup on the new timeline, then the replicas emptied and started: Patroni builds
 *     them from that backup (create_replica_methods: pgbackrest first).
 * Each step is safe to repeat.
 */
import { backupCommand } from '../../components/pgbackrest/commands.js';
import {
  emptyDataCommand,
  recoverCommand,
  restoreDataCommand,
  startPatroniCommand,
  stopMemberCommand,
} from '../../components/pgbackrest/restore.js';
import { patroniUnit } from '../../components/patroni/config.js';
import type { ResolvedHost } from '../../model/types.js';
import type { SecretStore } from '../../secrets/store.js';
import { run } from '../../transport/types.js';
import * as view from '../live/view.js';
import { setPatroniRoles, stalePatroniRoles } from '../role-passwords.js';
import type { ClusterSession } from '../session.js';
import { forgetClusterState } from './dcs.js';
import { describeTarget, pgbackrestTargetArgs, type RestoreTarget } from './target.js';

export const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

export interface Rebuild {
  session: ClusterSession;
  secrets: SecretStore;
  lead: ResolvedHost;
  replicas: readonly ResolvedHost[];
  repo: ResolvedHost;
  stanza: string;
  target: RestoreTarget;
  timeline: number;
  out: (line: string) => void;
  /** When the command started: the running totals count from it. */
  t0: number;
  /** Run once every member is down and the DCS forgot them, before the leader-to-be restores. */
  beforeRestore?: () => Promise<void>;
}

export async function rebuildFromRepository(r: Rebuild): Promise<void> {
  const { session, lead, replicas, repo, stanza, target, out, t0 } = r;
  const unit = patroniUnit(session.cluster);
  const names = [lead, ...replicas].map((h) => h.name);
  const on = (h: ResolvedHost) => session.transport(h.name);

  for (const h of [...replicas, lead]) {
    const s = await run(on(h), stopMemberCommand(h, unit), 'stop Patroni and PostgreSQL');
    out(`  ${h.name}: ${s.stdout.includes('stopped') ? 'stopped' : 'already stopped'}`);
  }
  const forgotten = await forgetClusterState(session);
  out(`  etcd: forgot ${forgotten.length} key(s) of the old cluster's state; its configuration kept`);
  await r.beforeRestore?.();

  const t1 = Date.now();
  await run(on(lead), restoreDataCommand(lead, stanza, pgbackrestTargetArgs(target, r.timeline)), 'pgbackrest restore');
  const rec = await run(on(lead), recoverCommand(lead, stanza), 'recover to the target');
  // "in X s" is the restore and recovery alone (the bench compares it with unpacking the same
  // backup); the figure in brackets counts from the start, stops and DCS reset included.
  out(
    `  ${lead.name}: restored and recovered to ${describeTarget(target)} in ${elapsed(t1)}, promoted onto timeline ${rec.stdout.trim().split('\n').pop() ?? '?'} (${elapsed(t0)})`,
  );

  await run(on(lead), startPatroniCommand(unit), 'start Patroni');
  // Leading is not enough for a backup: Patroni takes the key first and promotes after, and
  // pgBackRest refuses to back up a cluster in recovery. waitBack waits for both.
  await view.waitBack(session, names, lead.name, { what: `${lead.name} to lead the restored cluster`, cluster: session.cluster.name });
  out(`  ${lead.name}: leads (${elapsed(t0)})`);
  const reset = await resetRolePasswords(r);
  if (reset.length) out(`  ${lead.name}: password of ${reset.join(', ')} set from the cluster directory's secrets`);

  if (replicas.length) {
    await run(on(repo), backupCommand(stanza, 'full', { fromPrimary: true }), 'full backup of the restored cluster');
    out(`  ${repo.name}: full backup of the new timeline taken (${elapsed(t0)})`);
    for (const h of replicas) {
      await run(on(h), emptyDataCommand(h), 'empty the data directory');
      await run(on(h), startPatroniCommand(unit), 'start Patroni');
    }
    await view.waitAllStreaming(session, names, names, { maxLag: 16 * 1024 * 1024, timeoutMs: 1_800_000 });
    out(`  ${replicas.map((h) => h.name).join(', ')}: rebuilt from the repository and streaming (${elapsed(t0)})`);
  }
}

/** Patroni's roles whose stored password is not DIR/secrets' one, set; returns their names. */
async function resetRolePasswords(r: Rebuild): Promise<string[]> {
  const t = r.session.transport(r.lead.name);
  const secret = (n: string) => r.secrets.get(n);
  const stale = await stalePatroniRoles(t, r.lead.vars, secret);
  if (stale.length) await setPatroniRoles(t, r.lead.vars, secret, stale);
  return stale;
}
