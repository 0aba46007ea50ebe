import { describe, expect, it } from 'vitest';
import { eachInstance } from '../../../src/config/rules/context.js';
import { semanticProblems } from '../../../src/config/rules/index.js';
import { someCandidateDirect, upstreamChainCanLead, upstreamNamesDataNode, upstreamNoCycle } from '../../../src/config/rules/upstream.js';
import type { ClusterConfig } from '../../../src/model/types.js';
import { baseConfig, contextOf, problems, run, withInstanceVars } from './helpers.js';

/** The base cluster (pg1 primary, pg2 and pg3 replicas, proxy1) plus a fourth data node. */
function fourNodes(): ClusterConfig {
  const c = baseConfig();
  c.instances.push({ Name: 'pg4', node: 5, location: 'main', role: ['replica'], ip_address: '10.33.0.15' });
  return c;
}

function upstream(c: ClusterConfig, i: number, name: string): ClusterConfig {
  const inst = c.instances[i];
  if (inst) inst.upstream = name;
  return c;
}

const NOFAILOVER = { patroni_conf_settings: { tags: { nofailover: true } } };

describe('upstreamNamesDataNode', () => {
  const rule = eachInstance(upstreamNamesDataNode);

  it('is quiet for a replica streaming from another replica, or from the primary', () => {
    expect(problems(rule, upstream(baseConfig(), 2, 'pg2'))).toEqual([]);
    expect(problems(rule, upstream(baseConfig(), 2, 'pg1'))).toEqual([]);
    expect(problems(rule, baseConfig())).toEqual([]);
  });

  it('refuses a name no instance has, at the instance key, with its line', () => {
    const { errors } = run(rule, upstream(baseConfig(), 2, 'pg9'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^config\.yml:\d+: instances\[2\]\.upstream: upstream "pg9" names no instance of this config\.yml; name a data node \(role primary or replica\), or remove upstream$/,
    );
  });

  it('refuses the instance itself', () => {
    expect(problems(rule, upstream(baseConfig(), 2, 'pg3'))).toEqual([
      'E instances[2].upstream: pg3 cannot stream from itself; name another data node, or remove upstream to stream from the leader',
    ]);
  });

  it('refuses a host that runs no PostgreSQL', () => {
    expect(problems(rule, upstream(baseConfig(), 2, 'proxy1'))).toEqual([
      'E instances[2].upstream: upstream "proxy1" names instances[3], which is not a data node (no role primary or replica) and runs no PostgreSQL; name a data node, or remove upstream',
    ]);
  });

  it('refuses upstream on a host that is not a data node', () => {
    expect(problems(rule, upstream(baseConfig(), 3, 'pg1'))).toEqual([
      'E instances[3].upstream: only a data node (role primary or replica) streams from an upstream; remove upstream from proxy1',
    ]);
  });
});

describe('upstreamNoCycle', () => {
  it('is quiet for a chain', () => {
    expect(problems(upstreamNoCycle, upstream(upstream(fourNodes(), 3, 'pg3'), 2, 'pg2'))).toEqual([]);
  });

  it('refuses a → b → a once, at the first instance of the cycle', () => {
    const c = upstream(upstream(baseConfig(), 1, 'pg3'), 2, 'pg2');
    expect(problems(upstreamNoCycle, c)).toEqual([
      'E instances[1].upstream: upstream makes a cycle (pg2 → pg3 → pg2): no member of it would stream from the leader; remove upstream from one of them',
    ]);
  });

  it('refuses a longer cycle, and names it from its first instance even when the chain enters it later', () => {
    // pg1 → pg4 → pg2 → pg3 → pg4: pg1 is outside the cycle.
    const c = upstream(upstream(upstream(upstream(fourNodes(), 0, 'pg4'), 4, 'pg2'), 1, 'pg3'), 2, 'pg4');
    expect(problems(upstreamNoCycle, c)).toEqual([
      'E instances[1].upstream: upstream makes a cycle (pg2 → pg3 → pg4 → pg2): no member of it would stream from the leader; remove upstream from one of them',
    ]);
  });

  it('leaves a bad name to upstreamNamesDataNode', () => {
    expect(problems(upstreamNoCycle, upstream(baseConfig(), 2, 'pg9'))).toEqual([]);
    expect(problems(upstreamNoCycle, upstream(baseConfig(), 2, 'pg3'))).toEqual([]);
  });
});

describe('upstreamChainCanLead', () => {
  const rule = eachInstance(upstreamChainCanLead);

  it('is quiet when the chain ends at a node that can lead', () => {
    expect(problems(rule, upstream(upstream(fourNodes(), 4, 'pg3'), 2, 'pg2'))).toEqual([]);
  });

  it('refuses a chain that ends at a node tagged nofailover, once, at the chain start', () => {
    const c = withInstanceVars(upstream(upstream(fourNodes(), 4, 'pg3'), 2, 'pg2'), 1, NOFAILOVER);
    expect(problems(rule, c)).toEqual([
      'E instances[4].upstream: upstream chain pg4 → pg3 → pg2 ends at pg2, which cannot lead (patroni_conf_settings tags it nofailover); end the chain at a data node that can lead, or remove nofailover from pg2',
    ]);
  });

  it('sees nofailover set in any layer, and leaves cycles to upstreamNoCycle', () => {
    const c = upstream(baseConfig(), 2, 'pg2');
    c.cluster_vars.patroni_conf_settings = { tags: { nofailover: true } };
    withInstanceVars(c, 2, { patroni_conf_settings: { tags: { nofailover: false } } });
    expect(problems(rule, c)).toHaveLength(1);
    expect(problems(rule, upstream(upstream(baseConfig(), 1, 'pg3'), 2, 'pg2'))).toEqual([]);
  });
});

describe('someCandidateDirect', () => {
  it('is quiet without upstream, and when some replica that can lead streams from the primary', () => {
    expect(problems(someCandidateDirect, baseConfig())).toEqual([]);
    expect(problems(someCandidateDirect, upstream(baseConfig(), 2, 'pg2'))).toEqual([]);
    expect(problems(someCandidateDirect, upstream(upstream(baseConfig(), 2, 'pg2'), 1, 'pg1'))).toEqual([]);
  });

  it('warns when every replica that can take over streams through another', () => {
    // pg3 → pg2 → pg1, pg2 never promoted: the only candidate, pg3, trails pg2.
    const c = withInstanceVars(upstream(upstream(baseConfig(), 2, 'pg2'), 1, 'pg1'), 1, NOFAILOVER);
    expect(problems(someCandidateDirect, c)).toEqual([
      'W instances[2].upstream: every replica that can take over from pg1 (pg3) is a cascading replica: a failover promotes one that trails its upstream; leave upstream off one of them',
    ]);
  });
});

describe('in RULES', () => {
  it('a valid cascading config has no problem; a bad one is refused with every problem', () => {
    const ok = upstream(upstream(fourNodes(), 4, 'pg3'), 2, 'pg2');
    const ctx = contextOf(ok);
    expect(semanticProblems(ctx.config, ctx.doc, {})).toEqual({ errors: [], warnings: [] });
    const bad = upstream(upstream(upstream(fourNodes(), 1, 'pg3'), 2, 'pg2'), 3, 'pg1');
    const b = contextOf(bad);
    expect(semanticProblems(b.config, b.doc, {}).errors.map((e) => e.path)).toEqual(['instances[3].upstream', 'instances[1].upstream']);
  });
});
