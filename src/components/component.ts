/**
 * What a component is: everything pgha knows about one piece of the stack (etcd, Patroni,
 * PostgreSQL, HAProxy, PgBouncer…), declared as data and pure functions in the component's own
 * folder. deploy, upgrade, status, test and render iterate the registry (./registry.ts) and
 * never name a component; adding one is a folder plus one line there
 * (docs/architecture.md#adding-a-component).
 */
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost, Role } from '../model/types.js';
import type { Command } from '../transport/quote.js';
import type { RenderOptions } from './common.js';
import type { HealthCheck, HostState } from './health.js';

export interface PackageSpec {
  name: string;
  /** Exact Debian version, or a prefix ending in `*` (as apt's `pkg=1.2*`). Absent: any version. */
  version?: string;
  /**
   * Installed beside the component (what the release's packaging leaves out), never pinned by
   * its version variable: `pgha upgrade` neither asks a target version of it nor installs it.
   */
  companion?: true;
}

/**
 * How a running unit takes a change to one of the files it reads. (A changed unit file or drop-in
 * also needs `systemctl daemon-reload`; the plan adds that for every component alike.)
 */
export type UnitReaction = { unit: string; how: 'reload' | 'restart' };

/**
 * When deploy starts and changes a component's units, in the order of cluster formation:
 * - `early`: servers the others call while the cluster forms (pgBackRest's TLS server, which
 *   PostgreSQL's archive and restore commands and the cluster steps dial), started, reloaded or
 *   restarted in parallel before etcd.
 * - `etcd`: all members started together, then a health gate; changes roll one member at a time.
 * - `patroni`: the configured primary bootstraps first, the replicas follow it; the DCS
 *   configuration is reconciled once every member streams.
 * - `service`: everything that only needs a running cluster (proxies, exporters…), started or
 *   reloaded/restarted in parallel once the cluster leads.
 */
export type Formation = 'early' | 'etcd' | 'patroni' | 'service';

/** How `pgha upgrade` rolls a new version of the component onto its hosts. */
export type UpgradeProcedure =
  /** One host at a time: install, restart (or reload onto the new binary), wait until it serves on `port`. */
  | { kind: 'service'; how: 'restart' | 'reload-or-restart'; port(host: ResolvedHost): number; quorumGate?: boolean }
  /** Data nodes, replicas first and the leader after a switchover (or pause): restart the Patroni unit, or PostgreSQL through Patroni. */
  | { kind: 'data-node'; restart: 'patroni-unit' | 'postgres' };

/**
 * A port a host listens on for a component: the variable (or settings path) that chooses it, and
 * what listens. `port` is set for listeners whose port is read from a rendered configuration.
 */
export interface PortUse {
  variable: string;
  path: (string | number)[];
  service: string;
  port?: number;
}

/**
 * Where clients connect to a component on a host: deploy's closing lines print each one, and the
 * switchover waits until writes through every `read-write` one reach the new leader.
 */
export interface EntryPoint {
  /** `read-sync`: reads served only by synchronous standbys (HAProxy's haproxy_sync_read_port). */
  kind: 'read-write' | 'read-only' | 'read-sync';
  port: number;
  /** What listens, as messages name it (`HAProxy`): `<label> on <host>`. */
  label: string;
  /**
   * How a client verifies the server's certificate where this entry point speaks TLS (the write
   * probe's `sslmode`); absent where it does not, so the probe connects without TLS as clients must.
   */
  tls?: 'verify-full' | 'verify-ca';
}

/**
 * An entry point that belongs to no one host: a virtual IP that moves between the hosts serving
 * it. `via` says who serves it, as messages name it (`VIP, keepalived on proxy1, proxy2`).
 */
export interface ClusterEntryPoint extends EntryPoint {
  ip: string;
  via: string;
  /**
   * The hosts whose own entry point of the same label and kind this one leads to (a VIP's
   * holders). Clients that use this one need only one of those hosts alive, so a switchover
   * requires writes to reach the new leader through this one and only warns about theirs.
   */
  servedBy: readonly string[];
}

/** Where a cluster step runs: on the leader, or on every host of a role (a backup repository, say). */
export type StepTarget = { kind: 'leader' } | { kind: 'role'; role: Role };

