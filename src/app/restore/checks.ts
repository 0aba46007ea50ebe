/**
 * The refusals a restore makes before it changes anything, shared by the restore in place and
 * the clone: which host holds the repository, whether the target lies in what it can restore,
 * and which timeline recovery follows.
 */
import { dataNodes } from '../../components/common.js';
import type { StanzaInfo } from '../../components/pgbackrest/info.js';
import { backupHostOf } from '../../components/pgbackrest/topology.js';
import { RefusedError, UsageError } from '../../errors.js';
import type { ResolvedHost } from '../../model/types.js';
import type { LoadedCluster } from '../cluster-dir.js';
import type { RestoreJournal } from './journal.js';
import { restorable } from './repository.js';
import { describeTarget, type RestoreTarget } from './target.js';

/** The one repository host the data nodes name (instance key `backup:`); exit 2 without one. */
export function repositoryHostOf(loaded: LoadedCluster, why: string): ResolvedHost {
  const { cluster } = loaded;
  const repos = [
    ...new Set(
      dataNodes(cluster)
        .map((h) => backupHostOf(cluster, h))
        .filter((h): h is ResolvedHost => h !== undefined),
    ),
  ];
  if (repos.length === 1) return repos[0]!;
  throw new UsageError(
    `${loaded.paths.config}: ${repos.length ? 'the data nodes name different' : 'no data node names a'} pgBackRest repository host (instance key backup:), ${why}`,
    {
      hint: 'add a host with role pgbackrest and set backup: <that host> on every data node (configure --enable-pgbackrest does both), then deploy',
    },
  );
}

/** The restorable window, or exit 3 when the target is outside it (or there is no backup). */
export function refuseOutsideWindow(
  info: StanzaInfo,
  target: RestoreTarget,
  where: { repo: string; stanza: string; dir: string },
): NonNullable<ReturnType<typeof restorable>> {
  const window = restorable(info);
  if (!window) {
    throw new RefusedError(`refused; nothing was changed: the repository on ${where.repo} holds no backup of ${where.stanza}`, [], {
      hint: `take one with \`pgha backup ${where.dir}\``,
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
  return window;
}

/**
 * The timeline recovery follows: a resumed restore's (see ./journal.ts), else the live leader's
 * (the newest: the archive's newest segment can be a timeline behind it, since a switchover
 * archives the new timeline's history file at once but its first segment only when that fills),
 * else the archive's newest. Exit 3 when the archive holds no WAL at all.
 */
export function recoveryTimeline(
  resumed: RestoreJournal | undefined,
  target: RestoreTarget,
  live: number | undefined,
  archived: number | undefined,
  where: { repo: string; stanza: string; dir: string },
): number {
  const timeline = resumed?.target === describeTarget(target) ? resumed.timeline : (live ?? archived);
  if (timeline === undefined) {
    throw new RefusedError(`refused; nothing was changed: the repository on ${where.repo} holds no archived WAL of ${where.stanza}`, [], {
      hint: `check archiving with \`pgha test ${where.dir}\``,
    });
  }
  return timeline;
}
