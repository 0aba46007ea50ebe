/**
 * The planning half of `pgha deploy`: read every fact the plan depends on (files, packages and
 * units on each host; the live cluster; etcd's auth; the components' steps inside the cluster;
 * the DCS configuration), then build the whole plan with the pure functions of src/plan/. Reads
 * only: `deploy --check` stops after this.
 */
import { dataNodes, etcdMembers, hasRole, MANAGED_BY_PGHA, str } from '../../components/common.js';
import { ETCD_UNIT } from '../../components/etcd/index.js';
import {
  deferredEtcdStep,
  EtcdGateway,
  planEtcdAuth,
  readEtcdAuth,
  describeEtcdAuthStep,
  type EtcdAuthState,
} from '../../components/etcd/auth.js';
import { desiredDcs } from '../../components/patroni/dcs.js';
import { dcsPatch } from '../../components/patroni/dcs-patch.js';
import { postmasterParametersCommand } from '../../components/host-commands.js';
import { LOCAL_REPO_REMOTE_DIR } from '../../components/paths.js';
import { RefusedError } from '../../errors.js';
import { copiesLocalRepo } from '../../platforms/index.js';
import type { Plain } from '../../model/merge.js';
import type { ResolvedHost } from '../../model/types.js';
import { leaderKeyBug, leaderKeyFix } from '../../patroni/known-bugs.js';
import { leaderOf } from '../../patroni/judge.js';
import { notInConfigHint, notInConfigMessage } from '../../patroni/not-in-config.js';
import {
  patchedParameters,
  planHostWhole,
  planRollingRestart,
  retiredUnitAction,
  type ClusterAction,
  type UnitAction,
} from '../../plan/cluster-plan.js';
import { etcdPreflight, type EtcdMemberView, type EtcdPreflight } from '../../plan/etcd-preflight.js';
import { osReleaseProblem } from '../../plan/os-check.js';
import { planHost, sha256 } from '../../plan/plan.js';
import { gatherFacts } from '../../plan/remote.js';
import { packagesFor, renderCluster, retiredUnitsFor, settleFile, unitsFor, type PackageSpec } from '../../render/index.js';
import { run } from '../../transport/types.js';
import { stalePatroniRoles } from '../role-passwords.js';
import { etcdHealth } from '../live/view.js';
import { waitFor } from '../wait.js';
import { patroniUnit } from '../../components/patroni/config.js';
import type { DeployContext, HostWork } from './context.js';
import type { FileChange } from '../../components/component.js';
import { etcdPeerUrl } from '../../components/etcd/config.js';
import { planEtcdMembership } from '../../components/etcd/membership.js';
import { planComponentSteps } from './steps.js';

export const REMOTE_REPO_INDEX = `${LOCAL_REPO_REMOTE_DIR}/Packages`;

/** bare hosts with `use_local_repo_only` get DIR/local-repo copied over SSH and use only it. */
export function usesCopiedRepo(d: DeployContext, h: ResolvedHost): boolean {
  return copiesLocalRepo(d.loaded.cluster, h);
}

export function packageArg(p: PackageSpec): string {
  return p.version ? `${p.name}=${p.version}` : p.name;
}

export function leaderName(d: DeployContext): string | undefined {
  return d.live ? leaderOf(d.live)?.name : undefined;
}

/**
 * No member answered GET /cluster, yet the facts show Patroni running on data nodes: that is a
 * cluster deploy cannot see, not one to bootstrap. Planning for "nothing leads" would render every
 * host for the configured primary and wait for it to lead. A Patroni replaces its REST server at
 * the HA cycle after a reload that changed its certificates (up to loop_wait later), so the read
 * is retried (a minute); after that deploy refuses, changing nothing. True when the read
 * succeeded on a retry: the caller plans again for the leader now known.
 */
export async function rereadUnansweredLive(d: DeployContext): Promise<boolean> {
  if (d.live || d.liveUnanswered === undefined) return false;
  const unit = patroniUnit(d.loaded.cluster);
  const running = dataNodes(d.loaded.cluster)
    .filter((h) => d.work.get(h.name)?.facts?.services[unit]?.active === 'active')
    .map((h) => h.name);
  if (!running.length) return false;
  const info = await waitFor(() => d.readLive(), {
    timeoutMs: d.unansweredLiveWaitMs,
    intervalMs: 1000,
    what: 'a data node to answer GET /cluster',
  }).catch(() => undefined);
  if (info) {
    d.live = info;
    return true;
  }
  if (d.liveUnanswered === undefined) return false; // answered, with no member: Patroni is starting
  throw new RefusedError(
    'refusing to deploy; nothing was changed:',
    [
      `${unit} runs on ${running.join(', ')}, but for ${Math.round(d.unansweredLiveWaitMs / 1000)} s no data node's REST API answered: ${d.liveUnanswered}`,
    ],
    {
      where: 'patroni',
      hint: `deploy needs the live leader to plan; look at \`journalctl -u ${unit}\` on ${running.join(', ')} and at \`pgha status ${d.loaded.paths.dir}\`, then run deploy again`,
    },
  );
}

