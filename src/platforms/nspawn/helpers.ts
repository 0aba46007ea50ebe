/**
 * Pure helpers of the nspawn platform: text of the files written into containers, names,
 * address arithmetic and the subnet overlap check. No I/O here (node:crypto's sha1 is pure).
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../../errors.js';

export interface HostAddr {
  name: string;
  ip: string;
}

// ---------------------------------------------------------------- IPv4 arithmetic

export function ipToInt(ip: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) throw new UsageError(`not an IPv4 address: ${JSON.stringify(ip)}`);
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new UsageError(`not an IPv4 address: ${JSON.stringify(ip)}`);
    n = n * 256 + octet;
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  network: number;
  prefix: number;
  /** Number of addresses in the block. */
  size: number;
}

/** Parse `a.b.c.d/n` (a bare address is a /32). Host bits set in the address are cleared. */
export function parseCidr(cidr: string): Cidr {
  const [addr, len, ...rest] = cidr.trim().split('/');
  if (addr === undefined || rest.length > 0) throw new UsageError(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  const prefix = len === undefined ? 32 : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32 || (len !== undefined && !/^\d+$/.test(len))) {
    throw new UsageError(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  }
  const size = 2 ** (32 - prefix);
  const network = Math.floor(ipToInt(addr) / size) * size;
  return { network, prefix, size };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.network)}/${c.prefix}`;
}

export function cidrsOverlap(a: string | Cidr, b: string | Cidr): boolean {
  const x = typeof a === 'string' ? parseCidr(a) : a;
  const y = typeof b === 'string' ? parseCidr(b) : b;
  return x.network < y.network + y.size && y.network < x.network + x.size;
}

export function cidrContains(cidr: string | Cidr, ip: string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const n = ipToInt(ip);
  return n >= c.network && n < c.network + c.size;
}

/** The n-th address of a subnet (1 = first host address, the bridge's own address). */
export function subnetAddress(cidr: string, n: number): string {
  const c = parseCidr(cidr);
  if (n < 0 || n >= c.size) throw new UsageError(`subnet ${cidr} has no address number ${n}`);
  return intToIp(c.network + n);
}

/**
 * Check a cluster's subnet and host addresses: a usable IPv4 block (prefix ≤ 30), every host
 * inside it, none on the network, broadcast or bridge (.1) address, no duplicates.
 */
export function validateClusterAddressing(subnet: string, hosts: HostAddr[]): void {
  const c = parseCidr(subnet);
  const problems: string[] = [];
  if (c.prefix > 30) problems.push(`subnet ${subnet} is too small (need a prefix of /30 or shorter)`);
  const bridge = c.network + 1;
  const seenIp = new Map<number, string>();
  const seenName = new Set<string>();
  for (const h of hosts) {
    if (!isValidHostname(h.name)) problems.push(`host name ${JSON.stringify(h.name)} is not a valid hostname`);
    if (seenName.has(h.name)) problems.push(`host name ${h.name} is used twice`);
    seenName.add(h.name);
    let n: number;
    try {
      n = ipToInt(h.ip);
    } catch {
      problems.push(`${h.name}: ${JSON.stringify(h.ip)} is not an IPv4 address`);
      continue;
    }
    if (n < c.network || n >= c.network + c.size) problems.push(`${h.name}: ${h.ip} is outside subnet ${subnet}`);
    else if (n === c.network || n === c.network + c.size - 1)
      problems.push(`${h.name}: ${h.ip} is the network or broadcast address of ${subnet}`);
    else if (n === bridge) problems.push(`${h.name}: ${h.ip} is reserved for the host side of the bridge`);
    const other = seenIp.get(n);
    if (other !== undefined) problems.push(`${h.name}: ${h.ip} is also used by ${other}`);
    seenIp.set(n, h.name);
  }
  if (problems.length) {
    throw new UsageError(`invalid addressing for the nspawn platform:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      hint: 'pick a private subnet (e.g. 10.23.7.0/24) and host addresses from .2 upwards',
    });
  }
}

export function isValidHostname(name: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(name);
}

// ---------------------------------------------------------------- routes

export interface RouteEntry {
  dst: string;
  dev?: string;
}

/** Parse `ip -j route` output into destination CIDRs (default routes are skipped). */
export function parseIpRoutes(json: string): RouteEntry[] {
  const data: unknown = JSON.parse(json || '[]');
  if (!Array.isArray(data)) return [];
  const out: RouteEntry[] = [];
  for (const r of data) {
    if (typeof r !== 'object' || r === null) continue;
    const dst = (r as { dst?: unknown }).dst;
    const dev = (r as { dev?: unknown }).dev;
    if (typeof dst !== 'string' || dst === 'default') continue;
    if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst)) continue;
    out.push(typeof dev === 'string' ? { dst, dev } : { dst });
  }
  return out;
}

/** Routes that overlap `subnet`, ignoring those on our own bridge. */
export function overlappingRoutes(subnet: string, routes: RouteEntry[], ownBridge: string): RouteEntry[] {
  return routes.filter((r) => r.dev !== ownBridge && cidrsOverlap(subnet, r.dst));
}

// ---------------------------------------------------------------- names

/** Bridge name (≤ 15 chars, IFNAMSIZ-1) derived deterministically from the cluster name. */
export function bridgeName(clusterName: string): string {
  return `pgha-${createHash('sha1').update(clusterName).digest('hex').slice(0, 6)}`;
}

/**
 * Machine name given to systemd-nspawn -M: `<host>.<cluster>`, so two clusters with the same
 * host names don't collide in nspawn's per-machine state (/run/systemd/nspawn/propagate/NAME)
 * or in the host-side veth name (`vb-NAME`, which nspawn shortens with a hash when too long).
 * The hostname inside is set separately (`--hostname`, /etc/hostname).
 */
