/**
 * Giving every systemd-nspawn its own cgroup (see the header of container.ts for why), and
 * finding and removing what is left in those cgroups.
 */
import { readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive, sleep } from './sys.js';

/**
 * cgroup hierarchies systemd-nspawn places itself in, from /proc/self/mountinfo text:
 * every cgroup2 mount, and the v1 `name=systemd` hierarchy (hybrid/legacy hosts).
 */
export function cgroupRootsFromMountinfo(mountinfo: string): string[] {
  const roots: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fstype, , superOpts = ''] = right.split(' ');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2' || (fstype === 'cgroup' && superOpts.split(',').includes('name=systemd'))) {
      roots.push(mountPoint);
    }
  }
  return roots;
}

/**
 * `sh -c` script: move itself into each cgroup directory given before `--` (best effort), then
 * exec the rest. Used to give every systemd-nspawn its own cgroup (see container.ts).
 */
export const CGROUP_WRAPPER = 'while [ "$1" != "--" ]; do echo $$ > "$1/cgroup.procs" 2>/dev/null || :; shift; done; shift; exec "$@"';

/** cgroup hierarchies systemd-nspawn uses on this machine. */
export async function cgroupRoots(): Promise<string[]> {
  try {
    return cgroupRootsFromMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
  } catch {
    return [];
  }
}

/** rmdir a cgroup directory and its children, depth first (only empty cgroups go away). */
export async function removeCgroupTree(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) await removeCgroupTree(join(dir, e));
  await rmdir(dir).catch(() => {});
}

/**
 * Every process in the cgroup subtrees given: what is left of a container whose nspawn died
 * before it (its init is re-parented and keeps running in the cgroup we started nspawn in).
 */
export async function processesInCgroups(dirs: string[]): Promise<number[]> {
  const out = new Set<number>();
  const walk = async (dir: string): Promise<void> => {
    try {
      for (const l of (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n')) if (/^\d+$/.test(l)) out.add(Number(l));
    } catch {
      return;
    }
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  for (const d of dirs) await walk(d);
  out.delete(process.pid);
  return [...out];
}

/** SIGKILL every pid given and wait (up to 5 s) for them to go. */
export async function killAll(pids: number[]): Promise<void> {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 50 && pids.some(pidAlive); i++) await sleep(100);
}
