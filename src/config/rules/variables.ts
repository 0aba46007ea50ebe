/** Rules about variables as such: names pgha knows, values that must agree, values that must exist. */
import { BUILTIN_DEFAULTS, KNOWN_VARIABLES } from '../../model/defaults.js';
import { isPlainObject } from '../../model/merge.js';
import type { HostRule, Rule } from './context.js';
import { didYouMean } from './suggest.js';

/**
 * Variables Patroni, etcd or bootstrap need identical on every member; a per-instance value
 * would split the cluster (other namespace, other users) or make deploys fight over /config.
 */
export const CLUSTER_WIDE = [
  'postgres_version',
  // PostgreSQL's roles and databases are the cluster's, not a host's.
  'postgres_users',
  'postgres_databases',
  'failover_manager',
  'patroni_dcs',
  'patroni_dcs_namespace',
  'patroni_dynamic_conf_settings',
  'patroni_super_user',
  'patroni_replication_user',
  'patroni_rewind_user',
  'patroni_restapi_user',
  'patroni_etcd_user',
  'patroni_authentication_mode',
  'patroni_ssl_enabled',
  'patroni_rewind_enabled',
  'failsafe_mode',
  'patroni_synchronous_mode',
  'patroni_synchronous_node_count',
  'etcd_ssl_enabled',
  'etcd_authentication_mode',
  'pgbouncer_auth_user',
  // One address, one VRRP instance: every proxy must agree on both.
  'vip_address',
  'keepalived_virtual_router_id',
] as const;

/** Variables with a default that rendering cannot do without (a null would unset them). */
export const REQUIRED_VARIABLES = ['etcd_authentication_mode', 'patroni_authentication_mode', 'patroni_dcs_namespace'] as const;

/** A misspelt variable is silently ignored by rendering: warn, suggesting the likely name. */
export const unknownVariables: Rule = (ctx) => {
  for (const [vars, loc] of ctx.varLayers) {
    if (!isPlainObject(vars)) continue;
    for (const name of Object.keys(vars)) {
      if (KNOWN_VARIABLES.has(name)) continue;
      const guess = didYouMean(name, KNOWN_VARIABLES);
      const fix = guess ? `did you mean "${guess}"?` : 'check the spelling, or remove it';
      ctx.report('warning', { ...loc, segments: [...loc.segments, name] }, `unknown variable, pgha ignores it; ${fix}`);
    }
  }
};

/** JSON with sorted keys, so equal maps compare equal whatever their key order. */
export function stableString(v: unknown): string {
  if (v === undefined) return 'unset';
  if (Array.isArray(v)) return `[${v.map(stableString).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableString(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * A CLUSTER_WIDE variable that resolves differently on some hosts: blamed on each instance's
 * own vars that set it to something other hosts do not have (layers above apply to all alike).
 */
export const clusterWideVariables: Rule = (ctx) => {
  const instances = ctx.config.instances;
  for (const name of CLUSTER_WIDE) {
    const values = ctx.resolved.hosts.map((h) => stableString(h.vars[name]));
    if (new Set(values).size < 2) continue;
    instances.forEach((inst, i) => {
      if (!isPlainObject(inst.vars) || !Object.hasOwn(inst.vars, name)) return;
      const here = values[i] ?? 'unset';
      const elsewhere = [...new Set(values.filter((v, k) => k !== i && v !== here))];
      if (elsewhere.length === 0) return;
      ctx.error(
        ['instances', i, 'vars', name],
        `must be the same on every host (here ${here}, elsewhere ${elsewhere.join(', ')}); set it once in cluster_vars or instance_defaults.vars`,
      );
    });
  }
};

/** Variables every file is built from: a null would leave them with no value at all. */
export const requiredVariables: HostRule = (ctx, host, i) => {
  for (const variable of REQUIRED_VARIABLES) {
    if (host.vars[variable] !== undefined) continue;
    ctx.perHost(
      'error',
      ctx.blame(i, [variable]),
      `unset ${variable}`,
      host.name,
      (hosts) =>
        `${variable} is unset (null), but ${hosts} need it; remove the null to get the default (${JSON.stringify(BUILTIN_DEFAULTS[variable])})`,
    );
  }
};
