/**
 * A component's health check, as `pgha test` prints it and `pgha upgrade` gates on it: each
 * component says what "healthy" means for itself (./<name>/health.ts) against this probe, and the
 * probe is how it reaches the live cluster. The probe is implemented in src/app/ (over the live
 * view, SSH and the cluster's secrets), so a check is a plain async function of what it reads and
 * can be tested against a fake probe.
 */
import type { ResolvedCluster, ResolvedHost } from '../model/types.js';
import type { PatroniClient } from '../patroni/client.js';
import type { ClusterInfo, PatroniNodeStatus } from '../patroni/types.js';
import type { Requester } from '../transport/https.js';
import { quote, type Command } from '../transport/quote.js';
import type { ExecResult } from '../transport/types.js';

export interface CheckResult {
  /** What was checked, e.g. `pg2: replication`. */
  name: string;
  ok: boolean;
  detail: string;
}

/** One read of the data nodes' Patroni, shared by every check of one run. */
export interface LivePatroni {
  /** The DCS view (GET /cluster), the leader's own answer preferred; undefined when no member answers. */
  info?: ClusterInfo;
  /** The leader named by the DCS, when it is a configured host. */
  leader?: ResolvedHost;
  /** Each member's own GET /patroni, by name, for those that answered. */
  nodes: ReadonlyMap<string, PatroniNodeStatus>;
  /** The DCS configuration (GET /config) from the first member that answered. */
  config?: Record<string, unknown>;
}

/** A host's own report of the components it runs: each component's `stateScript` output, by component name. */
export interface HostState {
  host: ResolvedHost;
  parts?: ReadonlyMap<string, { text: string; rc: number }>;
  /** Why the host could not be read at all. */
  error?: string;
}

export interface HealthProbe {
  readonly cluster: ResolvedCluster;
  /** The cluster directory, for hints naming commands and secret files. */
  readonly dir: string;
  /** The live Patroni view, read once per run whoever asks first. */
  live(): Promise<LivePatroni>;
  /** A REST client for a data node (short timeouts). */
  patroni(h: ResolvedHost): PatroniClient;
  /** A requester for an etcd member's client port. */
  etcdHttp(h: ResolvedHost): Requester;
  /** A secret from DIR/secrets; undefined when it is missing. */
  secret(name: string): string | undefined;
  /**
   * Runs a command on a data node whose host is up (not the leader when another answers): how a
   * check reaches a proxy from inside the cluster. Undefined when no data node can be reached.
   */
  onDataNode(cmd: Command): Promise<{ host: ResolvedHost; result: ExecResult } | undefined>;
  /** Runs a command on that host over SSH (a check that only the host itself can make: pgBackRest's on its repository). */
  onHost(h: ResolvedHost, cmd: Command): Promise<ExecResult>;
  /** What the host's components report about themselves (their `stateScript`s, one exec). */
  hostState(h: ResolvedHost): Promise<HostState>;
}

/** A component's checks on `hosts` (the hosts running it, or fewer: upgrade gates one host). */
export type HealthCheck = (probe: HealthProbe, hosts: readonly ResolvedHost[]) => Promise<CheckResult[]>;

/** The first line of an error's message: what a one-line check detail shows. */
export const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

/** A TCP connection to ip:port within 3 s (bash's /dev/tcp; exit 0 when it connects). */
export function tcpConnectCommand(ip: string, port: number): Command {
  return { script: `timeout 3 bash -c ${quote(`</dev/tcp/${ip}/${port}`)}` };
}

/**
 * Whether a host's port accepts connections, dialled from a data node (the controller may not
 * reach the hosts' network directly): the check every listening component shares.
 */
export async function portAccepts(probe: HealthProbe, h: ResolvedHost, port: number, name: string): Promise<CheckResult> {
  try {
    const ran = await probe.onDataNode(tcpConnectCommand(h.ip, port));
    if (!ran) return { name, ok: false, detail: 'no data node reachable over SSH to dial it from' };
    const ok = ran.result.code === 0;
    return { name, ok, detail: `${h.ip}:${port} ${ok ? 'accepts' : 'refuses'} connections (from ${ran.host.name})` };
  } catch (e) {
    return { name, ok: false, detail: firstLine(e) };
  }
}
