import type { Command } from 'commander';
import { intOption } from './options.js';

export function registerRotatePasswords(program: Command): void {
  program
    .command('rotate-passwords')
    .description('new passwords for the cluster users (all, or those named), rolled out by reloads: nothing restarts')
    .argument('<dir>', 'cluster directory')
    .argument('[names...]', 'secret names (files in DIR/secrets), e.g. postgres replicator etcd_root')
    .option('--concurrency <n>', 'hosts worked on at once', intOption('--concurrency', 1, 256), 16)
    .action(async (dir: string, names: string[], o: { concurrency: number }) => {
      const [{ rotatePasswords }, { progressMode }] = await Promise.all([
        import('../app/rotate-passwords.js'),
        import('../app/progress.js'),
      ]);
      const result = await rotatePasswords(dir, { names, concurrency: o.concurrency }, progressMode());
      process.stdout.write(`${result.summary}\n`);
      process.exitCode = result.exitCode;
    });
}
