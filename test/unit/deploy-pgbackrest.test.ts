/**
 * deploy's pgBackRest step against the simulated cluster (./sim/cluster.ts): the stanza, the
 * component's cluster step, is planned for a new cluster, created on the repository host once
 * the leader accepts writes (the pgBackRest servers started before etcd), checked, and a second
 * run plans nothing (the plan's read is a file test).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from './sim/cluster.js';
import { index, lastIndex, planLines, simulated } from './sim/setup.js';

const STANZA_LINE = 'cluster: pgbackrest: create stanza backed on backup1, then check archiving';

describe('deploy with a pgBackRest repository host (simulated)', () => {
  const c = simulated('m1-pgbackrest-debian12', 'backed');
  let sim: SimCluster;
  beforeAll(() => (sim = c.sim()));

  it('plans the stanza last, after the cluster forms', async () => {
    const r = await c.run({ check: true });
    expect(r.exitCode).toBe(10);
    const plan = planLines(r.summary, 'pending changes:');
    const cluster = plan.filter((l) => l.startsWith('cluster: '));
    expect(cluster.at(-1)).toBe(STANZA_LINE);
    for (const h of ['pg1', 'pg2', 'pg3', 'backup1']) {
      const at = plan.indexOf(plan.find((l) => l.startsWith(`${h}: `))!);
      const next = plan.findIndex((l, i) => i > at && !l.startsWith('  '));
      expect(plan.slice(at + 1, next)).toContain('  start pgha-pgbackrest.service');
    }
    expect(sim.log).toEqual([]);
  });

  it('starts the pgBackRest servers before the cluster forms, creates the stanza once the leader runs, then checks it', async () => {
    const r = await c.run();
    expect(r.exitCode).toBe(0);
    const log = sim.log;
    const create = index(log, /^backup1: pgbackrest stanza-create backed$/);
    expect(create).toBeGreaterThan(index(log, /^pg1: start patroni@backed\.service$/));
    expect(create).toBeGreaterThan(lastIndex(log, /: start pgha-pgbackrest\.service$/));
    // The servers start before etcd and Patroni (formation early): replicas, archiving and this step dial them.
    expect(lastIndex(log, /: start pgha-pgbackrest\.service$/)).toBeLessThan(index(log, /: start etcd\.service$/));
    // A cluster step: once the leader accepts writes, before the replicas start.
    expect(create).toBeLessThan(index(log, /^pg2: start patroni@backed\.service$/));
    expect(log[create + 1]).toBe('backup1: pgbackrest check backed');
    expect(planLines(r.summary, 'applied:')).toContain(STANZA_LINE);
  });

  it('plans nothing on a second run: the stanza is there', async () => {
    const mark = sim.log.length;
    const r = await c.run({ check: true });
    expect(r.exitCode).toBe(0);
    const again = await c.run();
    expect(again.summary.split('\n')[0]).toBe('no changes');
    expect(sim.since(mark)).toEqual([]);
    // The repository host: its facts, then the stanza's file test and the listing of its backup timers.
    expect(again.roundTrips.backup1).toBe(3);
  });

  it('creates the stanza again when the repository lost it', async () => {
    sim.stanzas.clear();
    const plan = planLines((await c.run({ check: true })).summary, 'pending changes:');
    expect(plan).toEqual([STANZA_LINE]);
    const mark = sim.log.length;
    expect((await c.run()).exitCode).toBe(0);
    expect(sim.since(mark)).toEqual(['backup1: pgbackrest stanza-create backed', 'backup1: pgbackrest check backed']);
  });

  it('starts the scheduled backup timers on the repository host only, never their services', () => {
    const backup1 = sim.host('backup1');
    expect([...backup1.active].filter((u) => u.startsWith('pgha-pgbackrest-backup-')).sort()).toEqual([
      'pgha-pgbackrest-backup-diff.timer',
      'pgha-pgbackrest-backup-full.timer',
    ]);
    expect(sim.log.some((l) => /^pg\d: .*pgha-pgbackrest-backup-/.test(l))).toBe(false);
    expect(sim.log.some((l) => /start .*pgha-pgbackrest-backup-\w+\.service/.test(l))).toBe(false);
  });

  it('stops and removes the timer of an entry the schedule no longer has, then plans nothing', async () => {
    const extraVars = { pgbackrest_schedule: { diff: null, incr: 'hourly' } };
    const plan = planLines((await c.run({ check: true, extraVars })).summary, 'pending changes:');
    expect(plan).toContain('cluster: pgbackrest: stop and remove backup timers pgbackrest_schedule no longer names on backup1');
    expect(plan).toContain('  start pgha-pgbackrest-backup-incr.timer');
    const mark = sim.log.length;
    expect((await c.run({ extraVars })).exitCode).toBe(0);
    const log = sim.since(mark);
    expect(log).toContain('backup1: remove pgha-pgbackrest-backup-diff.timer');
    expect(log.some((l) => l.startsWith('backup1: start') && l.includes('pgha-pgbackrest-backup-incr.timer'))).toBe(true);
    expect(sim.host('backup1').files.has('/etc/systemd/system/pgha-pgbackrest-backup-diff.service')).toBe(false);
    expect((await c.run({ check: true, extraVars })).exitCode).toBe(0);
  });
});
