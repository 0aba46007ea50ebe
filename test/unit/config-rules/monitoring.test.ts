import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { prometheusRulesValid, ruleProblem } from '../../../src/config/rules/monitoring.js';
import type { ClusterConfig } from '../../../src/model/types.js';
import { baseConfig, problems, run } from './helpers.js';

/** The base cluster plus a monitoring host. */
function monitored(): ClusterConfig {
  const c = baseConfig();
  c.instances.push({ Name: 'monitor1', node: 5, location: 'main', role: ['monitoring-server'], ip_address: '10.33.0.15' });
  return c;
}

describe('prometheusRulesValid', () => {
  const rule = eachHost(prometheusRulesValid);

  it("is quiet with pgha's rules, an override, a removal and a complete new rule, and without a monitoring host", () => {
    const c = monitored();
    c.cluster_vars.prometheus_rules_settings = {
      PatroniPendingRestart: { for: '2h', labels: { severity: 'info' } },
      PatroniMultipleLeaders: null,
      DiskAlmostFull: { expr: 'node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1', for: '10m' },
    };
    expect(problems(rule, c)).toEqual([]);
    const plain = baseConfig();
    plain.cluster_vars.prometheus_rules_settings = { Broken: { for: 'soon' } };
    expect(problems(rule, plain)).toEqual([]);
  });

  it('refuses a new rule without expr and a for that is no duration, at the setting, with its line', () => {
    const c = monitored();
    c.cluster_vars.prometheus_rules_settings = { Mine: { for: '5m' }, PatroniMemberDown: { for: 'soon' } };
    const { errors } = run(rule, c);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(
      /^config\.yml:\d+: cluster_vars\.prometheus_rules_settings\.PatroniMemberDown: alert rule PatroniMemberDown has for "soon", not a Prometheus duration/,
    );
    expect(errors[1]).toMatch(
      /cluster_vars\.prometheus_rules_settings\.Mine: alert rule Mine has no expr .*set it to null to remove the rule$/,
    );
  });

  it('names what Prometheus would refuse', () => {
    expect(ruleProblem({ expr: 'up == 0' })).toBeUndefined();
    expect(ruleProblem({ expr: 'up == 0', labels: { severity: 3 } })).toMatch(/labels that are not a map of strings/);
    expect(ruleProblem({ expr: ' ' })).toMatch(/has no expr/);
  });
});
