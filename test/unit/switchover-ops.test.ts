/** How Patroni 3.0.2's answers to the write endpoints become outcomes, refusals (exit 3) and failures. */
import { describe, expect, it } from 'vitest';
import { RefusedError, RuntimeError } from '../../src/errors.js';
import type { PatroniClient } from '../../src/patroni/client.js';
import { cancelSwitchover, patchDcsConfig, postReinitialize, postRestart, postSwitchover } from '../../src/patroni/ops.js';
import type { HttpRequest, JsonResponse } from '../../src/transport/https.js';

function fake(status: number, body: unknown, seen: HttpRequest[] = []): PatroniClient {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    target: { host: 'pg1', ip: '10.0.0.11', port: 8008 },
    call: async (req: HttpRequest): Promise<JsonResponse> => {
      seen.push(req);
      return { status, headers: {}, body, text };
    },
  } as unknown as PatroniClient;
}

function broken(): PatroniClient {
  return {
    target: { host: 'pg1', ip: '10.0.0.11', port: 8008 },
    call: async () => {
      throw new RuntimeError('socket hang up');
    },
  } as unknown as PatroniClient;
}

describe('POST /switchover', () => {
  it('sends leader, candidate and the schedule', async () => {
    const seen: HttpRequest[] = [];
    await postSwitchover(fake(200, 'Successfully switched over to "pg2"', seen), {
      leader: 'pg1',
      candidate: 'pg2',
      scheduled_at: '2030-01-01T00:00:00Z',
    });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/switchover',
      body: { leader: 'pg1', candidate: 'pg2', scheduled_at: '2030-01-01T00:00:00Z' },
    });
  });
  it('maps 200, 202 and 503 "status unknown" to done, scheduled and keep polling', async () => {
    expect((await postSwitchover(fake(200, 'Successfully switched over to "pg2"'), { leader: 'pg1', candidate: 'pg2' })).kind).toBe('done');
    expect((await postSwitchover(fake(202, 'Switchover scheduled'), { leader: 'pg1', candidate: 'pg2' })).kind).toBe('scheduled');
    expect((await postSwitchover(fake(503, 'Switchover status unknown'), { leader: 'pg1', candidate: 'pg2' })).kind).toBe('unknown');
    // A connection that breaks mid-request may have carried it: the cluster decides.
    expect((await postSwitchover(broken(), { leader: 'pg1', candidate: 'pg2' })).kind).toBe('unknown');
  });
  it('turns 412 into a refusal with Patroni\'s reason and 503 "failed" into a failure', async () => {
    await expect(postSwitchover(fake(412, 'candidate does not exists'), { leader: 'pg1', candidate: 'pgx' })).rejects.toThrow(RefusedError);
    await expect(postSwitchover(fake(412, 'candidate does not exists'), { leader: 'pg1', candidate: 'pgx' })).rejects.toThrow(
      /candidate does not exists/,
    );
    const failed = postSwitchover(fake(503, 'Switchover failed'), { leader: 'pg1', candidate: 'pg2' });
    await expect(failed).rejects.toThrow(RuntimeError);
    await expect(postSwitchover(fake(503, 'Switchover failed'), { leader: 'pg1', candidate: 'pg2' })).rejects.not.toThrow(RefusedError);
  });
});

describe('other write endpoints', () => {
  it('DELETE /switchover: true when removed, false when none was scheduled', async () => {
    expect(await cancelSwitchover(fake(200, 'scheduled switchover deleted'))).toBe(true);
    expect(await cancelSwitchover(fake(404, 'no switchover is scheduled'))).toBe(false);
  });
  it('POST /restart: restarted, scheduled, or not needed with restart_pending', async () => {
    expect((await postRestart(fake(200, 'restarted successfully'), {})).kind).toBe('restarted');
    expect((await postRestart(fake(202, 'Restart scheduled'), { schedule: '2030-01-01T00:00:00Z' })).kind).toBe('scheduled');
    expect((await postRestart(fake(503, 'restart conditions are not satisfied'), { restart_pending: true })).kind).toBe('not-needed');
    await expect(postRestart(fake(503, 'restart failed'), {})).rejects.toThrow(RuntimeError);
  });
  it('POST /reinitialize on the leader is a refusal', async () => {
    await expect(postReinitialize(fake(503, 'I am the leader, can not reinitialize'), false)).rejects.toThrow(RefusedError);
  });
  it('PATCH /config returns the new document; a 409 race is a failure to retry', async () => {
    expect(await patchDcsConfig(fake(200, { pause: true }), { pause: true })).toEqual({ pause: true });
    await expect(patchDcsConfig(fake(409, ''), { pause: true })).rejects.toThrow(/run the command again/);
  });
});
