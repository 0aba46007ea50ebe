/** Warnings about HAProxy's read-only load balancers: legal settings that rarely do what was meant. */
import type { HostRule } from './context.js';

/** patroni_repl_max_lag only filters the read-only backend; without it the setting does nothing. */
export const lagWithoutReadOnly: HostRule = (ctx, host, i) => {
  const v = host.vars;
  if (!host.roles.includes('haproxy') || v.patroni_repl_max_lag === undefined || v.haproxy_read_only_load_balancer_enabled === true) return;
  ctx.perHost(
    'warning',
    ctx.blame(i, ['patroni_repl_max_lag']),
    'lag unused',
    host.name,
    () => 'has no effect unless haproxy_read_only_load_balancer_enabled is true; enable the read-only load balancer or remove it',
  );
};

/** The read-only frontend exists to spread reads over replicas: with none it has nowhere to send them. */
export const readOnlyWithoutReplicas: HostRule = (ctx, host, i) => {
  const replicas = ctx.config.instances.filter((inst) => inst.role.includes('replica')).length;
  if (replicas !== 0 || !host.roles.includes('haproxy') || host.vars.haproxy_read_only_load_balancer_enabled !== true) return;
  ctx.perHost(
    'warning',
    ctx.blame(i, ['haproxy_read_only_load_balancer_enabled']),
    'ro without replicas',
    host.name,
    () =>
      'the read-only load balancer has no replica to send reads to; add a replica or set haproxy_read_only_load_balancer_enabled: false',
  );
};

/**
 * haproxy_sync_read_port sends reads to synchronous standbys (Patroni's /sync): without
 * synchronous replication no member passes the check and every connection is refused.
 */
export const syncReadWithoutSynchronous: HostRule = (ctx, host, i) => {
  if (!host.roles.includes('haproxy') || typeof host.vars.haproxy_sync_read_port !== 'number') return;
  const modes = ctx.resolved.hosts.map((h) => h.vars.patroni_synchronous_mode);
  if (modes.some((m) => m === 'on' || m === 'strict')) return;
  ctx.perHost(
    'warning',
    ctx.blame(i, ['haproxy_sync_read_port']),
    'sync read without sync',
    host.name,
    () =>
      'the synchronous-standby read frontend has no server to send reads to while patroni_synchronous_mode is off (Patroni answers /sync only on a synchronous standby); set patroni_synchronous_mode: on, or remove haproxy_sync_read_port',
  );
};
