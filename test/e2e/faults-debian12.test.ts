/**
 * Debian 12's part of the suite. Deployed on Debian's own Patroni 3.0.2-1 (issue 17: it loses
 * acknowledged writes when a frozen leader resumes), warned about by deploy, status and test, then
 * upgraded to pgha's fixed build under a writer; then the stalls of the faults suite
 * (./faults-suite.ts) with that build: a frozen leader, a
 * frozen etcd-only member and a partitioned leader under a writer through HAProxy. etcd runs on
 * three dedicated hosts here (on the data nodes in faults.test.ts, which runs every case on 13).
 */
import { faultsSuite } from './faults-suite.js';

faultsSuite({
  osVersion: 12,
  cluster: 'e2efault12',
  subnet: '10.242.1',
  suite: 'faults-debian12',
  patroniVersion: '3.0.2-1+pgha2',
  // Debian's own first: the warnings, then the roll of the fixed build onto the running cluster.
  rollFixFrom: '3.0.2-1',
  stallsOnly: true,
  // Dedicated etcd hosts, so a frozen etcd-only member is proven too.
  etcdNodes: 3,
});
