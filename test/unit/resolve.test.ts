import { describe, expect, it } from 'vitest';
import { explainVariable } from '../../src/app/explain.js';
import { parseExtraVars } from '../../src/config/extra-vars.js';
import { resolveCluster } from '../../src/model/resolve.js';
import type { ClusterConfig } from '../../src/model/types.js';
import { UsageError } from '../../src/errors.js';

function config(): ClusterConfig {
  return {
    architecture: 'M1',
    cluster_name: 'demo',
    cluster_vars: {
      patroni_conf_settings: { log: { level: 'DEBUG', dir: '/var/log/patroni' }, restapi: { request_queue_size: 10 } },
      patroni_restapi_allowlist_extra: ['10.9.9.9', '10.9.9.8'],
      haproxy_conf_settings: { defaults: { timeout: { client: '30m' } } },
    },
    locations: [{ Name: 'main' }],
    instance_defaults: { platform: 'nspawn', vars: { patroni_listen_port: 8010, patroni_restapi_allowlist_extra: ['10.1.1.1'] } },
    instances: [
      { Name: 'pg1', node: 1, location: 'main', role: ['primary', 'etcd'], ip_address: '10.0.0.11' },
      {
        Name: 'pg2',
        node: 2,
        location: 'main',
        role: ['replica', 'etcd'],
        ip_address: '10.0.0.12',
        vars: { patroni_listen_port: 8009, patroni_conf_settings: { log: { level: null }, restapi: { request_queue_size: null } } },
      },
      {
        Name: 'pg3',
        node: 3,
        location: 'main',
        role: ['replica', 'etcd'],
        ip_address: '10.0.0.13',
        vars: { patroni_rewind_enabled: null },
      },
    ],
  };
}

describe('resolveCluster layers', () => {
  const c = resolveCluster(config(), parseExtraVars(['haproxy_conf_settings={defaults: {timeout: {connect: 5s}}}']));
  const [pg1, pg2, pg3] = c.hosts;

  it('applies layers lowest first: builtin < instance_defaults < instance', () => {
    expect(pg1!.vars.patroni_listen_port).toBe(8010);
    expect(pg1!.provenance.get('patroni_listen_port')).toBe('instance_defaults');
    expect(pg2!.vars.patroni_listen_port).toBe(8009);
    expect(pg2!.provenance.get('patroni_listen_port')).toBe('instance');
    expect(pg1!.vars.patroni_dcs_namespace).toBe('/pgha');
    expect(pg1!.provenance.get('patroni_dcs_namespace')).toBe('builtin');
    expect(pg1!.provenance.get('failover_manager')).toBe('architecture');
  });

  it('replaces lists instead of merging them', () => {
    expect(pg1!.vars.patroni_restapi_allowlist_extra).toEqual(['10.1.1.1']);
  });

  it('merges maps deeply across layers, -e on top', () => {
    expect(pg1!.vars.haproxy_conf_settings).toEqual({ defaults: { timeout: { client: '30m', connect: '5s' } } });
    expect(pg1!.provenance.get('haproxy_conf_settings.defaults.timeout.connect')).toBe('-e');
  });

  it('keeps nested nulls as tombstones for the generated base, and unsets top-level nulls', () => {
    expect(pg2!.vars.patroni_conf_settings).toEqual({
      log: { level: null, dir: '/var/log/patroni' },
      restapi: { request_queue_size: null },
    });
    expect('patroni_rewind_enabled' in pg3!.vars).toBe(false);
  });

  it('derives paths from other variables', () => {
    expect(pg1!.vars.postgres_data_dir).toBe('/var/lib/postgresql/17/demo');
  });
});

describe('explain', () => {
  const c = resolveCluster(config(), parseExtraVars(['postgres_port=5433']));
  it('names the layer that set a scalar', () => {
    expect(explainVariable(c, 'pg2', 'patroni_listen_port')).toBe('pg2: patroni_listen_port = 8009\nset by: instance');
    expect(explainVariable(c, 'pg1', 'postgres_port')).toBe('pg1: postgres_port = 5433\nset by: -e');
  });
  it('lists each leaf of a map with its layer', () => {
    const out = explainVariable(c, 'pg2', 'patroni_conf_settings');
    expect(out).toContain('  patroni_conf_settings.log.level: instance');
    expect(out).toContain('  patroni_conf_settings.log.dir: cluster_vars');
    expect(out).toContain('  patroni_conf_settings.restapi.request_queue_size: instance');
    expect(explainVariable(c, 'pg1', 'patroni_conf_settings')).toMatch(/set by: cluster_vars$/);
  });
  it('says when a variable was removed, and by which layer', () => {
    expect(explainVariable(c, 'pg3', 'patroni_rewind_enabled')).toContain('removed by: instance');
  });
  it('rejects unknown hosts with the list of hosts', () => {
    expect(() => explainVariable(c, 'nope', 'x')).toThrow(UsageError);
    expect(() => explainVariable(c, 'nope', 'x')).toThrow(/pg1, pg2, pg3/);
  });
});

describe('parseExtraVars', () => {
  it('parses values as YAML', () => {
    expect(parseExtraVars(['a=1', 'b={x: null}', 'c=[1,2]', 'd=text'])).toEqual({ a: 1, b: { x: null }, c: [1, 2], d: 'text' });
  });
  it('refuses a missing key', () => {
    expect(() => parseExtraVars(['=1'])).toThrow(/expected KEY=VALUE/);
  });
});
