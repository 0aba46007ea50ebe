import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  cidrContains,
  cidrsOverlap,
  intToIp,
  ipToInt,
  overlappingRoutes,
  parseCidr,
  parseIpRoutes,
  subnetAddress,
  validateClusterAddressing,
} from '../../src/platforms/nspawn/addressing.js';
import { aptInstallArgs, aptPinText, debFileName, parseAptSimulation, releaseFileText } from '../../src/platforms/nspawn/apt.js';
import { cgroupRootsFromMountinfo } from '../../src/platforms/nspawn/cgroups.js';
import {
  hostsFile,
  isPublicKeyLine,
  knownHostsLines,
  localRepoSourcesList,
  mergeKnownHosts,
  networkdConfig,
  NETWORKD_FILE,
  nspawnArgs,
} from '../../src/platforms/nspawn/container-config.js';
import { bridgeName, isValidClusterName, machineName } from '../../src/platforms/nspawn/names.js';
import { missingPrereqsMessage } from '../../src/platforms/nspawn/prereqs.js';
import { cgroupDirs, hostPaths, imageDir } from '../../src/platforms/nspawn/paths.js';

describe('IPv4 arithmetic', () => {
  it('converts addresses both ways', () => {
    expect(ipToInt('10.23.7.1')).toBe(10 * 2 ** 24 + 23 * 2 ** 16 + 7 * 256 + 1);
    expect(intToIp(ipToInt('255.255.255.255'))).toBe('255.255.255.255');
    expect(intToIp(ipToInt('0.0.0.0'))).toBe('0.0.0.0');
  });
  it('rejects what is not an address', () => {
    expect(() => ipToInt('10.0.0.256')).toThrow(UsageError);
    expect(() => ipToInt('10.0.0')).toThrow(UsageError);
    expect(() => ipToInt('fe80::1')).toThrow(UsageError);
  });
  it('parses CIDRs, clearing host bits', () => {
    expect(parseCidr('10.23.7.9/24')).toEqual({ network: ipToInt('10.23.7.0'), prefix: 24, size: 256 });
    expect(parseCidr('192.0.2.2').prefix).toBe(32);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(UsageError);
    expect(() => parseCidr('10.0.0.0/x')).toThrow(UsageError);
    expect(() => parseCidr('10.0.0.0/8/1')).toThrow(UsageError);
  });
  it('detects overlap', () => {
    expect(cidrsOverlap('10.23.7.0/24', '10.23.0.0/16')).toBe(true);
    expect(cidrsOverlap('10.23.0.0/16', '10.23.7.0/24')).toBe(true);
    expect(cidrsOverlap('10.23.7.0/24', '10.23.8.0/24')).toBe(false);
    expect(cidrsOverlap('10.23.7.0/25', '10.23.7.128/25')).toBe(false);
    expect(cidrsOverlap('0.0.0.0/0', '192.168.1.0/24')).toBe(true);
    expect(cidrsOverlap('10.23.7.0/24', '10.23.7.200')).toBe(true);
    expect(cidrContains('10.23.7.0/24', '10.23.7.255')).toBe(true);
    expect(cidrContains('10.23.7.0/24', '10.23.8.0')).toBe(false);
  });
  it('numbers addresses in a subnet', () => {
    expect(subnetAddress('10.23.7.0/24', 1)).toBe('10.23.7.1');
    expect(subnetAddress('10.23.7.77/24', 1)).toBe('10.23.7.1');
    expect(() => subnetAddress('10.23.7.0/30', 4)).toThrow(UsageError);
  });
});

