import { describe, expect, it } from 'vitest';
import { eachHost, eachInstance, hostList, isDataNode } from '../../../src/config/rules/context.js';
import { baseConfig, contextOf, withInstanceVars } from './helpers.js';

describe('sourceOf, blame, louder', () => {
  it('find the highest layer that sets a path, -e first', () => {
    const c = withInstanceVars(baseConfig(), 1, { postgres_port: 5433 });
    c.instance_defaults.vars = { postgres_port: 5434 };
    c.cluster_vars.postgres_port = 5435;
    const ctx = contextOf(c, { patroni_listen_port: 8009 });
    expect(ctx.sourceOf(1, ['postgres_port'])).toEqual({
      file: 'config.yml',
      segments: ['instances', 1, 'vars', 'postgres_port'],
      rank: 3,
    });
    expect(ctx.sourceOf(0, ['postgres_port'])).toEqual({
      file: 'config.yml',
      segments: ['instance_defaults', 'vars', 'postgres_port'],
      rank: 2,
    });
    expect(ctx.sourceOf(0, ['patroni_listen_port'])).toEqual({ file: '-e', segments: ['patroni_listen_port'], rank: 4 });
    expect(ctx.sourceOf(0, ['etcd_peer_port'])).toBeUndefined();
    expect(ctx.blame(0, ['etcd_peer_port'])).toEqual({ file: 'config.yml', segments: ['instances', 0], rank: 0 });
  });

  it('blame a parent that a layer replaces with a non-map', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_conf_settings = { bootstrap: { dcs: { ttl: 40 } } };
    withInstanceVars(c, 2, { patroni_conf_settings: { bootstrap: null } });
    const ctx = contextOf(c);
    expect(ctx.sourceOf(2, ['patroni_conf_settings', 'bootstrap', 'dcs', 'ttl'])?.segments).toEqual([
      'instances',
      2,
      'vars',
      'patroni_conf_settings',
      'bootstrap',
    ]);
    expect(ctx.sourceOf(1, ['patroni_conf_settings', 'bootstrap', 'dcs', 'ttl'])?.segments).toEqual([
      'cluster_vars',
      'patroni_conf_settings',
      'bootstrap',
      'dcs',
      'ttl',
    ]);
  });

  it('louder prefers the higher layer, the second path on a tie, the instance when neither is set', () => {
    const c = withInstanceVars(baseConfig(), 0, { postgres_port: 1 });
    c.cluster_vars.patroni_listen_port = 1;
    c.cluster_vars.etcd_client_port = 2;
    const ctx = contextOf(c);
    expect(ctx.louder(0, ['patroni_listen_port'], ['postgres_port']).segments).toEqual(['instances', 0, 'vars', 'postgres_port']);
    expect(ctx.louder(0, ['postgres_port'], ['patroni_listen_port']).segments).toEqual(['instances', 0, 'vars', 'postgres_port']);
    expect(ctx.louder(0, ['patroni_listen_port'], ['etcd_client_port']).segments).toEqual(['cluster_vars', 'etcd_client_port']);
    expect(ctx.louder(1, ['postgres_port'], ['etcd_peer_port']).segments).toEqual(['instances', 1]);
  });
});

describe('report, perHost, result', () => {
  it('locate problems by line in config.yml, and without a line for -e', () => {
    const ctx = contextOf(baseConfig());
    ctx.error(['cluster_name'], 'a');
    ctx.report('warning', { file: '-e', segments: ['x'], rank: 4 }, 'b');
    expect(ctx.result()).toEqual({
      errors: [{ file: 'config.yml', line: 2, path: 'cluster_name', message: 'a' }],
      warnings: [{ file: '-e', line: undefined, path: 'x', message: 'b' }],
    });
  });

  it('merge per-host problems by severity, place and key, after the direct ones, in first-report order', () => {
    const ctx = contextOf(baseConfig());
    const at = ctx.inDoc(['cluster_vars']);
    const render = (hosts: string) => `on ${hosts}`;
    ctx.perHost('error', at, 'k1', 'h1', render);
    ctx.perHost('warning', at, 'k1', 'h1', render);
    ctx.perHost('error', at, 'k2', 'h1', render);
    ctx.perHost('error', at, 'k1', 'h2', render);
    ctx.error(['instances'], 'direct');
    const { errors, warnings } = ctx.result();
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual(['instances: direct', 'cluster_vars: on h1, h2', 'cluster_vars: on h1']);
    expect(warnings.map((e) => `${e.path}: ${e.message}`)).toEqual(['cluster_vars: on h1']);
  });
});

describe('hostList', () => {
  it('names each host once, and past ten counts the rest', () => {
    expect(hostList(['pg1', 'pg1', 'pg2'])).toBe('pg1, pg2');
    const many = Array.from({ length: 496 }, (_, i) => `pg${i + 1}`);
    expect(hostList(many)).toBe('pg1, pg2, pg3, pg4, pg5, pg6, pg7, pg8, pg9, pg10 and 486 more');
    expect(hostList(many.slice(0, 10))).toBe(many.slice(0, 10).join(', '));
  });
});

describe('eachInstance, eachHost', () => {
  it('run every rule on one instance (host) before the next', () => {
    const seen: string[] = [];
    const ctx = contextOf(baseConfig());
    eachInstance(
      (_, i) => seen.push(`a${i}`),
      (_, i) => seen.push(`b${i}`),
    )(ctx);
    eachHost(
      (_, h) => seen.push(`c${h.name}`),
      (_, h, i) => seen.push(`d${i}`),
    )(ctx);
    expect(seen).toEqual([
      ...['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3'],
      ...['cpg1', 'd0', 'cpg2', 'd1', 'cpg3', 'd2', 'cproxy1', 'd3'],
    ]);
  });

  it('isDataNode: primary or replica', () => {
    expect(isDataNode(['replica'])).toBe(true);
    expect(isDataNode(['etcd', 'primary'])).toBe(true);
    expect(isDataNode(['etcd', 'haproxy', 'pgbouncer'])).toBe(false);
  });
});
