import type { Command } from 'commander';
import { collect } from './options.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

export function registerProvision(program: Command): void {
  program
    .command('provision')
    .description('nspawn: build the image and boot the containers; bare: reach the hosts and pin their host keys')
    .argument('<dir>', 'cluster directory')
    .option('--install-prereqs', 'apt-get install the host prerequisites (systemd-container, debootstrap, dpkg-dev)', false)
    .option('--accept-new-host-keys', 'bare: pin host keys not pinned yet, after checking the fingerprints pgha printed', false)
    .option('--known-hosts <file>', 'bare: pin host keys not pinned yet only if this known_hosts file lists them')
    .action(async (dir: string, o: { installPrereqs: boolean; acceptNewHostKeys: boolean; knownHosts?: string }) => {
      const { provision } = await import('../app/provision.js');
      const opts = {
        installPrereqs: o.installPrereqs,
        log,
        acceptNewHostKeys: o.acceptNewHostKeys,
        ...(o.knownHosts !== undefined ? { knownHostsFile: o.knownHosts } : {}),
      };
      process.stdout.write(`${await provision(dir, opts)}\n`);
    });
  program
    .command('deprovision')
    .description('nspawn: stop the containers (by pid, gracefully first) and remove their mounts, bridge and state')
    .argument('<dir>', 'cluster directory')
    .action(async (dir: string) => {
      const { deprovision } = await import('../app/provision.js');
      process.stdout.write(`${await deprovision(dir, { log })}\n`);
    });
  program
    .command('download-packages')
    .description("build DIR/local-repo: the dependency closure of the cluster's packages, pins included")
    .argument('<dir>', 'cluster directory')
    .option('--add-deb <file>', 'also put this .deb in the repository (repeatable)', collect, [])
    .action(async (dir: string, o: { addDeb: string[] }) => {
      const { downloadPackages, loadCluster } = await import('../app/provision.js');
      process.stdout.write(`${await downloadPackages(loadCluster(dir), { log, extraDebs: o.addDeb })}\n`);
    });
}
