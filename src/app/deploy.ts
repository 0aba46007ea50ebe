/**
 * `pgha deploy`: facts → plan → apply, in TPA's lifecycle phases (packages, files, services),
 * then cluster formation: etcd (parallel start, health gate, auth), Patroni (primary first,
 * then replicas), the DCS configuration through PATCH /config with rolling restarts, and the
 * proxies. Every step looks at the real state first, so a re-run — also after an interruption —
 * converges and a run with nothing to do changes nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { desiredDcs } from '../components/patroni/dcs.js';
import { dcsPatch } from '../components/patroni/dcs-patch.js';
import { ensureEtcdAuth } from '../components/etcd/auth.js';
import { pgbouncerAuthSql } from '../components/pgbouncer/config.js';
import { LOCAL_REPO_REMOTE_DIR, LOCAL_REPO_SOURCE_LIST, PGBOUNCER_FOLLOW_UNIT } from '../components/paths.js';
import {
  daemonReloadCommand,
  installPackagesCommand,
  pgbouncerAuthUserCommand,
  reloadUnitCommand,
  restartUnitCommand,
  startUnitsCommand,
} from '../components/host-commands.js';
import { ExitCode, RefusedError, RuntimeError, UsageError } from '../errors.js';
import { stripNulls, type Plain } from '../model/merge.js';
import type { DesiredFile, ResolvedHost, Vars } from '../model/types.js';
import { isHealthyReplicaState, isLeaderRole, leaderOf, type ClusterInfo } from '../patroni/types.js';
import { leaderKeyBug, leaderKeyFix } from '../patroni/known-bugs.js';
import type { HostFacts } from '../plan/facts.js';
import { etcdPreflight, type EtcdMemberView, type EtcdPreflight } from '../plan/etcd-preflight.js';
import { formatHostPlan, planHost, sha256, type HostPlan } from '../plan/plan.js';
import { applyFiles, gatherFacts } from '../plan/remote.js';
import { isPreInstall, packagesFor, renderCluster, servicesFor } from '../render/index.js';
import { run } from '../transport/types.js';
import { ensureClusterMaterial, loadCluster, type LoadedCluster } from './cluster-dir.js';
import { runPhases, type Phase, type Progress } from './progress.js';
import { ClusterSession, isDataNode, mapLimit } from './session.js';
import { waitFor } from './wait.js';

export interface DeployRequest {
  check: boolean;
  diff: boolean;
  extraVars: Vars;
  hosts?: string[] | undefined;
  concurrency: number;
}

export interface DeployResult {
  exitCode: number;
  summary: string;
  roundTrips: Record<string, number>;
}

interface HostWork {
  host: ResolvedHost;
  files: DesiredFile[];
  packages: string[];
  services: string[];
  facts?: HostFacts;
  plan?: HostPlan;
  /** Paths whose content this run changed. */
  changed: Set<string>;
}

export function patroniUnit(cluster: string): string {
  return `patroni@${cluster}.service`;
}

const REMOTE_REPO_INDEX = `${LOCAL_REPO_REMOTE_DIR}/Packages`;

export type Reaction = { unit: string; how: 'reload' | 'restart' } | 'daemon-reload';

/** What must happen when a file changes: units to reload or restart, systemd to re-read units. */
export function reactionsTo(path: string, cluster: string): Reaction[] {
  if (path.startsWith('/etc/systemd/system/')) {
    const unit = /^\/etc\/systemd\/system\/([^/]+?)(\.d\/.*)?$/.exec(path)?.[1];
    // A unit's own file or drop-in changing means its process runs with stale settings.
    return unit === PGBOUNCER_FOLLOW_UNIT ? ['daemon-reload', { unit, how: 'restart' }] : ['daemon-reload'];
  }
  if (path.startsWith('/etc/etcd/') || path === '/etc/default/etcd') return [{ unit: 'etcd.service', how: 'restart' }];
  if (path.startsWith('/etc/patroni/')) return [{ unit: patroniUnit(cluster), how: 'reload' }];
  if (path.startsWith('/etc/haproxy/')) return [{ unit: 'haproxy.service', how: 'reload' }];
  if (path.startsWith('/usr/local/lib/pgha/')) return [{ unit: PGBOUNCER_FOLLOW_UNIT, how: 'restart' }];
  if (path.startsWith('/etc/pgbouncer/')) return [{ unit: 'pgbouncer.service', how: 'reload' }];
  return [];
}

