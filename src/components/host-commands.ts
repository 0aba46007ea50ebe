/**
 * Commands deploy runs on hosts, as data (docs/architecture.md#security-invariants, "Commands as data"). Pure: each returns a
 * Command whose script holds no secret; secrets travel on stdin.
 */
import { QUIET_SESSION_SQL } from './postgres/quiet-session.js';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { quote, sh, type Command } from '../transport/quote.js';

/**
 * Install packages without Debian's install-time side effects (docs/architecture.md#security-invariants); deploy has already
 * written the pre-install files (createcluster.d: no <major>/main; etcd's drop-in):
 * - a policy-rc.d that forbids starting services while dpkg runs, so etcd does not start a
 *   one-node member in /var/lib/etcd/default, nor HAProxy or PgBouncer with Debian's configs;
 * - our own conffiles win (`--force-confold`), and Debian's ZooKeeper `dcs.yml` sample and the
 *   non-template `patroni.service` are set aside.
 */
export function installPackagesCommand(args: readonly string[], opts: { onlySourceList?: string } = {}): Command {
  // With a local repository as the only source, apt reads that one list and no other.
  // A run killed mid-install leaves its apt-get running on the host: wait for its lock.
  const lock = '-o DPkg::Lock::Timeout=600';
  const apt = opts.onlySourceList
    ? `apt-get ${lock} -o Dir::Etc::SourceList=${quote(opts.onlySourceList)} -o Dir::Etc::SourceParts=-`
    : `apt-get ${lock}`;
  // Only undo what this install brought: a host that does not get patroni or etcd-server here may
  // run them on purpose (set up by hand or by another tool), and must keep its unit and data.
  const installed = new Set(args.map((a) => a.split('=')[0]));
  const afterInstall: string[] = [];
  if (installed.has('patroni')) {
    afterInstall.push(
      'rm -f /etc/patroni/dcs.yml',
      'if [ -e /lib/systemd/system/patroni.service ]; then systemctl disable --now patroni.service >/dev/null 2>&1 || true; fi',
    );
  }
  if (installed.has('etcd-server')) {
    afterInstall.push('if [ -d /var/lib/etcd/default ] && ! systemctl is-active -q etcd; then rm -rf /var/lib/etcd/default; fi');
  }
  const script = `set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT HUP INT TERM
# An earlier run killed mid-install leaves dpkg half-done; finish that first.
# (Its apt-get may still be running: wait for it. No psmisc/procps on minimal hosts: read /proc.)
for i in $(seq 600); do
  busy=; for c in /proc/[0-9]*/comm; do case $(cat "$c" 2>/dev/null) in apt-get|dpkg|apt) busy=1;; esac; done
  [ -z "$busy" ] && break; sleep 1
done
dpkg --configure -a >/dev/null
${apt} update -qq -o Acquire::Retries=3 >/dev/null
${apt} install -y -qq --no-install-recommends --allow-downgrades -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef ${args.map(quote).join(' ')} >/dev/null
${afterInstall.join('\n')}
`;
  return { script, intent: { kind: 'install-packages', packages: args } };
}

/** Start (and enable) units that are not running yet; `--no-block` so peers can start together. */
export function startUnitsCommand(units: readonly string[], opts: { noBlock?: boolean } = {}): Command {
  const start = opts.noBlock ? sh`systemctl start --no-block ${units}` : sh`systemctl start ${units}`;
  return { script: `set -e\n${sh`systemctl enable -q ${units}`}\n${start}`, intent: { kind: 'systemctl', op: 'start', units } };
}

export function restartUnitCommand(unit: string): Command {
  return { script: sh`systemctl restart ${unit}`, intent: { kind: 'systemctl', op: 'restart', units: [unit] } };
}

/** HAProxy's reload hands listening sockets to the new process: established sessions survive. */
export function reloadUnitCommand(unit: string): Command {
  return { script: sh`systemctl reload-or-restart ${unit}`, intent: { kind: 'systemctl', op: 'reload', units: [unit] } };
}

/** `systemctl daemon-reload` when unit files or drop-ins changed. */
export function daemonReloadCommand(): Command {
  return { script: 'systemctl daemon-reload', intent: { kind: 'systemctl', op: 'daemon-reload', units: [] } };
}

/**
 * PostgreSQL's SCRAM-SHA-256 verifier for a password. The salt is derived from the password, so
 * the same password always gives the same verifier and deploy can tell, by comparing
 * pg_authid.rolpassword, whether anything needs to change; the plain password never reaches
 * PostgreSQL, its logs or its catalog.
 */
