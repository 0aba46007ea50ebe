/**
 * `pgha restore DIR --target-time T | --target-lsn L | --target-name N | --latest [--force]`:
 * point-in-time recovery of the whole cluster in place, from its pgBackRest repository.
 *
 * The order, and why (docs/architecture.md#restore):
 *  1. refuse before touching anything: no repository, no backup, a time before the earliest
 *     restorable one or in the future, or a live cluster without --force (exit 3);
 *  2. stop every member, replicas first, so no failover runs while the cluster goes down;
 *  3. forget the cluster's state in etcd, keeping its configuration;
 *  4. restore and recover the node that will lead, by hand (see ../../components/pgbackrest/restore.ts);
 *  5. start its Patroni: it takes the leader key of an empty DCS, a new cluster epoch, and
 *     archives onto a new timeline;
 *  6. a full backup on the new timeline, then the replicas emptied and started: Patroni builds
 *     them from that backup (create_replica_methods: pgbackrest first);
 *  7. `pgha test`.
 * Each step is safe to repeat: a restore killed anywhere is finished by running it again (with
 * --force when the restored leader already runs).
 */
import { backupCommand } from '../../components/pgbackrest/commands.js';
import { backupHostOf, stanzaOf } from '../../components/pgbackrest/topology.js';
import {
  emptyDataCommand,
  flushArchiveCommand,
  recoverCommand,
  restoreDataCommand,
  startPatroniCommand,
  stopMemberCommand,
} from '../../components/pgbackrest/restore.js';
import { patroniUnit } from '../../components/patroni/config.js';
import { dataNodes } from '../../components/common.js';
import { RefusedError, UsageError } from '../../errors.js';
import type { ResolvedHost } from '../../model/types.js';
import { leaderOf } from '../../patroni/types.js';
import { run } from '../../transport/types.js';
import { ensureClusterMaterial, loadCluster } from '../cluster-dir.js';
import { runTest } from '../health.js';
import * as view from '../live/view.js';
import { ClusterSession } from '../session.js';
import { forgetClusterState } from './dcs.js';
import { readRepositoryInfo } from '../backups.js';
import { restorable } from './repository.js';
import { readJournal, removeJournal, writeJournal } from './journal.js';
import { describeTarget, pgbackrestTargetArgs, restoreTarget, type RestoreFlags } from './target.js';

export interface RestoreOptions extends RestoreFlags {
  force?: boolean;
}

const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

