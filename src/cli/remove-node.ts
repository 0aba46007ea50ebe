import type { Command } from 'commander';
import { intOption } from './options.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

export function registerRemoveNode(program: Command): void {
  program
    .command('remove-node')
    .description(
      'take a node out of the running cluster: refused for the leader (switch over first) or when etcd would lose its quorum; stops it, removes it from config.yml and etcd, reloads every other host, removes its container (nspawn)',
    )
    .argument('<dir>', 'cluster directory')
    .argument('<name>', 'the instance to remove (its Name in config.yml)')
    .option('--concurrency <n>', 'hosts worked on at once', intOption('--concurrency', 1, 256), 16)
    .action(async (dir: string, name: string, o: { concurrency: number }) => {
      const [{ removeNode }, { progressMode }] = await Promise.all([import('../app/remove-node/index.js'), import('../app/progress.js')]);
      const result = await removeNode(dir, name, { concurrency: o.concurrency, log }, progressMode());
      process.stdout.write(`${result.summary}\n`);
      process.exitCode = result.exitCode;
    });
}
