/**
 * The bad-input suite (issue 5, item 4): invalid configs and command lines run through the BUILT
 * binary exactly as a user would (`node bin/pgha.js …`; `npm test` builds dist/ first).
 *
 * Every case asserts the exit code docs/architecture.md#errors-and-exit-codes documents, a message naming the file and line (or the
 * flag or file), no stack trace, and that no connection to any host was attempted: the cluster lives
 * on 10.250.7.0/24 where nothing listens, and test/fixtures/bad-input/no-connect.cjs is preloaded
 * with NODE_OPTIONS to record (and refuse) any non-loopback connection in $PGHA_CONNECT_LOG.
 *
 * Cases are data. `edit` mutates config.yml text, `setup` mutates the copied cluster directory,
 * `{dir}` in args is the copy and `{fx}` is test/fixtures/bad-input.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'pgha.js');
const FX = join(ROOT, 'test', 'fixtures', 'bad-input');
const PRELOAD = join(FX, 'no-connect.cjs');
const SUBNET = '10.250.7.0/24';

interface Case {
  category: 'yaml' | 'schema' | 'semantic' | 'warning' | 'files' | 'keys' | 'flags' | 'command' | 'vault';
  name: string;
  args: string[];
  /** config.yml text → new text. */
  edit?: (yml: string) => string;
  /** Change the copied cluster directory. */
  setup?: (dir: string) => void;
  /** No cluster directory at all ({dir} is an empty, non-existent path). */
  noCluster?: boolean;
  code: number;
  stderr: RegExp;
  stdout?: RegExp;
  /** Why the code is not 2, when it is not. */
  why?: string;
  /** Added to the command's environment (PGHA_VAULT_PASSWORD). */
  env?: Record<string, string>;
  /** More checks once the command has run, given the case's {dir}. */
  after?: (dir: string) => void;
}

const replace =
  (from: string | RegExp, to: string) =>
  (y: string): string => {
    const out = y.replace(from, to);
    if (out === y) throw new Error(`edit did not apply: ${String(from)}`);
    return out;
  };
const clusterVar = (line: string) => replace('cluster_vars:\n', `cluster_vars:\n  ${line}\n`);
const instVar = (line: string) => replace('  - Name: pg1\n', `  - Name: pg1\n    vars:\n      ${line}\n`);
/** The 1-based line config.yml has `needle` on after `edit`. */
const CFG = (line: number | string) => new RegExp(`config\\.yml:${line}: `);

