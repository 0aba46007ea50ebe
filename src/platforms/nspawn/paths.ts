/** Where the nspawn platform keeps things on the machine (pure: only reads the environment given). */
import { join } from 'node:path';

export const IMAGE_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'iproute2', 'python3', 'sudo', 'ca-certificates'];

/** `PGHA_CACHE_DIR`, default /var/cache/pgha: the image and downloaded .debs. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGHA_CACHE_DIR || '/var/cache/pgha';
}

/** One image per Debian release (`codename`: bookworm, trixie), so clusters of both can run side by side. */
export function imageDir(codename: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'image', codename);
}

/** apt's lists of one release's suites, kept between repository builds; per release, as each update replaces them. */
export function aptListsDir(codename: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `apt-lists-${codename}`);
}

export function debCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'debs');
}

/** `PGHA_STATE_DIR`, default /var/lib/pgha: per-cluster container state (overlays, pids, logs). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGHA_STATE_DIR || '/var/lib/pgha';
}

export interface HostPaths {
  base: string;
  upper: string;
  work: string;
  merged: string;
  pidFile: string;
  consoleLog: string;
}

export function clusterStateDir(clusterName: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), clusterName);
}

export function hostPaths(clusterName: string, host: string, env: NodeJS.ProcessEnv = process.env): HostPaths {
  const base = join(clusterStateDir(clusterName, env), host);
  return {
    base,
    upper: join(base, 'upper'),
    work: join(base, 'work'),
    merged: join(base, 'merged'),
    pidFile: join(base, 'pid'),
    consoleLog: join(base, 'console.log'),
  };
}

/**
 * cgroup directories each container's nspawn is moved into before exec, one per hierarchy that
 * systemd-nspawn uses on this machine (see the note in container.ts).
 */
export function cgroupDirs(roots: string[], clusterName: string, host?: string): string[] {
  return roots.map((r) => (host === undefined ? join(r, 'pgha', clusterName) : join(r, 'pgha', clusterName, host)));
}

/**
 * systemd-nspawn's `--bind=SRC:DEST` splits at every ':', so a cluster directory holding one
 * would be mounted from the wrong place (or not at all). Refused before anything is created.
 */
export function bindMountProblem(path: string): string | undefined {
  return path.includes(':')
    ? `${path}: the path contains ":", which systemd-nspawn's bind mounts read as a separator; move or rename the directory to a path without ":"`
    : undefined;
}

/**
 * What `download-packages` last resolved for a release with nothing pinned (resolved.ts): beside
 * the release's apt lists, machine-wide, as every cluster of the release resolves the same.
 */
export function resolvedManifestFile(codename: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `resolved-${codename}.json`);
}
