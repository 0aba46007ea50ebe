/**
 * Scheduled backups (issue 13): `pgbackrest_schedule` maps a backup type to a systemd OnCalendar
 * expression; on each repository host, every entry becomes a oneshot service running that backup
 * as postgres and a timer starting it. Timers, not cron: systemd logs each run in the journal,
 * `systemctl list-timers` shows the next one, and a timer that missed its time while the host was
 * down fires at boot (Persistent=).
 *
 * Only the timers are units deploy starts (the services run when their timer fires, never on a
 * deploy). An entry removed from the variable (null, or the variable unset) leaves files the
 * plan does not delete (it only writes files): the component's `unschedule` cluster step stops,
 * disables and removes those timers and their services on the next deploy.
 */
import { isPlainObject, stripNulls } from '../../model/merge.js';
import type { DesiredFile, ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { quote, type Command } from '../../transport/quote.js';
import { hasRole } from '../common.js';
import type { ClusterStep } from '../component.js';
import { BACKUP_TYPES, isBackupType, type BackupType } from './info.js';
import { PGBACKREST_UNIT } from './unit.js';
import { backedUpBy, stanzaOf } from './topology.js';

export const BACKUP_UNIT_PREFIX = 'pgha-pgbackrest-backup-';
const SYSTEMD_DIR = '/etc/systemd/system';

export const backupService = (type: BackupType) => `${BACKUP_UNIT_PREFIX}${type}.service`;
export const backupTimer = (type: BackupType) => `${BACKUP_UNIT_PREFIX}${type}.timer`;

/** The host's schedule, type → OnCalendar, in full, diff, incr order; nulls (removed entries) dropped. */
export function backupSchedule(host: ResolvedHost): { type: BackupType; calendar: string }[] {
  const raw = host.vars.pgbackrest_schedule;
  const map = isPlainObject(raw) ? stripNulls(raw) : {};
  return BACKUP_TYPES.flatMap((type) => {
    const v = map[type];
    return isBackupType(type) && typeof v === 'string' && v.trim() ? [{ type, calendar: v.trim() }] : [];
  });
}

/** Whether the host takes scheduled backups: a repository host backing up at least one data node. */
function schedules(cluster: ResolvedCluster, host: ResolvedHost): boolean {
  return hasRole(host, 'pgbackrest') && backedUpBy(cluster, host).length > 0;
}

/** The timers deploy starts (and enables) on the host, after the TLS server. */
export function backupTimers(cluster: ResolvedCluster, host: ResolvedHost): string[] {
  return schedules(cluster, host) ? backupSchedule(host).map((s) => backupTimer(s.type)) : [];
}

function serviceUnit(stanza: string, type: BackupType): string {
  return `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
# Set pgbackrest_schedule in config.yml instead.
[Unit]
Description=pgha: pgBackRest ${type} backup of stanza ${stanza}
After=network-online.target ${PGBACKREST_UNIT}
Wants=network-online.target

[Service]
Type=oneshot
User=postgres
Group=postgres
WorkingDirectory=/tmp
ExecStart=/usr/bin/pgbackrest --stanza=${stanza} --type=${type} backup
`;
}

function timerUnit(type: BackupType, calendar: string): string {
  return `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
# Set pgbackrest_schedule in config.yml instead.
[Unit]
Description=pgha: schedule of the pgBackRest ${type} backup

[Timer]
OnCalendar=${calendar}
Persistent=true
Unit=${backupService(type)}

[Install]
WantedBy=timers.target
`;
}

export function backupScheduleFiles(cluster: ResolvedCluster, host: ResolvedHost): DesiredFile[] {
  if (!schedules(cluster, host)) return [];
  const stanza = stanzaOf(cluster);
  return backupSchedule(host).flatMap(({ type, calendar }) => [
    { path: `${SYSTEMD_DIR}/${backupService(type)}`, content: serviceUnit(stanza, type), owner: 'root', group: 'root', mode: 0o644 },
    { path: `${SYSTEMD_DIR}/${backupTimer(type)}`, content: timerUnit(type, calendar), owner: 'root', group: 'root', mode: 0o644 },
  ]);
}

/**
 * Finds pgha's backup timers on the host that are not among `keep`, printing `changed` when there
 * is one; unless checkOnly, stops and disables each, removes it and its service, and reloads systemd.
 */
export function unscheduleCommand(keep: readonly string[], opts: { checkOnly?: boolean } = {}): Command {
  const intent = { kind: 'pgbackrest-unschedule', keep, checkOnly: opts.checkOnly === true } as const;
  const act = opts.checkOnly
    ? 'echo changed; exit 0'
    : 'echo changed; systemctl disable --now -q "$unit" || true; rm -f "$f" "${f%.timer}.service"; removed=1';
  const script = `set -uo pipefail
keep=${quote(` ${keep.join(' ')} `)}
removed=
for f in ${SYSTEMD_DIR}/${BACKUP_UNIT_PREFIX}*.timer; do
  [ -e "$f" ] || continue
  unit=\${f##*/}
  case "$keep" in *" $unit "*) continue ;; esac
  ${act}
done
[ -z "$removed" ] || systemctl daemon-reload
`;
  return { script, intent };
}

/** The step removing timers of entries the schedule no longer has, on each repository host. */
export function unscheduleStep(cluster: ResolvedCluster): ClusterStep {
  return {
    name: 'unschedule',
    on: { kind: 'role', role: 'pgbackrest' },
    title: 'pgBackRest backup schedule',
    describe: (host) => `stop and remove backup timers pgbackrest_schedule no longer names on ${host.name}`,
    check: (host) => unscheduleCommand(backupTimers(cluster, host), { checkOnly: true }),
    apply: (host) => unscheduleCommand(backupTimers(cluster, host)),
  };
}
