/** What download-packages records of what it resolved: the manifest, and where it is written. */
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RELEASES } from '../../src/model/releases.js';
import { parsePackagesIndex } from '../../src/platforms/nspawn/packages-index.js';
import { recordResolved } from '../../src/platforms/nspawn/resolved-store.js';
import { parseResolvedManifest, resolvedManifest } from '../../src/platforms/nspawn/resolved.js';
import { tempDirs } from './tempdirs.js';

const tempDir = tempDirs();

const INDEX = [
  ['postgresql-17', '17.12-0+deb13u1'],
  ['postgresql-15', '15.20-0+deb12u1'], // not the release's major: not its row
  ['postgresql-client-17', '17.12-0+deb13u1'],
  ['patroni', '4.0.7-3~deb13u1'],
  ['etcd-server', '3.5.16-4'],
  ['etcd-client', '3.5.16-4'],
  ['haproxy', '3.0.11-1+deb13u4'],
  ['haproxy', '3.0.11-1+deb13u5'],
  ['pgbouncer', '1.24.1-1+deb13u2'],
]
  .map(([n, v]) => `Package: ${n}\nVersion: ${v}\nFilename: ./${n}_${v}_amd64.deb\n`)
  .join('\n');

const TRIXIE = {
  os: 'Debian',
  version: 13,
  codename: 'trixie',
  date: '2026-12-04',
  source: 'test',
  components: {
    postgresql: { package: 'postgresql-17', version: '17.12-0+deb13u1' },
    patroni: { package: 'patroni', version: '4.0.7-3~deb13u1' },
    etcd: { package: 'etcd-server', version: '3.5.16-4' },
    haproxy: { package: 'haproxy', version: '3.0.11-1+deb13u5' },
    pgbouncer: { package: 'pgbouncer', version: '1.24.1-1+deb13u2' },
  },
};

describe('resolvedManifest', () => {
  it("names each component's package on the release and the version apt installs; a package the index lacks is absent", () => {
    const m = resolvedManifest(RELEASES[13], parsePackagesIndex(INDEX), { source: 'test', date: new Date('2026-12-04T23:07:00Z') });
    expect(m).toEqual(TRIXIE);
    expect(m.components.pgbackrest).toBeUndefined();
  });
  it('reads back what it wrote, and refuses anything else naming the file', () => {
    expect(parseResolvedManifest(JSON.stringify(TRIXIE), 'x.json')).toEqual(TRIXIE);
    expect(() => parseResolvedManifest('{', 'x.json')).toThrow(/x\.json: not a resolved-versions manifest/);
    expect(() => parseResolvedManifest(JSON.stringify({ ...TRIXIE, version: '13' }), 'x.json')).toThrow(/version is not a number/);
    expect(() => parseResolvedManifest(JSON.stringify({ ...TRIXIE, components: { etcd: { package: 'etcd-server' } } }), 'x.json')).toThrow(
      /etcd lacks a package or a version/,
    );
    expect(() => parseResolvedManifest(JSON.stringify({ ...TRIXIE, components: { redis: TRIXIE.components.etcd } }), 'x.json')).toThrow(
      /unknown component redis/,
    );
  });
});

describe('recordResolved', () => {
  const setup = () => {
    const cache = tempDir('pgha-cache-');
    const repo = join(tempDir('pgha-dir-'), 'local-repo');
    mkdirSync(repo);
    writeFileSync(join(repo, 'Packages'), INDEX);
    // dated by the index: an up-to-date repository was resolved when it was built
    utimesSync(join(repo, 'Packages'), new Date('2026-12-04T23:07:00Z'), new Date('2026-12-04T23:07:00Z'));
    return { cache, repo, env: { PGHA_CACHE_DIR: cache } };
  };

  it("writes the repository's manifest, and the machine-wide one when nothing was pinned or added", async () => {
    const { cache, repo, env } = setup();
    await recordResolved(repo, { codename: 'trixie', pins: {}, extraDebs: [] }, env);
    const own = parseResolvedManifest(readFileSync(join(repo, 'resolved.json'), 'utf8'), 'repo');
    expect({ ...own, source: 'test' }).toEqual(TRIXIE);
    const machine = parseResolvedManifest(readFileSync(join(cache, 'resolved-trixie.json'), 'utf8'), 'cache');
    expect({ ...machine, source: 'test' }).toEqual(TRIXIE);
  });

  it("the machine-wide one covers every row of the table, from the release's apt lists where this cluster's repository has no such package", async () => {
    const { cache, env } = setup();
    // A cluster without PgBouncer: its repository lacks the package, the mirror's lists have it.
    const repo = join(tempDir('pgha-dir-'), 'local-repo');
    mkdirSync(repo);
    writeFileSync(
      join(repo, 'Packages'),
      INDEX.split('\n\n')
        .filter((e) => !e.startsWith('Package: pgbouncer'))
        .join('\n\n'),
    );
    mkdirSync(join(cache, 'apt-lists-trixie'));
    writeFileSync(
      join(cache, 'apt-lists-trixie', 'deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages'),
      'Package: pgbouncer\nVersion: 1.24.1-1+deb13u2\nFilename: pool/p/pgbouncer.deb\n\nPackage: haproxy\nVersion: 3.0.11-1+deb13u4\nFilename: pool/h/haproxy.deb\n\nPackage: pgbackrest\nVersion: 2.55.1-1\nFilename: pool/p/pgbackrest.deb\n',
    );
    await recordResolved(repo, { codename: 'trixie', pins: {}, extraDebs: [] }, env);
    expect(parseResolvedManifest(readFileSync(join(repo, 'resolved.json'), 'utf8'), 'repo').components.pgbouncer).toBeUndefined();
    const machine = parseResolvedManifest(readFileSync(join(cache, 'resolved-trixie.json'), 'utf8'), 'cache');
    expect(machine.components).toEqual(TRIXIE.components);
    expect(machine.source).toMatch(/local repository and the apt lists of trixie/);
  });

  it.each([
    ['a pin', { pins: { haproxy: '3.0.11-1+deb13u4' } }],
    ['an older version kept', { pins: {}, extraVersions: { haproxy: ['3.0.11-1+deb13u4'] } }],
    ['an added .deb', { pins: {}, extraDebs: ['/tmp/patroni_9_all.deb'] }],
  ])("with %s, writes only the repository's own manifest (the README is made of the release as served)", async (_, spec) => {
    const { cache, repo, env } = setup();
    await recordResolved(repo, { codename: 'trixie', ...spec }, env);
    expect(existsSync(join(repo, 'resolved.json'))).toBe(true);
    expect(existsSync(join(cache, 'resolved-trixie.json'))).toBe(false);
  });
});
