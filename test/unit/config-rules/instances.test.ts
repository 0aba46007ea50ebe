import { describe, expect, it } from 'vitest';
import { eachInstance } from '../../../src/config/rules/context.js';
import {
  ipProblem,
  knownLocation,
  uniqueIp,
  uniqueLocations,
  uniqueName,
  uniqueNode,
  usableIp,
} from '../../../src/config/rules/instances.js';
import { baseConfig, problems } from './helpers.js';

describe('uniqueLocations', () => {
  it('accepts distinct locations', () => {
    const c = baseConfig();
    c.locations.push({ Name: 'dc2' });
    expect(problems(uniqueLocations, c)).toEqual([]);
  });

  it('blames every repeat, naming the first', () => {
    const c = baseConfig();
    c.locations.push({ Name: 'dc2' }, { Name: 'main' }, { Name: 'main' });
    expect(problems(uniqueLocations, c)).toEqual([
      'E locations[2].Name: "main" is already locations[0]; list each location once',
      'E locations[3].Name: "main" is already locations[0]; list each location once',
    ]);
  });
});

describe('uniqueName, uniqueIp, uniqueNode', () => {
  it('accept the base cluster', () => {
    expect(problems(eachInstance(uniqueName, uniqueIp, uniqueNode), baseConfig())).toEqual([]);
  });

  it('blame the later instance, naming the first one', () => {
    const c = baseConfig();
    c.instances[2] = { ...c.instances[2]!, Name: 'pg1', ip_address: '10.33.0.12', node: 1 };
    c.instances[3] = { ...c.instances[3]!, Name: 'pg1' };
    expect(problems(eachInstance(uniqueName, uniqueIp, uniqueNode), c)).toEqual([
      'E instances[2].Name: "pg1" is already the Name of instances[0]; every instance needs its own Name',
      'E instances[2].ip_address: 10.33.0.12 is already the ip_address of instances[1] ("pg2"); every instance needs its own address',
      'E instances[2].node: node 1 is already used by instances[0] ("pg1"); give every instance its own node number',
      'E instances[3].Name: "pg1" is already the Name of instances[0]; every instance needs its own Name',
    ]);
  });
});

describe('knownLocation', () => {
  it('accepts a listed location', () => {
    expect(problems(eachInstance(knownLocation), baseConfig())).toEqual([]);
  });

  it('suggests a near miss', () => {
    const c = baseConfig();
    c.instances[1]!.location = 'mian';
    expect(problems(eachInstance(knownLocation), c)).toEqual([
      'E instances[1].location: "mian" is not one of locations; did you mean "main"? Otherwise add {Name: mian} to locations',
    ]);
  });

  it('lists the locations (once each) when nothing is close', () => {
    const c = baseConfig();
    c.locations.push({ Name: 'dc2' }, { Name: 'main' });
    c.instances[0]!.location = 'elsewhere';
    expect(problems(eachInstance(knownLocation), c)).toEqual([
      'E instances[0].location: "elsewhere" is not one of locations; use one of main, dc2, or add {Name: elsewhere} to locations',
    ]);
  });
});

describe('usableIp', () => {
  it('accepts private addresses', () => {
    expect(problems(eachInstance(usableIp), baseConfig())).toEqual([]);
  });

  it('refuses an address other members cannot reach', () => {
    const c = baseConfig();
    c.instances[0]!.ip_address = '127.0.0.2';
    expect(problems(eachInstance(usableIp), c)).toEqual([
      "E instances[0].ip_address: 127.0.0.2 is a loopback address, which other hosts cannot reach; use the host's own address on the network the cluster members share",
    ]);
  });

  it.each([
    ['0.1.2.3', '0.1.2.3 is in 0.0.0.0/8 ("this network"), not a host address'],
    ['255.255.255.255', '255.255.255.255 is the broadcast address'],
    ['224.0.0.1', '224.0.0.1 is a multicast address'],
    ['239.255.255.255', '239.255.255.255 is a multicast address'],
    ['240.0.0.1', '240.0.0.1 is in the reserved range 240.0.0.0/4'],
    ['255.255.255.254', '255.255.255.254 is in the reserved range 240.0.0.0/4'],
  ])('ipProblem(%s)', (ip, why) => {
    expect(ipProblem(ip)).toBe(`${why}; use the host's own address on the network the cluster members share`);
  });

  it.each(['10.0.0.1', '192.168.1.1', '223.255.255.255', '1.2.3'])('ipProblem(%s) is none', (ip) => {
    expect(ipProblem(ip)).toBeUndefined();
  });
});
