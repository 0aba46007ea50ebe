/** The release table (src/model/releases.ts) and what `pgha configure --os/--os-version` writes from it. */
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/configure.js';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_OS_VERSION, RELEASES, releaseByCodename, releaseByVersion, releaseOf, releaseSuites } from '../../src/model/releases.js';
import { nspawnPlatform } from '../../src/platforms/nspawn/index.js';
import { configureOptions } from './configure-options.js';

describe('releases', () => {
  it('defaults to Debian 13, the current stable release', () => {
    expect(DEFAULT_OS_VERSION).toBe(13);
    expect(releaseOf({}).codename).toBe('trixie');
  });

  it('names each release by version (number or string) and codename', () => {
    expect(releaseByVersion(13)?.codename).toBe('trixie');
    expect(releaseByVersion('12')?.codename).toBe('bookworm');
    expect(releaseByVersion(14)).toBeUndefined();
    expect(releaseByVersion('x')).toBeUndefined();
    expect(releaseByCodename('trixie')?.version).toBe(13);
    expect(releaseByCodename('sid')).toBeUndefined();
    expect(releaseSuites(RELEASES[13])).toEqual({ main: 'trixie', updates: 'trixie-updates', security: 'trixie-security' });
  });

  it('defaults each release to a PostgreSQL it ships', () => {
    for (const r of Object.values(RELEASES)) expect(r.postgresShipped).toContain(r.postgresDefault);
    expect(RELEASES[12].postgresDefault).toBe(15);
    expect(RELEASES[13].postgresDefault).toBe(17);
  });
});

describe('configure --os --os-version', () => {
  it('writes os and os_version, and the major the release ships', () => {
    const c12 = buildConfig(configureOptions(), nspawnPlatform.configure);
    expect(c12.cluster_vars).toMatchObject({ os: 'Debian', os_version: 12, postgres_version: 15 });
    const c13 = buildConfig(configureOptions({ osVersion: 13 }), nspawnPlatform.configure);
    expect(c13.cluster_vars).toMatchObject({ os: 'Debian', os_version: 13, postgres_version: 17 });
    expect(
      buildConfig(configureOptions({ osVersion: 13, postgresVersion: 17 }), nspawnPlatform.configure).cluster_vars.postgres_version,
    ).toBe(17);
  });

  it('refuses a --postgresql the release does not ship, naming what it ships', () => {
    const make = () => buildConfig(configureOptions({ osVersion: 13, postgresVersion: 15 }), nspawnPlatform.configure);
    expect(make).toThrow(UsageError);
    expect(make).toThrow('--postgresql 15: Debian 13 (trixie) ships PostgreSQL 17 only');
  });
});
