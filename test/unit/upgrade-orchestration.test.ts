/**
 * upgrade's sequencing without containers: the real `pgha upgrade` against the simulated cluster
 * (./sim/cluster.ts), after the real deploy formed it. Services roll one host at a time, each
 * installed, restarted onto the new binary and healthy before the next; etcd is gated on
 * quorum; a finished host is skipped on a re-run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExtraVars } from '../../src/config/extra-vars.js';
import type { SimCluster } from './sim/cluster.js';
import { simulated } from './sim/setup.js';

describe('upgrade against a simulated cluster (M1 + PgBouncer, dedicated etcd)', () => {
  const c = simulated('m1-pgbouncer-bare', 'pool');
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });

  const extraVars = parseExtraVars(['etcd_package_version=3.4.23-5', 'pgbouncer_package_version=1.18.0-3']);

  it('rolls etcd, then PgBouncer, one host at a time: install, restart onto the new binary, healthy, next', async () => {
    const mark = sim.log.length;
    const r = await c.upgrade({ components: ['pgbouncer', 'etcd'], extraVars });
    const changes = sim.since(mark).filter((l) => !l.startsWith('etcd: '));
    expect(changes).toEqual([
      'etcd1: install etcd-server=3.4.23-5 etcd-client=3.4.23-5',
      'etcd1: restart etcd.service',
      'etcd2: install etcd-server=3.4.23-5 etcd-client=3.4.23-5',
      'etcd2: restart etcd.service',
      'etcd3: install etcd-server=3.4.23-5 etcd-client=3.4.23-5',
      'etcd3: restart etcd.service',
      'db1: install pgbouncer=1.18.0-3',
      'db1: restart pgbouncer.service',
      'db2: install pgbouncer=1.18.0-3',
      'db2: restart pgbouncer.service',
      'db3: install pgbouncer=1.18.0-3',
      'db3: restart pgbouncer.service',
    ]);
    expect(r.summary).toContain('pgbouncer on db3: upgraded');
    for (const h of ['etcd1', 'etcd2', 'etcd3']) expect(sim.host(h).packages.get('etcd-server')).toBe('3.4.23-5');
  });

  it('changes nothing when every host is at the target already', async () => {
    const mark = sim.log.length;
    const r = await c.upgrade({ components: ['etcd', 'pgbouncer'], extraVars });
    expect(sim.since(mark).filter((l) => !l.startsWith('etcd: '))).toEqual([]);
    expect(r.summary).toContain('etcd on etcd1: already at 3.4.23-5, 3.4.23-5');
  });

  it('resumes a host whose install finished but whose daemon still runs the old binary: a restart, no install', async () => {
    // As if an earlier run was killed between the install and the restart on db2.
    sim.host('db2').packages.set('pgbouncer', '1.18.0-4');
    sim.host('db2').replaced.add('pgbouncer.service');
    const mark = sim.log.length;
    await c.upgrade({ components: ['pgbouncer'], extraVars: parseExtraVars(['pgbouncer_package_version=1.18.0-4']) });
    expect(sim.since(mark)).toEqual([
      'db1: install pgbouncer=1.18.0-4',
      'db1: restart pgbouncer.service',
      'db2: restart pgbouncer.service',
      'db3: install pgbouncer=1.18.0-4',
      'db3: restart pgbouncer.service',
    ]);
  });

  it("gates each host on its component's own health check: a PgBouncer not pointing at the leader stops the roll there", async () => {
    sim.staleFollowers.add('db2');
    try {
      const mark = sim.log.length;
      const reads = sim.reads.length;
      await expect(
        c.upgrade({ components: ['pgbouncer'], extraVars: parseExtraVars(['pgbouncer_package_version=1.18.0-9']), gateTimeoutSec: 1 }),
      ).rejects.toThrow(
        /pgbouncer on db2 does not pass its health check before its upgrade \(nothing was changed on it\):\n {2}- PgBouncer db2: points at the leader: \S+, leader is db1/,
      );
      // db1 passed its gates before and after its restart; db2 failed its gate untouched; db3 was not reached.
      expect(sim.since(mark)).toEqual(['db1: install pgbouncer=1.18.0-9', 'db1: restart pgbouncer.service']);
      expect(sim.reads.slice(reads)).toContain('db1: read pgbouncer');
      expect(sim.reads.slice(reads).filter((r) => r.startsWith('db3'))).toEqual([]);
    } finally {
      sim.staleFollowers.delete('db2');
    }
  });
});

describe('upgrade of Patroni against a simulated cluster (M1 + HAProxy)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { bare: true });
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });

  it('restarts Patroni on the replicas first, then on the leader with the cluster paused, so the leader never moves', async () => {
    const mark = sim.log.length;
    await c.upgrade({ components: ['patroni'], extraVars: parseExtraVars(['patroni_package_version=3.0.2-1+pgha2']) });
    expect(sim.since(mark)).toEqual([
      'pg2: install patroni=3.0.2-1+pgha2',
      'pg2: restart patroni@demo.service',
      'pg3: install patroni=3.0.2-1+pgha2',
      'pg3: restart patroni@demo.service',
      'pg1: install patroni=3.0.2-1+pgha2',
      'pg1: PATCH /config {"pause":true}',
      'pg1: restart patroni@demo.service',
      'pg1: PATCH /config {"pause":false}',
    ]);
    expect(sim.leader()).toBe('pg1');
    expect(sim.dcsConfig.pause).toBe(false);
  });
});
