/**
 * pgBackRest's line in `pgha status` (issue 13): the repository host's last backup (type, age)
 * from `pgbackrest info`, and archiving as the leader's pg_stat_archiver says, from the state
 * script's output on each host; its SQL pinned to pg_catalog as every superuser query pgha runs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HostState } from '../../src/components/health.js';
import {
  ARCHIVER_SQL,
  parseArchiverRow,
  pgbackrestEntry,
  pgbackrestLines,
  pgbackrestStateScript,
  type PgbackrestStatus,
} from '../../src/components/pgbackrest/status.js';
import type { ResolvedCluster, ResolvedHost } from '../../src/model/types.js';
import { loadExample } from '../golden/inputs.js';

const c: ResolvedCluster = loadExample('m1-pgbackrest-debian12');
const host = (name: string): ResolvedHost => c.hosts.find((h) => h.name === name)!;
const info245 = readFileSync(new URL('../fixtures/pgbackrest/info-2.45.json', import.meta.url), 'utf8');
const state = (name: string, text: string, rc = 0): HostState => ({ host: host(name), parts: new Map([['pgbackrest', { text, rc }]]) });
const view = { memberAt: new Map<string, string>(), leader: 'pg1' };
// 2 h 5 min after the 2.45 fixture's differential backup stopped (2025-01-06T01:00:06Z).
const NOW = Date.parse('2025-01-06T03:05:06Z');
const OK_ROW = 'f|42|0|000000010000000000000009|1736125300||1736132700';

describe('the state script', () => {
  it('reads info on the repository host, the archiver on a data node, with the search_path pinned', () => {
    expect(pgbackrestStateScript(c, host('backup1'))).toBe(
      'cd /tmp && runuser -u postgres -- pgbackrest --stanza=backed --output=json --log-level-console=off info 2>/dev/null',
    );
    const psql = pgbackrestStateScript(c, host('pg2'));
    expect(psql).toContain("PGOPTIONS='-c search_path=pg_catalog,pg_temp' runuser -u postgres -- psql -X -q -At");
    expect(psql).toContain('-p 5432 -h /var/run/postgresql -d postgres');
    expect(ARCHIVER_SQL.startsWith('set search_path = pg_catalog, pg_temp;\n')).toBe(true);
    // Every name and function qualified.
    expect(ARCHIVER_SQL).toContain('FROM pg_catalog.pg_stat_archiver a');
    expect(ARCHIVER_SQL.match(/\b(?<!pg_catalog\.)(date_part|now|pg_is_in_recovery)\(/g)).toBeNull();
  });
});

describe('parseArchiverRow', () => {
  it('reads the last line (a command tag before it is ignored) and judges archiving', () => {
    expect(parseArchiverRow(`SET\n${OK_ROW}\n`)).toEqual({
      inRecovery: false,
      archivedCount: 42,
      failedCount: 0,
      lastArchivedWal: '000000010000000000000009',
      lastArchivedTime: '2025-01-06T01:01:40Z',
      lastFailedTime: null,
      working: true,
    });
    // Failed once, then archived again: working.
    expect(parseArchiverRow('f|42|1|000000010000000000000009|1736125300|1736125000|1736132700').working).toBe(true);
    // Failed after the last success: not working.
    expect(parseArchiverRow('f|42|3|000000010000000000000009|1736125300|1736125900|1736132700').working).toBe(false);
    // Never archived, never failed: nothing to judge yet, nothing wrong.
    expect(parseArchiverRow('t|0|0||||1736132700')).toMatchObject({ inRecovery: true, lastArchivedWal: null, working: true });
    expect(() => parseArchiverRow('psql: error: connection refused')).toThrow(/unexpected pg_stat_archiver row/);
  });
});

describe('status entries and line', () => {
  const repo = pgbackrestEntry(state('backup1', info245), view, NOW);
  const leader = pgbackrestEntry(state('pg1', OK_ROW), view, NOW);
  const replica = pgbackrestEntry(state('pg2', 't|0|0||||1736132700'), view, NOW);

  it('reads the last backup on the repository host and the archiver on the data nodes', () => {
    expect(repo).toEqual({
      host: 'backup1',
      kind: 'repository',
      reachable: true,
      stanza: 'backed',
      backups: 2,
      lastBackup: { label: '20250105-010002F_20250106-010003D', type: 'diff', stop: '2025-01-06T01:00:06Z', ageSec: 7500 },
    });
    expect(leader).toMatchObject({ host: 'pg1', kind: 'data-node', leader: true, archiver: { working: true, failedCount: 0 } });
    expect(replica).toMatchObject({ host: 'pg2', leader: false, archiver: { inRecovery: true } });
  });

  it('prints one line per repository: last backup type and age, archiving on the leader', () => {
    expect(pgbackrestLines([leader, replica, repo])).toEqual([
      'pgBackRest backup1: last backup diff 2 h 05 min ago (20250105-010002F_20250106-010003D); archiving on pg1: ok, last 000000010000000000000009 at 2025-01-06T01:01:40Z',
    ]);
  });

  it('says when there is no backup yet, when archiving fails, and when the leader is unknown', () => {
    const empty = pgbackrestEntry(
      state('backup1', readFileSync(new URL('../fixtures/pgbackrest/info-empty.json', import.meta.url), 'utf8')),
      view,
      NOW,
    );
    const failing = pgbackrestEntry(state('pg1', 'f|42|3|000000010000000000000009|1736125300|1736125900|1736132700'), view, NOW);
    expect(pgbackrestLines([failing, empty])).toEqual([
      'pgBackRest backup1: no backup yet; archiving on pg1: FAILING (3 failed, last at 2025-01-06T01:11:40Z; last success 2025-01-06T01:01:40Z)',
    ]);
    const noLeader = pgbackrestEntry(state('pg1', OK_ROW), { ...view, leader: undefined }, NOW);
    expect(pgbackrestLines([noLeader, repo])[0]).toMatch(/; archiving: unknown \(no leader\)$/);
  });

  it('reports a host it could not read, and pgBackRest or psql failing', () => {
    const down = pgbackrestEntry({ host: host('backup1'), error: 'connect ETIMEDOUT' }, view, NOW);
    expect(down).toEqual({ host: 'backup1', kind: 'repository', reachable: false, error: 'connect ETIMEDOUT' });
    const psqlDown = pgbackrestEntry(state('pg1', 'psql: error: connection to server on socket failed', 2), view, NOW);
    expect(pgbackrestLines([psqlDown, down])).toEqual([
      'pgBackRest backup1: unreachable: connect ETIMEDOUT; archiving on pg1: unknown (psql failed (exit 2): psql: error: connection to server on socket failed)',
    ]);
    const infoFailed = pgbackrestEntry(state('backup1', '', 1), view, NOW);
    expect(infoFailed.error).toBe('pgbackrest info failed (exit 1)');
  });

  it('keeps the keys -o json prints', () => {
    const keys = (e: PgbackrestStatus) => Object.keys(e);
    expect(keys(repo)).toEqual(['host', 'kind', 'reachable', 'stanza', 'backups', 'lastBackup']);
    expect(keys(leader)).toEqual(['host', 'kind', 'reachable', 'leader', 'archiver']);
  });
});
