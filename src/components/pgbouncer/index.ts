/**
 * PgBouncer on hosts with role `pgbouncer`, and pgha's follower unit that re-points it at the
 * leader (./follow.ts). Its auth user lives in PostgreSQL: deploy sets it up on the leader.
 */
import { hasRole, num, optStr } from '../common.js';
import { pinned, portOf, unitOfSystemdPath, type Component } from '../component.js';
import { PGBOUNCER_FOLLOW_UNIT } from '../paths.js';
import { pgbouncerFiles } from './config.js';
import { pgbouncerHealth } from './health.js';
import { pgbouncerStateScript } from './live.js';

export const PGBOUNCER_UNIT = 'pgbouncer.service';

export const pgbouncer: Component = {
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
    return [];
  },
  formation: 'service',
  ports: () => [portOf('pgbouncer_port', 'PgBouncer')],
  upgrade: { kind: 'service', how: 'restart', port: (host) => num(host.vars, 'pgbouncer_port') },
  health: pgbouncerHealth,
  stateScript: pgbouncerStateScript,
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
