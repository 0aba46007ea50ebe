/**
 * `pgha status DIR [-o table|json|yaml] [--watch] [--versions]`. The use-case is imported when the command
 * runs, not when the program starts, so other commands do not pay for it and it pays only for
 * what it uses.
 */
import type { Command } from 'commander';
import { choice, intOption } from './options.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('members, leader, etcd health, HAProxy backends, PgBouncer target and certificate expiry')
    .argument('<dir>', 'cluster directory')
    .option('-o, --output <format>', 'table, json or yaml', choice('--output', ['table', 'json', 'yaml'] as const), 'table')
    .option('-w, --watch', 'refresh until interrupted', false)
    .option('--interval <seconds>', 'seconds between refreshes with --watch', intOption('--interval', 1, 3600), 2)
    .option('--versions', "also each host's Debian release and installed daemon versions (one SSH exec per host)", false)
    .action(async (dir: string, o: { output: 'table' | 'json' | 'yaml'; watch: boolean; interval: number; versions: boolean }) => {
      const { runStatus } = await import('../app/status.js');
      process.exitCode = await runStatus(dir, o);
    });
}
