/** `pgha test DIR`: health checks of every component, like `tpaexec test`. Exit 1 when any fails. */
import type { Command } from 'commander';

export function registerTest(program: Command): void {
  program
    .command('test')
    .description('health checks of every component (REST API, replication, etcd, HAProxy, PgBouncer); exit 1 when any fails')
    .argument('<dir>', 'cluster directory')
    .action(async (dir: string) => {
      const { runTest } = await import('../app/health.js');
      process.exitCode = await runTest(dir);
    });
}
