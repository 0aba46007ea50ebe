/**
 * pgBackRest's section of `pgha status` (issue 13): on the repository host, the last backup's
 * type and age (from `pgbackrest info`); on the data nodes, PostgreSQL's archiver
 * (pg_stat_archiver), of which the line shows the leader's: whether archive_command has failed
 * since it last succeeded. Both read by the component's state script, in the one SSH exec status
 * makes per host. That costs a session on each data node of a cluster with backups (none without):
 * which node leads is known only once the REST reads, made at the same time, answer.
 */
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { quote } from '../../transport/quote.js';
import { hasRole, num } from '../common.js';
import type { StatusSection, StatusView } from '../component.js';
import type { HostState } from '../health.js';
import { PINNED_SEARCH_PATH } from '../host-commands.js';
import { PG_SOCKET_DIR } from '../paths.js';
import { parseInfo } from './info.js';
import { durationText } from './report.js';
import { stanzaOf } from './topology.js';

/**
 * The archiver's counters and times (Unix seconds, the server's clock for `now`), one `|`-separated
 * line. The search_path is pinned twice over, as for every SQL pgha runs as the superuser
 * (../host-commands.ts): at connection start and by the SQL, with pg_catalog's names qualified.
 */
export const ARCHIVER_SQL = `set search_path = pg_catalog, pg_temp;
SELECT pg_catalog.pg_is_in_recovery(), a.archived_count, a.failed_count, a.last_archived_wal,
  pg_catalog.date_part('epoch', a.last_archived_time)::pg_catalog.int8,
  pg_catalog.date_part('epoch', a.last_failed_time)::pg_catalog.int8,
  pg_catalog.date_part('epoch', pg_catalog.now())::pg_catalog.int8
FROM pg_catalog.pg_stat_archiver a`;

/**
 * What the host reports: `pgbackrest info` on a repository host (its log kept off the JSON), the
 * archiver on a data node. psql -q: the SET's command tag (psql 15+ prints one per statement) is
 * not printed, and the row is read from the last line anyway.
 */
export function pgbackrestStateScript(cluster: ResolvedCluster, host: ResolvedHost): string {
  if (hasRole(host, 'pgbackrest')) {
    return `cd /tmp && runuser -u postgres -- pgbackrest --stanza=${quote(stanzaOf(cluster))} --output=json --log-level-console=off info 2>/dev/null`;
  }
  const port = num(host.vars, 'postgres_port');
  return `cd /tmp && ${PINNED_SEARCH_PATH} runuser -u postgres -- psql -X -q -At -F '|' -v ON_ERROR_STOP=1 -p ${port} -h ${PG_SOCKET_DIR} -d postgres -c ${quote(ARCHIVER_SQL)}`;
}

export interface LastBackup {
  label: string;
  type: string;
  /** When it finished, ISO UTC. */
  stop: string | null;
  /** Seconds since it finished, when status read it. */
  ageSec: number | null;
}

export interface ArchiverStatus {
  inRecovery: boolean;
  archivedCount: number;
  failedCount: number;
  lastArchivedWal: string | null;
  lastArchivedTime: string | null;
  lastFailedTime: string | null;
  /** No failure since the last success (or none at all): archive_command works as far as PostgreSQL knows. */
  working: boolean;
}

export interface PgbackrestStatus {
  host: string;
  /** The repository host, or a data node archiving into it. */
  kind: 'repository' | 'data-node';
  reachable: boolean;
  /** Repository: the stanza, its backup count and its newest backup (null: none yet). */
  stanza?: string;
  backups?: number;
  lastBackup?: LastBackup | null;
  /** Data node: whether it leads now, and its archiver. */
  leader?: boolean;
  archiver?: ArchiverStatus;
  error?: string;
}

const isoOf = (sec: string | undefined): string | null =>
  sec === undefined || sec === '' ? null : new Date(Number(sec) * 1000).toISOString().replace('.000Z', 'Z');