/** What a cluster step's commands are built from besides their host. */
export interface StepContext {
  /** A password from DIR/secrets; a command carries it on its stdin, never in its script. */
  secret(name: string): string;
  /** `pgha deploy --prune`: drop what pgha created and config.yml no longer declares (otherwise only reported). */
  prune?: boolean;
}

/**
 * Something a component sets up inside the running cluster rather than in a host's files (an
 * auth user in PostgreSQL, a backup stanza). deploy runs it once the leader accepts writes, and
 * before the `service` units start, so they find it in place. Both commands print `changed` (a line of its own):
 * the check (read-only, run when deploy plans) when the step is pending, the apply when it
 * changed something, so a run that finds it done records nothing.
 */
export interface ClusterStep {
  /** Its name within the component, as the plan records it. */
  readonly name: string;
  readonly on: StepTarget;
  /** How errors name its commands (`PgBouncer auth user`; the check adds ` (check)`). */
  readonly title: string;
  /** What `deploy --check` prints for it after `cluster: <component>: `. */
  describe(host: ResolvedHost): string;
  /**
   * The plan's words from what the check printed (what exactly is missing), where a step says
   * more than `describe`; absent: `describe`. A check's `warning: …` lines become deploy
   * warnings whether or not the step is pending.
   */
  explain?(checkOutput: string): string;
  check(host: ResolvedHost, ctx: StepContext): Command;
  apply(host: ResolvedHost, ctx: StepContext): Command;
}

/** What `pgha status` knows beside a host's own report, for a component's status entries. */
export interface StatusView {
  /** Data nodes by address: config.yml's, and the DCS's where it names more. */
  memberAt: ReadonlyMap<string, string>;
  /** Who leads now, as the DCS says; undefined when nothing does. */
  leader: string | undefined;
}

/**
 * A component's section of `pgha status`: an entry per host running it, read from the host's
 * state (its `stateScript`'s part), and the table's lines for those entries. `-o json` prints
 * the entries under the component's name.
 */
export interface StatusSection<T> {
  read(state: HostState, view: StatusView): T;
  // A method, not a property: a section of any entry type then stands for a section of unknown ones.
  lines(entries: readonly T[]): string[];
}

/** What rendering hands every component besides the cluster: the templates under templates/. */
export interface RenderContext {
  inputs: RenderInputs;
  opts: RenderOptions;
  template(name: string, view: object): string;
}

