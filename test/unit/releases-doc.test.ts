/**
 * README's table of releases × component versions (scripts/releases-doc.ts): formatted from the
 * manifests download-packages records, spliced between its markers, and held equal to the
 * manifests committed under docs/releases/, so a hand edit of the table fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_FILE, asLocalRepoWouldHold, committedColumns } from '../../scripts/releases-doc.js';
import { BEGIN, END, releasesSection, releasesTable, spliceSection } from '../../scripts/releases-table.js';
import { RELEASES } from '../../src/model/releases.js';
import { patroniBuildOf } from '../../src/platforms/nspawn/patroni-fix.js';
import type { ResolvedManifest } from '../../src/platforms/nspawn/resolved.js';

const bookworm: ResolvedManifest = {
  os: 'Debian',
  version: 12,
  codename: 'bookworm',
  date: '2026-12-04',
  source: 'the local repository',
  components: {
    postgresql: { package: 'postgresql-15', version: '15.20-0+deb12u1' },
    patroni: { package: 'patroni', version: '3.0.2-1+pgha2' },
    etcd: { package: 'etcd-server', version: '3.4.23-4+b4' },
    haproxy: { package: 'haproxy', version: '2.6.12-1+deb12u4' },
  },
};

describe('releasesTable', () => {
  it('one row per component, one column per release; a release without a manifest says how to make one', () => {
    expect(
      releasesTable([
        { release: RELEASES[12], manifest: bookworm },
        { release: RELEASES[13], manifest: undefined },
      ]).split('\n'),
    ).toEqual([
      '| component | Debian 12 (bookworm) | Debian 13 (trixie) |',
      '|---|---|---|',
      '| PostgreSQL (`postgresql-<major>`) | `15.20-0+deb12u1` | not resolved yet: run `pgha download-packages` with `os_version: 13` |',
      '| Patroni (`patroni`) | `3.0.2-1+pgha2` | not resolved yet: run `pgha download-packages` with `os_version: 13` |',
      '| etcd (`etcd-server`) | `3.4.23-4+b4` | not resolved yet: run `pgha download-packages` with `os_version: 13` |',
      '| HAProxy (`haproxy`) | `2.6.12-1+deb12u4` | not resolved yet: run `pgha download-packages` with `os_version: 13` |',
      '| PgBouncer (`pgbouncer`) | not in its repository | not resolved yet: run `pgha download-packages` with `os_version: 13` |',
      '| pgBackRest (`pgbackrest`) | not in its repository | not resolved yet: run `pgha download-packages` with `os_version: 13` |',
      '',
      '- Debian 12 (bookworm): resolved 2026-12-04, from the local repository.',
      '- Debian 13 (trixie): no manifest in docs/releases/.',
    ]);
  });
  it('a component no repository holds gets no row; one another release holds says so in the cell', () => {
    const trixie: ResolvedManifest = {
      ...bookworm,
      version: 13,
      codename: 'trixie',
      components: { pgbouncer: { package: 'pgbouncer', version: '1.24.1-1+deb13u2' } },
    };
    const table = releasesTable([
      { release: RELEASES[12], manifest: bookworm },
      { release: RELEASES[13], manifest: trixie },
    ]);
    expect(table).toContain('| PgBouncer (`pgbouncer`) | not in its repository | `1.24.1-1+deb13u2` |');
    expect(table).not.toContain('pgBackRest');
  });
});

describe('spliceSection', () => {
  const section = `${BEGIN}\nnew\n${END}`;
  it('replaces what lies between the markers, markers included, and nothing else', () => {
    expect(spliceSection(`a\n${BEGIN}\nold\nolder\n${END}\nb\n`, section)).toBe(`a\n${section}\nb\n`);
  });
  it.each([
    ['no begin marker', `a\n${END}\n`, /README\.md has no <!-- releases:begin --> marker/],
    ['no end marker', `a\n${BEGIN}\n`, /has no <!-- releases:end --> marker/],
    ['a marker twice', `${BEGIN}\n${END}\n${BEGIN}\n`, /has a marker twice/],
    ['the markers reversed', `${END}\n${BEGIN}\n`, /has <!-- releases:end --> before <!-- releases:begin -->/],
  ])('refuses a text with %s, saying where the markers go', (_, text, message) => {
    expect(() => spliceSection(text, section)).toThrow(message);
  });
});

describe('asLocalRepoWouldHold', () => {
  it("adds pgha's patroni builds where the repository builder does: beside Debian's 3.0.2-1 and 4.0.7-3~deb13u1", () => {
    const debian = [{ name: 'patroni', version: '3.0.2-1', file: 'patroni_3.0.2-1_all.deb' }];
    expect(asLocalRepoWouldHold(debian).map((e) => e.version)).toEqual(['3.0.2-1', patroniBuildOf('3.0.2-1')!.version]);
    const trixie = [{ name: 'patroni', version: '4.0.7-3~deb13u1', file: 'patroni_4.0.7-3~deb13u1_all.deb' }];
    expect(asLocalRepoWouldHold(trixie).map((e) => e.version)).toEqual(['4.0.7-3~deb13u1', '4.0.7-3~deb13u1+pgha1']);
    const other = [{ name: 'patroni', version: '4.0.8-1', file: 'patroni_4.0.8-1_all.deb' }];
    expect(asLocalRepoWouldHold(other)).toEqual(other);
  });
});

describe('README.md', () => {
  it('holds the releases table generated from docs/releases/*.json (run `npm run docs:releases`)', async () => {
    const columns = await committedColumns();
    const readme = readFileSync(README_FILE, 'utf8');
    expect(readme).toBe(spliceSection(readme, releasesSection(columns)));
  });
});
