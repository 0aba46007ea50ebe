/**
 * Cascading replicas (issue 14): TPA's instance key `upstream: <instance>` names the data node a
 * replica streams from, rendered as Patroni's `replicatefrom` tag. Patroni follows the named
 * member while it runs and falls back to the leader otherwise; it ignores the tag while the
 * member itself leads, and may still promote a cascading replica on failover.
 */
import { isPlainObject } from '../../model/merge.js';
import type { ResolvedHost } from '../../model/types.js';
import { isDataNode, type InstanceRule, type Rule, type RuleContext } from './context.js';

/** Whether Patroni may promote this member: not when patroni_conf_settings tags it nofailover. */
export function canLead(host: ResolvedHost): boolean {
  const settings = host.vars.patroni_conf_settings;
  const tags = isPlainObject(settings) ? settings.tags : undefined;
  return !(isPlainObject(tags) && tags.nofailover === true);
}

/** `upstream` names another data node of this config.yml, and only a data node has one. */
export const upstreamNamesDataNode: InstanceRule = (ctx, i) => {
  const inst = ctx.config.instances[i];
  const name = inst?.upstream;
  if (inst === undefined || name === undefined) return;
  const at = ['instances', i, 'upstream'];
  if (!isDataNode(inst.role)) {
    ctx.error(at, `only a data node (role primary or replica) streams from an upstream; remove upstream from ${inst.Name}`);
    return;
  }
  if (name === inst.Name) {
    ctx.error(at, `${inst.Name} cannot stream from itself; name another data node, or remove upstream to stream from the leader`);
    return;
  }
  const j = ctx.config.instances.findIndex((other) => other.Name === name);
  const target = ctx.config.instances[j];
  if (target === undefined) {
    ctx.error(
      at,
      `upstream "${name}" names no instance of this config.yml; name a data node (role primary or replica), or remove upstream`,
    );
  } else if (!isDataNode(target.role)) {
    ctx.error(
      at,
      `upstream "${name}" names instances[${j}], which is not a data node (no role primary or replica) and runs no PostgreSQL; name a data node, or remove upstream`,
    );
  }
};

/** The data node's index by name, when `upstream` of instance `i` names one (else undefined). */
function upstreamIndex(ctx: RuleContext, i: number): number | undefined {
  const name = ctx.config.instances[i]?.upstream;
  if (name === undefined) return undefined;
  const j = ctx.config.instances.findIndex((inst) => inst.Name === name);
  const target = ctx.config.instances[j];
  return target !== undefined && j !== i && isDataNode(target.role) ? j : undefined;
}

/**
 * Following `upstream` from instance `i`: the instances passed, and where it stops: at `end`, a
 * data node without one, or at `cycle`, the first instance met twice.
 */
function chainOf(ctx: RuleContext, i: number): { path: number[]; end?: number; cycle?: number } {
  const path = [i];
  for (let at = i; ;) {
    const next = upstreamIndex(ctx, at);
    if (next === undefined) return ctx.config.instances[at]?.upstream === undefined ? { path, end: at } : { path };
    if (path.includes(next)) return { path, cycle: next };
    path.push(next);
    at = next;
  }
}

/**
 * No cycle: a → b → a would leave both following each other, neither streaming from the leader
 * (Patroni would fall back to the leader only for a member whose upstream is not running). Each
 * cycle is reported once, at the upstream of its first instance.
 */
export const upstreamNoCycle: Rule = (ctx) => {
  const reported = new Set<number>();
  ctx.config.instances.forEach((_, i) => {
    const { path, cycle } = chainOf(ctx, i);
    if (cycle === undefined) return;
    const members = path.slice(path.indexOf(cycle));
    const first = Math.min(...members);
    if (reported.has(first)) return;
    reported.add(first);
    const names = [...members.slice(members.indexOf(first)), ...members.slice(0, members.indexOf(first)), first].map(
      (k) => ctx.config.instances[k]?.Name,
    );
    ctx.error(
      ['instances', first, 'upstream'],
      `upstream makes a cycle (${names.join(' → ')}): no member of it would stream from the leader; remove upstream from one of them`,
    );
  });
};

/**
 * A chain of upstreams ends at a data node without one, which streams from the leader or leads.
 * It must be a node that can lead: a chain hanging off a node tagged nofailover makes every
 * member of the chain trail a node Patroni never promotes, so a failover promotes one of them
 * behind it, and the nofailover node must rewind or be rebuilt to follow.
 */
export const upstreamChainCanLead: InstanceRule = (ctx, i) => {
  if (ctx.config.instances[i]?.upstream === undefined) return;
  const { path, end } = chainOf(ctx, i);
  // Only the first instance of a chain reports: the one no other instance names as upstream.
  const name = ctx.config.instances[i]?.Name;
  if (end === undefined || ctx.config.instances.some((inst) => inst.upstream === name)) return;
  const host = ctx.resolved.hosts[end];
  if (host === undefined || canLead(host)) return;
  const chain = path.map((k) => ctx.config.instances[k]?.Name).join(' → ');
  ctx.error(
    ['instances', i, 'upstream'],
    `upstream chain ${chain} ends at ${host.name}, which cannot lead (patroni_conf_settings tags it nofailover); end the chain at a data node that can lead, or remove nofailover from ${host.name}`,
  );
};

/**
 * A warning, not a refusal: when every replica Patroni could promote in place of the primary
 * instance streams through another replica, the cluster still fails over (Patroni promotes a
 * cascading replica), but the one promoted trails its upstream and nothing streams from the
 * leader directly but nodes it never promotes.
 */
export const someCandidateDirect: Rule = (ctx) => {
  const hosts = ctx.resolved.hosts;
  const primary = hosts.findIndex((h) => h.roles.includes('primary'));
  if (primary < 0 || !ctx.config.instances.some((inst) => inst.upstream !== undefined)) return;
  const candidates = hosts.map((h, i) => ({ h, i })).filter(({ h, i }) => i !== primary && isDataNode(h.roles) && canLead(h));
  const cascading = (i: number) => {
    const up = ctx.config.instances[i]?.upstream;
    return up !== undefined && up !== hosts[primary]?.name;
  };
  const first = candidates[0];
  if (first === undefined || !candidates.every(({ i }) => cascading(i))) return;
  ctx.report(
    'warning',
    ctx.inDoc(['instances', first.i, 'upstream']),
    `every replica that can take over from ${hosts[primary]?.name} (${candidates.map(({ h }) => h.name).join(', ')}) is a cascading replica: a failover promotes one that trails its upstream; leave upstream off one of them`,
  );
};