describe('validateClusterAddressing', () => {
  it('accepts hosts from .2 up', () => {
    expect(() =>
      validateClusterAddressing('10.23.7.0/24', [
        { name: 'pg1', ip: '10.23.7.2' },
        { name: 'pg2', ip: '10.23.7.254' },
      ]),
    ).not.toThrow();
  });
  it('lists every problem at once', () => {
    let err: unknown;
    try {
      validateClusterAddressing('10.23.7.0/24', [
        { name: 'a', ip: '10.23.7.1' },
        { name: 'b', ip: '10.23.8.5' },
        { name: 'c', ip: '10.23.7.255' },
        { name: 'd', ip: '10.23.7.9' },
        { name: 'd', ip: '10.23.7.9' },
        { name: 'bad_name', ip: '10.23.7.10' },
      ]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const msg = (err as Error).message;
    expect(msg).toContain('a: 10.23.7.1 is reserved for the host side of the bridge');
    expect(msg).toContain('b: 10.23.8.5 is outside subnet');
    expect(msg).toContain('c: 10.23.7.255 is the network or broadcast address');
    expect(msg).toContain('host name d is used twice');
    expect(msg).toContain('d: 10.23.7.9 is also used by d');
    expect(msg).toContain('"bad_name" is not a valid hostname');
    expect((err as UsageError).exitCode).toBe(2);
  });
  it('refuses a subnet too small for a bridge and a host', () => {
    expect(() => validateClusterAddressing('10.23.7.0/31', [])).toThrow(/too small/);
  });
});

describe('routes', () => {
  const json = JSON.stringify([
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', flags: [] },
    { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel' },
    { dst: '10.23.7.0/24', dev: 'pgha-abc123' },
    { dst: '10.99.0.0/16', dev: 'docker0' },
    { dst: '172.17.0.5', dev: 'tun0' },
  ]);
  it('parses `ip -j route`, skipping the default route', () => {
    expect(parseIpRoutes(json)).toEqual([
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '10.23.7.0/24', dev: 'pgha-abc123' },
      { dst: '10.99.0.0/16', dev: 'docker0' },
      { dst: '172.17.0.5', dev: 'tun0' },
    ]);
    expect(parseIpRoutes('')).toEqual([]);
  });
  it('finds overlaps, except on our own bridge', () => {
    const routes = parseIpRoutes(json);
    expect(overlappingRoutes('10.23.7.0/24', routes, 'pgha-abc123')).toEqual([]);
    expect(overlappingRoutes('10.23.7.0/24', routes, 'pgha-other')).toEqual([{ dst: '10.23.7.0/24', dev: 'pgha-abc123' }]);
    expect(overlappingRoutes('10.99.3.0/24', routes, 'pgha-abc123')).toEqual([{ dst: '10.99.0.0/16', dev: 'docker0' }]);
    expect(overlappingRoutes('172.17.0.0/24', routes, 'x')).toEqual([{ dst: '172.17.0.5', dev: 'tun0' }]);
    expect(overlappingRoutes('10.231.7.0/24', routes, 'x')).toEqual([]);
  });
});

describe('names', () => {
  it('derives a short, deterministic bridge name', () => {
    const a = bridgeName('main');
    expect(a).toMatch(/^pgha-[0-9a-f]{6}$/);
    expect(a.length).toBeLessThanOrEqual(15);
    expect(bridgeName('main')).toBe(a);
    expect(bridgeName('other')).not.toBe(a);
    expect(bridgeName('x'.repeat(200)).length).toBeLessThanOrEqual(15);
  });
  it('makes machine names unique per cluster and valid', () => {
    expect(machineName('demo', 'pg1')).toBe('pg1.demo');
    expect(machineName('My_Cluster', 'pg1')).toBe('pg1.my-cluster');
    expect(machineName('a', 'pg1')).not.toBe(machineName('b', 'pg1'));
    const long = machineName('c'.repeat(63), 'pg1');
    expect(long).toMatch(/^pg1\.[0-9a-f]{8}$/);
    expect(machineName('___', 'pg1')).toMatch(/^pg1\.[0-9a-f]{8}$/);
  });
  it('accepts plain cluster names only', () => {
    expect(isValidClusterName('pgha-e2e_1.x')).toBe(true);
    for (const bad of ['', '../etc', 'a/b', '.hidden', 'a b', 'x'.repeat(64), 'a..b']) expect(isValidClusterName(bad)).toBe(false);
  });
  it('accepts a single OpenSSH public key line only', () => {
    expect(isPublicKeyLine('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB4Zb9 pgha@x')).toBe(true);
    expect(isPublicKeyLine('ssh-rsa AAAAB3NzaC1yc2E=')).toBe(true);
    expect(isPublicKeyLine('command="sh" ssh-ed25519 AAAAC3Nz')).toBe(false);
    expect(isPublicKeyLine('ssh-ed25519 AAAA x\nssh-ed25519 AAAA y')).toBe(false);
    expect(isPublicKeyLine('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe(false);
  });
});

describe('file texts', () => {
  it('networkd file matches host0 and sorts before the image default', () => {
    const text = networkdConfig('10.23.7.5', '10.23.7.0/24');
    expect(text).toContain('[Match]\nName=host0\n');
    expect(text).toContain('Address=10.23.7.5/24');
    expect(text).not.toContain('Gateway=');
    expect(text).not.toContain('DHCP=yes');
    const file = NETWORKD_FILE.split('/').pop()!;
    expect([file, '80-container-host0.network'].sort()[0]).toBe(file);
  });
  it('/etc/hosts lists every cluster host', () => {
    const hosts = [
      { name: 'pg1', ip: '10.23.7.2' },
      { name: 'pg2', ip: '10.23.7.3' },
    ];
    const text = hostsFile('pg1', hosts);
    expect(text).toContain('127.0.0.1\tlocalhost\n');
    expect(text).toContain('10.23.7.2\tpg1\n');
    expect(text).toContain('10.23.7.3\tpg2\n');
    expect(text).not.toContain('127.0.1.1');
    expect(text.endsWith('\n')).toBe(true);
    expect(hostsFile('lonely', hosts)).toContain('127.0.1.1\tlonely\n');
  });
  it('apt: local source, pins, install arguments', () => {
    expect(localRepoSourcesList()).toBe('deb [trusted=yes] file:/srv/pgha-repo ./\n');
    expect(aptPinText({ patroni: '3.0.2-1', haproxy: '2.6.12-1+deb12u3' })).toBe(
      'Package: haproxy\nPin: version 2.6.12-1+deb12u3\nPin-Priority: 1001\n\n' +
        'Package: patroni\nPin: version 3.0.2-1\nPin-Priority: 1001\n',
    );
    expect(aptPinText({})).toBe('');
    expect(aptInstallArgs(['patroni', 'haproxy'], { patroni: '3.0.2-1' })).toEqual(['patroni=3.0.2-1', 'haproxy']);
  });
  it('known_hosts lines by address and by name', () => {
    expect(knownHostsLines({ name: 'pg1', ip: '10.23.7.2' }, ['ssh-ed25519 AAAAkey root@pg1\n'])).toEqual([
      '10.23.7.2 ssh-ed25519 AAAAkey',
      'pg1 ssh-ed25519 AAAAkey',
    ]);
  });
  it('merges known_hosts: replaces ours, keeps the rest', () => {
    const existing = [
      '10.23.7.2 ssh-ed25519 OLD',
      'pg1 ssh-ed25519 OLD',
      'other.example ssh-ed25519 KEEP',
      '[10.23.7.3]:2222 ssh-ed25519 OLD2',
      'pg9,10.9.9.9 ssh-rsa KEEP2',
      '',
    ].join('\n');
    const hosts = [
      { name: 'pg1', ip: '10.23.7.2' },
      { name: 'pg2', ip: '10.23.7.3' },
    ];
    const merged = mergeKnownHosts(existing, hosts, ['10.23.7.2 ssh-ed25519 NEW', 'pg1 ssh-ed25519 NEW']);
    expect(merged).toBe(
      ['other.example ssh-ed25519 KEEP', 'pg9,10.9.9.9 ssh-rsa KEEP2', '10.23.7.2 ssh-ed25519 NEW', 'pg1 ssh-ed25519 NEW', ''].join('\n'),
    );
    expect(mergeKnownHosts('', hosts, ['a b c'])).toBe('a b c\n');
  });
  it('Release file lists index checksums', () => {
    const text = releaseFileText([{ name: 'Packages', size: 12, sha256: 'ab'.repeat(32) }], new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
    expect(text).toContain('Date: Fri, 02 Jan 2026 03:04:05 GMT\n');
    expect(text).toContain(`SHA256:\n ${'ab'.repeat(32)} 12 Packages\n`);
  });
});

describe('apt simulation and archive names', () => {
  const output = [
    'Reading package lists...',
    'The following NEW packages will be installed:',
    '  haproxy liblua5.3-0',
    'Inst liblua5.3-0 (5.3.6-2 Debian:12.12/stable [amd64])',
    'Inst libssl3 [3.0.11-1~deb12u2] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])',
    'Inst tzdata (2025b-0+deb12u1 Debian:12.12/stable [all])',
    'Inst haproxy (2.6.12-1+deb12u4 Debian:12.12/stable, Debian:12-updates/stable-updates [amd64])',
    'Inst python3-etcd (1:0.4.5-4 Debian:12.12/stable [all])',
    'Conf liblua5.3-0 (5.3.6-2 Debian:12.12/stable [amd64])',
  ].join('\n');
  it('reads Inst lines, new and upgraded', () => {
    expect(parseAptSimulation(output)).toEqual([
      { name: 'liblua5.3-0', version: '5.3.6-2', arch: 'amd64' },
      { name: 'libssl3', version: '3.0.17-1~deb12u2', arch: 'amd64' },
      { name: 'tzdata', version: '2025b-0+deb12u1', arch: 'all' },
      { name: 'haproxy', version: '2.6.12-1+deb12u4', arch: 'amd64' },
      { name: 'python3-etcd', version: '1:0.4.5-4', arch: 'all' },
    ]);
  });
  it('names archive files like apt does (epoch as %3a)', () => {
    expect(debFileName({ name: 'python3-etcd', version: '1:0.4.5-4', arch: 'all' })).toBe('python3-etcd_1%3a0.4.5-4_all.deb');
    expect(debFileName({ name: 'haproxy', version: '2.6.12-1+deb12u4', arch: 'amd64' })).toBe('haproxy_2.6.12-1+deb12u4_amd64.deb');
  });
});

describe('host integration bits', () => {
  it('finds the cgroup hierarchies nspawn uses (hybrid and unified hosts)', () => {
    const hybrid = [
      '25 24 0:22 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755',
      '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate',
      '27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd',
      '28 25 0:25 / /sys/fs/cgroup/memory rw,nosuid shared:12 - cgroup cgroup rw,memory',
    ].join('\n');
    expect(cgroupRootsFromMountinfo(hybrid)).toEqual(['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd']);
    expect(cgroupRootsFromMountinfo('30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate')).toEqual(['/sys/fs/cgroup']);
    expect(cgroupDirs(['/sys/fs/cgroup'], 'c1', 'pg1')).toEqual(['/sys/fs/cgroup/pgha/c1/pg1']);
  });
  it('builds the nspawn command line', () => {
    expect(nspawnArgs({ root: '/r', machine: 'pg1.c', hostname: 'pg1', bridge: 'pgha-1', repoDir: '/d/local-repo' })).toEqual([
      '-D',
      '/r',
      '-M',
      'pg1.c',
      '--hostname=pg1',
      '-b',
      '--register=no',
      '--keep-unit',
      '--network-bridge=pgha-1',
      '--resolv-conf=off',
      '--bind-ro=/d/local-repo:/srv/pgha-repo',
    ]);
    expect(nspawnArgs({ root: '/r', machine: 'm', hostname: 'h', bridge: 'b' })).not.toContain('--bind-ro');
  });
  it('keeps state under the configured directories', () => {
    expect(imageDir('bookworm', {})).toBe('/var/cache/pgha/image/bookworm');
    expect(imageDir('trixie', { PGHA_CACHE_DIR: '/c' })).toBe('/c/image/trixie');
    expect(hostPaths('c1', 'pg1', {})).toMatchObject({
      merged: '/var/lib/pgha/c1/pg1/merged',
      pidFile: '/var/lib/pgha/c1/pg1/pid',
      consoleLog: '/var/lib/pgha/c1/pg1/console.log',
    });
  });
  it('says which tool is missing and how to install it', () => {
    const msg = missingPrereqsMessage(['debootstrap', 'systemd-nspawn']);
    expect(msg).toContain('debootstrap (package debootstrap)');
    expect(msg).toContain('systemd-nspawn (package systemd-container)');
    expect(msg).toContain('apt-get install -y systemd-container debootstrap dpkg-dev');
    expect(msg).toContain('pgha provision DIR --install-prereqs');
  });
});