/** psql's row: in_recovery|archived|failed|last_wal|last_archived|last_failed|now. */
export function parseArchiverRow(text: string): ArchiverStatus {
  const line = text.trimEnd().split('\n').at(-1) ?? '';
  const f = line.split('|');
  if (f.length !== 7 || !/^[tf]$/.test(f[0]!)) throw new Error(`unexpected pg_stat_archiver row: ${line.slice(0, 120)}`);
  const archived = f[4] === '' ? null : Number(f[4]);
  const failed = f[5] === '' ? null : Number(f[5]);
  return {
    inRecovery: f[0] === 't',
    archivedCount: Number(f[1]),
    failedCount: Number(f[2]),
    lastArchivedWal: f[3] || null,
    lastArchivedTime: isoOf(f[4]),
    lastFailedTime: isoOf(f[5]),
    working: failed === null || (archived !== null && archived >= failed),
  };
}

/** The host's entry; `nowMs` is the controller's clock (backup ages). */
export function pgbackrestEntry(state: HostState, view: StatusView, nowMs: number): PgbackrestStatus {
  const h = state.host;
  const repository = hasRole(h, 'pgbackrest');
  const base: PgbackrestStatus = { host: h.name, kind: repository ? 'repository' : 'data-node', reachable: state.error === undefined };
  if (!repository) base.leader = view.leader === h.name;
  if (state.error !== undefined) return { ...base, error: state.error };
  const part = state.parts?.get('pgbackrest');
  if (!part) return { ...base, error: 'no state read' };
  const firstLine = part.text.trim().split('\n')[0] ?? '';
  try {
    if (repository) {
      if (part.rc !== 0) return { ...base, error: `pgbackrest info failed (exit ${part.rc})${firstLine ? `: ${firstLine}` : ''}` };
      // The state script asked for the cluster's stanza only: info's one entry.
      const info = parseInfo(part.text);
      const last = info.backups.at(-1);
      const stopMs = last?.stop ? Date.parse(last.stop) : NaN;
      return {
        ...base,
        stanza: info.stanza,
        backups: info.backups.length,
        lastBackup: last
          ? {
              label: last.label,
              type: last.type,
              stop: last.stop,
              ageSec: Number.isNaN(stopMs) ? null : Math.round((nowMs - stopMs) / 1000),
            }
          : null,
      };
    }
    if (part.rc !== 0) return { ...base, error: `psql failed (exit ${part.rc})${firstLine ? `: ${firstLine}` : ''}` };
    return { ...base, archiver: parseArchiverRow(part.text) };
  } catch (e) {
    return { ...base, error: (e as Error).message.split('\n')[0]! };
  }
}

/** Archiving as the leader's archiver says; `unknown` when the leader's state was not read. */
function archivingText(entries: readonly PgbackrestStatus[]): string {
  const leader = entries.find((e) => e.kind === 'data-node' && e.leader);
  if (!leader) return 'archiving: unknown (no leader)';
  const a = leader.archiver;
  if (!a) return `archiving on ${leader.host}: unknown (${leader.error ?? 'not read'})`;
  if (!a.working) {
    return `archiving on ${leader.host}: FAILING (${a.failedCount} failed, last at ${a.lastFailedTime ?? '?'}; last success ${a.lastArchivedTime ?? 'never'})`;
  }
  if (a.lastArchivedWal === null) return `archiving on ${leader.host}: ok, nothing archived yet`;
  return `archiving on ${leader.host}: ok, last ${a.lastArchivedWal} at ${a.lastArchivedTime ?? '?'}`;
}

/** `pgBackRest backup1: last backup full 2 h 05 min ago (…F); archiving on pg1: ok, last … at …`, one line per repository host. */
export function pgbackrestLines(entries: readonly PgbackrestStatus[]): string[] {
  const archiving = archivingText(entries);
  return entries
    .filter((e) => e.kind === 'repository')
    .map((r) => {
      if (r.error) return `pgBackRest ${r.host}: ${r.reachable ? '' : 'unreachable: '}${r.error}; ${archiving}`;
      const b = r.lastBackup;
      const backup = b ? `last backup ${b.type} ${durationText(b.ageSec)} ago (${b.label})` : 'no backup yet';
      return `pgBackRest ${r.host}: ${backup}; ${archiving}`;
    });
}

export const pgbackrestStatus: StatusSection<PgbackrestStatus> = {
  read: (state, view) => pgbackrestEntry(state, view, Date.now()),
  lines: pgbackrestLines,
};
