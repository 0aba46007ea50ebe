/**
 * The newest backup's metric name, alone in its file: pgha's exporter bundle (which reads the
 * metric back from the repository host's node_exporter) imports it without pulling in what
 * renders the timer that writes it (./metrics.ts).
 */
export const BACKUP_METRIC = 'pgha_pgbackrest_last_backup_timestamp_seconds';
