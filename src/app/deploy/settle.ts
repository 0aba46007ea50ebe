/**
 * How a deploy ends. After the `service` formation: a component whose unit is active before it serves
 * (`awaitHealthAfterStart`: keepalived holds the VIP only after VRRP's master-down interval) is
 * waited for until its health check passes, whenever this run started one of its units, so that
 * deploy ends with every entry point it prints in service.
 */
import { dataNodes } from '../../components/common.js';
import { COMPONENTS } from '../../components/registry.js';
import { RuntimeError } from '../../errors.js';
import { isLeaderRole } from '../../patroni/types.js';
import type { UnitAction } from '../../plan/cluster-plan.js';
import { healthProbe, sessionProbeDeps } from '../health.js';
import { waitFor } from '../wait.js';
import type { DeployContext } from './context.js';

const SETTLE_TIMEOUT_MS = 60_000;

export async function awaitStartedServices(d: DeployContext, started: readonly { host: string; a: UnitAction }[]): Promise<void> {
  const cluster = d.loaded.cluster;
  for (const c of COMPONENTS) {
    const check = c.health;
    if (!c.awaitHealthAfterStart || !check) continue;
    const hosts = cluster.hosts.filter((h) => c.runsOn(cluster, h));
    const startedHere = hosts.filter((h) =>
      started.some((s) => s.host === h.name && s.a.op === 'start' && c.units(cluster, h).includes(s.a.unit)),
    );
    if (!startedHere.length) continue;
    // The check reads all of the component's hosts and runs psql from a data node: a run limited
    // by --hosts holds no connection to the others, so it cannot judge (pgha test can, after).
    if (!hosts.every((h) => d.work.has(h.name)) || !dataNodes(cluster).some((h) => d.work.has(h.name))) continue;
    let failing: string[] = [];
    try {
      // The whole component's check, not the started hosts' alone: one VIP holder among all proxies.
      await waitFor(
        async () => {
          const results = await check(healthProbe(sessionProbeDeps(d.session)), hosts);
          failing = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
          return failing.length ? undefined : true;
        },
        { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 1000, what: `${c.name} to pass its health check` },
      );
    } catch (e) {
      if (!failing.length) throw e;
      throw new RuntimeError(
        `${c.name} was started on ${startedHere.map((h) => h.name).join(', ')} but does not pass its health check after ${SETTLE_TIMEOUT_MS / 1000} s:\n${failing.map((f) => `  - ${f}`).join('\n')}`,
        {
          where: `${startedHere[0]!.name}: ${c.name}`,
          hint: `look at journalctl -u ${c.units(cluster, startedHere[0]!)[0] ?? c.name} there; \`pgha test DIR\` shows every check`,
        },
      );
    }
  }
}

/** Last: where this run touched a data node, the cluster must have exactly one leader. */
export async function verifyOneLeader(d: DeployContext): Promise<void> {
  if (!dataNodes(d.loaded.cluster).some((h) => d.work.has(h.name))) return;
  const info = await d.readLive();
  const leaders = info?.members.filter((m) => isLeaderRole(m.role)) ?? [];
  if (leaders.length !== 1) {
    throw new RuntimeError(`the cluster has ${leaders.length} leaders after deploy`, {
      hint: 'run `pgha status DIR` and look at the Patroni logs',
    });
  }
}
