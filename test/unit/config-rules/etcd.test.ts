import { describe, expect, it } from 'vitest';
import { etcdQuorum, MAX_ETCD_MEMBERS } from '../../../src/config/rules/etcd.js';
import type { ClusterConfig } from '../../../src/model/types.js';
import { baseConfig, problems } from './helpers.js';

/** The base cluster (3 etcd members) with etcd-only members added up to `total`. */
function withEtcd(total: number): ClusterConfig {
  const c = baseConfig();
  for (let n = 3; n < total; n++) {
    c.instances.push({ Name: `etcd${n}`, node: 10 + n, location: 'main', role: ['etcd'], ip_address: `10.33.1.${n}` });
  }
  return c;
}

describe('etcdQuorum', () => {
  it.each([3, 5, 7])('accepts %i members', (n) => {
    expect(problems(etcdQuorum, withEtcd(n))).toEqual([]);
  });

  it('accepts a single member', () => {
    const c = baseConfig();
    for (const inst of c.instances.slice(1)) inst.role = inst.role.filter((r) => r !== 'etcd');
    expect(problems(etcdQuorum, c)).toEqual([]);
  });

  it('refuses none', () => {
    const c = baseConfig();
    c.instances.forEach((inst) => (inst.role = inst.role.filter((r) => r !== 'etcd')));
    expect(problems(etcdQuorum, c)).toEqual([
      'E instances: no instance has role etcd; Patroni keeps its state in etcd: give role etcd to 1, 3 or 5 instances',
    ]);
  });

  it('warns about an even number, naming the members (a step of a membership change, one member at a time)', () => {
    expect(problems(etcdQuorum, withEtcd(4))).toEqual([
      'W instances: 4 instances have role etcd (pg1, pg2, pg3, etcd3); an even number tolerates no more failures than 3 (a majority of 4 is 3): fine on the way from one odd number to the next, one member per deploy, but settle on 3 or 5',
    ]);
  });

  it(`refuses more than ${MAX_ETCD_MEMBERS}, even or odd`, () => {
    const tail = `etcd supports at most ${MAX_ETCD_MEMBERS} members (every write waits for a majority, so more members only slow it down): keep role etcd on 3 or 5 instances and remove it from the others`;
    expect(problems(etcdQuorum, withEtcd(8))).toEqual([`E instances: 8 instances have role etcd; ${tail}`]);
    expect(problems(etcdQuorum, withEtcd(9))).toEqual([`E instances: 9 instances have role etcd; ${tail}`]);
  });
});
