/**
 * `pgha status`'s component sections: every component with a `status` section reads its entries
 * from the states of the hosts running it (one entry per host, in config.yml's order) and prints
 * their table lines. Sections go in name order, not registry order: the keys of `status -o json`
 * then stay where they have always been (haproxy before pgbouncer), whatever order formation and
 * upgrade need the registry in.
 */
import type { Component, StatusSection, StatusView } from './component.js';
import type { HostState } from './health.js';
import { COMPONENTS, type StatusSections } from './registry.js';
import type { ResolvedCluster } from '../model/types.js';

type Sectioned = Component & { readonly status: StatusSection<unknown> };

function sectioned(): Sectioned[] {
  return COMPONENTS.filter((c): c is Sectioned => c.status !== undefined).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every section, each with an entry per host running its component (none: an empty list, still printed). */
export function readStatusSections(cluster: ResolvedCluster, states: readonly HostState[], view: StatusView): StatusSections {
  const entries = sectioned().map((c) => [c.name, states.filter((s) => c.runsOn(cluster, s.host)).map((s) => c.status.read(s, view))]);
  // Built from the registry the type is derived from: under each component's name, its own entries.
  return Object.fromEntries(entries) as StatusSections;
}

/** The table's lines of every section, in the same order. */
export function statusSectionLines(sections: StatusSections): string[] {
  const byName: Readonly<Record<string, readonly unknown[] | undefined>> = sections;
  return sectioned().flatMap((c) => c.status.lines(byName[c.name] ?? []));
}
