/**
 * The host side of `pgha restore` (issue 13): commands as data, each safe to run again after a
 * restore killed half way (docs/architecture.md#security-invariants for how they are quoted).
 *
 * Why PostgreSQL is started by hand on the node that will lead, and not by Patroni: recovery to
 * a target must run to its end and promote exactly once, with pgBackRest's recovery settings in
 * force. A Patroni that saw those settings would rewrite them (it owns recovery configuration)
 * and start the node as a replica of whatever the DCS names. So: pgBackRest restores, PostgreSQL
 * recovers and promotes under pg_ctl, the recovery settings are reset, PostgreSQL stops cleanly,
 * and only then does Patroni take the node over, as the first member of a cluster whose DCS
 * state was forgotten.
 */
import type { ResolvedHost } from '../../model/types.js';
import { quote, type Command } from '../../transport/quote.js';
import { num, str } from '../common.js';
import { PG_SOCKET_DIR } from '../paths.js';

/** Where the recovery started by hand logs: beside PostgreSQL's own logs, kept for the operator. */
export const RESTORE_LOG = '/var/log/postgresql/pgha-restore.log';

/** How long recovery may take before pgha gives up waiting (it keeps running on the host). */
const RECOVERY_TIMEOUT_SEC = 6 * 3600;

function pgPaths(host: ResolvedHost): { bin: string; data: string; port: number } {
  return { bin: str(host.vars, 'postgres_bin_dir'), data: str(host.vars, 'postgres_data_dir'), port: num(host.vars, 'postgres_port') };
}

/** pg_ctl as postgres, from /tmp (runuser keeps root's working directory, which postgres may not read). */
function pgCtl(bin: string, data: string): string {
  return `runuser -u postgres -- ${quote(`${bin}/pg_ctl`)} -D ${quote(data)}`;
}

/**
 * Stop Patroni, then PostgreSQL: Debian's patroni@.service has KillMode=process, so stopping
 * Patroni leaves PostgreSQL running (on purpose, for Patroni's own restarts). Prints `stopped`
 * when anything was running.
 */
export function stopMemberCommand(host: ResolvedHost, patroniUnit: string): Command {
  const { bin, data } = pgPaths(host);
  const script = `set -euo pipefail
cd /tmp
if systemctl is-active --quiet ${quote(patroniUnit)}; then systemctl stop ${quote(patroniUnit)}; echo stopped; fi
if [ -d ${quote(data)} ] && ${pgCtl(bin, data)} status >/dev/null 2>&1; then
  ${pgCtl(bin, data)} stop -m fast -w -t 300 >&2
  echo stopped
fi
`;
  return { script, timeoutSec: 420, intent: { kind: 'stop-member', unit: patroniUnit } };
}

/**
 * pgBackRest restores the data directory (`--delta`: only what differs is copied), with the
 * recovery target as its recovery settings. A standby.signal left by Patroni would make
 * PostgreSQL a standby forever instead of recovering to the target: it goes first.
 */
export function restoreDataCommand(host: ResolvedHost, stanza: string, targetArgs: readonly string[]): Command {
  const { data } = pgPaths(host);
  const args = [`--stanza=${stanza}`, '--delta', ...targetArgs, 'restore'].map(quote).join(' ');
  const script = `set -euo pipefail
cd /tmp
install -d -o postgres -g postgres -m 0700 ${quote(data)}
rm -f ${quote(`${data}/standby.signal`)}
runuser -u postgres -- pgbackrest ${args} >&2
`;
  return { script, timeoutSec: RECOVERY_TIMEOUT_SEC };
}

/**
 * The settings the hand-started recovery overrides on PostgreSQL's command line (pg_ctl -o,
 * which a shell splits), because the restored postgresql.conf is Patroni's file from the host
 * the backup was taken on: in a clone, that host's addresses, its data directory's hba and ident
 * files, its port and its stanza. This host's own values instead, and no TCP listener at all:
 * nobody but pgha needs the node before Patroni takes it over (psql comes over the socket).
 */
export function recoveryServerOptions(host: ResolvedHost, stanza: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(stanza)) throw new Error(`bug: stanza ${JSON.stringify(stanza)} is not a plain name`);
  const { data, port } = pgPaths(host);
  const settings = [
    'listen_addresses=',
    `port=${port}`,
    `hba_file=${data}/pg_hba.conf`,
    `ident_file=${data}/pg_ident.conf`,
    `archive_command=pgbackrest --stanza=${stanza} archive-push %p`,
  ];
  return settings.map((kv) => `-c ${quote(kv)}`).join(' ');
}

