/**
 * A small context for testing one semantic rule of config.yml on its own: a config written out
 * as YAML (so problems get real line numbers), the rule run alone, its problems as text.
 */
import { stringify } from 'yaml';
import { parseConfigText } from '../../../src/config/load.js';
import { createContext, type Rule, type RuleContext } from '../../../src/config/rules/context.js';
import { formatProblem } from '../../../src/errors.js';
import type { ClusterConfig, InstanceConfig, Role, Vars } from '../../../src/model/types.js';

/** Three data nodes with etcd co-located and one HAProxy, secured as `pgha configure` writes it. */
export function baseConfig(): ClusterConfig {
  const inst = (n: number, role: Role[]): InstanceConfig => ({
    Name: `pg${n}`,
    node: n,
    location: 'main',
    role,
    ip_address: `10.33.0.1${n}`,
  });
  return {
    architecture: 'M1',
    cluster_name: 'c',
    cluster_vars: {
      // A Debian 12 cluster, written out as `configure --os-version 12` does.
      os_version: 12,
      postgres_version: 15,
      patroni_ssl_enabled: true,
      etcd_ssl_enabled: true,
      etcd_authentication_mode: 'basic',
      patroni_authentication_mode: 'basic',
    },
    locations: [{ Name: 'main' }],
    instance_defaults: { platform: 'nspawn', vars: {} },
    instances: [
      inst(1, ['primary', 'etcd']),
      inst(2, ['replica', 'etcd']),
      inst(3, ['replica', 'etcd']),
      { Name: 'proxy1', node: 4, location: 'main', role: ['haproxy'], ip_address: '10.33.0.14' },
    ],
  };
}

/** The base cluster with PgBouncer on the data nodes instead of HAProxy. */
export function pgbouncerConfig(): ClusterConfig {
  const c = baseConfig();
  c.instances = c.instances.slice(0, 3).map((i) => ({ ...i, role: [...i.role, 'pgbouncer'] }));
  return c;
}

/** A context over `config` as if read from config.yml, with `extraVars` as `-e`. */
export function contextOf(config: ClusterConfig, extraVars: Vars = {}): RuleContext {
  const doc = parseConfigText(stringify(config), 'config.yml');
  return createContext(doc.raw as ClusterConfig, doc, extraVars);
}

/** Run `rule` alone: its errors and warnings as `pgha` prints them (`config.yml:LINE: path: message`). */
export function run(rule: Rule, config: ClusterConfig, extraVars: Vars = {}): { errors: string[]; warnings: string[] } {
  const ctx = contextOf(config, extraVars);
  rule(ctx);
  const { errors, warnings } = ctx.result();
  return { errors: errors.map(formatProblem), warnings: warnings.map(formatProblem) };
}

/** Strip `config.yml:LINE: ` so an assertion names the path and message only; `-e` stays. */
export const withoutLine = (s: string): string => (s.startsWith('-e: ') ? `-e ${s.slice(4)}` : s.replace(/^config\.yml(:\d+)?: /, ''));

/** Run `rule` and return its problems without lines, errors then warnings, each tagged. */
export function problems(rule: Rule, config: ClusterConfig, extraVars: Vars = {}): string[] {
  const { errors, warnings } = run(rule, config, extraVars);
  return [...errors.map((e) => `E ${withoutLine(e)}`), ...warnings.map((w) => `W ${withoutLine(w)}`)];
}

/** Set `vars` on instance `i` (merged with what it has). */
export function withInstanceVars(c: ClusterConfig, i: number, vars: Vars): ClusterConfig {
  const inst = c.instances[i];
  if (inst) inst.vars = { ...inst.vars, ...vars };
  return c;
}
