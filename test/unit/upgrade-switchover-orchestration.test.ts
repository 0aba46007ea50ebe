/**
 * A PostgreSQL minor upgrade against the simulated cluster (./sim/cluster.ts), after the real
 * deploy formed it: both replicas are installed and restarted through Patroni first, then the
 * leader's step hands the lead to an upgraded replica through the switchover's own pre-checks
 * (POST /switchover from the leader's tunnel, writes through HAProxy reaching the new leader),
 * and the old leader comes back as a replica already on the new binaries. Patroni's own upgrade
 * takes the same switchover when asked to (--primary-strategy=switchover).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExtraVars } from '../../src/config/extra-vars.js';
import { RefusedError } from '../../src/errors.js';
import type { SimCluster } from './sim/cluster.js';
import { simulated } from './sim/setup.js';

const MEMBERS = ['pg1', 'pg2', 'pg3'];
const installs = (v: string) => `postgresql-15=${v} postgresql-client-15=${v}`;

describe('PostgreSQL upgrade against a simulated cluster (M1 + HAProxy)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { bare: true });
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });
  const to = (v: string) => ({ components: ['postgres'], extraVars: parseExtraVars([`postgres_package_version=${v}`]) });
  const versions = () => MEMBERS.map((m) => sim.members.get(m)!.serverVersion);

  it('upgrades and restarts both replicas, then switches over to an upgraded replica, then the old leader is on the new version', async () => {
    expect(versions()).toEqual([150020, 150020, 150020]);
    expect(sim.leader()).toBe('pg1');
    const mark = { log: sim.log.length, calls: sim.calls.length, probes: sim.probes.length };
    const said: string[] = [];
    await c.upgrade({ ...to('15.21-0+deb12u1'), log: (l) => said.push(l) });

    expect(sim.log.slice(mark.log)).toEqual([
      `pg2: install ${installs('15.21-0+deb12u1')}`,
      'pg2: restart PostgreSQL',
      `pg3: install ${installs('15.21-0+deb12u1')}`,
      'pg3: restart PostgreSQL',
      `pg1: install ${installs('15.21-0+deb12u1')}`,
      'pg1: switchover pg1 → pg2',
    ]);
    // Every write call from the member's own tunnel; the leader's PostgreSQL is never restarted by a POST /restart.
    expect(sim.calls.slice(mark.calls)).toEqual([
      'pg2: POST /restart',
      'pg3: POST /restart',
      'pg1: POST /switchover {"leader":"pg1","candidate":"pg2"}',
    ]);
    // The switchover's own path: its plan line, then writes through HAProxy probed from the new leader until they reach it.
    expect(said.some((l) => /^switchover: pg1 → pg2 \(lag of pg2: 0 bytes, limit 1048576\)/.test(l))).toBe(true);
    expect(said.some((l) => /^writes reach pg2 through HAProxy on proxy1/.test(l))).toBe(true);
    expect(sim.probes.slice(mark.probes).every((p) => p.startsWith('pg2: psql '))).toBe(true);
    expect(versions()).toEqual([150021, 150021, 150021]);
    expect([...sim.members].filter(([, m]) => m.role === 'leader').map(([n]) => n)).toEqual(['pg2']);
  });

  it('refuses the leader step before any POST /switchover when every replica lags beyond maximum_lag_on_failover; a re-run finishes the leader', async () => {
    // pg2 leads now; pg1 and pg3 fall behind by 5 MiB (the limit is 1 MiB).
    for (const m of ['pg1', 'pg3']) sim.members.get(m)!.lag = 5 * 1024 * 1024;
    const mark = { log: sim.log.length, calls: sim.calls.length };
    const err = await c.upgrade(to('15.22-0+deb12u1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).reasons.join('\n')).toMatch(
      /lags 5242880 bytes behind the leader, more than maximum_lag_on_failover \(1048576\)/,
    );
    expect(sim.calls.slice(mark.calls)).toEqual(['pg1: POST /restart', 'pg3: POST /restart']);
    expect(sim.log.slice(mark.log).at(-1)).toBe(`pg2: install ${installs('15.22-0+deb12u1')}`);
    expect(sim.leader()).toBe('pg2');
    expect(versions()).toEqual([150022, 150021, 150022]);

    // Caught up again: the re-run skips the finished replicas and only moves the leader.
    for (const m of ['pg1', 'pg3']) sim.members.get(m)!.lag = 0;
    const again = { log: sim.log.length, calls: sim.calls.length };
    const r = await c.upgrade(to('15.22-0+deb12u1'));
    expect(sim.log.slice(again.log)).toEqual(['pg2: switchover pg2 → pg1']);
    expect(sim.calls.slice(again.calls)).toEqual(['pg2: POST /switchover {"leader":"pg2","candidate":"pg1"}']);
    expect(r.summary).toContain('postgres on pg1: already at 15.22-0+deb12u1');
    expect(versions()).toEqual([150022, 150022, 150022]);
  });

  it('with --primary-strategy=switchover, Patroni on the leader is restarted only after the lead moved to an upgraded replica', async () => {
    expect(sim.leader()).toBe('pg1');
    const mark = { log: sim.log.length, calls: sim.calls.length };
    await c.upgrade({
      components: ['patroni'],
      primaryStrategy: 'switchover',
      extraVars: parseExtraVars(['patroni_package_version=3.0.2-1+pgha3']),
    });
    expect(sim.log.slice(mark.log)).toEqual([
      'pg2: install patroni=3.0.2-1+pgha3',
      'pg2: restart patroni@demo.service',
      'pg3: install patroni=3.0.2-1+pgha3',
      'pg3: restart patroni@demo.service',
      'pg1: install patroni=3.0.2-1+pgha3',
      'pg1: switchover pg1 → pg2',
      'pg1: restart patroni@demo.service',
    ]);
    expect(sim.calls.slice(mark.calls)).toEqual(['pg1: POST /switchover {"leader":"pg1","candidate":"pg2"}']);
    expect(sim.leader()).toBe('pg2');
  });
});
