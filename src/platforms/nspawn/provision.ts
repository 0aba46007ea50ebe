/**
 * nspawn platform: containers as hosts.
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
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PghaError, RuntimeError, UsageError } from '../../errors.js';
import { assertHostPrereqs, installHostPrereqs } from '../prereqs.js';
import {
  NETWORKD_FILE,
  RESOLV_CONF,
  bridgeName,
  hostsFile,
  isPublicKeyLine,
  isValidClusterName,
  knownHostsLines,
  localRepoSourcesList,
  machineName,
  mergeKnownHosts,
  networkdConfig,
  nspawnArgs,
  overlappingRoutes,
  parseCidr,
  parseIpRoutes,
  subnetAddress,
  validateClusterAddressing,
  type HostAddr,
} from './helpers.js';
import { ensureImage, type ImageInfo } from './image.js';
import { bindMountProblem, cgroupDirs, clusterStateDir, hostPaths, type HostPaths } from './paths.js';
import {
  CGROUP_WRAPPER,
  acquireLock,
  cgroupRoots,
  removeCgroupTree,
  findNspawnByRoot,
  isMounted,
  isNspawnArgv,
  mountPoints,
  noLog,
  pidAlive,
  procArgv,
  run,
  sleep,
  tcpOpen,
  which,
  writeIfChanged,
  type Log,
  exists,
} from './sys.js';

export interface NspawnClusterSpec {
  clusterDir: string;
  clusterName: string;
  /** IPv4 CIDR, e.g. 10.23.7.0/24; the bridge takes the first host address (.1). */
  subnet: string;
  hosts: HostAddr[];
  /** OpenSSH public key line put in root's authorized_keys. */
  authorizedKey: string;
  /** DIR/local-repo: bind-mounted read-only at /srv/pgha-repo and used as the only apt source. */
  localRepoDir?: string;
}

export interface NspawnOptions {
  log?: Log;
  /** How long one host may take from nspawn start to sshd accepting connections. */
  bootTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Install missing host prerequisites with apt-get instead of failing (`--install-prereqs`). */
  installPrereqs?: boolean;
}

export interface HostTiming {
  host: string;
  ip: string;
  /** running: left alone; started: stopped container booted again; created: first boot. */
  action: 'running' | 'started' | 'created';
  /** nspawn pid. */
  pid: number;
  /** Seconds from spawning nspawn to port 22 accepting (0 when left running). */
  bootToSshSeconds: number;
  /** Seconds for this host in total (overlay, files, keys, boot). */
  seconds: number;
}

export interface ProvisionResult {
  image: ImageInfo;
  bridge: string;
  bridgeAddress: string;
  knownHostsFile: string;
  hosts: HostTiming[];
  seconds: number;
}

export interface HostStop {
  host: string;
  /** graceful: stopped on SIGTERM; killed: needed SIGKILL; none: was not running. */
  stopped: 'graceful' | 'killed' | 'none';
  seconds: number;
}

export interface DeprovisionResult {
  bridge: string;
  hosts: HostStop[];
  seconds: number;
}

const STOP_TIMEOUT_MS = 15_000;

function validateSpec(
  spec: Pick<NspawnClusterSpec, 'clusterName' | 'subnet' | 'hosts'> & { authorizedKey?: string; localRepoDir?: string | undefined },
): void {
  if (!isValidClusterName(spec.clusterName)) {
    throw new UsageError(`cluster name ${JSON.stringify(spec.clusterName)} cannot be used for containers`, {
      hint: 'use letters, digits, "-", "_" and "." only (at most 63 characters)',
    });
  }
  if (spec.hosts.length === 0) throw new UsageError('no hosts to provision');
  const unbindable = spec.localRepoDir === undefined ? undefined : bindMountProblem(spec.localRepoDir);
  if (unbindable) throw new UsageError(`cluster directory ${unbindable}`);
  validateClusterAddressing(spec.subnet, spec.hosts);
  if (spec.authorizedKey !== undefined && !isPublicKeyLine(spec.authorizedKey)) {
    throw new UsageError('the cluster SSH key is not a single OpenSSH public key line', { hint: 'check DIR/ssh/id_pgha.pub' });
  }
}

