/**
 * How `pgha backup`, `pgha backups` and `pgha status` print what `pgbackrest info` says (./info.ts):
 * pure text from plain data, times in ISO 8601 UTC (what `-o json` prints too), sizes in binary
 * units as pgBackRest's own text output uses.
 */
import type { BackupEntry, StanzaInfo } from './info.js';

/** Bytes as `30.1 MiB`; `-` when pgBackRest did not say. */
export function sizeText(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Seconds as `7 s`, `3 min 12 s`, `2 h 05 min`, `3 d 4 h`: as precise as an operator reads it. */
export function durationText(sec: number | null): string {
  if (sec === null) return '-';
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

const wal = (b: BackupEntry) => (b.walStart === null ? '-' : b.walStart === b.walStop ? b.walStart : `${b.walStart} … ${b.walStop ?? '?'}`);

/** `pgha backup`'s report of the backup it took. */
export function backupReport(b: BackupEntry, stanza: string, repoHost: string): string {
  const lines = [
    `${b.type} backup ${b.label} of stanza ${stanza} on ${repoHost}, taken in ${durationText(b.durationSec)}`,
    `  started:    ${b.start ?? '-'}`,
    `  stopped:    ${b.stop ?? '-'}`,
    `  database:   ${sizeText(b.databaseSize)} (${sizeText(b.databaseDelta)} copied)`,
    `  repository: ${sizeText(b.repositorySize)} (${sizeText(b.repositoryDelta)} added)`,
    `  WAL:        ${wal(b)}`,
  ];
  if (b.prior) lines.push(`  based on:   ${b.prior}`);
  if (b.error) lines.push('  warning: pgBackRest found page checksum errors while copying (see its log on the repository host)');
  return `${lines.join('\n')}\n`;
}

/** `pgha backups`'s table: one row per backup, oldest first, then the restorable window and the WAL archive. */
export function backupsTable(info: StanzaInfo, repoHost: string): string {
  const out: string[] = [];
  if (!info.backups.length) {
    out.push(`no backup yet in stanza ${info.stanza} on ${repoHost}${info.statusMessage ? ` (pgBackRest: ${info.statusMessage})` : ''}`);
  } else {
    const head = ['Label', 'Type', 'Start (UTC)', 'Stop (UTC)', 'Database', 'Repository', 'WAL start', 'WAL stop'];
    const rows = info.backups.map((b) => [
      b.label,
      b.type,
      b.start ?? '-',
      b.stop ?? '-',
      sizeText(b.databaseSize),
      sizeText(b.repositorySize),
      b.walStart ?? '-',
      b.walStop ?? '-',
    ]);
    const right = new Set([4, 5]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    out.push(`stanza ${info.stanza} on ${repoHost}: ${info.backups.length} backup${info.backups.length === 1 ? '' : 's'}`);
    out.push(line(head), ...rows.map(line));
    out.push(
      `restorable: from ${info.earliestRestore ?? '?'} to ${info.latestRestore ?? '?'} (the last backup's end), and on with the WAL archived since`,
    );
  }
  out.push(`WAL archive: ${info.walMin === null ? 'empty' : `${info.walMin} … ${info.walMax ?? '?'}`}`);
  if (info.statusCode !== null && info.statusCode !== 0 && info.backups.length)
    out.push(`pgBackRest status: ${info.statusMessage ?? info.statusCode}`);
  return `${out.join('\n')}\n`;
}
