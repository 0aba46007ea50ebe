/**
 * What `pgha restore` recovers to, read from its flags: pure, so every bad flag is exit 2 before
 * any host is contacted. The forms pgBackRest's `--type`/`--target` take (time, lsn, name, or
 * the end of the archive) and nothing else.
 */
import { UsageError } from '../../errors.js';

export type RestoreTarget =
  { kind: 'time'; time: string; at: Date } | { kind: 'lsn'; lsn: string } | { kind: 'name'; name: string } | { kind: 'latest' };

export interface RestoreFlags {
  targetTime?: string;
  targetLsn?: string;
  targetName?: string;
  latest?: boolean;
}

/**
 * A timestamp with its zone, as PostgreSQL's recovery_target_time reads it. The zone is
 * required: without one PostgreSQL would read it in the server's zone, which the operator may
 * not know. Microseconds are kept as written (a JavaScript Date keeps milliseconds only, and a
 * target copied from `now()` is precise to the microsecond).
 */
const TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d{1,6})?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/;

export function parseTargetTime(text: string): { time: string; at: Date } {
  const m = TIME.exec(text.trim());
  if (!m) {
    throw new UsageError(`--target-time ${JSON.stringify(text)} is not a timestamp with a time zone`, {
      hint: 'write it as 2026-12-05 10:03:42+00, 2026-12-05T10:03:42.733285Z or with an offset such as +01:00',
    });
  }
  const [, date, clock, frac = '', zone = 'Z'] = m;
  const offset =
    zone === 'Z' ? '+00:00' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const at = new Date(`${date}T${clock}${frac.slice(0, 4)}${offset}`);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--target-time ${JSON.stringify(text)} is not a valid date`);
  return { time: `${date} ${clock}${frac}${offset}`, at };
}

/** A WAL position as PostgreSQL prints it (pg_current_wal_lsn()): two hex numbers and a slash. */
const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

/** The one target the flags name; exit 2 for none, two, or a malformed one. */
export function restoreTarget(flags: RestoreFlags): RestoreTarget {
  const given = [
    flags.targetTime !== undefined && '--target-time',
    flags.targetLsn !== undefined && '--target-lsn',
    flags.targetName !== undefined && '--target-name',
    flags.latest === true && '--latest',
  ].filter((f): f is string => typeof f === 'string');
  if (given.length !== 1) {
    throw new UsageError(given.length ? `${given.join(' and ')} cannot be combined: a restore has one target` : 'restore needs a target', {
      hint: 'give exactly one of --target-time T, --target-lsn L, --target-name N or --latest',
    });
  }
  if (flags.targetTime !== undefined) return { kind: 'time', ...parseTargetTime(flags.targetTime) };
  if (flags.targetLsn !== undefined) {
    if (!LSN.test(flags.targetLsn.trim())) {
      throw new UsageError(`--target-lsn ${JSON.stringify(flags.targetLsn)} is not a WAL position`, {
        hint: 'write it as pg_current_wal_lsn() prints it, e.g. 0/7000060',
      });
    }
    return { kind: 'lsn', lsn: flags.targetLsn.trim().toUpperCase() };
  }
  if (flags.targetName !== undefined) {
    // A restore point's name (pg_create_restore_point) is at most 63 bytes; control characters
    // would end up in postgresql.auto.conf.
    const name = flags.targetName;
    if (!name || Buffer.byteLength(name) > 63 || /[\p{Cc}]/u.test(name)) {
      throw new UsageError(`--target-name ${JSON.stringify(name)} is not a restore point name`, {
        hint: 'the name given to pg_create_restore_point(): 1 to 63 bytes, no control characters',
      });
    }
    return { kind: 'name', name };
  }
  return { kind: 'latest' };
}

/**
 * pgBackRest's words for the target: `--type`, and except for the latest `--target`, along
 * `timeline` (see ./journal.ts for why it is fixed rather than `latest`).
 */
export function pgbackrestTargetArgs(t: RestoreTarget, timeline: number): string[] {
  const along = `--target-timeline=${timeline}`;
  switch (t.kind) {
    case 'time':
      return ['--type=time', `--target=${t.time}`, '--target-action=promote', along];
    case 'lsn':
      return ['--type=lsn', `--target=${t.lsn}`, '--target-action=promote', along];
    case 'name':
      return ['--type=name', `--target=${t.name}`, '--target-action=promote', along];
    case 'latest':
      return ['--type=default', along];
  }
}

/** The target as the operator reads it back. */
export function describeTarget(t: RestoreTarget): string {
  switch (t.kind) {
    case 'time':
      return `time ${t.time}`;
    case 'lsn':
      return `WAL position ${t.lsn}`;
    case 'name':
      return `restore point ${JSON.stringify(t.name)}`;
    case 'latest':
      return 'the end of the archive';
  }
}
