/**
 * Which Debian release a host runs and which versions of its daemons are installed, for `pgha
 * status`. Read as two more parts of the host's one state exec (./host-state.ts), so it costs no
 * round trip of its own: os-release(5), and `dpkg-query` for the package of each component the
 * host runs (the first of the component's packages, its daemon's: postgresql-17, patroni,
 * etcd-server, haproxy, pgbouncer). The parsers are pure and take whatever the host printed.
 */
import type { HostState } from '../../components/health.js';
import { COMPONENTS } from '../../components/registry.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { OS_RELEASE_SCRIPT, parseOsRelease } from '../../platforms/os-release.js';
import { quote } from '../../transport/quote.js';

/** The part names, beside the components' own (which never start with `host:`). */
export const RELEASE_PART = 'host:os-release';
export const PACKAGES_PART = 'host:packages';

/** A host's release as os-release says it: `{id: 'debian', version: '13', codename: 'trixie'}`. */
export interface HostRelease {
  id: string;
  /** VERSION_ID; empty on a release without one (testing, sid). */
  version: string;
  codename: string;
}

/** The packages whose versions status shows on `host`: each component's own, for the components it runs. */
export function daemonPackages(cluster: ResolvedCluster, host: ResolvedHost): string[] {
  return COMPONENTS.flatMap((c) => {
    if (!c.runsOn(cluster, host)) return [];
    const own = c.packages(host)[0];
    return own ? [own.name] : [];
  });
}

/**
 * The two parts to add to the host's exec. dpkg-query prints one line per package it knows, with
 * its status (a package removed but not purged is known, and not installed); one it has never
 * heard of only makes it complain on stderr, which is dropped here, and exit 1, which is not an
 * error here.
 */
export function hostReleaseParts(cluster: ResolvedCluster, host: ResolvedHost): { name: string; script: string }[] {
  const pkgs = daemonPackages(cluster, host);
  return [
    { name: RELEASE_PART, script: OS_RELEASE_SCRIPT },
    {
      name: PACKAGES_PART,
      script: pkgs.length
        ? `dpkg-query -W -f='\${Package}\\t\${Status}\\t\${Version}\\n' ${pkgs.map(quote).join(' ')} 2>/dev/null || true`
        : 'true',
    },
  ];
}

/** os-release's text as a release; undefined when it names none (not read, or not os-release at all). */
export function releaseOfText(text: string): HostRelease | undefined {
  const v = parseOsRelease(text);
  if (!v.ID) return undefined;
  return { id: v.ID, version: v.VERSION_ID ?? '', codename: v.VERSION_CODENAME ?? '' };
}

/**
 * dpkg-query's `Package\tStatus\tVersion` lines as {package: version}, installed packages only
 * (Status `install ok installed`, or `hold ok installed` for a pinned one). Anything else, a package
 * known but not installed, or a line that is not dpkg-query's, is left out.
 */
export function parseDpkgVersions(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f.length !== 3) continue;
    const [name, status, version] = f as [string, string, string];
    if (!/^[a-z0-9][a-z0-9+.-]*$/.test(name) || !version.trim()) continue;
    if (status.trim().split(/\s+/)[2] !== 'installed') continue;
    out[name] = version.trim();
  }
  return out;
}

/** A host's release and daemon versions as status reports them. */
export interface HostStatus {
  name: string;
  reachable: boolean;
  /** null when it could not be read (the host does not answer over SSH). */
  release: HostRelease | null;
  /** Installed version of each daemon package the host runs; null when it could not be read. */
  packages: Record<string, string> | null;
  error?: string;
}

/** What one read of a host (its state exec with the parts above) says about its release and packages. */
export function hostStatus(state: HostState): HostStatus {
  const rel = state.parts?.get(RELEASE_PART);
  const pkgs = state.parts?.get(PACKAGES_PART);
  return {
    name: state.host.name,
    reachable: state.error === undefined,
    release: rel ? (releaseOfText(rel.text) ?? null) : null,
    packages: pkgs ? parseDpkgVersions(pkgs.text) : null,
    ...(state.error !== undefined ? { error: state.error } : {}),
  };
}
