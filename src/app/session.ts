/**
 * A live session with a cluster: one transport per host (opened together through the cluster's
 * platform — SSH today — and reused for the whole run), plus REST clients for Patroni and etcd
 * with the cluster's TLS and credentials. Shared by deploy and the operational commands, which
 * read the cluster through it with the live view (src/app/live/view.ts).
 */
import { PghaError, RefusedError, RuntimeError } from '../errors.js';
import type { ResolvedCluster, ResolvedHost } from '../model/types.js';
import { PatroniClient, type PatroniCredentials } from '../patroni/client.js';
import { notInConfigHint, notInConfigMessage } from '../patroni/not-in-config.js';
import { EtcdGateway } from '../components/etcd/auth.js';
import { NodeHttpRequester, type Requester, type TlsMaterial } from '../transport/https.js';
import { hostConnector } from '../platforms/index.js';
import type { HostTransport } from '../transport/types.js';
import type { ClusterMaterial, ClusterPaths } from './cluster-dir.js';
import type { LiveSource } from './live/view.js';

export type { HostTransport };

/** Opens the transport to one host; a session gets its platform's unless given another (a fake, in tests). */
export type ConnectHost = (host: ResolvedHost) => Promise<HostTransport>;

/** Where a session's REST clients connect; the real network unless given (a simulated cluster, in tests). */
export interface RestConnectors {
  /** Patroni's REST API of a data node; `fromMember`: the call would go through the member's own tunnel. */
  patroni(h: ResolvedHost, fromMember: boolean): Requester;
  etcd(h: ResolvedHost): Requester;
}

/** Where a command's connections go: the platform's hosts and the real REST APIs unless given (tests give a simulated cluster). */
export interface SessionSeams {
  connectHost?: ConnectHost;
  rest?: RestConnectors;
}

/** How long a session waits for one host's handshake. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The one definition lives with the components; re-exported for the callers that import it from here. */
export { isDataNode } from '../components/common.js';

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Also the LiveSource of the live view (src/app/live/view.ts): deploy, upgrade, switchover and the verbs read through it. */
export class ClusterSession implements LiveSource {
  private readonly transports = new Map<string, HostTransport>();
  private readonly clients: { close(): Promise<void> }[] = [];

  private readonly connectHost: ConnectHost;

  constructor(
    readonly cluster: ResolvedCluster,
    readonly paths: ClusterPaths,
    readonly material: ClusterMaterial,
    connectHost?: ConnectHost,
    private readonly rest?: RestConnectors,
  ) {
    this.connectHost =
      connectHost ??
      hostConnector(cluster.platform, {
        privateKeyFile: paths.privateKey,
        knownHostsFile: paths.knownHosts,
        readyTimeoutMs: CONNECT_TIMEOUT_MS,
      });
  }

  host(name: string): ResolvedHost {
    const h = this.cluster.hosts.find((x) => x.name === name);
    // Names also come from the live cluster (the DCS leader, a member), which may hold one that
    // config.yml no longer has: a state of the cluster to report, not a bug.
    if (!h) throw new RefusedError(notInConfigMessage(name), [], { hint: notInConfigHint(name, this.paths.dir) });
    return h;
  }

  /**
   * Connect to every given host at once. Any failure is reported for every host that failed,
   * before anything is changed anywhere.
   */
  async connect(hosts: readonly ResolvedHost[], concurrency = 16): Promise<void> {
    const failures: string[] = [];
    let refused = false;
    await mapLimit(hosts, concurrency, async (h) => {
      if (this.transports.has(h.name)) return;
      try {
        this.transports.set(h.name, await this.connectHost(h));
      } catch (e) {
        refused ||= e instanceof RefusedError;
        // Several hosts fail together: each line names its host first (the error's `where`).
        const where = e instanceof PghaError && e.where ? e.where : h.name;
        const hint = e instanceof PghaError && e.hint ? `\n    fix: ${e.hint}` : '';
        failures.push(`${where}: ${(e as Error).message}${hint}`);
      }
    });
    if (refused) {
      // An unverified or changed host key is a refusal (exit 3), whatever else failed with it.
      throw new RefusedError(`refusing to connect; nothing was changed:`, failures);
    }
    if (failures.length) {
      throw new RuntimeError(
        `cannot reach ${failures.length} host(s); nothing was changed:\n${failures.map((f) => `  - ${f}`).join('\n')}`,
        {
          hint: `check the hosts are up (nspawn: pgha provision ${this.paths.dir}) and reachable over SSH`,
        },
      );
    }
  }

  transport(name: string): HostTransport {
    const t = this.transports.get(name);
    if (!t) throw new RuntimeError(`bug: no connection to ${name}`);
    return t;
  }

  roundTrips(): Record<string, number> {
    return Object.fromEntries([...this.transports].map(([n, t]) => [n, t.execCount]));
  }

  tls(): TlsMaterial {
    const pgha = this.material.pki.clients.pgha;
    return { ca: this.material.pki.caCert, cert: pgha?.cert, key: pgha?.key };
  }

  private patroniCredentials(h: ResolvedHost): PatroniCredentials {
    const user = String(h.vars.patroni_restapi_user);
    return {
      tls: this.tls(),
      ssl: h.vars.patroni_ssl_enabled === true,
      username: user,
      password: this.material.secrets.get(user),
    };
  }

  /**
   * A Patroni client for a data node. `fromMember` routes the connection through an SSH channel
   * opened on that member, so unsafe calls pass the REST API allowlist (docs/architecture.md#security-invariants).
   */
  patroni(name: string, opts: { fromMember?: boolean } = {}): PatroniClient {
    const h = this.host(name);
    const port = Number(h.vars.patroni_listen_port);
    const dial = opts.fromMember ? () => this.transport(name).forwardOut(h.ip, port) : undefined;
    const requester = this.rest?.patroni(h, opts.fromMember === true);
    const c = new PatroniClient({ host: h.name, ip: h.ip, port }, this.patroniCredentials(h), dial, requester ? { requester } : {});
    this.clients.push(c);
    return c;
  }

  etcd(name: string): EtcdGateway {
    return new EtcdGateway(this.etcdHttp(name), `${name}: etcd`);
  }

  etcdHttp(name: string): Requester {
    const h = this.host(name);
    const fake = this.rest?.etcd(h);
    if (fake) return fake;
    // pgha's client certificate: without RBAC (etcd_authentication_mode: none) etcd admits a client
    // by it alone; with RBAC etcd asks for none and the login decides.
    const http = new NodeHttpRequester(
      { ip: h.ip, port: Number(h.vars.etcd_client_port), servername: h.name },
      this.tls(),
      undefined,
      h.vars.etcd_ssl_enabled === true ? 'https' : 'http',
    );
    this.clients.push(http);
    return http;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    await Promise.all([...this.transports.values()].map((t) => t.close().catch(() => undefined)));
    this.transports.clear();
  }
}
