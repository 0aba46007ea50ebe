import type { Command } from 'commander';
import { DEFAULT_OS_VERSION, OS_NAMES, OS_VERSIONS, type OsName, type OsVersion } from '../model/releases.js';
import { PLATFORMS, type Platform } from '../model/types.js';
import { choice, intOption } from './options.js';

export function registerConfigure(program: Command): void {
  program
    .command('configure')
    .description('write DIR/config.yml for a new cluster, with its CA, certificates, passwords and SSH key')
    .argument('<dir>', 'cluster directory; its basename is the cluster name')
    .requiredOption('-a, --architecture <name>', 'architecture (M1)')
    .option('--enable-patroni', 'manage PostgreSQL with Patroni (required for M1)', false)
    .option('--enable-haproxy', 'add an HAProxy host routing clients to the primary', false)
    .option('--enable-pgbouncer', 'run PgBouncer on the data nodes, following the primary', false)
    .option('--enable-pgbackrest', 'add a pgBackRest repository host (backup1) and archive every data node to it', false)
    .option('--enable-monitoring', 'add a monitoring host (monitor1: Prometheus, Alertmanager) and exporters on every host', false)
    .option('--postgresql <version>', 'PostgreSQL major version (default: the one the release ships)', intOption('--postgresql', 10, 99))
    .option('--os <name>', OS_NAMES.join('|'), choice('--os', OS_NAMES), 'Debian')
    .option(
      '--os-version <version>',
      OS_VERSIONS.join('|'),
      choice(
        '--os-version',
        OS_VERSIONS.map((v) => String(v)),
      ),
      String(DEFAULT_OS_VERSION),
    )
    .option(
      '--patroni-package-flavour <flavour>',
      'community|edb',
      choice('--patroni-package-flavour', ['community', 'edb'] as const),
      'community',
    )
    .option('--platform <platform>', PLATFORMS.join('|'), choice('--platform', PLATFORMS), 'nspawn')
    .option('--hostnames-from <file>', 'bare: file of "name ip" lines, one per host')
    .option('--data-nodes <n>', 'number of PostgreSQL nodes', intOption('--data-nodes', 1, 50), 3)
    .option('--etcd-nodes <n>', 'dedicated etcd hosts (0: etcd on the data nodes)', intOption('--etcd-nodes', 0, 7), 0)
    .option('--subnet <cidr>', 'nspawn: the /24 for the containers (default derived from the cluster name)')
    .option('--force', 'overwrite an existing config.yml', false)
    .action(async (dir: string, o: Record<string, unknown>) => {
      const { configureCluster } = await import('../app/configure.js');
      const result = await configureCluster(dir, {
        architecture: String(o.architecture),
        enablePatroni: Boolean(o.enablePatroni),
        enableHaproxy: Boolean(o.enableHaproxy),
        enablePgbouncer: Boolean(o.enablePgbouncer),
        enablePgbackrest: Boolean(o.enablePgbackrest),
        enableMonitoring: Boolean(o.enableMonitoring),
        postgresVersion: o.postgresql === undefined ? undefined : Number(o.postgresql),
        os: o.os as OsName,
        osVersion: Number(o.osVersion) as OsVersion,
        patroniPackageFlavour: o.patroniPackageFlavour as 'community' | 'edb',
        platform: o.platform as Platform,
        hostnamesFrom: o.hostnamesFrom as string | undefined,
        dataNodes: Number(o.dataNodes),
        etcdNodes: Number(o.etcdNodes),
        subnet: o.subnet as string | undefined,
        force: Boolean(o.force),
      });
      process.stdout.write(`${result.summary}\n`);
    });
}
