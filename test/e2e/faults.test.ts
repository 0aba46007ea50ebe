/** The faults suite (./faults-suite.ts) on Debian 12 with pgha's fixed Patroni 3.0.2 build: every case. */
import { faultsSuite } from './faults-suite.js';

faultsSuite({
  osVersion: 12,
  cluster: 'e2efault',
  subnet: '10.237.1',
  suite: 'faults',
  patroniVersion: '3.0.2-1+pgha1',
  stallsOnly: false,
});