class Deployment {
  readonly session: ClusterSession;
  readonly work = new Map<string, HostWork>();
  readonly notes: string[] = [];
  live: ClusterInfo | undefined;
  dcsChange: Plain | undefined;
  etcdCheck: EtcdPreflight = { refusals: [], warnings: [], skipWait: [] };

  constructor(
    readonly loaded: LoadedCluster,
    material: Awaited<ReturnType<typeof ensureClusterMaterial>>,
    readonly req: DeployRequest,
  ) {
    this.session = new ClusterSession(loaded.cluster, loaded.paths, material);
  }

  get clusterName(): string {
    return this.loaded.cluster.name;
  }

  selected(): ResolvedHost[] {
    const all = this.loaded.cluster.hosts;
    if (!this.req.hosts?.length) return all;
    return all.filter((h) => this.req.hosts!.includes(h.name));
  }

  hostsWith(pred: (h: ResolvedHost) => boolean): HostWork[] {
    return [...this.work.values()].filter((w) => pred(w.host));
  }

  secret(name: string): string {
    return this.session.material.secrets.get(name);
  }

  /**
   * A warning naming the members whose running Patroni has a known write-losing bug, with the
   * fix (src/patroni/known-bugs.ts); none when every member answers with a good build or not at all.
   */
  async knownBugWarnings(): Promise<string[]> {
    const bad: string[] = [];
    await Promise.all(
      this.selected()
        .filter(isDataNode)
        .map(async (h) => {
          try {
            const bug = leaderKeyBug((await this.session.patroni(h.name).patroni()).patroni);
            if (bug) bad.push(`${h.name}: ${bug}`);
          } catch {
            // Not running (yet): nothing to say about its build.
          }
        }),
    );
    return bad.sort().map((b) => `warning: ${b}; fix: ${leaderKeyFix(this.loaded.paths.dir)}`);
  }

  /** The leader as the DCS sees it, read through any data node that answers. */
  async readLive(): Promise<ClusterInfo | undefined> {
    for (const h of this.loaded.cluster.hosts.filter(isDataNode)) {
      try {
        const info = await this.session.patroni(h.name).cluster();
        if (info.members.length) return info;
      } catch {
        // Not running there (yet): try the next member.
      }
    }
    return undefined;
  }

  leaderName(): string | undefined {
    return this.live ? leaderOf(this.live)?.name : undefined;
  }

  configuredPrimary(): ResolvedHost {
    const p = this.loaded.cluster.hosts.find((h) => h.roles.includes('primary'));
    if (!p) throw new UsageError('config.yml has no primary');
    return p;
  }

  render(): void {
    const material = this.session.material;
    const leader = this.leaderName() ?? this.configuredPrimary().name;
    const rendered = renderCluster(this.loaded.cluster, { secret: (n) => material.secrets.get(n), pki: material.pki }, { leader });
    for (const host of this.selected()) {
      this.work.set(host.name, {
        host,
        files: rendered.get(host.name) ?? [],
        packages: packagesFor(host).map((p) => (p.version ? `${p.name}=${p.version}` : p.name)),
        services: servicesFor(this.loaded.cluster, host),
        changed: new Set(),
      });
    }
  }

  /**
   * What is on the host, then the plan. Every file is compared by hash first; the content of the
   * files that differ (never of sensitive ones) is fetched in a second round trip, only for the
   * diff. A no-op run thus ships no content and the host forks no encoder per file.
   */
  async gatherFacts(w: HostWork): Promise<void> {
    const t = this.session.transport(w.host.name);
    const pkgNames = w.packages.map((p) => p.split('=')[0]!);
    const copiedRepo = this.usesCopiedRepo(w.host) ? [REMOTE_REPO_INDEX] : [];
    const paths = [...w.files.map((f) => f.path), ...copiedRepo];
    w.facts = await gatherFacts(t, { paths, packages: pkgNames, services: w.services, hashOnly: paths });
    const differing = w.files.filter((f) => {
      const fact = w.facts!.files[f.path];
      return !f.sensitive && fact?.state === 'file' && fact.sha256 !== sha256(f.content);
    });
    if (differing.length) {
      const contents = await gatherFacts(t, { paths: differing.map((f) => f.path), packages: [], services: [] });
      Object.assign(w.facts.files, contents.files);
    }
    const pins = packagesFor(w.host);
    w.plan = planHost(
      { files: w.files, packages: pins.map((p) => ({ name: p.name, ...(p.version ? { version: p.version } : {}) })) },
      w.facts,
      { redact: (s: string) => this.session.material.secrets.redact(s) },
    );
  }

