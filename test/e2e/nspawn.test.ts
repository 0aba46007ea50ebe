/**
 * End-to-end test of the nspawn platform: image, local repository, two containers, SSH with
 * pinned host keys, a package installed from the local repository, re-provision, deprovision.
 *
 * Needs root and the host prerequisites. Skipped without them, unless PGHA_E2E=1 (CI), where a
 * missing prerequisite fails the test instead.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { deprovisionNspawn } from '../../src/platforms/nspawn/deprovision.js';
import { bridgeName } from '../../src/platforms/nspawn/names.js';
import { clusterStateDir, hostPaths } from '../../src/platforms/nspawn/paths.js';
import { checkHostPrereqs } from '../../src/platforms/nspawn/prereqs.js';
import { provisionNspawn, type NspawnClusterSpec, type ProvisionResult } from '../../src/platforms/nspawn/provision.js';
import { buildLocalRepo } from '../../src/platforms/nspawn/repo.js';

const pexec = promisify(execFile);
const E2E = process.env.PGHA_E2E === '1';
const isRoot = process.getuid?.() === 0;
const missing = await checkHostPrereqs();
const canRun = isRoot && missing.length === 0;
const LONG = 600_000;

const clusterName = `pgha-e2e-nspawn-${process.pid}`;
const hosts = [
  { name: 'n1', ip: '10.231.7.11' },
  { name: 'n2', ip: '10.231.7.12' },
];
const log = (line: string): void => console.log(`[nspawn e2e] ${line}`);

async function sh(cmd: string, args: string[], timeout = 120_000): Promise<{ stdout: string; stderr: string }> {
  return pexec(cmd, args, { timeout, maxBuffer: 16 * 1024 * 1024 });
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function nspawnPidsUnder(dir: string): Promise<number[]> {
  const { stdout } = await sh('ps', ['-eo', 'pid=,args=']);
  return stdout
    .split('\n')
    .filter((l) => l.includes('systemd-nspawn') && l.includes(`${dir}/`))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe.skipIf(!canRun && !E2E)('nspawn platform (e2e)', () => {
  let tmp = '';
  let spec: NspawnClusterSpec;
  let first: ProvisionResult | undefined;
  let knownHosts = '';
  let key = '';

  const ssh = (ip: string, command: string, extra: string[] = []): Promise<{ stdout: string; stderr: string }> =>
    sh(
      'ssh',
      [
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=10',
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-i',
        key,
        ...extra,
        `root@${ip}`,
        command,
      ],
      300_000,
    );

  beforeAll(async () => {
    if (!canRun) return;
    tmp = await mkdtemp(join(tmpdir(), 'pgha-nspawn-e2e-'));
    await sh('mkdir', ['-m', '0700', join(tmp, 'ssh')]);
    key = join(tmp, 'ssh', 'id_pgha');
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pgha-e2e', '-f', key]);
    knownHosts = join(tmp, 'ssh', 'known_hosts');
    const repo = await buildLocalRepo({ clusterDir: tmp, codename: 'bookworm', packages: ['haproxy'], pins: {} }, { log });
    log(`local repo: ${repo.debs} debs, ${repo.seconds.toFixed(1)} s (reused: ${repo.reused})`);
    spec = {
      clusterDir: tmp,
      clusterName,
      subnet: '10.231.7.0/24',
      hosts,
      codename: 'bookworm',
      authorizedKey: (await readFile(`${key}.pub`, 'utf8')).trim(),
      localRepoDir: repo.dir,
    };
  }, LONG);

  afterAll(async () => {
    if (!canRun) return;
    // Always, even when a test failed half way; idempotent when the last test already did it.
    await deprovisionNspawn({ clusterName, hosts }, { log }).catch((e: unknown) => log(`deprovision failed: ${String(e)}`));
    await deprovisionNspawn({ clusterName: `${clusterName}-clash` }, { log }).catch(() => {});
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, LONG);

  it('has root and the host prerequisites', () => {
    expect(isRoot, 'the nspawn e2e test needs root').toBe(true);
    expect(missing, 'apt-get install -y systemd-container debootstrap dpkg-dev').toEqual([]);
  });

  it(
    'provisions two containers and pins their host keys',
    async () => {
      first = await provisionNspawn(spec, { log });
      log(
        `provision: ${first.seconds.toFixed(1)} s; ${first.hosts.map((h) => `${h.host} boot-to-sshd ${h.bootToSshSeconds.toFixed(1)} s`).join(', ')}`,
      );
      expect(first.bridge).toBe(bridgeName(clusterName));
      expect(first.bridge.length).toBeLessThanOrEqual(15);
      expect(first.hosts.map((h) => [h.host, h.action])).toEqual([
        ['n1', 'created'],
        ['n2', 'created'],
      ]);
      expect((await stat(join(tmp, 'ssh'))).mode & 0o777).toBe(0o700);
      expect((await stat(knownHosts)).mode & 0o777).toBe(0o644);
      const kh = await readFile(knownHosts, 'utf8');
      for (const h of hosts) {
        expect(kh).toMatch(new RegExp(`^${h.ip.replace(/\./g, '\\.')} ssh-ed25519 `, 'm'));
        expect(kh).toMatch(new RegExp(`^${h.name} ssh-ed25519 `, 'm'));
      }
      // Every container has its own host key.
      const keys = kh
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[2]);
      expect(new Set(keys).size).toBe(2);
    },
    LONG,
  );

  it(
    'answers SSH with the pinned host keys, and refuses a wrong key',
    async () => {
      for (const h of hosts) {
        const { stdout } = await ssh(h.ip, 'hostname');
        expect(stdout.trim()).toBe(h.name);
      }
      // n1's address presented with n2's pinned key must be refused.
      await expect(ssh(hosts[0]!.ip, 'true', ['-o', `HostKeyAlias=${hosts[1]!.name}`])).rejects.toThrow();
    },
    LONG,
  );

  it(
    'has the cluster network, names and no internet apt source',
    async () => {
      const { stdout } = await ssh(
        hosts[0]!.ip,
        'getent hosts n2; cat /etc/apt/sources.list; ls /etc/apt/sources.list.d; bash -c "</dev/tcp/n2/22" && echo n2-ssh-reachable',
      );
      expect(stdout).toContain('10.231.7.12');
      expect(stdout).toContain('n2-ssh-reachable');
      expect(stdout).toContain('deb [trusted=yes] file:/srv/pgha-repo ./');
      expect(stdout).not.toMatch(/^deb\s+https?:/m);
    },
    LONG,
  );

  it(
    'installs a package from the local repository',
    async () => {
      const { stdout } = await ssh(
        hosts[0]!.ip,
        'export DEBIAN_FRONTEND=noninteractive; apt-get update 2>&1 && apt-get install -y haproxy >/dev/null 2>&1 && dpkg-query -W -f="\\${Status}\\n" haproxy && haproxy -v | head -1',
      );
      expect(stdout).toContain('file:/srv/pgha-repo');
      expect(stdout).not.toMatch(/deb\.debian\.org/);
      expect(stdout).toContain('install ok installed');
      expect(stdout).toMatch(/HAProxy version 2\./);
    },
    LONG,
  );

  it(
    'refuses an overlapping subnet and a cluster name owned by another directory (exit 2)',
    async () => {
      const clash = `${clusterName}-clash`;
      const err1 = await provisionNspawn(
        { ...spec, clusterName: clash, subnet: '10.231.7.128/25', hosts: [{ name: 'x1', ip: '10.231.7.130' }] },
        { log },
      ).catch((e: unknown) => e);
      expect(err1).toBeInstanceOf(UsageError);
      expect((err1 as UsageError).exitCode).toBe(2);
      expect((err1 as Error).message).toContain(`overlaps 10.231.7.0/24 (dev ${bridgeName(clusterName)})`);
      expect(await exists(clusterStateDir(clash))).toBe(false);
      const link = await pexec('ip', ['link', 'show', 'dev', bridgeName(clash)]).then(
        () => true,
        () => false,
      );
      expect(link).toBe(false);

      const err2 = await provisionNspawn({ ...spec, clusterDir: join(tmp, 'ssh') }, { log }).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(UsageError);
      expect((err2 as Error).message).toContain(`already provisioned on this machine from ${tmp}`);
    },
    LONG,
  );

  it(
    'leaves running containers alone and starts stopped ones again with their state',
    async () => {
      expect(first).toBeDefined();
      const again = await provisionNspawn(spec, { log });
      expect(again.hosts.map((h) => [h.host, h.action, h.pid])).toEqual(first!.hosts.map((h) => [h.host, 'running', h.pid]));

      // Stop n2 behind pgha's back, leave a marker first: it must come back with it.
      await ssh(hosts[1]!.ip, 'echo kept > /root/marker && sync');
      const n2pid = first!.hosts[1]!.pid;
      process.kill(n2pid, 'SIGTERM');
      for (let i = 0; i < 150 && (await exists(`/proc/${n2pid}`)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await exists(`/proc/${n2pid}`)).toBe(false);

      const third = await provisionNspawn(spec, { log });
      log(`restart: ${third.hosts.map((h) => `${h.host} ${h.action} ${h.bootToSshSeconds.toFixed(1)} s`).join(', ')}`);
      expect(third.hosts.map((h) => [h.host, h.action])).toEqual([
        ['n1', 'running'],
        ['n2', 'started'],
      ]);
      expect(third.hosts[0]!.pid).toBe(first!.hosts[0]!.pid);
      const { stdout } = await ssh(hosts[1]!.ip, 'cat /root/marker');
      expect(stdout.trim()).toBe('kept');
    },
    LONG,
  );

  it(
    'deprovisions: no process, mount, state or bridge left; again is a no-op',
    async () => {
      const base = clusterStateDir(clusterName);
      const res = await deprovisionNspawn({ clusterName, hosts }, { log });
      log(`deprovision: ${res.seconds.toFixed(1)} s (${res.hosts.map((h) => `${h.host} ${h.stopped}`).join(', ')})`);
      expect(res.hosts.map((h) => h.stopped).sort()).toEqual(['graceful', 'graceful']);
      expect(await nspawnPidsUnder(base)).toEqual([]);
      const mounts = await readFile('/proc/self/mountinfo', 'utf8');
      expect(mounts).not.toContain(base);
      expect(await exists(base)).toBe(false);
      expect(await exists(hostPaths(clusterName, 'n1').pidFile)).toBe(false);
      const link = await pexec('ip', ['link', 'show', 'dev', bridgeName(clusterName)]).then(
        () => true,
        () => false,
      );
      expect(link).toBe(false);
      const twice = await deprovisionNspawn({ clusterName, hosts }, { log });
      expect(twice.hosts.every((h) => h.stopped === 'none')).toBe(true);
    },
    LONG,
  );
});
