/**
 * The faults suite (./faults-suite.ts) on Debian 13, the default release, whose Patroni 4.0.7
 * carries the leader-key fix itself (issue 17): every case, proven on this release rather than
 * assumed.
 */
import { faultsSuite } from './faults-suite.js';

faultsSuite({
  osVersion: 13,
  cluster: 'e2efault',
  subnet: '10.237.1',
  suite: 'faults',
  patroniVersion: '4.0.7-3~deb13u1+pgha1',
  stallsOnly: false,
});
