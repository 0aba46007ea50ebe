import type { Command } from 'commander';
import { intOption } from './options.js';

export function registerRotateCerts(program: Command): void {
  program
    .command('rotate-certs')
    .description(
      'reissue every node and client certificate from the cluster CA; with --ca, roll a new CA (both trusted while the certificates change): reloads, rolling etcd restarts, PostgreSQL never restarts',
    )
    .argument('<dir>', 'cluster directory')
    .option('--ca', 'a new CA: trust old + new, reissue everything from the new one, then drop the old one (resumable)', false)
    .option('--concurrency <n>', 'hosts worked on at once', intOption('--concurrency', 1, 256), 16)
    .action(async (dir: string, o: { ca: boolean; concurrency: number }) => {
      const [{ rotateCerts }, { progressMode }] = await Promise.all([import('../app/rotate-certs/index.js'), import('../app/progress.js')]);
      const result = await rotateCerts(dir, { ca: o.ca, concurrency: o.concurrency }, progressMode());
      process.stdout.write(`${result.summary}\n`);
      process.exitCode = result.exitCode;
    });
}
