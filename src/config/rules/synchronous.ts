/**
 * Synchronous replication (patroni_synchronous_mode, patroni_synchronous_node_count): what the
 * schema cannot say, because it depends on how many data nodes the cluster has. A per-instance
 * value that differs is refused by clusterWideVariables (both are CLUSTER_WIDE).
 *
 * A cluster of N data nodes has N − 1 replicas that can be synchronous standbys:
 * - strict on a single data node: no standby can ever confirm a commit, so every write waits
 *   forever (error);
 * - on with a single data node: Patroni has nobody to name and runs asynchronously (warning);
 * - a node count above the replicas: Patroni can never name that many; in strict mode writes
 *   hang as soon as the cluster is formed, in on mode the count silently means "all replicas"
 *   (error either way: the number says something the cluster cannot do);
 * - strict with a node count equal to the replicas: legal (the classic two-node strict setup is
 *   one) but every replica is then needed for a commit, so writes wait whenever any replica is
 *   down or restarting, a rolling restart included (warning, naming the trade).
 */
import { synchronousModeOf, synchronousNodeCountOf } from '../../components/patroni/synchronous.js';
import { isDataNode, type Rule } from './context.js';

export const synchronousReplication: Rule = (ctx) => {
  const dataIdx = ctx.resolved.hosts.flatMap((h, i) => (isDataNode(h.roles) ? [i] : []));
  const replicas = dataIdx.length - 1;
  for (const i of dataIdx) {
    const host = ctx.resolved.hosts[i]!;
    const mode = synchronousModeOf(host.vars);
    if (mode === 'off') continue;
    const count = synchronousNodeCountOf(host.vars);
    const modeLoc = ctx.blame(i, ['patroni_synchronous_mode']);
    if (replicas < 1) {
      if (mode === 'strict') {
        ctx.perHost(
          'error',
          modeLoc,
          'strict alone',
          host.name,
          () =>
            'strict synchronous replication on a cluster with a single data node: no standby can confirm a commit, so every write would wait forever; add a replica or set patroni_synchronous_mode: on (or off)',
        );
      } else {
        ctx.perHost(
          'warning',
          modeLoc,
          'sync alone',
          host.name,
          () =>
            'synchronous replication on a cluster with a single data node has no standby to wait for: Patroni runs it asynchronously; add a replica or set patroni_synchronous_mode: off',
        );
      }
      continue;
    }
    const countLoc = ctx.sourceOf(i, ['patroni_synchronous_node_count']) ?? modeLoc;
    if (count > replicas) {
      ctx.perHost(
        'error',
        countLoc,
        `sync count ${count} ${replicas}`,
        host.name,
        () =>
          `patroni_synchronous_node_count is ${count}, but the cluster has ${replicas} replica${replicas === 1 ? '' : 's'} that can be synchronous standbys; set it to at most ${replicas} (1 is usual) or add replicas`,
      );
    } else if (mode === 'strict' && count === replicas) {
      ctx.perHost(
        'warning',
        countLoc,
        `strict all ${count}`,
        host.name,
        () =>
          `strict synchronous replication with patroni_synchronous_node_count ${count} needs every replica (${replicas}) to confirm each commit: writes wait whenever one of them is down or restarting; add a replica, lower the count, or use patroni_synchronous_mode: on if availability matters more`,
      );
    }
  }
};
