/**
 * What one deploy run holds: the cluster, the session with its hosts, the desired state per host
 * (from the component registry) and, once gathered, the facts and the whole plan. Shared by the
 * planning half (./plan.ts) and the executing half (./apply.ts).
 */
import { dataNodes, etcdMembers } from '../../components/common.js';
import { EtcdGateway, type EtcdAuthSpec } from '../../components/etcd/auth.js';
import { etcdPeerUrl } from '../../components/etcd/config.js';
import { readEtcdMembers, type EtcdMemberStep, type LiveEtcdMember } from '../../components/etcd/membership.js';
import { UsageError } from '../../errors.js';
import type { DesiredFile, ResolvedHost, Vars } from '../../model/types.js';
import type { ClusterInfo } from '../../patroni/types.js';
import type { UnitSpec, WholePlan } from '../../plan/cluster-plan.js';
import type { HostFacts } from '../../plan/facts.js';
import type { PackageSpec } from '../../render/index.js';
import type { LoadedCluster, ensureClusterMaterial } from '../cluster-dir.js';
import { readExporterBundle } from '../exporter-bundle.js';
import { readCluster } from '../live/view.js';
import { ClusterSession, type SessionSeams } from '../session.js';

export interface DeployRequest {
  check: boolean;
  /** Drop the roles and databases pgha created that config.yml no longer declares (otherwise they are reported). */
  prune?: boolean;
  diff: boolean;
  extraVars: Vars;
  hosts?: string[] | undefined;
  concurrency: number;
}

/**
 * deploy's connections (src/app/session.ts#SessionSeams), and where the exporter's build comes
 * from (../exporter-bundle.ts; the simulated deploys pass a stand-in, as they run unbuilt).
 */
export type DeploySeams = SessionSeams & {
  exporterBundle?: () => string;
  /** How long a running Patroni may leave its REST API unanswered before deploy refuses (plan.ts#rereadUnansweredLive). */
  unansweredLiveWaitMs?: number;
};

/** A minute: past a REST server swap (up to loop_wait after a reload) with room to spare. */
const UNANSWERED_LIVE_WAIT_MS = 60_000;

export interface HostWork {
  host: ResolvedHost;
  files: DesiredFile[];
  packages: PackageSpec[];
  units: UnitSpec[];
  facts?: HostFacts;
}

export class DeployContext {
  readonly session: ClusterSession;
  readonly work = new Map<string, HostWork>();
  /** The leader's view of the cluster when the run began (undefined: nothing runs yet, or see liveUnanswered). */
  live: ClusterInfo | undefined;
  /** Why the last readLive got no answer at all (every member's error), as opposed to an empty cluster. */
  liveUnanswered: string | undefined;
  plan: WholePlan = { hosts: new Map(), cluster: [] };
  /** The etcd members that answered healthy when the run began (checkEtcd), read once. */
  etcdHealthy: string[] = [];
  /** etcd's membership when the run began, through the first member that answered; undefined: no etcd runs yet. */
  etcdLive: { via: string; members: LiveEtcdMember[] } | undefined;
  /** The membership step planned (planEtcdMembers): at most one. */
  etcdMemberSteps: EtcdMemberStep[] = [];
  /** What the cluster steps' checks warned about (a role pgha created that is no longer declared), for the summary. */
  stepWarnings: string[] = [];

  constructor(
    readonly loaded: LoadedCluster,
    material: Awaited<ReturnType<typeof ensureClusterMaterial>>,
    readonly req: DeployRequest,
    seams: DeploySeams = {},
  ) {
    this.session = new ClusterSession(loaded.cluster, loaded.paths, material, seams.connectHost, seams.rest);
    this.exporterBundle = seams.exporterBundle ?? readExporterBundle;
    this.unansweredLiveWaitMs = seams.unansweredLiveWaitMs ?? UNANSWERED_LIVE_WAIT_MS;
  }

  readonly unansweredLiveWaitMs: number;

  /** The exporter's build, read when a monitoring host is rendered. */
  readonly exporterBundle: () => string;

  get clusterName(): string {
    return this.loaded.cluster.name;
  }

  selected(): ResolvedHost[] {
    const all = this.loaded.cluster.hosts;
    if (!this.req.hosts?.length) return all;
    return all.filter((h) => this.req.hosts!.includes(h.name));
  }

  secret(name: string): string {
    return this.session.material.secrets.get(name);
  }

  configuredPrimary(): ResolvedHost {
    const p = this.loaded.cluster.hosts.find((h) => h.roles.includes('primary'));
    if (!p) throw new UsageError('config.yml has no primary');
    return p;
  }

  /** etcd RBAC as config.yml asks for it, or undefined when etcd runs without auth. */
  etcdAuthSpec(): EtcdAuthSpec | undefined {
    const first = etcdMembers(this.loaded.cluster)[0];
    if (!first || first.vars.etcd_authentication_mode !== 'basic') return undefined;
    const user = String(first.vars.patroni_etcd_user);
    return {
      rootPassword: this.secret('etcd_root'),
      patroniUser: user,
      patroniPassword: this.secret(user),
      prefix: `${String(first.vars.patroni_dcs_namespace).replace(/\/$/, '')}/${this.clusterName}/`,
      role: `patroni_${this.clusterName.replace(/-/g, '_')}`,
    };
  }

  /**
   * Members of config.yml that join a running etcd in this run: not in its membership yet, or
   * added by an earlier run that stopped before they started (listed with no name).
   */
  etcdJoining(): string[] {
    const live = this.etcdLive?.members;
    if (!live) return [];
    return etcdMembers(this.loaded.cluster)
      .filter((h) => {
        const m = live.find((l) => l.peerUrls.includes(etcdPeerUrl(h)));
        return !m || !m.name;
      })
      .map((h) => h.name);
  }

  /** An etcd gateway through `via`, logged in as root where etcd runs with RBAC. */
  async etcdAdmin(via: string): Promise<EtcdGateway> {
    const gw = new EtcdGateway(this.session.etcdHttp(via), `${via}: etcd`);
    const spec = this.etcdAuthSpec();
    if (spec) await gw.authenticate('root', spec.rootPassword);
    return gw;
  }

  /** etcd's membership through the first member that answers (config.yml's members, in order); undefined when none does. */
  async readEtcdLive(): Promise<{ via: string; members: LiveEtcdMember[] } | undefined> {
    for (const h of etcdMembers(this.loaded.cluster)) {
      try {
        const members = await readEtcdMembers(await this.etcdAdmin(h.name));
        if (members.length) return { via: h.name, members };
      } catch {
        // Not running (yet), or not reachable: the next one may answer.
      }
    }
    return undefined;
  }

  /** The data nodes' names, the members every live read may ask. */
  members(): string[] {
    return dataNodes(this.loaded.cluster).map((h) => h.name);
  }

  /** The leader as the DCS sees it, read through any data node that answers (the live view). */
  async readLive(): Promise<ClusterInfo | undefined> {
    try {
      const info = await readCluster(this.session, this.members());
      this.liveUnanswered = undefined;
      return info.members.length ? info : undefined;
    } catch (e) {
      this.liveUnanswered = (e as Error).message;
      return undefined;
    }
  }
}
