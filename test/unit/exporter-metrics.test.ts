/**
 * Contract tests of the exporter's pure core against Patroni 3.0.2's and 4.0.7's recorded answers
 * (test/fixtures/patroni-<version>): which answers are a Patroni status (the replica's 503 among
 * them), and the metric families each yields, read back through the strict text reader.
 */
import { describe, expect, it } from 'vitest';
import { judgeAnswer, metricsPage, type Scrape } from '../../src/app/exporter/answer.js';
import { epochSeconds, identify, patroniFamilies } from '../../src/app/exporter/patroni-metrics.js';
import { recorded } from './exporter-fake-patroni.js';
import { parseExposition, sampleOf, type ParsedPage } from './exporter-text.js';

/**
 * Patroni 4.0's /patroni on a streaming replica with failsafe mode on, written for these tests (the
 * 4.0.7 capture below runs without it): 3.0.2's replica answer with the keys 4.0 adds — `patroni.name`, `replication_state`,
 * `failsafe_mode_is_active` (when failsafe mode is on) — and 4.0's spelling of a running replica.
 */
const PATRONI_4_REPLICA = JSON.stringify({
  state: 'running',
  postmaster_start_time: '2026-12-01T10:00:00.000001+00:00',
  role: 'replica',
  server_version: 170012,
  xlog: { received_location: 50331648, replayed_location: 50331000, replayed_timestamp: null, paused: false },
  timeline: 2,
  replication_state: 'streaming',
  failsafe_mode_is_active: false,
  dcs_last_seen: 1795400000,
  database_system_identifier: '7710863569231977999',
  patroni: { version: '4.0.7', scope: 'demo', name: 'pg2' },
});

function page(status: number, text: string, member = 'pg-url-host'): ParsedPage {
  const judged = judgeAnswer(status, text);
  const s: Scrape = judged.ok ? { ...judged, durationSeconds: 0.012 } : { ...judged, durationSeconds: 0.5 };
  return parseExposition(metricsPage(s, member));
}

const value = (p: ParsedPage, name: string, labels: Record<string, string> = {}) => sampleOf(p, name, labels)?.value;

describe('judgeAnswer: which answers are a Patroni status', () => {
  it('the leader and a replica answering 200', () => {
    for (const f of ['get-patroni.leader', 'get-patroni.replica', 'get-patroni.reinitializing']) {
      const r = recorded(f);
      expect(judgeAnswer(r.status, r.text).ok, f).toBe(true);
    }
  });

  it("a replica's 503 with its status (the replica quirk) is an answer, not a failure", () => {
    const r = recorded('get-primary.replica');
    expect(r.status).toBe(503);
    const j = judgeAnswer(r.status, r.text);
    expect(j.ok && j.body.role).toBe('replica');
  });

  it('503 with a status when PostgreSQL is not running is an answer too', () => {
    expect(judgeAnswer(503, JSON.stringify({ state: 'stopped', role: 'replica', patroni: { version: '3.0.2', scope: 'x' } })).ok).toBe(
      true,
    );
  });

  it('anything that is not a Patroni status is a failure with a reason', () => {
    expect(judgeAnswer(503, 'Service Unavailable')).toEqual({
      ok: false,
      reason: expect.stringMatching(/HTTP 503 without a Patroni status/),
    });
    expect(judgeAnswer(200, '[]').ok).toBe(false);
    expect(judgeAnswer(200, '{"other": true}').ok).toBe(false);
    const unauthorized = recorded('post-reload.401');
    expect(judgeAnswer(unauthorized.status, unauthorized.text)).toEqual({ ok: false, reason: 'HTTP 401' });
    expect(judgeAnswer(404, '{"role": "replica"}')).toEqual({ ok: false, reason: 'HTTP 404' });
  });
});