  async planDcs(): Promise<void> {
    const leader = this.leaderName();
    if (!leader) return;
    const live = await this.session.patroni(leader).config();
    this.dcsChange = dcsPatch(desiredDcs(this.session.host(leader).vars), live);
  }

  pendingSummary(): string[] {
    const lines: string[] = [];
    for (const w of this.work.values()) {
      if (w.plan?.hasChanges) lines.push(formatHostPlan(w.host.name, w.plan, { diff: this.req.diff }));
      const inactive = w.services.filter((s) => w.facts?.services[s]?.active !== 'active');
      if (inactive.length) lines.push(`${w.host.name}: start ${inactive.join(', ')}`);
    }
    if (this.dcsChange) {
      lines.push(`cluster: PATCH /config ${JSON.stringify(this.dcsChange)}`);
    }
    return lines.map((l) => this.session.material.secrets.redact(l));
  }

  // ── apply ────────────────────────────────────────────────────────────────────────────

  /** bare hosts with `use_local_repo_only` get DIR/local-repo copied over SSH and use only it. */
  usesCopiedRepo(h: ResolvedHost): boolean {
    return this.loaded.cluster.platform === 'bare' && h.vars.use_local_repo_only === true;
  }

  async installPackages(w: HostWork): Promise<void> {
    if (!w.plan?.installs.length) return;
    const t = this.session.transport(w.host.name);
    let onlySourceList: string | undefined;
    if (this.usesCopiedRepo(w.host)) {
      const local = join(this.loaded.paths.localRepo, 'Packages');
      if (!existsSync(local)) {
        throw new UsageError(`use_local_repo_only is set but ${this.loaded.paths.localRepo} has no repository`, {
          where: `${w.host.name}: packages`,
          hint: `run \`pgha download-packages ${this.loaded.paths.dir}\``,
        });
      }
      const remote = w.facts?.files[REMOTE_REPO_INDEX];
      const localHash = createHash('sha256').update(readFileSync(local)).digest('hex');
      if (remote?.state !== 'file' || remote.sha256 !== localHash) await t.putDirectory(this.loaded.paths.localRepo, LOCAL_REPO_REMOTE_DIR);
      onlySourceList = LOCAL_REPO_SOURCE_LIST;
    }
    await run(
      t,
      installPackagesCommand(w.packages, { onlySourceList }),
      'install packages',
      'check the package repository (pgha download-packages DIR)',
    );
  }

  /**
   * Write the planned files of one stage: `pre` holds the files that must be in place before
   * packages install (they stop Debian's install-time side effects), `post` the rest.
   */
  async writeFiles(w: HostWork, stage: 'pre' | 'post'): Promise<void> {
    const files = (w.plan?.files ?? []).filter((f) => isPreInstall(f) === (stage === 'pre'));
    if (files.length === 0) return;
    const t = this.session.transport(w.host.name);
    const result = await applyFiles(
      t,
      files,
      this.session.material.secrets.names().map((n) => this.secret(n)),
    );
    for (const p of result.changed) w.changed.add(p);
    // Only when unit files changed: an extra round trip on first deploys, none on re-runs.
    if (result.changed.some((p) => reactionsTo(p, this.clusterName).includes('daemon-reload'))) {
      await run(t, daemonReloadCommand(), 'systemctl daemon-reload');
    }
  }

  isActive(w: HostWork, unit: string): boolean {
    return w.facts?.services[unit]?.active === 'active';
  }

  /** How a unit must react to what this run changed on its host, if at all (restart wins). */
  needs(w: HostWork, unit: string): 'reload' | 'restart' | undefined {
    let how: 'reload' | 'restart' | undefined;
    for (const p of w.changed) {
      for (const r of reactionsTo(p, this.clusterName)) {
        if (typeof r === 'object' && r.unit === unit) how = how === 'restart' ? how : r.how;
      }
    }
    return how;
  }