/**
 * The live leader must be a host config.yml names: deploy renders every member's configuration
 * for it and runs the leader's steps on it. Refused before anything changes otherwise.
 */
export function checkLiveLeader(d: DeployContext): void {
  const leader = leaderName(d);
  if (leader === undefined || d.loaded.cluster.hosts.some((h) => h.name === leader)) return;
  throw new RefusedError('refusing to deploy; nothing was changed:', [notInConfigMessage(leader, 'the leader of the live cluster')], {
    hint: notInConfigHint(leader, d.loaded.paths.dir),
  });
}

/** Desired state of every selected host, from the registry, rendered for the live leader. */
export function renderDesired(d: DeployContext): void {
  const material = d.session.material;
  const leader = leaderName(d) ?? d.configuredPrimary().name;
  const rendered = renderCluster(
    d.loaded.cluster,
    { secret: (n) => material.secrets.get(n), pki: material.pki, exporterBundle: d.exporterBundle },
    { leader, copiesLocalRepo: (h) => usesCopiedRepo(d, h), etcdJoining: d.etcdJoining() },
  );
  for (const host of d.selected()) {
    d.work.set(host.name, {
      host,
      files: rendered.get(host.name) ?? [],
      packages: packagesFor(d.loaded.cluster, host),
      units: unitsFor(d.loaded.cluster, host),
    });
  }
}

/**
 * What is on the host, then its plan. Every file is compared by hash first; the content of the
 * files that differ (never of sensitive ones) is fetched in a second round trip, only for the
 * diff. A no-op run thus ships no content and the host forks no encoder per file.
 */
export async function planHostWork(d: DeployContext, w: HostWork): Promise<void> {
  const t = d.session.transport(w.host.name);
  const copiedRepo = usesCopiedRepo(d, w.host) ? [REMOTE_REPO_INDEX] : [];
  const paths = [...w.files.map((f) => f.path), ...copiedRepo];
  // etcd on a host without role etcd: a member config.yml took the role from, to stop (retiredEtcd).
  const retiring = d.etcdLive && !hasRole(w.host, 'etcd') ? [ETCD_UNIT] : [];
  // Units of components the host does not run (Component.retired): stopped where they still run
  // and their file is pgha's. The file's content is read (it is small and never sensitive).
  const retired = retiredUnitsFor(d.loaded.cluster, w.host);
  const units = [...w.units.map((u) => u.unit), ...retiring, ...retired.map((r) => r.unit)];
  const markers = [...new Set(retired.map((r) => r.managedFile))].filter((p) => !paths.includes(p));
  w.facts = await gatherFacts(t, {
    paths: [...paths, ...markers],
    packages: w.packages.map((p) => p.name),
    services: units,
    hashOnly: paths,
  });
  const facts0 = w.facts;
  const differing = w.files.filter((f) => {
    const fact = w.facts!.files[f.path];
    return !f.sensitive && fact?.state === 'file' && fact.sha256 !== sha256(f.content);
  });
  if (differing.length) {
    const contents = await gatherFacts(t, { paths: differing.map((f) => f.path), packages: [], services: [] });
    Object.assign(w.facts.files, contents.files);
    // What the components keep of the host's copy (settleFile): may make a file equal again.
    const active = (u: string) => facts0.services[u]?.active === 'active';
    w.files = w.files.map((f) => {
      const onHost = facts0.files[f.path];
      if (!differing.includes(f) || onHost?.state !== 'file' || onHost.content === undefined) return f;
      const content = settleFile(d.loaded.cluster, w.host, f.path, f.content, onHost.content, active);
      return content === f.content ? f : { ...f, content };
    });
  }
  const files = planHost({ files: w.files, packages: w.packages }, w.facts, {
    redact: (s: string) => d.session.material.secrets.redact(s),
  });
  const facts = w.facts;
  const whole = planHostWhole(
    files,
    w.units,
    (u) => facts.services[u]?.active,
    (path) => changeOf(w, path),
  );
  const etcdRetired = retiring.length ? retiredEtcd(w.host, facts.services[ETCD_UNIT]) : undefined;
  if (etcdRetired) whole.units.push(etcdRetired);
  for (const r of retired) {
    const marker = facts.files[r.managedFile];
    if (marker?.state !== 'file' || !marker.content?.startsWith(MANAGED_BY_PGHA)) continue;
    const a = retiredUnitAction(r.unit, r.formation, facts.services[r.unit]);
    if (a) whole.units.push(a);
  }
  d.plan.hosts.set(w.host.name, whole);
}

