/**
 * Rules about the names of the users pgha creates. Every user has its own password file
 * (DIR/secrets/<name>) and its own privileges: two roles sharing a name would share both.
 * etcd's root is pgha's own (DIR/secrets/etcd_root): taking its name would let the first deploy
 * overwrite root's password and break every later one.
 */
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { ETCD_ROOT_SECRET } from '../../secrets/store.js';
import type { HostRule, RuleContext } from './context.js';

/** The user variables that name a PostgreSQL role, where PostgreSQL's own reservations apply. */
const POSTGRES_ROLES = new Set(['patroni_super_user', 'patroni_replication_user', 'patroni_rewind_user', 'pgbouncer_auth_user']);

/** The user variables `host` actually creates a user for, in the order problems are reported. */
export function userVariables(cluster: ResolvedCluster, host: ResolvedHost): string[] {
  const v = host.vars;
  const out = ['patroni_super_user', 'patroni_replication_user', 'patroni_restapi_user'];
  if (v.patroni_rewind_enabled === true) out.push('patroni_rewind_user');
  if (v.etcd_authentication_mode === 'basic') out.push('patroni_etcd_user');
  if (cluster.hosts.some((x) => x.roles.includes('pgbouncer'))) out.push('pgbouncer_auth_user');
  return out;
}

/** Names a user may not take whatever else it is called: etcd's root, root's secret, PostgreSQL's pg_ prefix. */
function reservedName(ctx: RuleContext, host: ResolvedHost, i: number, variable: string, name: string): void {
  const loc = () => ctx.blame(i, [variable]);
  if (variable === 'patroni_etcd_user' && name === 'root') {
    ctx.perHost(
      'error',
      loc(),
      'etcd root',
      host.name,
      () => "root is etcd's own superuser, which pgha manages; choose another name (default etcd_patroni)",
    );
  }
  if (name === ETCD_ROOT_SECRET) {
    ctx.perHost(
      'error',
      loc(),
      `reserved ${variable}`,
      host.name,
      () => `${name} is the name pgha keeps etcd root's password under; choose another name`,
    );
  }
  if (POSTGRES_ROLES.has(variable) && name.startsWith('pg_')) {
    ctx.perHost(
      'error',
      loc(),
      `pg_ ${variable}`,
      host.name,
      () => `PostgreSQL reserves role names starting with pg_; choose another name for ${variable}`,
    );
  }
}

/** Each user's name is free of reservations and differs from every other user's on the host. */
export const userNames: HostRule = (ctx, host, i) => {
  const seen = new Map<string, string>();
  for (const variable of userVariables(ctx.resolved, host)) {
    const name = host.vars[variable];
    if (typeof name !== 'string') continue;
    reservedName(ctx, host, i, variable, name);
    const before = seen.get(name);
    if (before === undefined) {
      seen.set(name, variable);
      continue;
    }
    // Blame whichever of the two a higher layer sets: that override is the likelier slip.
    ctx.perHost(
      'error',
      ctx.louder(i, [before], [variable]),
      `shared ${before} ${variable}`,
      host.name,
      () => `${variable} and ${before} are both "${name}"; each of these users needs its own name (its own password and privileges)`,
    );
  }
};