  // ── etcd ──

  async etcdHealthy(h: ResolvedHost): Promise<boolean> {
    const res = await this.session.etcdHttp(h.name).request({ method: 'GET', path: '/health', timeoutMs: 3_000 });
    return res.status === 200 && (res.body as { health?: string }).health === 'true';
  }

  /** Whether this run changes what etcd on the host runs with, so that it restarts it. */
  reconfiguresEtcd(w: HostWork): boolean {
    const restarts = (p: string) =>
      reactionsTo(p, this.clusterName).some((r) => typeof r === 'object' && r.unit === 'etcd.service' && r.how === 'restart');
    return (w.plan?.changedPaths ?? []).some(restarts) || (w.plan?.installs ?? []).some((p) => p.startsWith('etcd-'));
  }

  /**
   * Every etcd member's health, read before anything changes, judged by etcdPreflight: refuse
   * to reconfigure etcd while a member is down (quorum), warn otherwise. All members are
   * probed, also those outside --hosts: quorum is the whole cluster's.
   */
  async checkEtcd(): Promise<void> {
    const hosts = this.loaded.cluster.hosts.filter((h) => h.roles.includes('etcd'));
    if (!hosts.length) return;
    const views = await Promise.all(
      hosts.map(async (h): Promise<EtcdMemberView> => {
        const w = this.work.get(h.name);
        const base = {
          name: h.name,
          unitActive: w?.facts?.services['etcd.service']?.active,
          reconfigured: w ? this.reconfiguresEtcd(w) : false,
        };
        try {
          const res = await this.session.etcdHttp(h.name).request({ method: 'GET', path: '/health', timeoutMs: 3_000 });
          const ok = res.status === 200 && (res.body as { health?: string }).health === 'true';
          return { ...base, healthy: ok, error: ok ? undefined : `GET /health answered ${res.status}` };
        } catch (e) {
          return { ...base, healthy: false, error: (e as Error).message };
        }
      }),
    );
    this.etcdCheck = etcdPreflight(views, { clusterDir: this.loaded.paths.dir });
    if (this.etcdCheck.refusals.length) {
      throw new RefusedError('refusing to deploy; nothing was changed:', this.etcdCheck.refusals, {
        where: 'etcd',
        ...(this.etcdCheck.hint ? { hint: this.etcdCheck.hint } : {}),
      });
    }
  }

  async waitEtcd(h: ResolvedHost): Promise<void> {
    await waitFor(async () => ((await this.etcdHealthy(h)) ? true : undefined), {
      timeoutMs: 90_000,
      what: `etcd on ${h.name} to be healthy`,
      where: `${h.name}: etcd`,
      hint: `look at \`journalctl -u etcd\` on ${h.name}`,
    });
  }

  async etcdPhase(): Promise<void> {
    const members = this.hostsWith((h) => h.roles.includes('etcd'));
    if (!members.length) return;
    const stopped = members.filter((w) => !this.isActive(w, 'etcd.service'));
    // Members of a new cluster wait for each other: start them all, without blocking, then gate.
    await Promise.all(
      stopped.map((w) => run(this.session.transport(w.host.name), startUnitsCommand(['etcd.service'], { noBlock: true }), 'start etcd')),
    );
    // A member found running but unhealthy before the run was warned about and is left alone:
    // starting it again would not fix it, and the others keep quorum without it.
    const gate = members.filter((w) => !this.etcdCheck.skipWait.includes(w.host.name));
    await Promise.all(gate.map((w) => this.waitEtcd(w.host)));
    // A changed configuration rolls through the members one at a time, health-gated.
    for (const w of members.filter((m) => !stopped.includes(m) && this.needs(m, 'etcd.service'))) {
      await run(this.session.transport(w.host.name), restartUnitCommand('etcd.service'), 'restart etcd');
      await Promise.all(gate.map((m) => this.waitEtcd(m.host)));
    }
    const first = members[0]!.host;
    if (first.vars.etcd_authentication_mode === 'basic') {
      const user = String(first.vars.patroni_etcd_user);
      const prefix = `${String(first.vars.patroni_dcs_namespace).replace(/\/$/, '')}/${this.clusterName}/`;
      const changed = await ensureEtcdAuth(this.session.etcd(first.name), {
        rootPassword: this.secret('etcd_root'),
        patroniUser: user,
        patroniPassword: this.secret(user),
        prefix,
        role: `patroni_${this.clusterName.replace(/-/g, '_')}`,
      });
      this.notes.push(...changed.map((c) => `etcd: ${c}`));
    }
  }

