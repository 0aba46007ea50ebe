import { describe, expect, it } from 'vitest';
import { clusterWideVariables } from '../../../src/config/rules/variables.js';
import { synchronousReplication } from '../../../src/config/rules/synchronous.js';
import { baseConfig, problems, run, withInstanceVars } from './helpers.js';

describe('synchronousReplication', () => {
  const rule = synchronousReplication;

  it('is quiet when off, and for on or strict with fewer synchronous standbys than replicas', () => {
    expect(problems(rule, baseConfig())).toEqual([]);
    for (const mode of ['on', 'strict']) {
      const c = baseConfig();
      c.cluster_vars.patroni_synchronous_mode = mode;
      expect(problems(rule, c)).toEqual([]);
    }
    const on = baseConfig();
    on.cluster_vars.patroni_synchronous_mode = 'on';
    on.cluster_vars.patroni_synchronous_node_count = 2;
    expect(problems(rule, on)).toEqual([]);
  });

  it('refuses a node count above the replicas, at the line that sets it', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_synchronous_mode = 'on';
    c.cluster_vars.patroni_synchronous_node_count = 3;
    const { errors } = run(rule, c);
    expect(errors).toEqual([
      expect.stringMatching(
        /^config\.yml:\d+: cluster_vars\.patroni_synchronous_node_count: patroni_synchronous_node_count is 3, but the cluster has 2 replicas that can be synchronous standbys; set it to at most 2/,
      ),
    ]);
  });

  it('warns when strict needs every replica for each commit', () => {
    const c = baseConfig();
    c.instance_defaults.vars = { patroni_synchronous_mode: 'strict', patroni_synchronous_node_count: 2 };
    expect(problems(rule, c)).toEqual([
      expect.stringMatching(
        /^W instance_defaults\.vars\.patroni_synchronous_node_count: strict synchronous replication with patroni_synchronous_node_count 2 needs every replica \(2\)/,
      ),
    ]);
  });

  it('refuses strict on a single data node and warns about on there', () => {
    const single = () => {
      const c = baseConfig();
      c.instances = [c.instances[0]!, c.instances[3]!];
      return c;
    };
    const strict = single();
    strict.cluster_vars.patroni_synchronous_mode = 'strict';
    expect(problems(rule, strict)).toEqual([
      expect.stringMatching(
        /^E cluster_vars\.patroni_synchronous_mode: strict synchronous replication on a cluster with a single data node/,
      ),
    ]);
    const on = single();
    on.cluster_vars.patroni_synchronous_mode = 'on';
    expect(problems(rule, on)).toEqual([
      expect.stringMatching(
        /^W cluster_vars\.patroni_synchronous_mode: synchronous replication on a cluster with a single data node has no standby/,
      ),
    ]);
  });

  it('-e is blamed as -e', () => {
    expect(problems(rule, baseConfig(), { patroni_synchronous_mode: 'on', patroni_synchronous_node_count: 5 })).toEqual([
      expect.stringMatching(/^E -e patroni_synchronous_node_count: patroni_synchronous_node_count is 5/),
    ]);
  });
});

describe('synchronous replication is cluster-wide', () => {
  it('refuses a per-instance mode or count that differs from the others', () => {
    const c = withInstanceVars(baseConfig(), 1, { patroni_synchronous_mode: 'strict' });
    expect(problems(clusterWideVariables, c)).toEqual([
      'E instances[1].vars.patroni_synchronous_mode: must be the same on every host (here "strict", elsewhere "off"); set it once in cluster_vars or instance_defaults.vars',
    ]);
    const n = withInstanceVars(baseConfig(), 2, { patroni_synchronous_node_count: 2 });
    expect(problems(clusterWideVariables, n)).toEqual([
      'E instances[2].vars.patroni_synchronous_node_count: must be the same on every host (here 2, elsewhere 1); set it once in cluster_vars or instance_defaults.vars',
    ]);
  });
});
