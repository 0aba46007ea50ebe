import { describe, expect, it } from 'vitest';
import { etcdPreflight, quorumOf, type EtcdMemberView } from '../../src/plan/etcd-preflight.js';

const up = (name: string, extra: Partial<EtcdMemberView> = {}): EtcdMemberView => ({
  name,
  healthy: true,
  unitActive: 'active',
  reconfigured: false,
  ...extra,
});
const down = (name: string, extra: Partial<EtcdMemberView> = {}): EtcdMemberView => ({
  name,
  healthy: false,
  unitActive: 'inactive',
  error: 'connect ECONNREFUSED 10.0.0.13:2379',
  reconfigured: false,
  ...extra,
});
const opts = { clusterDir: 'clusters/main' };

describe('etcdPreflight', () => {
  it('quorum is a majority', () => {
    expect([1, 2, 3, 4, 5].map(quorumOf)).toEqual([1, 2, 2, 3, 3]);
  });

  it('all healthy: nothing to say, reconfiguration allowed', () => {
    const r = etcdPreflight(
      [up('pg1', { reconfigured: true }), up('pg2', { reconfigured: true }), up('pg3', { reconfigured: true })],
      opts,
    );
    expect(r).toEqual({ refusals: [], warnings: [], skipWait: [] });
  });

  it('none healthy (a cluster being formed): no judgement, deploy starts them together', () => {
    const r = etcdPreflight(
      [down('pg1', { reconfigured: true }), down('pg2', { reconfigured: true }), down('pg3', { reconfigured: true })],
      opts,
    );
    expect(r).toEqual({ refusals: [], warnings: [], skipWait: [] });
  });

  it('refuses to restart members for a new configuration when that would lose quorum, naming the member and the fix', () => {
    const r = etcdPreflight(
      [up('pg1', { reconfigured: true }), up('pg2', { reconfigured: true }), down('pg3', { reconfigured: true })],
      opts,
    );
    expect(r.refusals[0]).toBe('etcd member pg3 is down (etcd.service inactive; connect ECONNREFUSED 10.0.0.13:2379)');
    expect(r.refusals[1]).toMatch(
      /on pg1, pg2, pg3 and would restart etcd on pg1, pg2: with pg3 down, a restart leaves 1 of 3 members, below etcd's quorum of 2/,
    );
    expect(r.hint).toMatch(/^bring etcd back on pg3 first \(`systemctl start etcd` there/);
    expect(r.hint).toContain('pgha status clusters/main` shows 3/3');
  });

  it('refuses any etcd reconfiguration while a member is down, even with quorum to spare', () => {
    const r = etcdPreflight([up('e1', { reconfigured: true }), up('e2'), up('e3'), up('e4'), down('e5')], opts);
    expect(r.refusals).toHaveLength(2);
    expect(r.refusals[1]).toMatch(/needs every member healthy first/);
  });

  it('refuses to reconfigure the down member alone too', () => {
    const r = etcdPreflight([up('pg1'), up('pg2'), down('pg3', { reconfigured: true })], opts);
    expect(r.refusals.length).toBeGreaterThan(0);
  });

  it('no etcd change: warns; a stopped unit is started, a running but unhealthy one left alone and not waited for', () => {
    const r = etcdPreflight(
      [up('pg1'), down('pg2', { unitActive: 'active', error: 'GET /health answered 503' }), down('pg3', { unitActive: 'failed' })],
      opts,
    );
    expect(r.refusals).toEqual([]);
    expect(r.warnings).toEqual([
      'etcd member pg2 is down (etcd.service active; GET /health answered 503); 1 of 3 healthy, quorum 2 NOT kept; its unit is running, so deploy leaves it alone: look at `journalctl -u etcd` on pg2',
      'etcd member pg3 is down (etcd.service failed; connect ECONNREFUSED 10.0.0.13:2379); 1 of 3 healthy, quorum 2 NOT kept; deploy starts etcd.service on pg3 and waits for it to be healthy',
    ]);
    expect(r.skipWait).toEqual(['pg2']);
  });

  it('a member outside --hosts is reported and left alone', () => {
    const r = etcdPreflight([up('pg1'), up('pg2'), down('pg3', { unitActive: undefined })], opts);
    expect(r.warnings[0]).toMatch(
      /^etcd member pg3 is down \(connect ECONNREFUSED .*\); 2 of 3 healthy, quorum 2 kept; not among this deploy's hosts/,
    );
    expect(r.skipWait).toEqual(['pg3']);
  });
});
