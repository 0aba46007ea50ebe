/**
 * PgBouncer on hosts with role `pgbouncer`, and pgha's follower unit that re-points it at the
 * leader (./follow.ts). Its auth user lives in PostgreSQL: deploy sets it up on the leader.
 */
import { hasRole, num, optStr, userSecrets } from '../common.js';
import { pinned, portOf, unitOfSystemdPath, type ClusterStep, type WithStatus, type StepContext } from '../component.js';
import { pgbouncerAuthUserCommand } from '../host-commands.js';
import { PATRONI_SSL_DIR, PGBOUNCER_FOLLOW_UNIT } from '../paths.js';
import type { ResolvedHost } from '../../model/types.js';
import type { Command } from '../../transport/quote.js';
import { pgbouncerAuthSql, pgbouncerFiles } from './config.js';
import { pgbouncerHealth } from './health.js';
import { pgbouncerStateScript } from './live.js';
import { pgbouncerStatus, type PgbouncerStatus } from './status.js';

export const PGBOUNCER_UNIT = 'pgbouncer.service';

/** The auth user and its lookup function, as the host's variables name them; the password on stdin. */
function authUserCommand(host: ResolvedHost, ctx: StepContext, opts: { checkOnly?: boolean } = {}): Command {
  const user = String(host.vars.pgbouncer_auth_user);
  return pgbouncerAuthUserCommand(user, ctx.secret(user), Number(host.vars.postgres_port), pgbouncerAuthSql(host.vars), opts);
}

/**
 * PgBouncer's auth_query logs in as this user and calls pgbouncer.get_auth: both must exist, in
 * every database, before PgBouncer serves its first client; replicas get them by replication.
 */
const authUser: ClusterStep = {
  name: 'auth-user',
  on: { kind: 'leader' },
  title: 'PgBouncer auth user',
  describe: (host) => `set up auth user ${String(host.vars.pgbouncer_auth_user)} and its auth_query function on the leader`,
  check: (host, ctx) => authUserCommand(host, ctx, { checkOnly: true }),
  apply: (host, ctx) => authUserCommand(host, ctx),
};

export const pgbouncer: WithStatus<'pgbouncer', PgbouncerStatus> = {
  name: 'pgbouncer',
  runsOn: (_cluster, host) => hasRole(host, 'pgbouncer'),
  packages: (host) => [pinned('pgbouncer', optStr(host.vars, 'pgbouncer_package_version'))],
  files: (cluster, host, ctx) => pgbouncerFiles(cluster, host, ctx.inputs, (view) => ctx.template('pgbouncer.ini.hbs', view), ctx.opts),
  units: () => [PGBOUNCER_UNIT, PGBOUNCER_FOLLOW_UNIT],
  reactions: (_cluster, path) => {
    const unit = unitOfSystemdPath(path);
    // The follower's own unit changing means its process runs with stale settings.
    if (unit === PGBOUNCER_FOLLOW_UNIT) return [{ unit, how: 'restart' }];
    if (path.startsWith('/usr/local/lib/pgha/')) return [{ unit: PGBOUNCER_FOLLOW_UNIT, how: 'restart' }];
    if (path.startsWith('/etc/pgbouncer/')) return [{ unit: PGBOUNCER_UNIT, how: 'reload' }];
    // Its TLS files are Patroni's (config.ts): RELOAD makes it read a new certificate and CA bundle
    // (pgha rotate-certs); open client and server connections keep their sessions.
    if (path.startsWith(`${PATRONI_SSL_DIR}/`)) return [{ unit: PGBOUNCER_UNIT, how: 'reload' }];
    return [];
  },
  formation: 'service',
  ports: () => [portOf('pgbouncer_port', 'PgBouncer')],
  upgrade: { kind: 'service', how: 'restart', port: (host) => num(host.vars, 'pgbouncer_port') },
  health: pgbouncerHealth,
  stateScript: pgbouncerStateScript,
  status: pgbouncerStatus,
  clusterSteps: () => [authUser],
  // auth_query logs in as the auth user (./config.ts writes its password to userlist.txt).
  secretNames: (cluster) => (cluster.hosts.some((h) => hasRole(h, 'pgbouncer')) ? userSecrets(cluster.hosts, 'pgbouncer_auth_user') : []),
  // Its follower asks Patroni's REST API for the leader, with the node certificate under mtls.
  dialsWithHostCert: (_cluster, host) => host.vars.patroni_ssl_enabled === true && host.vars.patroni_authentication_mode === 'mtls',
  // PgBouncer terminates TLS with its own node's certificate, which names the address dialled.
  entryPoints: (host) => [
    {
      kind: 'read-write',
      port: Number(host.vars.pgbouncer_port),
      label: 'PgBouncer',
      ...(host.vars.patroni_ssl_enabled === true ? { tls: 'verify-full' as const } : {}),
    },
  ],
};
