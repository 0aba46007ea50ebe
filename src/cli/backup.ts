/**
 * `pgha backup DIR [--type full|diff|incr]` and `pgha backups DIR [-o table|json]` (issue 13): on
 * the repository host, through pgBackRest. The use-cases load when a command runs.
 */
import type { Command } from 'commander';
import { choice } from './options.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('take a pgBackRest backup now on the repository host, wait for it, and print it')
    .argument('<dir>', 'cluster directory')
    .option('--type <type>', 'full, diff (changes since the last full) or incr (since the last backup)', 'full')
    .action(async (dir: string, o: { type: string }) => {
      // Checked here, before config.yml is read or any host contacted: exit 2 naming the flag.
      const { backupTypeOption } = await import('../components/pgbackrest/info.js');
      const type = backupTypeOption(o.type);
      const { takeBackup } = await import('../app/backups.js');
      const { backupReport } = await import('../components/pgbackrest/report.js');
      const r = await takeBackup(dir, type, out);
      process.stdout.write(backupReport(r.backup, r.stanza, r.repoHost));
    });

  program
    .command('backups')
    .description("the repository's backups (label, type, times, sizes, WAL range) and the window a restore can reach")
    .argument('<dir>', 'cluster directory')
    .option('-o, --output <format>', 'table or json', choice('--output', ['table', 'json'] as const), 'table')
    .action(async (dir: string, o: { output: 'table' | 'json' }) => {
      const { listBackups } = await import('../app/backups.js');
      const r = await listBackups(dir);
      if (o.output === 'json') out(JSON.stringify({ repository: r.repoHost, ...r.info }, null, 2));
      else process.stdout.write((await import('../components/pgbackrest/report.js')).backupsTable(r.info, r.repoHost));
    });
}
