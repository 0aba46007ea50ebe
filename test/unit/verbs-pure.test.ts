import { describe, expect, it } from 'vitest';
import { keysDeployOwns } from '../../src/app/verbs/index.js';
import { desiredDcs } from '../../src/components/patroni/dcs.js';
import {
  applyConfigPatch,
  buildConfigPatch,
  configDiff,
  failoverRefusal,
  historyTable,
  parseSchedule,
  restartOrder,
} from '../../src/app/verbs/pure.js';
import { parseWriteProbe, probeWritesCommand } from '../../src/components/postgres/write-probe.js';
import { parseHistory } from '../../src/patroni/ops.js';
import { UsageError } from '../../src/errors.js';
import type { ClusterInfo } from '../../src/patroni/types.js';

const info = (leader = 'pg2'): ClusterInfo => ({
  members: ['pg1', 'pg2', 'pg3'].map((name) => ({ name, role: name === leader ? 'master' : 'replica', state: 'running' })),
});

describe('restart order', () => {
  it('puts replicas first and the leader last', () => {
    expect(restartOrder(info('pg1'), undefined)).toEqual(['pg2', 'pg3', 'pg1']);
    expect(restartOrder(info('pg2'), [])).toEqual(['pg1', 'pg3', 'pg2']);
  });
  it('keeps to the members asked for, in that order rule', () => {
    expect(restartOrder(info('pg2'), ['pg2', 'pg3'])).toEqual(['pg3', 'pg2']);
    expect(restartOrder(info('pg2'), ['pg1'])).toEqual(['pg1']);
  });
});

