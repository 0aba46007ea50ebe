import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { dataNodesOneRelease, postgresShippedByRelease } from '../../../src/config/rules/release.js';
import { resolveCluster } from '../../../src/model/resolve.js';
import { baseConfig, problems, run, withInstanceVars } from './helpers.js';

const shipped = eachHost(postgresShippedByRelease);

describe('postgres_version and os_version', () => {
  it('resolves an unset os_version as Debian 13 with PostgreSQL 17, and 12 with 15', () => {
    const c = baseConfig();
    delete c.cluster_vars.postgres_version;
    delete c.cluster_vars.os_version;
    const h = resolveCluster(c).hosts[0]!;
    expect(h.vars).toMatchObject({ os: 'Debian', os_version: 13, postgres_version: 17, postgres_bin_dir: '/usr/lib/postgresql/17/bin' });
    expect(h.vars.postgres_data_dir).toBe('/var/lib/postgresql/17/c');
    expect(h.provenance.get('postgres_version')).toBe('builtin');
    c.cluster_vars.os_version = 12;
    expect(resolveCluster(c).hosts[0]!.vars).toMatchObject({ os: 'Debian', os_version: 12, postgres_version: 15 });
    expect(resolveCluster(c).hosts[0]!.vars.postgres_bin_dir).toBe('/usr/lib/postgresql/15/bin');
  });

  it('accepts the major each release ships, set or defaulted', () => {
    expect(problems(shipped, baseConfig())).toEqual([]);
    const c = baseConfig();
    c.cluster_vars.os_version = 13;
    delete c.cluster_vars.postgres_version;
    expect(problems(shipped, c)).toEqual([]);
    c.cluster_vars.postgres_version = '17';
    expect(problems(shipped, c)).toEqual([]);
  });

  it('refuses a major the release does not ship, once at its line, naming what exists', () => {
    const c = baseConfig();
    c.cluster_vars.os_version = 13;
    const { errors } = run(shipped, c);
    expect(errors).toEqual([
      expect.stringMatching(
        /^config\.yml:\d+: cluster_vars\.postgres_version: PostgreSQL 15 is not shipped by Debian 13 \(trixie\), which pg1, pg2, pg3 run: it ships PostgreSQL 17; set postgres_version to 17, or remove it/,
      ),
    ]);
  });

  it('blames the os_version line when the major is the default of another release', () => {
    const c = baseConfig();
    delete c.cluster_vars.postgres_version;
    c.cluster_vars.postgres_version = 16;
    expect(problems(shipped, c)).toEqual([
      expect.stringMatching(
        /^E cluster_vars\.postgres_version: PostgreSQL 16 is not shipped by Debian 12 \(bookworm\).*ships PostgreSQL 15;/,
      ),
    ]);
  });

  it('leaves hosts without PostgreSQL alone (an HAProxy host on another release)', () => {
    const c = withInstanceVars(baseConfig(), 3, { os_version: 13 });
    expect(problems(shipped, c)).toEqual([]);
    expect(problems(dataNodesOneRelease, c)).toEqual([]);
  });

  it('refuses data nodes of different releases, blaming the odd one out', () => {
    const c = baseConfig();
    delete c.cluster_vars.postgres_version;
    withInstanceVars(c, 2, { os_version: 13 });
    expect(problems(dataNodesOneRelease, c)).toEqual([
      'E instances[2].vars.os_version: pg3 runs Debian 13 but the other data nodes run Debian 12: the data nodes replicate one PostgreSQL cluster, so they need one PostgreSQL major and one release; set os_version once for all of them',
    ]);
  });
});
