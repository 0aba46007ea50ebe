import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../../src/config/load.js';
import { RULES, semanticProblems } from '../../../src/config/rules/index.js';
import { formatProblem } from '../../../src/errors.js';
import type { ClusterConfig, Vars } from '../../../src/model/types.js';
import { baseConfig, pgbouncerConfig } from './helpers.js';

function all(config: ClusterConfig, extraVars: Vars = {}): { errors: string[]; warnings: string[] } {
  const doc = parseConfigText(stringify(config), 'config.yml');
  const { errors, warnings } = semanticProblems(doc.raw as ClusterConfig, doc, extraVars);
  return { errors: errors.map(formatProblem), warnings: warnings.map(formatProblem) };
}

describe('semanticProblems', () => {
  it('runs every rule', () => {
    expect(RULES.length).toBe(24);
  });

  it('finds nothing in valid clusters', () => {
    expect(all(baseConfig())).toEqual({ errors: [], warnings: [] });
    expect(all(pgbouncerConfig())).toEqual({ errors: [], warnings: [] });
  });

  it('reports every rule’s problems, in rule order, per-host ones last', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_ssl_enabled = false;
    c.cluster_vars.patroni_authentication_mode = 'mtls';
    c.cluster_vars.postgres_prot = 1;
    c.instances[1]!.role = ['primary', 'etcd'];
    c.instances[3]!.vars = { patroni_repl_max_lag: 10 };
    expect(all(c)).toEqual({
      errors: [
        'config.yml:28: instances[1].role[0]: a second primary (instances[0] "pg1" is already primary); exactly one instance bootstraps the cluster: make this one a replica',
        'config.yml:9: cluster_vars.patroni_authentication_mode: mtls needs patroni_ssl_enabled: true (clients prove who they are with TLS certificates); set patroni_ssl_enabled: true, or use basic',
      ],
      warnings: [
        'config.yml:10: cluster_vars.postgres_prot: unknown variable, pgha ignores it; did you mean "postgres_port"?',
        'config.yml:45: instances[3].vars.patroni_repl_max_lag: has no effect unless haproxy_read_only_load_balancer_enabled is true; enable the read-only load balancer or remove it',
      ],
    });
  });
});
