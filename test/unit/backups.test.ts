/**
 * `pgha backup` and `pgha backups` (issue 13): `pgbackrest --output=json info` parsed from output
 * shaped like pgBackRest 2.45's and 2.55's (test/fixtures/pgbackrest), the report and table they
 * print, the usage errors caught before any host is contacted, and both commands against the
 * simulated cluster after the real deploy formed it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups, takeBackup } from '../../src/app/backups.js';
import { readHostState } from '../../src/app/live/host-state.js';
import { main } from '../../src/cli/main.js';
import { backupCommand, checkCommand, infoCommand } from '../../src/components/pgbackrest/commands.js';
import { backupTypeOption, newBackup, parseInfo } from '../../src/components/pgbackrest/info.js';
import { backupReport, backupsTable, durationText, sizeText } from '../../src/components/pgbackrest/report.js';
import { readStatusSections, statusSectionLines } from '../../src/components/status.js';
import { UsageError } from '../../src/errors.js';
import type { SimCluster } from './sim/cluster.js';
import { simulated } from './sim/setup.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pgbackrest/${name}`, import.meta.url), 'utf8');

describe('parseInfo', () => {
  it('reads pgBackRest 2.45: a full and a differential backup, their sizes, WAL and times', () => {
    const info = parseInfo(fixture('info-2.45.json'), 'backed');
    expect(info.stanza).toBe('backed');
    expect(info.statusCode).toBe(0);
    expect(info.backups.map((b) => [b.label, b.type, b.prior])).toEqual([
      ['20250105-010002F', 'full', null],
      ['20250105-010002F_20250106-010003D', 'diff', '20250105-010002F'],
    ]);
    expect(info.backups[1]).toEqual({
      label: '20250105-010002F_20250106-010003D',
      type: 'diff',
      start: '2025-01-06T01:00:03Z',
      stop: '2025-01-06T01:00:06Z',
      durationSec: 3,
      databaseSize: 31612550,
      databaseDelta: 8421376,
      repositorySize: 4841739,
      repositoryDelta: 702113,
      walStart: '000000010000000000000007',
      walStop: '000000010000000000000007',
      lsnStart: '0/7000028',
      lsnStop: '0/7000100',
      prior: '20250105-010002F',
      error: false,
    });
    expect([info.walMin, info.walMax]).toEqual(['000000010000000000000003', '000000010000000000000009']);
    // Earliest: the oldest backup's end; latest: the newest backup's end (info gives no time for WAL).
    expect([info.earliestRestore, info.latestRestore]).toEqual(['2025-01-05T01:00:09Z', '2025-01-06T01:00:06Z']);
  });

  it('reads pgBackRest 2.55: keys it added (size-map, restore lock) ignored, WAL across timelines ordered', () => {
    const info = parseInfo(fixture('info-2.55.json'), 'backed');
    expect(info.backups.map((b) => b.type)).toEqual(['full', 'full', 'incr']);
    const incr = info.backups[2]!;
    expect([incr.databaseSize, incr.databaseDelta, incr.repositorySize, incr.repositoryDelta]).toEqual([24018944, 1122304, 3172424, 98413]);
    expect([incr.start, incr.durationSec]).toEqual(['2025-11-10T12:00:04Z', 2]);
    expect([info.walMin, info.walMax]).toEqual(['000000010000000000000004', '000000020000000000000011']);
    expect(info.earliestRestore).toBe('2025-11-02T01:00:05Z');
    expect(info.latestRestore).toBe('2025-11-10T12:00:06Z');
  });

  it('reads a stanza with no backup yet, and one the repository does not know', () => {
    const empty = parseInfo(fixture('info-empty.json'), 'backed');
    expect([empty.backups, empty.statusCode, empty.statusMessage, empty.walMin, empty.earliestRestore]).toEqual([
      [],
      2,
      'no valid backups',
      null,
      null,
    ]);
    const other = parseInfo(fixture('info-2.45.json'), 'other');
    expect([other.stanza, other.backups, other.statusMessage]).toEqual(['other', [], 'missing stanza']);
  });

  it('refuses what is not pgBackRest JSON, quoting its first line', () => {
    expect(() => parseInfo('ERROR: [041]: unable to open file\nmore', 'backed')).toThrow(/printed no JSON: ERROR: \[041\]/);
    expect(() => parseInfo('{"name":"backed"}', 'backed')).toThrow(/not a list of stanzas/);
  });

  it('finds the backup just taken: the newest label that was not there before', () => {
    const after = parseInfo(fixture('info-2.45.json'), 'backed');
    const before = { ...after, backups: after.backups.slice(0, 1) };
    expect(newBackup(before, after)?.label).toBe('20250105-010002F_20250106-010003D');
    expect(newBackup(after, after)).toBeUndefined();
    expect(newBackup(undefined, after)?.type).toBe('diff');
  });
});

describe('the commands run on the repository host', () => {
  it('run pgBackRest as postgres, from /tmp, its log kept off stdout', () => {
    expect(infoCommand('backed').script).toBe(
      'cd /tmp && runuser -u postgres -- pgbackrest --stanza=backed --output=json --log-level-console=off info',
    );
    expect(backupCommand('backed', 'diff')).toEqual({
      script: 'cd /tmp && runuser -u postgres -- pgbackrest --stanza=backed --type=diff backup >&2',
      intent: { kind: 'pgbackrest-backup', stanza: 'backed', type: 'diff' },
    });
    // No timeout on a backup: a full one of a large database takes hours.
    expect(backupCommand('backed', 'full').timeoutSec).toBeUndefined();
    expect(checkCommand('backed').script).toBe('cd /tmp && runuser -u postgres -- pgbackrest --stanza=backed check >&2');
  });
});

describe('report and table', () => {
  it('prints sizes in binary units and durations as an operator reads them', () => {
    expect([sizeText(null), sizeText(512), sizeText(31604358), sizeText(5 * 1024 ** 4)]).toEqual(['-', '512 B', '30.1 MiB', '5.0 TiB']);
    expect([durationText(7), durationText(192), durationText(7500), durationText(3 * 86400 + 4 * 3600)]).toEqual([
      '7 s',
      '3 min 12 s',
      '2 h 05 min',
      '3 d 4 h',
    ]);
  });

  it('reports the backup taken: label, type, sizes, duration, WAL range', () => {
    const b = parseInfo(fixture('info-2.45.json'), 'backed').backups[1]!;
    expect(backupReport(b, 'backed', 'backup1')).toBe(
      [
        'diff backup 20250105-010002F_20250106-010003D of stanza backed on backup1, taken in 3 s',
        '  started:    2025-01-06T01:00:03Z',
        '  stopped:    2025-01-06T01:00:06Z',
        '  database:   30.1 MiB (8.0 MiB copied)',
        '  repository: 4.6 MiB (685.7 KiB added)',
        '  WAL:        000000010000000000000007',
        '  based on:   20250105-010002F',
        '',
      ].join('\n'),
    );
  });

  it('lists every backup with the restorable window and the WAL archive', () => {
    const table = backupsTable(parseInfo(fixture('info-2.55.json'), 'backed'), 'backup1').split('\n');
    expect(table[0]).toBe('stanza backed on backup1: 3 backups');
    expect(table[1]).toMatch(/^Label +Type +Start \(UTC\) +Stop \(UTC\) +Database +Repository +WAL start +WAL stop$/);
    expect(table[4]).toMatch(
      /^20251109-010002F_20251110-120004I +incr +2025-11-10T12:00:04Z +2025-11-10T12:00:06Z +22\.9 MiB +3\.0 MiB +000000020000000000000010 +000000020000000000000010$/,
    );
    expect(table[5]).toBe(
      "restorable: from 2025-11-02T01:00:05Z to 2025-11-10T12:00:06Z (the last backup's end), and on with the WAL archived since",
    );
    expect(table[6]).toBe('WAL archive: 000000010000000000000004 … 000000020000000000000011');
  });

  it('says when there is no backup yet', () => {
    expect(backupsTable(parseInfo(fixture('info-empty.json'), 'backed'), 'backup1')).toBe(
      'no backup yet in stanza backed on backup1 (pgBackRest: no valid backups)\nWAL archive: empty\n',
    );
  });
});

describe('pgha backup: usage errors before any host', () => {
  let root = '';
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pgha-backup-cli-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function run(...args: string[]): Promise<number> {
    stderr = '';
    const out = process.stdout.write.bind(process.stdout);
    process.stderr.write = (s: string | Uint8Array) => ((stderr += String(s)), true);
    process.stdout.write = () => true;
    try {
      return await main(['node', 'pgha', ...args]);
    } finally {
      process.stderr.write = write;
      process.stdout.write = out;
      process.exitCode = undefined;
    }
  }

  it('names --type and its values', async () => {
    expect(await run('backup', join(root, 'none'), '--type', 'weekly')).toBe(2);
    expect(stderr).toMatch(/--type must be one of full, diff, incr, not "weekly"/);
    expect(() => backupTypeOption('FULL')).toThrow(UsageError);
    expect(backupTypeOption(undefined)).toBe('full');
  });

  it('refuses a cluster without a repository host, with the fix', async () => {
    const dir = join(root, 'plain');
    const out = process.stdout.write.bind(process.stdout);
    process.stdout.write = () => true;
    await main(['node', 'pgha', 'configure', dir, '-a', 'M1', '--enable-patroni']);
    process.stdout.write = out;
    expect(await run('backups', dir)).toBe(2);
    expect(stderr).toMatch(/plain has no pgBackRest repository/);
    expect(stderr).toMatch(/fix: .*role pgbackrest.*backup: <that host>.*--enable-pgbackrest/);
    expect(await run('backup', dir, '--type', 'incr')).toBe(2);
    expect(await run('backups', dir, '-o', 'yaml')).toBe(2);
  });
});

describe('pgha backup and backups against a simulated cluster', () => {
  const c = simulated('m1-pgbackrest-debian12', 'backed');
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });

  it('lists no backup on a new stanza', async () => {
    const r = await listBackups(c.dir(), c.seams());
    expect(r.repoHost).toBe('backup1');
    expect(r.info.backups).toEqual([]);
  });

  it('takes a full backup, then a differential one, each read back from info', async () => {
    const lines: string[] = [];
    const mark = sim.log.length;
    const full = await takeBackup(c.dir(), 'full', (l) => lines.push(l), c.seams());
    expect(full.backup.type).toBe('full');
    expect(full.backup.label).toMatch(/^\d{8}-\d{6}F$/);
    expect(lines).toEqual(['backup1: pgbackrest --stanza=backed --type=full backup (waiting for it to finish)']);
    const diff = await takeBackup(c.dir(), 'diff', () => undefined, c.seams());
    expect(diff.backup).toMatchObject({ type: 'diff', prior: null });
    expect(diff.backup.label.startsWith(`${full.backup.label}_`)).toBe(true);
    // Only the repository host was asked; nothing else changed anywhere.
    expect(sim.since(mark)).toEqual(['backup1: pgbackrest backup full backed', 'backup1: pgbackrest backup diff backed']);
    const list = await listBackups(c.dir(), c.seams());
    expect(list.info.backups.map((b) => b.type)).toEqual(['full', 'diff']);
    expect(list.info.earliestRestore).toBe(full.backup.stop);
    expect(list.info.latestRestore).toBe(diff.backup.stop);
  });

  it('shows the last backup and the leader’s archiving in status, from each host’s state read', async () => {
    const cluster = sim.cluster;
    const connect = c.seams().connectHost!;
    const states = await Promise.all(cluster.hosts.map(async (h) => readHostState(await connect(h), cluster, h)));
    const sections = readStatusSections(cluster, states, { memberAt: new Map(), leader: 'pg1' });
    expect(sections.pgbackrest.map((e) => `${e.host} ${e.kind}`)).toEqual([
      'pg1 data-node',
      'pg2 data-node',
      'pg3 data-node',
      'backup1 repository',
    ]);
    expect(sections.pgbackrest.find((e) => e.host === 'backup1')).toMatchObject({
      stanza: 'backed',
      backups: 2,
      lastBackup: { type: 'diff' },
    });
    const line = statusSectionLines(sections).find((l) => l.startsWith('pgBackRest'));
    expect(line).toMatch(
      /^pgBackRest backup1: last backup diff .+ ago \(\d{8}-\d{6}F_\d{8}-\d{6}D\); archiving on pg1: ok, last 000000010000000000000004 at /,
    );
    // The proxy runs no pgBackRest: nothing of it read there.
    expect(sim.reads.filter((r) => r.startsWith('proxy1:') && r.includes('pgbackrest'))).toEqual([]);
  });

  it('fails naming the repository host when it cannot be reached', async () => {
    const seams = c.seams();
    const connectHost = seams.connectHost!;
    const err = await takeBackup(c.dir(), 'incr', () => undefined, {
      ...seams,
      connectHost: (h) => (h.name === 'backup1' ? Promise.reject(new Error('connect ETIMEDOUT 10.10.12.31:22')) : connectHost(h)),
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/cannot reach 1 host\(s\)[\s\S]*backup1: connect ETIMEDOUT/);
  });

  it('fails with pgBackRest’s error when the stanza is gone', async () => {
    sim.stanzas.clear();
    const err = await takeBackup(c.dir(), 'full', () => undefined, c.seams()).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/pgbackrest full backup failed with exit code 55[\s\S]*unable to load info file/);
    sim.stanzas.add('backed');
  });
});
