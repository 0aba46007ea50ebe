/**
 * A restore under way, written to DIR before the first member stops and removed when the
 * cluster runs again: the target, and the timeline recovery follows.
 *
 * Why the timeline is fixed at the start: a restore creates new timelines (the recovery's
 * promotion, then Patroni's). Were a restore killed after that and run again, recovery along
 * the *latest* timeline would follow the new one, which branched at the target and holds none
 * of the commits after it, and PostgreSQL would stop with "recovery ended before configured
 * recovery target was reached". Following the timeline that was the newest when the restore
 * began makes the second run recover exactly what the first would have.
 */
import { readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../../pki/files.js';

export interface RestoreJournal {
  /** describeTarget() of the target: a different target starts afresh. */
  target: string;
  timeline: number;
  started: string;
  /** A clone's: the name of the cluster it is cloned from (absent for a restore in place). */
  source?: string;
}

export function readJournal(path: string): RestoreJournal | undefined {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Partial<RestoreJournal>;
    return typeof j.target === 'string' && typeof j.timeline === 'number' && typeof j.started === 'string'
      ? { target: j.target, timeline: j.timeline, started: j.started, ...(typeof j.source === 'string' ? { source: j.source } : {}) }
      : undefined;
  } catch {
    return undefined;
  }
}

export async function writeJournal(path: string, j: RestoreJournal): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(j, null, 2)}\n`, 0o600);
}

export function removeJournal(path: string): void {
  rmSync(path, { force: true });
}
