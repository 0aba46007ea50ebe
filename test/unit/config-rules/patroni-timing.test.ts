import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { dcsTiming, patroniTiming } from '../../../src/config/rules/patroni-timing.js';
import { baseConfig, contextOf, problems, withInstanceVars } from './helpers.js';

const rule = eachHost(patroniTiming);
const tail = (need: number) =>
  `the leader key could expire while a healthy primary is still retrying etcd, causing a needless failover; raise ttl to at least ${need} or lower loop_wait/retry_timeout`;

describe('dcsTiming', () => {
  it("is pgha's DCS defaults (Patroni's timing), and Patroni's own for a key the settings null", () => {
    const ctx = contextOf(baseConfig());
    expect(dcsTiming(ctx.resolved.hosts[0]!)).toEqual({ ttl: 30, loopWait: 10, retry: 10 });
    const c = baseConfig();
    c.cluster_vars.patroni_dynamic_conf_settings = { loop_wait: null };
    expect(dcsTiming(contextOf(c).resolved.hosts[0]!)).toEqual({ ttl: 30, loopWait: 10, retry: 10 });
  });
});

describe('patroniTiming', () => {
  it('accepts the defaults and loop_wait + 2 × retry_timeout = ttl', () => {
    expect(problems(rule, baseConfig())).toEqual([]);
    const c = baseConfig();
    c.cluster_vars.patroni_dynamic_conf_settings = { ttl: 40, loop_wait: 10, retry_timeout: 15 };
    expect(problems(rule, c)).toEqual([]);
  });

  it('refuses a ttl too short, once for the data nodes', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_dynamic_conf_settings = { ttl: 20 };
    expect(problems(rule, c)).toEqual([
      `E cluster_vars.patroni_dynamic_conf_settings.ttl: loop_wait (10) + 2 × retry_timeout (10) = 30 exceeds ttl (20): ${tail(30)}`,
    ]);
  });

  it('blames the first timing key a layer sets, dynamic before bootstrap', () => {
    const c = withInstanceVars(baseConfig(), 0, { patroni_conf_settings: { bootstrap: { dcs: { loop_wait: 25 } } } });
    expect(problems(rule, c)).toEqual([
      `E instances[0].vars.patroni_conf_settings.bootstrap.dcs.loop_wait: loop_wait (25) + 2 × retry_timeout (10) = 45 exceeds ttl (30): ${tail(45)}`,
    ]);
  });
});
