/**
 * The nspawn platform's network arithmetic: IPv4 addresses and CIDR blocks, the checks on a
 * cluster's subnet and host addresses, and the overlap of that subnet with this machine's routes.
 * Pure.
 */
import { UsageError } from '../../errors.js';
import type { HostAddr } from '../platform.js';

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

/** The /24 holding every host of an nspawn cluster (configure assigns them so). */
export function clusterSubnet(hosts: readonly HostAddr[]): string {
  const nets = new Set(hosts.map((h) => h.ip.split('.').slice(0, 3).join('.')));
  if (nets.size !== 1) {
    throw new UsageError(`nspawn hosts must share one /24, but config.yml uses ${[...nets].map((n) => `${n}.0/24`).join(', ')}`, {
      hint: 'give every instance an ip_address in the same /24, or re-run `pgha configure --subnet … --force`',
    });
  }
  return `${[...nets][0]}.0/24`;
}
