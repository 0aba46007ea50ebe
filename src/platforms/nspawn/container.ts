/**
 * One nspawn container's life: its overlay root, booting systemd-nspawn in its own cgroup,
 * waiting for its sshd, and stopping it.
 *
 * Each host is a systemd-nspawn container booted (`-b`) from an overlayfs root whose lower layer
 * is the cached image and whose upper layer, under /var/lib/pgha/<cluster>/<host>/, keeps the
 * host's state across restarts. Containers sit on one Linux bridge per cluster with static
 * addresses (systemd-networkd inside); the host side of the bridge has the subnet's first
 * address. There is no NAT and no route out: packages come from the local repository,
 * bind-mounted read-only.
 *
 * What we found running systemd-nspawn 252 on a machine whose PID 1 is not systemd, with the
 * cgroup v1 "hybrid" layout (v1 controllers + name=systemd, cgroup2 at /sys/fs/cgroup/unified):
 *
 * - `--register=no` is required (there is no systemd-machined to register with), and
 *   `--keep-unit` too: without it nspawn asks the host's systemd, over D-Bus, for a scope unit,
 *   which fails without systemd as PID 1. With `--keep-unit` nspawn uses the cgroup it was
 *   started in and creates two children there: `supervisor` (itself) and `payload` (the
 *   container's systemd), in both the name=systemd and the cgroup2 hierarchy.
 * - Consequence: two containers started from the same cgroup (e.g. the root cgroup, which is
 *   where everything lives without a systemd PID 1) share `payload`, and each container's
 *   systemd then sees and manages the other's processes. Workaround: every nspawn is started
 *   through a tiny `sh` that first moves itself into its own cgroup,
 *   `<hierarchy>/pgha/<cluster>/<host>`, in every hierarchy nspawn uses (cgroup2 mounts and the
 *   v1 name=systemd one, read from /proc/self/mountinfo), then execs systemd-nspawn; the pid
 *   recorded is therefore nspawn's own. The directories are removed on deprovision.
 * - No `SYSTEMD_NSPAWN_UNIFIED_HIERARCHY` is needed: nspawn detects the hybrid layout and gives
 *   the container the same (the container's systemd logs a few harmless "Failed to create
 *   symlink /sys/fs/cgroup/…" lines). Forcing `=1` is not useful here since all controllers are
 *   bound to v1.
 * - Clean shutdown: SIGTERM to the systemd-nspawn process. With `-b` nspawn turns it into
 *   SIGRTMIN+3 for the container's systemd (its default `--kill-signal`), which powers off in
 *   about a second, after which nspawn exits. SIGKILL is the fallback after a timeout.
 * - `-M` is per machine state in /run/systemd/nspawn/propagate/NAME and names the host-side veth
 *   (`vb-NAME`); it is therefore `<host>.<cluster>` (see machineName) and the hostname is given
 *   with `--hostname`.
 * - `--resolv-conf=off`: nspawn would otherwise copy the machine's resolv.conf in, naming a
 *   server the container cannot reach; pgha writes its own (no server, names in /etc/hosts).
 * - With stdin not a tty nspawn's console is read-only: the boot log goes to console.log, and the
 *   image masks the gettys that would otherwise spin on it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { RuntimeError } from '../../errors.js';
import type { HostAddr } from '../platform.js';
import { CGROUP_WRAPPER } from './cgroups.js';
import type { HostPaths } from './paths.js';
import { exists, isMounted, isNspawnArgv, pidAlive, procArgv, run, sleep, tcpOpen } from './sys.js';

const STOP_TIMEOUT_MS = 15_000;

/** The live nspawn pid of a host, if its pid file names a systemd-nspawn running on its root. */
export async function runningPid(paths: HostPaths): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(paths.pidFile, 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return undefined;
  const argv = await procArgv(pid);
  if (!argv || !isNspawnArgv(argv)) return undefined;
  const i = argv.indexOf('-D');
  return i >= 0 && argv[i + 1] === paths.merged ? pid : undefined;
}

export async function ensureOverlay(image: string, paths: HostPaths): Promise<boolean> {
  const fresh = !(await exists(paths.upper));
  await mkdir(paths.upper, { recursive: true, mode: 0o755 });
  await mkdir(paths.work, { recursive: true, mode: 0o700 });
  await mkdir(paths.merged, { recursive: true, mode: 0o755 });
  if (!(await isMounted(paths.merged))) {
    await run(
      'mount',
      ['-t', 'overlay', 'overlay', '-o', `lowerdir=${image},upperdir=${paths.upper},workdir=${paths.work}`, paths.merged],
      { where: `provision: overlay ${paths.merged}` },
    );
  }
  return fresh;
}

export function bootNspawn(opts: { paths: HostPaths; argv: string[]; cgroups: string[]; nspawn: string }): number {
  const fd = openSync(opts.paths.consoleLog, 'a', 0o600);
  try {
    const child = spawn('/bin/sh', ['-c', CGROUP_WRAPPER, 'sh', ...opts.cgroups, '--', opts.nspawn, ...opts.argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    });
    child.unref();
    if (child.pid === undefined) throw new RuntimeError('systemd-nspawn did not start', { where: 'provision: boot' });
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export async function tailOf(file: string, lines = 12): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function waitForSsh(host: HostAddr, pid: number, paths: HostPaths, timeoutMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (!pidAlive(pid)) {
      throw new RuntimeError(`container exited during boot\n${await tailOf(paths.consoleLog)}`, {
        where: `provision: ${host.name}`,
        hint: `see ${paths.consoleLog}`,
      });
    }
    if (await tcpOpen(host.ip, 22, 500)) return;
    if (Date.now() - start > timeoutMs) {
      throw new RuntimeError(`sshd on ${host.ip}:22 did not answer within ${Math.round(timeoutMs / 1000)} s`, {
        where: `provision: ${host.name}`,
        hint: `see the boot log in ${paths.consoleLog}`,
      });
    }
    await sleep(150);
  }
}

export async function childrenOf(pid: number): Promise<number[]> {
  try {
    return (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * SIGTERM to systemd-nspawn: it asks the container's systemd to power off (SIGRTMIN+3) and exits
 * when it has. After STOP_TIMEOUT_MS: SIGKILL to the container's init (which takes its whole pid
 * namespace with it) and to nspawn.
 */
export async function stopPid(pid: number): Promise<'graceful' | 'killed' | 'none'> {
  if (!pidAlive(pid)) return 'none';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'none';
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return 'graceful';
    await sleep(100);
  }
  for (const child of await childrenOf(pid)) {
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 50 && pidAlive(pid); i++) await sleep(100);
  return 'killed';
}
