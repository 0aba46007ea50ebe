import type { Command } from 'commander';
import { intOption } from './options.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

export function registerNodes(program: Command): void {
  program
    .command('remove-node')
    .description(
      'take a node out of the running cluster: refused for the leader (switch over first) or when etcd would lose its quorum; stops it, removes it from config.yml and etcd, reloads every other host, removes its container (nspawn)',
    )
    .argument('<dir>', 'cluster directory')
    .argument('<name>', 'the instance to remove (its Name in config.yml)')
    .option('--concurrency <n>', 'hosts worked on at once', intOption('--concurrency', 1, 256), 16)
    .action(async (dir: string, name: string, o: { concurrency: number }) => {
      const [{ removeNode }, { progressMode }] = await Promise.all([import('../app/nodes/remove.js'), import('../app/progress.js')]);
      const result = await removeNode(dir, name, { concurrency: o.concurrency, log }, progressMode());
      process.stdout.write(`${result.summary}\n`);
      process.exitCode = result.exitCode;
    });
  program
    .command('replace-node')
    .description(
      'rebuild a node under the same name and address (a dead host, or one to start afresh): refused for the leader or when etcd would lose its quorum; drops its old identity (etcd member, DCS key, host keys, nspawn container), provisions it empty and deploys it as a new member',
    )
    .argument('<dir>', 'cluster directory')
    .argument('<name>', 'the instance to rebuild (its Name in config.yml)')
    .option('--accept-new-host-keys', "bare: pin the rebuilt host's new key after printing its fingerprint", false)
    .option('--known-hosts <file>', 'bare: pin it only if this known_hosts file lists it')
    .option('--concurrency <n>', 'hosts worked on at once', intOption('--concurrency', 1, 256), 16)
    .action(async (dir: string, name: string, o: { concurrency: number; acceptNewHostKeys: boolean; knownHosts?: string }) => {
      const [{ replaceNode }, { progressMode }] = await Promise.all([import('../app/nodes/replace.js'), import('../app/progress.js')]);
      const result = await replaceNode(
        dir,
        name,
        {
          concurrency: o.concurrency,
          log,
          acceptNewHostKeys: o.acceptNewHostKeys,
          ...(o.knownHosts !== undefined ? { knownHostsFile: o.knownHosts } : {}),
        },
        progressMode(),
      );
      process.stdout.write(`${result.summary}\n`);
      process.exitCode = result.exitCode;
    });
}
