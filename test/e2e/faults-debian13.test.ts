/**
 * The stalls of the faults suite (./faults-suite.ts) on Debian 13, whose Patroni 4.0.7 carries
 * the leader-key fix itself (issue 17): a frozen leader, a frozen replica, a frozen etcd-only
 * member and a partitioned leader under a writer through HAProxy, proven on this release rather
 * than assumed. etcd runs on three dedicated hosts here (on the data nodes in faults.test.ts).
 */
import { faultsSuite } from './faults-suite.js';

faultsSuite({
  osVersion: 13,
  cluster: 'e2efault13',
  subnet: '10.242.1',
  suite: 'faults-debian13',
  patroniVersion: '4.0.7-3~deb13u1',
  stallsOnly: true,
  // Dedicated etcd hosts, so a frozen etcd-only member is proven too.
  etcdNodes: 3,
});
