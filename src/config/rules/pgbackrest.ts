/**
 * Rules about backups (issue 13), in TPA's vocabulary: a host with role `pgbackrest` keeps the
 * repository, data nodes name it with `backup: <host>`. (TPA's role `barman` is refused by the
 * schema, with a message pointing to `pgbackrest`.)
 */
import { optStr } from '../../components/common.js';
import { isDataNode, type HostRule, type InstanceRule, type Loc, type Rule, type RuleContext } from './context.js';

/** Where instance `i` says `backup`: its instance key, else the layer that set the variable. */
function backupLoc(ctx: RuleContext, i: number): Loc {
  const inst = ctx.config.instances[i];
  if (inst?.backup !== undefined) return { ...ctx.inDoc(['instances', i, 'backup']), rank: 3 };
  return ctx.blame(i, ['backup']);
}

/** A data node's `backup` must name an instance of this config.yml that has role pgbackrest. */
export const backupNamesRepository: HostRule = (ctx, host, i) => {
  const name = optStr(host.vars, 'backup');
  if (name === undefined || !isDataNode(host.roles)) return;
  const j = ctx.config.instances.findIndex((inst) => inst.Name === name);
  const target = ctx.config.instances[j];
  if (target?.role.includes('pgbackrest')) return;
  const why =
    target === undefined
      ? `names no instance of this config.yml; add an instance "${name}" with role [pgbackrest], or name an existing one`
      : `names instances[${j}] "${name}", which has no role pgbackrest; add pgbackrest to its roles, or name the host that has it`;
  ctx.perHost('error', backupLoc(ctx, i), `backup ${name}`, host.name, (hosts) => `backup "${name}" of ${hosts} ${why}`);
};

/** The repository belongs on a host of its own: a data node's failure would take its backups with it. */
export const pgbackrestOffDataNodes: InstanceRule = (ctx, i) => {
  const roles = ctx.config.instances[i]?.role ?? [];
  if (!roles.includes('pgbackrest') || !isDataNode(roles)) return;
  ctx.error(
    ['instances', i, 'role', roles.indexOf('pgbackrest')],
    'pgbackrest cannot share an instance with primary or replica: the repository must survive the data nodes; give it an instance of its own',
  );
};

/**
 * Archiving is part of Patroni's DCS configuration, which the whole cluster shares: every data
 * node must name the same backup host (or none does), or a member promoted later would push its
 * WAL to a repository it has no configuration for.
 */
export const oneBackupHost: Rule = (ctx) => {
  const nodes = ctx.resolved.hosts.map((h, i) => ({ h, i })).filter(({ h }) => isDataNode(h.roles));
  const first = nodes[0];
  if (!first) return;
  const want = optStr(first.h.vars, 'backup');
  for (const { h, i } of nodes.slice(1)) {
    const here = optStr(h.vars, 'backup');
    if (here === want) continue;
    const say = (v: string | undefined) => (v === undefined ? 'no backup host' : `backup "${v}"`);
    ctx.report(
      'error',
      here === undefined ? ctx.inDoc(['instances', i]) : backupLoc(ctx, i),
      `${h.name} has ${say(here)} but ${first.h.name} has ${say(want)}: every data node must name the same backup host (archiving is cluster-wide); set backup once in cluster_vars`,
    );
  }
};

/** A repository host no data node names would hold nothing: probably a missing `backup:`. */
export const unusedRepository: InstanceRule = (ctx, i) => {
  const inst = ctx.config.instances[i];
  if (!inst?.role.includes('pgbackrest') || isDataNode(inst.role)) return;
  const named = ctx.resolved.hosts.some((h) => isDataNode(h.roles) && optStr(h.vars, 'backup') === inst.Name);
  if (named) return;
  ctx.report(
    'warning',
    ctx.inDoc(['instances', i, 'role', inst.role.indexOf('pgbackrest')]),
    `no data node names "${inst.Name}" with backup:, so it keeps no backups; add backup: ${inst.Name} to cluster_vars`,
  );
};