export function scramVerifier(user: string, password: string, iterations = 4096): string {
  const salt = createHmac('sha256', password).update(`pgha-scram-salt:${user}`).digest().subarray(0, 16);
  return scramVerifierWith(password, salt, iterations);
}

/** The SCRAM-SHA-256 verifier of `password` with this salt and iteration count, in PostgreSQL's format. */
export function scramVerifierWith(password: string, salt: Buffer, iterations: number): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Session settings for every psql pgha runs as the superuser. Other roles own databases (and may
 * create schemas, functions and operators in them); an unqualified name or operator in pgha's SQL
 * would resolve to theirs and run with superuser rights. So the search_path is pinned at connection
 * start (a startup option beats ALTER DATABASE/ROLE ... SET), and the SQL itself names
 * pg_catalog's objects and operators explicitly: either alone would do, both are kept on purpose.
 */
export const PINNED_SEARCH_PATH = "PGOPTIONS='-c search_path=pg_catalog,pg_temp'";

/** `a OPERATOR(pg_catalog.=) b`: an equality no schema of another role can shadow. */
const EQ = 'OPERATOR(pg_catalog.=)';

/**
 * The PgBouncer auth user on the leader, converged from what is there: the role with the
 * generated password (as a SCRAM verifier, on stdin), and the auth_query function in every
 * database that accepts connections — PgBouncer 1.18 runs auth_query in the database a client
 * asks for. Prints `changed` when it had to do anything. Safe to run on every deploy.
 *
 * Database names are read hex-encoded and decoded by the shell, then passed to psql in
 * PGDATABASE: a name with spaces, newlines or glob characters stays one word, and one holding
 * `=` is never read as a connection string (psql -d would expand it).
 */
export function pgbouncerAuthUserCommand(
  user: string,
  password: string,
  port: number,
  functionSql: readonly string[],
  opts: { checkOnly?: boolean } = {},
): Command {
  const literal = (x: string) => `'${x.replace(/'/g, "''")}'`;
  const verifier = scramVerifier(user, password);
  // The ALTER ROLE below carries the verifier: the session keeps it out of PostgreSQL's log.
  const roleSql = `${QUIET_SESSION_SQL}
SELECT 'changed' WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_authid WHERE rolname ${EQ} ${literal(user)} AND rolpassword ${EQ} ${literal(verifier)});
SELECT pg_catalog.format('CREATE ROLE %I LOGIN', ${literal(user)}) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname ${EQ} ${literal(user)}) \\gexec
SELECT pg_catalog.format('ALTER ROLE %I WITH LOGIN PASSWORD %L', ${literal(user)}, ${literal(verifier)}) FROM pg_catalog.pg_authid WHERE rolname ${EQ} ${literal(user)} AND (rolpassword IS NULL OR rolpassword OPERATOR(pg_catalog.<>) ${literal(verifier)}) \\gexec
`;
  const psql = sh`runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p ${port} -h /var/run/postgresql`;
  const fn = functionSql.map((q) => `${q};`).join('\n');
  const listDatabases = `SELECT pg_catalog.encode(pg_catalog.convert_to(datname, 'UTF8'), 'hex') FROM pg_catalog.pg_database WHERE datallowconn`;
  const hasFunction = `SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc WHERE proname ${EQ} 'get_auth' AND pronamespace ${EQ} pg_catalog.to_regnamespace('pgbouncer')::pg_catalog.oid`;
  const script = `set -euo pipefail
cd /tmp
export ${PINNED_SEARCH_PATH}
${psql} -At -d postgres -f -
${psql} -d postgres -Atc ${quote(listDatabases)} | while IFS= read -r hex; do
  printf -v db '%b' "$(printf '%s' "$hex" | sed 's/../\\\\x&/g')"
  has=$(PGDATABASE="$db" ${psql} -Atc ${quote(hasFunction)})
  [ "$has" = 0 ] || continue
  echo changed
  PGDATABASE="$db" ${psql} -f - <<'PGHA_SQL'
${fn}
PGHA_SQL
done
`;
  // checkOnly: the same reads, stopping at the first `changed`, with nothing written (deploy's facts).
  const intent = { kind: 'pgbouncer-auth-user', user, checkOnly: opts.checkOnly === true } as const;
  return opts.checkOnly
    ? { script: checkOnlyScript(script), stdin: roleSql.split('\n')[0]!, secrets: [password, verifier], intent }
    : { script, stdin: roleSql, secrets: [password, verifier], intent };
}

