/**
 * The whole plan of a deploy, as data (docs/architecture.md#the-whole-plan): per host the package
 * and file actions (./plan.ts), systemd's re-read of changed unit files, and every unit start,
 * reload and restart those changes call for; for the cluster the etcd auth steps, the components'
 * steps inside the cluster (PgBouncer's auth user), the DCS `PATCH /config` and the rolling
 * restart it causes. Pure: desired state × facts in, actions out. `deploy --check` prints
 * exactly this; `deploy` executes it and prints what it executed in the same words, so the two
 * can be compared line by line.
 */
import type { FileChange, Formation, UnitSpec } from '../components/component.js';
import { describeEtcdMemberStep, type EtcdMemberStep } from '../components/etcd/membership.js';

export type { UnitSpec } from '../components/component.js';
import { isPlainObject, type Plain } from '../model/merge.js';
import { describeAction, type HostPlan } from './plan.js';

/** `disable`: a unit the host no longer has the role for, stopped and disabled (see retiredUnitAction). */
export type UnitOp = 'start' | 'reload' | 'restart' | 'disable';

export interface UnitAction {
  unit: string;
  op: UnitOp;
  formation: Formation;
  /** `disable` only: directories removed once the unit is stopped. */
  removes?: readonly string[];
}

export interface HostWholePlan {
  files: HostPlan;
  /** `systemctl daemon-reload` after the files are written: a unit file or drop-in changes. */
  daemonReload: boolean;
  /** In start order within each formation step. */
  units: UnitAction[];
}

/** Steps that act on the cluster rather than on one host's files and units. */
export type ClusterAction =
  | { kind: 'etcd-auth'; step: string }
  /** etcd's membership changed by one member before any member starts (src/components/etcd/membership.ts). */
  | { kind: 'etcd-member'; step: EtcdMemberStep }
  /**
   * A component's step inside the running cluster (src/components/component.ts#ClusterStep), on
   * `host`: the leader, or a host of the step's role. `what` is the step's own description.
   */
  | { kind: 'component-step'; component: string; step: string; host: string; what: string }
  /** Patroni's roles whose password in PostgreSQL is not the one in DIR/secrets: set on the leader. */
  | { kind: 'role-passwords'; users: string[] }
  | { kind: 'dcs-patch'; patch: Plain }
  /** Members restarted through Patroni one at a time, replicas first; `parameters`: why. */
  | { kind: 'rolling-restart'; replicas: string[]; leader: string | undefined; parameters: string[] };

export interface WholePlan {
  hosts: Map<string, HostWholePlan>;
  cluster: ClusterAction[];
}

/** `systemctl is-active` says so; anything else (inactive, failed, activating…) gets a start. */
export function isActive(state: string | undefined): boolean {
  return state === 'active';
}

/**
 * The unit actions a host needs: a start for every unit that does not run, otherwise the
 * strongest reaction (restart over reload) to the paths whose content this run changes.
 */
export function planUnits(
  units: readonly UnitSpec[],
  activeState: (unit: string) => string | undefined,
  changedPaths: readonly string[],
  changeOf: (path: string) => FileChange | undefined = () => undefined,
): UnitAction[] {
  const out: UnitAction[] = [];
  for (const u of units) {
    if (!isActive(activeState(u.unit))) {
      out.push({ unit: u.unit, op: 'start', formation: u.formation });
      continue;
    }
    let op: UnitOp | undefined;
    for (const path of changedPaths) {
      for (const r of u.reactions(path, changeOf(path))) if (r.unit === u.unit) op = op === 'restart' ? op : r.how;
    }
    if (op) out.push({ unit: u.unit, op, formation: u.formation });
  }
  return out;
}

/**
 * The unit of a role the host no longer has (etcd taken off a data node), found running or
 * enabled there: stopped and disabled, so that no reboot starts it again, and `removes` deleted.
 * Nothing for a unit the host never had (systemd knows no such unit) or one already disabled.
 */
export function retiredUnitAction(
  unit: string,
  formation: Formation,
  fact: { active: string; enabled: string } | undefined,
  removes: readonly string[] = [],
): UnitAction | undefined {
  if (!fact || (!isActive(fact.active) && fact.enabled !== 'enabled')) return undefined;
  return { unit, op: 'disable', formation, ...(removes.length ? { removes } : {}) };
}

export function needsDaemonReload(changedPaths: readonly string[]): boolean {
  return changedPaths.some((p) => p.startsWith('/etc/systemd/system/'));
}

