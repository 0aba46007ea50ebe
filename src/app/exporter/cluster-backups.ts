/**
 * What a cluster round adds for backups and WAL archiving (issue 15), where the cluster has a
 * pgBackRest repository: the newest backup's end time as the repository host's node_exporter
 * serves it (../../components/pgbackrest/metrics.ts writes it there), and each data node's
 * archiver counters as its postgres_exporter serves them (pg_stat_archiver). Pure: the pages
 * read (or nothing, for a target that did not answer) in, families out; a target that did not
 * answer is its own `…_up` 0, and its other samples are absent rather than made up.
 */
import { BACKUP_METRIC } from '../../components/pgbackrest/backup-metric.js';
import { pageValue, type Answer } from './cluster-extras.js';
import type { MetricFamily, Sample } from './exposition.js';

export interface BackupRead {
  /** The repository host. */
  host: string;
  /** Its node_exporter's /metrics. */
  metrics: Answer;
}

export interface ArchiveRead {
  member: string;
  /** Its postgres_exporter's /metrics. */
  metrics: Answer;
}

function value(a: Answer, metric: string): number | undefined {
  return a?.status === 200 ? pageValue(a.text, metric) : undefined;
}

export function backupFamilies(scope: string, reads: readonly BackupRead[], nowSeconds: number): MetricFamily[] {
  const ends = reads.map((r) => ({ r, end: value(r.metrics, BACKUP_METRIC) }));
  const labels = (r: BackupRead) => ({ scope, host: r.host });
  return [
    {
      name: 'pgha_backup_metrics_up',
      help: "1 when the repository host's node_exporter answered with the newest backup's time, 0 when it did not.",
      type: 'gauge',
      samples: ends.map(({ r, end }) => ({ labels: labels(r), value: end === undefined ? 0 : 1 })),
    },
    {
      name: 'pgha_backup_last_end_timestamp_seconds',
      help: 'When the newest backup in the repository ended (seconds since the epoch; 0: there is none).',
      type: 'gauge',
      samples: ends.flatMap(({ r, end }): Sample[] => (end === undefined ? [] : [{ labels: labels(r), value: end }])),
    },
    {
      name: 'pgha_backup_age_seconds',
      help: 'How long ago the newest backup in the repository ended, at scrape time (absent while there is none).',
      type: 'gauge',
      samples: ends.flatMap(({ r, end }): Sample[] =>
        end === undefined || end <= 0 ? [] : [{ labels: labels(r), value: Math.max(0, nowSeconds - end) }],
      ),
    },
  ];
}

export function archiveFamilies(scope: string, reads: readonly ArchiveRead[]): MetricFamily[] {
  const labels = (r: ArchiveRead) => ({ scope, member: r.member });
  const counter = (name: string, help: string, metric: string): MetricFamily => ({
    name,
    help,
    type: 'counter',
    samples: reads.flatMap((r): Sample[] => {
      const v = value(r.metrics, metric);
      return v === undefined ? [] : [{ labels: labels(r), value: v }];
    }),
  });
  return [
    {
      name: 'pgha_postgres_exporter_up',
      help: "1 when the data node's postgres_exporter answered, 0 when it did not.",
      type: 'gauge',
      samples: reads.map((r) => ({ labels: labels(r), value: r.metrics?.status === 200 ? 1 : 0 })),
    },
    counter(
      'pgha_wal_archived_total',
      'WAL segments the member archived since its statistics were reset (pg_stat_archiver).',
      'pg_stat_archiver_archived_count',
    ),
    counter(
      'pgha_wal_archive_failures_total',
      'Failed archive_command runs on the member since its statistics were reset (pg_stat_archiver): rising while pgha_wal_archived_total does not means archiving is broken.',
      'pg_stat_archiver_failed_count',
    ),
  ];
}
