/** `pgha status`'s per-host release and daemon versions: the parts read in the host's one exec, and their pure parsers. */
import { describe, expect, it } from 'vitest';
import {
  daemonPackages,
  hostReleaseParts,
  hostStatus,
  PACKAGES_PART,
  parseDpkgVersions,
  RELEASE_PART,
  releaseOfText,
} from '../../src/app/live/host-release.js';
import { hostStateScript, splitHostState } from '../../src/app/live/host-state.js';
import { releaseText } from '../../src/app/status/table.js';
import { resolveCluster } from '../../src/model/resolve.js';

/** /etc/os-release of Debian 13 as it ships. */
const TRIXIE = `PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.2
ID=debian
HOME_URL="https://www.debian.org/"
`;

function cluster(osVersion: number) {
  return resolveCluster({
    architecture: 'M1',
    cluster_name: 'c1',
    cluster_vars: { os_version: osVersion },
    locations: [{ Name: 'main' }],
    instance_defaults: { platform: 'bare', vars: {} },
    instances: [
      { Name: 'pg1', node: 1, location: 'main', role: ['primary', 'etcd', 'pgbouncer'], ip_address: '10.0.0.1' },
      { Name: 'pg2', node: 2, location: 'main', role: ['replica', 'etcd'], ip_address: '10.0.0.2' },
      { Name: 'pg3', node: 3, location: 'main', role: ['replica', 'etcd'], ip_address: '10.0.0.3' },
      { Name: 'lb', node: 4, location: 'main', role: ['haproxy'], ip_address: '10.0.0.9' },
    ],
  });
}

describe('which daemons a host reports', () => {
  it("each component's own package, for the components the host runs, in registry order", () => {
    const c = cluster(13);
    const host = (n: string) => c.hosts.find((h) => h.name === n)!;
    expect(daemonPackages(c, host('pg1'))).toEqual(['etcd-server', 'patroni', 'postgresql-17', 'pgbouncer']);
    expect(daemonPackages(c, host('pg2'))).toEqual(['etcd-server', 'patroni', 'postgresql-17']);
    expect(daemonPackages(c, host('lb'))).toEqual(['haproxy']);
    expect(daemonPackages(cluster(12), cluster(12).hosts[1]!)).toEqual(['etcd-server', 'patroni', 'postgresql-15']);
  });

  it('two parts of the one exec: os-release and dpkg-query, stderr dropped and its exit 1 not an error', () => {
    const c = cluster(13);
    const parts = hostReleaseParts(c, c.hosts[3]!);
    expect(parts.map((p) => p.name)).toEqual([RELEASE_PART, PACKAGES_PART]);
    expect(parts[0]!.script).toContain('/etc/os-release');
    expect(parts[1]!.script).toBe("dpkg-query -W -f='${Package}\\t${Status}\\t${Version}\\n' haproxy 2>/dev/null || true");
    // Framed like any component's part, so a marker never collides with one.
    expect(hostStateScript(parts)).toContain(`echo '@@pgha:${PACKAGES_PART}'`);
  });
});

describe('os-release', () => {
  it('Debian 13: id, VERSION_ID and codename', () => {
    const r = releaseOfText(TRIXIE)!;
    expect(r).toEqual({ id: 'debian', version: '13', codename: 'trixie' });
    expect(releaseText(r)).toBe('Debian 13 (trixie)');
  });
  it('a release without VERSION_ID (testing) still names its codename', () => {
    const r = releaseOfText('ID=debian\nVERSION_CODENAME=forky\n')!;
    expect(releaseText(r)).toBe('Debian (forky)');
  });
  it('garbage, or an error message, is no release', () => {
    expect(releaseOfText('')).toBeUndefined();
    expect(releaseOfText('cat: /usr/lib/os-release: No such file or directory')).toBeUndefined();
    expect(releaseOfText('\u0000\u0001 VERSION_ID=13 $(reboot)')).toBeUndefined();
  });
});