export function planHostWhole(
  files: HostPlan,
  units: readonly UnitSpec[],
  activeState: (unit: string) => string | undefined,
  changeOf?: (path: string) => FileChange | undefined,
): HostWholePlan {
  return { files, daemonReload: needsDaemonReload(files.changedPaths), units: planUnits(units, activeState, files.changedPaths, changeOf) };
}

/** The PostgreSQL parameters a DCS patch sets or removes. */
export function patchedParameters(patch: Plain | undefined): string[] {
  const pg = patch?.postgresql;
  const params = isPlainObject(pg) ? pg.parameters : undefined;
  return isPlainObject(params) ? Object.keys(params).sort() : [];
}

/**
 * The rolling restart a deploy will do, if any: every data node when the patch touches a
 * parameter PostgreSQL reads only at start (context `postmaster`), plus any member that already
 * shows a pending restart (a run interrupted before it restarted them). Replicas by name, the
 * leader last, as the executor does it.
 */
export function planRollingRestart(opts: {
  patch: Plain | undefined;
  postmasterParameters: ReadonlySet<string>;
  members: readonly string[];
  pending: readonly string[];
  leader: string | undefined;
}): Extract<ClusterAction, { kind: 'rolling-restart' }> | undefined {
  const restartParams = patchedParameters(opts.patch).filter((p) => opts.postmasterParameters.has(p));
  const who = new Set(restartParams.length ? opts.members : opts.pending);
  if (!who.size) return undefined;
  const replicas = [...who].filter((m) => m !== opts.leader).sort();
  const leader = opts.leader !== undefined && who.has(opts.leader) ? opts.leader : undefined;
  return { kind: 'rolling-restart', replicas, leader, parameters: restartParams.length ? restartParams : ['pending restart'] };
}

export function describeUnitAction(a: UnitAction): string {
  if (a.op === 'disable') return `stop and disable ${a.unit}${a.removes?.length ? `, remove ${a.removes.join(' ')}` : ''}`;
  return `${a.op} ${a.unit}`;
}

export function describeClusterAction(a: ClusterAction): string {
  switch (a.kind) {
    case 'etcd-auth':
      return `etcd: ${a.step}`;
    case 'etcd-member':
      return `etcd: ${describeEtcdMemberStep(a.step)}`;
    case 'component-step':
      return `${a.component}: ${a.what}`;
    case 'role-passwords':
      return `postgres: set the password of ${a.users.join(', ')} on the leader (as SCRAM verifiers)`;
    case 'dcs-patch':
      return `patroni: PATCH /config ${JSON.stringify(a.patch)}`;
    case 'rolling-restart': {
      const order = [...a.replicas, ...(a.leader ? [`${a.leader} (leader, last)`] : [])];
      return `patroni: rolling restart of ${order.join(', ')} for ${a.parameters.join(', ')}`;
    }
  }
}

/** One host's action lines, in execution order. */
export function hostActionLines(p: HostWholePlan): string[] {
  return [
    ...p.files.actions.map(describeAction),
    ...(p.daemonReload ? ['systemctl daemon-reload'] : []),
    ...p.units.map(describeUnitAction),
  ];
}

export function isEmptyPlan(plan: WholePlan): boolean {
  return plan.cluster.length === 0 && [...plan.hosts.values()].every((h) => hostActionLines(h).length === 0);
}

/**
 * The plan as text: per host a header and its actions (with `diff`, each file's diff under its
 * line), then the cluster's actions. `deploy --check` prints this for the plan, `deploy` for
 * what it executed; `filterDiff` lines are indented by four, action lines by two.
 */
export function formatWholePlan(plan: WholePlan, opts: { diff?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const [host, p] of plan.hosts) {
    const lines = hostActionLines(p);
    if (!lines.length) continue;
    out.push(`${host}: ${lines.length} change${lines.length === 1 ? '' : 's'}`);
    for (const a of p.files.actions) {
      out.push(`  ${describeAction(a)}`);
      if (opts.diff && a.kind === 'write-file')
        out.push(
          ...a.diff
            .replace(/\n$/, '')
            .split('\n')
            .map((l) => `    ${l}`),
        );
    }
    if (p.daemonReload) out.push('  systemctl daemon-reload');
    for (const u of p.units) out.push(`  ${describeUnitAction(u)}`);
  }
  for (const a of plan.cluster) out.push(`cluster: ${describeClusterAction(a)}`);
  return out;
}
