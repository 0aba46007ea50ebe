/** Plain data shapes shared across the pure core. */

export const ROLES = ['primary', 'replica', 'etcd', 'haproxy', 'pgbouncer', 'pgbackrest', 'monitoring-server'] as const;
export type Role = (typeof ROLES)[number];

export const PLATFORMS = ['nspawn', 'bare'] as const;
export type Platform = (typeof PLATFORMS)[number];

export type Vars = Record<string, unknown>;

/**
 * What `pgha configure` does differently per platform (each platform in src/platforms/ states
 * its own; config/ receives them as data).
 */
export interface PlatformConfigureRules {
  /** listed: the operator names hosts and addresses (`--hostnames-from FILE`); assigned: configure numbers them in `--subnet`. */
  hostAddresses: 'listed' | 'assigned';
  /** Written into cluster_vars of a new config.yml (nspawn: `use_local_repo_only`, its containers have no route out). */
  clusterVars: Readonly<Vars>;
  /**
   * The interface every assigned host's address is on (nspawn: `host0`): with it, configure gives
   * a cluster with HAProxy a virtual IP in `--subnet`. Absent: the operator chooses both.
   */
  vipInterface?: string;
}

export interface InstanceConfig {
  Name: string;
  node: number;
  location: string;
  role: Role[];
  ip_address: string;
  /**
   * TPA's instance key naming the host that keeps this data node's backups (role `pgbackrest`).
   * It resolves as the variable `backup` on the instance's own layer, so cluster_vars and
   * instance_defaults.vars may set it for every data node at once.
   */
  backup?: string;
  /**
   * TPA's instance key naming the data node this replica streams from: a cascading replica,
   * Patroni's `replicatefrom` tag (docs in README.md, "Cascading replicas"). Not a variable.
   */
  upstream?: string;
  vars?: Vars;
}

/** config.yml after validation: TPA's vocabulary. */
export interface ClusterConfig {
  architecture: 'M1';
  cluster_name: string;
  cluster_vars: Vars;
  /** TPA's tags for a cluster's cloud resources: accepted for compatibility, pgha has none to tag. */
  cluster_tags?: Record<string, string>;
  locations: { Name: string }[];
  instance_defaults: { platform: Platform; vars?: Vars };
  instances: InstanceConfig[];
}

/** The layers of docs/architecture.md#variables-and-layers, lowest first. */
export const LAYERS = ['builtin', 'architecture', 'cluster_vars', 'instance_defaults', 'instance', '-e'] as const;
export type Layer = (typeof LAYERS)[number];

/** For each leaf path (e.g. `patroni_conf_settings.log.level`), the layer that set it. */
export type Provenance = Map<string, Layer>;

export interface ResolvedHost {
  name: string;
  node: number;
  location: string;
  roles: Role[];
  ip: string;
  /** The instance key `upstream`: the member this replica streams from (Patroni's replicatefrom). */
  upstream?: string;
  /** Every variable, after all layers and null-negation. */
  vars: Vars;
  provenance: Provenance;
}

export interface ResolvedCluster {
  name: string;
  platform: Platform;
  architecture: 'M1';
  hosts: ResolvedHost[];
}

/** A file deploy will write on a host. */
export interface DesiredFile {
  path: string;
  content: string;
  owner: string;
  group: string;
  mode: number;
  /** Private keys and the like: never shown in diffs or render output. */
  sensitive?: boolean;
  /** Lines holding a secret, by shape: masked whenever the file (or a host's copy) is shown. */
  masks?: readonly FileMask[];
}

/**
 * A line of a file that holds a secret, found by its shape rather than its value, so that a
 * secret pgha no longer knows (the old password in a host's file, before a rotation reaches it)
 * is masked too. `replace` keeps the line's structure: masked YAML still parses.
 */
export interface FileMask {
  pattern: RegExp;
  replace: string;
}

/** PEM material the renderer needs, read from DIR/ssl by the caller. */
export interface ClusterPki {
  /** The trust bundle: the cluster CA, or during `rotate-certs --ca` the old and the new one. */
  caCert: string;
  /** The CA that issues the leaves, when the bundle holds more than it. */
  caIssuer?: string;
  nodes: Record<string, { cert: string; key: string }>;
  clients: Record<string, { cert: string; key: string }>;
  /**
   * etcd's peer TLS when etcd has its own peer CA (src/pki/rotation.ts#ETCD_PEER_CA): what the
   * peer port trusts, and each member's peer certificate once the peer CA has issued it (until
   * then a member presents its node certificate). Absent in a cluster directory from before the
   * peer CA existed: the peer port trusts the cluster CA and members present node certificates.
   */
  etcdPeer?: { caCert: string; nodes: Record<string, { cert: string; key: string }> };
}

/** Everything rendering needs besides the resolved cluster: pure inputs. */
export interface RenderInputs {
  /** The password of a user (secrets are named by user name). */
  secret(name: string): string;
  pki: ClusterPki;
  /**
   * The exporter's single-file build a monitoring host runs (dist/exporter/pgha-exporter.mjs),
   * read by the caller; asked for only when a host needs it, so rendering a cluster without a
   * monitoring host never reads it. Tests pass a stand-in.
   */
  exporterBundle(): string;
}

/** A directory deploy creates with its own owner and mode (those holding private keys). */
export interface DesiredDirectory {
  path: string;
  owner: string;
  group: string;
  mode: number;
}
