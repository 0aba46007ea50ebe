import { describe, expect, it } from 'vitest';
import { eachInstance } from '../../../src/config/rules/context.js';
import {
  haproxyOffDataNodes,
  haproxyOrPgbouncer,
  onePrimary,
  pgbouncerOnDataNodes,
  primaryAndReplica,
} from '../../../src/config/rules/roles.js';
import { baseConfig, pgbouncerConfig, problems } from './helpers.js';

const perInstance = eachInstance(primaryAndReplica, haproxyOffDataNodes, pgbouncerOnDataNodes);

describe('role combinations on one instance', () => {
  it('accept the base cluster and the pgbouncer one', () => {
    expect(problems(perInstance, baseConfig())).toEqual([]);
    expect(problems(perInstance, pgbouncerConfig())).toEqual([]);
  });

  it('primaryAndReplica blames whichever of the two comes later', () => {
    const c = baseConfig();
    c.instances[1]!.role = ['replica', 'etcd', 'primary'];
    expect(problems(perInstance, c)).toEqual([
      'E instances[1].role[2]: primary and replica exclude each other on one instance; keep one of them',
    ]);
  });

  it('haproxyOffDataNodes refuses haproxy beside PostgreSQL', () => {
    const c = baseConfig();
    c.instances[2]!.role = ['replica', 'haproxy'];
    expect(problems(perInstance, c)).toEqual([
      'E instances[2].role[1]: haproxy cannot share an instance with primary or replica in M1; give haproxy an instance of its own',
    ]);
  });

  it('pgbouncerOnDataNodes refuses pgbouncer without PostgreSQL', () => {
    const c = pgbouncerConfig();
    c.instances.push({ Name: 'pool', node: 9, location: 'main', role: ['etcd', 'pgbouncer'], ip_address: '10.33.0.19' });
    expect(problems(perInstance, c)).toEqual([
      'E instances[3].role[1]: pgbouncer runs only on data nodes (with primary or replica), in front of their PostgreSQL; add it to those instances instead',
    ]);
  });
});

describe('onePrimary', () => {
  it('accepts exactly one primary', () => {
    expect(problems(onePrimary, baseConfig())).toEqual([]);
  });

  it('refuses a cluster without one', () => {
    const c = baseConfig();
    c.instances[0]!.role = ['replica', 'etcd'];
    expect(problems(onePrimary, c)).toEqual([
      'E instances: no instance has role primary; give exactly one data node role primary (it bootstraps the cluster)',
    ]);
  });

  it('blames every primary after the first', () => {
    const c = baseConfig();
    c.instances[1]!.role = ['etcd', 'primary'];
    c.instances[2]!.role = ['primary'];
    const tail = 'exactly one instance bootstraps the cluster: make this one a replica';
    expect(problems(onePrimary, c)).toEqual([
      `E instances[1].role[1]: a second primary (instances[0] "pg1" is already primary); ${tail}`,
      `E instances[2].role[0]: a second primary (instances[0] "pg1" is already primary); ${tail}`,
    ]);
  });
});

describe('haproxyOrPgbouncer', () => {
  it('accepts either alone', () => {
    expect(problems(haproxyOrPgbouncer, baseConfig())).toEqual([]);
    expect(problems(haproxyOrPgbouncer, pgbouncerConfig())).toEqual([]);
  });

  it('blames the first pgbouncer, naming the first haproxy', () => {
    const c = pgbouncerConfig();
    c.instances.push({ Name: 'proxy1', node: 4, location: 'main', role: ['haproxy'], ip_address: '10.33.0.14' });
    expect(problems(haproxyOrPgbouncer, c)).toEqual([
      'E instances[0].role[2]: haproxy (instances[3]) and pgbouncer cannot be used in one cluster, as `pgha configure` refuses --enable-haproxy with --enable-pgbouncer; remove one of the two roles everywhere',
    ]);
  });
});
