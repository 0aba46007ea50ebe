/**
 * The components' steps inside the running cluster (ClusterStep in src/components/component.ts:
 * PgBouncer's auth user, pgBackRest's stanza, the declared users and databases): planned by each step's read-only check on the host it runs on,
 * applied by the executor once the leader accepts writes. deploy names no component here: it
 * iterates the registry, and the plan records each step as data.
 */
import type { ClusterStep, StepContext } from '../../components/component.js';
import { hasRole } from '../../components/common.js';
import { COMPONENTS, componentNamed } from '../../components/registry.js';
import { RuntimeError } from '../../errors.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import type { ClusterAction } from '../../plan/cluster-plan.js';
import { run } from '../../transport/types.js';
import { waitFor } from '../wait.js';
import type { DeployContext } from './context.js';

export type StepAction = Extract<ClusterAction, { kind: 'component-step' }>;

/** Both commands print `changed`: the check when the step is pending, the apply when it changed something. */
const CHANGED = 'changed';

function stepContext(d: DeployContext): StepContext {
  return { secret: (name) => d.secret(name), prune: d.req.prune === true };
}

/** `changed` as a line of its own: a name a step prints (a role called changed) does not count. */
function saysChanged(stdout: string): boolean {
  return stdout.split('\n').some((l) => l.trim() === CHANGED);
}

/** The check's `warning: …` lines, for deploy's warnings. */
function warningsOf(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('warning: '));
}

/** Every step of every component some host of the cluster runs, in registry order. */
function declaredSteps(cluster: ResolvedCluster): { component: string; step: ClusterStep }[] {
  return COMPONENTS.flatMap((c) =>
    c.clusterSteps && cluster.hosts.some((h) => c.runsOn(cluster, h))
      ? c.clusterSteps(cluster).map((step) => ({ component: c.name, step }))
      : [],
  );
}

/**
 * The steps still to do. A leader step runs where this run reaches the leader, and on a new
 * cluster on the configured primary, which bootstraps it: nothing runs there yet to check, so
 * every leader step is planned. A role step runs on each host of its role this run connects to,
 * and is checked there even on a new cluster (the host is up; its check reads only that host),
 * so a step with nothing to do (pgBackRest's removal of unscheduled timers) is not planned.
 */
export async function planComponentSteps(d: DeployContext, leader: string | undefined): Promise<StepAction[]> {
  const bootstraps = leader === undefined && d.work.has(d.configuredPrimary().name);
  const reachable = leader !== undefined && d.work.has(leader) ? d.session.host(leader) : undefined;
  const ctx = stepContext(d);
  const out: StepAction[] = [];
  for (const { component, step } of declaredSteps(d.loaded.cluster)) {
    const on = step.on;
    const hosts: ResolvedHost[] =
      on.kind === 'leader'
        ? bootstraps
          ? [d.configuredPrimary()]
          : reachable
            ? [reachable]
            : []
        : d.selected().filter((h) => d.work.has(h.name) && hasRole(h, on.role));
    for (const h of hosts) {
      if (!bootstraps || on.kind === 'role') {
        const r = await run(d.session.transport(h.name), step.check(h, ctx), `${step.title} (check)`);
        d.stepWarnings.push(...warningsOf(r.stdout));
        if (!saysChanged(r.stdout)) continue;
        out.push({ kind: 'component-step', component, step: step.name, host: h.name, what: step.explain?.(r.stdout) ?? step.describe(h) });
        continue;
      }
      out.push({ kind: 'component-step', component, step: step.name, host: h.name, what: step.describe(h) });
    }
  }
  return out;
}

function declaredStep(d: DeployContext, a: StepAction): ClusterStep {
  const step = componentNamed(a.component)
    ?.clusterSteps?.(d.loaded.cluster)
    .find((s) => s.name === a.step);
  if (!step) throw new RuntimeError(`the plan names ${a.component}'s step ${a.step}, which the registry does not declare (a bug)`);
  return step;
}

/**
 * The planned steps, in plan order, once `leader` accepts writes; a leader step runs on the
 * leader as it is now (the plan's may have been the configured primary, before it bootstrapped).
 * Each apply re-checks, so what it finds done is not recorded.
 */
export async function applyComponentSteps(d: DeployContext, leader: string): Promise<StepAction[]> {
  const planned = d.plan.cluster.filter((a): a is StepAction => a.kind === 'component-step');
  if (!planned.length) return [];
  await waitFor(async () => ((await d.session.patroni(leader).check('/primary')) ? true : undefined), {
    timeoutMs: 60_000,
    what: `${leader} to accept writes`,
  });
  const ctx = stepContext(d);
  const done: StepAction[] = [];
  for (const a of planned) {
    const step = declaredStep(d, a);
    const host = step.on.kind === 'leader' ? leader : a.host;
    const r = await run(d.session.transport(host), step.apply(d.session.host(host), ctx), step.title);
    if (saysChanged(r.stdout)) done.push({ ...a, host });
  }
  return done;
}