export async function restore(dir: string, o: RestoreOptions, out: (line: string) => void): Promise<number> {
  const target = restoreTarget(o);
  const loaded = loadCluster(dir);
  const { cluster } = loaded;
  const nodes = dataNodes(cluster);
  const repos = [...new Set(nodes.map((h) => backupHostOf(cluster, h)).filter((h): h is ResolvedHost => h !== undefined))];
  const repo = repos[0];
  if (!repo || repos.length !== 1) {
    throw new UsageError(
      `${loaded.paths.config}: no data node names a pgBackRest repository host (instance key backup:), so there is nothing to restore from`,
      {
        hint: 'add a host with role pgbackrest and set backup: <that host> on every data node (configure --enable-pgbackrest does both), then deploy and take a backup',
      },
    );
  }
  const stanza = stanzaOf(cluster);
  const material = await ensureClusterMaterial(loaded);
  const session = new ClusterSession(cluster, loaded.paths, material);
  const names = nodes.map((h) => h.name);
  const t0 = Date.now();
  try {
    await session.connect([...nodes, repo]);

    // 1. Refusals, before anything changes.
    const info = await readRepositoryInfo(session.transport(repo.name), stanza);
    const window = restorable(info);
    if (!window) {
      throw new RefusedError(`refused; nothing was changed: the repository on ${repo.name} holds no backup of ${stanza}`, [], {
        hint: `take one with \`pgha backup ${dir}\``,
      });
    }
    if (target.kind === 'time') {
      if (target.at.getTime() < window.earliest.getTime()) {
        throw new RefusedError(`refused; nothing was changed: ${describeTarget(target)} is before the earliest restorable time`, [
          `earliest restorable time: ${window.earliest.toISOString()} (the end of backup ${window.earliestLabel})`,
        ]);
      }
      if (target.at.getTime() > Date.now()) {
        throw new RefusedError(`refused; nothing was changed: ${describeTarget(target)} is in the future`, [], {
          hint: 'to recover everything archived, use --latest',
        });
      }
    }
    const members = await view.readMembers(session, names, 5_000);
    const answering = members.filter((m) => m.info);
    const liveLeader = answering.map((m) => leaderOf(m.info!)).find((l) => l !== undefined);
    if (answering.length && !o.force) {
      throw new RefusedError(
        `refused; nothing was changed: ${cluster.name} is live`,
        [
          `${answering.map((m) => m.name).join(', ')} answer${answering.length === 1 ? 's' : ''}${liveLeader ? `, ${liveLeader.name} leads` : ''}`,
          `a restore replaces the data of every member with the state at ${describeTarget(target)}; writes since then are lost`,
        ],
        { hint: 'add --force to restore anyway' },
      );
    }
    const lead = nodes.find((h) => h.name === liveLeader?.name) ?? nodes[0]!;
    const replicas = nodes.filter((h) => h !== lead);
    const unit = patroniUnit(cluster);
    // The newest WAL into the repository while the leader still runs (see flushArchiveCommand).
    if (liveLeader) {
      const flushed = await run(session.transport(lead.name), flushArchiveCommand(lead), 'archive the current WAL segment');
      out(`  ${lead.name}: WAL archived up to segment ${flushed.stdout.trim()}`);
    }
    const journalPath = loaded.paths.restoreJournal;
    const resumed = readJournal(journalPath);
    // The live leader's timeline is the newest; the archive's newest segment can be a timeline
    // behind it (a switchover archives the new timeline's history file at once, its first
    // segment only when that fills).
    const timeline = resumed?.target === describeTarget(target) ? resumed.timeline : (liveLeader?.timeline ?? window.timeline);
    if (timeline === undefined) {
      throw new RefusedError(`refused; nothing was changed: the repository on ${repo.name} holds no archived WAL of ${stanza}`, [], {
        hint: `check archiving with \`pgha test ${dir}\``,
      });
    }
    await writeJournal(journalPath, { target: describeTarget(target), timeline, started: new Date().toISOString() });
    out(
      `restore ${cluster.name} to ${describeTarget(target)} along timeline ${timeline}${resumed?.timeline === timeline ? ' (resuming a restore begun ' + resumed.started + ')' : ''} from ${repo.name} (stanza ${stanza}); ${lead.name} will lead`,
    );

    // 2. Every member down, replicas first.
    for (const h of [...replicas, lead]) {
      const r = await run(session.transport(h.name), stopMemberCommand(h, unit), 'stop Patroni and PostgreSQL');
      out(`  ${h.name}: ${r.stdout.includes('stopped') ? 'stopped' : 'already stopped'}`);
    }

    // 3. The DCS forgets the old cluster (its configuration stays).
    const forgotten = await forgetClusterState(session);
    out(`  etcd: forgot ${forgotten.length} key(s) of the old cluster's state; its configuration kept`);

    // 4. The leader-to-be recovers to the target.
    const t1 = Date.now();
    await run(session.transport(lead.name), restoreDataCommand(lead, stanza, pgbackrestTargetArgs(target, timeline)), 'pgbackrest restore');
    const rec = await run(session.transport(lead.name), recoverCommand(lead), 'recover to the target');
    // "in X s" is the restore and recovery alone (the bench compares it with unpacking the same
    // backup); the figure in brackets counts from the start, stops and DCS reset included.
    out(
      `  ${lead.name}: restored and recovered to ${describeTarget(target)} in ${elapsed(t1)}, promoted onto timeline ${rec.stdout.trim().split('\n').pop() ?? '?'} (${elapsed(t0)})`,
    );

    // 5. Patroni takes it over as the first member of a new epoch.
    await run(session.transport(lead.name), startPatroniCommand(unit), 'start Patroni');
    // Leading is not enough for a backup: Patroni takes the key first and promotes after, and
    // pgBackRest refuses to back up a cluster in recovery. waitBack waits for both.
    await view.waitBack(session, names, lead.name, { what: `${lead.name} to lead the restored cluster`, cluster: cluster.name });
    out(`  ${lead.name}: leads (${elapsed(t0)})`);

    // 6. A backup on the new timeline, then the replicas built from it.
    if (replicas.length) {
      await run(session.transport(repo.name), backupCommand(stanza, 'full', { fromPrimary: true }), 'full backup of the restored cluster');
      out(`  ${repo.name}: full backup of the new timeline taken (${elapsed(t0)})`);
      for (const h of replicas) {
        await run(session.transport(h.name), emptyDataCommand(h), 'empty the data directory');
        await run(session.transport(h.name), startPatroniCommand(unit), 'start Patroni');
      }
      await view.waitAllStreaming(session, names, names, { maxLag: 16 * 1024 * 1024, timeoutMs: 1_800_000 });
      out(`  ${replicas.map((h) => h.name).join(', ')}: rebuilt from the repository and streaming (${elapsed(t0)})`);
    }
    removeJournal(journalPath);
  } finally {
    await session.close();
  }
  out(`restored in ${elapsed(t0)}; pgha test:`);
  return runTest(dir);
}
