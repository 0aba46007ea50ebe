/**
 * pgBackRest: the repository on hosts with role `pgbackrest`, and on every data node whose
 * `backup` names one, WAL archiving and its TLS server. Inert unless config.yml names a backup
 * host: no other host runs it, and Patroni's settings gain nothing (../patroni/archiving.ts).
 */
import { hasRole, optStr } from '../common.js';
import { pinned, portOf, unitOfSystemdPath, type WithStatus } from '../component.js';
import { PGBACKREST_CONF_DIR, PGBACKREST_SSL_DIR, pgbackrestConfFiles } from './config.js';
import { pgbackrestHealth } from './health.js';
import { BACKUP_UNIT_PREFIX, backupScheduleFiles, backupTimers, unscheduleStep } from './schedule.js';
import { BACKUP_METRICS_TIMER, backupMetricsFiles, writesBackupMetrics } from './metrics.js';
import { stanzaHosts, stanzaStep } from './stanza.js';
import { pgbackrestStateScript, pgbackrestStatus, type PgbackrestStatus } from './status.js';
import { runsPgbackrest } from './topology.js';
import { PGBACKREST_TMPFILES, PGBACKREST_UNIT, pgbackrestUnitFiles } from './unit.js';

export const pgbackrest: WithStatus<'pgbackrest', PgbackrestStatus> = {
  name: 'pgbackrest',
  runsOn: runsPgbackrest,
  // Debian ships it on both releases (2.45 on 12, 2.55.1 on 13): one name, any version.
  packages: (host) => [pinned('pgbackrest', optStr(host.vars, 'pgbackrest_package_version'))],
  files: (cluster, host, ctx) => [
    ...pgbackrestConfFiles(cluster, host, ctx.inputs),
    ...pgbackrestUnitFiles(cluster, host),
    ...backupScheduleFiles(cluster, host),
    ...backupMetricsFiles(cluster, host),
  ],
  // The backup timers (./schedule.ts) on a repository host; their services run when they fire.
  // The metrics timer only where a monitoring host reads it (./metrics.ts); the oneshot it starts
  // reads its script afresh each run, so a changed script needs nothing.
  units: (cluster, host) => [
    PGBACKREST_UNIT,
    ...backupTimers(cluster, host),
    ...(writesBackupMetrics(cluster, host) ? [BACKUP_METRICS_TIMER] : []),
  ],
  // The server reads its configuration and certificates at start; a restart costs an archive-push
  // in flight one retry (PostgreSQL calls archive_command again), nothing more.
  reactions: (_cluster, path) => {
    const unit = unitOfSystemdPath(path);
    if (unit === PGBACKREST_UNIT || path === PGBACKREST_TMPFILES || path.startsWith(`${PGBACKREST_CONF_DIR}/`)) {
      return [{ unit: PGBACKREST_UNIT, how: 'restart' }];
    }
    // A timer takes a new OnCalendar on restart; a backup service is read when it next runs (daemon-reload is enough).
    if (unit?.startsWith(BACKUP_UNIT_PREFIX) && unit.endsWith('.timer')) return [{ unit, how: 'restart' }];
    return [];
  },
  // Before etcd and Patroni: replicas restored, WAL archived and the stanza created while the
  // cluster forms dial these servers; down, each pgBackRest call retries for io-timeout (60 s) first.
  formation: 'early',
  ports: () => [portOf('pgbackrest_port', 'the pgBackRest TLS server')],
  privateDirs: { [PGBACKREST_SSL_DIR]: { owner: 'postgres', group: 'postgres', mode: 0o750 } },
  health: pgbackrestHealth,
  // The repository host dials the data nodes' TLS servers to back up, and they dial it to archive.
  dialsWithHostCert: () => true,
  // The last backup on the repository host, the archiver on the data nodes (./status.ts).
  stateScript: pgbackrestStateScript,
  status: pgbackrestStatus,
  // Only where a data node names a repository: a lone one has no database to make a stanza of.
  // Then the backup timers the schedule no longer names are removed (./schedule.ts): on every
  // repository host, also one no data node names any more, whose timers would only fail.
  clusterSteps: (cluster) => [
    ...(stanzaHosts(cluster).length ? [stanzaStep(cluster)] : []),
    ...(cluster.hosts.some((h) => hasRole(h, 'pgbackrest')) ? [unscheduleStep(cluster)] : []),
  ],
};
