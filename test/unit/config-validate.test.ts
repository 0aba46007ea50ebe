/**
 * config.yml validation end to end: YAML → schema → semantic rules, as `pgha` runs it.
 * Invalid fixtures and their exact messages (with line numbers) live in
 * test/fixtures/invalid/{*.yml,expected.json}; a fixture without an entry fails, so the table
 * cannot silently fall behind the files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { didYouMean } from '../../src/config/rules/index.js';
import { validateConfig, type ValidConfig } from '../../src/config/validate.js';
import { ConfigError, formatProblem } from '../../src/errors.js';
import { KNOWN_VARIABLES } from '../../src/model/defaults.js';
import { ROLES, type Vars } from '../../src/model/types.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

interface Expected {
  extraVars?: Vars;
  errors: string[];
}

function ymlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => f.slice(0, -'.yml'.length))
    .sort();
}

function read(kind: 'valid' | 'invalid', name: string): string {
  return readFileSync(`${fixtures}${kind}/${name}.yml`, 'utf8');
}

type Outcome = { ok: ValidConfig } | { errors: string[] };

function run(text: string, extraVars: Vars = {}): Outcome {
  try {
    return { ok: validateConfig(parseConfigText(text, 'config.yml'), extraVars) };
  } catch (e) {
    if (e instanceof ConfigError) return { errors: e.problems.map(formatProblem) };
    throw e;
  }
}

function errorsOf(text: string, extraVars: Vars = {}): string[] {
  const out = run(text, extraVars);
  if ('ok' in out) throw new Error('expected the config to be refused, it was accepted');
  return out.errors;
}

function warningsOf(text: string, extraVars: Vars = {}): string[] {
  const out = run(text, extraVars);
  if ('errors' in out) throw new Error(`expected the config to be accepted:\n${out.errors.join('\n')}`);
  return out.ok.warnings.map(formatProblem);
}

const expected = JSON.parse(readFileSync(`${fixtures}invalid/expected.json`, 'utf8')) as Record<string, Expected>;
const invalid = ymlFiles(`${fixtures}invalid`);
const valid = ymlFiles(`${fixtures}valid`);

describe('invalid fixtures', () => {
  it('has at least 40 fixtures, each with an entry in expected.json and no stray entries', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(40);
    expect(Object.keys(expected).sort()).toEqual(invalid);
  });

  it.each(invalid)('%s', (name) => {
    const want = expected[name];
    expect(want, `add "${name}" to test/fixtures/invalid/expected.json`).toBeDefined();
    expect(errorsOf(read('invalid', name), want?.extraVars)).toEqual(want?.errors);
  });
});

describe('valid fixtures', () => {
  // Warnings are part of a valid config's contract too: none, except where a fixture is about them.
  const expectedWarnings: Record<string, string[]> = {
    'warnings-only': [
      'config.yml:6: cluster_vars.patroni_listen_prot: unknown variable, pgha ignores it; did you mean "patroni_listen_port"?',
      'config.yml:7: cluster_vars.etcd_authentication_mode: basic without etcd_ssl_enabled: true sends etcd passwords in clear text; set etcd_ssl_enabled: true',
      'config.yml:8: cluster_vars.patroni_repl_max_lag: has no effect unless haproxy_read_only_load_balancer_enabled is true; enable the read-only load balancer or remove it',
      'config.yml:9: cluster_vars.my_own_note: unknown variable, pgha ignores it; check the spelling, or remove it',
      'config.yml:15: instance_defaults.vars.postgres_verison: unknown variable, pgha ignores it; did you mean "postgres_version"?',
      'config.yml:23: instances[0].vars.Patroni_SSL_Enabled: unknown variable, pgha ignores it; did you mean "patroni_ssl_enabled"?',
    ],
  };

  it('has fixtures', () => {
    expect(valid.length).toBeGreaterThanOrEqual(4);
  });

  it.each(valid)('%s is accepted', (name) => {
    expect(warningsOf(read('valid', name))).toEqual(expectedWarnings[name] ?? []);
  });

  it('returns the config as written', () => {
    const out = run(read('valid', 'm1-haproxy'));
    if (!('ok' in out)) throw new Error(out.errors.join('\n'));
    expect(out.ok.config.cluster_name).toBe('pg-main');
    expect(out.ok.config.instances.map((i) => i.Name)).toEqual(['pg1', 'pg2', 'pg3', 'proxy1']);
  });
});

describe('-e variables', () => {
  const base = read('valid', 'm1-haproxy');

  it('warns about unknown -e variables with a suggestion, without a line', () => {
    expect(warningsOf(base, { patroni_listen_prot: 8009, totally_new: 1 })).toEqual([
      '-e: patroni_listen_prot: unknown variable, pgha ignores it; did you mean "patroni_listen_port"?',
      '-e: totally_new: unknown variable, pgha ignores it; check the spelling, or remove it',
    ]);
  });

  it('checks -e values against the same types as config.yml', () => {
    expect(errorsOf(base, { etcd_client_port: 0, patroni_authentication_mode: 'cert' })).toEqual([
      '-e: patroni_authentication_mode: must be one of basic, mtls',
      '-e: etcd_client_port: must be a port number, an integer from 1 to 65535 (or null to unset)',
    ]);
  });

  it('lets -e fix what config.yml gets wrong, and blames -e for what it breaks', () => {
    const mtls = read('invalid', 'mtls-without-ssl');
    expect(warningsOf(mtls, { patroni_ssl_enabled: true })).toEqual([]);
    expect(errorsOf(base, { postgres_port: 8008 })).toEqual([
      '-e: postgres_port: patroni_listen_port (the Patroni REST API) and postgres_port (PostgreSQL) are both 8008 on pg1, pg2, pg3; give each service its own port',
    ]);
  });

  it('null-negation through -e is seen by the rules', () => {
    expect(errorsOf(base, { patroni_listen_port: null })).toEqual([
      '-e: patroni_listen_port: patroni_listen_port is unset (null), but pg1, pg2, pg3 need it for the Patroni REST API; remove the null to get the default, or set a port',
    ]);
  });
});

describe('several problems at once', () => {
  it('reports every semantic problem of one config together, in file order', () => {
    const errors = errorsOf(read('invalid', 'many-problems'));
    expect(errors.length).toBe(5);
    const lines = errors.map((e) => Number(/^config\.yml:(\d+):/.exec(e)?.[1]));
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(errors.join('\n')).toMatch(/no instance has role primary/);
    expect(errors.join('\n')).toMatch(/already the Name/);
    expect(errors.join('\n')).toMatch(/exceeds ttl/);
  });

  it('reports every schema problem together', () => {
    expect(errorsOf(read('invalid', 'many-schema-problems'))).toHaveLength(4);
  });

  it('reports a problem per host only once when one line causes it everywhere', () => {
    const errors = errorsOf(read('invalid', 'port-clash-cluster-vars'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('on pg1, pg2, pg3');
  });
});

describe('rules in detail', () => {
  const base = read('valid', 'm1-haproxy');

  it('refuses a cluster-wide variable overridden on one instance, at that instance', () => {
    const text = base.replace(
      '    role: [haproxy]\n    ip_address: 10.33.0.14\n',
      '    role: [haproxy]\n    ip_address: 10.33.0.14\n    vars:\n      patroni_ssl_enabled: false\n',
    );
    expect(errorsOf(text)).toEqual([
      'config.yml:38: instances[3].vars.patroni_ssl_enabled: must be the same on every host (here false, elsewhere true); set it once in cluster_vars or instance_defaults.vars',
    ]);
  });

  it('points the mtls problem at the instance layer that sets it', () => {
    const text = base
      .replace('  patroni_ssl_enabled: true\n', '')
      .replace('    ip_address: 10.33.0.12\n', '    ip_address: 10.33.0.12\n    vars: {patroni_authentication_mode: mtls}\n');
    expect(errorsOf(text)).toEqual([
      'config.yml:26: instances[1].vars.patroni_authentication_mode: must be the same on every host (here "mtls", elsewhere "basic"); set it once in cluster_vars or instance_defaults.vars',
      'config.yml:26: instances[1].vars.patroni_authentication_mode: mtls needs patroni_ssl_enabled: true (clients prove who they are with TLS certificates); set patroni_ssl_enabled: true, or use basic',
    ]);
  });

  it('accepts the DCS timing at its limit and refuses it one second beyond', () => {
    const at = (ttl: number) =>
      base.replace('cluster_vars:\n', `cluster_vars:\n  patroni_dynamic_conf_settings: {ttl: ${ttl}, loop_wait: 10, retry_timeout: 15}\n`);
    expect(warningsOf(at(40))).toEqual([]);
    expect(errorsOf(at(39))).toEqual([
      'config.yml:5: cluster_vars.patroni_dynamic_conf_settings.ttl: loop_wait (10) + 2 × retry_timeout (15) = 40 exceeds ttl (39): the leader key could expire while a healthy primary is still retrying etcd, causing a needless failover; raise ttl to at least 40 or lower loop_wait/retry_timeout',
    ]);
  });

  it("treats a null DCS timing as Patroni's default", () => {
    const text = base.replace('cluster_vars:\n', 'cluster_vars:\n  patroni_dynamic_conf_settings: {ttl: null, retry_timeout: 11}\n');
    expect(errorsOf(text)[0]).toContain('= 32 exceeds ttl (30)');
  });

  it('lets a higher layer replace the setting that broke the timing', () => {
    const text = base
      .replace('cluster_vars:\n', 'cluster_vars:\n  patroni_conf_settings: {bootstrap: {dcs: {retry_timeout: 30}}}\n')
      .replace('    use_local_repo_only: true\n', '    use_local_repo_only: true\n    patroni_conf_settings: {bootstrap: null}\n');
    expect(warningsOf(text)).toEqual([]);
  });

  it('accepts quoted and numeric postgres_version 15 and size strings for the lag', () => {
    for (const v of ['15', '"15"']) {
      expect(warningsOf(base.replace('postgres_version: 15', `postgres_version: ${v}`))).toEqual([]);
    }
    const ro = base.replace('cluster_vars:\n', 'cluster_vars:\n  haproxy_read_only_load_balancer_enabled: true\n');
    for (const lag of ['0', '1048576', '16MB', '"1GB"', '512kB']) {
      expect(warningsOf(ro.replace('cluster_vars:\n', `cluster_vars:\n  patroni_repl_max_lag: ${lag}\n`))).toEqual([]);
    }
  });

  it('warns when the read-only load balancer has no replica to balance over', () => {
    const text = read('valid', 'm1-haproxy')
      .replace('cluster_vars:\n', 'cluster_vars:\n  haproxy_read_only_load_balancer_enabled: true\n')
      .replace(/role: \[replica, etcd\]/g, 'role: [etcd]');
    expect(warningsOf(text)).toEqual([
      'config.yml:5: cluster_vars.haproxy_read_only_load_balancer_enabled: the read-only load balancer has no replica to send reads to; add a replica or set haproxy_read_only_load_balancer_enabled: false',
    ]);
  });
});

describe('didYouMean', () => {
  it('suggests the nearest known name for typos, swaps and case', () => {
    expect(didYouMean('patroni_listen_prot', KNOWN_VARIABLES)).toBe('patroni_listen_port');
    expect(didYouMean('etcd_ssl_enable', KNOWN_VARIABLES)).toBe('etcd_ssl_enabled');
    expect(didYouMean('POSTGRES_PORT', KNOWN_VARIABLES)).toBe('postgres_port');
    expect(didYouMean('instance', ['instances', 'locations'])).toBe('instances');
  });

  it('stays quiet when nothing is close', () => {
    expect(didYouMean('my_own_note', KNOWN_VARIABLES)).toBeUndefined();
    expect(didYouMean('xy', ['node'])).toBeUndefined();
  });
});

// ---------------------------------------------------------------- properties

/** Whatever the input, the only way out besides success is a ConfigError. */
function onlyConfigErrors(text: string, extraVars: Vars = {}): void {
  try {
    validateConfig(parseConfigText(text, 'config.yml'), extraVars);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) expect(typeof formatProblem(p)).toBe('string');
  }
}

