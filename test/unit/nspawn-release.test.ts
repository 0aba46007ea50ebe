/** nspawn runs one Debian release per cluster, and knows which release DIR/local-repo was resolved for. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { RELEASES } from '../../src/model/releases.js';
import { localRepoCodename, oneRelease } from '../../src/platforms/nspawn/release.js';

describe('oneRelease', () => {
  it('is the release every host shares', () => {
    const hosts = ['pg1', 'pg2', 'proxy1'].map((name) => ({ name, release: RELEASES[13] }));
    expect(oneRelease(hosts).codename).toBe('trixie');
  });

  it('refuses hosts of two releases, naming them by release', () => {
    const hosts = [
      { name: 'pg1', release: RELEASES[12] },
      { name: 'pg2', release: RELEASES[12] },
      { name: 'proxy1', release: RELEASES[13] },
    ];
    expect(() => oneRelease(hosts)).toThrow(UsageError);
    expect(() => oneRelease(hosts)).toThrow(
      "one cluster's hosts run one Debian release (one local repository and one image serve them all), but pg1, pg2 run Debian 12 (bookworm) and proxy1 run Debian 13 (trixie)",
    );
  });
});

describe('localRepoCodename', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-repo-release-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the release from the repository's manifest, undefined when it says none", async () => {
    expect(await localRepoCodename(join(dir, 'none'))).toBeUndefined();
    writeFileSync(join(dir, '.pgha-repo.json'), JSON.stringify({ key: 'k', packages: [], files: [] }));
    expect(await localRepoCodename(dir)).toBeUndefined();
    writeFileSync(join(dir, '.pgha-repo.json'), JSON.stringify({ key: 'k', codename: 'trixie', packages: [], files: [] }));
    expect(await localRepoCodename(dir)).toBe('trixie');
  });
});