export function machineName(clusterName: string, host: string): string {
  const label = clusterName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const name = `${host}.${label}`;
  if (label && name.length <= 64) return name;
  return `${host}.${createHash('sha1').update(clusterName).digest('hex').slice(0, 8)}`;
}

// ---------------------------------------------------------------- file texts

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

export interface DebianMirrors {
  /** Serves `<suite>` and `<suite>-updates`. */
  main: string;
  /** Serves `<suite>-security`, when the machine has one. */
  security: string | undefined;
}

export function mirrorSourcesList(mirrors: DebianMirrors, suite = 'bookworm'): string {
  return [
    `deb ${mirrors.main} ${suite} main`,
    `deb ${mirrors.main} ${suite}-updates main`,
    ...(mirrors.security ? [`deb ${mirrors.security} ${suite}-security main`] : []),
    '',
  ].join('\n');
}

/**
 * The Debian mirrors this machine's apt already uses (one-line `deb` lists and deb822
 * `.sources` alike), so the image and the repository come from where the operator's own
 * packages come from, and pgha names no mirror of its own.
 */
export function mirrorsFromAptSources(texts: readonly string[], suite = 'bookworm'): DebianMirrors | undefined {
  const entries: { uri: string; suites: string[] }[] = [];
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (m) entries.push({ uri: m[1]!, suites: [m[2]!] });
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (!field('Types').includes('deb')) continue;
      for (const uri of field('URIs')) entries.push({ uri, suites: field('Suites') });
    }
  }
  const main = entries.find((e) => e.suites.includes(suite) && /^https?:/.test(e.uri))?.uri;
  if (!main) return undefined;
  const security = entries.find((e) => e.suites.includes(`${suite}-security`) && /^https?:/.test(e.uri))?.uri;
  return { main: main.replace(/\/$/, ''), security: security?.replace(/\/$/, '') };
}

/** apt preferences pinning each package to a version (priority 1001 allows downgrades). */
export function aptPinText(pins: Record<string, string>): string {
  return Object.keys(pins)
    .sort()
    .map((pkg) => `Package: ${pkg}\nPin: version ${pins[pkg] ?? ''}\nPin-Priority: 1001\n`)
    .join('\n');
}

/** Package arguments for apt-get install: `pkg=version` when pinned. */
export function aptInstallArgs(packages: string[], pins: Record<string, string>): string[] {
  return packages.map((p) => (pins[p] ? `${p}=${pins[p]}` : p));
}

export const APT_NO_RECOMMENDS = 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n';

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

// ---------------------------------------------------------------- prerequisites

export interface Prereq {
  tool: string;
  pkg: string;
}

export const HOST_PREREQS: Prereq[] = [
  { tool: 'systemd-nspawn', pkg: 'systemd-container' },
  { tool: 'debootstrap', pkg: 'debootstrap' },
  { tool: 'dpkg-scanpackages', pkg: 'dpkg-dev' },
  // Applies packaging/patroni/3.0.2-leader-key.patch (dpkg-dev depends on it anyway).
  { tool: 'patch', pkg: 'patch' },
];

export const PREREQ_INSTALL_COMMAND = `apt-get install -y ${HOST_PREREQS.map((p) => p.pkg).join(' ')}`;

export function missingPrereqsMessage(missing: string[]): string {
  const named = missing.map((tool) => {
    const p = HOST_PREREQS.find((x) => x.tool === tool);
    return p ? `${tool} (package ${p.pkg})` : tool;
  });
  return (
    `missing on this machine: ${named.join(', ')}. ` +
    `Install with \`${PREREQ_INSTALL_COMMAND}\` or run \`pgha provision DIR --install-prereqs\`.`
  );
}

// ---------------------------------------------------------------- nspawn command line

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

// ---------------------------------------------------------------- known_hosts, cgroups, names

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

/** Cluster names end up in paths, cgroup and machine names: keep them plain. */
export function isValidClusterName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name) && !name.includes('..');
}

/** An OpenSSH public key on one line (no options prefix, which could weaken the key's use). */
export function isPublicKeyLine(line: string): boolean {
  return /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+=*( [^\n\r]*)?$/.test(
    line.trim(),
  );
}

// ---------------------------------------------------------------- local repository

export interface AptPackage {
  name: string;
  version: string;
  arch: string;
}

/**
 * Packages apt would install, from `apt-get install -s` output:
 * `Inst libpq5 (15.14-0+deb12u1 Debian:12.12/stable [amd64])` or, for an upgrade,
 * `Inst libssl3 [3.0.11-1~deb12u2] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])`.
 */
export function parseAptSimulation(output: string): AptPackage[] {
  const out: AptPackage[] = [];
  for (const line of output.split('\n')) {
    const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]\s]+)\]\)/.exec(line.trim());
    if (m && m[1] && m[2] && m[3]) out.push({ name: m[1], version: m[2], arch: m[3] });
  }
  return out;
}

/** File name apt gives a downloaded package in /var/cache/apt/archives (epoch `:` as `%3a`). */
export function debFileName(p: AptPackage): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

/** A minimal Release file for a flat repository, so apt doesn't warn about a missing one. */
export function releaseFileText(files: { name: string; size: number; sha256: string }[], date: Date): string {
  return [
    'Origin: pgha',
    'Label: pgha local repository',
    `Date: ${date.toUTCString()}`,
    'SHA256:',
    ...files.map((f) => ` ${f.sha256} ${f.size} ${f.name}`),
    '',
  ].join('\n');
}
