import { describe, expect, it } from 'vitest';
import { evaluateSwitchover, explainPatroniRefusal, type SwitchoverFacts } from '../../src/app/switchover.js';
import { RefusedError } from '../../src/errors.js';
import { maximumLagOnFailover, replicaLag as candidateLag } from '../../src/patroni/judge.js';
import type { ClusterInfo, ClusterMember } from '../../src/patroni/types.js';

const member = (name: string, role: string, state = 'running', extra: Partial<ClusterMember> = {}): ClusterMember => ({
  name,
  role,
  state,
  ...(role === 'leader' || role === 'master' ? {} : { lag: 0 }),
  ...extra,
});

const healthy = (): ClusterInfo => ({
  members: [member('pg1', 'leader'), member('pg2', 'replica'), member('pg3', 'replica', 'streaming')],
});

const facts = (over: Partial<SwitchoverFacts> = {}): SwitchoverFacts => ({
  candidate: 'pg2',
  configured: ['pg1', 'pg2', 'pg3'],
  info: healthy(),
  maxLag: 1048576,
  dcsLeader: 'pg1',
  ...over,
});

describe('switchover pre-checks', () => {
  it('accepts a running replica of a healthy cluster, and names the leader', () => {
    expect(evaluateSwitchover(facts())).toEqual({ leader: 'pg1', lag: 0, reasons: [] });
    // Patroni 4 says streaming where 3.0.2 says running.
    expect(evaluateSwitchover(facts({ candidate: 'pg3' })).reasons).toEqual([]);
  });

  it('refuses an unknown node, listing both where it is missing', () => {
    const r = evaluateSwitchover(facts({ candidate: 'pg9' }));
    expect(r.reasons).toHaveLength(2);
    expect(r.reasons[0]).toMatch(/pg9 is not a data node in config.yml \(data nodes: pg1, pg2, pg3\)/);
    expect(r.reasons[1]).toMatch(/pg9 is not a member of the running cluster/);
  });

  it('refuses the current leader', () => {
    expect(evaluateSwitchover(facts({ candidate: 'pg1' })).reasons).toEqual(['pg1 is the current leader already']);
  });

  it('refuses a replica that is not running, and one whose lag is unknown only when it claims to run', () => {
    const info = healthy();
    info.members[1] = member('pg2', 'replica', 'stopped', { lag: 'unknown' });
    expect(evaluateSwitchover(facts({ info })).reasons).toEqual(['pg2 is not a running replica (role replica, state stopped)']);
    info.members[1] = member('pg2', 'replica', 'running', { lag: 'unknown' });
    expect(evaluateSwitchover(facts({ info })).reasons).toEqual(['the replication lag of pg2 is unknown']);
  });

  it('refuses lag beyond maximum_lag_on_failover, from Patroni or measured live', () => {
    const info = healthy();
    info.members[1] = member('pg2', 'replica', 'running', { lag: 2_000_000 });
    expect(evaluateSwitchover(facts({ info })).reasons).toEqual([
      'pg2 lags 2000000 bytes behind the leader, more than maximum_lag_on_failover (1048576)',
    ]);
    // A stalled receiver: Patroni's figure (one loop old) still says 0.
    const stalled = evaluateSwitchover(
      facts({
        leaderStatus: { state: 'running', role: 'master', xlog: { location: 10_000_000 } },
        candidateStatus: {
          state: 'running',
          role: 'replica',
          xlog: { received_location: 7_000_000, replayed_location: 7_000_000, paused: false },
        },
      }),
    );
    expect(stalled.lag).toBe(3_000_000);
    expect(stalled.reasons).toEqual(['pg2 lags 3000000 bytes behind the leader, more than maximum_lag_on_failover (1048576)']);
    expect(evaluateSwitchover(facts({ maxLag: 5_000_000, info })).reasons).toEqual([]);
  });

  it('names paused WAL replay, and does not count segment padding after a WAL switch as lag', () => {
    const paused = evaluateSwitchover(
      facts({
        leaderStatus: { state: 'running', role: 'master', xlog: { location: 0x5000000 } },
        candidateStatus: {
          state: 'running',
          role: 'replica',
          xlog: { received_location: 0x5000000, replayed_location: 0x4000060, paused: true },
        },
      }),
    );
    expect(paused.lag).toBe(0);
    expect(paused.reasons).toEqual(['WAL replay is paused on pg2 (SELECT pg_wal_replay_resume() there)']);
    const idle = evaluateSwitchover(
      facts({
        leaderStatus: { state: 'running', role: 'master', xlog: { location: 0x4000000 } },
        candidateStatus: {
          state: 'running',
          role: 'replica',
          xlog: { received_location: 0x4000000, replayed_location: 0x3000148, paused: false },
        },
      }),
    );
    expect(idle.reasons).toEqual([]);
  });

  it('requires exactly one leader, accepting master (3.0.2) and primary (4.x)', () => {
    const none: ClusterInfo = { members: [member('pg2', 'replica'), member('pg3', 'replica')] };
    expect(evaluateSwitchover(facts({ info: none, dcsLeader: null })).reasons).toEqual([
      'the cluster has no leader',
      'etcd holds no leader key: nobody holds the leader lock',
    ]);
    const two: ClusterInfo = { members: [member('pg1', 'master'), member('pg2', 'replica'), member('pg3', 'primary')] };
    const r = evaluateSwitchover(facts({ info: two }));
    expect(r.leader).toBeUndefined();
    expect(r.reasons).toEqual(['the cluster has 2 leaders (pg1, pg3); exactly one is required']);
  });

  it('requires the DCS leader key to agree with the REST API', () => {
    expect(evaluateSwitchover(facts({ dcsLeader: 'pg3' })).reasons).toEqual(['etcd says the leader is pg3, the REST API says pg1']);
    expect(evaluateSwitchover(facts({ dcsLeader: { error: 'connection refused' } })).reasons).toEqual([
      'cannot read the leader key from etcd: connection refused',
    ]);
  });

  it('refuses a paused cluster, a scheduled switchover and a nofailover candidate', () => {
    const info = healthy();
    info.pause = true;
    info.scheduled_switchover = { at: '2030-01-01T00:00:00+00:00', from: 'pg1', to: 'pg3' };
    info.members[1] = member('pg2', 'replica', 'running', { tags: { nofailover: true } });
    expect(evaluateSwitchover(facts({ info })).reasons).toEqual([
      'pg2 carries the tag nofailover: Patroni will not promote it',
      'the cluster is paused (maintenance mode): run `pgha resume DIR` first',
      'a switchover to pg3 is already scheduled at 2030-01-01T00:00:00+00:00 (cancel it with `pgha switchover DIR --cancel`)',
    ]);
  });

  it('lists every failed check at once', () => {
    const info: ClusterInfo = { members: [member('pg1', 'leader'), member('pg2', 'replica', 'starting', { lag: 5_000_000 })], pause: true };
    expect(evaluateSwitchover(facts({ info, dcsLeader: 'pg3' })).reasons).toHaveLength(4);
  });
});

