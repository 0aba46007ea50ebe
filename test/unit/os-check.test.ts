/**
 * A host whose OS release differs from its resolved os_version is refused before any change:
 * the pure judgment, and deploy against simulated bare hosts (fake transports) that report
 * Debian 12 in their facts while config.yml asks for 13.
 */
import { describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/errors.js';
import { describeOs, osReleaseProblem } from '../../src/plan/os-check.js';
import { simulated } from './sim/setup.js';

describe('osReleaseProblem', () => {
  it('accepts the release os_version names, 13 when unset', () => {
    expect(osReleaseProblem({ name: 'db1', vars: {} }, { id: 'debian', codename: 'trixie' })).toBeUndefined();
    expect(osReleaseProblem({ name: 'db1', vars: { os_version: 12 } }, { id: 'debian', codename: 'bookworm' })).toBeUndefined();
    expect(osReleaseProblem({ name: 'db1', vars: { os_version: 13 } }, { id: 'debian', codename: 'trixie' })).toBeUndefined();
    expect(osReleaseProblem({ name: 'db1', vars: { os_version: '13' } }, { id: 'debian', codename: 'trixie' })).toBeUndefined();
  });

  it('names the host, the release found and the one expected', () => {
    expect(osReleaseProblem({ name: 'db1', vars: { os_version: 13 } }, { id: 'debian', codename: 'bookworm' })).toBe(
      'db1: found Debian 12 (bookworm), expected Debian 13 (trixie) (os_version 13)',
    );
    expect(osReleaseProblem({ name: 'db2', vars: {} }, { id: 'ubuntu', codename: 'noble' })).toBe(
      'db2: found ubuntu noble, expected Debian 13 (trixie) (os_version 13)',
    );
    expect(osReleaseProblem({ name: 'db3', vars: {} }, { id: 'debian', codename: 'forky' })).toMatch(/^db3: found Debian forky, expected/);
  });

  it('says so when os-release names nothing', () => {
    expect(describeOs({ id: '', codename: '' })).toBe('an OS without ID or VERSION_CODENAME in /etc/os-release');
    expect(describeOs({ id: 'debian', codename: '' })).toBe('Debian (no VERSION_CODENAME)');
  });
});

describe('deploy refuses hosts of another release before any change (bare, simulated hosts)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { bare: true });

  it('exits 3 naming every host, found and expected release, and runs nothing on them', async () => {
    const attempt = c.run({ extraVars: { os_version: 13, postgres_version: 17 } });
    await expect(attempt).rejects.toBeInstanceOf(RefusedError);
    const err = (await attempt.catch((e: unknown) => e)) as RefusedError;
    expect(err.exitCode).toBe(3);
    expect(err.reasons).toEqual(
      ['pg1', 'pg2', 'pg3', 'proxy1'].map((h) => `${h}: found Debian 12 (bookworm), expected Debian 13 (trixie) (os_version 13)`),
    );
    expect(c.sim().log).toEqual([]);
  });

  it('refuses a config.yml from before os_version existed (a Debian 12 cluster), saying to set it', async () => {
    // -e os_version=null unsets it, as in a config.yml older than the variable: the default, 13, applies.
    const attempt = c.run({ extraVars: { os_version: null, postgres_version: null } });
    const err = (await attempt.catch((e: unknown) => e)) as RefusedError;
    expect(err).toBeInstanceOf(RefusedError);
    expect(err.reasons[0]).toBe('pg1: found Debian 12 (bookworm), expected Debian 13 (trixie) (os_version 13)');
    expect(err.hint).toMatch(/set os_version/);
    expect(c.sim().log).toEqual([]);
  });

  it('deploys the same hosts when os_version matches what they run', async () => {
    const r = await c.run({ check: true });
    expect(r.exitCode).toBe(10);
  });
});
