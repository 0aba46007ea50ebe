import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { lagWithoutReadOnly, readOnlyWithoutReplicas } from '../../../src/config/rules/haproxy.js';
import { baseConfig, pgbouncerConfig, problems, withInstanceVars } from './helpers.js';

describe('lagWithoutReadOnly', () => {
  const rule = eachHost(lagWithoutReadOnly);

  it('is quiet when the read-only load balancer uses the lag, or without haproxy', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_repl_max_lag = 1000;
    c.cluster_vars.haproxy_read_only_load_balancer_enabled = true;
    expect(problems(rule, c)).toEqual([]);
    const p = pgbouncerConfig();
    p.cluster_vars.patroni_repl_max_lag = 1000;
    expect(problems(rule, p)).toEqual([]);
  });

  it('warns where the lag is set', () => {
    const c = withInstanceVars(baseConfig(), 3, { patroni_repl_max_lag: 1000 });
    expect(problems(rule, c)).toEqual([
      'W instances[3].vars.patroni_repl_max_lag: has no effect unless haproxy_read_only_load_balancer_enabled is true; enable the read-only load balancer or remove it',
    ]);
  });
});

describe('readOnlyWithoutReplicas', () => {
  const rule = eachHost(readOnlyWithoutReplicas);

  it('is quiet with a replica', () => {
    const c = baseConfig();
    c.cluster_vars.haproxy_read_only_load_balancer_enabled = true;
    expect(problems(rule, c)).toEqual([]);
  });

  it('warns when no instance is a replica', () => {
    const c = baseConfig();
    c.instances = [c.instances[0]!, c.instances[3]!];
    c.instance_defaults.vars = { haproxy_read_only_load_balancer_enabled: true };
    expect(problems(rule, c)).toEqual([
      'W instance_defaults.vars.haproxy_read_only_load_balancer_enabled: the read-only load balancer has no replica to send reads to; add a replica or set haproxy_read_only_load_balancer_enabled: false',
    ]);
  });
});