/**
 * A host that stays in config.yml without role etcd, where etcd still runs or is enabled: its
 * member leaves etcd in this run (the membership step removes it, or refuses), so its etcd is
 * stopped and disabled after the `member remove`, and its data directory deleted — a removed
 * member's data can never rejoin (etcd refuses its old ID), so the role given back later starts
 * it as a new member. Planned only while etcd answers (etcdLive), which the membership step needs.
 */
function retiredEtcd(host: ResolvedHost, fact: { active: string; enabled: string } | undefined): UnitAction | undefined {
  return retiredUnitAction(ETCD_UNIT, 'etcd', fact, [str(host.vars, 'etcd_data_dir')]);
}

/** Refuse (before anything changes) every host whose OS release is not the one its os_version names. */
export function checkOsReleases(d: DeployContext): void {
  const problems = [...d.work.values()].flatMap((w) => {
    const problem = w.facts ? osReleaseProblem(w.host, w.facts.os) : undefined;
    return problem ? [problem] : [];
  });
  if (problems.length) {
    throw new RefusedError('refusing to deploy; nothing was changed:', problems, {
      where: 'os release',
      hint: "set os_version (per instance if need be) to the release each host runs; pgha does not upgrade a host's OS",
    });
  }
}

/** Whether this run changes what etcd on the host runs with (whether or not it runs now), so that it restarts it. */
function reconfiguresEtcd(d: DeployContext, host: string): boolean {
  const p = d.plan.hosts.get(host);
  const w = d.work.get(host);
  const etcdUnits = (w?.units ?? []).filter((u) => u.formation === 'etcd');
  if (!p || !w) return false;
  const restarts = (path: string) =>
    etcdUnits.some((u) => u.reactions(path, changeOf(w, path)).some((r) => r.unit === u.unit && r.how === 'restart'));
  return p.files.changedPaths.some(restarts) || p.files.installs.some((i) => i.startsWith('etcd-'));
}

/** A changed file's content on the host and the new one, where the facts hold both (never for sensitive files). */
function changeOf(w: HostWork, path: string): FileChange | undefined {
  const before = w.facts?.files[path];
  const after = w.files.find((f) => f.path === path);
  return before?.state === 'file' && before.content !== undefined && after ? { before: before.content, after: after.content } : undefined;
}

/**
 * Every etcd member's health, read before anything changes, judged by etcdPreflight: refuse
 * to reconfigure etcd while a member is down (quorum), warn otherwise. All members are
 * probed, also those outside --hosts: quorum is the whole cluster's.
 */
export async function checkEtcd(d: DeployContext): Promise<EtcdPreflight> {
  const hosts = etcdMembers(d.loaded.cluster);
  if (!hosts.length) return { refusals: [], warnings: [], skipWait: [] };
  const views = await Promise.all(
    hosts.map(async (h): Promise<EtcdMemberView> => {
      const w = d.work.get(h.name);
      const base = {
        name: h.name,
        unitActive: w?.facts?.services['etcd.service']?.active,
        reconfigured: reconfiguresEtcd(d, h.name),
        joining: d.etcdJoining().includes(h.name),
      };
      try {
        const { healthy, status } = await etcdHealth(d.session.etcdHttp(h.name));
        return { ...base, healthy, error: healthy ? undefined : `GET /health answered ${status}` };
      } catch (e) {
        return { ...base, healthy: false, error: (e as Error).message };
      }
    }),
  );
  d.etcdHealthy = views.filter((v) => v.healthy).map((v) => v.name);
  const check = etcdPreflight(views, { clusterDir: d.loaded.paths.dir });
  if (check.refusals.length) {
    throw new RefusedError('refusing to deploy; nothing was changed:', check.refusals, {
      where: 'etcd',
      ...(check.hint ? { hint: check.hint } : {}),
    });
  }
  return check;
}

/**
 * The etcd membership step this run takes (one member added or removed), judged on the
 * membership read when the run began and the members' health; refused, changing nothing, when it
 * would cost etcd its quorum or when config.yml changes more than one member at once.
 */
export function planEtcdMembers(d: DeployContext): void {
  if (!d.etcdLive) return;
  const wanted = etcdMembers(d.loaded.cluster).map((h) => ({ name: h.name, peerUrl: etcdPeerUrl(h) }));
  const plan = planEtcdMembership(d.etcdLive.members, wanted, d.etcdHealthy);
  if (plan.refusals.length) {
    throw new RefusedError('refusing to deploy; nothing was changed:', plan.refusals, {
      where: 'etcd',
      ...(plan.hint ? { hint: plan.hint.replace('DIR', d.loaded.paths.dir) } : {}),
    });
  }
  d.etcdMemberSteps = plan.steps;
}

