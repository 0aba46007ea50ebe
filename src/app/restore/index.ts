/**
 * `pgha restore DIR --target-time T | --target-lsn L | --target-name N | --latest [--force]`:
 * point-in-time recovery of the whole cluster in place, from its pgBackRest repository; with
 * `--clone NEWDIR`, into another cluster instead (./clone.ts).
 *
 * The order, and why (docs/architecture.md#restore):
 *  1. refuse before touching anything: no repository, no backup, a time before the earliest
 *     restorable one or in the future, or a live cluster without --force (exit 3);
 *  2. on a live cluster, the leader's current WAL segment archived, so a recent target is in
 *     the repository;
 *  3. the cluster rebuilt from the repository (./rebuild.ts: every member stopped, the DCS
 *     state forgotten, the leader-to-be restored and recovered, a full backup on the new
 *     timeline, the replicas built from it);
 *  4. `pgha test`.
 * Each step is safe to repeat: a restore killed anywhere is finished by running it again (with
 * --force when the restored leader already runs).
 */
import { flushArchiveCommand } from '../../components/pgbackrest/restore.js';
import { stanzaOf } from '../../components/pgbackrest/topology.js';
import { dataNodes } from '../../components/common.js';
import { RefusedError } from '../../errors.js';
import { leaderOf } from '../../patroni/types.js';
import { run } from '../../transport/types.js';
import { readRepositoryInfo } from '../backups.js';
import { ensureClusterMaterial, loadCluster } from '../cluster-dir.js';
import { runTest } from '../health.js';
import * as view from '../live/view.js';
import { ClusterSession } from '../session.js';
import { recoveryTimeline, refuseOutsideWindow, repositoryHostOf } from './checks.js';
import { readJournal, removeJournal, writeJournal } from './journal.js';
import { elapsed, rebuildFromRepository } from './rebuild.js';
import { describeTarget, restoreTarget, type RestoreFlags } from './target.js';

export interface RestoreOptions extends RestoreFlags {
  force?: boolean;
}

export async function restore(dir: string, o: RestoreOptions, out: (line: string) => void): Promise<number> {
  const target = restoreTarget(o);
  const loaded = loadCluster(dir);
  const { cluster } = loaded;
  const nodes = dataNodes(cluster);
  const repo = repositoryHostOf(loaded, 'so there is nothing to restore from');
  const stanza = stanzaOf(cluster);
  const material = await ensureClusterMaterial(loaded);
  const session = new ClusterSession(cluster, loaded.paths, material);
  const names = nodes.map((h) => h.name);
  const t0 = Date.now();
  try {
    await session.connect([...nodes, repo]);

    // 1. Refusals, before anything changes.
    const where = { repo: repo.name, stanza, dir };
    const window = refuseOutsideWindow(await readRepositoryInfo(session.transport(repo.name), stanza), target, where);
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
    // The newest WAL into the repository while the leader still runs (see flushArchiveCommand).
    if (liveLeader) {
      const flushed = await run(session.transport(lead.name), flushArchiveCommand(lead), 'archive the current WAL segment');
      out(`  ${lead.name}: WAL archived up to segment ${flushed.stdout.trim()}`);
    }
    const journalPath = loaded.paths.restoreJournal;
    const resumed = readJournal(journalPath);
    const timeline = recoveryTimeline(resumed, target, liveLeader?.timeline, window.timeline, where);
    await writeJournal(journalPath, { target: describeTarget(target), timeline, started: new Date().toISOString() });
    out(
      `restore ${cluster.name} to ${describeTarget(target)} along timeline ${timeline}${resumed?.timeline === timeline ? ' (resuming a restore begun ' + resumed.started + ')' : ''} from ${repo.name} (stanza ${stanza}); ${lead.name} will lead`,
    );
    await rebuildFromRepository({
      session,
      secrets: material.secrets,
      lead,
      replicas: nodes.filter((h) => h !== lead),
      repo,
      stanza,
      target,
      timeline,
      out,
      t0,
    });
    removeJournal(journalPath);
  } finally {
    await session.close();
  }
  out(`restored in ${elapsed(t0)}; pgha test:`);
  return runTest(dir);
}