function assertRoot(step: string): void {
  if (process.getuid?.() !== 0) {
    throw new RuntimeError('the nspawn platform needs root (containers, bridges, mounts)', { where: step, hint: 'run pgha as root' });
  }
}

// ---------------------------------------------------------------- bridge

/**
 * The kernel tears down a stopped container's veth pair some seconds later; until then a new
 * container with the same machine name cannot create it ("File exists"). Wait briefly for the
 * ports of the bridge to go, then delete what is left (one end takes its peer with it).
 */
async function removeBridgePorts(bridge: string, log: Log): Promise<void> {
  const ports = async () => {
    const r = await run('ip', ['-j', 'link', 'show', 'master', bridge], { allowFail: true });
    if (r.code !== 0 || !r.stdout.trim()) return [];
    return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
  };
  for (let i = 0; i < 10 && (await ports()).length; i++) await sleep(500);
  for (const dev of await ports()) {
    log(`deleting leftover veth ${dev}`);
    await run('ip', ['link', 'del', dev], { allowFail: true });
  }
}

async function linkExists(dev: string): Promise<boolean> {
  const r = await run('ip', ['-j', 'link', 'show', 'dev', dev], { allowFail: true });
  return r.code === 0;
}

async function assertSubnetFree(subnet: string, bridge: string): Promise<void> {
  const { stdout } = await run('ip', ['-j', '-4', 'route'], { where: 'provision: network' });
  const routes = parseIpRoutes(stdout).filter((r) => r.dst !== '127.0.0.0/8' && !r.dst.startsWith('127.'));
  const clash = overlappingRoutes(subnet, routes, bridge);
  if (clash.length) {
    throw new UsageError(
      `subnet ${subnet} overlaps ${clash.map((r) => `${r.dst}${r.dev ? ` (dev ${r.dev})` : ''}`).join(', ')} on this machine`,
      { where: 'provision: network', hint: 'choose another subnet in config.yml (pgha configure --subnet CIDR)' },
    );
  }
}