const yamlToken = fc.constantFrom(
  ...[
    'architecture',
    'cluster_name',
    'cluster_vars',
    'locations',
    'instance_defaults',
    'instances',
    'Name',
    'node',
    'location',
    'role',
    'ip_address',
    'vars',
    'platform',
    'primary',
    'replica',
    'etcd',
    'haproxy',
    'M1',
    'nspawn',
    'patroni_listen_port',
    'patroni_conf_settings',
    'bootstrap',
    'dcs',
    'ttl',
    '10.0.0.1',
    '127.0.0.1',
    '0',
    '1',
    '-1',
    '8008',
    '65536',
    'null',
    '~',
    'true',
    'yes',
    '.inf',
    '.nan',
    '0x1F',
    '1e3',
    ':',
    ': ',
    '- ',
    '-',
    '[',
    ']',
    '{',
    '}',
    ',',
    '"',
    "'",
    '#',
    '&a ',
    '*a',
    '<<: *a',
    '!!str ',
    '!!map',
    '!!binary ',
    '!foo ',
    '|',
    '>',
    '?',
    '%YAML 1.2',
    '---',
    '...',
    '\n',
    '\n  ',
    '\n    ',
    '\t',
    ' ',
    '__proto__',
    'constructor',
    'toString',
  ],
);
const yamlish = fc.array(yamlToken, { maxLength: 60 }).map((ts) => ts.join(''));