/** etcd's auth as it is, read through a member checkEtcd found healthy; undefined when none is (yet). */
export async function readEtcdAuthState(d: DeployContext): Promise<EtcdAuthState | undefined> {
  const spec = d.etcdAuthSpec();
  const via = d.etcdHealthy[0];
  if (!spec || via === undefined) return undefined;
  return readEtcdAuth(new EtcdGateway(d.session.etcdHttp(via), `${via}: etcd auth`), spec);
}

/** Patroni's roles whose password in PostgreSQL is not the one in DIR/secrets (read on the leader; nothing secret crosses). */
export async function rolePasswordsPending(d: DeployContext, leader: string): Promise<string[]> {
  return stalePatroniRoles(d.session.transport(leader), d.session.host(leader).vars, (n) => d.secret(n));
}

/** The parameters PostgreSQL reads only at start, asked of the leader only when the patch sets parameters. */
async function postmasterParameters(d: DeployContext, leader: string, patch: Plain | undefined): Promise<Set<string>> {
  if (!patchedParameters(patch).length) return new Set();
  const port = Number(d.session.host(leader).vars.postgres_port);
  const r = await run(d.session.transport(leader), postmasterParametersCommand(port), 'read pg_settings');
  return new Set(r.stdout.split('\n').filter(Boolean));
}

/** The cluster's actions: etcd auth steps, the components' steps (PgBouncer's auth user), the DCS patch and the rolling restart it causes. */
export async function planCluster(d: DeployContext): Promise<void> {
  const cluster: ClusterAction[] = d.etcdMemberSteps.map((step): ClusterAction => ({ kind: 'etcd-member', step }));
  const spec = d.etcdAuthSpec();
  const etcdSteps = spec ? planEtcdAuth(await readEtcdAuthState(d), spec) : [];
  // A changed etcd password is set only after every Patroni reloaded it (see deferredEtcdSteps).
  for (const step of etcdSteps.filter((s) => !deferredEtcdStep(s))) cluster.push({ kind: 'etcd-auth', step: describeEtcdAuthStep(step) });
  // The executor acts on Patroni only when this run includes data nodes (`--hosts` may leave them out).
  if (!dataNodes(d.loaded.cluster).some((h) => d.work.has(h.name))) {
    d.plan.cluster = cluster;
    return;
  }
  const leader = leaderName(d);
  // Read on the leader over SSH only when this run connected to it.
  const reachable = leader !== undefined && d.work.has(leader) ? leader : undefined;
  // Components' steps inside the cluster (PgBouncer's auth user): on the leader once it is up.
  cluster.push(...(await planComponentSteps(d, leader)));
  if (reachable) {
    const users = await rolePasswordsPending(d, reachable);
    if (users.length) cluster.push({ kind: 'role-passwords', users });
  }
  for (const step of etcdSteps.filter(deferredEtcdStep)) cluster.push({ kind: 'etcd-auth', step: describeEtcdAuthStep(step) });
  if (leader) {
    const patch = dcsPatch(desiredDcs(d.session.host(leader).vars, d.session.cluster.name), await d.session.patroni(leader).config());
    if (patch) cluster.push({ kind: 'dcs-patch', patch });
    const restart = planRollingRestart({
      patch,
      postmasterParameters: reachable ? await postmasterParameters(d, reachable, patch) : new Set(),
      members: (d.live?.members ?? []).map((m) => m.name),
      pending: (d.live?.members ?? []).filter((m) => m.pending_restart).map((m) => m.name),
      leader,
    });
    if (restart) cluster.push(restart);
  }
  d.plan.cluster = cluster;
}

/**
 * A warning naming the members whose running Patroni has a known write-losing bug, with the
 * fix (src/patroni/known-bugs.ts); none when every member answers with a good build or not at all.
 */
export async function knownBugWarnings(d: DeployContext): Promise<string[]> {
  const bad: string[] = [];
  await Promise.all(
    dataNodes(d.loaded.cluster)
      .filter((h) => d.selected().includes(h))
      .map(async (h) => {
        try {
          const bug = leaderKeyBug((await d.session.patroni(h.name).patroni()).patroni);
          if (bug) bad.push(`${h.name}: ${bug}`);
        } catch {
          // Not running (yet): nothing to say about its build.
        }
      }),
  );
  return bad.sort().map((b) => `warning: ${b}; fix: ${leaderKeyFix(d.loaded.paths.dir)}`);
}
