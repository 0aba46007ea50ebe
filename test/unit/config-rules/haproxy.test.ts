import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { lagWithoutReadOnly, readOnlyWithoutReplicas, syncReadWithoutSynchronous } from '../../../src/config/rules/haproxy.js';
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

describe('syncReadWithoutSynchronous', () => {
  const rule = eachHost(syncReadWithoutSynchronous);

  it('is quiet without the port, or with synchronous replication on', () => {
    expect(problems(rule, baseConfig())).toEqual([]);
    const c = baseConfig();
    c.cluster_vars.haproxy_sync_read_port = 5434;
    c.cluster_vars.patroni_synchronous_mode = 'strict';
    expect(problems(rule, c)).toEqual([]);
  });

  it('warns where the port is set while synchronous replication is off', () => {
    const c = withInstanceVars(baseConfig(), 3, { haproxy_sync_read_port: 5434 });
    expect(problems(rule, c)).toEqual([
      'W instances[3].vars.haproxy_sync_read_port: the synchronous-standby read frontend has no server to send reads to while patroni_synchronous_mode is off (Patroni answers /sync only on a synchronous standby); set patroni_synchronous_mode: on, or remove haproxy_sync_read_port',
    ]);
  });
});
