/**
 * The verbs' sequencing without containers: the real `pgha switchover` and patronictl-like verbs
 * against the simulated cluster (./sim/cluster.ts), after the real deploy formed it. Each test
 * asserts which write calls reached Patroni, in which order and on which members (`sim.calls`,
 * refused ones included), and that a refusal sends none.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cancelScheduledSwitchover, switchover } from '../../src/app/switchover.js';
import { editConfig, failover, history, reinit, reload, restart, setPause } from '../../src/app/verbs/index.js';
import { RefusedError } from '../../src/errors.js';
import type { SimCluster } from './sim/cluster.js';
import { simulated } from './sim/setup.js';

describe('switchover and the verbs against a simulated cluster (M1 + HAProxy)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { bare: true });
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });

  /** Runs `fn`, returning the write calls it made, what they changed and what it printed. */
  async function calls(fn: (out: (l: string) => void) => Promise<unknown>): Promise<{ calls: string[]; log: string[]; out: string[] }> {
    const mark = { calls: sim.calls.length, log: sim.log.length };
    const out: string[] = [];
    await fn((l) => out.push(l));
    return { calls: sim.calls.slice(mark.calls), log: sim.log.slice(mark.log), out };
  }
  /** Runs `fn`, expecting a refusal; returns its reasons (or message) and the write calls made meanwhile. */
  async function refused(fn: (out: (l: string) => void) => Promise<unknown>): Promise<{ calls: string[]; why: string }> {
    const mark = sim.calls.length;
    const err = await fn(() => undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RefusedError);
    return { calls: sim.calls.slice(mark), why: (err as RefusedError).message };
  }
  const seams = () => c.seams();

  it('switchover: a lagging, a nofailover or a missing candidate is refused by the pre-checks before any POST', async () => {
    const pg3 = sim.members.get('pg3')!;
    pg3.lag = 5 * 1024 * 1024;
    let r = await refused((out) => switchover(c.dir(), { candidate: 'pg3', force: true }, out, seams()));
    expect(r.calls).toEqual([]);
    expect(r.why).toMatch(/pg3 lags 5242880 bytes behind the leader, more than maximum_lag_on_failover \(1048576\)/);
    pg3.lag = 0;
    pg3.nofailover = true;
    r = await refused((out) => switchover(c.dir(), { candidate: 'pg3', force: true }, out, seams()));
    expect(r.calls).toEqual([]);
    expect(r.why).toMatch(/pg3 carries the tag nofailover/);
    pg3.nofailover = false;
    r = await refused((out) => switchover(c.dir(), { candidate: 'pg1', force: true }, out, seams()));
    expect(r.calls).toEqual([]);
    expect(r.why).toMatch(/pg1 is the current leader already/);
    expect(sim.leader()).toBe('pg1');
  });

  it("switchover: POST /switchover from the leader's tunnel, then the candidate leads, writes through HAProxy reach it, the old leader streams", async () => {
    const probes = sim.probes.length;
    let report: Awaited<ReturnType<typeof switchover>> | undefined;
    const r = await calls(async (out) => (report = await switchover(c.dir(), { candidate: 'pg2', force: true }, out, seams())));
    expect(r.calls).toEqual(['pg1: POST /switchover {"leader":"pg1","candidate":"pg2"}']);
    expect(sim.leader()).toBe('pg2');
    expect(sim.members.get('pg1')!.role).toBe('replica');
    expect(report).toMatchObject({ from: 'pg1', to: 'pg2', endpoints: ['HAProxy on proxy1'] });
    // The write probe ran from the new leader through the proxy after the switch, until it landed there.
    expect(sim.probes.slice(probes).length).toBeGreaterThan(0);
    expect(sim.probes.slice(probes).every((p) => /^pg2: psql 10\.10\.0\.21:\d+$/.test(p))).toBe(true);
    expect(r.out.at(-1)).toMatch(/^pg1 streams from pg2; switchover done/);
    expect((await history(c.dir(), seams())).map((h) => [h.timeline, h.newLeader])).toEqual([[1, 'pg2']]);
  });

  it('restart: PostgreSQL through Patroni, replicas first by name, the leader last, each from its own tunnel', async () => {
    const r = await calls((out) => restart(c.dir(), { members: [], pending: false }, out, seams()));
    expect(r.calls).toEqual(['pg1: POST /restart', 'pg3: POST /restart', 'pg2: POST /restart']);
    // Each member streams again before the next goes down (the simulation notes a restart while another is still down).
    expect(r.log).toEqual(['pg1: restart PostgreSQL', 'pg3: restart PostgreSQL', 'pg2: restart PostgreSQL']);
    expect(r.out).toContain('pg2: restarting (leader, last)');
  });

  it('restart --pending: only members with a pending restart; --scheduled: Patroni is asked to restart each later, nothing now', async () => {
    sim.members.get('pg3')!.pending = true;
    let r = await calls((out) => restart(c.dir(), { members: [], pending: true }, out, seams()));
    expect(r.calls).toEqual(['pg3: POST /restart {"restart_pending":true}']);
    expect(r.out).toContain('no pending restart on pg1, pg2: left alone');
    expect(sim.members.get('pg3')!.pending).toBe(false);

    const at = '2030-01-01T03:00:00+00:00';
    const log = sim.log.length;
    r = await calls((out) => restart(c.dir(), { members: ['pg2', 'pg1'], pending: false, scheduled: at }, out, seams()));
    expect(r.calls).toEqual([`pg1: POST /restart {"schedule":"${at}"}`, `pg2: POST /restart {"schedule":"${at}"}`]);
    expect(r.out).toEqual([`pg1: restart scheduled at ${at}`, `pg2: restart scheduled at ${at}`]);
    expect(sim.log.slice(log)).toEqual([]);
  });

  it('edit-config then restart --pending: the PATCH through the leader, then every member restarted, the leader last', async () => {
    let r = await calls((out) => editConfig(c.dir(), { sets: [], params: ['max_connections=200'], force: true }, out, seams()));
    expect(r.calls).toEqual(['pg2: PATCH /config {"postgresql":{"parameters":{"max_connections":"200"}}}']);
    r = await calls((out) => restart(c.dir(), { members: [], pending: true }, out, seams()));
    expect(r.calls).toEqual([
      'pg1: POST /restart {"restart_pending":true}',
      'pg3: POST /restart {"restart_pending":true}',
      'pg2: POST /restart {"restart_pending":true}',
    ]);
  });

  it('reload: POST /reload on each named member, in the order named, or on every member', async () => {
    expect((await calls((out) => reload(c.dir(), ['pg3', 'pg1'], out, seams()))).calls).toEqual(['pg3: POST /reload', 'pg1: POST /reload']);
    expect((await calls((out) => reload(c.dir(), [], out, seams()))).calls).toEqual([
      'pg1: POST /reload',
      'pg2: POST /reload',
      'pg3: POST /reload',
    ]);
  });

  it('reinit: the leader is refused before any POST; a replica is reinitialized from its own tunnel and waited for', async () => {
    const no = await refused((out) => reinit(c.dir(), 'pg2', true, out, seams()));
    expect(no.calls).toEqual([]);
    expect(no.why).toMatch(/pg2 is the leader/);
    const r = await calls((out) => reinit(c.dir(), 'pg3', true, out, seams()));
    expect(r.calls).toEqual(['pg3: POST /reinitialize {"force":true}']);
    expect(r.out.at(-1)).toMatch(/^pg3: reinitialized and streaming after/);
    expect(sim.members.get('pg3')!.reinitializing).toBe(0);
  });

  it('pause and resume: one PATCH /config through the leader, waited for on every member; a paused cluster refuses a switchover', async () => {
    let r = await calls((out) => setPause(c.dir(), true, true, out, seams()));
    expect(r.calls).toEqual(['pg2: PATCH /config {"pause":true}']);
    expect(r.out.at(-1)).toBe('every member is paused');
    const no = await refused((out) => switchover(c.dir(), { candidate: 'pg1', force: true }, out, seams()));
    expect(no.calls).toEqual([]);
    expect(no.why).toMatch(/the cluster is paused/);
    // Pausing again changes nothing.
    expect((await calls((out) => setPause(c.dir(), true, true, out, seams()))).calls).toEqual([]);
    r = await calls((out) => setPause(c.dir(), false, true, out, seams()));
    expect(r.calls).toEqual(['pg2: PATCH /config {"pause":false}']);
    expect(sim.dcsConfig.pause).toBe(false);
  });

  it("failover: refused without --force while a healthy leader runs; with it, POST /failover from the candidate's own tunnel", async () => {
    const no = await refused((out) => failover(c.dir(), 'pg3', false, out, seams()));
    expect(no.calls).toEqual([]);
    expect(no.why).toMatch(/pg2 is a healthy leader/);
    const r = await calls((out) => failover(c.dir(), 'pg3', true, out, seams()));
    expect(r.calls).toEqual(['pg3: POST /failover {"candidate":"pg3"}']);
    expect(sim.leader()).toBe('pg3');
    expect(r.out.at(-1)).toMatch(/^pg3 leads after/);
  });

  it('switchover --scheduled: one POST with the time and nothing moves; another switchover is refused; --cancel deletes it once', async () => {
    const at = '2030-01-01T03:00:00+00:00';
    let r = await calls((out) => switchover(c.dir(), { candidate: 'pg1', scheduledAt: at, force: true }, out, seams()));
    expect(r.calls).toEqual([`pg3: POST /switchover {"leader":"pg3","candidate":"pg1","scheduled_at":"${at}"}`]);
    expect(r.out.at(-1)).toMatch(new RegExp(`^scheduled: Patroni switches over from pg3 to pg1 at ${at.replace(/\+/g, '\\+')}`));
    expect(sim.leader()).toBe('pg3');
    const no = await refused((out) => switchover(c.dir(), { candidate: 'pg2', force: true }, out, seams()));
    expect(no.calls).toEqual([]);
    expect(no.why).toMatch(/a switchover to pg1 is already scheduled/);
    r = await calls((out) => cancelScheduledSwitchover(c.dir(), out, seams()));
    expect(r.calls).toEqual(['pg3: DELETE /switchover']);
    const again = await refused((out) => cancelScheduledSwitchover(c.dir(), out, seams()));
    expect(again.calls).toEqual(['pg3: DELETE /switchover']);
    expect(again.why).toMatch(/no scheduled switchover to cancel/);
  });

  it('switchover under synchronous replication: a non-sync candidate refused before any POST; without a candidate, the sync standby', async () => {
    sim.dcsConfig = { ...sim.dcsConfig, synchronous_mode: true };
    try {
      const leader = sim.leader()!;
      // The synchronous standby is the first streaming replica by name.
      const [sync, other] = [...sim.members.keys()].filter((n) => n !== leader).sort();
      const r = await refused((out) => switchover(c.dir(), { candidate: other!, force: true }, out, seams()));
      expect(r.calls).toEqual([]);
      expect(r.why).toContain(
        `${other!} is not a synchronous standby, and with synchronous replication on Patroni promotes only one (synchronous standby: ${sync!})`,
      );
      const picked = await calls((out) => switchover(c.dir(), { force: true }, out, seams()));
      expect(picked.out[0]).toBe(`candidate: ${sync!} (the synchronous standby)`);
      expect(picked.calls).toEqual([`${leader}: POST /switchover {"leader":"${leader}","candidate":"${sync!}"}`]);
      expect(sim.leader()).toBe(sync);
    } finally {
      const { synchronous_mode: _, ...rest } = sim.dcsConfig;
      sim.dcsConfig = rest;
    }
  });
});