  // ── Patroni ──

  async memberState(): Promise<ClusterInfo | undefined> {
    this.live = await this.readLive();
    return this.live;
  }

  async waitLeader(name: string): Promise<void> {
    await waitFor(
      async () => {
        const info = await this.session.patroni(name).cluster();
        const leader = leaderOf(info);
        return leader && leader.state === 'running' ? leader : undefined;
      },
      {
        timeoutMs: 240_000,
        intervalMs: 300,
        what: `${name} to bootstrap and lead`,
        where: `${name}: patroni`,
        hint: `look at \`journalctl -u ${patroniUnit(this.clusterName)}\` on ${name}`,
      },
    );
  }

  /** Replicas count as caught up within maximum_lag_on_failover, as Patroni itself judges. */
  maxLag(): number {
    const dcs = stripNulls(desiredDcs(this.configuredPrimary().vars));
    return Number(dcs.maximum_lag_on_failover ?? 1048576);
  }

  async waitAllStreaming(names: string[]): Promise<ClusterInfo> {
    return waitFor(
      async () => {
        const info = await this.readLive();
        if (!info) return undefined;
        const leaders = info.members.filter((m) => isLeaderRole(m.role));
        if (leaders.length !== 1 || leaders[0]!.state !== 'running') return undefined;
        const ok = names.every((n) => {
          const m = info.members.find((x) => x.name === n);
          return m && (isLeaderRole(m.role) || (isHealthyReplicaState(m.state) && typeof m.lag === 'number' && m.lag <= this.maxLag()));
        });
        if (!ok) return undefined;
        // The lag in /cluster comes from the DCS and can be stale; the leader's own view of its
        // WAL senders says who really streams.
        const replicas = names.filter((n) => n !== leaders[0]!.name);
        const senders = (await this.session.patroni(leaders[0]!.name).patroni()).replication ?? [];
        const streaming = replicas.every((n) => senders.some((r) => r.application_name === n && r.state === 'streaming'));
        return streaming ? info : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 300, what: `members ${names.join(', ')} to run and stream from the leader` },
    );
  }

  async patroniPhase(): Promise<void> {
    const data = this.hostsWith(isDataNode);
    if (!data.length) return;
    const unit = patroniUnit(this.clusterName);
    await this.memberState();
    let leader = this.leaderName();
    if (!leader) {
      // Nothing leads yet: the configured primary bootstraps alone, the replicas follow it.
      const primary = this.work.get(this.configuredPrimary().name) ?? data[0]!;
      if (!this.isActive(primary, unit)) {
        await run(this.session.transport(primary.host.name), startUnitsCommand([unit]), `start ${unit}`);
      }
      await this.waitLeader(primary.host.name);
      leader = primary.host.name;
      this.notes.push(`patroni: ${leader} bootstrapped the cluster`);
    }
    if (this.loaded.cluster.hosts.some((h) => h.roles.includes('pgbouncer'))) {
      // Checked on every run, not only after bootstrap: a run killed in between must converge.
      const lv = this.session.host(leader).vars;
      const user = String(lv.pgbouncer_auth_user);
      await waitFor(async () => ((await this.session.patroni(leader).check('/primary')) ? true : undefined), {
        timeoutMs: 60_000,
        what: `${leader} to accept writes`,
      });
      const r = await run(
        this.session.transport(leader),
        pgbouncerAuthUserCommand(user, this.secret(user), Number(lv.postgres_port), pgbouncerAuthSql(lv)),
        'PgBouncer auth user',
      );
      if (r.stdout.includes('changed')) this.notes.push(`pgbouncer: auth user ${user} and its auth_query function set up on ${leader}`);
    }
    const toStart = data.filter((w) => w.host.name !== leader && !this.isActive(w, unit));
    await Promise.all(toStart.map((w) => run(this.session.transport(w.host.name), startUnitsCommand([unit]), `start ${unit}`)));
    if (toStart.length)
      await this.wakeLeaderForSlots(
        leader,
        toStart.map((w) => w.host.name),
      );
    const toReload = data.filter((w) => this.isActive(w, unit) && this.needs(w, unit));
    await Promise.all(toReload.map((w) => run(this.session.transport(w.host.name), reloadUnitCommand(unit), `reload ${unit}`)));
    // Always, not only after starting something: a run killed while replicas were still being
    // built leaves them starting, and the next run must not call that converged. On a healthy
    // cluster this is one poll over REST.
    this.live = await this.waitAllStreaming(data.map((w) => w.host.name));
    await this.reconcileDcs();
  }

