/**
 * What pgha needs of a platform — the kind of machine a cluster's hosts are — and nothing else.
 * `src/platforms/index.ts` maps each name of config.yml's `platform` to one implementation;
 * everything outside src/platforms/ asks through this interface and never compares platform
 * names (test/unit/platforms.test.ts checks that). Adding a platform is one folder
 * (docs/architecture.md#adding-a-platform).
 *
 * Only plain data crosses this boundary: platforms/ may not import app/, config/ or render/
 * (.dependency-cruiser.cjs, `domain-siblings-leaf`), so callers pass paths, hosts and keys, not
 * a loaded cluster.
 */
import type { DebianRelease } from '../model/releases.js';
import type { Platform as PlatformName, PlatformConfigureRules, Vars } from '../model/types.js';
import type { HostTransport, Transport } from '../transport/types.js';

export type { PlatformName, PlatformConfigureRules, HostTransport };

/** A host as a platform sees it: its inventory name and address. */
export interface HostAddr {
  name: string;
  ip: string;
}

/** Progress lines for the operator (stderr). */
export type Log = (line: string) => void;

/** How pgha logs in to a cluster's hosts: DIR/ssh's key and the host keys pinned there. */
export interface HostAccess {
  /** DIR/ssh/id_pgha. */
  privateKeyFile: string;
  /** DIR/ssh/known_hosts: the only host keys a connection accepts. */
  knownHostsFile: string;
  /** Handshake deadline; an unreachable host fails after this. */
  readyTimeoutMs?: number;
}

/** A host to provision, with the Debian release its `os_version` resolves to. */
export interface ProvisionHost extends HostAddr {
  release: DebianRelease;
}

/** What `pgha provision DIR` hands a platform, after the cluster's material exists. */
export interface ProvisionRequest {
  /** DIR, absolute. */
  clusterDir: string;
  clusterName: string;
  hosts: ProvisionHost[];
  /** The OpenSSH public key line of DIR/ssh/id_pgha.pub (root's authorized_keys). */
  sshPublicKey: string;
  access: Omit<HostAccess, 'readyTimeoutMs'>;
  /** DIR/local-repo. */
  localRepoDir: string;
  /** `--install-prereqs`: install missing tools on this machine instead of failing. */
  installPrereqs: boolean;
  /** `--accept-new-host-keys`: pin keys not pinned yet after printing their fingerprints. */
  acceptNewHostKeys: boolean;
  /** `--known-hosts FILE`: keys not pinned yet must be listed there. */
  vouchedKnownHostsFile?: string;
  log: Log;
}

/** What `pgha deprovision DIR` hands a platform. */
export interface DeprovisionRequest {
  clusterName: string;
  hosts: HostAddr[];
  log: Log;
}

/** What an upgrade hands a platform before installing new versions on its hosts. */
export interface PackageVersionsRequest {
  clusterDir: string;
  /** The Debian release the cluster's packages come from (download-packages built DIR/local-repo for it). */
  release: DebianRelease;
  /** DIR/local-repo. */
  localRepoDir: string;
  /** package → version the upgrade installs. */
  wanted: Record<string, string>;
  /** Every package the cluster installs, with its pins; asked only when needed (it may throw on conflicting pins). */
  packageSet(): { packages: string[]; pins: Record<string, string> };
  log: Log;
}

/** The host's operating system, from /etc/os-release. Fields the file lacks are empty strings. */
export interface OsFacts {
  /** `debian`, `ubuntu`, … (ID). */
  id: string;
  /** `12` (VERSION_ID). */
  versionId: string;
  /** `bookworm` (VERSION_CODENAME). */
  codename: string;
  /** `Debian GNU/Linux 12 (bookworm)` (PRETTY_NAME). */
  prettyName: string;
}

export interface Platform {
  /** The value of `instance_defaults.platform` in config.yml. */
  readonly name: PlatformName;

  /** What `pgha configure` does differently on this platform: where addresses come from, what it writes in cluster_vars. */
  readonly configure: PlatformConfigureRules;

  /**
   * Why the cluster directory cannot serve this platform (nspawn bind-mounts DIR/local-repo,
   * and its bind mounts cannot name a path holding ":"), or undefined. Checked by configure and
   * provision before anything is written.
   */
  clusterDirProblem(dir: string): string | undefined;

  /**
   * Make the hosts exist and reachable, and pin their host keys in `access.knownHostsFile`
   * (nspawn: build the image, boot the containers; bare: reach the operator's hosts and pin only
   * keys they vouched for). Safe to run again. Returns the summary printed to the operator.
   */
  provision(req: ProvisionRequest): Promise<string>;

  /** Remove the hosts `provision` made (nspawn), or refuse (bare: pgha never removes hosts it did not create). */
  deprovision(req: DeprovisionRequest): Promise<string>;

  /**
   * The host of a node `pgha remove-node` took out of the cluster: removed where provision made
   * it (nspawn), left to the operator otherwise (bare). Returns the line printed about it.
   */
  removeHost(req: { clusterName: string; host: string; log: Log }): Promise<string>;

  /** What brings back a host that went down, as a remedy says it after "if HOST is down, ". */
  readonly hostDownRemedy: string;

  /** Open the transport every command on `host` goes through (today SSH as root, with the pinned host key). */
  connect(host: HostAddr, access: HostAccess): Promise<HostTransport>;

  /** The host's OS, read through its transport. */
  osFacts(t: Transport): Promise<OsFacts>;

  /**
   * Whether deploy copies DIR/local-repo onto this host and points apt at the copy: on bare
   * hosts with `use_local_repo_only`. nspawn containers see the repository bind-mounted, so
   * nothing is copied there.
   */
  copiesLocalRepo(host: { vars: Vars }): boolean;

  /**
   * Make the versions an upgrade installs available to the hosts, before any host is touched
   * (nspawn: add them to DIR/local-repo, keeping what it holds). Returns a line for the summary,
   * or undefined when the platform has nothing to do (bare: the hosts' own apt sources serve them).
   */
  ensurePackageVersions(req: PackageVersionsRequest): Promise<string | undefined>;
}
