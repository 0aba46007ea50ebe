/**
 * `pgha upgrade`'s default primary step for Patroni: restart Patroni on the leader with Patroni
 * paused, so PostgreSQL keeps running and the leader does not move (see src/app/upgrade.ts for
 * why), and lifting a pause that an interrupted run left behind.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaderOf } from '../../patroni/judge.js';
import { isLeaderRole } from '../../patroni/types.js';
import * as view from '../live/view.js';
import { readNode, tryReadCluster } from '../live/view.js';
import type { ClusterSession } from '../session.js';
import { waitFor } from '../wait.js';

export interface PauseContext {
  session: ClusterSession;
  /** Data nodes config.yml lists. */
  members: readonly string[];
  cluster: string;
  dir: string;
  log: (line: string) => void;
  /** Restarts the Patroni unit on a host. */
  restartPatroni: (host: string) => Promise<void>;
}

/**
 * Left in DIR while pgha holds the cluster paused for a leader restart. A pause pgha set and
 * could not lift (the run was killed) is lifted by the next run; any other pause is refused.
 */
export function pauseMarker(dir: string): string {
  return join(dir, 'upgrade-paused');
}

/** Pause or resume through the leader; the leader itself must know before Patroni stops there. */
export async function setPause(ctx: PauseContext, leader: string, pause: boolean): Promise<void> {
  await view.setPause(ctx.session, ctx.members, leader, pause, { waitOn: [leader], what: `the cluster to ${pause ? 'pause' : 'resume'}` });
}

/** Patroni on `leader` answers, runs PostgreSQL as primary, and the DCS agrees it leads. */
export async function waitLeaderApi(ctx: PauseContext, leader: string): Promise<void> {
  await waitFor(
    async () => {
      const s = await readNode(ctx.session, leader);
      const l = leaderOf((await tryReadCluster(ctx.session, ctx.members)) ?? { members: [] });
      return s?.state === 'running' && isLeaderRole(s.role) && l?.name === leader ? true : undefined;
    },
    {
      timeoutMs: 180_000,
      intervalMs: 300,
      what: `Patroni on ${leader} to come back as leader`,
      where: `${leader}: patroni`,
      hint: `look at \`journalctl -u patroni@${ctx.cluster}\` on ${leader}`,
    },
  );
}

/**
 * Restart Patroni on the leader with Patroni paused: it leaves PostgreSQL running when it
 * stops and adopts it when it starts, so the primary keeps serving throughout. Returns the
 * note for the summary.
 */
export async function pausedRestart(ctx: PauseContext, leader: string): Promise<string> {
  const marker = pauseMarker(ctx.dir);
  const before = (await readNode(ctx.session, leader))?.postmaster_start_time;
  writeFileSync(marker, `${leader}\n`);
  await setPause(ctx, leader, true);
  let ok = false;
  try {
    await ctx.restartPatroni(leader);
    await waitLeaderApi(ctx, leader);
    ok = true;
  } finally {
    // Resume only with the leader back: resuming without it would start a failover.
    if (ok) {
      await setPause(ctx, leader, false);
      rmSync(marker, { force: true });
    } else
      ctx.log(`the cluster is left paused because Patroni on ${leader} did not come back; resume with \`patronictl resume\` once it has`);
  }
  const after = (await readNode(ctx.session, leader))?.postmaster_start_time;
  return before && after && before === after
    ? `${leader}: Patroni restarted while paused; PostgreSQL kept running (postmaster started ${after})`
    : `${leader}: warning: PostgreSQL's start time changed during the paused restart (${before ?? '?'} → ${after ?? '?'})`;
}
