/**
 * Build a new config.yml (TPA vocabulary) from `pgha configure` options and what the chosen
 * platform says about configuring (`Platform.configure` in src/platforms/, passed in as data). Pure.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { RELEASES, releaseName, type OsName, type OsVersion } from '../model/releases.js';
import type { ClusterConfig, InstanceConfig, Platform, PlatformConfigureRules, Role, Vars } from '../model/types.js';

export interface ConfigureOptions {
  clusterName: string;
  architecture: string;
  enablePatroni: boolean;
  enableHaproxy: boolean;
  enablePgbouncer: boolean;
  /** `--enable-pgbackrest`: one repository host, named by every data node's `backup`. */
  enablePgbackrest: boolean;
  /** `--enable-monitoring`: one monitoring-server host (Prometheus, Alertmanager); exporters on every host. */
  enableMonitoring: boolean;
  /** `--postgresql`; unset: the major the release ships. */
  postgresVersion?: number | undefined;
  /** `--os` and `--os-version` (TPA's flags), written into cluster_vars. */
  os: OsName;
  osVersion: OsVersion;
  patroniPackageFlavour: 'community' | 'edb';
  platform: Platform;
  /** `name ip` pairs (`--hostnames-from`), for a platform whose hosts are listed (bare). */
  hostnames?: { name: string; ip: string }[];
  dataNodes: number;
  etcdNodes: number;
  subnet?: string;
}

/** A /24 in 10.0.0.0/8 derived from the cluster name, so two clusters rarely collide. */
export function defaultSubnet(clusterName: string): string {
  const h = createHash('sha256').update(clusterName).digest();
  // Avoid 10.0.x and 10.255.x, which are popular for hand-made networks.
  return `10.${1 + ((h[0] ?? 0) % 254)}.${h[1] ?? 0}.0/24`;
}

export function parseCidr24(cidr: string): { base: [number, number, number]; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  if (!m || octets.some((o) => o > 255) || Number(m[5]) !== 24 || octets[3] !== 0) {
    throw new UsageError(`--subnet ${cidr}: must be an IPv4 /24 network such as 10.23.7.0/24`);
  }
  return { base: [octets[0]!, octets[1]!, octets[2]!], prefix: 24 };
}

export function parseHostnamesFile(text: string, file: string): { name: string; ip: string }[] {
  const out: { name: string; ip: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [name, ip, ...rest] = line.split(/\s+/);
    if (!name || !ip || rest.length || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || !/^[a-z][a-z0-9-]*$/.test(name)) {
      throw new UsageError(`${file}:${i + 1}: expected "name ip" (e.g. "pg1 192.168.10.11"), got "${line}"`);
    }
    out.push({ name, ip });
  });
  return out;
}

/** The most data nodes `configure` puts an etcd member on (an odd number). */
export const MAX_COLOCATED_ETCD = 5;

export const SECURE_CLUSTER_VARS: Readonly<Vars> = Object.freeze({
  patroni_ssl_enabled: true,
  etcd_ssl_enabled: true,
  // Patroni 3.0 cannot use etcd RBAC with client certificates alone (docs/architecture.md#security-invariants).
  etcd_authentication_mode: 'basic',
  patroni_authentication_mode: 'basic',
});

