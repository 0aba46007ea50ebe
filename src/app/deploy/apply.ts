/**
 * The executing half of `pgha deploy`: runs the whole plan (./plan.ts) in TPA's lifecycle
 * phases — files that must precede packages, packages, files, then cluster formation: etcd
 * (parallel start, health gate, rolling restarts, auth), Patroni (primary first, then replicas;
 * the DCS patch and the rolling restart it causes) and the `service` components. Each action is
 * recorded as it runs, in the plan's own shape, so what deploy prints as applied can be compared
 * with what `--check` printed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataNodes, etcdMembers } from '../../components/common.js';
import {
  applyEtcdAuth,
  deferredEtcdStep,
  describeEtcdAuthStep,
  EtcdGateway,
  planEtcdAuth,
  readEtcdAuth,
} from '../../components/etcd/auth.js';
import { patroniUnit } from '../../components/patroni/config.js';
import { desiredDcs } from '../../components/patroni/dcs.js';
import { dcsPatch } from '../../components/patroni/dcs-patch.js';
import {
  daemonReloadCommand,
  disableUnitsCommand,
  installPackagesCommand,
  reloadUnitCommand,
  restartUnitCommand,
  startUnitsCommand,
} from '../../components/host-commands.js';
import { LOCAL_REPO_REMOTE_DIR, LOCAL_REPO_SOURCE_LIST } from '../../components/paths.js';
import { UsageError } from '../../errors.js';
import { isPlainObject, stripNulls } from '../../model/merge.js';
import { leaderOf, maximumLagOnFailover } from '../../patroni/judge.js';
import { patchDcsConfig } from '../../patroni/ops.js';
import type { ClusterInfo } from '../../patroni/types.js';
import { etcdHealth, restartMember, waitAllStreaming, waitLeader } from '../live/view.js';
import type { ClusterAction, HostWholePlan, UnitAction, WholePlan } from '../../plan/cluster-plan.js';
import { applyFiles } from '../../plan/remote.js';
import { isPreInstall, privateDirectoriesFor } from '../../render/index.js';
import { run } from '../../transport/types.js';
import { awaitStartedServices, verifyOneLeader } from './settle.js';
import { waitFor } from '../wait.js';
import type { DeployContext } from './context.js';
import { applyEtcdMemberStep } from '../../components/etcd/membership.js';
import { applyDeferredEtcdAuth, applyRolePasswords } from './credentials.js';
import { leaderName, REMOTE_REPO_INDEX, usesCopiedRepo } from './plan.js';
import { applyComponentSteps } from './steps.js';
import { DEFAULT_LOOP_WAIT, waitServingNewCertificate, wakeLeaderForSlots } from './patroni-waits.js';

export class Executor {
  /** What ran, in the plan's shape: file and package actions as planned, units and cluster steps as done. */
  readonly executed: WholePlan = { hosts: new Map(), cluster: [] };
  /** Things worth saying that are not actions (who bootstrapped). */
  readonly notes: string[] = [];

  constructor(
    readonly d: DeployContext,
    private readonly skipEtcdWait: readonly string[],
  ) {}

  private planOf(host: string): HostWholePlan | undefined {
    return this.d.plan.hosts.get(host);
  }

  private record(host: string): HostWholePlan {
    let p = this.executed.hosts.get(host);
    if (!p) {
      const planned = this.planOf(host)!;
      p = { files: { ...planned.files, actions: [] }, daemonReload: false, units: [] };
      this.executed.hosts.set(host, p);
    }
    return p;
  }

  private async unit(host: string, a: UnitAction, opts: { noBlock?: boolean } = {}): Promise<void> {
    const t = this.d.session.transport(host);
    const cmd =
      a.op === 'start'
        ? startUnitsCommand([a.unit], opts)
        : a.op === 'restart'
          ? restartUnitCommand(a.unit)
          : a.op === 'disable'
            ? disableUnitsCommand([a.unit], a.removes)
            : reloadUnitCommand(a.unit);
    await run(t, cmd, `${a.op} ${a.unit}`);
    this.record(host).units.push(a);
  }

  private unitsOf(formation: UnitAction['formation'], op?: UnitAction['op']): { host: string; a: UnitAction }[] {
    const out: { host: string; a: UnitAction }[] = [];
    for (const [host, p] of this.d.plan.hosts)
      for (const a of p.units) if (a.formation === formation && (!op || a.op === op)) out.push({ host, a });
    return out;
  }

  private planned<K extends ClusterAction['kind']>(kind: K): Extract<ClusterAction, { kind: K }>[] {
    return this.d.plan.cluster.filter((a): a is Extract<ClusterAction, { kind: K }> => a.kind === kind);
  }

  // ── packages and files ──

  async installPackages(host: string): Promise<void> {
    const p = this.planOf(host);
    if (!p?.files.installs.length) return;
    const w = this.d.work.get(host)!;
    const t = this.d.session.transport(host);
    let onlySourceList: string | undefined;
    if (usesCopiedRepo(this.d, w.host)) {
      const localRepo = this.d.loaded.paths.localRepo;
      const local = join(localRepo, 'Packages');
      if (!existsSync(local)) {
        throw new UsageError(`use_local_repo_only is set but ${localRepo} has no repository`, {
          where: `${host}: packages`,
          hint: `run \`pgha download-packages ${this.d.loaded.paths.dir}\``,
        });
      }
      const remote = w.facts?.files[REMOTE_REPO_INDEX];
      const localHash = createHash('sha256').update(readFileSync(local)).digest('hex');
      if (remote?.state !== 'file' || remote.sha256 !== localHash) await t.putDirectory(localRepo, LOCAL_REPO_REMOTE_DIR);
      onlySourceList = LOCAL_REPO_SOURCE_LIST;
    }
    const all = w.packages.map((x) => (x.version ? `${x.name}=${x.version}` : x.name));
    await run(
      t,
      installPackagesCommand(all, { onlySourceList }),
      'install packages',
      'check the package repository (pgha download-packages DIR)',
    );
    this.record(host).files.actions.push(...p.files.actions.filter((a) => a.kind === 'install'));
  }

  /**
   * Write the planned files of one stage: `pre` holds the files that must be in place before
   * packages install (they stop Debian's install-time side effects), `post` the rest.
   */
  async writeFiles(host: string, stage: 'pre' | 'post'): Promise<void> {
    const p = this.planOf(host);
    const files = (p?.files.files ?? []).filter((f) => isPreInstall(f) === (stage === 'pre'));
    if (!p || files.length === 0) return;
    const t = this.d.session.transport(host);
    const secrets = this.d.session.material.secrets;
    await applyFiles(
      t,
      files,
      secrets.names().map((n) => secrets.get(n)),
      privateDirectoriesFor(files),
    );
    const paths = new Set(files.map((f) => f.path));
    this.record(host).files.actions.push(...p.files.actions.filter((a) => a.kind !== 'install' && paths.has(a.path)));
    // Only when unit files changed: an extra round trip on first deploys, none on re-runs.
    if (p.daemonReload && files.some((f) => f.path.startsWith('/etc/systemd/system/'))) {
      await run(t, daemonReloadCommand(), 'systemctl daemon-reload');
      this.record(host).daemonReload = true;
    }
  }

  // ── etcd ──

  async etcdHealthy(host: string): Promise<boolean> {
    return (await etcdHealth(this.d.session.etcdHttp(host))).healthy;
  }

  async waitEtcd(host: string): Promise<void> {
    await waitFor(async () => ((await this.etcdHealthy(host)) ? true : undefined), {
      timeoutMs: 90_000,
      what: `etcd on ${host} to be healthy`,
      where: `${host}: etcd`,
      hint: `look at \`journalctl -u etcd\` on ${host}`,
    });
  }

  async etcdPhase(): Promise<void> {
    await this.etcdMembership();
    // etcd on a host that lost role etcd, its member removed just now: stopped, disabled, its data gone.
    await Promise.all(this.unitsOf('etcd', 'disable').map(({ host, a }) => this.unit(host, a)));
    const members = etcdMembers(this.d.loaded.cluster).filter((h) => this.d.work.has(h.name));
    if (!members.length) return;
    // Members of a new cluster wait for each other: start them all, without blocking, then gate.
    await Promise.all(this.unitsOf('etcd', 'start').map(({ host, a }) => this.unit(host, a, { noBlock: true })));
    // A member found running but unhealthy before the run was warned about and is left alone:
    // starting it again would not fix it, and the others keep quorum without it.
    const gate = members.filter((h) => !this.skipEtcdWait.includes(h.name));
    await Promise.all(gate.map((h) => this.waitEtcd(h.name)));
    // A changed configuration rolls through the members one at a time, health-gated.
    for (const { host, a } of this.unitsOf('etcd').filter((x) => x.a.op === 'restart' || x.a.op === 'reload')) {
      await this.unit(host, a);
      await Promise.all(gate.map((h) => this.waitEtcd(h.name)));
    }
    const spec = this.d.etcdAuthSpec();
    if (!spec) return;
    // Planned from what etcd held at plan time; re-read so an interrupted run converges. Through
    // a member the health gate waited for: one left down on purpose cannot answer.
    const via = (gate[0] ?? members[0]!).name;
    const gw = new EtcdGateway(this.d.session.etcdHttp(via), `${via}: etcd auth`);
    const steps = planEtcdAuth(await readEtcdAuth(gw, spec), spec);
    const now = steps.filter((s) => !deferredEtcdStep(s));
    await applyEtcdAuth(gw, now, spec);
    this.executed.cluster.push(...now.map((s): ClusterAction => ({ kind: 'etcd-auth', step: describeEtcdAuthStep(s) })));
    this.etcdAuthVia = via;
  }

  /**
   * The planned membership step, before any member starts: a member is added before it first
   * starts (it then joins with `initial-cluster-state: existing`), and one config.yml dropped is
   * removed (a host no longer in config.yml is left as it is: pgha remove-node stops it; one that
   * only lost role etcd has its etcd stopped and disabled right after, see retiredEtcd in ./plan.ts).
   */
  async etcdMembership(): Promise<void> {
    const via = this.d.etcdLive?.via;
    if (!via || !this.d.etcdMemberSteps.length) return;
    const gw = await this.d.etcdAdmin(via);
    for (const step of this.d.etcdMemberSteps) {
      await applyEtcdMemberStep(gw, step);
      this.executed.cluster.push({ kind: 'etcd-member', step });
    }
  }

  /** Through this etcd member, once the etcd phase has run (the deferred password steps use it). */
  private etcdAuthVia: string | undefined;

  /** etcd password changes, after every Patroni of this run reloaded the new password (see deferredEtcdStep). */
  async deferredEtcdAuth(): Promise<void> {
    this.executed.cluster.push(...(await applyDeferredEtcdAuth(this.d, this.etcdAuthVia)));
  }

  /** Patroni's roles get the passwords in DIR/secrets, on the leader, before Patroni reloads them. */
  async rolePasswords(leader: string): Promise<void> {
    if (!this.planned('role-passwords').length) return;
    const done = await applyRolePasswords(this.d, leader);
    if (done) this.executed.cluster.push(done);
  }

  // ── Patroni ──

  async waitLeader(name: string): Promise<void> {
    await waitLeader(
      this.d.session,
      this.d.members(),
      { name },
      {
        timeoutMs: 240_000,
        intervalMs: 300,
        what: `${name} to bootstrap and lead`,
        where: `${name}: patroni`,
        hint: `look at \`journalctl -u patroni@${this.d.clusterName}\` on ${name}`,
      },
    );
  }

  /** Replicas count as caught up within maximum_lag_on_failover, as Patroni itself judges (the judge's definition). */
  async waitAllStreaming(names: string[]): Promise<ClusterInfo> {
    const maxLag = maximumLagOnFailover(stripNulls(desiredDcs(this.d.configuredPrimary().vars, this.d.clusterName)));
    return waitAllStreaming(this.d.session, this.d.members(), names, { maxLag });
  }

  async patroniPhase(): Promise<void> {
    const data = dataNodes(this.d.loaded.cluster).filter((h) => this.d.work.has(h.name));
    if (!data.length) return;
    // Patroni's own unit forms the cluster. The step's other units (the postmaster watch) wait
    // for a postmaster by themselves: they start once every member's Patroni has.
    const own = patroniUnit(this.d.loaded.cluster);
    const starts = this.unitsOf('patroni', 'start').filter((s) => s.a.unit === own);
    const helpers = this.unitsOf('patroni', 'start').filter((s) => s.a.unit !== own);
    let leader = leaderName(this.d);
    if (!leader) {
      // Nothing leads yet: the configured primary bootstraps alone, the replicas follow it.
      const primary = this.d.work.has(this.d.configuredPrimary().name) ? this.d.configuredPrimary().name : data[0]!.name;
      const first = starts.find((s) => s.host === primary);
      if (first) await this.unit(primary, first.a);
      await this.waitLeader(primary);
      leader = primary;
      this.notes.push(`patroni: ${leader} bootstrapped the cluster`);
    }
    await this.componentSteps(leader);
    await this.rolePasswords(leader);
    const others = starts.filter((s) => s.host !== leader);
    await Promise.all(others.map(({ host, a }) => this.unit(host, a)));
    if (others.length)
      await wakeLeaderForSlots(
        this.d,
        leader,
        others.map((s) => s.host),
      );
    await Promise.all(helpers.map(({ host, a }) => this.unit(host, a)));
    const reloads = this.unitsOf('patroni').filter((x) => x.a.op !== 'start');
    await Promise.all(reloads.map(({ host, a }) => this.unit(host, a)));
    await Promise.all(reloads.filter((x) => x.a.op === 'reload').map(({ host }) => waitServingNewCertificate(this.d, host)));
    await this.deferredEtcdAuth();
    // Always, not only after starting something: a run killed while replicas were still being
    // built leaves them starting, and the next run must not call that converged. On a healthy
    // cluster this is one poll over REST.
    this.d.live = await this.waitAllStreaming(data.map((h) => h.name));
    await this.reconcileDcs();
  }

  /** The components' steps inside the cluster (PgBouncer's auth user), where planned: before any `service` unit starts. */
  async componentSteps(leader: string): Promise<void> {
    this.executed.cluster.push(...(await applyComponentSteps(this.d, leader)));
  }

  async reconcileDcs(): Promise<void> {
    const leader = this.d.live ? leaderOf(this.d.live)?.name : undefined;
    if (!leader) return;
    const live = await this.d.session.patroni(leader).config();
    const desired = desiredDcs(this.d.session.host(leader).vars, this.d.clusterName);
    const patch = dcsPatch(desired, live);
    if (patch) {
      await patchDcsConfig(this.d.session.patroni(leader, { fromMember: true }), patch);
      this.executed.cluster.push({ kind: 'dcs-patch', patch });
    }
    const planned = this.planned('rolling-restart')[0];
    // Only PostgreSQL's parameters can leave a member pending a restart: a patch of Patroni's own
    // keys (synchronous_mode, failsafe_mode, the timing) needs no two-loop wait for one.
    const setsParameters = patch !== undefined && isPlainObject(patch.postgresql) && patch.postgresql.parameters !== undefined;
    if (setsParameters || planned)
      await this.rollingRestartIfPending(Number(stripNulls(desired).loop_wait ?? DEFAULT_LOOP_WAIT), planned?.parameters ?? []);
  }

  /**
   * Parameters that need a restart show up as pending_restart once each member's HA loop has
   * read the new configuration, which takes up to two loops. Restart those members through
   * Patroni one at a time, each back and streaming before the next: replicas as soon as they
   * show it, the leader only after every member had the time to, so it always goes last.
   */
  async rollingRestartIfPending(loopWait: number, parameters: string[]): Promise<void> {
    const settled = Date.now() + (2 * loopWait + 5) * 1000;
    const restarted: string[] = [];
    let lastLeader: string | undefined;
    for (;;) {
      const info = await this.d.readLive();
      const leader = info ? leaderOf(info)?.name : undefined;
      lastLeader = leader;
      const pending = (info?.members ?? []).filter((m) => m.pending_restart && !restarted.includes(m.name)).map((m) => m.name);
      const next = pending.find((n) => n !== leader) ?? (Date.now() >= settled ? pending[0] : undefined);
      if (!next) {
        if (Date.now() >= settled) break;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      await restartMember(this.d.session, this.d.members(), next, {
        body: { restart_pending: true },
        what: `${next} back after its restart for pending parameters`,
        cluster: this.d.clusterName,
      });
      restarted.push(next);
      this.d.live = await this.waitAllStreaming(dataNodes(this.d.loaded.cluster).map((h) => h.name));
    }
    if (!restarted.length) return;
    const replicas = restarted.filter((n) => n !== lastLeader).sort();
    this.executed.cluster.push({
      kind: 'rolling-restart',
      replicas,
      leader: restarted.includes(lastLeader ?? '') ? lastLeader : undefined,
      parameters: parameters.length ? parameters : ['pending restart'],
    });
  }

  /** The executed plan in the plan's order (hosts, then each host's actions), so the two read alike. */
  inPlanOrder(): WholePlan {
    const hosts = new Map<string, HostWholePlan>();
    for (const [host, planned] of this.d.plan.hosts) {
      const done = this.executed.hosts.get(host);
      if (!done) continue;
      const rank =
        <T>(list: readonly T[]) =>
        (x: T) =>
          list.indexOf(x) + 1 || list.length + 1;
      const fileRank = rank(planned.files.actions);
      const unitRank = rank(planned.units.map((u) => `${u.op} ${u.unit}`));
      hosts.set(host, {
        files: { ...done.files, actions: [...done.files.actions].sort((a, b) => fileRank(a) - fileRank(b)) },
        daemonReload: done.daemonReload,
        units: [...done.units].sort((a, b) => unitRank(`${a.op} ${a.unit}`) - unitRank(`${b.op} ${b.unit}`)),
      });
    }
    return { hosts, cluster: this.executed.cluster };
  }

  // ── the rest ──

  /** Units of the `early` formation (before etcd) or the `service` one (proxies and the like, once the cluster leads), in parallel. */
  async parallelPhase(formation: 'early' | 'service'): Promise<void> {
    const units = this.unitsOf(formation);
    await Promise.all(units.map(({ host, a }) => this.unit(host, a)));
    if (formation === 'service') await awaitStartedServices(this.d, units);
  }

  async verify(): Promise<void> {
    await verifyOneLeader(this.d);
  }
}
