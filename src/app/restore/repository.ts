/**
 * What the repository says it can restore, read for the restore's refusals from `pgbackrest
 * info` (../backups.ts reads it, ../../components/pgbackrest/info.ts parses it).
 */
import type { StanzaInfo } from '../../components/pgbackrest/info.js';

/** A WAL segment's timeline: its name's first eight hex digits. */
export function timelineOfSegment(segment: string | null): number | undefined {
  return segment !== null && /^[0-9A-F]{24}$/i.test(segment) ? parseInt(segment.slice(0, 8), 16) : undefined;
}

/**
 * The earliest restorable time (the end of the oldest backup, the first moment a restore can
 * be consistent at) and the newest timeline the archive holds WAL of. Undefined without a backup.
 */
export function restorable(info: StanzaInfo): { earliest: Date; earliestLabel: string; timeline: number | undefined } | undefined {
  const oldest = info.backups.find((b) => b.stop !== null);
  return oldest ? { earliest: new Date(oldest.stop!), earliestLabel: oldest.label, timeline: timelineOfSegment(info.walMax) } : undefined;
}