describe('lag and limits', () => {
  it("takes the live distance to what the candidate received, and Patroni's DCS figure only without it", () => {
    expect(candidateLag(100)).toBe(100);
    expect(candidateLag('unknown')).toBeUndefined();
    const leader = { state: 'running', role: 'master', xlog: { location: 500 } };
    expect(candidateLag(0, leader, { state: 'running', role: 'replica', xlog: { received_location: 200, replayed_location: 100 } })).toBe(
      300,
    );
    expect(candidateLag(0, leader, { state: 'running', role: 'replica', xlog: { received_location: 500, replayed_location: 100 } })).toBe(
      0,
    );
    // The DCS figure lags by up to loop_wait: a replica that has caught up since is not refused.
    expect(
      candidateLag(3_431_784, leader, { state: 'running', role: 'replica', xlog: { received_location: 500, replayed_location: 500 } }),
    ).toBe(0);
    expect(candidateLag(3_431_784, leader, undefined)).toBe(3_431_784);
    // A replica ahead of a stale leader reading is not negative lag.
    expect(
      candidateLag(
        undefined,
        { state: 'running', role: 'master', xlog: { location: 100 } },
        { state: 'running', role: 'replica', xlog: { replayed_location: 200 } },
      ),
    ).toBe(0);
  });

  it("reads maximum_lag_on_failover from the DCS config, with Patroni's default", () => {
    expect(maximumLagOnFailover({ maximum_lag_on_failover: 2048 })).toBe(2048);
    expect(maximumLagOnFailover({ maximum_lag_on_failover: '4096' })).toBe(4096);
    expect(maximumLagOnFailover({})).toBe(1048576);
    expect(maximumLagOnFailover({ maximum_lag_on_failover: null })).toBe(1048576);
  });
});

describe('switchover pre-checks under synchronous replication', () => {
  const syncInfo = (): ClusterInfo => ({
    members: [member('pg1', 'leader'), member('pg2', 'sync_standby'), member('pg3', 'replica', 'streaming')],
  });

  it('accepts the synchronous standby, and any replica while the mode is off', () => {
    expect(evaluateSwitchover(facts({ info: syncInfo(), synchronousMode: 'on' })).reasons).toEqual([]);
    expect(evaluateSwitchover(facts({ info: syncInfo(), candidate: 'pg3', synchronousMode: 'off' })).reasons).toEqual([]);
    expect(evaluateSwitchover(facts({ info: syncInfo(), candidate: 'pg3' })).reasons).toEqual([]);
  });

  it('refuses a replica that is not a synchronous standby, naming the synchronous standbys and the ways forward', () => {
    expect(evaluateSwitchover(facts({ info: syncInfo(), candidate: 'pg3', synchronousMode: 'strict' })).reasons).toEqual([
      'pg3 is not a synchronous standby, and with synchronous replication strict Patroni promotes only one (synchronous standby: pg2); switch over to pg2, or set patroni_synchronous_mode: off and run `pgha deploy DIR` first',
    ]);
    const none = healthy();
    expect(evaluateSwitchover(facts({ info: none, candidate: 'pg3', synchronousMode: 'on' })).reasons).toEqual([
      'pg3 is not a synchronous standby, and with synchronous replication on Patroni promotes only one; no member is one right now: wait until `pgha status DIR` shows a synchronous standby and switch over to it',
    ]);
  });

  it("says Patroni's own 412 in plain words, and passes other errors through", () => {
    const patroni = new RefusedError('POST /switchover: Patroni answered 412: candidate name does not match with sync_standby', []);
    const e = explainPatroniRefusal(patroni, 'pg3') as RefusedError;
    expect(e).toBeInstanceOf(RefusedError);
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/^switchover to pg3 refused by Patroni; nothing was changed: pg3 is not the synchronous standby now/);
    expect(e.reasons).toEqual(['POST /switchover: Patroni answered 412: candidate name does not match with sync_standby']);
    expect(e.hint).toMatch(/pgha status DIR/);
    const other = new RefusedError('POST /switchover: Patroni answered 412: candidate does not exists', []);
    expect(explainPatroniRefusal(other, 'pg3')).toBe(other);
  });
});
