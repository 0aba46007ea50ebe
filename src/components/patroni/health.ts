/**
 * Patroni's health: each member's REST API (GET /health and /liveness both 200), the build it
 * runs (no known write-losing bug), and replication as the DCS and the members' own positions
 * show it: one running leader, every configured member streaming from it (a cascading replica from
 * its upstream) within maximum_lag_on_failover.
 */
import type { ResolvedHost } from '../../model/types.js';
import { isDataNode } from '../common.js';
import { leadersOf, liveLag, maximumLagOnFailover, replicaLag, streamsTo, upstreamOf } from '../../patroni/judge.js';
import { leaderKeyBug, leaderKeyFix } from '../../patroni/known-bugs.js';
import { notInConfigHint, notInConfigMessage } from '../../patroni/not-in-config.js';
import { isHealthyReplicaState, type ClusterInfo, type PatroniNodeStatus } from '../../patroni/types.js';
import { firstLine, type CheckResult, type HealthCheck, type HealthProbe } from '../health.js';

/** Short: a dead member must not make the check slow for the live ones. */
const TIMEOUT_MS = 3_000;

async function memberChecks(probe: HealthProbe, h: ResolvedHost, node: PatroniNodeStatus | undefined): Promise<CheckResult[]> {
  const c = probe.patroni(h);
  try {
    const [health, live] = await Promise.all([
      c.call({ method: 'GET', path: '/health', timeoutMs: TIMEOUT_MS }),
      c.call({ method: 'GET', path: '/liveness', timeoutMs: TIMEOUT_MS }),
    ]);
    const ok = health.status === 200 && live.status === 200;
    const api: CheckResult = {
      name: `${h.name}: REST API`,
      ok,
      detail: ok
        ? `PostgreSQL ${node?.state ?? '?'}, Patroni ${node?.patroni?.version ?? '?'} (GET /health 200, /liveness 200)`
        : `GET /health ${health.status}, /liveness ${live.status}: PostgreSQL ${node?.state ?? 'unknown'}`,
    };
    if (!node) return [api];
    const bug = leaderKeyBug(node.patroni);
    const fixes = node.patroni?.pgha_fixes?.length ? ` (${node.patroni.pgha_fixes.join(', ')})` : '';
    return [
      api,
      {
        name: `${h.name}: Patroni build`,
        ok: !bug,
        detail: bug ? `${bug}; fix: ${leaderKeyFix(probe.dir)}` : `${node.patroni?.version ?? '?'}${fixes}, no known write-losing bug`,
      },
    ];
  } catch (e) {
    return [
      {
        name: `${h.name}: REST API`,
        ok: false,
        detail: `unreachable: ${firstLine(e).replace(/^Patroni REST API GET \/\w+ failed: /, '')}`,
      },
    ];
  }
}

/** One leader; every configured member present and streaming from it (or, cascading, from its upstream) within maximum_lag_on_failover. */
export function replicationChecks(
  dataNodes: readonly string[],
  info: ClusterInfo | undefined,
  leaderNode: PatroniNodeStatus | undefined,
  maxLag: number,
  nodes: ReadonlyMap<string, PatroniNodeStatus> = new Map(),
  dir = 'DIR',
): CheckResult[] {
  if (!info) return [{ name: 'replication', ok: false, detail: 'no member answers GET /cluster' }];
  const leaders = leadersOf(info);
  const only = leaders.length === 1 ? leaders[0]! : undefined;
  const configured = only !== undefined && dataNodes.includes(only.name);
  const out: CheckResult[] = [
    {
      name: 'replication: leader',
      ok: only !== undefined && only.state === 'running' && configured,
      detail: only
        ? configured
          ? `${only.name} (${only.state})`
          : `${only.name} (${only.state}): ${notInConfigMessage(only.name, 'the leader')}; fix: ${notInConfigHint(only.name, dir)}`
        : leaders.length
          ? `${leaders.length} leaders: ${leaders.map((l) => l.name).join(', ')}`
          : 'no leader',
    },
  ];
  const leader = leaders.length === 1 ? leaders[0]!.name : undefined;
  for (const name of dataNodes.filter((n) => n !== leader)) {
    const m = info.members.find((x) => x.name === name);
    let ok = false;
    let detail: string;
    const up = upstreamOf(info, name);
    const how = liveLag(leaderNode, nodes.get(name)) !== undefined ? 'live' : 'from the DCS';
    const lag = replicaLag(m?.lag, leaderNode, nodes.get(name)) ?? m?.lag;
    if (!m) detail = 'not a member of the cluster (Patroni not running, or not registered in the DCS)';
    else if (!isHealthyReplicaState(m.state)) detail = `state ${m.state}`;
    else if (typeof lag !== 'number') detail = `lag ${String(lag ?? 'unknown')}`;
    else if (lag > maxLag) detail = `lag ${lag} B (${how}) exceeds maximum_lag_on_failover ${maxLag} B`;
    else if (leaderNode && !streamsTo(leaderNode, name) && !(up !== undefined && streamsTo(nodes.get(up), name))) {
      detail = `${leader ?? 'the leader'} has no streaming connection from ${name}${up === undefined ? '' : ` (nor has its upstream ${up})`}`;
    } else {
      ok = true;
      const from = up !== undefined && streamsTo(nodes.get(up), name) ? `${up} (cascading)` : (leader ?? '?');
      detail = `streaming from ${from}, lag ${lag} B (max ${maxLag})`;
    }
    out.push({ name: `${name}: replication`, ok, detail });
  }
  return out;
}

/**
 * Every member's API and build, then replication across all data nodes (replication is a property
 * of the whole cluster, so it is judged even when only some members are asked about).
 */
export const patroniHealth: HealthCheck = async (probe, hosts) => {
  const live = await probe.live();
  const members = await Promise.all(hosts.map((h) => memberChecks(probe, h, live.nodes.get(h.name))));
  const dataNodes = probe.cluster.hosts.filter(isDataNode);
  const leaderNode = live.leader ? live.nodes.get(live.leader.name) : undefined;
  return [
    ...members.flat(),
    ...replicationChecks(
      dataNodes.map((h) => h.name),
      live.info,
      leaderNode,
      maximumLagOnFailover(live.config),
      live.nodes,
      probe.dir,
    ),
  ];
};
