/**
 * `pgha test` (like `tpaexec test`; docs/architecture.md#operations): every component's health
 * check from the registry (src/components/<name>/health.ts), each result printed with ✓ or ✗,
 * every failure listed at the end. Components are checked in parallel and a check never stops at
 * the first failure: an operator wants the whole picture.
 *
 * This file is the probe those checks read through: the live Patroni view read once, etcd and
 * REST clients with short timeouts, the cluster's secrets, SSH to the hosts (one exec per host for
 * every component's state, and psql on a data node that is up, not the leader when another is).
 */
import { isDataNode } from '../components/common.js';
import type { CheckResult, HealthProbe, HostState, LivePatroni } from '../components/health.js';
import { COMPONENTS } from '../components/registry.js';
import { RuntimeError } from '../errors.js';
import type { ResolvedCluster, ResolvedHost } from '../model/types.js';
import type { PatroniClient } from '../patroni/client.js';
import { leaderOf, preferredAnswer } from '../patroni/judge.js';
import type { ClusterInfo, PatroniNodeStatus } from '../patroni/types.js';
import { loadSecrets } from '../secrets/store.js';
import type { Requester } from '../transport/https.js';
import type { Command } from '../transport/quote.js';
import type { Transport } from '../transport/types.js';
import {
  checkSshKeyReadable,
  etcdRequester,
  patroniClientFor,
  probeContext,
  sshConnector,
  STATUS_TIMEOUT_MS,
  type ProbeContext,
} from './live/probe.js';
import { readHostState } from './live/host-state.js';
import { HostStateReader } from './live/proxies.js';
import type { ClusterSession } from './session.js';

export type { CheckResult } from '../components/health.js';

/** Where a probe gets its connections: the probe context (pgha test) or a deploy/upgrade session. */
export interface ProbeDeps {
  cluster: ResolvedCluster;
  dir: string;
  patroni(h: ResolvedHost): PatroniClient;
  etcdHttp(h: ResolvedHost): Requester;
  secret(name: string): string | undefined;
  /** A transport to the host, kept for the probe's life (the caller closes what it opened). */
  transport(h: ResolvedHost): Promise<Transport>;
  hostState(h: ResolvedHost): Promise<HostState>;
}

/** Each member's GET /patroni, GET /cluster and GET /config, at once; the leader's own DCS view preferred. */
async function readLivePatroni(deps: ProbeDeps): Promise<LivePatroni> {
  const dataNodes = deps.cluster.hosts.filter(isDataNode);
  const answers = await Promise.all(
    dataNodes.map(async (h) => {
      const c = deps.patroni(h);
      const get = async (path: string) => {
        try {
          const r = await c.call({ method: 'GET', path, timeoutMs: STATUS_TIMEOUT_MS });
          return r.status === 200 ? r.body : undefined;
        } catch {
          return undefined;
        }
      };
      const [node, info, config] = await Promise.all([get('/patroni'), get('/cluster'), get('/config')]);
      return {
        name: h.name,
        node: node as PatroniNodeStatus | undefined,
        info: info as ClusterInfo | undefined,
        config: config as Record<string, unknown> | undefined,
      };
    }),
  );
  const info = preferredAnswer(answers)?.info;
  const leaderName = info ? leaderOf(info)?.name : undefined;
  const leader = dataNodes.find((h) => h.name === leaderName);
  const config = answers.find((a) => a.config)?.config;
  return {
    ...(info ? { info } : {}),
    ...(leader ? { leader } : {}),
    nodes: new Map(answers.flatMap((a) => (a.node ? [[a.name, a.node] as const] : []))),
    ...(config ? { config } : {}),
  };
}

