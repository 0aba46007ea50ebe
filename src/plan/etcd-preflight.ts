/**
 * What deploy may do to etcd when members are down, judged before anything is changed (pure:
 * the health probes and facts are gathered by the caller).
 *
 * etcd keeps working while a majority of its members is healthy. Deploy restarts a member whose
 * configuration it changed, one at a time; with a member already down, that restart can take the
 * cluster below quorum, and Patroni then demotes the leader: an outage caused by a deploy. So:
 * - a deploy that would reconfigure (and so restart) any etcd member refuses while any member is
 *   down, naming it and the fix — the rolling restart is health-gated on every member anyway,
 *   and refusing up front leaves every host as it was instead of half-written;
 * - a deploy that leaves etcd's configuration alone goes on with a warning: it starts a member
 *   whose unit is stopped (as it starts any stopped service, and starting one only adds to the
 *   quorum), and leaves alone, without waiting for it, a member whose unit runs but does not
 *   answer healthy, since starting it again would not fix that.
 */

import { quorumOf } from '../components/etcd/membership.js';

export interface EtcdMemberView {
  name: string;
  /** GET /health answered 200 {"health":"true"}. */
  healthy: boolean;
  /** Why not, when not healthy (connection error, HTTP status). */
  error?: string | undefined;
  /** `systemctl is-active etcd.service` on the host; undefined when this run has no facts of it. */
  unitActive?: string | undefined;
  /** This deploy changes the member's etcd configuration, so it would restart it. */
  reconfigured: boolean;
  /** A member this deploy adds to etcd (src/components/etcd/membership.ts): not down, not yet one. */
  joining?: boolean;
}

export interface EtcdPreflight {
  /** Non-empty: refuse (exit 3) with these reasons; nothing has been changed yet. */
  refusals: string[];
  hint?: string;
  /** Printed with the deploy's result when it goes on. */
  warnings: string[];
  /** Members the etcd phase must not wait for: running but unhealthy, left as they are. */
  skipWait: string[];
}

export { quorumOf };

function describeDown(m: EtcdMemberView): string {
  const unit = m.unitActive === undefined ? '' : `etcd.service ${m.unitActive}`;
  const err = m.error ? m.error : 'not healthy';
  return unit ? `${unit}; ${err}` : err;
}

export function etcdPreflight(all: readonly EtcdMemberView[], opts: { clusterDir: string }): EtcdPreflight {
  const out: EtcdPreflight = { refusals: [], warnings: [], skipWait: [] };
  // The membership step's own quorum rule covers a joining member (planEtcdMembership).
  const members = all.filter((m) => !m.joining);
  const healthy = members.filter((m) => m.healthy);
  const down = members.filter((m) => !m.healthy);
  // No member healthy: a cluster still being formed (or wholly down). Starting every member
  // together is the only way etcd forms; there is no quorum to protect.
  if (down.length === 0 || healthy.length === 0) return out;

  const n = members.length;
  const quorum = quorumOf(n);
  const reconfigured = members.filter((m) => m.reconfigured);
  if (reconfigured.length) {
    const restartHealthy = reconfigured.filter((m) => m.healthy);
    for (const m of down) out.refusals.push(`etcd member ${m.name} is down (${describeDown(m)})`);
    const names = reconfigured.map((m) => m.name).join(', ');
    if (restartHealthy.length && healthy.length - 1 < quorum) {
      out.refusals.push(
        `this deploy changes etcd's configuration on ${names} and would restart etcd on ${restartHealthy.map((m) => m.name).join(', ')}: with ${down.map((m) => m.name).join(', ')} down, ` +
          `a restart leaves ${healthy.length - 1} of ${n} members, below etcd's quorum of ${quorum}, and Patroni would demote the leader`,
      );
    } else {
      out.refusals.push(`this deploy changes etcd's configuration on ${names}; a rolling restart of etcd needs every member healthy first`);
    }
    out.hint =
      `bring etcd back on ${down.map((m) => m.name).join(', ')} first (\`systemctl start etcd\` there; \`journalctl -u etcd\` says why it stopped), ` +
      `check that \`pgha status ${opts.clusterDir}\` shows ${n}/${n} etcd members healthy, then run deploy again`;
    return out;
  }

  for (const m of down) {
    const base = `etcd member ${m.name} is down (${describeDown(m)}); ${healthy.length} of ${n} healthy, quorum ${quorum}${healthy.length < quorum ? ' NOT kept' : ' kept'}`;
    if (m.unitActive === undefined) {
      out.warnings.push(`${base}; not among this deploy's hosts, left as it is`);
      out.skipWait.push(m.name);
    } else if (m.unitActive === 'active') {
      out.warnings.push(`${base}; its unit is running, so deploy leaves it alone: look at \`journalctl -u etcd\` on ${m.name}`);
      out.skipWait.push(m.name);
    } else {
      out.warnings.push(`${base}; deploy starts etcd.service on ${m.name} and waits for it to be healthy`);
    }
  }
  return out;
}