export interface Component {
  /** Its name in `--components`, `<name>_package_version` and messages. */
  readonly name: string;
  /** Whether the host runs this component. */
  runsOn(cluster: ResolvedCluster, host: ResolvedHost): boolean;
  /**
   * Debian packages, pinned by `<name>_package_version` where set. The first is the component's
   * own (its daemon's: postgresql-N, patroni, etcd-server…): `pgha status` shows its installed version.
   */
  packages(host: ResolvedHost): PackageSpec[];
  /** Its desired files on the host (content, owner, mode). */
  files(cluster: ResolvedCluster, host: ResolvedHost, ctx: RenderContext): DesiredFile[];
  /** The systemd units it runs, in start order. */
  units(cluster: ResolvedCluster, host: ResolvedHost): string[];
  /**
   * How its units react when `path` (one of its files) changes; [] when the path is not its own.
   * `change` carries the file's content on the host and the new one where deploy has both (not
   * for sensitive files), for a component that can tell a change its daemon ignores.
   */
  reactions(cluster: ResolvedCluster, path: string, change?: FileChange): UnitReaction[];
  readonly formation: Formation;
  /**
   * The content to write at `path` given what the host has there now: `desired` unless part of
   * the host's copy must stay (etcd's initial-* settings of a member that has started). Asked only
   * of a file whose content differs, where deploy has the host's copy (not sensitive files).
   */
  settle?(path: string, desired: string, onHost: string, unitActive: (unit: string) => boolean): string;
  /** The ports it listens on (config.yml's port clash and listen-address rules check them). */
  ports?(cluster: ResolvedCluster, host: ResolvedHost): PortUse[];
  /** Directories holding private keys: readable only by the service that uses them. */
  readonly privateDirs?: Readonly<Record<string, { owner: string; group: string; mode: number }>>;
  /** Files that must be in place before its packages install (they stop install-time side effects). */
  isPreInstall?(path: string): boolean;
  readonly upgrade?: UpgradeProcedure;
  /** What healthy means for it, on the hosts running it: `pgha test` prints it; upgrade waits for it after each host. */
  readonly health?: HealthCheck;
  /**
   * Active is not yet serving: after starting any of its units, deploy waits until `health`
   * passes on all its hosts (keepalived takes the VIP only after VRRP's master-down interval).
   */
  readonly awaitHealthAfterStart?: true;
  /**
   * What deploy stops and disables on a host of config.yml that does not run the component (now),
   * where `managedFile` there is still pgha's (it starts with MANAGED_BY_PGHA): removing
   * vip_address takes pgha's keepalived down, rather than leaving it holding the address, while
   * a keepalived an operator runs for an address of their own is never touched. Units already
   * inactive and disabled are left alone; nothing is removed. (etcd retires its own way, after
   * its member leaves: src/app/deploy/plan.ts.)
   */
  readonly retired?: { readonly units: readonly string[]; readonly managedFile: string };
  /**
   * Shell printing its live state on a host (read over SSH, one exec for all components of a
   * host, by status and by its health check); the exit code says whether the state could be read.
   */
  stateScript?(cluster: ResolvedCluster, host: ResolvedHost): string;
  /** Where clients connect on a host running it (proxies and poolers); none when absent. */
  entryPoints?(host: ResolvedHost): EntryPoint[];
  /** Where clients connect that is no host's own address (a VIP); none when absent. */
  clusterEntryPoints?(cluster: ResolvedCluster): ClusterEntryPoint[];
  /** What deploy sets up inside the running cluster for it, in order; considered only where a host runs it. */
  clusterSteps?(cluster: ResolvedCluster): ClusterStep[];
  /** Its section of `pgha status`, on the hosts running it. */
  readonly status?: StatusSection<unknown>;
  /*
   * The material it needs in the cluster directory (src/app/cluster-dir.ts creates what is
   * missing and refuses a read-only command without it). secretNames and clientIdentities are
   * asked of every component, whether or not a host runs it: each decides for itself.
   */
  /** Passwords it needs in DIR/secrets, by file name (its users' names as the variables resolve them). */
  secretNames?(cluster: ResolvedCluster): string[];
  /** Client certificates of its own (DIR/ssl/clients/<name>), for connections it makes as something other than a host. */
  clientIdentities?(cluster: ResolvedCluster): string[];
  /**
   * Whether, on `host` (one it runs on), it dials other hosts presenting the host's own
   * certificate: that certificate then allows client use. A host where no component does gets
   * one for serverAuth alone, so its stolen key cannot act as a client of etcd, Patroni or
   * PostgreSQL.
   */
  dialsWithHostCert?(cluster: ResolvedCluster, host: ResolvedHost): boolean;
}

/**
 * A component with a status section, declared with its name and entry type so that status's
 * typed result (`StatusSections` in ./registry.ts) follows from the registry alone.
 */
export type WithStatus<N extends string, T> = Omit<Component, 'name' | 'status'> & { readonly name: N; readonly status: StatusSection<T> };

/** One unit pgha runs on a host, with the component it belongs to: what the plan needs of it. */
export interface UnitSpec {
  unit: string;
  component: string;
  formation: Formation;
  /** How the unit reacts to a change of each path of its component (from the registry). */
  reactions(path: string, change?: FileChange): UnitReaction[];
}

/** A file's content on the host and the one deploy writes. */
export interface FileChange {
  before: string;
  after: string;
}

/** A port chosen by one variable. */
export function portOf(variable: string, service: string): PortUse {
  return { variable, path: [variable], service };
}

export function pinned(name: string, version: string | undefined): PackageSpec {
  return version === undefined ? { name } : { name, version };
}

/** A package installed beside a component at whatever version the release has (see PackageSpec.companion). */
export function companion(name: string): PackageSpec {
  return { name, companion: true };
}

/** A systemd unit file or drop-in: `/etc/systemd/system/<unit>` or `…/<unit>.d/…`. */
export function unitOfSystemdPath(path: string): string | undefined {
  return /^\/etc\/systemd\/system\/([^/]+?)(\.d\/.*)?$/.exec(path)?.[1];
}
