/**
 * The live-cluster view: the judgments (src/patroni/judge.ts) on Patroni 3.0.2's captured
 * answers, and the reads (src/app/live/view.ts) against fake requesters: a member that is down
 * must not stop a read that another member can answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { etcdMembersHealth, isBack, readCluster, readMembers, tryReadCluster, type LiveSource } from '../../src/app/live/view.js';
import { RuntimeError } from '../../src/errors.js';
import type { ResolvedHost } from '../../src/model/types.js';
import { PatroniClient } from '../../src/patroni/client.js';
import {
  allBack,
  clusterHealthy,
  clusterProblems,
  DEFAULT_MAXIMUM_LAG_ON_FAILOVER,
  isHealthyReplica,
  isStreamingReplica,
  leaderOf,
  leadersOf,
  liveLag,
  maximumLagOnFailover,
  pickCandidate,
  preferredAnswer,
  replicaLag,
  streamsTo,
  upstreamOf,
} from '../../src/patroni/judge.js';
import type { ClusterInfo, ClusterMember, PatroniNodeStatus } from '../../src/patroni/types.js';
import type { HttpRequest, JsonResponse, Requester } from '../../src/transport/https.js';

const FIX = join(import.meta.dirname, '../fixtures/patroni-3.0.2');
const bodyOf = <T>(id: string): T =>
  JSON.parse((JSON.parse(readFileSync(join(FIX, `${id}.json`), 'utf8')) as { response: { body: string } }).response.body) as T;

const member = (over: Partial<ClusterMember>): ClusterMember => ({ name: 'pg2', role: 'replica', state: 'streaming', lag: 0, ...over });
const cluster = (...members: ClusterMember[]): ClusterInfo => ({ members });
const leader = member({ name: 'pg1', role: 'leader', state: 'running', lag: undefined });

describe('judge', () => {
  it('the leader: 3.0.2 says leader in /cluster; one leader, or several in a split brain', () => {
    const info = bodyOf<ClusterInfo>('get-cluster.leader');
    expect(leaderOf(info)?.name).toBe('pg1');
    expect(leadersOf(info).map((m) => m.name)).toEqual(['pg1']);
    expect(leadersOf(cluster(leader, member({ name: 'pg2', role: 'standby_leader' })))).toHaveLength(2);
    expect(leaderOf(cluster(member({})))).toBeUndefined();
  });

  it('a healthy replica: streaming (4.x) or running (3.0.x), a numeric lag, at most maximum_lag_on_failover', () => {
    const max = DEFAULT_MAXIMUM_LAG_ON_FAILOVER;
    expect(max).toBe(1_048_576);
    expect(isHealthyReplica(member({ lag: max }), max)).toBe(true);
    expect(isHealthyReplica(member({ lag: max + 1 }), max)).toBe(false);
    expect(isHealthyReplica(member({ state: 'running', lag: 0 }), max)).toBe(true);
    expect(isHealthyReplica(member({ lag: 'unknown' }), max)).toBe(false);
    expect(isHealthyReplica(member({ state: 'starting' }), max)).toBe(false);
    expect(isHealthyReplica(leader, max)).toBe(false);
    expect(isStreamingReplica(member({ lag: max * 100 }))).toBe(true);
  });

  it('lag: the live positions win over the DCS figure, which is stale by up to loop_wait', () => {
    const primary: PatroniNodeStatus = { state: 'running', role: 'master', xlog: { location: 50_000_000 } };
    const caughtUp: PatroniNodeStatus = {
      state: 'running',
      role: 'replica',
      xlog: { received_location: 50_000_000, replayed_location: 33_000_000 },
    };
    // The DCS still says 16 MiB behind (a WAL segment switch a heartbeat ago); the members say 0.
    expect(replicaLag(16_777_216, primary, caughtUp)).toBe(0);
    expect(liveLag(primary, { state: 'running', role: 'replica', xlog: { replayed_location: 49_000_000 } })).toBe(1_000_000);
    // Without a live reading, the DCS's figure; without either, unknown.
    expect(replicaLag(16_777_216, primary, undefined)).toBe(16_777_216);
    expect(replicaLag('unknown', undefined, caughtUp)).toBeUndefined();
    expect(streamsTo(bodyOf<PatroniNodeStatus>('get-patroni.leader'), 'pg2')).toBe(true);
    expect(streamsTo(bodyOf<PatroniNodeStatus>('get-patroni.leader'), 'pg9')).toBe(false);
  });

  it('upstreamOf: the replicatefrom tag when it names another member that does not lead', () => {
    const info = bodyOf<ClusterInfo>('get-cluster.leader');
    expect(upstreamOf(info, 'pg3')).toBeUndefined();
    info.members[2]!.tags = { replicatefrom: 'pg2' };
    expect(upstreamOf(info, 'pg3')).toBe('pg2');
    for (const tag of ['pg1', 'pg3', 'pg9', 7]) {
      info.members[2]!.tags = { replicatefrom: tag };
      expect(upstreamOf(info, 'pg3')).toBeUndefined();
    }
  });

  it("maximum_lag_on_failover from the DCS document, in Patroni's units, with Patroni's default", () => {
    expect(maximumLagOnFailover({ maximum_lag_on_failover: 2048 })).toBe(2048);
    expect(maximumLagOnFailover({ maximum_lag_on_failover: '16MB' })).toBe(16 * 1_048_576);
    expect(maximumLagOnFailover({ maximum_lag_on_failover: -1 })).toBe(DEFAULT_MAXIMUM_LAG_ON_FAILOVER);
    expect(maximumLagOnFailover(undefined)).toBe(DEFAULT_MAXIMUM_LAG_ON_FAILOVER);
  });

  it('cluster healthy: every reason listed, none for the captured healthy cluster', () => {
    const etcd = [{ host: 'pg1', healthy: true }];
    const info = bodyOf<ClusterInfo>('get-cluster.leader');
    expect(clusterHealthy({ members: ['pg1', 'pg2', 'pg3'], info, etcd })).toBe(true);
    expect(clusterHealthy({ members: ['pg1', 'pg2', 'pg3'], info: bodyOf<ClusterInfo>('get-cluster.paused'), etcd })).toBe(false);
    expect(
      clusterProblems({
        members: ['pg1', 'pg2', 'pg3'],
        info: cluster(leader, member({ lag: 'unknown' }), member({ name: 'pgx' })),
        etcd: [{ host: 'e1', healthy: false, detail: 'GET /health: 503' }],
      }),
    ).toEqual([
      'etcd on e1 is not healthy (GET /health: 503)',
      'pg2 reports lag "unknown": not streaming',
      'pg3 is not a member of the cluster (Patroni not running there?)',
      'pgx is a member but not in config.yml',
    ]);
    expect(clusterProblems({ members: ['pg1'], info: undefined, etcd: [] })).toEqual(['no Patroni member answers GET /cluster']);
  });

  it('every member back, replicas within a lag limit when given', () => {
    const info = cluster(leader, member({ lag: 5000 }));
    expect(allBack(info, ['pg1', 'pg2'])).toBe(true);
    expect(allBack(info, ['pg1', 'pg2'], 4999)).toBe(false);
    expect(allBack(cluster({ ...leader, state: 'starting' }, member({})), ['pg2'])).toBe(false);
  });

  it('switchover candidate: a healthy replica without nofailover, an upgraded one first, least lag next', () => {
    const info = cluster(
      leader,
      member({ name: 'pg2', lag: 10 }),
      member({ name: 'pg3', lag: 0 }),
      member({ name: 'pg4', lag: 0, tags: { nofailover: true } }),
    );
    expect(pickCandidate(info, 'pg1')).toBe('pg3');
    expect(pickCandidate(info, 'pg1', new Set(['pg2']))).toBe('pg2');
    expect(pickCandidate(cluster(leader, member({ lag: 'unknown' })), 'pg1')).toBeUndefined();
  });

  it('switchover candidate under synchronous replication: only a synchronous standby, even against an upgraded replica', () => {
    const info = cluster(leader, member({ name: 'pg2', lag: 10, role: 'sync_standby' }), member({ name: 'pg3', lag: 0 }));
    expect(pickCandidate(info, 'pg1')).toBe('pg2');
    expect(pickCandidate(info, 'pg1', new Set(['pg3']))).toBe('pg2');
    // A synchronous standby that does not stream is no candidate; the others are then.
    const stale = cluster(leader, member({ name: 'pg2', lag: 'unknown', role: 'sync_standby' }), member({ name: 'pg3', lag: 0 }));
    expect(pickCandidate(stale, 'pg1')).toBe('pg3');
  });

  it("the answer to build on: the leader's own, else the first", () => {
    const info = bodyOf<ClusterInfo>('get-cluster.leader');
    expect(
      preferredAnswer([
        { name: 'pg3', info },
        { name: 'pg1', info },
      ])?.name,
    ).toBe('pg1');
    expect(preferredAnswer([{ name: 'pg2' }, { name: 'pg3', info }])?.name).toBe('pg3');
    expect(preferredAnswer([{ name: 'pg2' }])).toBeUndefined();
  });
});

/** A requester that answers from a table, or fails like a member that is down. */
function fakeRequester(answers: Record<string, unknown> | 'down', seen: string[], who: string): Requester {
  return {
    async request(req: HttpRequest): Promise<JsonResponse> {
      seen.push(`${who} ${req.method} ${req.path}`);
      if (answers === 'down') throw new Error('connect ECONNREFUSED');
      const body = answers[req.path];
      if (body === undefined) return { status: 404, headers: {}, body: 'not found', text: 'not found' };
      return { status: 200, headers: {}, body, text: JSON.stringify(body) };
    },
    async close() {},
  };
}