/**
 * Start PostgreSQL by hand and wait until it has recovered to the target and promoted. When
 * recovery ends before the target (a time after the last archived WAL, say), PostgreSQL stops
 * itself: the command fails with the log's last lines. Then the recovery settings pgBackRest
 * wrote into postgresql.auto.conf are reset (left there, they would apply again the next time
 * this node recovers, as a replica), and PostgreSQL stops cleanly. ALTER SYSTEM names no
 * relation, so no role's schema can shadow anything in it. Prints the new timeline.
 */
export function recoverCommand(host: ResolvedHost, stanza: string): Command {
  const { bin, data, port } = pgPaths(host);
  const psql = `runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -p ${port} -h ${PG_SOCKET_DIR} -d postgres`;
  const script = `set -uo pipefail
cd /tmp
log=${quote(RESTORE_LOG)}
install -o postgres -g postgres -m 0640 /dev/null "$log"
fail() { echo "$1" >&2; tail -n 15 "$log" >&2; exit 1; }
if ! ${pgCtl(bin, data)} status >/dev/null 2>&1; then
  ${pgCtl(bin, data)} -l "$log" -o ${quote(recoveryServerOptions(host, stanza))} -w -t ${RECOVERY_TIMEOUT_SEC} start >&2 || fail "PostgreSQL did not start to recover"
fi
until [ "$(${psql} -c 'select pg_catalog.pg_is_in_recovery()' 2>/dev/null)" = f ]; do
  ${pgCtl(bin, data)} status >/dev/null 2>&1 || fail "PostgreSQL stopped before it reached the target: the archive ends before it (see ${RESTORE_LOG}); restore to an earlier target, or to everything archived with --latest"
  sleep 1
done
${psql} -c 'alter system reset restore_command' -c 'alter system reset recovery_target_time' \\
  -c 'alter system reset recovery_target_lsn' -c 'alter system reset recovery_target_name' \\
  -c 'alter system reset recovery_target_action' -c 'alter system reset recovery_target' \\
  -c 'alter system reset recovery_target_xid' -c 'alter system reset recovery_target_inclusive' \\
  -c 'alter system reset recovery_target_timeline' >&2 || fail "could not reset the recovery settings"
${psql} -c 'checkpoint' >&2
${psql} -c 'select timeline_id from pg_catalog.pg_control_checkpoint()'
${pgCtl(bin, data)} stop -m fast -w -t 300 >&2
`;
  return { script, timeoutSec: RECOVERY_TIMEOUT_SEC + 600 };
}

/**
 * On the live leader, before anything stops: close the current WAL segment and wait until the
 * archiver has pushed it. The segment being written is archived only once it is full or
 * switched, so without this the latest commits (those just before a recent target, or every one
 * after it that recovery needs to see to know it has passed the target) would be missing from the
 * repository, and recovery would end short of the target. `txid_current()` writes a commit
 * record first, so the switch always closes a segment.
 */
export function flushArchiveCommand(host: ResolvedHost, timeoutSec = 120): Command {
  const { port } = pgPaths(host);
  const psql = `runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -p ${port} -h ${PG_SOCKET_DIR} -d postgres`;
  const script = `set -euo pipefail
cd /tmp
${psql} -c 'select pg_catalog.txid_current()' >/dev/null
seg=$(${psql} -c 'select pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())')
end=$((SECONDS + ${timeoutSec}))
until [ "$(${psql} -c "select coalesce(last_archived_wal, '') >= '$seg' from pg_catalog.pg_stat_archiver")" = t ]; do
  if [ "$SECONDS" -ge "$end" ]; then
    echo "WAL segment $seg was not archived within ${timeoutSec} s; pg_stat_archiver says:" >&2
    ${psql} -c 'select * from pg_catalog.pg_stat_archiver' >&2
    exit 1
  fi
  sleep 0.5
done
echo "$seg"
`;
  return { script, timeoutSec: timeoutSec + 60 };
}

/** Empty a replica's data directory, so Patroni builds it again (from the repository first). */
export function emptyDataCommand(host: ResolvedHost): Command {
  const { data } = pgPaths(host);
  return { script: `set -euo pipefail\n[ ! -d ${quote(data)} ] || find ${quote(data)} -mindepth 1 -delete\n` };
}

/** Start the member's Patroni (it was stopped by stopMemberCommand). */
export function startPatroniCommand(patroniUnit: string): Command {
  return { script: `systemctl start ${quote(patroniUnit)}` };
}
