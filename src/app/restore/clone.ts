/**
 * `pgha restore DIR --clone NEWDIR --target-time T` (or any other target): a new cluster, with
 * NEWDIR's own config.yml, hosts, CA, passwords and repository host, built from DIR's repository
 * to the target (Crunchy's clone). DIR's cluster is not changed: when it runs, its leader's
 * current WAL segment is archived (as `pgbackrest check` does), nothing else.
 *
 * Why NEWDIR gets a copy of DIR's stanza rather than a way into DIR's repository: DIR's
 * repository host trusts DIR's CA and admits DIR's hosts by name, and on nspawn the two
 * clusters sit on separate bridges. Reaching it would mean changing DIR's repository host and
 * both networks; a copy through pgha (../../transport/pipe.ts) needs neither, and afterwards
 * NEWDIR archives and backs up into a repository of its own, with the history it came from.
 *
 * The order:
 *  1. refusals, nothing touched: NEWDIR is DIR, shares an address with it, runs another
 *     PostgreSQL major, or names no repository host (exit 2); DIR's repository has no backup or
 *     the target is outside its window; NEWDIR's repository has backups of its own, so its
 *     cluster is in use (exit 3, unless --force);
 *  2. `pgha deploy NEWDIR` (a new cluster bootstraps empty; a deployed one has nothing to do);
 *  3. DIR's leader's current WAL segment archived, when DIR runs;
 *  4. NEWDIR rebuilt (./rebuild.ts), with DIR's stanza copied in place of its own once NEWDIR's
 *     members are down and its DCS state forgotten;
 *  5. `pgha deploy NEWDIR` again: the roles NEWDIR declares take NEWDIR's passwords, not DIR's;
 *  6. `pgha test NEWDIR`.
 * Killed anywhere, running it again finishes it: NEWDIR's journal names the source and target.
 */
import { realpathSync } from 'node:fs';
import { clearSpoolCommand, backupLabelsCommand, exportStanzaCommand, importStanzaCommand } from '../../components/pgbackrest/clone.js';
import { spoolPathOf } from '../../components/pgbackrest/config.js';
import { flushArchiveCommand } from '../../components/pgbackrest/restore.js';
import { repositoryPath } from '../../components/pgbackrest/stanza.js';
import { stanzaOf } from '../../components/pgbackrest/topology.js';
import { dataNodes, hasRole } from '../../components/common.js';
import { RefusedError, UsageError } from '../../errors.js';
import type { ResolvedHost } from '../../model/types.js';
import { leaderOf } from '../../patroni/types.js';
import { pipeBetween } from '../../transport/pipe.js';
import { run } from '../../transport/types.js';
import { readRepositoryInfo } from '../backups.js';
import { ensureClusterMaterial, loadCluster, type LoadedCluster } from '../cluster-dir.js';
import { deploy } from '../deploy/index.js';
import { runTest } from '../health.js';
import * as view from '../live/view.js';
import { ClusterSession } from '../session.js';
import { recoveryTimeline, refuseOutsideWindow, repositoryHostOf } from './checks.js';
import { readJournal, removeJournal, writeJournal } from './journal.js';
import { elapsed, rebuildFromRepository } from './rebuild.js';
import { describeTarget, restoreTarget, type RestoreFlags } from './target.js';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** What makes NEWDIR unfit to be DIR's clone, read from the two config.yml files alone (exit 2). */
export function refuseCloneConfig(source: LoadedCluster, clone: LoadedCluster): void {
  const file = clone.paths.config;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  if (real(source.paths.dir) === real(clone.paths.dir)) {
    throw new UsageError(`--clone ${clone.paths.dir} is the cluster directory being restored`, {
      hint: `to restore ${source.cluster.name} in place, leave out --clone; to clone it, give a new directory made with \`pgha configure\``,
    });
  }
  const taken = new Map(source.cluster.hosts.map((h) => [h.ip, h.name] as const));
  const shared = clone.cluster.hosts
    .filter((h) => taken.has(h.ip))
    .map((h) => `${h.name} (${h.ip}, ${taken.get(h.ip)} in ${source.paths.config})`);
  if (shared.length) {
    throw new UsageError(`${file}: hosts of the clone have addresses of the cluster it clones: ${shared.join(', ')}`, {
      hint: 'give the clone hosts of its own (`pgha configure NEWDIR --subnet …` on nspawn)',
    });
  }
  const major = (l: LoadedCluster) => String(dataNodes(l.cluster)[0]?.vars.postgres_version ?? '');
  if (major(source) !== major(clone)) {
    throw new UsageError(`${file}: postgres_version ${major(clone)} cannot restore a backup of PostgreSQL ${major(source)}`, {
      hint: `set postgres_version: ${major(source)} in ${file} (cluster_vars), or the os_version whose default it is`,
    });
  }
}

