/**
 * What the repository says it can restore: `pgbackrest info --output=json` on the repository
 * host, read for the restore's refusals.
 */
import { RuntimeError } from '../../errors.js';
import { quote } from '../../transport/quote.js';
import { run, type Transport } from '../../transport/types.js';

export interface RepositoryBackup {
  label: string;
  /** Epoch seconds: pgBackRest's `timestamp.stop`, when the backup became consistent. */
  stop: number;
}

/** One stanza of `pgbackrest info --output=json`, as far as a restore reads it. */
export interface StanzaInfo {
  name: string;
  backup: RepositoryBackup[];
  /** The newest timeline the archive holds WAL of (from each archive's `max` segment name). */
  timeline: number | undefined;
}

/** A WAL segment's timeline: its name's first eight hex digits. */
export function timelineOfSegment(segment: string): number | undefined {
  return /^[0-9A-F]{24}$/i.test(segment) ? parseInt(segment.slice(0, 8), 16) : undefined;
}

export async function readRepository(t: Transport, stanza: string): Promise<StanzaInfo> {
  const r = await run(
    t,
    { script: `cd /tmp && runuser -u postgres -- pgbackrest --stanza=${quote(stanza)} --output=json info` },
    'pgbackrest info',
  );
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new RuntimeError(`pgbackrest info printed something that is not JSON: ${r.stdout.slice(0, 200)}`, {
      where: `${t.host}: pgbackrest info`,
    });
  }
  const entry = (Array.isArray(doc) ? (doc as unknown[]) : []).find((s) => (s as { name?: unknown }).name === stanza) as
    { backup?: { label?: unknown; timestamp?: { stop?: unknown } }[]; archive?: { max?: unknown }[] } | undefined;
  const backup = (entry?.backup ?? [])
    .filter((b) => typeof b.label === 'string' && typeof b.timestamp?.stop === 'number')
    .map((b) => ({ label: b.label as string, stop: b.timestamp!.stop as number }));
  const timelines = (entry?.archive ?? []).map((a) => (typeof a.max === 'string' ? timelineOfSegment(a.max) : undefined));
  const known = timelines.filter((t): t is number => t !== undefined);
  return { name: stanza, backup, timeline: known.length ? Math.max(...known) : undefined };
}

/**
 * The earliest restorable time: the end of the oldest backup, the first moment a restore can be
 * consistent at. Undefined when there is no backup.
 */
export function restorable(info: StanzaInfo): { earliest: Date; earliestLabel: string } | undefined {
  const oldest = [...info.backup].sort((a, b) => a.stop - b.stop)[0];
  return oldest ? { earliest: new Date(oldest.stop * 1000), earliestLabel: oldest.label } : undefined;
}
