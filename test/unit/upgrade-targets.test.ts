/** What `pgha upgrade` asks a target version of, per host. */
import { describe, expect, it } from 'vitest';
import type { LoadedCluster } from '../../src/app/cluster-dir.js';
import { upgradeTargets } from '../../src/app/upgrade/targets.js';
import { loadExample } from '../golden/inputs.js';

const loaded = (vars: Record<string, unknown>) => ({ cluster: loadExample('m1-haproxy-nspawn', vars) }) as unknown as LoadedCluster;

describe('upgradeTargets', () => {
  it('on Debian 13 asks a version of Patroni only, not of python3-etcd installed beside it', () => {
    const t = upgradeTargets(
      loaded({ os_version: 13, postgres_version: null, patroni_package_version: '4.0.7-3~deb13u1+pgha1' }),
      'patroni',
    );
    expect([...t.keys()]).toEqual(['pg1', 'pg2', 'pg3']);
    for (const perHost of t.values()) expect(perHost).toEqual({ patroni: '4.0.7-3~deb13u1+pgha1' });
  });

  it('refuses a component whose own package has no pin, naming the hosts and the variable', () => {
    expect(() => upgradeTargets(loaded({ os_version: 13, postgres_version: null }), 'patroni')).toThrow(
      /upgrade patroni: no target version for pg1: patroni, pg2: patroni, pg3: patroni/,
    );
  });
});
