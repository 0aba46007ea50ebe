/**
 * The pure half of `pgha upgrade`: which packages and units make up a component, Debian version
 * ordering, the health gate, and the per-host plan derived from what is installed and running.
 * Nothing here talks to a host, so a re-run after an interruption plans from facts alone.
 */
import type { Component as ComponentModel, UpgradeProcedure } from '../../components/component.js';
import { COMPONENTS as REGISTRY } from '../../components/registry.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import type { PackageSpec } from '../../render/index.js';

/** The components `pgha upgrade` can roll, in the registry's order: the DCS first, the proxies last. */
export const COMPONENTS: readonly string[] = REGISTRY.filter((c) => c.upgrade).map((c) => c.name);
/** A component's name, as `--components` takes it. */
export type Component = string;

export const PRIMARY_STRATEGIES = ['switchover', 'pause'] as const;
export type PrimaryStrategy = (typeof PRIMARY_STRATEGIES)[number];

/** `--components=a,b|all` → the components in rolling order; unknown names are listed. */
export function parseComponents(text: string): { components: Component[]; unknown: string[] } {
  const words = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (words.includes('all')) return { components: [...COMPONENTS], unknown: words.filter((w) => w !== 'all' && !COMPONENTS.includes(w)) };
  const unknown = words.filter((w) => !COMPONENTS.includes(w));
  return { components: COMPONENTS.filter((c) => words.includes(c)), unknown };
}

function model(c: Component): ComponentModel & { upgrade: UpgradeProcedure } {
  const m = REGISTRY.find((x) => x.name === c);
  if (!m?.upgrade) throw new Error(`bug: ${c} is not an upgradable component`);
  return m as ComponentModel & { upgrade: UpgradeProcedure };
}

/** How the component's new version is rolled (from its registry entry). */
export function upgradeProcedure(c: Component): UpgradeProcedure {
  return model(c).upgrade;
}

/** PostgreSQL itself, restarted through Patroni, rather than a unit of its own. */
export function restartsPostgres(c: Component): boolean {
  const how = upgradeProcedure(c);
  return how.kind === 'data-node' && how.restart === 'postgres';
}

/** The variable that pins a component's packages. */
export function versionVariable(c: Component): string {
  return `${c}_package_version`;
}

export function componentApplies(c: Component, cluster: ResolvedCluster, host: ResolvedHost): boolean {
  return model(c).runsOn(cluster, host);
}

/**
 * The host's packages that an upgrade of a component moves, with their pins: its companions
 * (python3-etcd beside Patroni on Debian 13) are not pinned by the component's version variable,
 * so they are neither asked a target of nor reinstalled; apt keeps them as its dependencies need.
 */
export function componentPackages(c: Component, cluster: ResolvedCluster, host: ResolvedHost): PackageSpec[] {
  return componentApplies(c, cluster, host)
    ? model(c)
        .packages(host)
        .filter((p) => !p.companion)
    : [];
}

/** The systemd unit restarted to run the new version; PostgreSQL is restarted through Patroni instead. */
export function componentUnit(c: Component, cluster: ResolvedCluster, host: ResolvedHost): string | undefined {
  const m = model(c);
  return m.upgrade.kind === 'data-node' && m.upgrade.restart === 'postgres' ? undefined : m.units(cluster, host)[0];
}

// ── Debian versions ─────────────────────────────────────────────────────────────────────

/** `15.20-0+deb12u1` → 150020, the number PostgreSQL reports as server_version_num. */
export function postgresVersionNumber(debVersion: string): number | undefined {
  const m = /^(?:\d+:)?(\d+)\.(\d+)/.exec(debVersion);
  return m ? Number(m[1]) * 10_000 + Number(m[2]) : undefined;
}

// ── per-host plan ───────────────────────────────────────────────────────────────────────

/** What the status script found on one host for one component. */
export interface HostComponentState {
  host: string;
  packages: { name: string; version: string | undefined; installed: boolean; installedAt: number }[];
  unit?: { name: string; active: boolean; startedAt: number; exeReplaced: boolean } | undefined;
  /** server_version_num of the running PostgreSQL (postgres only). */
  serverVersion?: number | undefined;
  /** When the running postmaster started, epoch seconds (postgres only; Patroni's postmaster_start_time). */
  postmasterStartedAt?: number | undefined;
}

export type HostStep = 'done' | 'install' | 'restart';

/**
 * What is left on a host: `install` when a package is not at its target, `restart` when it is
 * but the running process predates it, `done` otherwise. Derived from facts only: that is what
 * makes an interrupted upgrade resumable.
 */
export function hostStep(c: Component, s: HostComponentState, targets: Record<string, string>): HostStep {
  for (const p of s.packages) {
    const want = targets[p.name];
    if (want === undefined) continue;
    if (!p.installed || p.version !== want) return 'install';
  }
  const how = upgradeProcedure(c);
  if (how.kind === 'data-node' && how.restart === 'postgres') {
    const pg = s.packages.find((p) => /^postgresql-\d+$/.test(p.name));
    const want = pg ? postgresVersionNumber(targets[pg.name] ?? '') : undefined;
    if (want === undefined) return 'done';
    if (s.serverVersion !== want) return 'restart';
    // A rebuild of the same release (17.12-0+deb13u1 → …+pgha1) keeps server_version_num: a
    // postmaster started before the package's files were installed still runs the old ones. An
    // upgrade killed between a host's install and its restart left exactly that, and the re-run
    // called it done (the upgrade e2e, once loop_wait 1 made the restarts quicker).
    const installedAt = Math.max(0, ...s.packages.map((p) => p.installedAt));
    return s.postmasterStartedAt !== undefined && s.postmasterStartedAt < installedAt ? 'restart' : 'done';
  }
  if (!s.unit) return 'done';
  if (!s.unit.active) return 'restart';
  // A daemon still running a replaced binary shows it as "(deleted)". HAProxy's reload
  // re-executes the new binary without a new start time, so that is the test for daemons.
  if (s.unit.exeReplaced) return 'restart';
  if (how.kind !== 'data-node') return 'done';
  // Patroni runs in python3, whose binary the upgrade leaves alone: it goes by start time.
  const installedAt = Math.max(0, ...s.packages.map((p) => p.installedAt));
  return s.unit.startedAt >= installedAt ? 'done' : 'restart';
}

/**
 * Rolling order for data nodes: replicas first (by name), the leader last, so the leader moves
 * at most once. Other components keep config.yml's order.
 */
export function rollingOrder(hosts: readonly string[], leader: string | undefined): string[] {
  const rest = hosts.filter((h) => h !== leader).sort();
  return leader && hosts.includes(leader) ? [...rest, leader] : rest;
}

/** Parse the status script's lines (see `statusScript` in upgrade.ts). */
export function parseStatus(
  host: string,
  stdout: string,
): { packages: HostComponentState['packages']; units: Map<string, NonNullable<HostComponentState['unit']>> } {
  const packages: HostComponentState['packages'] = [];
  const units = new Map<string, NonNullable<HostComponentState['unit']>>();
  for (const line of stdout.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'PKG' && f[1]) {
      const status = f[3] ?? '';
      packages.push({ name: f[1], version: f[2] || undefined, installed: status.startsWith('ii'), installedAt: Number(f[4]) || 0 });
    } else if (f[0] === 'UNIT' && f[1]) {
      units.set(f[1], { name: f[1], active: f[2] === 'active', startedAt: Number(f[3]) || 0, exeReplaced: f[4] === '1' });
    }
  }
  void host;
  return { packages, units };
}