describe('dpkg-query lines', () => {
  it('installed packages with their versions; held ones too', () => {
    expect(
      parseDpkgVersions(
        [
          'postgresql-17\tinstall ok installed\t17.12-0+deb13u1',
          'patroni\thold ok installed\t4.0.7-3~deb13u1',
          'etcd-server\tinstall ok installed\t3.5.16-4',
          '',
        ].join('\n'),
      ),
    ).toEqual({ 'postgresql-17': '17.12-0+deb13u1', patroni: '4.0.7-3~deb13u1', 'etcd-server': '3.5.16-4' });
  });
  it('a package known but not installed (removed, config files left; or never installed) is left out', () => {
    expect(
      parseDpkgVersions(
        [
          'pgbouncer\tdeinstall ok config-files\t1.24.1-1+deb13u2',
          'haproxy\tunknown ok not-installed\t',
          'etcd-server\tinstall ok half-configured\t3.5.16-4',
          'patroni\tinstall ok installed\t4.0.7-3~deb13u1',
        ].join('\n'),
      ),
    ).toEqual({ patroni: '4.0.7-3~deb13u1' });
  });
  it('garbage, stderr text and a missing dpkg-query give nothing', () => {
    expect(parseDpkgVersions('')).toEqual({});
    expect(parseDpkgVersions('dpkg-query: no packages found matching pgbouncer\n')).toEqual({});
    expect(parseDpkgVersions('bash: line 1: dpkg-query: command not found\n')).toEqual({});
    expect(parseDpkgVersions('a\tb\nx\ty\tz\tw\n\t\t\nPatroni!\tinstall ok installed\t1\n\u0000\u0001\u0002')).toEqual({});
  });
});

describe('a host as status reports it', () => {
  const c = cluster(13);
  const pg1 = c.hosts[0]!;
  it('from its exec: release and installed daemons', () => {
    const out = [
      `@@pgha:${RELEASE_PART}`,
      TRIXIE,
      '@@pgha:rc=0',
      `@@pgha:${PACKAGES_PART}`,
      'etcd-server\tinstall ok installed\t3.5.16-4',
      'patroni\tinstall ok installed\t4.0.7-3~deb13u1',
      'postgresql-17\tinstall ok installed\t17.12-0+deb13u1',
      '@@pgha:rc=0',
    ].join('\n');
    expect(hostStatus({ host: pg1, parts: splitHostState(out) })).toEqual({
      name: 'pg1',
      reachable: true,
      release: { id: 'debian', version: '13', codename: 'trixie' },
      packages: { 'etcd-server': '3.5.16-4', patroni: '4.0.7-3~deb13u1', 'postgresql-17': '17.12-0+deb13u1' },
    });
  });
  it("a part whose output lacks a final newline still ends at its marker (pgbackrest info's JSON)", () => {
    const out = `@@pgha:pgbackrest\n[{"name":"main"}]@@pgha:rc=0\n@@pgha:haproxy\nok\n@@pgha:rc=0\n`;
    const parts = splitHostState(out);
    expect(parts.get('pgbackrest')).toEqual({ text: '[{"name":"main"}]', rc: 0 });
    expect(parts.get('haproxy')).toEqual({ text: 'ok', rc: 0 });
  });
  it('unreachable: no release, no packages, the reason', () => {
    expect(hostStatus({ host: pg1, error: 'timed out' })).toEqual({
      name: 'pg1',
      reachable: false,
      release: null,
      packages: null,
      error: 'timed out',
    });
  });
  it('read without the parts (HAProxy from its stats page after SSH failed): unknown, not empty', () => {
    expect(hostStatus({ host: c.hosts[3]!, parts: new Map([['haproxy-csv', { text: '#', rc: 0 }]]) })).toMatchObject({
      reachable: true,
      release: null,
      packages: null,
    });
  });
});