async function ensureBridge(bridge: string, subnet: string, log: Log): Promise<string> {
  const where = `provision: bridge ${bridge}`;
  const address = `${subnetAddress(subnet, 1)}/${parseCidr(subnet).prefix}`;
  if (!(await linkExists(bridge))) {
    log(`creating bridge ${bridge} (${address})`);
    await run('ip', ['link', 'add', bridge, 'type', 'bridge'], { where });
  }
  // No IPv6 on the bridge: nothing uses it, and it keeps the link quiet.
  await writeFile(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1').catch(() => {});
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', bridge], { where });
  const have = (JSON.parse(stdout || '[]') as { addr_info?: { local?: string; prefixlen?: number }[] }[])
    .flatMap((l) => l.addr_info ?? [])
    .map((a) => `${a.local}/${a.prefixlen}`);
  if (have.length !== 1 || have[0] !== address) {
    if (have.length) await run('ip', ['-4', 'addr', 'flush', 'dev', bridge], { where });
    await run('ip', ['addr', 'add', address, 'dev', bridge], { where });
  }
  await run('ip', ['link', 'set', bridge, 'up'], { where });
  return address;
}

// ---------------------------------------------------------------- containers

/** The live nspawn pid of a host, if its pid file names a systemd-nspawn running on its root. */
async function runningPid(paths: HostPaths): Promise<number | undefined> {
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

async function ensureOverlay(image: string, paths: HostPaths): Promise<boolean> {
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

/** Per-host files inside the root. Host keys and machine id are made once and then kept. */
async function writeHostFiles(spec: NspawnClusterSpec, host: HostAddr, root: string): Promise<string[]> {
  const etc = (p: string): string => join(root, 'etc', p);
  await writeIfChanged(etc('hostname'), `${host.name}\n`);
  await writeIfChanged(etc('hosts'), hostsFile(host.name, spec.hosts));
  await writeIfChanged(join(root, NETWORKD_FILE), networkdConfig(host.ip, spec.subnet));
  await writeIfChanged(etc('resolv.conf'), RESOLV_CONF);
  let machineId = '';
  try {
    machineId = (await readFile(etc('machine-id'), 'utf8')).trim();
  } catch {
    /* absent */
  }
  if (!/^[0-9a-f]{32}$/.test(machineId)) await writeIfChanged(etc('machine-id'), `${randomBytes(16).toString('hex')}\n`, 0o444);

  const keyFile = etc('ssh/ssh_host_ed25519_key');
  if (!(await exists(keyFile)) || !(await exists(`${keyFile}.pub`))) {
    await rm(keyFile, { force: true });
    await rm(`${keyFile}.pub`, { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${host.name}`, '-f', keyFile], {
      where: `provision: ${host.name}: host key`,
    });
  }
  const pub = (await readFile(`${keyFile}.pub`, 'utf8')).trim();

  const sshDir = join(root, 'root/.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await chmod(sshDir, 0o700);
  await writeIfChanged(join(sshDir, 'authorized_keys'), `${spec.authorizedKey.trim()}\n`, 0o600);
  await chmod(join(sshDir, 'authorized_keys'), 0o600);

  if (spec.localRepoDir) await writeIfChanged(etc('apt/sources.list'), localRepoSourcesList());
  return [pub];
}

function bootNspawn(opts: { paths: HostPaths; argv: string[]; cgroups: string[]; nspawn: string }): number {
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

async function tailOf(file: string, lines = 12): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function waitForSsh(host: HostAddr, pid: number, paths: HostPaths, timeoutMs: number): Promise<void> {
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

/**
 * Every process in the cgroup subtrees given: what is left of a container whose nspawn died
 * before it (its init is re-parented and keeps running in the cgroup we started nspawn in).
 */
async function processesInCgroups(dirs: string[]): Promise<number[]> {
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

async function killAll(pids: number[]): Promise<void> {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 50 && pids.some(pidAlive); i++) await sleep(100);
}

/**
 * State is keyed by cluster name; record which cluster directory it belongs to so two
 * directories with the same cluster_name can't take over each other's containers.
 */
async function claimClusterName(spec: NspawnClusterSpec, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  const base = clusterStateDir(spec.clusterName, env);
  const owner = join(base, 'cluster-dir');
  const mine = resolve(spec.clusterDir);
  let recorded: string | undefined;
  try {
    recorded = (await readFile(owner, 'utf8')).trim();
  } catch {
    /* first provision */
  }
  if (recorded && recorded !== mine) {
    if (await exists(recorded)) {
      throw new UsageError(`cluster name ${spec.clusterName} is already provisioned on this machine from ${recorded}`, {
        where: 'provision',
        hint: `run \`pgha deprovision ${recorded}\` first, or choose another cluster_name`,
      });
    }
    log(`cluster ${spec.clusterName} was provisioned from ${recorded}, which no longer exists: taking it over`);
  }
  await mkdir(base, { recursive: true, mode: 0o700 });
  await writeIfChanged(owner, `${mine}\n`, 0o600);
}

/**
 * Create (or start again) every container of the cluster and pin their host keys.
 * Running containers are left alone (their files are refreshed); stopped ones boot again on the
 * overlay they had, so their state is kept.
 */
export async function provisionNspawn(spec: NspawnClusterSpec, opts: NspawnOptions = {}): Promise<ProvisionResult> {
  const log = opts.log ?? noLog;
  const env = opts.env ?? process.env;
  const bootTimeoutMs = opts.bootTimeoutMs ?? 120_000;
  const start = Date.now();
  validateSpec(spec);
  assertRoot('provision');
  if (opts.installPrereqs) await installHostPrereqs(log);
  await assertHostPrereqs();
  if (spec.localRepoDir && !(await exists(join(spec.localRepoDir, 'Packages')))) {
    throw new RuntimeError(`${spec.localRepoDir} is not a package repository (no Packages index)`, {
      where: 'provision: local repository',
      hint: 'run `pgha download-packages DIR` first',
    });
  }
  const nspawn = (await which('systemd-nspawn')) ?? 'systemd-nspawn';

  const image = await ensureImage(log, env);
  const bridge = bridgeName(spec.clusterName);
  const release = await acquireLock(`${clusterStateDir(spec.clusterName, env)}.lock`, `cluster ${spec.clusterName}`, log);
  try {
    await assertSubnetFree(spec.subnet, bridge);
    await claimClusterName(spec, env, log);
    const bridgeAddress = await ensureBridge(bridge, spec.subnet, log);
    const roots = await cgroupRoots();

    const settled = await Promise.allSettled(
      spec.hosts.map(async (host): Promise<HostTiming & { keys: string[] }> => {
        const t0 = Date.now();
        const paths = hostPaths(spec.clusterName, host.name, env);
        await mkdir(paths.base, { recursive: true, mode: 0o700 });
        const pid = await runningPid(paths);
        if (pid !== undefined) {
          // Left alone; its overlay is mounted, so refreshed files (e.g. /etc/hosts) are seen inside.
          const keys = await writeHostFiles(spec, host, paths.merged);
          log(`${host.name}: running (pid ${pid}), left alone`);
          await waitForSsh(host, pid, paths, bootTimeoutMs);
          return { host: host.name, ip: host.ip, action: 'running', pid, bootToSshSeconds: 0, seconds: (Date.now() - t0) / 1000, keys };
        }
        const fresh = await ensureOverlay(image.dir, paths);
        const keys = await writeHostFiles(spec, host, paths.merged);
        const cgroups = cgroupDirs(roots, spec.clusterName, host.name);
        const stale = await processesInCgroups(cgroups);
        if (stale.length) {
          // A container whose systemd-nspawn was killed: it still holds the overlay. Stop it first.
          log(`${host.name}: killing what is left of its previous container (pids ${stale.join(' ')})`);
          await killAll(stale);
        }
        for (const cg of cgroups) await mkdir(cg, { recursive: true }).catch(() => {});
        const argv = nspawnArgs({
          root: paths.merged,
          machine: machineName(spec.clusterName, host.name),
          hostname: host.name,
          bridge,
          repoDir: spec.localRepoDir,
        });
        await writeFile(paths.consoleLog, `--- ${new Date().toISOString()} systemd-nspawn ${argv.join(' ')}\n`, { flag: 'a', mode: 0o600 });
        const b0 = Date.now();
        const newPid = bootNspawn({ paths, argv, cgroups, nspawn });
        await writeFile(paths.pidFile, `${newPid}\n`);
        log(`${host.name}: booting (pid ${newPid}, ${host.ip})`);
        await waitForSsh(host, newPid, paths, bootTimeoutMs);
        const bootToSshSeconds = (Date.now() - b0) / 1000;
        log(`${host.name}: sshd up after ${bootToSshSeconds.toFixed(1)} s`);
        return {
          host: host.name,
          ip: host.ip,
          action: fresh ? 'created' : 'started',
          pid: newPid,
          bootToSshSeconds,
          seconds: (Date.now() - t0) / 1000,
          keys,
        };
      }),
    );

    const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    // Pin the keys of the hosts that came up even when another failed, then report the failure.
    const up = spec.hosts.filter((h) => results.some((r) => r.host === h.name));
    const knownHostsFile = await writeKnownHosts(spec.clusterDir, up, results);
    const failed = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) {
      throw new RuntimeError(
        `${failed.length} of ${spec.hosts.length} containers did not come up:\n${failed
          .map((e) =>
            e instanceof PghaError && e.where ? `  ${e.where}: ${e.message}` : `  ${String(e instanceof Error ? e.message : e)}`,
          )
          .join('\n')}`,
        { where: 'provision', hint: `see console.log under ${clusterStateDir(spec.clusterName, env)}/<host>/` },
      );
    }
    return {
      image,
      bridge,
      bridgeAddress,
      knownHostsFile,
      hosts: results.map(({ keys: _k, ...t }) => t),
      seconds: (Date.now() - start) / 1000,
    };
  } finally {
    await release();
  }
}

async function writeKnownHosts(clusterDir: string, hosts: HostAddr[], results: { host: string; keys: string[] }[]): Promise<string> {
  const dir = join(clusterDir, 'ssh');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, 'known_hosts');
  let existing = '';
  try {
    existing = await readFile(file, 'utf8');
  } catch {
    /* first time */
  }
  const lines = hosts.flatMap((h) => knownHostsLines(h, results.find((r) => r.host === h.name)?.keys ?? []));
  await writeFile(file, mergeKnownHosts(existing, hosts, lines), { mode: 0o644 });
  await chmod(file, 0o644);
  return file;
}

