/**
 * PostgreSQL's packages on every data node. Patroni (../patroni/) creates, configures and runs
 * the cluster, so this component has no files or units of its own; it exists so that its
 * packages are pinned and upgraded (restarting PostgreSQL through Patroni) on their own.
 */
import { isDataNode, optStr, str } from '../common.js';
import { pinned, portOf, type Component } from '../component.js';

export const postgres: Component = {
  name: 'postgres',
  runsOn: (_cluster, host) => isDataNode(host),
  packages: (host) => {
    const major = str(host.vars, 'postgres_version');
    const ver = optStr(host.vars, 'postgres_package_version');
    return [pinned(`postgresql-${major}`, ver), pinned(`postgresql-client-${major}`, ver)];
  },
  files: () => [],
  units: () => [],
  reactions: () => [],
  formation: 'patroni',
  ports: () => [portOf('postgres_port', 'PostgreSQL')],
  upgrade: { kind: 'data-node', restart: 'postgres' },
};
