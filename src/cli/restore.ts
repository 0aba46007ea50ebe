/** `pgha restore DIR ...`: point-in-time recovery of the whole cluster from its pgBackRest repository, in place or into a clone. */
import type { Command } from 'commander';

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('point-in-time recovery of the whole cluster in place, from its pgBackRest repository (then pgha test)')
    .argument('<dir>', 'cluster directory')
    .option('--target-time <timestamp>', 'recover up to this time, with a time zone (e.g. "2026-12-05 10:03:42+00")')
    .option('--target-lsn <lsn>', 'recover up to this WAL position (e.g. 0/7000060)')
    .option('--target-name <name>', 'recover up to this restore point (pg_create_restore_point)')
    .option('--latest', 'recover everything the repository has archived', false)
    .option(
      '--clone <newdir>',
      "build NEWDIR's cluster from DIR's repository instead (NEWDIR made with pgha configure and provisioned; DIR is not changed)",
    )
    .option(
      '--force',
      'restore although the cluster is live (every write after the target is lost); with --clone, although NEWDIR has backups of its own',
      false,
    )
    .addHelpText(
      'after',
      '\nEvery member is stopped; the leader-to-be is restored and recovered to the target, leads a new cluster epoch on a new timeline, a full backup is taken, and the replicas are rebuilt from it.' +
        "\nWith --clone NEWDIR, the same happens to NEWDIR's cluster (deployed first when new), from a copy of DIR's repository.",
    )
    .action(
      async (
        dir: string,
        o: { targetTime?: string; targetLsn?: string; targetName?: string; latest: boolean; force: boolean; clone?: string },
      ) => {
        const out = (line: string) => process.stdout.write(`${line}\n`);
        if (o.clone !== undefined) {
          const { cloneRestore } = await import('../app/restore/clone.js');
          process.exitCode = await cloneRestore(dir, o.clone, o, out);
          return;
        }
        const { restore } = await import('../app/restore/index.js');
        process.exitCode = await restore(dir, o, out);
      },
    );
}