export function buildConfig(o: ConfigureOptions, rules: PlatformConfigureRules): ClusterConfig {
  if (o.architecture !== 'M1') throw new UsageError(`-a ${o.architecture}: only M1 is supported`);
  if (!o.enablePatroni) {
    throw new UsageError('--enable-patroni is required: M1 clusters built by pgha are managed by Patroni');
  }
  if (o.enableHaproxy && o.enablePgbouncer) {
    throw new UsageError('--enable-haproxy and --enable-pgbouncer cannot be combined: choose one way for clients to reach the primary');
  }
  const release = RELEASES[o.osVersion];
  if (o.postgresVersion !== undefined && !release.postgresShipped.includes(o.postgresVersion)) {
    throw new UsageError(
      `--postgresql ${o.postgresVersion}: ${releaseName(release)} ships PostgreSQL ${release.postgresShipped.join(', ')} only`,
      { hint: `omit --postgresql for ${release.postgresDefault}, or choose another --os-version` },
    );
  }
  if (!Number.isInteger(o.dataNodes) || o.dataNodes < 1 || o.dataNodes > 50) {
    throw new UsageError(`--data-nodes ${o.dataNodes}: must be an integer from 1 to 50`);
  }
  if (!Number.isInteger(o.etcdNodes) || o.etcdNodes < 0 || o.etcdNodes > 7 || (o.etcdNodes > 0 && o.etcdNodes % 2 === 0)) {
    throw new UsageError(`--etcd-nodes ${o.etcdNodes}: must be 0 (etcd on the data nodes) or an odd number up to 7 such as 3`);
  }
  // etcd on every one of many data nodes would make a huge, slow etcd: 5 members already
  // survive 2 failures, so co-located etcd stops at the first 5 data nodes.
  const colocatedEtcd = o.etcdNodes === 0 ? Math.min(o.dataNodes, MAX_COLOCATED_ETCD) : 0;
  if (o.etcdNodes === 0 && colocatedEtcd % 2 === 0) {
    throw new UsageError(
      `--data-nodes ${o.dataNodes} with etcd on the data nodes gives an even etcd cluster: use an odd number of data nodes or --etcd-nodes 3`,
    );
  }

  const wanted: { name: string; roles: Role[] }[] = [];
  for (let i = 1; i <= o.dataNodes; i++) {
    const roles: Role[] = [i === 1 ? 'primary' : 'replica'];
    if (i <= colocatedEtcd) roles.push('etcd');
    if (o.enablePgbouncer) roles.push('pgbouncer');
    wanted.push({ name: `pg${i}`, roles });
  }
  for (let i = 1; i <= o.etcdNodes; i++) wanted.push({ name: `etcd${i}`, roles: ['etcd'] });
  if (o.enableHaproxy) wanted.push({ name: 'proxy1', roles: ['haproxy'] });
  if (o.enablePgbackrest) wanted.push({ name: 'backup1', roles: ['pgbackrest'] });
  if (o.enableMonitoring) wanted.push({ name: 'monitor1', roles: ['monitoring-server'] });
  // TPA's default of two proxies, so the entry point survives one host. The second comes last so
  // that adding it moved no other host's address.
  if (o.enableHaproxy) wanted.push({ name: 'proxy2', roles: ['haproxy'] });

  let addresses: { name: string; ip: string }[];
  let vip: Vars = {};
  if (rules.hostAddresses === 'listed') {
    const given = o.hostnames;
    if (!given) throw new UsageError(`--platform ${o.platform} needs --hostnames-from FILE (lines "name ip")`);
    if (given.length < wanted.length) {
      throw new UsageError(
        `--hostnames-from lists ${given.length} hosts, but this cluster needs ${wanted.length} (${wanted.map((w) => w.roles.join('+')).join(', ')})`,
      );
    }
    addresses = given.slice(0, wanted.length);
  } else {
    const { base } = parseCidr24(o.subnet ?? defaultSubnet(o.clusterName));
    addresses = wanted.map((w, i) => ({ name: w.name, ip: `${base.join('.')}.${11 + i}` }));
    // The VIP at the top of the subnet, far above the hosts (at most 50 data nodes, 7 etcd).
    if (o.enableHaproxy && rules.vipInterface) vip = { vip_address: `${base.join('.')}.250`, vip_interface: rules.vipInterface };
  }

  const instances: InstanceConfig[] = wanted.map((w, i) => ({
    Name: addresses[i]!.name,
    node: i + 1,
    location: 'main',
    role: w.roles,
    ip_address: addresses[i]!.ip,
  }));
  // TPA's way: each data node names the host keeping its backups (listed hosts keep their own names).
  const repository = instances.find((inst) => inst.role.includes('pgbackrest'));
  if (repository) {
    for (const inst of instances) if (inst.role.includes('primary') || inst.role.includes('replica')) inst.backup = repository.Name;
  }
  const clusterVars: Vars = {
    ...SECURE_CLUSTER_VARS,
    os: o.os,
    os_version: o.osVersion,
    // Written out, so the file says what runs; without --postgresql, the major the release ships.
    postgres_version: o.postgresVersion ?? release.postgresDefault,
    patroni_package_flavour: o.patroniPackageFlavour,
    ...rules.clusterVars,
    ...vip,
  };
  return {
    architecture: 'M1',
    cluster_name: o.clusterName,
    cluster_vars: clusterVars,
    locations: [{ Name: 'main' }],
    instance_defaults: { platform: o.platform, vars: {} },
    instances,
  };
}
