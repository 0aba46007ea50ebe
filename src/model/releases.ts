/**
 * The Debian releases pgha deploys, in one table: what a host's `os_version` means for its
 * packages (PostgreSQL's majors), its container image and its apt suites. Everything that
 * differs by release outside a component's own folder reads it from here. Pure data.
 */
import type { Vars } from './types.js';

export const OS_NAMES = ['Debian'] as const;
export type OsName = (typeof OS_NAMES)[number];

export const OS_VERSIONS = [12, 13] as const;
export type OsVersion = (typeof OS_VERSIONS)[number];

/**
 * The release of a host whose config names none, and what `configure` writes: Debian 13, the
 * current stable release. `configure` always writes `os_version` into cluster_vars, so a cluster
 * keeps its release whatever this default becomes; a config.yml from before `os_version` existed
 * (a Debian 12 cluster) is refused by deploy's release check with the fix (`os_version: 12`).
 */
export const DEFAULT_OS_VERSION: OsVersion = 13;

export interface DebianRelease {
  os: OsName;
  version: OsVersion;
  /** The suite name debootstrap and apt use (VERSION_CODENAME in os-release). */
  codename: string;
  /** The PostgreSQL major `postgres_version` defaults to: the one the release ships. */
  postgresDefault: number;
  /** Every PostgreSQL major the release's own archive ships (`postgresql-<major>`). */
  postgresShipped: readonly number[];
}

export const RELEASES: Readonly<Record<OsVersion, DebianRelease>> = Object.freeze({
  12: { os: 'Debian', version: 12, codename: 'bookworm', postgresDefault: 15, postgresShipped: [15] },
  13: { os: 'Debian', version: 13, codename: 'trixie', postgresDefault: 17, postgresShipped: [17] },
});

/** The release an `os_version` value names ("13" as YAML may keep it, or 13), or undefined. */
export function releaseByVersion(v: unknown): DebianRelease | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Object.hasOwn(RELEASES, n) ? RELEASES[n as OsVersion] : undefined;
}

/** The release of a host, from its resolved variables (unset: the default release). */
export function releaseOf(vars: Vars): DebianRelease {
  return releaseByVersion(vars.os_version ?? DEFAULT_OS_VERSION) ?? RELEASES[DEFAULT_OS_VERSION];
}

/** The release whose VERSION_CODENAME is `codename`, or undefined. */
export function releaseByCodename(codename: string): DebianRelease | undefined {
  return Object.values(RELEASES).find((r) => r.codename === codename);
}

/** The apt suites of a release: the release itself, its updates and its security updates. */
export function releaseSuites(r: DebianRelease): { main: string; updates: string; security: string } {
  return { main: r.codename, updates: `${r.codename}-updates`, security: `${r.codename}-security` };
}

/** `Debian 13 (trixie)`. */
export function releaseName(r: DebianRelease): string {
  return `${r.os} ${r.version} (${r.codename})`;
}
