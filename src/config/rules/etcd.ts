/** Rules about the etcd cluster Patroni keeps its state in. */
import type { Rule } from './context.js';

/** etcd's own advice: beyond 7 members every write waits on more peers and nothing is gained. */
export const MAX_ETCD_MEMBERS = 7;

/**
 * etcd needs a majority to write: at least one member, and not too many. An even number is a
 * warning, not an error: it tolerates no more failures than one member fewer, but etcd changes
 * its membership one member at a time, so growing from 3 to 5 or moving etcd to other hosts
 * passes through one.
 */
export const etcdQuorum: Rule = (ctx) => {
  const members = ctx.config.instances.filter((inst) => inst.role.includes('etcd')).map((inst) => inst.Name);
  if (members.length === 0) {
    ctx.error(['instances'], 'no instance has role etcd; Patroni keeps its state in etcd: give role etcd to 1, 3 or 5 instances');
  } else if (members.length > MAX_ETCD_MEMBERS) {
    ctx.error(
      ['instances'],
      `${members.length} instances have role etcd; etcd supports at most ${MAX_ETCD_MEMBERS} members (every write waits for a majority, so more members only slow it down): keep role etcd on 3 or 5 instances and remove it from the others`,
    );
  } else if (members.length % 2 === 0) {
    ctx.report(
      'warning',
      ctx.inDoc(['instances']),
      `${members.length} instances have role etcd (${members.join(', ')}); an even number tolerates no more failures than ${members.length - 1} (a majority of ${members.length} is ${Math.floor(members.length / 2) + 1}): fine on the way from one odd number to the next, one member per deploy, but settle on 3 or 5`,
    );
  }
};
