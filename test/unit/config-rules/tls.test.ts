import { describe, expect, it } from 'vitest';
import { eachHost } from '../../../src/config/rules/context.js';
import { etcdBasicCleartext, mtlsNeedsTls } from '../../../src/config/rules/tls.js';
import { baseConfig, problems, withInstanceVars } from './helpers.js';

describe('mtlsNeedsTls', () => {
  const rule = eachHost(mtlsNeedsTls);

  it('accepts mtls with TLS, and basic without', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_authentication_mode = 'mtls';
    expect(problems(rule, c)).toEqual([]);
    c.cluster_vars = { patroni_authentication_mode: 'basic', patroni_ssl_enabled: false };
    expect(problems(rule, c)).toEqual([]);
  });

  it('reports mtls without TLS once, where mtls is chosen', () => {
    const c = baseConfig();
    c.cluster_vars.patroni_ssl_enabled = false;
    expect(problems(rule, c, { patroni_authentication_mode: 'mtls' })).toEqual([
      'E -e patroni_authentication_mode: mtls needs patroni_ssl_enabled: true (clients prove who they are with TLS certificates); set patroni_ssl_enabled: true, or use basic',
    ]);
  });

  it('blames where mtls is chosen, also when an instance negates TLS', () => {
    const c = withInstanceVars(baseConfig(), 1, { patroni_ssl_enabled: null });
    c.cluster_vars.patroni_authentication_mode = 'mtls';
    expect(problems(rule, c)).toEqual([
      'E cluster_vars.patroni_authentication_mode: mtls needs patroni_ssl_enabled: true (clients prove who they are with TLS certificates); set patroni_ssl_enabled: true, or use basic',
    ]);
  });
});

describe('etcdBasicCleartext', () => {
  const rule = eachHost(etcdBasicCleartext);

  it('is quiet with TLS, or without passwords', () => {
    expect(problems(rule, baseConfig())).toEqual([]);
    const c = baseConfig();
    c.cluster_vars = { etcd_ssl_enabled: false, etcd_authentication_mode: 'none' };
    expect(problems(rule, c)).toEqual([]);
  });

  it('warns once for the etcd members only', () => {
    const c = baseConfig();
    c.cluster_vars.etcd_ssl_enabled = false;
    expect(problems(rule, c)).toEqual([
      'W cluster_vars.etcd_authentication_mode: basic without etcd_ssl_enabled: true sends etcd passwords in clear text; set etcd_ssl_enabled: true',
    ]);
  });
});
