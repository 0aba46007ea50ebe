/**
 * `pgha restore` (issue 13): the flags read into one target (exit 2 for anything else), what a
 * restore forgets in etcd, the repository's answer read for the refusals, and the host commands'
 * decisions. The restore itself runs on real hosts in the PgBouncer e2e suite.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quote } from '../../src/transport/quote.js';
import { keysToForget, dcsPrefix } from '../../src/components/patroni/dcs-keys.js';
import {
  emptyDataCommand,
  flushArchiveCommand,
  recoverCommand,
  recoveryServerOptions,
  restoreDataCommand,
  stopMemberCommand,
} from '../../src/components/pgbackrest/restore.js';
import { restorable, timelineOfSegment } from '../../src/app/restore/repository.js';
import { backupCommand } from '../../src/components/pgbackrest/commands.js';
import { parseInfo } from '../../src/components/pgbackrest/info.js';
import { describeTarget, parseTargetTime, pgbackrestTargetArgs, restoreTarget } from '../../src/app/restore/target.js';
import { UsageError } from '../../src/errors.js';
import type { ResolvedHost } from '../../src/model/types.js';
import { loadExample } from '../golden/inputs.js';

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message + ((e as UsageError).hint ?? '');
  }
  throw new Error('expected a UsageError');
};

describe('restore target', () => {
  it('keeps microseconds and normalises the zone', () => {
    expect(parseTargetTime('2026-12-05 10:03:42.733285+00').time).toBe('2026-12-05 10:03:42.733285+00:00');
    expect(parseTargetTime('2026-12-05T10:03:42Z').time).toBe('2026-12-05 10:03:42+00:00');
    expect(parseTargetTime('2026-12-05 11:03:42+0100').time).toBe('2026-12-05 11:03:42+01:00');
    expect(parseTargetTime('2026-12-05 11:03:42.5-02:30').at.toISOString()).toBe('2026-12-05T13:33:42.500Z');
  });

  it('refuses a time without a zone, an impossible date, and junk', () => {
    expect(usage(() => parseTargetTime('2026-12-05 10:03:42'))).toMatch(/time zone/);
    expect(usage(() => parseTargetTime('2026-13-45 10:03:42+00'))).toMatch(/not a valid date/);
    expect(usage(() => parseTargetTime("now'; drop table t; --"))).toMatch(/not a timestamp/);
  });

  it('takes exactly one target', () => {
    expect(usage(() => restoreTarget({}))).toMatch(/needs a target/);
    expect(usage(() => restoreTarget({ latest: true, targetLsn: '0/1' }))).toMatch(/--target-lsn and --latest cannot be combined/);
    expect(restoreTarget({ latest: true })).toEqual({ kind: 'latest' });
    expect(restoreTarget({ targetLsn: '0/7000a60' })).toEqual({ kind: 'lsn', lsn: '0/7000A60' });
    expect(restoreTarget({ targetName: 'before migration' })).toEqual({ kind: 'name', name: 'before migration' });
  });

  it('refuses a malformed LSN and a restore point name PostgreSQL could not have', () => {
    expect(usage(() => restoreTarget({ targetLsn: '7000060' }))).toMatch(/not a WAL position/);
    expect(usage(() => restoreTarget({ targetName: '' }))).toMatch(/not a restore point name/);
    expect(usage(() => restoreTarget({ targetName: 'x'.repeat(64) }))).toMatch(/1 to 63 bytes/);
    expect(usage(() => restoreTarget({ targetName: "a\nrecovery_target_action = 'shutdown'" }))).toMatch(/control characters/);
  });

  it("speaks pgBackRest's words, along a fixed timeline, promoting at the target", () => {
    const t = restoreTarget({ targetTime: '2026-12-05 10:03:42+00' });
    expect(pgbackrestTargetArgs(t, 5)).toEqual([
      '--type=time',
      '--target=2026-12-05 10:03:42+00:00',
      '--target-action=promote',
      '--target-timeline=5',
    ]);
    expect(pgbackrestTargetArgs({ kind: 'latest' }, 3)).toEqual(['--type=default', '--target-timeline=3']);
    expect(pgbackrestTargetArgs({ kind: 'lsn', lsn: '0/5' }, 1)).toContain('--type=lsn');
    expect(describeTarget(t)).toBe('time 2026-12-05 10:03:42+00:00');
  });
});

describe('what a restore forgets in etcd', () => {
  it("every key of the cluster's state, never its configuration nor another cluster's keys", () => {
    const prefix = dcsPrefix({ patroni_dcs_namespace: '/pgha/' }, 'app');
    expect(prefix).toBe('/pgha/app/');
    const keys = [
      '/pgha/app/config',
      '/pgha/app/initialize',
      '/pgha/app/status',
      '/pgha/app/members/pg1',
      '/pgha/app/leader',
      '/pgha/app2/leader',
    ];
    expect(keysToForget(keys, prefix)).toEqual(['/pgha/app/initialize', '/pgha/app/status', '/pgha/app/members/pg1', '/pgha/app/leader']);
  });
});

describe("the repository's answer", () => {
  it("the earliest restorable time is the end of the oldest backup; the timeline is the newest segment's", () => {
    const info = parseInfo(
      JSON.stringify([
        {
          name: 'app',
          status: { code: 0, message: 'ok' },
          archive: [{ id: '17-1', min: '000000010000000000000001', max: '00000007000000000000000B' }],
          backup: [
            { label: '20261205-100600F', type: 'full', timestamp: { start: 1_796_551_560, stop: 1_796_551_565 } },
            { label: '20261205-100336F', type: 'full', timestamp: { start: 1_796_551_416, stop: 1_796_551_419 } },
          ],
        },
      ]),
      'app',
    );
    expect(restorable(info)).toEqual({ earliest: new Date(1_796_551_419_000), earliestLabel: '20261205-100336F', timeline: 7 });
    expect(restorable(parseInfo('[]', 'app'))).toBeUndefined();
  });

  it("reads a WAL segment's timeline", () => {
    expect(timelineOfSegment('00000007000000000000000B')).toBe(7);
    expect(timelineOfSegment('0000000A0000000000000001')).toBe(10);
    expect(timelineOfSegment('00000002.history')).toBeUndefined();
    expect(timelineOfSegment(null)).toBeUndefined();
  });
});

describe('the host commands of a restore', () => {
  const cluster = loadExample('m1-pgbackrest-debian13');
  const pg1 = cluster.hosts.find((h) => h.name === 'pg1') as ResolvedHost;

  it('stops PostgreSQL too: stopping Patroni leaves it running (KillMode=process)', () => {
    const s = stopMemberCommand(pg1, 'patroni@main').script;
    expect(s).toMatch(/systemctl stop patroni@main/);
    expect(s).toMatch(/pg_ctl -D \/var\/lib\/postgresql\/17\/backed stop -m fast/);
  });

  it('removes a standby.signal before pgBackRest restores, and quotes the target as one word', () => {
    const s = restoreDataCommand(pg1, 'main', pgbackrestTargetArgs(restoreTarget({ targetTime: '2026-12-05 10:03:42+00' }), 4)).script;
    expect(s.indexOf('standby.signal')).toBeLessThan(s.indexOf('pgbackrest'));
    expect(s).toContain("'--target=2026-12-05 10:03:42+00:00'");
    expect(s).toContain(' --target-timeline=4 restore');
  });

  it('waits for promotion, fails when PostgreSQL stops short of the target, and resets every recovery setting', () => {
    const s = recoverCommand(pg1, 'main').script;
    expect(s).toMatch(/pg_is_in_recovery/);
    expect(s).toMatch(/stopped before it reached the target/);
    for (const p of [
      'restore_command',
      'recovery_target_time',
      'recovery_target_lsn',
      'recovery_target_name',
      'recovery_target_action',
      'recovery_target_timeline',
    ]) {
      expect(s).toContain(`alter system reset ${p}'`);
    }
    expect(s.indexOf('alter system')).toBeLessThan(s.lastIndexOf('stop -m fast'));
  });

  it("starts recovery with this host's files, port and stanza, on the socket only, as the shell pg_ctl uses splits them", () => {
    const opts = recoveryServerOptions(pg1, 'main');
    const words = spawnSync('sh', ['-c', `printf '%s\\n' ${opts}`], { encoding: 'utf8' })
      .stdout.trimEnd()
      .split('\n');
    expect(words).toEqual([
      '-c',
      'listen_addresses=',
      '-c',
      'port=5432',
      '-c',
      'hba_file=/var/lib/postgresql/17/backed/pg_hba.conf',
      '-c',
      'ident_file=/var/lib/postgresql/17/backed/pg_ident.conf',
      '-c',
      'archive_command=pgbackrest --stanza=main archive-push %p',
    ]);
    expect(recoverCommand(pg1, 'main').script).toContain(`-o ${quote(opts)}`);
    expect(() => recoveryServerOptions(pg1, "x'; rm -rf /")).toThrow(/not a plain name/);
  });

  it('archives the segment being written before the leader stops, after a commit record, and waits for it', () => {
    const s = flushArchiveCommand(pg1, 30).script;
    expect(s.indexOf('txid_current')).toBeLessThan(s.indexOf('pg_switch_wal'));
    expect(s).toMatch(/last_archived_wal, ''\) >= '\$seg' from pg_catalog.pg_stat_archiver/);
    expect(s).toMatch(/not archived within 30 s/);
  });

  it('empties only the data directory, and backs up from the primary', () => {
    expect(emptyDataCommand(pg1).script).toMatch(/find '?\/var\/lib\/postgresql\/17\/[^ ]+'? -mindepth 1 -delete/);
    expect(backupCommand('main', 'full', { fromPrimary: true }).script).toMatch(/--type=full --backup-standby=n backup/);
  });
});
