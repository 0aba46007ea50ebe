/**
 * deploy of a monitored cluster against the simulated cluster (./sim/cluster.ts): the exporters
 * and Prometheus start as services once the cluster leads, postgres_exporter's role is set up on
 * the leader (a cluster step) before any of them, the repository host's backup-metrics timer
 * starts, and a second run plans nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from './sim/cluster.js';
import { index, lastIndex, planLines, simulated } from './sim/setup.js';

const ROLE_LINE = 'cluster: postgres_exporter: set up role prometheus (LOGIN, pg_monitor) on the leader';

describe('deploy with a monitoring host (simulated)', () => {
  const c = simulated('m1-monitoring-debian13', 'watched');
  let sim: SimCluster;
  beforeAll(() => (sim = c.sim()));

  it('plans the exporters everywhere, Prometheus and Alertmanager on monitor1, and the role', async () => {
    const r = await c.run({ check: true });
    expect(r.exitCode).toBe(10);
    const plan = planLines(r.summary, 'pending changes:');
    expect(plan).toContain(ROLE_LINE);
    const starts = (h: string) => {
      const at = plan.indexOf(plan.find((l) => l.startsWith(`${h}: `))!);
      const next = plan.findIndex((l, i) => i > at && !l.startsWith('  '));
      return plan.slice(at + 1, next === -1 ? undefined : next).filter((l) => l.startsWith('  start '));
    };
    expect(starts('monitor1')).toEqual(
      expect.arrayContaining([
        '  start prometheus-node-exporter.service',
        '  start prometheus-alertmanager.service',
        '  start prometheus.service',
      ]),
    );
    expect(starts('pg2')).toEqual(
      expect.arrayContaining(['  start prometheus-node-exporter.service', '  start prometheus-postgres-exporter.service']),
    );
    expect(starts('proxy1')).toContain('  start prometheus-node-exporter.service');
    expect(starts('proxy1')).not.toContain('  start prometheus-postgres-exporter.service');
    expect(starts('backup1')).toContain('  start pgha-pgbackrest-metrics.timer');
    expect(sim.log).toEqual([]);
  });

  it('sets up the role once the leader runs, before the exporters and Prometheus start', async () => {
    const r = await c.run();
    expect(r.exitCode, r.summary).toBe(0);
    const log = sim.log;
    const role = index(log, /^pg1: monitoring role prometheus$/);
    expect(role).toBeGreaterThan(index(log, /^pg1: start patroni@watched\.service$/));
    expect(role).toBeLessThan(index(log, /: start prometheus-postgres-exporter\.service$/));
    expect(lastIndex(log, /^monitor1: start prometheus\.service$/)).toBeGreaterThan(role);
    expect(planLines(r.summary, 'applied:')).toContain(ROLE_LINE);
  });

  it('plans nothing on a second run', async () => {
    const mark = sim.log.length;
    const again = await c.run();
    expect(again.summary.split('\n')[0]).toBe('no changes');
    expect(sim.since(mark)).toEqual([]);
  });
});