  /**
   * The leader creates a replica's replication slot only in its own HA loop, once the replica has
   * registered in the DCS; left alone that is up to loop_wait (10 s) later, and a replica done
   * with its basebackup sooner fails "replication slot does not exist" until then. Patroni wakes
   * its HA loop on every PATCH /config, even one that changes nothing, so once the new members
   * show in the DCS, a patch that sets loop_wait to its current value has the slots made at once.
   * Only a shortcut: if the members never show, waitAllStreaming reports why.
   */
  async wakeLeaderForSlots(leader: string, replicas: string[]): Promise<void> {
    const registered = await waitFor(
      async () => {
        const info = await this.session.patroni(leader).cluster();
        return replicas.every((n) => info.members.some((m) => m.name === n)) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `${replicas.join(', ')} to register` },
    ).catch(() => false);
    if (!registered) return;
    const live = await this.session.patroni(leader).config();
    await this.session.patroni(leader, { fromMember: true }).patchConfig({ loop_wait: live.loop_wait ?? 10 });
  }

  async reconcileDcs(): Promise<void> {
    const leader = this.leaderName();
    if (!leader) return;
    const live = await this.session.patroni(leader).config();
    const desired = desiredDcs(this.session.host(leader).vars);
    const patch = dcsPatch(desired, live);
    if (!patch) return;
    await this.session.patroni(leader, { fromMember: true }).patchConfig(patch);
    this.notes.push(`patroni: PATCH /config ${JSON.stringify(patch)}`);
    await this.rollingRestartIfPending(Number(stripNulls(desired).loop_wait ?? 10));
  }

