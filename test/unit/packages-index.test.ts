/** Reading an apt Packages index: every version side by side, and the one apt installs. */
import { describe, expect, it } from 'vitest';
import { newestVersions, parsePackagesIndex } from '../../src/platforms/nspawn/packages-index.js';

const stanza = (name: string, version: string, extra = '') =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\n${extra}Filename: pool/main/${name}_${version}_amd64.deb\nDescription: x\n continued: not a field\n`;

describe('parsePackagesIndex', () => {
  it('reads name, version and file name of each stanza, continuation lines ignored', () => {
    const text = [stanza('haproxy', '3.0.11-1+deb13u4'), stanza('pgbouncer', '1.24.1-1+deb13u2', 'Depends: libc6\n')].join('\n');
    expect(parsePackagesIndex(text)).toEqual([
      { name: 'haproxy', version: '3.0.11-1+deb13u4', file: 'haproxy_3.0.11-1+deb13u4_amd64.deb' },
      { name: 'pgbouncer', version: '1.24.1-1+deb13u2', file: 'pgbouncer_1.24.1-1+deb13u2_amd64.deb' },
    ]);
  });
  it('an empty index holds nothing', () => {
    expect(parsePackagesIndex('')).toEqual([]);
  });
});

describe('newestVersions', () => {
  const index = parsePackagesIndex(
    [
      // the order of an index says nothing: the security suite's newer build may come first or last
      stanza('haproxy', '3.0.11-1+deb13u5'),
      stanza('haproxy', '3.0.11-1+deb13u4'),
      // numeric, not textual: 15.20 is newer than 15.9
      stanza('postgresql-15', '15.9-0+deb12u1'),
      stanza('postgresql-15', '15.20-0+deb12u1'),
      // pgha's build is versioned above Debian's, so apt installs it
      stanza('patroni', '3.0.2-1+pgha2'),
      stanza('patroni', '3.0.2-1'),
      // `~` sorts before the end: a backport's ~deb13u1 is older than the release without it
      stanza('etcd-server', '3.5.16-4~deb13u1'),
      stanza('etcd-server', '3.5.16-4'),
      // an epoch beats any upstream version
      stanza('pgbouncer', '1.99-1'),
      stanza('pgbouncer', '1:1.18.0-1'),
    ].join('\n'),
  );

  it('takes the highest version by Debian ordering, as apt does when nothing is pinned', () => {
    expect(newestVersions(index, ['haproxy', 'postgresql-15', 'patroni', 'etcd-server', 'pgbouncer'])).toEqual({
      haproxy: '3.0.11-1+deb13u5',
      'postgresql-15': '15.20-0+deb12u1',
      patroni: '3.0.2-1+pgha2',
      'etcd-server': '3.5.16-4',
      pgbouncer: '1:1.18.0-1',
    });
  });
  it('leaves out what is not asked for and what the index lacks', () => {
    expect(newestVersions(index, ['haproxy', 'pgbackrest'])).toEqual({ haproxy: '3.0.11-1+deb13u5' });
  });
});
