/**
 * What the nspawn platform puts in and around a container: the files written into its root
 * (network, /etc/hosts, resolv.conf, apt source, sshd drop-in), its systemd-nspawn command line,
 * and the known_hosts lines pinning its host key. Pure.
 */
import { parseCidr } from './addressing.js';
import type { HostAddr } from '../platform.js';

/** networkd file for the container's veth (`host0`); sorts before 80-container-host0.network. */
export const NETWORKD_FILE = '/etc/systemd/network/10-pgha.network';

export function networkdConfig(ip: string, subnet: string): string {
  const { prefix } = parseCidr(subnet);
  return [
    '# Written by pgha: static address on the cluster bridge (no route out of the host).',
    '[Match]',
    'Name=host0',
    '',
    '[Network]',
    `Address=${ip}/${prefix}`,
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    '',
  ].join('\n');
}

export function hostsFile(self: string, hosts: HostAddr[]): string {
  const lines = [
    '# Written by pgha',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  if (!hosts.some((h) => h.name === self)) lines.push(`127.0.1.1\t${self}`);
  for (const h of hosts) lines.push(`${h.ip}\t${h.name}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Containers have no route out, so no name server: cluster names come from /etc/hosts. Without
 * a nameserver line glibc tries 127.0.0.1 and fails at once instead of waiting on a timeout.
 */
export const RESOLV_CONF = '# Written by pgha: no DNS in cluster containers; host names are in /etc/hosts.\noptions timeout:1 attempts:1\n';

/** Where the local repository is bind-mounted inside containers. */
export const REPO_MOUNT = '/srv/pgha-repo';

export function localRepoSourcesList(): string {
  return `deb [trusted=yes] file:${REPO_MOUNT} ./\n`;
}

export const SSHD_CONFIG_DROPIN = [
  '# Written by pgha: root by key only, no passwords anywhere.',
  'PermitRootLogin prohibit-password',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'UseDNS no',
  '',
].join('\n');

/** known_hosts lines for one host: by address and by name, per host key (`type base64`). */
export function knownHostsLines(host: HostAddr, publicKeys: string[]): string[] {
  const out: string[] = [];
  for (const pub of publicKeys) {
    const [type, key] = pub.trim().split(/\s+/);
    if (!type || !key) continue;
    out.push(`${host.ip} ${type} ${key}`, `${host.name} ${type} ${key}`);
  }
  return out;
}

export function nspawnArgs(opts: {
  root: string;
  machine: string;
  hostname: string;
  bridge: string;
  repoDir?: string | undefined;
}): string[] {
  const args = [
    '-D',
    opts.root,
    '-M',
    opts.machine,
    `--hostname=${opts.hostname}`,
    '-b',
    '--register=no',
    '--keep-unit',
    `--network-bridge=${opts.bridge}`,
    '--resolv-conf=off',
  ];
  if (opts.repoDir) args.push(`--bind-ro=${opts.repoDir}:${REPO_MOUNT}`);
  return args;
}

/**
 * Replace the entries of `hosts` (by name or address) in an existing known_hosts text with
 * `lines`; entries of other machines are kept as they are.
 */
export function mergeKnownHosts(existing: string, hosts: HostAddr[], lines: string[]): string {
  const ours = new Set<string>();
  for (const h of hosts) {
    ours.add(h.name);
    ours.add(h.ip);
  }
  const kept = existing.split('\n').filter((line) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return t.length > 0;
    const first = t.startsWith('@') ? (t.split(/\s+/)[1] ?? '') : (t.split(/\s+/)[0] ?? '');
    return !first.split(',').some((pat) => ours.has(pat.replace(/^\[(.*)\](:\d+)?$/, '$1')));
  });
  return `${[...kept, ...lines].join('\n')}\n`;
}

/** An OpenSSH public key on one line (no options prefix, which could weaken the key's use). */
export function isPublicKeyLine(line: string): boolean {
  return /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+=*( [^\n\r]*)?$/.test(
    line.trim(),
  );
}
