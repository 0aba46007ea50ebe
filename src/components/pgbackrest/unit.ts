/**
 * The unit running `pgbackrest server`, pgBackRest's TLS server, on every host that runs
 * pgBackRest. Debian's package ships the binary and no unit for it, so pgha writes its own, and
 * a tmpfiles.d entry for the directories pgBackRest writes (the unit creates them before it starts).
 */
import type { DesiredFile, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { PGBACKREST_CONF, pgbackrestDirs } from './config.js';

export const PGBACKREST_UNIT = 'pgha-pgbackrest.service';
export const PGBACKREST_UNIT_FILE = `/etc/systemd/system/${PGBACKREST_UNIT}`;
export const PGBACKREST_TMPFILES = '/etc/tmpfiles.d/pgha-pgbackrest.conf';

const UNIT = `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
[Unit]
Description=pgha: pgBackRest TLS server
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=postgres
Group=postgres
# "+": as root, so the directories exist (owned by postgres) before the server runs.
ExecStartPre=+/usr/bin/systemd-tmpfiles --create ${PGBACKREST_TMPFILES}
ExecStart=/usr/bin/pgbackrest --config=${PGBACKREST_CONF} server
Restart=always
RestartSec=2s

[Install]
WantedBy=multi-user.target
`;

function tmpfiles(dirs: string[]): string {
  const lines = ['# Managed by pgha: directories pgBackRest writes, created by pgha-pgbackrest.service.'];
  for (const dir of dirs) lines.push(`d ${dir} 0750 postgres postgres -`);
  return `${lines.join('\n')}\n`;
}

export function pgbackrestUnitFiles(cluster: ResolvedCluster, host: ResolvedHost): DesiredFile[] {
  return [
    { path: PGBACKREST_TMPFILES, content: tmpfiles(pgbackrestDirs(cluster, host)), owner: 'root', group: 'root', mode: 0o644 },
    { path: PGBACKREST_UNIT_FILE, content: UNIT, owner: 'root', group: 'root', mode: 0o644 },
  ];
}
