/**
 * Provisioning an nspawn cluster: check the spec and this machine, make the image, the bridge
 * and every container (see container.ts for how one boots), and pin their host keys.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PghaError, RuntimeError, UsageError } from '../../errors.js';
import type { HostAddr } from '../platform.js';
import { validateClusterAddressing } from './addressing.js';
import { assertSubnetFree, ensureBridge } from './bridge.js';
import { cgroupRoots, killAll, processesInCgroups } from './cgroups.js';
import { isPublicKeyLine, nspawnArgs } from './container-config.js';
import { bootNspawn, ensureOverlay, runningPid, waitForSsh } from './container.js';
import { writeHostFiles, writeKnownHosts } from './host-files.js';
import { ensureImage, type ImageInfo } from './image.js';
import { bridgeName, isValidClusterName, machineName } from './names.js';
import { bindMountProblem, cgroupDirs, clusterStateDir, hostPaths } from './paths.js';
import { assertHostPrereqs, assertRoot, installHostPrereqs } from './prereqs.js';
import { localRepoCodename } from './release.js';
import { acquireLock, exists, noLog, which, writeIfChanged, type Log } from './sys.js';

export interface NspawnClusterSpec {
  clusterDir: string;
  clusterName: string;
  /** IPv4 CIDR, e.g. 10.23.7.0/24; the bridge takes the first host address (.1). */
  subnet: string;
  hosts: HostAddr[];
  /** The Debian release of every container (bookworm, trixie): the image their roots overlay. */
  codename: string;
  /** OpenSSH public key line put in root's authorized_keys. */
  authorizedKey: string;
  /** DIR/local-repo: bind-mounted read-only at /srv/pgha-repo and used as the only apt source. */
  localRepoDir?: string;
  /** Where the containers' host keys are pinned; DIR/ssh/known_hosts when not given. */
  knownHostsFile?: string;
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
  const repoCodename = spec.localRepoDir ? await localRepoCodename(spec.localRepoDir) : undefined;
  if (repoCodename !== undefined && repoCodename !== spec.codename) {
    throw new UsageError(`${spec.localRepoDir} holds Debian ${repoCodename} packages, but the hosts run ${spec.codename}`, {
      where: 'provision: local repository',
      hint: 'run `pgha download-packages DIR` again after changing os_version',
    });
  }
  const nspawn = (await which('systemd-nspawn')) ?? 'systemd-nspawn';

  const image = await ensureImage(spec.codename, log, env);
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
    const knownHostsFile = await writeKnownHosts(spec.knownHostsFile ?? join(spec.clusterDir, 'ssh', 'known_hosts'), up, results);
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
