/**
 * `pgha switchover` with one of two proxy hosts down, against the simulated cluster
 * (./sim/cluster.ts): with a VIP the switchover needs writes to reach the new leader through the
 * VIP only and names the dead proxy in a warning with the remedy; without one, every proxy is an
 * entry point clients use, so a dead one fails the switchover as before. The pre-checks still
 * refuse a cluster whose data nodes are not fine, whatever the proxies.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { switchover } from '../../src/app/switchover.js';
import { waitWritesReachLeader, withLive } from '../../src/app/verbs/live.js';
import { RefusedError, RuntimeError } from '../../src/errors.js';
import type { SimCluster } from './sim/cluster.js';
import { simulated } from './sim/setup.js';

const VIP = '10.10.0.250';
const PROXY2 = `  - Name: proxy2
    node: 5
    location: main
    role: [haproxy]
    ip_address: 10.10.0.22
`;
const withProxy2 = (yml: string) => `${yml.trimEnd()}\n${PROXY2}`;
const withVip = (yml: string) =>
  withProxy2(yml).replace('cluster_vars:\n', `cluster_vars:\n  vip_address: ${VIP}\n  vip_interface: host0\n`);

/** Runs `fn` with the lines it prints; rejects as it does. */
async function printed<T>(fn: (out: (l: string) => void) => Promise<T>): Promise<{ result: T; out: string[] }> {
  const out: string[] = [];
  return { result: await fn((l) => out.push(l)), out };
}

describe('switchover with a proxy host down, the cluster has a VIP (M1 + two HAProxy + keepalived)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { editConfig: withVip });
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
    expect(sim.host('proxy1').active.has('keepalived.service')).toBe(true);
  });

  it('succeeds once writes through the VIP reach the new leader, and names the dead proxy with the remedy in a warning', async () => {
    expect(sim.leader()).toBe('pg1');
    // The VIP's holder crashes: keepalived on proxy2 holds the address now.
    sim.down.add('proxy1');
    const probes = sim.probes.length;
    const { result, out } = await printed((out) =>
      switchover(c.dir(), { candidate: 'pg2', force: true, writesTimeoutMs: 3000 }, out, c.seams()),
    );
    expect(sim.leader()).toBe('pg2');
    expect(result.endpoints).toEqual([`VIP, keepalived on proxy1, proxy2`, 'HAProxy on proxy2']);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(
      /^warning: writes through HAProxy on proxy1 do not reach pg2 \(psql through HAProxy on proxy1 failed.*\); the VIP 10\.10\.0\.250 does, but proxy1 cannot take it over: if proxy1 is down, boot its container with `pgha provision DIR`, else look at `systemctl status haproxy` on proxy1; then run `pgha test DIR`$/,
    );
    expect(out).toContain(result.warnings[0]);
    expect(out.find((l) => l.startsWith('writes reach pg2 through'))).toMatch(
      /^writes reach pg2 through VIP, keepalived on proxy1, proxy2 after /,
    );
    expect(out.at(-1)).toMatch(/^pg1 streams from pg2; switchover done/);
    // The VIP was probed, from the new leader (proxy1's own address too: it is reported, not skipped).
    expect(sim.probes.slice(probes)).toContain(`pg2: psql ${VIP}:5432`);
    expect(sim.probes.slice(probes)).toContain('pg2: psql 10.10.0.21:5432');
  });

  it('with every proxy up, no warning: both proxies reach the new leader as the VIP does', async () => {
    sim.down.delete('proxy1');
    const { result } = await printed((out) =>
      switchover(c.dir(), { candidate: 'pg1', force: true, writesTimeoutMs: 3000 }, out, c.seams()),
    );
    expect(result.warnings).toEqual([]);
    expect(result.endpoints).toEqual([`VIP, keepalived on proxy1, proxy2`, 'HAProxy on proxy1', 'HAProxy on proxy2']);
  });

  it('a proxy behind the VIP gets a grace once the VIP reaches the leader, not the whole timeout', async () => {
    sim.down.add('proxy2');
    const leader = sim.leader()!;
    const t0 = Date.now();
    const r = await withLive(c.dir(), (live) => waitWritesReachLeader(live, leader, t0, 30_000, 500), undefined, c.seams());
    sim.down.delete('proxy2');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.reached.map((x) => x.ep.via)).toEqual([`VIP, keepalived on proxy1, proxy2`, 'HAProxy on proxy1']);
    expect(r.missed.map((m) => [m.ep.host, m.ep.servedThrough])).toEqual([['proxy2', VIP]]);
  });

  it('a dead proxy causes no refusal, but data nodes that are not fine still do (exit 3), before any POST', async () => {
    sim.down.add('proxy2');
    const pg3 = sim.members.get('pg3')!;
    pg3.lag = 5 * 1024 * 1024;
    const calls = sim.calls.length;
    const err = await switchover(c.dir(), { candidate: 'pg3', force: true, writesTimeoutMs: 3000 }, () => undefined, c.seams()).then(
      () => undefined,
      (e: unknown) => e,
    );
    pg3.lag = 0;
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).message).toMatch(/refused/);
    expect(sim.calls.slice(calls)).toEqual([]);
    sim.down.delete('proxy2');
  });

  it('fails when writes through the VIP itself do not reach the new leader (both proxies down)', async () => {
    sim.down.add('proxy1');
    sim.down.add('proxy2');
    const leader = sim.leader();
    const candidate = leader === 'pg1' ? 'pg2' : 'pg1';
    const err = await switchover(c.dir(), { candidate, force: true, writesTimeoutMs: 1500 }, () => undefined, c.seams()).then(
      () => undefined,
      (e: unknown) => e,
    );
    sim.down.clear();
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toMatch(
      new RegExp(`timed out after 2 s waiting for writes through VIP, keepalived on proxy1, proxy2 to reach ${candidate}`),
    );
  });
});

describe('switchover with a proxy host down, no VIP (M1 + two HAProxy): each proxy is an entry point clients use', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { editConfig: withProxy2 });
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });

  it('fails, naming the dead proxy, once the leader has moved', async () => {
    sim.down.add('proxy2');
    const err = await switchover(c.dir(), { candidate: 'pg2', force: true, writesTimeoutMs: 1500 }, () => undefined, c.seams()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(sim.leader()).toBe('pg2');
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toMatch(/timed out after 2 s waiting for writes through HAProxy on proxy2 to reach pg2/);
  });
});
