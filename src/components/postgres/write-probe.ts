/**
 * The write probe: psql on a data node connects through a client endpoint (HAProxy, PgBouncer)
 * and asks the server it reaches whether it takes writes and what its address is. Used by the
 * switchover (writes reach the new leader) and by HAProxy's health check; the superuser's
 * password only ever reaches a server whose certificate chains to the cluster CA.
 */
import { sh, withSecrets } from '../../transport/quote.js';
import { PATRONI_CA } from '../paths.js';

/** A client endpoint through which writes should reach the leader (HAProxy or PgBouncer). */
export interface Endpoint {
  via: string;
  ip: string;
  port: number;
  /**
   * How the probe verifies the server, when the cluster runs PostgreSQL with TLS. PgBouncer
   * terminates TLS with its own node's certificate, which names the address dialled: full
   * verification. HAProxy passes TCP through to whichever member leads, so the name on the
   * certificate cannot be known in advance: the chain to the cluster CA is verified instead.
   * Undefined when TLS is off (the probe then connects without it, as clients must).
   */
  tls?: 'verify-full' | 'verify-ca';
}

/**
 * A psql on `from` that connects to `ep` and reports whether the server it reached is out of
 * recovery (takes writes) and its address. The password goes into a PGPASSFILE made under
 * umask 077 from stdin and removed on exit, so it never appears in argv or the environment of
 * another process.
 */
export function probeWritesCommand(ep: Endpoint, user: string, password: string) {
  // The superuser's password must only ever reach a server that proved it belongs to the cluster.
  const tls = ep.tls ? `sslmode=${ep.tls} sslrootcert=${PATRONI_CA}` : 'sslmode=disable';
  const conninfo = `host=${ep.ip} port=${ep.port} user=${user} dbname=postgres ${tls}`;
  // .pgpass fields escape backslash and colon with a backslash.
  const script = [
    'set -euo pipefail',
    'umask 077',
    'f=$(mktemp)',
    `trap 'rm -f "$f"' EXIT`,
    'esc=${PW//\\\\/\\\\\\\\}',
    'esc=${esc//:/\\\\:}',
    sh`printf '%s:%s:*:%s:%s\\n' ${ep.ip} ${ep.port} ${user}` + ' "$esc" > "$f"',
    // search_path is pinned by a SET in the same query string, not PGOPTIONS: that sends the
    // `options` startup parameter, which PgBouncer 1.18 (Debian 12) refuses outright ("unsupported
    // startup parameter: options"). psql 15 and later print every statement's result; -q keeps
    // the SET's command tag out, so only the select's row is printed.
    sh`PGPASSFILE="$f" PGCONNECT_TIMEOUT=3 psql -X -q -At -F '|' ${conninfo} -c 'set search_path = pg_catalog, pg_temp; select pg_catalog.pg_is_in_recovery(), pg_catalog.inet_server_addr()'`,
  ].join('\n');
  return { ...withSecrets({ PW: password }, script), timeoutSec: 15, intent: { kind: 'probe-writes' as const, ip: ep.ip, port: ep.port } };
}

export interface WriteProbe {
  writable: boolean;
  server: string;
}

/** The probe's row: its last line, so a command tag printed before it (an older psql without -q's effect) is no answer. */
export function parseWriteProbe(stdout: string): WriteProbe {
  const [recovery, server] = (stdout.trim().split('\n').at(-1) ?? '').split('|');
  return { writable: recovery === 'f', server: server ?? '' };
}