describe('metrics of the leader (3.0.2)', () => {
  const r = recorded('get-patroni.leader');
  const p = page(r.status, r.text, 'pg1');
  const id = { scope: 'e2estat', member: 'pg1' };

  it('role, state and version on the info metric, as patroni-exporter labels them', () => {
    expect(sampleOf(p, 'patroni_patroni_info')?.labels).toEqual({ ...id, role: 'master', state: 'running', version: '3.0.2' });
    expect(sampleOf(p, 'patroni_patroni_info')?.value).toBe(1);
    expect(sampleOf(p, 'patroni_postgresql_info')?.labels).toEqual({
      ...id,
      server_version: '150020',
      database_system_identifier: '7710863569231977321',
    });
  });

  it('timeline, WAL position, versions, DCS and flags', () => {
    expect(value(p, 'patroni_postgresql_timeline', id)).toBe(1);
    expect(value(p, 'patroni_xlog_location', id)).toBe(67381760);
    expect(value(p, 'patroni_postgresql_server_version')).toBe(150020);
    expect(value(p, 'patroni_dcs_last_seen')).toBe(1795325457);
    expect(value(p, 'patroni_postgresql_postmaster_start_time')).toBe(1795325332.2504);
    expect(value(p, 'patroni_postgresql_pending_restart')).toBe(0);
    expect(value(p, 'patroni_patroni_pause')).toBe(0);
    expect(value(p, 'patroni_patroni_cluster_unlocked')).toBe(0);
    // A leader has no received/replayed positions: no sample rather than a misleading zero.
    expect(sampleOf(p, 'patroni_xlog_received_location')).toBeUndefined();
    expect(sampleOf(p, 'patroni_failsafe_mode_is_active')).toBeUndefined();
  });

  it('one replication_info sample per walsender', () => {
    const ws = p.samples.filter((s) => s.name === 'patroni_replication_info');
    expect(ws.map((s) => s.labels.application_name).sort()).toEqual(['pg2', 'pg3']);
    expect(ws[0]!.labels).toMatchObject({ ...id, usename: 'replicator', state: 'streaming', sync_state: 'async', sync_priority: '0' });
  });

  it('ends with a successful scrape and its duration', () => {
    expect(value(p, 'patroni_exporter_scrape_success')).toBe(1);
    expect(value(p, 'patroni_exporter_scrape_duration_seconds')).toBe(0.012);
  });

  it('every sample has its family declared, every family a TYPE', () => {
    for (const s of p.samples) expect(p.type.get(s.name), s.name).toBe('gauge');
    for (const name of p.help.keys())
      expect(
        p.samples.some((s) => s.name === name),
        name,
      ).toBe(true);
  });
});

describe('metrics of a replica (3.0.2)', () => {
  it('the same metrics whether it answered 200 (/patroni) or 503 (its health endpoints)', () => {
    const ok = recorded('get-patroni.replica');
    const quirk = recorded('get-primary.replica');
    const a = page(ok.status, ok.text, 'pg2');
    const b = page(quirk.status, quirk.text, 'pg2');
    const strip = (x: ParsedPage) => x.samples.filter((s) => !s.name.startsWith('patroni_exporter_'));
    expect(strip(b)).toEqual(strip(a));
    expect(value(b, 'patroni_exporter_scrape_success')).toBe(1);
    expect(sampleOf(b, 'patroni_patroni_info')?.labels.role).toBe('replica');
    expect(value(b, 'patroni_xlog_received_location')).toBe(67381760);
    expect(value(b, 'patroni_xlog_replayed_location')).toBe(67381760);
    expect(value(b, 'patroni_xlog_replay_lag_bytes')).toBe(0);
    expect(value(b, 'patroni_xlog_paused')).toBe(0);
    expect(value(b, 'patroni_xlog_replayed_timestamp')).toBe(1795325422.506782);
  });

  it('a null timeline and a null replayed_timestamp give no sample', () => {
    const r = recorded('get-patroni.old-leader');
    const p = page(r.status, r.text);
    expect(sampleOf(p, 'patroni_postgresql_timeline')).toBeUndefined();
    expect(sampleOf(p, 'patroni_xlog_replayed_timestamp')).toBeUndefined();
    expect(p.help.has('patroni_postgresql_timeline')).toBe(false);
  });

  it('a member being rebuilt (no PostgreSQL) still says who and what it is', () => {
    const r = recorded('get-patroni.reinitializing');
    const p = page(r.status, r.text, 'pg3');
    expect(sampleOf(p, 'patroni_patroni_info')?.labels).toEqual({
      scope: 'e2estat',
      member: 'pg3',
      role: 'uninitialized',
      state: 'creating replica',
      version: '3.0.2',
    });
    expect(sampleOf(p, 'patroni_postgresql_info')).toBeUndefined();
    expect(sampleOf(p, 'patroni_xlog_location')).toBeUndefined();
  });

  it('pause is 1 in maintenance mode', () => {
    const r = recorded('get-patroni.paused');
    expect(value(page(r.status, r.text), 'patroni_patroni_pause')).toBe(1);
  });
});

