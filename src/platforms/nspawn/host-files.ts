/**
 * Files pgha writes into a container's root before it boots (names, network, resolv.conf,
 * machine id, host key, root's authorized_keys, the apt source), and the cluster's known_hosts
 * pinning the host keys it generated.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HostAddr } from '../platform.js';
import {
  NETWORKD_FILE,
  RESOLV_CONF,
  hostsFile,
  knownHostsLines,
  localRepoSourcesList,
  mergeKnownHosts,
  networkdConfig,
} from './container-config.js';
import { exists, run, writeIfChanged } from './sys.js';

/** What the files of one container are made of. */
export interface HostFilesSpec {
  subnet: string;
  hosts: HostAddr[];
  /** OpenSSH public key line put in root's authorized_keys. */
  authorizedKey: string;
  /** Set when the local repository is bind-mounted: apt's only source. */
  localRepoDir?: string | undefined;
}

/** Per-host files inside the root. Host keys and machine id are made once and then kept. */
export async function writeHostFiles(spec: HostFilesSpec, host: HostAddr, root: string): Promise<string[]> {
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

export async function writeKnownHosts(file: string, hosts: HostAddr[], results: { host: string; keys: string[] }[]): Promise<string> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
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
