/**
 * Every component pgha deploys, in formation and upgrade order: the DCS first, then the data
 * nodes (Patroni before PostgreSQL when upgrading), the proxies, then pgBackRest (a service that
 * only archives and backs up a running cluster), then monitoring: the exporters before the
 * Prometheus that scrapes them. A new component is a
 * folder under src/components/ plus one line here.
 */
import type { ClusterEntryPoint, Component, EntryPoint, WithStatus } from './component.js';
import { etcd } from './etcd/index.js';
import { haproxy } from './haproxy/index.js';
import { keepalived } from './keepalived/index.js';
import { nodeExporter, pgbouncerExporter, postgresExporter, prometheus } from './monitoring/index.js';
import { patroni } from './patroni/index.js';
import { pgbackrest } from './pgbackrest/index.js';
import { pgbouncer } from './pgbouncer/index.js';
import { postgres } from './postgres/index.js';
import type { ResolvedCluster, ResolvedHost } from '../model/types.js';

const REGISTERED = [
  etcd,
  patroni,
  postgres,
  pgbouncer,
  haproxy,
  keepalived,
  pgbackrest,
  nodeExporter,
  postgresExporter,
  pgbouncerExporter,
  prometheus,
] as const;

export const COMPONENTS: readonly Component[] = REGISTERED;

/**
 * `pgha status`'s sections, typed from the registry: under each name of a component that has a
 * status section (declared `WithStatus`), its entries.
 */
export type StatusSections = {
  [C in (typeof REGISTERED)[number] as C extends WithStatus<infer N, unknown> ? N : never]: C extends WithStatus<string, infer T>
    ? T[]
    : never;
};

export function componentNamed(name: string): Component | undefined {
  return COMPONENTS.find((c) => c.name === name);
}

/** Where clients connect on `host`: every entry point of the components it runs, in registry order. */
export function entryPointsOn(cluster: ResolvedCluster, host: ResolvedHost): EntryPoint[] {
  return COMPONENTS.flatMap((c) => (c.entryPoints && c.runsOn(cluster, host) ? c.entryPoints(host) : []));
}

/** Where clients connect that is no host's own address (a VIP), in registry order. */
export function clusterEntryPoints(cluster: ResolvedCluster): ClusterEntryPoint[] {
  return COMPONENTS.flatMap((c) => c.clusterEntryPoints?.(cluster) ?? []);
}
