/**
 * What `download-packages` resolved for a Debian release, as a small manifest: the version of each
 * component's package the local repository holds (the one apt installs there). The README's
 * table of releases × versions is generated from these (scripts/releases-doc.ts), so it says
 * what a real build resolved, not what someone typed. Pure: building, checking and reading the
 * manifest; resolved-store.ts writes it.
 */
import { UsageError } from '../../errors.js';
import type { DebianRelease } from '../../model/releases.js';
import { newestVersions, type IndexEntry } from './packages-index.js';

/** The table's rows, in the order the stack is read: the database up to what sits in front of it. */
export const RESOLVED_COMPONENTS = ['postgresql', 'patroni', 'etcd', 'haproxy', 'pgbouncer', 'pgbackrest'] as const;
export type ResolvedComponent = (typeof RESOLVED_COMPONENTS)[number];

/** The README table's rows: pgBackRest joins once a pgha cluster installs it. */
export const TABLE_COMPONENTS: readonly ResolvedComponent[] = RESOLVED_COMPONENTS.filter((c) => c !== 'pgbackrest');

/**
 * The package that stands for a component on a release: PostgreSQL's is the major the release
 * ships by default (what `postgres_version` defaults to), etcd's the server.
 */
export function componentPackage(c: ResolvedComponent, release: DebianRelease): string {
  if (c === 'postgresql') return `postgresql-${release.postgresDefault}`;
  if (c === 'etcd') return 'etcd-server';
  return c;
}

export interface ResolvedManifest {
  os: string;
  version: number;
  codename: string;
  /** The day it was resolved (YYYY-MM-DD). */
  date: string;
  /** Which index the versions were read from, in words. */
  source: string;
  /** A component whose package the index lacks (pgBackRest, which no pgha cluster installs yet) is absent. */
  components: Partial<Record<ResolvedComponent, { package: string; version: string }>>;
}

export function resolvedManifest(
  release: DebianRelease,
  entries: readonly IndexEntry[],
  o: { source: string; date: Date; components?: readonly ResolvedComponent[] },
): ResolvedManifest {
  const wanted = (o.components ?? RESOLVED_COMPONENTS).map((c) => [c, componentPackage(c, release)] as const);
  const versions = newestVersions(
    entries,
    wanted.map(([, p]) => p),
  );
  const components: ResolvedManifest['components'] = {};
  for (const [c, p] of wanted) {
    const v = versions[p];
    if (v !== undefined) components[c] = { package: p, version: v };
  }
  return {
    os: release.os,
    version: release.version,
    codename: release.codename,
    date: o.date.toISOString().slice(0, 10),
    source: o.source,
    components,
  };
}

/** A manifest read back from JSON; anything else is refused with where it came from. */
export function parseResolvedManifest(text: string, where: string): ResolvedManifest {
  const bad = (why: string) => new UsageError(`${where}: not a resolved-versions manifest (${why})`);
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (typeof m !== 'object' || m === null) throw bad('not an object');
  const r = m as Record<string, unknown>;
  for (const k of ['os', 'codename', 'date', 'source'] as const) if (typeof r[k] !== 'string') throw bad(`${k} is not a string`);
  if (typeof r.version !== 'number') throw bad('version is not a number');
  if (typeof r.components !== 'object' || r.components === null) throw bad('components is not an object');
  for (const [c, e] of Object.entries(r.components)) {
    if (!(RESOLVED_COMPONENTS as readonly string[]).includes(c)) throw bad(`unknown component ${c}`);
    const x = e as Record<string, unknown> | null;
    if (typeof x?.package !== 'string' || typeof x.version !== 'string') throw bad(`${c} lacks a package or a version`);
  }
  return m as ResolvedManifest;
}