/** The converge script reduced to its reads: the role check only, and a database lacking the function reported, not fixed. */
function checkOnlyScript(script: string): string {
  return script.replace(/\n {2}echo changed\n[\s\S]*?PGHA_SQL\n(?=done)/, '\n  echo changed\n');
}

/**
 * A login role holding pg_monitor and nothing else, for a local exporter that logs in by peer
 * authentication (no password), converged on the leader: created when missing, given LOGIN and
 * pg_monitor when it lacks them. Prints `changed` when it had (checkOnly: has) anything to do.
 */
export function monitoringRoleCommand(role: string, port: number, opts: { checkOnly?: boolean } = {}): Command {
  const literal = `'${role.replace(/'/g, "''")}'`;
  const ready = `SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname ${EQ} ${literal} AND r.rolcanlogin AND pg_catalog.pg_has_role(r.oid, 'pg_monitor', 'MEMBER')`;
  const check = `SELECT 'changed' WHERE NOT EXISTS (${ready});`;
  const apply = `${check}
SELECT pg_catalog.format('CREATE ROLE %I LOGIN', ${literal}) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname ${EQ} ${literal}) \\gexec
SELECT pg_catalog.format('ALTER ROLE %I LOGIN', ${literal}) FROM pg_catalog.pg_roles WHERE rolname ${EQ} ${literal} AND NOT rolcanlogin \\gexec
SELECT pg_catalog.format('GRANT pg_monitor TO %I', ${literal}) FROM pg_catalog.pg_roles r WHERE r.rolname ${EQ} ${literal} AND NOT pg_catalog.pg_has_role(r.oid, 'pg_monitor', 'MEMBER') \\gexec
`;
  const psql = sh`runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -p ${port} -h /var/run/postgresql -d postgres -f -`;
  return {
    script: `set -euo pipefail\ncd /tmp\nexport ${PINNED_SEARCH_PATH}\n${psql}\n`,
    stdin: opts.checkOnly ? check : apply,
    intent: { kind: 'monitoring-role', role, checkOnly: opts.checkOnly === true },
  };
}

/**
 * The parameters PostgreSQL reads only at start (context `postmaster`): a DCS patch changing one
 * leaves every member pending a restart. Read in the `postgres` database with the pinned search_path.
 */
export function postmasterParametersCommand(port: number): Command {
  const sql = `SELECT name FROM pg_catalog.pg_settings WHERE context ${EQ} 'postmaster'`;
  return {
    script: `cd /tmp && ${PINNED_SEARCH_PATH} runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -p ${port} -h /var/run/postgresql -d postgres -c ${quote(sql)}`,
    intent: { kind: 'read-postmaster-parameters' },
  };
}

/**
 * Units stopped and disabled, so that a reboot of a host that left the cluster starts none of
 * them. One at a time, and a unit the host never got (a deploy that stopped half-way) is no
 * error: the host is leaving, what is there is stopped. reset-failed: a process that had exited
 * with an error (etcd may, once its member is removed) leaves no failed unit behind. `removes`:
 * etcd data directories deleted after (a member removed from etcd could never rejoin with its
 * old data): only once none of the units is active any more, and only a directory holding
 * etcd's `member` directory, so a unit that would not stop, or a mistyped path (`/var/lib`),
 * deletes nothing.
 */
export function disableUnitsCommand(units: readonly string[], removes: readonly string[] = []): Command {
  const list = units.map(quote).join(' ');
  const remove = `if ! systemctl is-active --quiet -- ${list}; then
  for d in ${removes.map(quote).join(' ')}; do if [ -d "$d/member" ]; then rm -rf -- "$d"; fi; done
fi`;
  const script = `for u in ${list}; do
  if systemctl cat -- "$u" >/dev/null 2>&1; then systemctl disable --now -- "$u"; systemctl reset-failed -- "$u" 2>/dev/null || true; fi
done${removes.length ? `\n${remove}` : ''}`;
  return { script, intent: { kind: 'disable-units', units, ...(removes.length ? { removes } : {}) } };
}

/** Whether the physical replication slot exists on this member (prints `1`), read with the pinned search_path. */
export function replicationSlotExistsCommand(slot: string, port: number): Command {
  const sql = `SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name ${EQ} ${quoteLiteral(slot)}`;
  return {
    script: `cd /tmp && ${PINNED_SEARCH_PATH} runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -p ${port} -h /var/run/postgresql -d postgres -c ${quote(sql)}`,
    intent: { kind: 'replication-slot-exists', slot },
  };
}

/** A SQL string literal: quotes doubled (the slot names Patroni derives hold none, but a literal is a literal). */
function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