// ---------------------------------------------------------------- deprovision

async function childrenOf(pid: number): Promise<number[]> {
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
async function stopPid(pid: number): Promise<'graceful' | 'killed' | 'none'> {
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

/**
 * Stop and remove every container of the cluster (those of `spec.hosts` and any other found in
 * its state directory), the overlays, the state directory and the bridge. Safe to run again.
 */
export async function deprovisionNspawn(
  spec: Pick<NspawnClusterSpec, 'clusterName'> & { hosts?: HostAddr[] },
  opts: NspawnOptions = {},
): Promise<DeprovisionResult> {
  const log = opts.log ?? noLog;
  const env = opts.env ?? process.env;
  const start = Date.now();
  if (!isValidClusterName(spec.clusterName)) throw new UsageError(`invalid cluster name ${JSON.stringify(spec.clusterName)}`);
  assertRoot('deprovision');
  const bridge = bridgeName(spec.clusterName);
  const base = clusterStateDir(spec.clusterName, env);
  const release = await acquireLock(`${base}.lock`, `cluster ${spec.clusterName}`, log);
  try {
    const names = new Set((spec.hosts ?? []).map((h) => h.name));
    for (const e of await readdir(base, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) names.add(e.name);

    const roots = await cgroupRoots();
    const hosts = await Promise.all(
      [...names].map(async (name): Promise<HostStop> => {
        const t0 = Date.now();
        const paths = hostPaths(spec.clusterName, name, env);
        const pids = new Set<number>();
        const recorded = await runningPid(paths);
        if (recorded !== undefined) pids.add(recorded);
        for (const p of await findNspawnByRoot(paths.merged)) pids.add(p);
        let stopped: HostStop['stopped'] = 'none';
        for (const pid of pids) {
          log(`${name}: stopping (pid ${pid})`);
          const r = await stopPid(pid);
          if (r === 'killed' || (r === 'graceful' && stopped === 'none')) stopped = r;
        }
        // Left-overs of a container whose nspawn was killed: its init and everything under it.
        const orphans = await processesInCgroups(cgroupDirs(roots, spec.clusterName, name));
        if (orphans.length) {
          stopped = 'killed';
          await killAll(orphans);
        }
        if (await isMounted(paths.merged)) {
          const r = await run('umount', [paths.merged], { allowFail: true });
          if (r.code !== 0) await run('umount', ['-l', paths.merged], { where: `deprovision: ${name}: unmount` });
        }
        return { host: name, stopped, seconds: (Date.now() - t0) / 1000 };
      }),
    );

    for (const cg of cgroupDirs(roots, spec.clusterName)) await removeCgroupTree(cg);
    for (const root of roots) await rmdir(join(root, 'pgha')).catch(() => {});

    const left = (await mountPoints()).filter((m) => m === base || m.startsWith(`${base}/`));
    if (left.length) {
      throw new RuntimeError(`still mounted: ${left.join(', ')}`, {
        where: 'deprovision',
        hint: `unmount them, then run deprovision again`,
      });
    }
    await rm(base, { recursive: true, force: true });
    if (await linkExists(bridge)) {
      await removeBridgePorts(bridge, log);
      log(`deleting bridge ${bridge}`);
      await run('ip', ['link', 'del', bridge], { where: `deprovision: bridge ${bridge}` });
    }
    return { bridge, hosts, seconds: (Date.now() - start) / 1000 };
  } finally {
    await release();
  }
}