describe('edit-config patch', () => {
  it('builds nested keys from --set with YAML values and -p parameters as text', () => {
    expect(buildConfigPatch(['loop_wait=5', 'postgresql.use_slots=false', 'tags={a: 1}'], ['work_mem=8MB', 'max_connections=200'])).toEqual(
      {
        loop_wait: 5,
        postgresql: { use_slots: false, parameters: { work_mem: '8MB', max_connections: '200' } },
        tags: { a: 1 },
      },
    );
  });
  it('turns an empty value or null into a removal', () => {
    expect(buildConfigPatch(['ttl=', 'retry_timeout=null'], ['work_mem=', 'shared_buffers=null'])).toEqual({
      ttl: null,
      retry_timeout: null,
      postgresql: { parameters: { work_mem: null, shared_buffers: null } },
    });
  });
  it('keeps dotted GUC names whole under postgresql.parameters', () => {
    expect(buildConfigPatch(['postgresql.parameters.pg_stat_statements.max=1000'], ['auto_explain.log_min_duration=1s'])).toEqual({
      postgresql: { parameters: { 'pg_stat_statements.max': 1000, 'auto_explain.log_min_duration': '1s' } },
    });
  });
  it('refuses malformed assignments as usage errors', () => {
    expect(() => buildConfigPatch(['loop_wait'], [])).toThrow(UsageError);
    expect(() => buildConfigPatch(['=5'], [])).toThrow(UsageError);
    expect(() => buildConfigPatch(['a..b=1'], [])).toThrow(/empty key segment/);
    expect(() => buildConfigPatch([], ['work_mem'])).toThrow(/-p work_mem: expected KEY=VALUE/);
    expect(() => buildConfigPatch(['x={'], [])).toThrow(/not valid YAML/);
  });
  it('applies a patch the way Patroni does: nulls delete, maps merge, the input is untouched', () => {
    const live = { ttl: 30, loop_wait: 10, postgresql: { use_slots: true, parameters: { work_mem: '4MB', max_connections: 100 } } };
    const after = applyConfigPatch(live, {
      loop_wait: 5,
      postgresql: { parameters: { work_mem: null, shared_buffers: '256MB' } },
      pause: true,
    });
    expect(after).toEqual({
      ttl: 30,
      loop_wait: 5,
      pause: true,
      postgresql: { use_slots: true, parameters: { max_connections: 100, shared_buffers: '256MB' } },
    });
    expect(live.postgresql.parameters.work_mem).toBe('4MB');
  });
  it('shows a unified diff of the DCS document, empty when nothing changes', () => {
    const before = { ttl: 30, postgresql: { parameters: { work_mem: '4MB' } } };
    const diff = configDiff(before, applyConfigPatch(before, { postgresql: { parameters: { work_mem: '8MB' } } }));
    expect(diff).toContain('--- a/config (DCS)');
    expect(diff).toMatch(/^-\s+work_mem: 4MB$/m);
    expect(diff).toMatch(/^\+\s+work_mem: 8MB$/m);
    expect(configDiff(before, structuredClone(before))).toBe('');
    // Key order does not make a diff.
    expect(configDiff({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe('');
  });
  it('names the keys deploy would set back', () => {
    const desired = { ttl: 30, postgresql: { parameters: { max_connections: 100, 'pg_stat_statements.max': 5 } } };
    expect(
      keysDeployOwns(
        { ttl: 20, loop_wait: 5, postgresql: { parameters: { max_connections: '200', work_mem: '8MB', 'pg_stat_statements.max': 9 } } },
        desired,
      ),
    ).toEqual(['ttl', 'postgresql.parameters.max_connections', 'postgresql.parameters.pg_stat_statements.max']);
  });
  it('a key the desired document holds as null is owned too: deploy deletes it again (failsafe_mode while off)', () => {
    expect(keysDeployOwns({ failsafe_mode: true }, desiredDcs({}, 'c'))).toEqual(['failsafe_mode']);
    expect(keysDeployOwns({ failsafe_mode: true }, desiredDcs({ failsafe_mode: true }, 'c'))).toEqual(['failsafe_mode']);
    // patroni_synchronous_mode owns synchronous_mode the same way (off is a tombstone): an
    // edit-config of it alone is undone by the next deploy, and edit-config says so.
    expect(keysDeployOwns({ synchronous_mode: true }, desiredDcs({}, 'c'))).toEqual(['synchronous_mode']);
    expect(keysDeployOwns({ check_timeline: true }, desiredDcs({}, 'c'))).toEqual([]);
  });
});

describe('failover refusal', () => {
  it('refuses while a healthy leader exists unless forced', () => {
    expect(failoverRefusal(info('pg1'), 'pg2', false)[0]).toMatch(/pg1 is a healthy leader: use `pgha switchover DIR pg2`.*--force/);
    expect(failoverRefusal(info('pg1'), 'pg2', true)).toEqual([]);
  });
  it('allows it when the leader is gone, and never to the leader or a stranger', () => {
    const noLeader: ClusterInfo = { members: [{ name: 'pg2', role: 'replica', state: 'running' }] };
    expect(failoverRefusal(noLeader, 'pg2', false)).toEqual([]);
    expect(failoverRefusal(info('pg1'), 'pg1', true)).toEqual(['pg1 is the leader already']);
    expect(failoverRefusal(info('pg1'), 'pg9', true)[0]).toMatch(/pg9 is not a member/);
  });
});

describe('history and schedules', () => {
  it('parses GET /history lines and prints them as a table', () => {
    const entries = parseHistory([
      [1, 50331808, 'no recovery target specified', '2026-11-22T05:33:17+00:00', 'pg2'],
      [2, 67109024, 'no recovery target specified'],
      'junk',
    ]);
    expect(entries).toEqual([
      { timeline: 1, lsn: 50331808, reason: 'no recovery target specified', timestamp: '2026-11-22T05:33:17+00:00', newLeader: 'pg2' },
      { timeline: 2, lsn: 67109024, reason: 'no recovery target specified', timestamp: undefined, newLeader: undefined },
    ]);
    const table = historyTable(entries).split('\n');
    expect(table[0]).toMatch(/^TL\s+LSN\s+Reason\s+Timestamp\s+New Leader$/);
    expect(table[1]).toMatch(/^1\s+50331808\s+no recovery target specified\s+2026-11-22T05:33:17\+00:00\s+pg2$/);
    expect(historyTable([])).toMatch(/no failovers/);
  });
  it('accepts future ISO 8601 times with a zone only', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseSchedule('2026-05-01T02:00:00Z', now)).toBe('2026-05-01T02:00:00Z');
    expect(parseSchedule('2026-05-01T04:00+02:00', now)).toBe('2026-05-01T04:00+02:00');
    expect(() => parseSchedule('2026-05-01T02:00:00', now)).toThrow(/time zone/);
    expect(() => parseSchedule('tomorrow', now)).toThrow(UsageError);
    expect(() => parseSchedule('2025-05-01T02:00:00Z', now)).toThrow(/past/);
  });
});

describe('write probe through the proxies', () => {
  it('keeps the password off the command line: it travels on stdin into a 0600 pgpass file', () => {
    const pw = 'sEcr:et\\pw';
    const cmd = probeWritesCommand({ via: 'HAProxy on proxy1', ip: '10.0.0.14', port: 5432 }, 'postgres', pw);
    expect(cmd.script).not.toContain('sEcr');
    expect(cmd.stdin?.startsWith(`${pw}\n`)).toBe(true);
    expect(cmd.secrets).toContain(pw);
    expect(cmd.script).toContain('umask 077');
    expect(cmd.script).toMatch(/trap 'rm -f "\$f"' EXIT/);
    expect(cmd.script).toContain("'host=10.0.0.14 port=5432 user=postgres dbname=postgres sslmode=disable'");
  });
  it('sends the superuser password only to a server that proves it belongs to the cluster', () => {
    const viaHaproxy = probeWritesCommand({ via: 'HAProxy on proxy1', ip: '10.0.0.14', port: 5432, tls: 'verify-ca' }, 'postgres', 'pw');
    expect(viaHaproxy.script).toContain('sslmode=verify-ca sslrootcert=/etc/patroni/ssl/ca.crt');
    const viaPgbouncer = probeWritesCommand({ via: 'PgBouncer on pg1', ip: '10.0.0.11', port: 6432, tls: 'verify-full' }, 'postgres', 'pw');
    expect(viaPgbouncer.script).toContain('sslmode=verify-full sslrootcert=/etc/patroni/ssl/ca.crt');
    for (const c of [viaHaproxy, viaPgbouncer]) {
      expect(c.script).not.toMatch(/sslmode=(require|prefer|allow)/);
      // Pinned in the session, before any name is resolved; not by PGOPTIONS, whose startup
      // parameter PgBouncer 1.18 refuses.
      expect(c.script).toContain(
        "-c 'set search_path = pg_catalog, pg_temp; select pg_catalog.pg_is_in_recovery(), pg_catalog.inet_server_addr()'",
      );
      expect(c.script).not.toContain('PGOPTIONS');
      // -q: psql 15 and later print the SET's command tag too, which would be read as the answer.
      expect(c.script).toMatch(/psql -X -q -At -F '\|' 'host=/);
    }
  });

  it('reads the select row even after a command tag (what psql 15+ prints without -q)', () => {
    expect(parseWriteProbe('SET\nf|10.0.0.12\n')).toEqual({ writable: true, server: '10.0.0.12' });
    expect(parseWriteProbe('t|10.0.0.13')).toEqual({ writable: false, server: '10.0.0.13' });
    expect(parseWriteProbe('')).toEqual({ writable: false, server: '' });
  });
});