/** The probe the components' checks read through (src/components/health.ts). */
export function healthProbe(deps: ProbeDeps): HealthProbe {
  let live: Promise<LivePatroni> | undefined;
  const probe: HealthProbe = {
    cluster: deps.cluster,
    dir: deps.dir,
    live: () => (live ??= readLivePatroni(deps)),
    patroni: (h) => deps.patroni(h),
    etcdHttp: (h) => deps.etcdHttp(h),
    secret: (name) => deps.secret(name),
    hostState: (h) => deps.hostState(h),
    onHost: async (h, cmd) => (await deps.transport(h)).exec(cmd),
    async onDataNode(cmd: Command) {
      // A member whose API answered has a host that is up; the leader last, to keep load off it.
      const { nodes, leader } = await probe.live();
      const up = deps.cluster.hosts.filter((h) => isDataNode(h) && nodes.has(h.name));
      const ordered = [...up.filter((h) => h.name !== leader?.name), ...up.filter((h) => h.name === leader?.name)];
      for (const h of ordered) {
        const t = await deps.transport(h).catch(() => undefined);
        if (t) return { host: h, result: await t.exec(cmd) };
      }
      return undefined;
    },
  };
  return probe;
}

/** Every component's checks on the hosts running it, in registry order. */
export async function runHealthChecks(probe: HealthProbe): Promise<CheckResult[]> {
  const { cluster } = probe;
  const results = await Promise.all(
    COMPONENTS.map((c) => {
      const hosts = cluster.hosts.filter((h) => c.runsOn(cluster, h));
      return c.health && hosts.length ? c.health(probe, hosts) : Promise.resolve([]);
    }),
  );
  return results.flat();
}

export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = results.map((r) => `${r.ok ? '✓' : '✗'} ${r.name.padEnd(width)}  ${r.detail}`);
  const failed = results.filter((r) => !r.ok);
  lines.push('', `${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length) lines.push('failed:', ...failed.map((r) => `  - ${r.name}: ${r.detail}`));
  return `${lines.join('\n')}\n`;
}

/** The probe of `pgha test`: REST with short timeouts, SSH opened once per host and closed at the end. */
export function testProbeDeps(
  ctx: ProbeContext,
  secret: (name: string) => string | undefined,
  connect: (h: ResolvedHost) => Promise<Transport>,
): ProbeDeps & { close(): Promise<void> } {
  const open = new Map<string, Promise<Transport>>();
  const requesters: { close(): Promise<void> }[] = [];
  const transport = (h: ResolvedHost) => {
    let t = open.get(h.name);
    if (!t) {
      t = connect(h);
      t.catch(() => open.delete(h.name));
      open.set(h.name, t);
    }
    return t;
  };
  const states = new HostStateReader(ctx.cluster, transport);
  return {
    cluster: ctx.cluster,
    dir: ctx.paths.dir,
    patroni: (h) => patroniClientFor(ctx, h),
    etcdHttp: (h) => {
      const r = etcdRequester(ctx, h);
      requesters.push(r);
      return r;
    },
    secret,
    transport,
    hostState: (h) => states.read(h),
    close: async () => {
      await Promise.all(requesters.splice(0).map((r) => r.close()));
      const ts = await Promise.all([...open.values()].map((t) => t.catch(() => undefined)));
      open.clear();
      await Promise.all(ts.map(async (t) => t?.close().catch(() => undefined)));
    },
  };
}

/**
 * The probe over a deploy or upgrade session: its open SSH connections, its REST clients and its
 * secrets. Upgrade gates each host on the component's own check through it.
 */
export function sessionProbeDeps(session: ClusterSession): ProbeDeps {
  const secrets = session.material.secrets;
  return {
    cluster: session.cluster,
    dir: session.paths.dir,
    patroni: (h) => session.patroni(h.name),
    etcdHttp: (h) => session.etcdHttp(h.name),
    secret: (name) => (secrets.names().includes(name) ? secrets.get(name) : undefined),
    transport: (h) => Promise.resolve(session.transport(h.name)),
    hostState: (h) => readHostState(session.transport(h.name), session.cluster, h),
  };
}

/** The command: prints every check; exit 1 when any failed. */
export async function runTest(dir: string, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const ctx = await probeContext(dir);
  await checkSshKeyReadable(ctx);
  const secrets = await loadSecrets(ctx.paths.dir);
  const deps = testProbeDeps(ctx, (n) => (secrets.names().includes(n) ? secrets.get(n) : undefined), sshConnector(ctx, 10_000));
  try {
    const results = await runHealthChecks(healthProbe(deps));
    if (!results.length) throw new RuntimeError('nothing to test: config.yml has no hosts');
    out.write(secrets.redact(formatChecks(results)));
    return results.every((r) => r.ok) ? 0 : 1;
  } finally {
    await deps.close();
  }
}
