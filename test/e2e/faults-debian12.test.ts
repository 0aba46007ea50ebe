/**
 * The stalls of the faults suite (./faults-suite.ts) on Debian 12, with pgha's fixed Patroni
 * 3.0.2 build (issue 17; Debian's own 3.0.2-1 loses acknowledged writes here): a frozen leader, a
 * frozen etcd-only member and a partitioned leader under a writer through HAProxy. etcd runs on
 * three dedicated hosts here (on the data nodes in faults.test.ts, which runs every case on 13).
 */
import { faultsSuite } from './faults-suite.js';

faultsSuite({
  osVersion: 12,
  cluster: 'e2efault12',
  subnet: '10.242.1',
  suite: 'faults-debian12',
  patroniVersion: '3.0.2-1+pgha1',
  stallsOnly: true,
  // Dedicated etcd hosts, so a frozen etcd-only member is proven too.
  etcdNodes: 3,
});
