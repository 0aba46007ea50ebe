/**
 * The age of the newest backup as a metric, for the monitoring host's BackupTooOld rule (issue
 * 15): on a repository host of a monitored cluster, a timer runs `pgbackrest info` every five
 * minutes and writes the newest backup's end time into node_exporter's textfile directory
 * (Debian ships no pgBackRest exporter). No backup yet is written as 0, so the rule fires: a
 * cluster without a backup is one to be warned about.
 */
import type { DesiredFile, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { hasRole } from '../common.js';
import { TEXTFILE_DIR } from '../monitoring/exporters.js';
import { isMonitored } from '../monitoring/topology.js';
import { quote } from '../../transport/quote.js';
import { stanzaOf } from './topology.js';

import { BACKUP_METRIC } from './backup-metric.js';

export { BACKUP_METRIC };
export const BACKUP_METRICS_SERVICE = 'pgha-pgbackrest-metrics.service';
export const BACKUP_METRICS_TIMER = 'pgha-pgbackrest-metrics.timer';
export const BACKUP_METRICS_SCRIPT = '/usr/local/lib/pgha/pgbackrest-metrics';

/** Whether the host writes the backup metric: a repository host, while a monitoring host scrapes it. */
export function writesBackupMetrics(cluster: ResolvedCluster, host: ResolvedHost): boolean {
  return hasRole(host, 'pgbackrest') && isMonitored(cluster);
}

function script(stanza: string): string {
  const out = `${TEXTFILE_DIR}/pgha-pgbackrest.prom`;
  // Every numeric "stop" of pgBackRest's JSON is a backup's end time (its LSNs are strings), so
  // the largest is the newest backup's, without a JSON parser on the host.
  return `#!/bin/sh
# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
set -eu
json=$(runuser -u postgres -- pgbackrest --stanza=${quote(stanza)} --output=json info)
stop=$(printf '%s' "$json" | grep -o '"stop":[0-9][0-9]*' | cut -d: -f2 | sort -n | tail -n 1)
mkdir -p ${TEXTFILE_DIR}
tmp=$(mktemp ${out}.XXXXXX)
{
  echo '# HELP ${BACKUP_METRIC} When the newest backup in the repository ended (Unix time; 0: none yet).'
  echo '# TYPE ${BACKUP_METRIC} gauge'
  echo "${BACKUP_METRIC}{stanza=\\"${stanza}\\"} \${stop:-0}"
} > "$tmp"
chmod 0644 "$tmp"
mv "$tmp" ${out}
`;
}

const SERVICE = `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
[Unit]
Description=pgha: the newest pgBackRest backup's time, for node_exporter
After=network-online.target

[Service]
Type=oneshot
ExecStart=${BACKUP_METRICS_SCRIPT}
`;

const TIMER = `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
[Unit]
Description=pgha: the newest pgBackRest backup's time, every five minutes

[Timer]
OnActiveSec=10s
OnUnitActiveSec=5min

[Install]
WantedBy=timers.target
`;

export function backupMetricsFiles(cluster: ResolvedCluster, host: ResolvedHost): DesiredFile[] {
  if (!writesBackupMetrics(cluster, host)) return [];
  return [
    { path: BACKUP_METRICS_SCRIPT, content: script(stanzaOf(cluster)), owner: 'root', group: 'root', mode: 0o755 },
    { path: `/etc/systemd/system/${BACKUP_METRICS_SERVICE}`, content: SERVICE, owner: 'root', group: 'root', mode: 0o644 },
    { path: `/etc/systemd/system/${BACKUP_METRICS_TIMER}`, content: TIMER, owner: 'root', group: 'root', mode: 0o644 },
  ];
}
