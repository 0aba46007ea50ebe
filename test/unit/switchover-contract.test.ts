/**
 * pgha's switchover and verb calls against answers captured from a real Patroni 3.0.2
 * (test/fixtures/patroni-3.0.2): outcome mapping, pre-checks and history parsing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateSwitchover } from '../../src/app/switchover.js';
import { replicaLag as candidateLag } from '../../src/patroni/judge.js';
import { RefusedError, RuntimeError } from '../../src/errors.js';
import type { PatroniClient } from '../../src/patroni/client.js';
import {
  cancelSwitchover,
  parseHistory,
  patchDcsConfig,
  postFailover,
  postReinitialize,
  postReload,
  postRestart,
  postSwitchover,
} from '../../src/patroni/ops.js';
import type { ClusterInfo, PatroniNodeStatus } from '../../src/patroni/types.js';
import type { JsonResponse } from '../../src/transport/https.js';

const DIR = join(import.meta.dirname, '../fixtures/patroni-3.0.2');

interface Fixture {
  request: { method: string; path: string; body?: unknown };
  response: { status: number; headers: Record<string, string>; body: unknown };
}

function load(name: string): Fixture {
  return JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Fixture;
}

function responseOf(f: Fixture): JsonResponse {
  const raw = f.response.body;
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  let body: unknown = raw;
  if (typeof raw === 'string' && /json/.test(f.response.headers['content-type'] ?? '')) body = JSON.parse(raw);
  return { status: f.response.status, headers: f.response.headers, body, text };
}

const replay = (name: string): PatroniClient =>
  ({ target: { host: 'pg1', ip: '10.0.0.11', port: 8008 }, call: async () => responseOf(load(name)) }) as unknown as PatroniClient;
const bodyOf = <T>(name: string) => responseOf(load(name)).body as T;

describe('Patroni 3.0.2 write endpoints', () => {
  const sw = { leader: 'pg1', candidate: 'pg2' };
  it('POST /switchover', async () => {
    expect((await postSwitchover(replay('post-switchover.200'), sw)).kind).toBe('done');
    expect((await postSwitchover(replay('post-switchover.202'), sw)).kind).toBe('scheduled');
    expect((await postSwitchover(replay('post-switchover.503-status-unknown'), sw)).kind).toBe('unknown');
    for (const refused of ['post-switchover.400', 'post-switchover.412-candidate', 'post-switchover.412-leader', 'post-switchover.422']) {
      await expect(postSwitchover(replay(refused), sw), refused).rejects.toThrow(RefusedError);
    }
    const failed = await postSwitchover(replay('post-switchover.503-failed'), sw).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(RuntimeError);
    expect(failed).not.toBeInstanceOf(RefusedError);
  });
  it('DELETE /switchover', async () => {
    expect(await cancelSwitchover(replay('delete-switchover.200'))).toBe(true);
    expect(await cancelSwitchover(replay('delete-switchover.404'))).toBe(false);
  });
  it('POST /restart, /reload, /reinitialize, /failover and PATCH /config', async () => {
    expect((await postRestart(replay('post-restart.200'), {})).kind).toBe('restarted');
    expect((await postRestart(replay('post-restart.202'), { schedule: '2030-01-01T00:00:00Z' })).kind).toBe('scheduled');
    for (const refused of ['post-restart.400', 'post-restart.409', 'post-restart.422']) {
      await expect(postRestart(replay(refused), {}), refused).rejects.toThrow(RefusedError);
    }
    expect(await postReload(replay('post-reload.202'))).toMatch(/reload scheduled/);
    await expect(postReload(replay('post-reload.403'))).rejects.toThrow(RefusedError);
    expect(await postReinitialize(replay('post-reinitialize.200'), false)).toMatch(/reinitialize started/);
    await expect(postReinitialize(replay('post-reinitialize.503'), false)).rejects.toThrow(RefusedError);
    expect((await postFailover(replay('post-failover.200'), { candidate: 'pg2' })).kind).toBe('done');
    await expect(postFailover(replay('post-failover.412'), { candidate: 'pg2' })).rejects.toThrow(RefusedError);
    expect(await patchDcsConfig(replay('patch-config.pause'), { pause: true })).toMatchObject({ pause: true });
  });
});

describe('Patroni 3.0.2 reads', () => {
  it('GET /history', () => {
    const h = parseHistory(bodyOf('get-history.switched'));
    expect(h[0]).toMatchObject({ timeline: 1, reason: 'no recovery target specified', newLeader: 'pg2' });
  });
  it('GET /cluster of a healthy cluster passes the pre-checks; scheduled and paused ones do not', () => {
    const facts = (info: ClusterInfo) => ({ candidate: 'pg2', configured: ['pg1', 'pg2', 'pg3'], info, maxLag: 1048576, dcsLeader: 'pg1' });
    expect(evaluateSwitchover(facts(bodyOf<ClusterInfo>('get-cluster.leader'))).reasons).toEqual([]);
    expect(evaluateSwitchover(facts(bodyOf<ClusterInfo>('get-cluster.scheduled-switchover'))).reasons.join('\n')).toMatch(
      /already scheduled at 2026-11-22T08:31:04\+00:00/,
    );
    expect(evaluateSwitchover(facts(bodyOf<ClusterInfo>('get-cluster.paused'))).reasons.join('\n')).toMatch(/paused/);
  });
  it('GET /patroni of a leader and a replica gives the replay lag', () => {
    const leader = bodyOf<PatroniNodeStatus>('get-patroni.leader');
    const replica = bodyOf<PatroniNodeStatus>('get-patroni.replica');
    expect(typeof leader.xlog?.location).toBe('number');
    expect(candidateLag(0, leader, replica)).toBeGreaterThanOrEqual(0);
  });
});
