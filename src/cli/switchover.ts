import type { Command } from 'commander';
import { UsageError } from '../errors.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerSwitchover(program: Command): void {
  program
    .command('switchover')
    .description('move the leader to a healthy replica, checked first, and wait until clients and the old primary follow')
    .argument('<dir>', 'cluster directory')
    .argument('[new_primary]', 'the replica to promote (default: a synchronous standby, else the healthy replica with the least lag)')
    .option('--scheduled <ISO8601>', 'let Patroni do it at this time (with a time zone, e.g. 2026-05-01T02:00:00Z)')
    .option('--force', 'do not ask for confirmation (the checks still run: a refused switchover stays refused)', false)
    .option('--cancel', 'remove a scheduled switchover (DELETE /switchover)', false)
    .addHelpText(
      'after',
      `
Checks, all reported together (exit 3): NEW_PRIMARY is a data node in config.yml and a member;
it is a running replica without the nofailover tag and with WAL replay not paused; it lags no
more than maximum_lag_on_failover (DCS config, default 1048576 bytes; measured at the moment,
the leader's WAL position minus what the candidate has received); with synchronous replication
on it is a synchronous standby (Patroni promotes no other); there is exactly one leader and
etcd's leader key names it; the cluster is not paused; nothing else is scheduled. Without
NEW_PRIMARY, pgha picks a synchronous standby, else the healthy replica with the least lag.
Then it waits until NEW_PRIMARY leads, writes reach it through HAProxy/PgBouncer, and the old
primary streams from it, and prints the times. With a VIP, writes must reach it through the VIP;
a proxy behind the VIP that does not follow (its host down) is a warning naming the host.`,
    )
    .action(async (dir: string, candidate: string | undefined, o: { scheduled?: string; force: boolean; cancel: boolean }) => {
      if (o.cancel) {
        if (candidate || o.scheduled) throw new UsageError('--cancel takes no NEW_PRIMARY and no --scheduled');
        const { cancelScheduledSwitchover } = await import('../app/switchover.js');
        await cancelScheduledSwitchover(dir, out);
        return;
      }
      const [{ switchover }, { parseSchedule }] = await Promise.all([import('../app/switchover.js'), import('../app/verbs/pure.js')]);
      await switchover(
        dir,
        { candidate, scheduledAt: o.scheduled === undefined ? undefined : parseSchedule(o.scheduled), force: o.force },
        out,
      );
    });
}
