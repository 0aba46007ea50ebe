/**
 * `pgbackrest --output=json info`, read (issue 13): what `pgha backup`, `pgha backups` and the
 * status line show of a repository. Pure: the text in, plain data out, so it is tested on recorded
 * output of both Debian builds (2.45 on 12, 2.55.1 on 13) and never needs a host.
 *
 * pgBackRest prints a list with one entry per stanza: `name`, `status` ({code, message}),
 * `archive[]` (per database history: `id`, `min`, `max` WAL segment names) and `backup[]`, oldest
 * first, each with `label`, `type`, `timestamp.start/stop` (Unix seconds), `info.size/delta`
 * (database bytes), `info.repository.size/delta` (bytes in the repository, compressed),
 * `archive.start/stop` (the WAL the backup needs) and `lsn.start/stop`. Keys a version does not
 * print are read as null rather than refused: a newer pgBackRest adds keys, never pgha's concern.
 */
import { UsageError } from '../../errors.js';

export const BACKUP_TYPES = ['full', 'diff', 'incr'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

export function isBackupType(v: unknown): v is BackupType {
  return typeof v === 'string' && (BACKUP_TYPES as readonly string[]).includes(v);
}

export interface BackupEntry {
  label: string;
  type: string;
  /** ISO 8601, UTC. */
  start: string | null;
  stop: string | null;
  /** Seconds from start to stop. */
  durationSec: number | null;
  /** Bytes of the database the backup covers, and those this backup had to copy (its delta). */
  databaseSize: number | null;
  databaseDelta: number | null;
  /** Bytes this backup (and, for diff/incr, the backups it needs) take in the repository. */
  repositorySize: number | null;
  repositoryDelta: number | null;
  walStart: string | null;
  walStop: string | null;
  lsnStart: string | null;
  lsnStop: string | null;
  /** The backup it builds on (diff, incr); null for a full one. */
  prior: string | null;
  /** pgBackRest found an error in a page checksum while copying (its `error` flag, 2.36+). */
  error: boolean;
}

export interface StanzaInfo {
  stanza: string;
  /** pgBackRest's own verdict on the stanza: 0 is ok. */
  statusCode: number | null;
  statusMessage: string | null;
  /** Every backup, oldest first. */
  backups: BackupEntry[];
  /** The oldest and newest WAL segment the repository holds, over every database history. */
  walMin: string | null;
  walMax: string | null;
  /**
   * The window a point-in-time restore can reach from this repository, ISO UTC; null without a
   * backup. Earliest: the oldest backup's stop time (a restore must replay at least to the end of
   * the backup it starts from). Latest: `info` names no time for the newest archived WAL, only its
   * segment name, so this is the newest backup's stop time; WAL archived after it (walMax) usually
   * reaches further, up to the last archived segment.
   */
  earliestRestore: string | null;
  latestRestore: string | null;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const iso = (sec: number | null): string | null => (sec === null ? null : new Date(sec * 1000).toISOString().replace('.000Z', 'Z'));

function backupEntry(raw: unknown): BackupEntry {
  const b = obj(raw);
  const ts = obj(b.timestamp);
  const info = obj(b.info);
  const repo = obj(info.repository);
  const archive = obj(b.archive);
  const lsn = obj(b.lsn);
  const start = numOrNull(ts.start);
  const stop = numOrNull(ts.stop);
  return {
    label: strOrNull(b.label) ?? '?',
    type: strOrNull(b.type) ?? '?',
    start: iso(start),
    stop: iso(stop),
    durationSec: start !== null && stop !== null ? stop - start : null,
    databaseSize: numOrNull(info.size),
    databaseDelta: numOrNull(info.delta),
    repositorySize: numOrNull(repo.size),
    repositoryDelta: numOrNull(repo.delta),
    walStart: strOrNull(archive.start),
    walStop: strOrNull(archive.stop),
    lsnStart: strOrNull(lsn.start),
    lsnStop: strOrNull(lsn.stop),
    prior: strOrNull(b.prior),
    error: b.error === true,
  };
}

/**
 * WAL segment names order as their timeline, log and segment numbers: 24 hex digits of equal
 * width, so comparing the strings compares the positions.
 */
function walRange(archives: unknown): { min: string | null; max: string | null } {
  let min: string | null = null;
  let max: string | null = null;
  for (const a of Array.isArray(archives) ? archives : []) {
    const lo = strOrNull(obj(a).min);
    const hi = strOrNull(obj(a).max);
    if (lo !== null && (min === null || lo < min)) min = lo;
    if (hi !== null && (max === null || hi > max)) max = hi;
  }
  return { min, max };
}

function stanzaInfo(raw: unknown): StanzaInfo {
  const s = obj(raw);
  const status = obj(s.status);
  // pgBackRest lists backups oldest first; sorted anyway, so nothing here depends on it.
  const backups = (Array.isArray(s.backup) ? s.backup : []).map(backupEntry).sort((a, b) => (a.start ?? '').localeCompare(b.start ?? ''));
  const { min, max } = walRange(s.archive);
  return {
    stanza: strOrNull(s.name) ?? '?',
    statusCode: numOrNull(status.code),
    statusMessage: strOrNull(status.message),
    backups,
    walMin: min,
    walMax: max,
    earliestRestore: backups[0]?.stop ?? null,
    latestRestore: backups.at(-1)?.stop ?? null,
  };
}

/**
 * The stanza's entry of `pgbackrest --output=json info`. Throws on text that is not pgBackRest's
 * JSON list; a stanza the repository does not know gives an entry with no backup and its status.
 * Without `stanza`, the first entry: `info --stanza=X` prints only X's.
 */
export function parseInfo(text: string, stanza?: string): StanzaInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`pgbackrest info printed no JSON: ${text.trim().split('\n')[0] ?? ''}`);
  }
  if (!Array.isArray(doc)) throw new Error('pgbackrest info printed JSON that is not a list of stanzas');
  const entry: unknown = (doc as unknown[]).find((s) => stanza === undefined || obj(s).name === stanza);
  if (entry === undefined) {
    return {
      stanza: stanza ?? '?',
      statusCode: null,
      statusMessage: 'missing stanza',
      backups: [],
      walMin: null,
      walMax: null,
      earliestRestore: null,
      latestRestore: null,
    };
  }
  return stanzaInfo(entry);
}

/** `--type`'s value, checked before any host is contacted (exit 2 naming the flag). */
export function backupTypeOption(value: string | undefined): BackupType {
  if (value === undefined) return 'full';
  if (isBackupType(value)) return value;
  throw new UsageError(`--type must be one of ${BACKUP_TYPES.join(', ')}, not ${JSON.stringify(value)}`, {
    hint: 'full copies everything; diff what changed since the last full backup; incr since the last backup of any type',
  });
}

/** The backup `pgha backup` took: the newest whose label was not there before it ran. */
export function newBackup(before: StanzaInfo | undefined, after: StanzaInfo): BackupEntry | undefined {
  const had = new Set((before?.backups ?? []).map((b) => b.label));
  return [...after.backups].reverse().find((b) => !had.has(b.label));
}