function fakeSource(members: Record<string, Record<string, unknown> | 'down'>, seen: string[]): LiveSource {
  return {
    patroni: (name) =>
      new PatroniClient({ host: name, ip: '192.0.2.1', port: 8008 }, { tls: { ca: '' }, ssl: true }, undefined, {
        requester: fakeRequester(members[name] ?? 'down', seen, name),
      }),
    etcdHttp: (name) => fakeRequester(members[name] ?? 'down', seen, name),
  };
}

describe('view: reads with fallback across members', () => {
  const info = bodyOf<ClusterInfo>('get-cluster.leader');

  it('the first member down: the second answers GET /cluster, the third is not asked', async () => {
    const seen: string[] = [];
    const src = fakeSource({ pg1: 'down', pg2: { '/cluster': info }, pg3: { '/cluster': info } }, seen);
    expect(leaderOf(await readCluster(src, ['pg1', 'pg2', 'pg3']))?.name).toBe('pg1');
    expect(seen).toEqual(['pg1 GET /cluster', 'pg2 GET /cluster']);
  });

  it('no member answers: one error naming every member, or undefined for waits', async () => {
    const src = fakeSource({}, []);
    const e = (await readCluster(src, ['pg1', 'pg2']).catch((x: unknown) => x)) as RuntimeError;
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.message).toMatch(/^no data node answered GET \/cluster:\n {2}- .*ECONNREFUSED\n {2}- .*ECONNREFUSED$/);
    expect(await tryReadCluster(src, ['pg1', 'pg2'])).toBeUndefined();
  });

  it('an answer without members is taken only when no member lists any', async () => {
    const src = fakeSource({ pg1: { '/cluster': { members: [] } }, pg2: { '/cluster': info } }, []);
    expect((await readCluster(src, ['pg1', 'pg2'])).members).toHaveLength(3);
    const empty = fakeSource({ pg1: { '/cluster': { members: [] } } }, []);
    expect((await readCluster(empty, ['pg1'])).members).toEqual([]);
    expect(await tryReadCluster(empty, ['pg1'])).toBeUndefined();
  });

  it('per member: /cluster and /patroni, or why it did not answer', async () => {
    const node = bodyOf<PatroniNodeStatus>('get-patroni.leader');
    const reads = await readMembers(fakeSource({ pg1: { '/cluster': info, '/patroni': node }, pg2: 'down' }, []), ['pg1', 'pg2']);
    expect(reads[0]).toMatchObject({ name: 'pg1', info, node });
    expect(reads[1]).toEqual({ name: 'pg2', error: expect.stringContaining('ECONNREFUSED') as unknown });
  });

  it("etcd health: GET /health's verdict, and why a member is not healthy", async () => {
    const hosts = ['e1', 'e2', 'e3'].map((name) => ({ name }) as ResolvedHost);
    const src = fakeSource({ e1: { '/health': { health: 'true' } }, e2: { '/health': { health: 'false' } }, e3: 'down' }, []);
    const r = await etcdMembersHealth(src, hosts);
    expect(r[0]).toEqual({ host: 'e1', healthy: true });
    expect(r[1]).toEqual({ host: 'e2', healthy: false, detail: 'GET /health: 200' });
    expect(r[2]).toMatchObject({ host: 'e3', healthy: false });
  });

  it("a member is back when the DCS, its own /patroni and the leader's WAL senders agree", async () => {
    const leaderNode = bodyOf<PatroniNodeStatus>('get-patroni.leader');
    const replicaNode = bodyOf<PatroniNodeStatus>('get-patroni.replica');
    const members = ['pg1', 'pg2', 'pg3'];
    const up = fakeSource({ pg1: { '/cluster': info, '/patroni': leaderNode }, pg2: { '/cluster': info, '/patroni': replicaNode } }, []);
    expect(await isBack(up, members, 'pg2')).toBe(true);
    expect(await isBack(up, members, 'pg1')).toBe(true);
    expect(await isBack(up, members, 'pg1', { asReplica: true })).toBe(false);
    // The leader does not (yet) stream to it: not back, whatever the DCS says.
    const noSender = fakeSource(
      { pg1: { '/cluster': info, '/patroni': { ...leaderNode, replication: [] } }, pg2: { '/patroni': replicaNode } },
      [],
    );
    expect(await isBack(noSender, members, 'pg2')).toBe(false);
    const paused = fakeSource(
      { pg1: { '/cluster': { ...info, pause: true }, '/patroni': leaderNode }, pg2: { '/patroni': replicaNode } },
      [],
    );
    expect(await isBack(paused, members, 'pg2')).toBe(true);
    expect(await isBack(paused, members, 'pg2', { asReplica: true })).toBe(false);
  });

  it('a cascading replica is back when its upstream streams to it, the leader not', async () => {
    const leaderNode = {
      ...bodyOf<PatroniNodeStatus>('get-patroni.leader'),
      replication: [
        { usename: 'replicator', application_name: 'pg2', client_addr: '10.233.1.12', state: 'streaming', sync_state: 'async' },
      ],
    };
    const replicaNode = bodyOf<PatroniNodeStatus>('get-patroni.replica');
    const tagged = structuredClone(info);
    tagged.members[2]!.tags = { replicatefrom: 'pg2' };
    const members = ['pg1', 'pg2', 'pg3'];
    const relay = (replication: PatroniNodeStatus['replication']) =>
      fakeSource(
        {
          pg1: { '/cluster': tagged, '/patroni': leaderNode },
          pg2: { '/patroni': { ...replicaNode, replication } },
          pg3: { '/patroni': replicaNode },
        },
        [],
      );
    expect(
      await isBack(
        relay([{ usename: 'replicator', application_name: 'pg3', client_addr: '10.233.1.13', state: 'streaming', sync_state: 'async' }]),
        members,
        'pg3',
      ),
    ).toBe(true);
    expect(await isBack(relay([]), members, 'pg3')).toBe(false);
  });
});
