/** Rules about locations and instances as written: what must be unique, what must exist, usable addresses. */
import type { InstanceRule, Rule } from './context.js';
import { didYouMean } from './suggest.js';

/** A location listed twice is almost always a copy-paste slip; the second one is blamed. */
export const uniqueLocations: Rule = (ctx) => {
  const first = new Map<string, number>();
  ctx.config.locations.forEach((l, i) => {
    const seen = first.get(l.Name);
    if (seen !== undefined) ctx.error(['locations', i, 'Name'], `"${l.Name}" is already locations[${seen}]; list each location once`);
    else first.set(l.Name, i);
  });
};

/** The Name is how pgha, Patroni and etcd tell members apart; two alike would be one member. */
export const uniqueName: InstanceRule = (ctx, i) => {
  const instances = ctx.config.instances;
  const inst = instances[i];
  if (!inst) return;
  const first = instances.findIndex((x) => x.Name === inst.Name);
  if (first < i) {
    ctx.error(['instances', i, 'Name'], `"${inst.Name}" is already the Name of instances[${first}]; every instance needs its own Name`);
  }
};

/** Two instances on one address would be one host deployed twice, with clashing ports. */
export const uniqueIp: InstanceRule = (ctx, i) => {
  const instances = ctx.config.instances;
  const inst = instances[i];
  if (!inst) return;
  const first = instances.findIndex((x) => x.ip_address === inst.ip_address);
  if (first < i) {
    ctx.error(
      ['instances', i, 'ip_address'],
      `${inst.ip_address} is already the ip_address of instances[${first}] ("${instances[first]?.Name}"); every instance needs its own address`,
    );
  }
};

/** The node number identifies an instance as much as its Name does. */
export const uniqueNode: InstanceRule = (ctx, i) => {
  const instances = ctx.config.instances;
  const inst = instances[i];
  if (!inst) return;
  const first = instances.findIndex((x) => x.node === inst.node);
  if (first < i) {
    ctx.error(
      ['instances', i, 'node'],
      `node ${inst.node} is already used by instances[${first}] ("${instances[first]?.Name}"); give every instance its own node number`,
    );
  }
};

/** An instance's location must be one of `locations`; a near miss is probably a typo. */
export const knownLocation: InstanceRule = (ctx, i) => {
  const inst = ctx.config.instances[i];
  if (!inst) return;
  // Distinct names in first-listed order, as the suggestion lists them.
  const known = [...new Set(ctx.config.locations.map((l) => l.Name))];
  if (known.includes(inst.location)) return;
  const guess = didYouMean(inst.location, known);
  const fix = guess ? `did you mean "${guess}"? Otherwise add` : `use one of ${known.join(', ')}, or add`;
  ctx.error(['instances', i, 'location'], `"${inst.location}" is not one of locations; ${fix} {Name: ${inst.location}} to locations`);
};

/** Why a well-formed IPv4 address cannot be a cluster member's address, if it cannot. */
export function ipProblem(ip: string): string | undefined {
  const octets = ip.split('.').map(Number);
  const [a, b, c, d] = octets;
  if (a === undefined || b === undefined || c === undefined || d === undefined) return undefined;
  const fix = "use the host's own address on the network the cluster members share";
  if (a === 0) return `${ip} is in 0.0.0.0/8 ("this network"), not a host address; ${fix}`;
  if (a === 127) return `${ip} is a loopback address, which other hosts cannot reach; ${fix}`;
  if (a === 255 && b === 255 && c === 255 && d === 255) return `${ip} is the broadcast address; ${fix}`;
  if (a >= 224 && a <= 239) return `${ip} is a multicast address; ${fix}`;
  if (a >= 240) return `${ip} is in the reserved range 240.0.0.0/4; ${fix}`;
  return undefined;
}

/** The schema checks the address's shape; whether other members can reach it is checked here. */
export const usableIp: InstanceRule = (ctx, i) => {
  const inst = ctx.config.instances[i];
  const why = inst && ipProblem(inst.ip_address);
  if (why) ctx.error(['instances', i, 'ip_address'], why);
};
