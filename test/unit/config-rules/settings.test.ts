import { describe, expect, it } from 'vitest';
import {
  controlCharacterPaths,
  describeControl,
  haproxyConfSettings,
  lineSettingsControlCharacters,
} from '../../../src/config/rules/settings.js';
import { baseConfig, problems, withInstanceVars } from './helpers.js';

describe('haproxyConfSettings', () => {
  it('accepts settings the renderer can place', () => {
    const c = baseConfig();
    c.cluster_vars.haproxy_conf_settings = { global: { maxconn: 100 }, listens: { stats: { bind: '*:7000' } } };
    expect(problems(haproxyConfSettings, c)).toEqual([]);
  });

  it('reports what it cannot place at the line, in every layer', () => {
    const c = withInstanceVars(baseConfig(), 3, { haproxy_conf_settings: { defaults: { timeout: { client: '30m' } } } });
    expect(problems(haproxyConfSettings, c, { haproxy_conf_settings: { global: 'x' } })).toEqual([
      'E instances[3].vars.haproxy_conf_settings.defaults.timeout: a directive\'s value cannot be a map: write the whole keyword as the key, e.g. "timeout client": "30m"; a list repeats the directive',
      'E -e haproxy_conf_settings.global: must be a map of directives ("<keyword>": value), or null to remove it',
    ]);
  });
});

describe('lineSettingsControlCharacters', () => {
  it('accepts plain settings and ignores variables not written line by line', () => {
    const c = baseConfig();
    c.cluster_vars.pgbouncer_conf_settings = { pgbouncer: { auth_type: 'scram-sha-256' } };
    c.cluster_vars.patroni_conf_settings = { log: { format: 'a\nb' } };
    expect(problems(lineSettingsControlCharacters, c)).toEqual([]);
  });

  it('reports keys and values holding control characters', () => {
    const c = baseConfig();
    c.cluster_vars.pgbouncer_conf_settings = { pgbouncer: { auth_type: 'md5\nauth_type = trust' } };
    c.instance_defaults.vars = { etcd_conf_settings: { 'x\ty': 1 } };
    const tail = 'is written one line per setting, where a newline would inject a directive: remove it';
    expect(problems(lineSettingsControlCharacters, c)).toEqual([
      `E cluster_vars.pgbouncer_conf_settings.pgbouncer.auth_type: the value contains a control character (a newline); pgbouncer_conf_settings ${tail}`,
      `E instance_defaults.vars.etcd_conf_settings["x\\ty"]: the key contains a control character (a tab); etcd_conf_settings ${tail}`,
    ]);
  });

  it('finds control characters in lists, and names unnamed ones by code point', () => {
    expect(controlCharacterPaths({ a: ['ok', 'b\u001b'] }, ['s'])).toEqual([{ path: ['s', 'a', 1], in: 'value', char: 'U+001B' }]);
    expect(describeControl('\r')).toBe('a carriage return');
    expect(describeControl('\u007f')).toBe('U+007F');
  });
});
