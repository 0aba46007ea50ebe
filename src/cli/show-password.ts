import type { Command } from 'commander';
import { clusterPaths } from '../app/cluster-dir.js';
import { readSecret } from '../secrets/store.js';

export function registerShowPassword(program: Command): void {
  program
    .command('show-password')
    .description('print one generated password (the only command that prints a secret)')
    .argument('<dir>', 'cluster directory')
    .argument('<name>', 'user name, e.g. postgres, replicator, patroni, etcd_root')
    .action(async (dir: string, name: string) => {
      process.stdout.write(`${await readSecret(clusterPaths(dir).dir, name)}\n`);
    });
}