describe('Patroni 4 shapes', () => {
  const p = page(200, PATRONI_4_REPLICA, 'url-host');

  it("names the member by 4.x's patroni.name rather than the URL's host", () => {
    expect(identify(JSON.parse(PATRONI_4_REPLICA) as Record<string, unknown>, 'url-host')).toEqual({ scope: 'demo', member: 'pg2' });
    expect(sampleOf(p, 'patroni_patroni_info')?.labels).toMatchObject({ member: 'pg2', version: '4.0.7' });
  });

  it('exports failsafe where present, and the replay lag', () => {
    expect(value(p, 'patroni_failsafe_mode_is_active')).toBe(0);
    expect(value(p, 'patroni_xlog_replay_lag_bytes')).toBe(648);
    expect(value(p, 'patroni_postgresql_timeline')).toBe(2);
    expect(value(p, 'patroni_postgresql_postmaster_start_time')).toBe(Date.UTC(2026, 11, 1, 10) / 1000 + 0.000001);
  });
});

describe('recorded answers of Patroni 4.0.7 (Debian 13)', () => {
  const rec = (name: string) => recorded(name, '4.0.7');

  it('the leader: role primary, its version and walsenders', () => {
    const r = rec('get-patroni.leader');
    const p = page(r.status, r.text, 'url-host');
    expect(sampleOf(p, 'patroni_patroni_info')?.labels).toMatchObject({ role: 'primary', version: '4.0.7', member: 'pg1' });
    expect(value(p, 'patroni_xlog_location')).toBeGreaterThan(0);
    expect(p.samples.filter((x) => x.name === 'patroni_replication_info')).toHaveLength(2);
  });

  it("a replica's 503 from /primary is its status, the same as its 200 from /patroni", () => {
    const quirk = rec('get-primary.replica');
    expect(quirk.status).toBe(503);
    expect(judgeAnswer(quirk.status, quirk.text).ok).toBe(true);
    const a = page(quirk.status, quirk.text);
    const ok = rec('get-patroni.replica');
    const b = page(ok.status, ok.text);
    for (const p of [a, b]) {
      expect(sampleOf(p, 'patroni_patroni_info')?.labels).toMatchObject({ role: 'replica', state: 'running', version: '4.0.7' });
      expect(value(p, 'patroni_exporter_scrape_success')).toBe(1);
    }
    expect(value(a, 'patroni_xlog_received_location')).toBe(value(b, 'patroni_xlog_received_location'));
  });

  it('a member being rebuilt, and maintenance mode', () => {
    const r = rec('get-patroni.reinitializing');
    expect(sampleOf(page(r.status, r.text), 'patroni_patroni_info')?.labels).toMatchObject({ state: 'creating replica', member: 'pg3' });
    const paused = rec('get-patroni.paused');
    expect(value(page(paused.status, paused.text), 'patroni_patroni_pause')).toBe(1);
  });
});

describe('a failed scrape', () => {
  it('exports only the exporter’s own families, with success 0', () => {
    const p = parseExposition(metricsPage({ ok: false, reason: 'connection refused', durationSeconds: 0.001 }, 'pg1'));
    expect(p.samples.map((s) => s.name)).toEqual(['patroni_exporter_scrape_success', 'patroni_exporter_scrape_duration_seconds']);
    expect(value(p, 'patroni_exporter_scrape_success')).toBe(0);
  });
});

describe('tolerance of odd values', () => {
  it('ignores wrong types instead of exporting them', () => {
    const fams = patroniFamilies(
      { role: 'replica', state: 'running', timeline: 'x', xlog: 'nope', replication: [1, null], patroni: [] },
      'm',
    );
    const p = parseExposition(
      metricsPage({ ok: true, body: { role: 'replica', state: 'running', timeline: 'x', xlog: 'nope' }, durationSeconds: 0 }, 'm'),
    );
    expect(fams.find((f) => f.name === 'patroni_postgresql_timeline')?.samples).toEqual([]);
    expect(fams.find((f) => f.name === 'patroni_replication_info')?.samples).toEqual([]);
    expect(sampleOf(p, 'patroni_patroni_info')?.labels).toEqual({ scope: '', member: 'm', role: 'replica', state: 'running' });
  });

  it('reads both of Patroni’s timestamp spellings', () => {
    expect(epochSeconds('2026-11-22 05:28:52.250400+00:00')).toBe(1795325332.2504);
    expect(epochSeconds('2026-11-22T07:28:52+02:00')).toBe(1795325332);
    expect(epochSeconds('2026-11-22T05:28:52Z')).toBe(1795325332);
    expect(epochSeconds('yesterday')).toBeUndefined();
    expect(epochSeconds(null)).toBeUndefined();
  });
});
