/**
 * PostgreSQL's packages on every data node. Patroni (../patroni/) creates, configures and runs
 * the cluster, so this component has no files or units of its own; it exists so that its
 * packages are pinned and upgraded (restarting PostgreSQL through Patroni) on their own, and
 * for what lives inside PostgreSQL: the users and databases config.yml declares (./declared.ts).
 */
import { isDataNode, optStr, str } from '../common.js';
import { pinned, portOf, type ClusterStep, type Component } from '../component.js';
import { declaredObjects, declaredObjectsCommand, declaresObjects, pendingOf } from './declared.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';

/**
 * The variables of the users and databases: cluster-wide (config's rules hold them equal on
 * every host), read from the configured primary's.
 */
function declarationHost(cluster: ResolvedCluster): ResolvedHost | undefined {
  return cluster.hosts.find((h) => h.roles.includes('primary')) ?? cluster.hosts.find(isDataNode);
}

/** The users and databases config.yml declares, on the leader (./declared.ts). */
function declaredStep(cluster: ResolvedCluster): ClusterStep[] {
  const host = declarationHost(cluster);
  // Unset (not []): pgha manages no users or databases, and costs no read.
  if (!host || !declaresObjects(host.vars)) return [];
  const decl = declaredObjects(host.vars);
  const summary = [
    ...(decl.users.length ? [`users ${decl.users.map((u) => u.username).join(', ')}`] : []),
    ...(decl.databases.length ? [`databases ${decl.databases.map((d) => d.name).join(', ')}`] : []),
  ];
  const port = (h: ResolvedHost) => Number(h.vars.postgres_port);
  return [
    {
      name: 'declared-objects',
      on: { kind: 'leader' },
      title: 'declared users and databases',
      describe: () => `create the declared ${summary.join(' and ') || 'users and databases'} on the leader`,
      explain: (out) => pendingOf(out).join('; '),
      check: (h, ctx) => declaredObjectsCommand(decl, (n) => ctx.secret(n), port(h), { checkOnly: true, prune: ctx.prune === true }),
      apply: (h, ctx) => declaredObjectsCommand(decl, (n) => ctx.secret(n), port(h), { checkOnly: false, prune: ctx.prune === true }),
    },
  ];
}

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
  clusterSteps: declaredStep,
  // A declared user's password: DIR/secrets/<username>, generated when missing.
  secretNames: (cluster) => {
    const host = declarationHost(cluster);
    return host ? declaredObjects(host.vars).users.map((u) => u.username) : [];
  },
};
