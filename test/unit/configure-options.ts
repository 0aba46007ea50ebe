/** `pgha configure`'s options for tests: an M1 cluster with Patroni on nspawn, three data nodes, etcd co-located. */
import type { ConfigureOptions } from '../../src/config/configure.js';

export function configureOptions(extra: Partial<ConfigureOptions> = {}): ConfigureOptions {
  return {
    clusterName: 'c',
    architecture: 'M1',
    enablePatroni: true,
    enableHaproxy: false,
    enablePgbouncer: false,
    enablePgbackrest: false,
    enableMonitoring: false,
    os: 'Debian',
    osVersion: 12,
    patroniPackageFlavour: 'community',
    platform: 'nspawn',
    dataNodes: 3,
    etcdNodes: 0,
    ...extra,
  };
}
