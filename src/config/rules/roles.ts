/** Rules about role combinations, on one instance and across the cluster. */
import type { Role } from '../../model/types.js';
import { isDataNode, type InstanceRule, type Rule, type RuleContext } from './context.js';

/** A member is either the bootstrap primary or a replica, never both. */
export const primaryAndReplica: InstanceRule = (ctx, i) => {
  const roles = ctx.config.instances[i]?.role ?? [];
  if (!roles.includes('primary') || !roles.includes('replica')) return;
  ctx.error(
    ['instances', i, 'role', Math.max(roles.indexOf('primary'), roles.indexOf('replica'))],
    'primary and replica exclude each other on one instance; keep one of them',
  );
};

/** M1 gives HAProxy instances of their own; pgha does not support the shared layout. */
export const haproxyOffDataNodes: InstanceRule = (ctx, i) => {
  const roles = ctx.config.instances[i]?.role ?? [];
  if (!roles.includes('haproxy') || !isDataNode(roles)) return;
  ctx.error(
    ['instances', i, 'role', roles.indexOf('haproxy')],
    'haproxy cannot share an instance with primary or replica in M1; give haproxy an instance of its own',
  );
};

/** PgBouncer pools connections to the PostgreSQL beside it; without one it has nothing to serve. */
export const pgbouncerOnDataNodes: InstanceRule = (ctx, i) => {
  const roles = ctx.config.instances[i]?.role ?? [];
  if (!roles.includes('pgbouncer') || isDataNode(roles)) return;
  ctx.error(
    ['instances', i, 'role', roles.indexOf('pgbouncer')],
    'pgbouncer runs only on data nodes (with primary or replica), in front of their PostgreSQL; add it to those instances instead',
  );
};

/** Where role `r` first appears: the instance and the role's index in its list. */
function firstWith(ctx: RuleContext, r: Role): { i: number; j: number } | undefined {
  const i = ctx.config.instances.findIndex((inst) => inst.role.includes(r));
  return i < 0 ? undefined : { i, j: ctx.config.instances[i]?.role.indexOf(r) ?? 0 };
}

/** Exactly one instance bootstraps the cluster: none leaves nothing to bootstrap, two would each start their own. */
export const onePrimary: Rule = (ctx) => {
  const instances = ctx.config.instances;
  const first = firstWith(ctx, 'primary');
  if (!first) {
    ctx.error(['instances'], 'no instance has role primary; give exactly one data node role primary (it bootstraps the cluster)');
    return;
  }
  instances.forEach((inst, i) => {
    if (i <= first.i || !inst.role.includes('primary')) return;
    ctx.error(
      ['instances', i, 'role', inst.role.indexOf('primary')],
      `a second primary (instances[${first.i}] "${instances[first.i]?.Name}" is already primary); exactly one instance bootstraps the cluster: make this one a replica`,
    );
  });
};

/** Clients reach the primary either through HAProxy or through PgBouncer; `configure` refuses both, and so does this. */
export const haproxyOrPgbouncer: Rule = (ctx) => {
  const haproxy = firstWith(ctx, 'haproxy');
  const pgbouncer = firstWith(ctx, 'pgbouncer');
  if (!haproxy || !pgbouncer) return;
  ctx.error(
    ['instances', pgbouncer.i, 'role', pgbouncer.j],
    `haproxy (instances[${haproxy.i}]) and pgbouncer cannot be used in one cluster, as \`pgha configure\` refuses --enable-haproxy with --enable-pgbouncer; remove one of the two roles everywhere`,
  );
};