// ---- the vault (issue 12, secrets at rest) -------------------------------------------------------
const VAULT_PASSWORD = 'the vault password of the bad-input suite';
/** Encrypts the copied directory with the built binary; `{dir}/../pw` holds the password, `{dir}/../wrong` another. */
function encrypted(dir: string): void {
  writeFileSync(join(dir, '..', 'pw'), `${VAULT_PASSWORD}\n`);
  writeFileSync(join(dir, '..', 'wrong'), 'not the vault password\n');
  const r = spawnSync(process.execPath, [BIN, 'vault', 'encrypt', dir], {
    env: { ...process.env, PGHA_VAULT_PASSWORD: VAULT_PASSWORD },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`vault encrypt failed: ${r.stderr}`);
}
const sealedFile = (f: string) => (dir: string) => expect(readFileSync(join(dir, f), 'utf8')).toMatch(/^\$PGHA_VAULT;1;/);
/** exit 2 naming the encrypted file, the two sources the password may come from, and the fix. */
const NO_PASSWORD =
  /(c\/(secrets|ssl|ssh)\/[\w./]+ is encrypted|c is in vault mode \(\S+c\/vault\): its secret files are encrypted,) and no vault password was given \(neither --vault-password-file nor PGHA_VAULT_PASSWORD\)\n {2}fix: pass --vault-password-file FILE/;
const WRONG_PASSWORD = /cannot be decrypted with the vault password from .*: wrong password, or the file was altered/;
const NEEDS_PASSWORD: [string, string[]][] = [
  ['render', ['render', '{dir}']],
  ['deploy', ['deploy', '{dir}']],
  ['deploy --check', ['deploy', '{dir}', '--check']],
  ['status', ['status', '{dir}']],
  ['test', ['test', '{dir}']],
  ['switchover', ['switchover', '{dir}', 'pg2', '--force']],
  ['restart', ['restart', '{dir}']],
  ['edit-config', ['edit-config', '{dir}', '-p', 'work_mem=8MB', '--force']],
  ['rotate-passwords', ['rotate-passwords', '{dir}']],
  ['rotate-certs --ca', ['rotate-certs', '{dir}', '--ca']],
  ['upgrade', ['upgrade', '{dir}', '--components', 'patroni', '-e', 'patroni_package_version=4.0.7-3']],
  ['provision', ['provision', '{dir}']],
];
const VAULT_CASES: Case[] = [
  ...NEEDS_PASSWORD.map(([what, args]): Case => ({
    category: 'vault',
    name: `${what} on an encrypted directory without a vault password`,
    args,
    setup: encrypted,
    code: 2,
    stderr: NO_PASSWORD,
  })),
  ...NEEDS_PASSWORD.slice(0, 6).map(([what, args]): Case => ({
    category: 'vault',
    name: `${what} on an encrypted directory with a wrong vault password`,
    args: ['--vault-password-file', '{dir}/../wrong', ...args],
    setup: encrypted,
    code: 2,
    stderr: WRONG_PASSWORD,
  })),
  {
    category: 'vault',
    name: 'show-password on an encrypted directory without a vault password',
    args: ['show-password', '{dir}', 'postgres'],
    setup: encrypted,
    code: 2,
    stderr: /c\/secrets\/postgres is encrypted and no vault password was given/,
    stdout: /^$/,
  },
  {
    category: 'vault',
    name: 'show-password with a wrong PGHA_VAULT_PASSWORD',
    args: ['show-password', '{dir}', 'postgres'],
    setup: encrypted,
    env: { PGHA_VAULT_PASSWORD: 'not it' },
    code: 2,
    stderr: /c\/secrets\/postgres: cannot be decrypted with the vault password from PGHA_VAULT_PASSWORD: wrong password/,
    stdout: /^$/,
  },
  {
    category: 'vault',
    name: 'show-password on an encrypted directory with the vault password file',
    args: ['show-password', '{dir}', 'postgres', '--vault-password-file', '{dir}/../pw'],
    setup: encrypted,
    code: 0,
    why: 'the password opens the file',
    stderr: /^$/,
    stdout: /^[A-Za-z0-9]{32}\n$/,
  },
  {
    category: 'vault',
    name: 'render on an encrypted directory with PGHA_VAULT_PASSWORD',
    args: ['render', '{dir}', '--host', 'pg1', '--file', 'patroni.yml'],
    setup: encrypted,
    env: { PGHA_VAULT_PASSWORD: VAULT_PASSWORD },
    code: 0,
    why: 'the password opens every key and password render reads',
    stderr: /^$/,
    stdout: /password: '?\*{8}/,
  },
  {
    category: 'vault',
    name: 'explain on an encrypted directory needs no vault password',
    args: ['explain', '{dir}', 'pg1', 'patroni_listen_port'],
    setup: encrypted,
    code: 0,
    why: 'explain reads no secret',
    stderr: /^$/,
    stdout: /8008/,
  },
  {
    category: 'vault',
    name: 'vault status needs no vault password',
    args: ['vault', 'status', '{dir}'],
    setup: encrypted,
    code: 0,
    why: 'it only looks at the files',
    stderr: /^$/,
    stdout: /vault: on.*\nencrypted {2}secrets\/etcd_patroni/,
  },
  {
    category: 'vault',
    name: 'vault encrypt without a vault password',
    args: ['vault', 'encrypt', '{dir}'],
    code: 2,
    stderr: /encrypting .*c needs a vault password and no vault password was given/,
    after: (dir) => expect(existsSync(join(dir, 'vault'))).toBe(false),
  },
  {
    category: 'vault',
    name: 'vault encrypt with another password than the vault has',
    args: ['vault', 'encrypt', '{dir}', '--vault-password-file', '{dir}/../wrong'],
    setup: encrypted,
    code: 2,
    stderr: /c\/vault: cannot be decrypted .*wrong password/,
  },
  {
    category: 'vault',
    name: 'vault decrypt with a wrong password changes nothing',
    args: ['vault', 'decrypt', '{dir}', '--vault-password-file', '{dir}/../wrong'],
    setup: encrypted,
    code: 2,
    stderr: /c\/vault: cannot be decrypted .*wrong password/,
    after: (dir) => {
      sealedFile('secrets/postgres')(dir);
      sealedFile('ssl/ca.key')(dir);
      expect(existsSync(join(dir, 'vault'))).toBe(true);
    },
  },
  {
    category: 'vault',
    name: 'vault encrypt of a directory that is no cluster',
    args: ['vault', 'encrypt', '{dir}'],
    noCluster: true,
    env: { PGHA_VAULT_PASSWORD: VAULT_PASSWORD },
    code: 2,
    stderr: /config\.yml does not exist: .* is not a cluster directory/,
  },
  {
    category: 'vault',
    name: '--vault-password-file that does not exist',
    args: ['render', '{dir}', '--vault-password-file', '/nonexistent/pw'],
    setup: encrypted,
    code: 2,
    stderr: /--vault-password-file \/nonexistent\/pw: cannot be read \(ENOENT\)/,
  },
  {
    category: 'vault',
    name: '--vault-password-file with an empty first line',
    args: ['deploy', '{dir}', '--vault-password-file', '/dev/null'],
    setup: encrypted,
    code: 2,
    stderr: /--vault-password-file \/dev\/null: the first line is empty/,
  },
  {
    category: 'vault',
    name: 'a tampered encrypted password',
    args: ['show-password', '{dir}', 'postgres'],
    setup: (dir) => {
      encrypted(dir);
      const f = join(dir, 'secrets', 'postgres');
      const [header, body] = readFileSync(f, 'utf8').split('\n');
      writeFileSync(f, `${header}\n${body![0] === 'A' ? 'B' : 'A'}${body!.slice(1)}\n`);
    },
    env: { PGHA_VAULT_PASSWORD: VAULT_PASSWORD },
    code: 2,
    stderr: /c\/secrets\/postgres: cannot be decrypted .*or the file was altered/,
  },
];

const CASES: Case[] = [
  ...VAULT_CASES,
  // ---- YAML syntax -------------------------------------------------------------------------------
  {
    category: 'yaml',
    name: 'tab used for indentation',
    args: ['render', '{dir}'],
    edit: replace('  patroni_ssl_enabled', '\tpatroni_ssl_enabled'),
    code: 2,
    stderr: /config\.yml:5: YAML: .*tab/,
  },
  {
    category: 'yaml',
    name: 'duplicate key',
    args: ['render', '{dir}'],
    edit: clusterVar('postgres_version: 14'),
    code: 2,
    stderr: /config\.yml:\d+: YAML: key "postgres_version" appears twice/,
  },
  {
    category: 'yaml',
    name: 'unclosed flow sequence',
    args: ['deploy', '{dir}'],
    edit: replace('role:\n      - haproxy', 'role: [haproxy'),
    code: 2,
    stderr: /config\.yml:\d+: YAML: .*(clos|flow|\])/i,
  },
  {
    category: 'yaml',
    name: 'unclosed flow map',
    args: ['render', '{dir}'],
    edit: replace('vars: {}', 'vars: {a: 1'),
    code: 2,
    stderr: /config\.yml:\d+: YAML: /,
  },
  {
    category: 'yaml',
    name: 'alias without anchor',
    args: ['render', '{dir}'],
    edit: replace('vars: {}', 'vars: *shared'),
    code: 2,
    stderr: /config\.yml:\d+: YAML: alias \*shared has no anchor/,
  },
  {
    category: 'yaml',
    name: 'alias inside its own anchor (a value containing itself)',
    args: ['render', '{dir}'],
    edit: clusterVar('postgres_conf_settings: &loop\n    again: *loop'),
    code: 2,
    stderr: /config\.yml:\d+: YAML: alias \*loop is inside the value anchored as &loop/,
  },
  {
    category: 'yaml',
    name: 'merge key of its own anchor',
    args: ['deploy', '{dir}'],
    edit: clusterVar('postgres_conf_settings: &loop\n    <<: *loop'),
    code: 2,
    stderr: /config\.yml:\d+: YAML: alias \*loop is inside the value anchored as &loop/,
  },
  {
    category: 'yaml',
    name: 'unclosed double quote',
    args: ['deploy', '{dir}'],
    edit: replace('cluster_name: c', 'cluster_name: "c'),
    code: 2,
    stderr: /config\.yml:\d+: YAML: /,
  },
  {
    category: 'yaml',
    name: 'bad indentation',
    args: ['render', '{dir}'],
    edit: replace('  etcd_ssl_enabled: true', '     etcd_ssl_enabled: true'),
    code: 2,
    stderr: /config\.yml:\d+: YAML: /,
  },
  { category: 'yaml', name: 'empty file', args: ['render', '{dir}'], edit: () => '', code: 2, stderr: /config\.yml(:\d+)?: / },
  {
    category: 'yaml',
    name: 'a list, not a mapping',
    args: ['deploy', '{dir}'],
    edit: () => '- a\n- b\n',
    code: 2,
    stderr: /config\.yml:1: .*mapping/,
  },
  {
    category: 'yaml',
    name: 'a bare scalar',
    args: ['status', '{dir}'],
    edit: () => 'hello\n',
    code: 2,
    stderr: /config\.yml:1: .*mapping/,
  },
  {
    category: 'yaml',
    name: 'binary garbage',
    args: ['render', '{dir}'],
    edit: () => '\u0000\u0001\u0002: [}\n',
    code: 2,
    stderr: /config\.yml(:\d+)?: /,
  },

  // ---- schema: wrong types and values -----------------------------------------------------------
  {
    category: 'schema',
    name: 'architecture not M1',
    args: ['render', '{dir}'],
    edit: replace('architecture: M1', 'architecture: M2'),
    code: 2,
    stderr: /config\.yml:2: architecture: /,
  },
  {
    category: 'schema',
    name: 'cluster_name a number',
    args: ['deploy', '{dir}'],
    edit: replace('cluster_name: c', 'cluster_name: 123'),
    code: 2,
    stderr: /config\.yml:3: cluster_name: /,
  },
  {
    category: 'schema',
    name: 'cluster_name with spaces',
    args: ['render', '{dir}'],
    edit: replace('cluster_name: c', 'cluster_name: "bad name"'),
    code: 2,
    stderr: /config\.yml:3: cluster_name: /,
  },
  {
    category: 'schema',
    name: 'instances missing',
    args: ['render', '{dir}'],
    edit: (y) => y.slice(0, y.indexOf('instances:')),
    code: 2,
    stderr: /config\.yml(:\d+)?: .*instances/,
  },
  {
    category: 'schema',
    name: 'instances empty',
    args: ['deploy', '{dir}'],
    edit: (y) => `${y.slice(0, y.indexOf('instances:'))}instances: []\n`,
    code: 2,
    stderr: /config\.yml:\d+: instances/,
  },
  {
    category: 'schema',
    name: 'ip_address not an IP',
    args: ['deploy', '{dir}'],
    edit: replace('ip_address: 10.250.7.12', 'ip_address: not-an-ip'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[1\]\.ip_address: /,
  },
  {
    category: 'schema',
    name: 'node a string',
    args: ['render', '{dir}'],
    edit: replace('node: 2', 'node: two'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[1\]\.node: /,
  },
  {
    category: 'schema',
    name: 'unknown role',
    args: ['render', '{dir}'],
    edit: replace('- haproxy', '- banana'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[3\]\.role/,
  },
  {
    category: 'schema',
    name: 'postgres_version a word',
    args: ['deploy', '{dir}'],
    edit: replace('postgres_version: 17', 'postgres_version: fifteen'),
    code: 2,
    stderr: /config\.yml:\d+: cluster_vars\.postgres_version: /,
  },
  {
    category: 'schema',
    name: 'postgres_version unsupported',
    args: ['render', '{dir}'],
    edit: replace('postgres_version: 17', 'postgres_version: 9'),
    code: 2,
    stderr: /config\.yml:\d+: cluster_vars\.postgres_version: /,
  },
  {
    category: 'schema',
    name: 'boolean given as "yes" string',
    args: ['render', '{dir}'],
    edit: replace('patroni_ssl_enabled: true', 'patroni_ssl_enabled: "yes"'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_ssl_enabled: /,
  },
  {
    category: 'schema',
    name: 'unknown top-level key',
    args: ['render', '{dir}'],
    edit: (y) => `${y}colour: blue\n`,
    code: 2,
    stderr: /config\.yml(:\d+)?: .*colour/,
  },
  {
    category: 'schema',
    name: 'platform unknown',
    args: ['provision', '{dir}'],
    edit: replace('platform: nspawn', 'platform: docker'),
    code: 2,
    stderr: /config\.yml:\d+: instance_defaults\.platform: /,
  },
  {
    category: 'schema',
    name: 'locations missing',
    args: ['render', '{dir}'],
    edit: replace('locations:\n  - Name: main\n', ''),
    code: 2,
    stderr: /config\.yml(:\d+)?: .*locations/,
  },
  {
    category: 'schema',
    name: 'instance is a string',
    args: ['render', '{dir}'],
    edit: replace(/ {2}- Name: proxy1\n[\s\S]*$/, '  - proxy1\n'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[3\]/,
  },
  {
    category: 'schema',
    name: 'role a scalar',
    args: ['render', '{dir}'],
    edit: replace('role:\n      - haproxy', 'role: haproxy'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[3\]\.role/,
  },
  {
    category: 'schema',
    name: 'port out of range',
    args: ['render', '{dir}'],
    edit: clusterVar('patroni_listen_port: 70000'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_listen_port: /,
  },
  {
    category: 'schema',
    name: 'instance var wrong type',
    args: ['render', '{dir}'],
    edit: instVar('patroni_listen_port: eight'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[0\]\.vars\.patroni_listen_port: /,
  },

  // ---- semantic rules -----------------------------------------------------------------------------
  {
    category: 'semantic',
    name: 'duplicate node number',
    args: ['render', '{dir}'],
    edit: replace('node: 2', 'node: 1'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[1\]\.node: /,
  },
  {
    category: 'semantic',
    name: 'duplicate ip_address',
    args: ['deploy', '{dir}'],
    edit: replace('ip_address: 10.250.7.12', 'ip_address: 10.250.7.11'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[1\]\.ip_address: /,
  },
  {
    category: 'semantic',
    name: 'duplicate host Name',
    args: ['render', '{dir}'],
    edit: replace('Name: pg2', 'Name: pg1'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[1\]\.Name: /,
  },
  {
    category: 'semantic',
    name: 'two primaries',
    args: ['render', '{dir}'],
    edit: replace(
      /role:\n {6}- replica\n {6}- etcd\n {4}ip_address: 10.250.7.12/,
      'role:\n      - primary\n      - etcd\n    ip_address: 10.250.7.12',
    ),
    code: 2,
    stderr: /config\.yml:\d+: .*primary/,
  },
  {
    category: 'semantic',
    name: 'upstream cycle (pg2 → pg3 → pg2)',
    args: ['deploy', '{dir}'],
    edit: (y) =>
      replace(
        'ip_address: 10.250.7.13\n',
        'ip_address: 10.250.7.13\n    upstream: pg2\n',
      )(replace('ip_address: 10.250.7.12\n', 'ip_address: 10.250.7.12\n    upstream: pg3\n')(y)),
    code: 2,
    stderr: /config\.yml:\d+: instances\[1\]\.upstream: upstream makes a cycle \(pg2 → pg3 → pg2\)/,
  },
  {
    category: 'schema',
    name: 'cluster_tags value not a string',
    args: ['render', '{dir}'],
    edit: replace('cluster_vars:\n', 'cluster_tags:\n  cost_center: 42\ncluster_vars:\n'),
    code: 2,
    stderr: /config\.yml:\d+: cluster_tags\.cost_center: must be a string/,
  },
  {
    category: 'semantic',
    name: 'no primary',
    args: ['render', '{dir}'],
    edit: replace('- primary', '- replica'),
    code: 2,
    stderr: /config\.yml:\d+: .*primary/,
  },
  {
    category: 'semantic',
    name: 'unknown location',
    args: ['render', '{dir}'],
    edit: replace('location: main\n    role:\n      - haproxy', 'location: moon\n    role:\n      - haproxy'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[3\]\.location: /,
  },
  {
    category: 'semantic',
    name: 'cluster-wide var set per instance',
    args: ['render', '{dir}'],
    edit: instVar('etcd_ssl_enabled: false'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[0\]\.vars\.etcd_ssl_enabled: /,
  },

  // ---- unknown variables: a warning, not an error ---------------------------------------------------
  {
    category: 'warning',
    name: 'unknown cluster var (render)',
    args: ['render', '{dir}', '--host', 'pg1', '--file', 'patroni.yml'],
    edit: clusterVar('patroni_lisen_port: 8008'),
    code: 0,
    stderr: /config\.yml:5: cluster_vars\.patroni_lisen_port: unknown variable/,
    why: 'unknown variables warn, render still works (docs/architecture.md#data-flow)',
  },
  {
    category: 'warning',
    name: 'unknown instance var (render --out)',
    args: ['render', '{dir}', '--out', '{dir}/rendered'],
    edit: instVar('my_own_var: 1'),
    code: 0,
    stderr: /config\.yml:\d+: instances\[0\]\.vars\.my_own_var: unknown variable/,
    why: 'a warning; render still writes (docs/architecture.md#data-flow)',
  },

  // ---- null unsets a variable the rendering needs (docs/architecture.md#variables-and-layers): refused like the ports are ----
  {
    category: 'semantic',
    name: 'patroni_listen_port: null via -e (rule exists)',
    args: ['render', '{dir}', '-e', 'patroni_listen_port=null'],
    code: 2,
    stderr: /-e: patroni_listen_port: .*null/,
  },
  {
    category: 'semantic',
    name: 'etcd_authentication_mode: null via -e',
    args: ['render', '{dir}', '-e', 'etcd_authentication_mode=null'],
    code: 2,
    stderr: /etcd_authentication_mode/,
  },
  {
    category: 'semantic',
    name: 'patroni_authentication_mode: null in cluster_vars',
    args: ['render', '{dir}'],
    edit: replace('patroni_authentication_mode: basic', 'patroni_authentication_mode: null'),
    code: 2,
    stderr: /config\.yml:\d+: cluster_vars\.patroni_authentication_mode: patroni_authentication_mode is unset \(null\)/,
  },
  {
    category: 'semantic',
    name: 'patroni_dcs_namespace: null on one instance',
    args: ['deploy', '{dir}'],
    edit: instVar('patroni_dcs_namespace: null'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[0\]\.vars\.patroni_dcs_namespace: /,
  },

  // ---- missing and broken files --------------------------------------------------------------------
  {
    category: 'files',
    name: 'no config.yml (render)',
    args: ['render', '{dir}'],
    setup: (d) => unlinkSync(join(d, 'config.yml')),
    code: 2,
    stderr: /config\.yml/,
  },
  {
    category: 'files',
    name: 'no config.yml (deploy)',
    args: ['deploy', '{dir}'],
    setup: (d) => unlinkSync(join(d, 'config.yml')),
    code: 2,
    stderr: /config\.yml/,
  },
  {
    category: 'files',
    name: 'cluster directory does not exist',
    args: ['status', '{dir}'],
    noCluster: true,
    code: 2,
    stderr: /config\.yml|no such|does not exist|not a cluster/i,
  },
  {
    category: 'files',
    name: 'config.yml is a directory',
    args: ['render', '{dir}'],
    setup: (d) => {
      unlinkSync(join(d, 'config.yml'));
      mkdirSync(join(d, 'config.yml'));
    },
    code: 2,
    stderr: /config\.yml/,
  },
  {
    category: 'files',
    name: '--hostnames-from missing',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--platform', 'bare', '--hostnames-from', '{dir}-nope.txt'],
    noCluster: true,
    code: 2,
    stderr: /--hostnames-from|nope\.txt/,
  },
  {
    category: 'files',
    name: '--hostnames-from with a bad line',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--platform', 'bare', '--hostnames-from', '{fx}/hostnames-bad.txt'],
    noCluster: true,
    code: 2,
    stderr: /hostnames-bad\.txt(:2)?.*/,
  },
  { category: 'files', name: 'show-password unknown name', args: ['show-password', '{dir}', 'nosuchuser'], code: 2, stderr: /nosuchuser/ },
  {
    category: 'files',
    name: 'show-password secret file deleted',
    args: ['show-password', '{dir}', 'replicator'],
    setup: (d) => unlinkSync(join(d, 'secrets', 'replicator')),
    code: 2,
    stderr: /replicator/,
  },
  {
    category: 'files',
    name: 'download-packages --add-deb missing',
    args: ['download-packages', '{dir}', '--add-deb', '{dir}/nope.deb'],
    code: 2,
    stderr: /nope\.deb/,
  },

  // ---- keys and certificates ---------------------------------------------------------------------------
  {
    category: 'keys',
    name: 'ssh/id_pgha is a directory',
    args: ['deploy', '{dir}'],
    setup: (d) => {
      unlinkSync(join(d, 'ssh', 'id_pgha'));
      mkdirSync(join(d, 'ssh', 'id_pgha'));
    },
    code: 2,
    stderr: /id_pgha/,
  },
  {
    category: 'keys',
    name: 'ssh/id_pgha corrupt',
    args: ['deploy', '{dir}'],
    setup: (d) => writeFileSync(join(d, 'ssh', 'id_pgha'), 'not a key\n'),
    code: 2,
    stderr: /id_pgha/,
  },
  {
    category: 'keys',
    name: 'ssh/id_pgha truncated',
    args: ['deploy', '{dir}'],
    setup: (d) => {
      const p = join(d, 'ssh', 'id_pgha');
      writeFileSync(p, readFileSync(p, 'utf8').slice(0, 120));
    },
    code: 2,
    stderr: /id_pgha/,
  },
  {
    category: 'keys',
    name: 'ssl/ca.key corrupt',
    args: ['deploy', '{dir}'],
    setup: (d) => writeFileSync(join(d, 'ssl', 'ca.key'), '-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n'),
    code: 2,
    stderr: /ca\.key/,
  },
  {
    category: 'keys',
    name: 'ssl/ca.key a directory',
    args: ['deploy', '{dir}'],
    setup: (d) => {
      unlinkSync(join(d, 'ssl', 'ca.key'));
      mkdirSync(join(d, 'ssl', 'ca.key'));
    },
    code: 2,
    stderr: /ca\.key/,
  },
  {
    category: 'keys',
    name: 'ssl/ca.crt corrupt',
    args: ['deploy', '{dir}'],
    setup: (d) => writeFileSync(join(d, 'ssl', 'ca.crt'), 'garbage\n'),
    code: 2,
    stderr: /ca\.crt/,
  },
  // chmod 000 stops only non-root users (root reads anyway): the directory and corrupt cases above cover root.
  ...(process.getuid?.() === 0
    ? []
    : [
        {
          category: 'keys',
          name: 'ssh/id_pgha mode 000',
          args: ['deploy', '{dir}'],
          setup: (d: string) => chmodSync(join(d, 'ssh', 'id_pgha'), 0o000),
          code: 2,
          stderr: /id_pgha/,
        } satisfies Case,
      ]),
  // (A corrupt node.key is not bad input: deploy reissues it, by design of src/pki/store.ts.)
  {
    category: 'keys',
    name: 'ssl/pg2/node.key a directory',
    args: ['deploy', '{dir}'],
    setup: (d) => {
      unlinkSync(join(d, 'ssl', 'pg2', 'node.key'));
      mkdirSync(join(d, 'ssl', 'pg2', 'node.key'));
    },
    code: 2,
    stderr: /pg2\/node\.key/,
  },

  // ---- bad flags ---------------------------------------------------------------------------------------------
  { category: 'flags', name: 'deploy --concurrency 0', args: ['deploy', '{dir}', '--concurrency', '0'], code: 2, stderr: /--concurrency/ },
  {
    category: 'flags',
    name: 'deploy --concurrency abc',
    args: ['deploy', '{dir}', '--concurrency', 'abc'],
    code: 2,
    stderr: /--concurrency/,
  },
  {
    category: 'flags',
    name: 'deploy --concurrency -3',
    args: ['deploy', '{dir}', '--concurrency', '-3'],
    code: 2,
    stderr: /--concurrency/,
  },
  { category: 'flags', name: 'deploy --hosts unknown', args: ['deploy', '{dir}', '--hosts', 'pg1,pg9'], code: 2, stderr: /pg9/ },
  {
    category: 'flags',
    name: 'rotate-certs with an unknown flag',
    args: ['rotate-certs', '{dir}', '--cas'],
    code: 2,
    stderr: /unknown option '--cas'/,
    after: (dir) => expect(existsSync(join(dir, 'ssl', 'ca-next.crt'))).toBe(false),
  },
  {
    category: 'flags',
    name: 'rotate-certs --ca on a directory without a cluster',
    args: ['rotate-certs', '{dir}', '--ca'],
    noCluster: true,
    code: 2,
    stderr: /config\.yml/,
    after: (dir) => expect(existsSync(join(dir, 'rotate-ca-in-progress.json'))).toBe(false),
  },
  {
    category: 'flags',
    name: 'deploy -e without =',
    args: ['deploy', '{dir}', '-e', 'patroni_listen_port'],
    code: 2,
    stderr: /-e patroni_listen_port/,
  },
  {
    category: 'flags',
    name: 'deploy -e bad YAML',
    args: ['deploy', '{dir}', '-e', 'postgres_conf_settings={a: [1'],
    code: 2,
    stderr: /-e postgres_conf_settings: .*YAML/,
  },
  {
    category: 'flags',
    name: 'deploy -e wrong type',
    args: ['deploy', '{dir}', '-e', 'patroni_listen_port=abc'],
    code: 2,
    stderr: /-e: patroni_listen_port: /,
  },
  { category: 'flags', name: 'render -e =value (no key)', args: ['render', '{dir}', '-e', '=1'], code: 2, stderr: /-e =1/ },
  { category: 'flags', name: 'render --host unknown', args: ['render', '{dir}', '--host', 'pg9'], code: 2, stderr: /pg9/ },
  {
    category: 'flags',
    name: 'configure --data-nodes x',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--data-nodes', 'x', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /--data-nodes/,
  },
  {
    category: 'flags',
    name: 'configure --data-nodes 0',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--data-nodes', '0', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /--data-nodes/,
  },
  {
    category: 'flags',
    name: 'configure --etcd-nodes x',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--etcd-nodes', 'x', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /--etcd-nodes/,
  },
  {
    category: 'flags',
    name: 'configure --subnet bad',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--subnet', '10.250.7.0/33'],
    noCluster: true,
    code: 2,
    stderr: /--subnet/,
  },
  {
    category: 'flags',
    name: 'configure --postgresql 8',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--postgresql', '8', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /--postgresql|postgres_version/,
  },
  {
    category: 'flags',
    name: 'configure --patroni-package-flavour foo',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--patroni-package-flavour', 'foo', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /flavour/,
  },
  {
    category: 'flags',
    name: 'configure --platform docker',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--platform', 'docker'],
    noCluster: true,
    code: 2,
    stderr: /--platform|docker/,
  },
  {
    category: 'flags',
    name: 'configure -a M2',
    args: ['configure', '{dir}', '-a', 'M2', '--enable-patroni', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /M2|architecture/,
  },
  {
    category: 'flags',
    name: 'configure without -a',
    args: ['configure', '{dir}', '--enable-patroni', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /-a|--architecture/,
  },
  {
    category: 'flags',
    name: 'configure without --enable-patroni',
    args: ['configure', '{dir}', '-a', 'M1', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /--enable-patroni/,
  },
  {
    category: 'flags',
    name: 'configure haproxy and pgbouncer',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--enable-haproxy', '--enable-pgbouncer', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /--enable-haproxy|--enable-pgbouncer/,
  },
  {
    category: 'flags',
    name: 'configure over an existing config.yml',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--subnet', SUBNET],
    code: 2,
    stderr: /--force/,
  },
  { category: 'flags', name: 'status -o xml', args: ['status', '{dir}', '-o', 'xml'], code: 2, stderr: /-o|--output|xml/ },
  {
    category: 'flags',
    name: 'status --interval 0',
    args: ['status', '{dir}', '--watch', '--interval', '0'],
    code: 2,
    stderr: /--interval/,
  },
  { category: 'flags', name: 'history -o xml', args: ['history', '{dir}', '-o', 'xml'], code: 2, stderr: /-o|--output|xml/ },
  { category: 'flags', name: 'show-config -o table', args: ['show-config', '{dir}', '-o', 'table'], code: 2, stderr: /-o|--output|table/ },
  {
    category: 'flags',
    name: 'switchover --scheduled not a date',
    args: ['switchover', '{dir}', 'pg2', '--scheduled', 'tomorrow', '--force'],
    code: 2,
    stderr: /--scheduled/,
  },
  {
    category: 'flags',
    name: 'switchover --scheduled without a zone',
    args: ['switchover', '{dir}', 'pg2', '--scheduled', '2030-01-01T10:00:00', '--force'],
    code: 2,
    stderr: /--scheduled/,
  },
  { category: 'flags', name: 'upgrade without --components', args: ['upgrade', '{dir}'], code: 2, stderr: /--components/ },
  {
    category: 'flags',
    name: 'upgrade --components unknown',
    args: ['upgrade', '{dir}', '--components', 'patroni,kafka'],
    code: 2,
    stderr: /kafka/,
  },
  {
    category: 'flags',
    name: 'upgrade --primary-strategy bad',
    args: ['upgrade', '{dir}', '--components', 'patroni', '--primary-strategy', 'yolo'],
    code: 2,
    stderr: /--primary-strategy|yolo/,
  },
  {
    category: 'flags',
    name: 'upgrade --health-grace x',
    args: ['upgrade', '{dir}', '--components', 'patroni', '--health-grace', 'x'],
    code: 2,
    stderr: /--health-grace/,
  },
  {
    category: 'flags',
    name: 'restart --scheduled garbage',
    args: ['restart', '{dir}', '--scheduled', 'soon'],
    code: 2,
    stderr: /--scheduled/,
  },
  {
    category: 'flags',
    name: 'edit-config -s without =',
    args: ['edit-config', '{dir}', '-s', 'loop_wait', '--force'],
    code: 2,
    stderr: /-s|--set|loop_wait/,
  },
  {
    category: 'flags',
    name: 'edit-config -p without =',
    args: ['edit-config', '{dir}', '-p', 'work_mem', '--force'],
    code: 2,
    stderr: /-p|--pg|work_mem/,
  },
  { category: 'flags', name: 'unknown option', args: ['render', '{dir}', '--frobnicate'], code: 2, stderr: /--frobnicate/ },

  // ---- commands: unknown, missing arguments, unknown members, every command on a bad config ---------------
  { category: 'command', name: 'unknown command', args: ['frobnicate', '{dir}'], code: 2, stderr: /frobnicate/ },
  {
    category: 'command',
    name: 'no command',
    args: [],
    code: 2,
    stderr: /Usage|command/i,
    why: 'bare pgha prints help on stderr; commander exits 1 → 2 via main',
  },
  { category: 'command', name: 'deploy without DIR', args: ['deploy'], code: 2, stderr: /dir/ },
  { category: 'command', name: 'explain without VAR', args: ['explain', '{dir}', 'pg1'], code: 2, stderr: /var/ },
  { category: 'command', name: 'explain unknown host', args: ['explain', '{dir}', 'pg9', 'postgres_version'], code: 2, stderr: /pg9/ },
  { category: 'command', name: 'show-password without NAME', args: ['show-password', '{dir}'], code: 2, stderr: /name/ },
  { category: 'command', name: 'reinit without MEMBER', args: ['reinit', '{dir}'], code: 2, stderr: /member/ },
  { category: 'command', name: 'reinit unknown member', args: ['reinit', '{dir}', 'pg9', '--force'], code: 2, stderr: /pg9/ },
  { category: 'command', name: 'restart unknown member', args: ['restart', '{dir}', 'pg9'], code: 2, stderr: /pg9/ },
  { category: 'command', name: 'reload unknown member', args: ['reload', '{dir}', 'pg9'], code: 2, stderr: /pg9/ },
  {
    category: 'command',
    name: 'switchover to unknown member',
    args: ['switchover', '{dir}', 'pg9', '--force'],
    code: 3,
    stderr: /pg9 is not a data node/,
    why: 'the candidate existing is one of the documented switchover pre-checks, refused with exit 3 before any host is contacted',
  },
  {
    category: 'command',
    name: 'switchover to the HAProxy host',
    args: ['switchover', '{dir}', 'proxy1', '--force'],
    code: 3,
    stderr: /proxy1 is not a data node/,
    why: 'the candidate existing is one of the documented switchover pre-checks, refused with exit 3 before any host is contacted',
  },
  {
    category: 'command',
    name: 'failover --candidate unknown',
    args: ['failover', '{dir}', '--candidate', 'pg9', '--force'],
    code: 3,
    stderr: /pg9 is not a data node/,
    why: 'the candidate existing is one of the documented switchover pre-checks, refused with exit 3 before any host is contacted',
  },
  {
    category: 'command',
    name: 'provision on a bad config',
    args: ['provision', '{dir}'],
    edit: replace('node: 2', 'node: two'),
    code: 2,
    stderr: CFG('\\d+'),
  },
  {
    category: 'command',
    name: 'download-packages on a bad config',
    args: ['download-packages', '{dir}'],
    edit: replace('postgres_version: 17', 'postgres_version: 3'),
    code: 2,
    stderr: CFG('\\d+'),
  },
  {
    category: 'command',
    name: 'explain on a bad config',
    args: ['explain', '{dir}', 'pg1', 'postgres_version'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'show-password on a bad YAML config',
    args: ['show-password', '{dir}', 'postgres'],
    edit: replace('  patroni_ssl_enabled', '\tpatroni_ssl_enabled'),
    code: 0,
    stderr: /^$/,
    stdout: /^\S{16,}\n$/,
    why: 'show-password reads only DIR/secrets/NAME; config.yml is not needed to print a password',
  },
  {
    category: 'command',
    name: 'status on a bad config',
    args: ['status', '{dir}'],
    edit: replace('ip_address: 10.250.7.12', 'ip_address: 999.1.1.1'),
    code: 2,
    stderr: CFG('\\d+'),
  },
  {
    category: 'command',
    name: 'test on a bad config',
    args: ['test', '{dir}'],
    edit: replace('ip_address: 10.250.7.13', 'ip_address: 10.250.7'),
    code: 2,
    stderr: CFG('\\d+'),
  },
  {
    category: 'command',
    name: 'switchover on a bad config',
    args: ['switchover', '{dir}', 'pg2', '--force'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'upgrade on a bad config',
    args: ['upgrade', '{dir}', '--components', 'patroni'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'restart on a bad config',
    args: ['restart', '{dir}'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'reload on a bad config',
    args: ['reload', '{dir}'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'reinit on a bad config',
    args: ['reinit', '{dir}', 'pg2', '--force'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'pause on a bad config',
    args: ['pause', '{dir}'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'resume on a bad config',
    args: ['resume', '{dir}'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'failover on a bad config',
    args: ['failover', '{dir}', '--candidate', 'pg2', '--force'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'history on a bad config',
    args: ['history', '{dir}'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'show-config on a bad config',
    args: ['show-config', '{dir}'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'edit-config on a bad config',
    args: ['edit-config', '{dir}', '-s', 'loop_wait=10', '--force'],
    edit: replace('architecture: M1', 'architecture: X'),
    code: 2,
    stderr: CFG(2),
  },
  {
    category: 'command',
    name: 'deprovision without config.yml',
    args: ['deprovision', '{dir}'],
    setup: (d) => unlinkSync(join(d, 'config.yml')),
    code: 2,
    stderr: /config\.yml/,
  },

  // ---- issue 12 (security audit), low findings ---------------------------------------------------
  // patroni_repl_max_lag goes into HAProxy's health-check URI: no space allowed.
  ...[
    ['"16 MB"', 'quoted with a space'],
    ['16 MB', 'plain with a space'],
    ['"1 GB"', 'GB with a space'],
    ['"16MB "', 'trailing space'],
    ['"16 "', 'number and a space'],
  ].map(([v, label]): Case => ({
    category: 'schema',
    name: `patroni_repl_max_lag ${label}`,
    args: ['render', '{dir}'],
    edit: clusterVar(`patroni_repl_max_lag: ${v}`),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_repl_max_lag: .*no space like 16MB/,
  })),
  {
    category: 'schema',
    name: 'patroni_repl_max_lag with a space via -e',
    args: ['render', '{dir}', '-e', 'patroni_repl_max_lag=16 MB'],
    code: 2,
    stderr: /-e: patroni_repl_max_lag: .*no space/,
  },
  // Control characters in line-based settings would inject directives.
  ...[
    [
      'haproxy value newline (a new listen section)',
      'haproxy_conf_settings: {global: {maxconn: "100\\nlisten x\\n  stats admin if TRUE"}}',
      'haproxy_conf_settings\\.global\\.maxconn',
      'value',
    ],
    [
      'haproxy key newline',
      'haproxy_conf_settings: {defaults: {"timeout\\nclient": 30s}}',
      'haproxy_conf_settings\\.defaults\\["timeout\\\\nclient"\\]',
      'key',
    ],
    [
      'haproxy list item carriage return',
      'haproxy_conf_settings: {global: {log: ["a", "b\\rc"]}}',
      'haproxy_conf_settings\\.global\\.log\\[1\\]',
      'value',
    ],
    [
      'haproxy proxy directive newline',
      'haproxy_conf_settings: {listens: {extra: {bind: ":9000\\n  stats admin if TRUE"}}}',
      'haproxy_conf_settings\\.listens\\.extra\\.bind',
      'value',
    ],
    [
      'haproxy server option newline',
      'haproxy_conf_settings: {backends: {b: {servers: {s1: {address: "10.0.0.1:1\\nx"}}}}}',
      'haproxy_conf_settings\\.backends\\.b\\.servers\\.s1\\.address',
      'value',
    ],
    [
      'pgbouncer value newline (auth_type = trust)',
      'pgbouncer_conf_settings: {pgbouncer: {pool_mode: "session\\nauth_type = trust"}}',
      'pgbouncer_conf_settings\\.pgbouncer\\.pool_mode',
      'value',
    ],
    [
      'pgbouncer key tab',
      'pgbouncer_conf_settings: {pgbouncer: {"max\\tconn": 1}}',
      'pgbouncer_conf_settings\\.pgbouncer\\["max\\\\tconn"\\]',
      'key',
    ],
    [
      'pgbouncer NUL',
      'pgbouncer_conf_settings: {pgbouncer: {pool_mode: "session\\u0000"}}',
      'pgbouncer_conf_settings\\.pgbouncer\\.pool_mode',
      'value',
    ],
    [
      'pgbouncer DEL',
      'pgbouncer_conf_settings: {pgbouncer: {pool_mode: "session\\u007f"}}',
      'pgbouncer_conf_settings\\.pgbouncer\\.pool_mode',
      'value',
    ],
    [
      'pgbouncer escape',
      'pgbouncer_conf_settings: {databases: {"*": "host=x\\u001b[0m"}}',
      'pgbouncer_conf_settings\\.databases\\["\\*"\\]',
      'value',
    ],
    ['etcd value newline', 'etcd_conf_settings: {"log-level": "info\\nauth-token: simple"}', 'etcd_conf_settings\\.log-level', 'value'],
    ['etcd key newline', 'etcd_conf_settings: {"a\\nb": 1}', 'etcd_conf_settings\\["a\\\\nb"\\]', 'key'],
  ].map(([label, line, path, where]): Case => ({
    category: 'semantic',
    name: `control character: ${label}`,
    args: ['render', '{dir}'],
    edit: clusterVar(line!),
    code: 2,
    stderr: new RegExp(`config\\.yml:5: cluster_vars\\.${path}: the ${where} contains a control character`),
  })),
  {
    category: 'semantic',
    name: 'control character in instance haproxy_conf_settings',
    args: ['deploy', '{dir}'],
    edit: instVar('haproxy_conf_settings: {global: {log: "x\\ny"}}'),
    code: 2,
    stderr:
      /config\.yml:\d+: instances\[0\]\.vars\.haproxy_conf_settings\.global\.log: the value contains a control character \(a newline\)/,
  },
  {
    category: 'semantic',
    name: 'control character in -e pgbouncer_conf_settings',
    args: ['render', '{dir}', '-e', 'pgbouncer_conf_settings={pgbouncer: {pool_mode: "a\\nauth_type = trust"}}'],
    code: 2,
    stderr: /-e: pgbouncer_conf_settings\.pgbouncer\.pool_mode: the value contains a control character/,
  },
  {
    category: 'semantic',
    name: 'control character in -e etcd_conf_settings',
    args: ['deploy', '{dir}', '-e', 'etcd_conf_settings={"x": "a\\tb"}'],
    code: 2,
    stderr: /-e: etcd_conf_settings\.x: the value contains a control character \(a tab\)/,
  },
  // An empty --hosts must not mean "every host".
  ...['', ',', ' ', ' , , '].map((h): Case => ({
    category: 'flags',
    name: `deploy --hosts ${JSON.stringify(h)}`,
    args: ['deploy', '{dir}', '--hosts', h],
    code: 2,
    stderr: /--hosts .*names no host/,
  })),
  {
    category: 'flags',
    name: 'deploy --check --hosts ""',
    args: ['deploy', '{dir}', '--check', '--hosts', ''],
    code: 2,
    stderr: /--hosts "": names no host/,
  },
  // configure validates what it would write, and writes nothing when it is invalid.
  {
    category: 'flags',
    name: 'configure --hostnames-from with a duplicate address writes nothing',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--platform', 'bare', '--hostnames-from', '{fx}/hostnames-dup-ip.txt'],
    noCluster: true,
    code: 2,
    stderr: /config\.yml:\d+: instances\[1\]\.ip_address: 10\.250\.9\.11 is already/,
    after: (d) => expect(existsSync(d), `${d} was created`).toBe(false),
  },
  {
    category: 'flags',
    name: 'configure --hostnames-from with a bad host name writes nothing',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--platform', 'bare', '--hostnames-from', '{fx}/hostnames-bad-name.txt'],
    noCluster: true,
    code: 2,
    stderr: /config\.yml:\d+: instances\[1\]\.Name: must be a host name/,
    after: (d) => expect(existsSync(d), `${d} was created`).toBe(false),
  },
  // Keys that name JavaScript's object machinery are refused before any merge.
  ...[
    [
      '__proto__ in cluster_vars',
      clusterVar('__proto__: {patroni_listen_port: 1}'),
      /config\.yml:5: cluster_vars\.__proto__: "__proto__" cannot be a key/,
    ],
    [
      'constructor in cluster_vars',
      clusterVar('constructor: 1'),
      /config\.yml:5: cluster_vars\.constructor: "constructor" cannot be a key/,
    ],
    ['prototype in cluster_vars', clusterVar('prototype: {}'), /config\.yml:5: cluster_vars\.prototype: /],
    [
      '__proto__ nested in settings',
      clusterVar('patroni_conf_settings: {log: {__proto__: {level: DEBUG}}}'),
      /config\.yml:5: cluster_vars\.patroni_conf_settings\.log\.__proto__: /,
    ],
    ['__proto__ in instance vars', instVar('__proto__: {}'), /config\.yml:\d+: instances\[0\]\.vars\.__proto__: /],
    ['constructor in instance vars', instVar('constructor: {a: 1}'), /config\.yml:\d+: instances\[0\]\.vars\.constructor: /],
    [
      '__proto__ in instance_defaults.vars',
      replace('  vars: {}', '  vars: {__proto__: {a: 1}}'),
      /config\.yml:\d+: instance_defaults\.vars\.__proto__: /,
    ],
    ['__proto__ at the top level', (y: string) => `${y}__proto__: {}\n`, /config\.yml:\d+: __proto__: /],
    [
      '__proto__ in an instance',
      replace('  - Name: pg1\n', '  - Name: pg1\n    __proto__: {}\n'),
      /config\.yml:\d+: instances\[0\]\.__proto__: /,
    ],
  ].map(([label, edit, stderr]): Case => ({
    category: 'semantic',
    name: `reserved key: ${label as string}`,
    args: ['render', '{dir}'],
    edit: edit as (y: string) => string,
    code: 2,
    stderr: stderr as RegExp,
  })),
  {
    category: 'flags',
    name: 'reserved key: -e __proto__=',
    args: ['render', '{dir}', '-e', '__proto__={patroni_listen_port: 1}'],
    code: 2,
    stderr: /-e __proto__: "__proto__" cannot be a variable name/,
  },
  {
    category: 'flags',
    name: 'reserved key: -e constructor=',
    args: ['deploy', '{dir}', '-e', 'constructor=1'],
    code: 2,
    stderr: /-e constructor: /,
  },
  {
    category: 'flags',
    name: 'reserved key: nested in an -e value',
    args: ['render', '{dir}', '-e', 'patroni_conf_settings={__proto__: {a: 1}}'],
    code: 2,
    stderr: /-e: patroni_conf_settings\.__proto__: "__proto__" cannot be a key/,
  },
  // explain names only variables, never what Object.prototype holds.
  ...['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'no_such_variable'].map((v): Case => ({
    category: 'command',
    name: `explain ${v}`,
    args: ['explain', '{dir}', 'pg1', v],
    code: 2,
    stderr: new RegExp(`VAR ${v}: unknown variable`),
  })),
  // etcd size.
  {
    category: 'semantic',
    name: 'nine etcd members',
    args: ['render', '{dir}'],
    edit: (y) =>
      y +
      [5, 6, 7, 8, 9, 10]
        .map((n) => `  - Name: etcd${n}\n    node: ${n}\n    location: main\n    role:\n      - etcd\n    ip_address: 10.250.7.${n + 10}\n`)
        .join(''),
    code: 2,
    stderr: /config\.yml:\d+: instances: 9 instances have role etcd; etcd supports at most 7 members/,
  },
  {
    category: 'flags',
    name: 'configure --etcd-nodes 9',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--etcd-nodes', '9', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /--etcd-nodes/,
    after: (d) => expect(existsSync(d)).toBe(false),
  },
  {
    category: 'flags',
    name: 'configure --etcd-nodes 4',
    args: ['configure', '{dir}', '-a', 'M1', '--enable-patroni', '--etcd-nodes', '4', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /--etcd-nodes 4/,
  },
  // A control character in the cluster directory's path never reaches a file.
  ...[
    ['configure', ['configure', '{dir}/a\nb', '-a', 'M1', '--enable-patroni', '--subnet', SUBNET]],
    ['render', ['render', '{dir}/x\ny']],
    ['deploy', ['deploy', '{dir}/x\ty']],
    ['show-password', ['show-password', '{dir}/x\ny', 'postgres']],
  ].map(([cmd, args]): Case => ({
    category: 'files',
    name: `control character in DIR (${cmd as string})`,
    args: args as string[],
    noCluster: true,
    code: 2,
    stderr: /cluster directory ".*": the path contains a control character/,
  })),
  // Package versions reach apt: Debian's version characters only.
  ...['postgres', 'patroni', 'etcd', 'haproxy', 'pgbouncer'].map((c): Case => ({
    category: 'schema',
    name: `${c}_package_version with a space`,
    args: ['render', '{dir}'],
    edit: clusterVar(`${c}_package_version: "1.0 -1"`),
    code: 2,
    stderr: new RegExp(`config\\.yml:5: cluster_vars\\.${c}_package_version: must be a Debian package version`),
  })),
  {
    category: 'schema',
    name: 'package version not starting with a digit',
    args: ['deploy', '{dir}'],
    edit: clusterVar('patroni_package_version: latest'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_package_version: must be a Debian package version/,
  },
  {
    category: 'schema',
    name: 'package version with a shell metacharacter',
    args: ['render', '{dir}'],
    edit: instVar('postgres_package_version: "15.18;reboot"'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[0\]\.vars\.postgres_package_version: /,
  },
  {
    category: 'flags',
    name: 'upgrade -e package version with a space',
    args: ['upgrade', '{dir}', '--components=patroni', '-e', 'patroni_package_version=3.0.2 -1'],
    code: 2,
    stderr: /-e: patroni_package_version: must be a Debian package version/,
  },
  // config.yml must be a regular file of sane size, in UTF-8.
  {
    category: 'files',
    name: 'config.yml is a FIFO (render)',
    args: ['render', '{dir}'],
    setup: (d) => {
      unlinkSync(join(d, 'config.yml'));
      spawnSync('mkfifo', [join(d, 'config.yml')]);
    },
    code: 2,
    stderr: /config\.yml: is a FIFO, not a regular file/,
  },
  {
    category: 'files',
    name: 'config.yml is a FIFO (status)',
    args: ['status', '{dir}'],
    setup: (d) => {
      unlinkSync(join(d, 'config.yml'));
      spawnSync('mkfifo', [join(d, 'config.yml')]);
    },
    code: 2,
    stderr: /config\.yml: is a FIFO, not a regular file/,
  },
  {
    category: 'files',
    name: 'config.yml links to /dev/urandom',
    args: ['deploy', '{dir}'],
    setup: (d) => {
      unlinkSync(join(d, 'config.yml'));
      symlinkSync('/dev/urandom', join(d, 'config.yml'));
    },
    code: 2,
    stderr: /config\.yml: is a device, not a regular file/,
  },
  {
    category: 'files',
    name: 'config.yml links to /dev/zero',
    args: ['render', '{dir}'],
    setup: (d) => {
      unlinkSync(join(d, 'config.yml'));
      symlinkSync('/dev/zero', join(d, 'config.yml'));
    },
    code: 2,
    stderr: /config\.yml: is a device/,
  },
  {
    category: 'files',
    name: 'config.yml over 4 MiB',
    args: ['render', '{dir}'],
    setup: (d) => truncateSync(join(d, 'config.yml'), 5 * 1024 * 1024),
    code: 2,
    stderr: /config\.yml: is 5242880 bytes, more than the 4194304/,
  },
  ...[
    ['render', 4, [0xe9]],
    ['deploy', 4, [0xc3, 0x28]],
    ['status', 4, [0xff, 0xfe]],
    ['explain', 4, [0xed, 0xa0, 0x80]],
  ].map(([cmd, line, bytes]): Case => ({
    category: 'files',
    name: `config.yml not UTF-8 (${cmd as string})`,
    args: cmd === 'explain' ? ['explain', '{dir}', 'pg1', 'postgres_port'] : [cmd as string, '{dir}'],
    setup: (d) => {
      const text = readFileSync(join(d, 'config.yml'));
      const at = text.indexOf('cluster_vars:');
      writeFileSync(
        join(d, 'config.yml'),
        Buffer.concat([text.subarray(0, at), Buffer.from('# '), Buffer.from(bytes as number[]), Buffer.from('\n'), text.subarray(at)]),
      );
    },
    code: 2,
    stderr: new RegExp(`config\\.yml:${line as number}: not valid UTF-8`),
  })),
  // A symlinked secret is refused everywhere, never followed.
  ...[
    ['show-password', ['show-password', '{dir}', 'postgres']],
    ['render', ['render', '{dir}']],
    ['deploy', ['deploy', '{dir}']],
    ['test', ['test', '{dir}']],
  ].map(([cmd, args]): Case => ({
    category: 'files',
    name: `secrets/postgres is a symlink (${cmd as string})`,
    args: args as string[],
    setup: (d) => {
      writeFileSync(join(d, 'elsewhere'), 'a-password-from-elsewhere\n');
      unlinkSync(join(d, 'secrets', 'postgres'));
      symlinkSync(join(d, 'elsewhere'), join(d, 'secrets', 'postgres'));
    },
    code: 2,
    stderr: /secrets\/postgres is a symbolic link; pgha does not follow links/,
    stdout: /^(?![\s\S]*a-password-from-elsewhere)/,
  })),
  // systemd-nspawn's bind mounts split at ':'.
  {
    category: 'files',
    name: 'configure nspawn in a path with ":"',
    args: ['configure', '{dir}/../a:b/c', '-a', 'M1', '--enable-patroni', '--subnet', SUBNET],
    noCluster: true,
    code: 2,
    stderr: /a:b\/c: the path contains ":"/,
    after: (d) => expect(existsSync(join(d, '..', 'a:b'))).toBe(false),
  },
  {
    category: 'files',
    name: 'provision nspawn in a path with ":"',
    args: ['provision', '{dir}/../a:b/c'],
    setup: (d) => cpSync(d, join(d, '..', 'a:b', 'c'), { recursive: true }),
    code: 2,
    stderr: /cluster directory .*a:b\/c: the path contains ":"/,
  },

  // ---- issue 12, what the lead fixed: each refused with exit 2 at its line ---------------------
  {
    category: 'semantic',
    name: 'cluster_name not the directory name',
    args: ['deploy', '{dir}'],
    edit: replace('cluster_name: c', 'cluster_name: other'),
    code: 2,
    stderr: /config\.yml:3: cluster_name: is "other", but the cluster directory .* is named "c"/,
  },
  {
    category: 'semantic',
    name: 'cluster_name not the directory name (deprovision)',
    args: ['deprovision', '{dir}'],
    edit: replace('cluster_name: c', 'cluster_name: other'),
    code: 2,
    stderr: /config\.yml:3: cluster_name: /,
  },
  {
    category: 'semantic',
    name: 'postgres_users declares the superuser',
    args: ['deploy', '{dir}'],
    edit: clusterVar('postgres_users: [{username: postgres}]'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.postgres_users\[0\]\.username: postgres is patroni_super_user, which pgha creates and manages/,
  },
  {
    category: 'semantic',
    name: 'postgres_users declares a user twice',
    args: ['render', '{dir}'],
    edit: clusterVar('postgres_users: [{username: app}, {username: app}]'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.postgres_users\[1\]\.username: app is declared twice/,
  },
  {
    category: 'semantic',
    name: 'postgres_users role_attrs outside the allowlist',
    args: ['render', '{dir}'],
    edit: clusterVar("postgres_users: [{username: app, role_attrs: ['LOGIN; DROP TABLE x']}]"),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.postgres_users\[0\]\.role_attrs\[0\]: "LOGIN; DROP TABLE x" is not a role attribute/,
  },
  {
    category: 'semantic',
    name: 'postgres_databases owner neither declared nor the superuser',
    args: ['deploy', '{dir}', '--check'],
    edit: clusterVar('postgres_databases: [{name: appdb, owner: nobody}]'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.postgres_databases\[0\]\.owner: "nobody" is neither a user of postgres_users nor the superuser/,
  },
  {
    category: 'schema',
    name: 'postgres_databases name with a newline',
    args: ['render', '{dir}'],
    edit: clusterVar('postgres_databases: [{name: "a\\nb"}]'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.postgres_databases\[0\]\.name: must be a PostgreSQL name/,
  },
  {
    category: 'semantic',
    name: 'postgres_hba_settings line with a newline',
    args: ['render', '{dir}'],
    edit: clusterVar('postgres_hba_settings: ["host all all 0.0.0.0/0 trust\\nlocal all all trust"]'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.postgres_hba_settings\[0\]: holds a line break or control character/,
  },
  {
    category: 'semantic',
    name: 'postgres_hba_settings line of an unknown type',
    args: ['render', '{dir}'],
    edit: clusterVar('postgres_hba_settings: ["include_dir /etc"]'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.postgres_hba_settings\[0\]: starts with "include_dir"/,
  },
  {
    category: 'semantic',
    name: 'patroni_etcd_user root with basic etcd auth',
    args: ['render', '{dir}'],
    edit: clusterVar('patroni_etcd_user: root'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_etcd_user: root is etcd's own superuser/,
  },
  {
    category: 'semantic',
    name: 'patroni_etcd_user etcd_root',
    args: ['render', '{dir}'],
    edit: clusterVar('patroni_etcd_user: etcd_root'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_etcd_user: etcd_root is the name pgha keeps/,
  },
  {
    category: 'semantic',
    name: 'patroni_replication_user postgres (shared user)',
    args: ['deploy', '{dir}'],
    edit: clusterVar('patroni_replication_user: postgres'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_replication_user: .*both "postgres"/,
  },
  {
    category: 'semantic',
    name: 'patroni_rewind_user postgres (shared user)',
    args: ['render', '{dir}'],
    edit: clusterVar('patroni_rewind_user: postgres'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_rewind_user: .*both "postgres"/,
  },
  {
    category: 'semantic',
    name: 'patroni_restapi_user replicator (shared user)',
    args: ['render', '{dir}'],
    edit: clusterVar('patroni_restapi_user: replicator'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_restapi_user: .*both "replicator"/,
  },
  {
    category: 'semantic',
    name: 'patroni_super_user a pg_ role',
    args: ['render', '{dir}'],
    edit: clusterVar('patroni_super_user: pg_admin'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_super_user: PostgreSQL reserves role names starting with pg_/,
  },
  {
    category: 'semantic',
    name: 'patroni_replication_user a pg_ role',
    args: ['deploy', '{dir}'],
    edit: clusterVar('patroni_replication_user: pg_repl'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_replication_user: PostgreSQL reserves role names/,
  },
  {
    category: 'semantic',
    name: 'postgres_listen_addresses 127.0.0.1 only',
    args: ['render', '{dir}'],
    edit: clusterVar('postgres_listen_addresses: 127.0.0.1'),
    code: 2,
    stderr:
      /config\.yml:5: cluster_vars\.postgres_listen_addresses: PostgreSQL on pg1, pg2, pg3 would not listen on the instance's ip_address/,
  },
  {
    category: 'semantic',
    name: 'postgres_listen_addresses one member address only',
    args: ['render', '{dir}'],
    edit: clusterVar('postgres_listen_addresses: 10.250.7.11'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.postgres_listen_addresses: PostgreSQL on pg1 would not listen on 127\.0\.0\.1/,
  },
  {
    category: 'semantic',
    name: 'haproxy_port 8404 clashes with the stats listener',
    args: ['render', '{dir}'],
    edit: clusterVar('haproxy_port: 8404'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.haproxy_port: .*both 8404 on proxy1/,
  },
  {
    category: 'semantic',
    name: 'haproxy_read_only_port 8404 clashes with the stats listener',
    args: ['render', '{dir}'],
    edit: (y) => clusterVar('haproxy_read_only_load_balancer_enabled: true')(clusterVar('haproxy_read_only_port: 8404')(y)),
    code: 2,
    stderr: /config\.yml:6: cluster_vars\.haproxy_read_only_port: .*both 8404 on proxy1/,
  },
  {
    category: 'semantic',
    name: 'haproxy_port equals haproxy_read_only_port',
    args: ['render', '{dir}'],
    edit: (y) =>
      clusterVar('haproxy_read_only_load_balancer_enabled: true')(
        clusterVar('haproxy_read_only_port: 5000')(clusterVar('haproxy_port: 5000')(y)),
      ),
    code: 2,
    stderr: /config\.yml:\d: cluster_vars\.haproxy_read_only_port: haproxy_port \(HAProxy\) and haproxy_read_only_port .* both 5000/,
  },
  // ---- synchronous replication (issue 14) ------------------------------------------------------------
  {
    category: 'schema',
    name: 'patroni_synchronous_mode not off, on or strict',
    args: ['render', '{dir}'],
    edit: clusterVar('patroni_synchronous_mode: always'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_synchronous_mode: must be one of off, on, strict/,
  },
  {
    category: 'schema',
    name: 'patroni_synchronous_node_count 0',
    args: ['deploy', '{dir}', '--check'],
    edit: clusterVar('patroni_synchronous_node_count: 0'),
    code: 2,
    stderr: /config\.yml:5: cluster_vars\.patroni_synchronous_node_count: must be an integer, 1 or more/,
  },
  {
    category: 'semantic',
    name: 'patroni_synchronous_node_count above the replicas',
    args: ['deploy', '{dir}'],
    edit: (y) => clusterVar('patroni_synchronous_mode: strict')(clusterVar('patroni_synchronous_node_count: 3')(y)),
    code: 2,
    stderr:
      /config\.yml:6: cluster_vars\.patroni_synchronous_node_count: patroni_synchronous_node_count is 3, but the cluster has 2 replicas .*set it to at most 2/,
  },
  {
    category: 'semantic',
    name: 'patroni_synchronous_mode set per instance',
    args: ['render', '{dir}'],
    edit: instVar('patroni_synchronous_mode: strict'),
    code: 2,
    stderr: /config\.yml:\d+: instances\[0\]\.vars\.patroni_synchronous_mode: must be the same on every host .*set it once in cluster_vars/,
  },
  {
    category: 'semantic',
    name: 'haproxy_sync_read_port equals haproxy_port',
    args: ['render', '{dir}'],
    edit: (y) => clusterVar('patroni_synchronous_mode: on')(clusterVar('haproxy_sync_read_port: 5432')(y)),
    code: 2,
    stderr:
      /config\.yml:6: cluster_vars\.haproxy_sync_read_port: haproxy_port \(HAProxy\) and haproxy_sync_read_port .* both 5432 on proxy1/,
  },
  {
    category: 'warning',
    name: 'haproxy_sync_read_port without synchronous replication (render)',
    args: ['render', '{dir}', '--host', 'proxy1', '--file', 'haproxy.cfg'],
    edit: clusterVar('haproxy_sync_read_port: 5434'),
    code: 0,
    stderr: /config\.yml:5: cluster_vars\.haproxy_sync_read_port: the synchronous-standby read frontend has no server/,
    stdout: /frontend pgha_sync/,
    why: 'legal but useless: a warning, render still works',
  },
  {
    category: 'files',
    name: 'secret file holding 3 characters (render)',
    args: ['render', '{dir}'],
    setup: (d) => writeFileSync(join(d, 'secrets', 'postgres'), 'abc\n'),
    code: 2,
    stderr: /secrets\/postgres holds a password of 3 characters; pgha needs at least 12/,
  },
  {
    category: 'files',
    name: 'secret file holding 3 characters (deploy)',
    args: ['deploy', '{dir}'],
    setup: (d) => writeFileSync(join(d, 'secrets', 'replicator'), 'abc'),
    code: 2,
    stderr: /secrets\/replicator holds a password of 3 characters/,
  },
  {
    category: 'files',
    name: 'secret file holding two lines',
    args: ['render', '{dir}'],
    setup: (d) => writeFileSync(join(d, 'secrets', 'postgres'), 'first-line-long-enough\nsecond\n'),
    code: 2,
    stderr: /secrets\/postgres holds more than one line/,
  },
  {
    category: 'files',
    name: 'secret file empty',
    args: ['show-password', '{dir}', 'postgres'],
    setup: (d) => writeFileSync(join(d, 'secrets', 'postgres'), ''),
    code: 2,
    stderr: /secrets\/postgres is empty/,
  },
  {
    category: 'flags',
    name: 'provision --known-hosts /nonexistent on a bare cluster',
    args: ['provision', '{dir}', '--known-hosts', '/nonexistent'],
    edit: replace('platform: nspawn', 'platform: bare'),
    code: 2,
    stderr: /--known-hosts \/nonexistent: /,
  },
];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  connects: string;
  /** The case's {dir}. */
  dir: string;
}

let work = '';
let base = '';
const results = new Map<string, Result>();

function runBin(args: string[], log: string, env: Record<string, string> = {}): Promise<Omit<Result, 'dir'>> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: work,
      env: {
        ...process.env,
        NODE_OPTIONS: `--require=${PRELOAD}`,
        PGHA_CONNECT_LOG: log,
        NO_COLOR: '1',
        SSH_AUTH_SOCK: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, connects: existsSync(log) ? readFileSync(log, 'utf8') : '' });
    });
  });
}

async function runCase(c: Case, i: number): Promise<Result> {
  const dir = join(work, `case${i}`, 'c');
  if (!c.noCluster) {
    cpSync(base, dir, { recursive: true });
    if (c.edit) writeFileSync(join(dir, 'config.yml'), c.edit(readFileSync(join(dir, 'config.yml'), 'utf8')));
    c.setup?.(dir);
  }
  const args = c.args.map((a) => a.replaceAll('{dir}', dir).replaceAll('{fx}', FX));
  return { ...(await runBin(args, join(work, `case${i}.connects`), c.env)), dir };
}

beforeAll(
  async () => {
    work = mkdtempSync(join(tmpdir(), 'pgha-bad-input-'));
    base = join(work, 'base', 'c');
    const made = await runBin(
      ['configure', base, '-a', 'M1', '--enable-patroni', '--enable-haproxy', '--subnet', SUBNET],
      join(work, 'base.connects'),
    );
    if (made.code !== 0) throw new Error(`configure failed: ${made.stderr}`);
    chmodSync(base, 0o700);
    // Pin (fake) host keys, so that commands get past "run pgha provision" to where they would
    // connect: that is where reading the SSH key and checking member names must already have failed.
    const pub = readFileSync(join(base, 'ssh', 'id_pgha.pub'), 'utf8')
      .trim()
      .split(/\s+/);
    const pinned = [11, 12, 13, 14].map((n) => `10.250.7.${n} ${pub[0]} ${pub[1]}\n`).join('');
    writeFileSync(join(base, 'ssh', 'known_hosts'), pinned);
    const queue = CASES.map((c, i) => [c, i] as const);
    const workers = Array.from({ length: 6 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [c, i] = next;
        results.set(c.name, await runCase(c, i));
      }
    });
    await Promise.all(workers);
    // Each case starts node; on a loaded machine that is seconds: scale with the number of cases.
  },
  Math.max(180_000, CASES.length * 2_500),
);

afterAll(() => {
  // PGHA_BAD_INPUT_TABLE=FILE: write what every case gave, as a Markdown table (for review).
  const table = process.env.PGHA_BAD_INPUT_TABLE;
  if (table) {
    const rows = CASES.map((c) => {
      const r = results.get(c.name);
      const first = (r?.stderr ?? '').split('\n').find((l) => l.trim()) ?? '';
      return `| ${c.category} | ${c.name} | ${c.code} | ${r?.code ?? '-'} | ${first.replaceAll('|', '\\|').slice(0, 160)} |`;
    });
    writeFileSync(table, ['| category | case | expected | got | first stderr line |', '|---|---|---|---|---|', ...rows].join('\n') + '\n');
  }
  if (work && !process.env.KEEP_BAD_INPUT) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('bad input through the built binary', () => {
  it('has at least 200 cases, with unique names', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(200);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [`${c.category}: ${c.name}`, c] as const))('%s', (_label, c) => {
    const r = results.get(c.name);
    expect(r, 'case did not run').toBeDefined();
    if (!r) return;
    const shown = `exit ${r.code}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout.slice(0, 2000)}`;
    expect(r.connects, `a connection was attempted:\n${shown}`).toBe('');
    expect(r.stderr, `stack trace:\n${shown}`).not.toMatch(/\n\s+at /);
    expect(r.stderr, `internal error:\n${shown}`).not.toMatch(/internal error|this is a bug/i);
    expect(r.stderr, shown).toMatch(c.stderr);
    if (c.stdout) expect(r.stdout, shown).toMatch(c.stdout);
    expect(r.code, shown).toBe(c.code);
    c.after?.(r.dir);
  });
});
