import type { Command } from 'commander';

export function registerShowPassword(program: Command): void {
  program
    .command('show-password')
    .description('print one generated password (the only command that prints a secret)')
    .argument('<dir>', 'cluster directory')
    .argument('<name>', 'user name, e.g. postgres, replicator, patroni, etcd_root')
    .action(async (dir: string, name: string) => {
      const [{ clusterPaths }, { readSecret }] = await Promise.all([import('../app/cluster-dir.js'), import('../secrets/store.js')]);
      process.stdout.write(`${await readSecret(clusterPaths(dir).dir, name)}\n`);
    });
}
