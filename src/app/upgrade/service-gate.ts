/**
 * The gate around each host of a rolled service (etcd, HAProxy, PgBouncer): before it is touched
 * and after its restart, the unit serves (etcd: every member healthy; others: the unit is active
 * and its port accepts connections), then the component's own health check passes on that host
 * (src/components/<name>/health.ts): a port that accepts connections is not yet a proxy routing
 * to the leader, nor an etcd member that still enforces auth.
 */
import { componentNamed } from '../../components/registry.js';
import { RuntimeError } from '../../errors.js';
import type { ResolvedHost } from '../../model/types.js';
import { healthProbe, sessionProbeDeps } from '../health.js';
import type { EtcdHealth } from '../live/view.js';
import type { ClusterSession } from '../session.js';
import { waitFor } from '../wait.js';
import { portOpenCommand } from './commands.js';
import { componentUnit, upgradeProcedure, type Component } from './plan.js';

export interface GateContext {
  session: ClusterSession;
  etcdHealth(): Promise<EtcdHealth[]>;
  /** How long the health check may take to pass (default 60 s; tests shorten it). */
  gateTimeoutSec?: number;
}

export async function serviceHealthy(g: GateContext, c: Component, host: ResolvedHost, when: 'before' | 'after'): Promise<void> {
  const how = upgradeProcedure(c);
  if (how.kind !== 'service') throw new Error(`bug: ${c} is not rolled as a service`);
  if (how.quorumGate) {
    await waitFor(async () => ((await g.etcdHealth()).every((e) => e.healthy) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 1000,
      what: `every etcd member to be healthy after ${host.name}`,
      where: `${host.name}: etcd`,
    });
  } else {
    const unit = componentUnit(c, g.session.cluster, host)!;
    const port = how.port(host);
    const probe = portOpenCommand(unit, host.ip, port);
    await waitFor(async () => ((await g.session.transport(host.name).exec(probe)).code === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `${unit} on ${host.name} to be active and accept connections on port ${port}`,
      where: `${host.name}: ${c}`,
    });
  }
  await componentHealthy(g, c, host, when);
}

async function componentHealthy(g: GateContext, c: Component, host: ResolvedHost, when: 'before' | 'after'): Promise<void> {
  const check = componentNamed(c)?.health;
  if (!check) return;
  let failing: string[] = [];
  try {
    await waitFor(
      async () => {
        const results = await check(healthProbe(sessionProbeDeps(g.session)), [host]);
        failing = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
        return failing.length ? undefined : true;
      },
      {
        timeoutMs: (g.gateTimeoutSec ?? 60) * 1000,
        intervalMs: 1000,
        what: `${c} on ${host.name} to pass its health check`,
        where: `${host.name}: ${c}`,
      },
    );
  } catch (e) {
    if (!failing.length) throw e;
    const untouched = when === 'before' ? ' (nothing was changed on it)' : '';
    throw new RuntimeError(
      `${c} on ${host.name} does not pass its health check ${when} its upgrade${untouched}:\n${failing.map((f) => `  - ${f}`).join('\n')}`,
      {
        where: `${host.name}: ${c}`,
        hint: `look at ${host.name}'s ${c} logs; \`pgha test ${g.session.paths.dir}\` shows every check`,
      },
    );
  }
}
