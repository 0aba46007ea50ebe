import type { Command } from 'commander';
import { collect } from './options.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

export function registerProvision(program: Command): void {
  program
    .command('provision')
    .description('nspawn: build the image and boot the containers; bare: reach the hosts and pin their host keys')
    .argument('<dir>', 'cluster directory')
    .option('--install-prereqs', 'apt-get install the host prerequisites (systemd-container, debootstrap, dpkg-dev)', false)
    .action(async (dir: string, o: { installPrereqs: boolean }) => {
      const { provision } = await import('../app/provision.js');
      process.stdout.write(`${await provision(dir, { installPrereqs: o.installPrereqs, log })}\n`);
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