const ipPool = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '127.0.0.1', '0.0.0.0', '224.1.1.1'];
const varValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, 1, 8008, 5432, 2379, 65535, 'mtls', 'basic', 'none', '16MB', '15', 15),
  fc.jsonValue({ maxDepth: 2 }),
  fc.record({
    ttl: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 100 })),
    loop_wait: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 100 })),
    retry_timeout: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 100 })),
  }),
);
const varName = fc.oneof(fc.constantFrom(...KNOWN_VARIABLES), fc.constantFrom('patroni_listen_prot', 'x', '__proto__'));
const varsMap = fc.dictionary(varName, varValue, { maxKeys: 4 });

/** Configs shaped right often enough to get past the schema into the rules. */
const nearlyValidConfig = fc.record({
  architecture: fc.constantFrom('M1', 'M1', 'M2'),
  cluster_name: fc.constantFrom('pg', 'pg-main', 'Bad_Name'),
  cluster_vars: varsMap,
  locations: fc.constantFrom([{ Name: 'main' }], [{ Name: 'main' }, { Name: 'main' }], []),
  instance_defaults: fc.record({ platform: fc.constantFrom('nspawn', 'bare'), vars: varsMap }),
  instances: fc.array(
    fc.record({
      Name: fc.constantFrom('a', 'b', 'c', 'd'),
      node: fc.integer({ min: 0, max: 4 }),
      location: fc.constantFrom('main', 'main', 'other'),
      role: fc.uniqueArray(fc.constantFrom(...ROLES), { minLength: 1, maxLength: 3 }),
      ip_address: fc.constantFrom(...ipPool),
      vars: varsMap,
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

/** A value the schema accepts for a known variable, so the config reaches the semantic rules. */
function typedValue(name: string): fc.Arbitrary<unknown> {
  const dcs = fc.record(
    {
      ttl: fc.oneof(fc.constant(null), fc.integer({ min: 20, max: 60 })),
      loop_wait: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 30 })),
      retry_timeout: fc.oneof(fc.constant(null), fc.integer({ min: 3, max: 30 })),
    },
    { requiredKeys: [] },
  );
  if (name.endsWith('_port')) return fc.constantFrom(null, 5432, 5433, 6432, 8008, 2379, 2380);
  if (name.endsWith('_enabled') || name === 'use_local_repo_only') return fc.constantFrom(true, false, null);
  if (name === 'patroni_authentication_mode') return fc.constantFrom('basic', 'mtls', null);
  if (name === 'etcd_authentication_mode') return fc.constantFrom('none', 'basic', null);
  if (name === 'patroni_dynamic_conf_settings') return fc.oneof(fc.constant(null), dcs);
  if (name === 'patroni_conf_settings')
    return fc.oneof(
      fc.constant(null),
      dcs.map((d) => ({ bootstrap: { dcs: d } })),
      fc.constant({ bootstrap: null }),
    );
  if (name.endsWith('_conf_settings')) return fc.constantFrom(null, {}, { global: { maxconn: 100 } });
  if (name === 'patroni_repl_max_lag') return fc.constantFrom(null, 0, 1048576, '16MB');
  if (name === 'patroni_dcs_namespace') return fc.constantFrom(null, '/pgha', '/other');
  if (name === 'patroni_restapi_allowlist_extra') return fc.constantFrom(null, [], ['10.0.0.0/8']);
  return fc.constant(null);
}
const typedVars = fc
  .uniqueArray(fc.constantFrom(...KNOWN_VARIABLES), { maxLength: 4 })
  .chain((names) => fc.tuple(...names.map(typedValue)).map((values) => Object.fromEntries(names.map((n, i) => [n, values[i]]))));

/** Schema-valid configs (most of the time), so every semantic rule gets random input. */
const schemaValidConfig = fc.record({
  architecture: fc.constant('M1'),
  cluster_name: fc.constant('pg'),
  cluster_vars: typedVars,
  locations: fc.constantFrom([{ Name: 'main' }], [{ Name: 'main' }, { Name: 'dr' }]),
  instance_defaults: fc.record({ platform: fc.constantFrom('nspawn', 'bare'), vars: typedVars }),
  instances: fc.array(
    fc.record({
      Name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      node: fc.integer({ min: 1, max: 5 }),
      location: fc.constantFrom('main', 'dr'),
      role: fc.uniqueArray(fc.constantFrom(...ROLES), { minLength: 1, maxLength: 3 }),
      ip_address: fc.constantFrom(...ipPool, '10.0.0.4', '10.0.0.5'),
      vars: typedVars,
    }),
    { minLength: 1, maxLength: 6 },
  ),
});

describe('never anything but ConfigError', () => {
  it('on YAML-ish text', () => {
    fc.assert(
      fc.property(yamlish, (text) => onlyConfigErrors(text)),
      { numRuns: 500 },
    );
  });

  it('on arbitrary JSON values written as YAML', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => onlyConfigErrors(stringify(value))),
      { numRuns: 300 },
    );
  });

  it('on nearly valid configs and arbitrary -e variables', () => {
    fc.assert(
      fc.property(nearlyValidConfig, varsMap, (config, extraVars) => onlyConfigErrors(stringify(config), extraVars)),
      { numRuns: 400 },
    );
  });

  it('on schema-valid configs with typed variables in every layer and -e', () => {
    fc.assert(
      fc.property(schemaValidConfig, typedVars, (config, extraVars) => onlyConfigErrors(stringify(config), extraVars)),
      { numRuns: 400 },
    );
  });

  it('on arbitrary -e values', () => {
    const base = read('valid', 'm1-haproxy');
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }), (extraVars) => onlyConfigErrors(base, extraVars)),
      { numRuns: 200 },
    );
  });

  it('on alias bombs', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n');
    onlyConfigErrors(bomb);
  });
});