  /**
   * Parameters that need a restart show up as pending_restart once each member's HA loop has
   * read the new configuration, which takes up to two loops. Restart those members through
   * Patroni one at a time, each back and streaming before the next: replicas as soon as they
   * show it, the leader only after every member had the time to, so it always goes last.
   */
  async rollingRestartIfPending(loopWait: number): Promise<void> {
    const settled = Date.now() + (2 * loopWait + 5) * 1000;
    const restarted = new Set<string>();
    for (;;) {
      const info = await this.readLive();
      const leader = info ? leaderOf(info)?.name : undefined;
      const pending = (info?.members ?? []).filter((m) => m.pending_restart && !restarted.has(m.name)).map((m) => m.name);
      const next = pending.find((n) => n !== leader) ?? (Date.now() >= settled ? pending[0] : undefined);
      if (!next) {
        if (Date.now() >= settled) return;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      const res = await this.session.patroni(next, { fromMember: true }).restart({ restart_pending: true });
      if (res.status >= 300)
        throw new RuntimeError(`restart refused with ${res.status}: ${res.text.trim()}`, { where: `${next}: patroni restart` });
      restarted.add(next);
      this.live = await this.waitAllStreaming(this.hostsWith(isDataNode).map((w) => w.host.name));
      this.notes.push(`patroni: restarted ${next} for pending parameters`);
    }
  }

  // ── proxies ──

  async proxyPhase(): Promise<void> {
    const jobs: Promise<unknown>[] = [];
    for (const w of this.work.values()) {
      for (const unit of w.services.filter((s) => s === 'haproxy.service' || s.startsWith('pgbouncer') || s.startsWith('pgha-'))) {
        const t = this.session.transport(w.host.name);
        const how = this.needs(w, unit);
        if (!this.isActive(w, unit)) jobs.push(run(t, startUnitsCommand([unit]), `start ${unit}`));
        else if (how === 'restart') jobs.push(run(t, restartUnitCommand(unit), `restart ${unit}`));
        else if (how === 'reload') jobs.push(run(t, reloadUnitCommand(unit), `reload ${unit}`));
      }
    }
    await Promise.all(jobs);
  }

  async verify(): Promise<void> {
    if (!this.hostsWith(isDataNode).length) return;
    const info = await this.readLive();
    const leaders = info?.members.filter((m) => isLeaderRole(m.role)) ?? [];
    if (leaders.length !== 1) {
      throw new RuntimeError(`the cluster has ${leaders.length} leaders after deploy`, {
        hint: 'run `pgha status DIR` and look at the Patroni logs',
      });
    }
  }
}

/** Where clients connect, for the end of a deploy. */
export function clientEndpoints(loaded: LoadedCluster): string[] {
  const out: string[] = [];
  for (const h of loaded.cluster.hosts) {
    if (h.roles.includes('haproxy')) {
      out.push(`read-write: host=${h.ip} port=${String(h.vars.haproxy_port)} (HAProxy on ${h.name})`);
      if (h.vars.haproxy_read_only_load_balancer_enabled === true)
        out.push(`read-only:  host=${h.ip} port=${String(h.vars.haproxy_read_only_port)} (HAProxy on ${h.name})`);
    }
    if (h.roles.includes('pgbouncer')) out.push(`read-write: host=${h.ip} port=${String(h.vars.pgbouncer_port)} (PgBouncer on ${h.name})`);
  }
  return out;
}

export async function deploy(dir: string, req: DeployRequest, progress: Progress): Promise<DeployResult> {
  const loaded = loadCluster(dir, req.extraVars);
  const unknown = (req.hosts ?? []).filter((n) => !loaded.cluster.hosts.some((h) => h.name === n));
  if (unknown.length) {
    throw new UsageError(
      `--hosts ${unknown.join(',')}: not in this cluster (hosts: ${loaded.cluster.hosts.map((h) => h.name).join(', ')})`,
    );
  }
  const material = await ensureClusterMaterial(loaded);
  const d = new Deployment(loaded, material, req);
  try {
    const phases: Phase[] = [
      { title: 'connect', run: async () => d.session.connect(d.selected(), req.concurrency) },
      {
        title: 'gather facts',
        run: async () => {
          d.live = await d.readLive();
          d.render();
          await mapLimit([...d.work.values()], req.concurrency, (w) => d.gatherFacts(w));
          await d.planDcs();
          await d.checkEtcd();
        },
      },
    ];
    await runPhases(phases, progress);
    const pending = d.pendingSummary();
    const warnings = d.etcdCheck.warnings.map((w) => `warning: ${w}`);
    if (req.check) {
      warnings.push(...(await d.knownBugWarnings()));
      const summary = [...warnings, pending.length ? `pending changes:\n${pending.join('\n')}` : 'no changes'].join('\n');
      return { exitCode: pending.length ? ExitCode.pendingChanges : ExitCode.ok, summary, roundTrips: d.session.roundTrips() };
    }
    const all = () => [...d.work.values()];
    await runPhases(
      [
        { title: 'pre-install files', run: () => mapLimit(all(), req.concurrency, (w) => d.writeFiles(w, 'pre')) },
        { title: 'packages', run: () => mapLimit(all(), req.concurrency, (w) => d.installPackages(w)) },
        { title: 'files', run: () => mapLimit(all(), req.concurrency, (w) => d.writeFiles(w, 'post')) },
        { title: 'etcd', run: () => d.etcdPhase() },
        { title: 'patroni', run: () => d.patroniPhase() },
        { title: 'haproxy and pgbouncer', run: () => d.proxyPhase() },
        { title: 'verify', run: () => d.verify() },
      ],
      progress,
    );
    warnings.push(...(await d.knownBugWarnings()));
    const changed = pending.length > 0 || d.notes.length > 0;
    const lines = [...pending, ...d.notes];
    return {
      exitCode: ExitCode.ok,
      summary: [...warnings, changed ? `applied:\n${lines.join('\n')}` : 'no changes', ...clientEndpoints(loaded)].join('\n'),
      roundTrips: d.session.roundTrips(),
    };
  } finally {
    await d.session.close();
  }
}
