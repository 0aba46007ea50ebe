/**
 * Commands deploy runs on hosts, as data (DESIGN §10: commands as data). Pure: each returns a
 * Command whose script holds no secret; secrets travel on stdin.
 */
import { quote, sh, withSecrets, type Command } from '../transport/quote.js';

/**
 * Install packages without Debian's install-time side effects (DESIGN §6):
 * - `create_main_cluster = false` before postgresql-common creates 15/main;
 * - a policy-rc.d that forbids starting services while dpkg runs, so etcd does not start a
 *   one-node member in /var/lib/etcd/default, nor HAProxy or PgBouncer with Debian's configs;
 * - our own conffiles win (`--force-confold`), and Debian's ZooKeeper `dcs.yml` sample and the
 *   non-template `patroni.service` are set aside.
 */
export function installPackagesCommand(args: readonly string[]): Command {
  const script = `set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
install -d /etc/postgresql-common
grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf || echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq -o Acquire::Retries=3 >/dev/null
apt-get install -y -qq --no-install-recommends --allow-downgrades -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef ${args.map(quote).join(' ')} >/dev/null
rm -f /etc/patroni/dcs.yml
if [ -e /lib/systemd/system/patroni.service ]; then systemctl disable --now patroni.service >/dev/null 2>&1 || true; fi
if [ -d /var/lib/etcd/default ] && ! systemctl is-active -q etcd; then rm -rf /var/lib/etcd/default; fi
`;
  return { script };
}

/** Start (and enable) units that are not running yet; `--no-block` so peers can start together. */
export function startUnitsCommand(units: readonly string[], opts: { noBlock?: boolean } = {}): Command {
  const start = opts.noBlock ? sh`systemctl start --no-block ${units}` : sh`systemctl start ${units}`;
  return { script: `set -e\n${sh`systemctl enable -q ${units}`}\n${start}` };
}

export function restartUnitCommand(unit: string): Command {
  return { script: sh`systemctl restart ${unit}` };
}

/** HAProxy's reload hands listening sockets to the new process: established sessions survive. */
export function reloadUnitCommand(unit: string): Command {
  return { script: sh`systemctl reload-or-restart ${unit}` };
}

/** `systemctl daemon-reload` when unit files or drop-ins changed. */
export function daemonReloadCommand(): Command {
  return { script: 'systemctl daemon-reload' };
}

/**
 * Make sure the PgBouncer auth user exists on the leader with the generated password and can
 * run the auth_query function. SQL travels on stdin; the password never reaches argv.
 */
export function pgbouncerAuthUserCommand(user: string, password: string, port: number): Command {
  const ident = `"${user.replace(/"/g, '""')}"`;
  const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const sql = `
SELECT format('CREATE ROLE %I LOGIN', ${literal(user)}) WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(user)}) \\gexec
ALTER ROLE ${ident} WITH LOGIN PASSWORD ${literal(password)};
CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION ${ident};
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text) RETURNS TABLE(usename name, passwd text)
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS
  $$ SELECT usename, passwd FROM pg_shadow WHERE usename = p_usename $$;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO ${ident};
`;
  return {
    script: sh`set -e\ncd /tmp\nrunuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p ${port} -h /var/run/postgresql -d postgres -f -`,
    stdin: sql,
    secrets: [password],
  };
}

export { withSecrets };