export async function cloneRestore(
  dir: string,
  newDir: string,
  o: RestoreFlags & { force?: boolean },
  out: (line: string) => void,
): Promise<number> {
  const target = restoreTarget(o);
  const source = loadCluster(dir);
  const clone = loadCluster(newDir);
  refuseCloneConfig(source, clone);
  const sourceRepo = repositoryHostOf(source, 'so there is nothing to clone from');
  const cloneRepo = repositoryHostOf(clone, 'which the clone restores from and then archives into');
  const sourceStanza = stanzaOf(source.cluster);
  const stanza = stanzaOf(clone.cluster);
  const from = new ClusterSession(source.cluster, source.paths, await ensureClusterMaterial(source));
  const material = await ensureClusterMaterial(clone);
  const nodes = dataNodes(clone.cluster);
  const journalPath = clone.paths.restoreJournal;
  const t0 = Date.now();
  // One session to NEWDIR's hosts for the whole clone; the deploys open their own.
  const to = new ClusterSession(clone.cluster, clone.paths, material);
  try {
    // 1. Refusals. DIR's repository host must answer; its data nodes need not (a clone of a
    // cluster that is gone is what a repository is for).
    await from.connect([sourceRepo]);
    const where = { repo: sourceRepo.name, stanza: sourceStanza, dir };
    const window = refuseOutsideWindow(await readRepositoryInfo(from.transport(sourceRepo.name), sourceStanza), target, where);
    // Each data node on its own, all at once: one that does not answer must not hide the others.
    const reached = await Promise.all(
      dataNodes(source.cluster).map((h) =>
        from.connect([h]).then(
          () => h.name,
          (e: unknown) => {
            out(`  ${h.name} (${source.cluster.name}): not reached (${(e as Error).message}); the clone gets what the repository holds`);
            return undefined;
          },
        ),
      ),
    );
    const reachable = reached.filter((n): n is string => n !== undefined);
    const liveLeader = (await view.readMembers(from, reachable, 5_000))
      .map((m) => (m.info ? leaderOf(m.info) : undefined))
      .find((l) => l !== undefined);

    const resumed = readJournal(journalPath);
    const resuming = resumed?.source === source.cluster.name && resumed.target === describeTarget(target) ? resumed : undefined;
    const timeline = recoveryTimeline(resuming, target, liveLeader?.timeline, window.timeline, where);
    await to.connect([...nodes, cloneRepo]);
    if (!resuming && !o.force) {
      const labels = (
        await run(to.transport(cloneRepo.name), backupLabelsCommand(repositoryPath(clone.cluster, cloneRepo), stanza), 'list backups')
      ).stdout
        .split('\n')
        .filter(Boolean);
      if (labels.length) {
        throw new RefusedError(
          `refused; nothing was changed: the repository on ${cloneRepo.name} holds ${labels.length} full backup(s) of ${stanza}, so ${clone.cluster.name} is in use, not a new cluster`,
          [`newest: ${labels[labels.length - 1]}`, `a clone replaces its data and its repository's history with ${source.cluster.name}'s`],
          { hint: 'clone into a new directory, or add --force to replace them' },
        );
      }
    }

    // 2. NEWDIR deployed: hosts configured, etcd formed, a cluster to replace.
    if (!resuming) {
      const first = await deploy(newDir, { check: false, diff: false, extraVars: {}, concurrency: 16 }, 'silent');
      if (first.exitCode !== 0) {
        out(first.summary);
        return first.exitCode;
      }
      out(`  ${clone.cluster.name}: deployed (${elapsed(t0)})`);
    }

    // 3. DIR's newest WAL into its repository.
    const leaderHost = source.cluster.hosts.find((h) => h.name === liveLeader?.name);
    if (leaderHost) {
      const flushed = await run(from.transport(leaderHost.name), flushArchiveCommand(leaderHost), 'archive the current WAL segment');
      out(`  ${leaderHost.name} (${source.cluster.name}): WAL archived up to segment ${flushed.stdout.trim()}`);
    }
    await writeJournal(journalPath, {
      target: describeTarget(target),
      timeline,
      started: resuming?.started ?? new Date().toISOString(),
      source: source.cluster.name,
    });

    // 4. NEWDIR rebuilt from a copy of DIR's stanza.
    const lead = nodes.find((h) => hasRole(h, 'primary')) ?? nodes[0]!;
    out(
      `clone ${source.cluster.name} at ${describeTarget(target)} along timeline ${timeline} into ${clone.cluster.name}${resuming ? ` (resuming a clone begun ${resuming.started})` : ''}; ${lead.name} will lead`,
    );
    await rebuildFromRepository({
      session: to,
      secrets: material.secrets,
      lead,
      replicas: nodes.filter((h) => h !== lead),
      repo: cloneRepo,
      stanza,
      target,
      timeline,
      out,
      t0,
      beforeRestore: () => copyStanza(from, to, { sourceRepo, cloneRepo, sourceStanza, stanza, out, t0 }),
    });
  } finally {
    await from.close();
    await to.close();
  }

  // 5. NEWDIR's own passwords on the roles it declares.
  const second = await deploy(newDir, { check: false, diff: false, extraVars: {}, concurrency: 16 }, 'silent');
  if (second.exitCode !== 0) {
    out(second.summary);
    return second.exitCode;
  }
  removeJournal(journalPath);
  out(`cloned in ${elapsed(t0)}; pgha test ${newDir}:`);
  return runTest(newDir);
}

async function copyStanza(
  from: ClusterSession,
  to: ClusterSession,
  c: { sourceRepo: ResolvedHost; cloneRepo: ResolvedHost; sourceStanza: string; stanza: string; out: (line: string) => void; t0: number },
): Promise<void> {
  for (const h of dataNodes(to.cluster)) {
    const spool = spoolPathOf(to.cluster, h);
    if (spool) await run(to.transport(h.name), clearSpoolCommand(spool, c.stanza), 'empty the archive spool');
  }
  const { bytes } = await pipeBetween(
    {
      t: from.transport(c.sourceRepo.name),
      cmd: exportStanzaCommand(repositoryPath(from.cluster, c.sourceRepo), c.sourceStanza),
      step: `read stanza ${c.sourceStanza}`,
    },
    {
      t: to.transport(c.cloneRepo.name),
      cmd: importStanzaCommand(repositoryPath(to.cluster, c.cloneRepo), c.sourceStanza, c.stanza),
      step: `write stanza ${c.stanza}`,
    },
  );
  c.out(`  ${c.sourceRepo.name} → ${c.cloneRepo.name}: stanza ${c.sourceStanza} copied as ${c.stanza}, ${mib(bytes)} (${elapsed(c.t0)})`);
}
