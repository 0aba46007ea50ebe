/**
 * The declared users and databases (postgres_users, postgres_databases) through the real deploy
 * against a simulated cluster (./sim/cluster.ts): planned from the leader's check, applied once
 * the leader accepts writes and before the services start, their passwords generated into
 * DIR/secrets, and a second run a single read that plans nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from './sim/cluster.js';
import { index, planLines, simulated } from './sim/setup.js';

describe('deploy with declared users and databases (m1-overrides)', () => {
  const c = simulated('m1-overrides', 'tuned');
  let sim: SimCluster;
  beforeAll(() => (sim = c.sim()));

  it('generates their passwords, plans the step, runs it on the leader before HAProxy starts, and plans nothing after', async () => {
    for (const user of ['app', 'reporting']) expect(existsSync(join(c.dir(), 'secrets', user))).toBe(true);
    const plan = await c.run({ check: true });
    expect(planLines(plan.summary, 'pending changes:')).toContain(
      'cluster: postgres: create the declared users app, reporting and databases appdb on the leader',
    );
    const r = await c.run();
    expect(r.exitCode).toBe(0);
    expect(planLines(r.summary, 'applied:')).toContain(
      'cluster: postgres: create the declared users app, reporting and databases appdb on the leader',
    );
    const step = index(sim.log, /^node1: declared users app, reporting databases appdb$/);
    expect(step).toBeGreaterThan(index(sim.log, /^node1: start patroni@tuned\.service$/));
    expect(step).toBeLessThan(index(sim.log, /: start haproxy\.service$/));
    const mark = sim.log.length;
    const again = await c.run();
    expect(again.summary.split('\n')[0]).toBe('no changes');
    expect(sim.since(mark)).toEqual([]);
    // The leader's reads: its facts, Patroni's role passwords, and the declared objects' check.
    expect(again.roundTrips.node1).toBe(3);
    expect((await c.run({ check: true })).exitCode).toBe(0);
  });
});
