/**
 * Regression tests for the low findings of the security audit (issue 12), one block per finding.
 * Bad input through the built binary is also covered, case by case, in bad-input.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { explainVariable } from '../../src/app/explain.js';
import { buildConfig } from '../../src/config/configure.js';
import { parseConfigText, readConfigFile } from '../../src/config/load.js';
import { invalidUtf8Line, MAX_CONFIG_BYTES, readConfigText } from '../../src/config/read-text.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError, formatProblem, UsageError } from '../../src/errors.js';
import { resolveCluster } from '../../src/model/resolve.js';
import { ensureSshKey } from '../../src/pki/sshkey.js';
import { nspawnPlatform } from '../../src/platforms/nspawn/index.js';
import { bindMountProblem } from '../../src/platforms/nspawn/paths.js';
import { ensureSecrets, loadSecrets, readSecret } from '../../src/secrets/store.js';
import { parseExtraVars } from '../../src/config/extra-vars.js';
import { writeRenderedTree } from '../../src/app/render-out.js';
import { renderFiles } from '../../src/app/render.js';
import { ensureClusterMaterial, loadCluster } from '../../src/app/cluster-dir.js';
import { deploy } from '../../src/app/deploy/index.js';
import type { Vars } from '../../src/model/types.js';
import { configureOptions } from './configure-options.js';

const fixtures = resolve(import.meta.dirname, '../fixtures/');
const base = readFileSync(join(fixtures, 'valid', 'm1-haproxy.yml'), 'utf8');
const withClusterVars = (lines: string) => base.replace('cluster_vars:\n', `cluster_vars:\n${lines}`);

function errorsOf(text: string, extraVars: Vars = {}): string[] {
  try {
    validateConfig(parseConfigText(text, 'config.yml'), extraVars);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pgha-audit-low-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('patroni_repl_max_lag: a size without a space (HAProxy puts it in a URI)', () => {
  const ro = (lag: string) => withClusterVars(`  haproxy_read_only_load_balancer_enabled: true\n  patroni_repl_max_lag: ${lag}\n`);
  it.each(['"16 MB"', '"1 GB"', '16 kB', '"16MB "', '-1', '"16 "'])('refuses %s at its line', (lag) => {
    const errs = errorsOf(ro(lag));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^config\.yml:6: cluster_vars\.patroni_repl_max_lag: .*no space like 16MB/);
  });
  it.each(['0', '1048576', '16MB', '16kB', '"1GB"', '512B'])('accepts %s', (lag) => {
    expect(errorsOf(ro(lag))).toEqual([]);
  });
});

describe('control characters in line-based settings', () => {
  it.each([
    ['haproxy_conf_settings', '{global: {maxconn: "100\\nlisten x\\n  stats admin if TRUE"}}', 'global.maxconn', 'value'],
    ['haproxy_conf_settings', '{defaults: {"timeout\\nclient": 30s}}', 'defaults["timeout\\nclient"]', 'key'],
    ['haproxy_conf_settings', '{listens: {s: {bind: [":8405", "x\\ry"]}}}', 'listens.s.bind[1]', 'value'],
    ['pgbouncer_conf_settings', '{pgbouncer: {pool_mode: "session\\nauth_type = trust"}}', 'pgbouncer.pool_mode', 'value'],
    ['pgbouncer_conf_settings', '{pgbouncer: {max_client_conn: "1\\u007f"}}', 'pgbouncer.max_client_conn', 'value'],
    ['etcd_conf_settings', '{"log-level": "info\\u0000"}', 'log-level', 'value'],
    ['etcd_conf_settings', '{"a\\tb": 1}', '["a\\tb"]', 'key'],
  ])('%s %s is refused at its line', (name, value, path, where) => {
    const errs = errorsOf(withClusterVars(`  ${name}: ${value}\n`));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain(
      `config.yml:5: cluster_vars.${name}${path.startsWith('[') ? '' : '.'}${path}: the ${where} contains a control character`,
    );
  });
  it('also in instance vars and -e', () => {
    const inInstance = base.replace(
      '    role: [haproxy]\n',
      '    role: [haproxy]\n    vars:\n      haproxy_conf_settings: {global: {log: "a\\nb"}}\n',
    );
    expect(errorsOf(inInstance)[0]).toMatch(
      /^config\.yml:\d+: instances\[3\]\.vars\.haproxy_conf_settings\.global\.log: the value contains a control character \(a newline\)/,
    );
    expect(errorsOf(base, { pgbouncer_conf_settings: { pgbouncer: { x: 'a\nb' } } })[0]).toMatch(
      /^-e: pgbouncer_conf_settings\.pgbouncer\.x: /,
    );
  });
  it('accepts ordinary values (spaces, quotes, unicode)', () => {
    expect(
      errorsOf(withClusterVars('  haproxy_conf_settings: {global: {log: "/dev/log local0 notice", "tune.ssl.default-dh-param": 2048}}\n')),
    ).toEqual([]);
  });
});

describe('reserved keys (__proto__, constructor, prototype)', () => {
  it.each([
    ['cluster_vars', withClusterVars('  __proto__: {patroni_listen_port: 1}\n'), 'config.yml:5: cluster_vars.__proto__: '],
    [
      'nested',
      withClusterVars('  patroni_conf_settings: {log: {constructor: 1}}\n'),
      'config.yml:5: cluster_vars.patroni_conf_settings.log.constructor: ',
    ],
    [
      'instance vars',
      base.replace('    role: [haproxy]\n', '    role: [haproxy]\n    vars: {prototype: 1}\n'),
      'config.yml:36: instances[3].vars.prototype: ',
    ],
    ['top level', `${base}__proto__: {}\n`, 'config.yml:37: __proto__: '],
  ])('%s: refused at its line, before the merge', (_label, text, start) => {
    const errs = errorsOf(text);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.slice(0, start.length)).toBe(start);
    expect(errs[0]).toContain('cannot be a key');
  });
  it.each(['toString', 'valueOf', 'hasOwnProperty'])(
    '%s, in items the schema compares, is refused at its line, not an internal error',
    (key) => {
      // Two equal objects in an array with uniqueItems: the schema's deep comparison called the
      // item's `toString`, here a number (TypeError, reported as a pgha bug).
      const text = base.replace('    role: [haproxy]\n', `    role: [haproxy, {${key}: 1}, {${key}: 1}]\n`);
      const errs = errorsOf(text);
      expect(errs).toHaveLength(2);
      expect(errs[0]).toMatch(new RegExp(`^config\\.yml:\\d+: instances\\[3\\]\\.role\\[1\\]\\.${key}: "${key}" cannot be a key`));
    },
  );
  it('in -e values, and -e __proto__ itself', () => {
    expect(errorsOf(base, parseExtraVars(['patroni_conf_settings={__proto__: {a: 1}}']))).toEqual([
      expect.stringMatching(/^-e: patroni_conf_settings\.__proto__: "__proto__" cannot be a key/),
    ]);
    for (const k of ['__proto__', 'constructor', 'prototype']) expect(() => parseExtraVars([`${k}=1`])).toThrow(UsageError);
  });
});

describe('explain: only own variables', () => {
  const loaded = validateConfig(parseConfigText(base, 'config.yml'));
  const cluster = resolveCluster(loaded.config, {});
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'no_such_variable'])('%s is an unknown variable (exit 2)', (v) => {
    expect(() => explainVariable(cluster, 'pg1', v)).toThrow(UsageError);
    expect(() => explainVariable(cluster, 'pg1', v)).toThrow(/unknown variable/);
  });
  it('does not walk into prototypes below a known variable', () => {
    expect(explainVariable(cluster, 'pg1', 'patroni_conf_settings.constructor')).toMatch(/is unset/);
    expect(explainVariable(cluster, 'pg1', 'patroni_listen_port')).toMatch(/= 8008/);
  });
});

describe('etcd size', () => {
  const opts = (dataNodes: number, etcdNodes = 0) => configureOptions({ dataNodes, etcdNodes, subnet: '10.1.2.0/24' });
  const etcdCount = (n: number) => buildConfig(opts(n), nspawnPlatform.configure).instances.filter((i) => i.role.includes('etcd')).length;
  it('configure co-locates etcd on at most 5 data nodes', () => {
    expect(etcdCount(1)).toBe(1);
    expect(etcdCount(3)).toBe(3);
    expect(etcdCount(5)).toBe(5);
    expect(etcdCount(6)).toBe(5);
    expect(etcdCount(49)).toBe(5);
    expect(() => buildConfig(opts(4), nspawnPlatform.configure)).toThrow(/even etcd/);
    expect(() => buildConfig(opts(3, 9), nspawnPlatform.configure)).toThrow(/--etcd-nodes 9/);
  });
  it('what configure writes for 49 data nodes validates', () => {
    const text = JSON.stringify(buildConfig(opts(49), nspawnPlatform.configure));
    expect(errorsOf(text)).toEqual([]);
  });
  it('validation refuses more than 7 etcd members, naming the count', () => {
    const cfg = buildConfig(opts(9, 0), nspawnPlatform.configure);
    cfg.instances.forEach((i) => i.role.includes('etcd') || i.role.push('etcd'));
    const errs = errorsOf(JSON.stringify(cfg, null, 1));
    expect(errs).toEqual([
      expect.stringMatching(/^config\.yml:\d+: instances: 9 instances have role etcd; etcd supports at most 7 members/),
    ]);
  });
});

describe('SSH key comment', () => {
  it('keeps a safe fixed form whatever the directory is called', async () => {
    const dir = join(tmp, 'odd\nname ssh-rsa AAAA');
    mkdirSync(dir, { recursive: true });
    const key = await ensureSshKey(dir);
    expect(key.publicKeyLine.split('\n')).toHaveLength(1);
    expect(key.publicKeyLine).toMatch(/^ssh-ed25519 \S+ pgha-odd_name_ssh-rsa_AAAA$/);
  });
});

describe('package versions', () => {
  it.each(['"3.0.2 -1"', '"3.0.2-1; rm -rf /"', '"latest"', '""', '"-1"', '"1\\n2"'])('%s is refused at its line', (v) => {
    const errs = errorsOf(withClusterVars(`  patroni_package_version: ${v}\n`));
    expect(errs).toEqual([
      expect.stringMatching(/^config\.yml:5: cluster_vars\.patroni_package_version: must be a Debian package version/),
    ]);
  });
  it.each(['"3.0.2-1"', '"3.0.2-1+pgha1"', '"1:15.18-0+deb12u1"', '"2.6.12-1+deb12u3~bpo1"', '"15.*"'])('%s is accepted', (v) => {
    for (const name of ['postgres', 'patroni', 'etcd', 'haproxy', 'pgbouncer']) {
      expect(errorsOf(withClusterVars(`  ${name}_package_version: ${v}\n`))).toEqual([]);
    }
  });
});

describe('reading config.yml', () => {
  it('refuses a FIFO without blocking', () => {
    const fifo = join(tmp, 'fifo.yml');
    spawnSync('mkfifo', [fifo]);
    const r = readConfigText(fifo);
    expect(r).toEqual({ message: expect.stringMatching(/is a FIFO, not a regular file/) });
  });
  it('refuses a device', () => {
    expect(readConfigText('/dev/urandom')).toEqual({ message: expect.stringMatching(/is a device/) });
  });
  it('refuses a file over the limit before reading it', () => {
    const big = join(tmp, 'big.yml');
    writeFileSync(big, '');
    spawnSync('truncate', ['-s', String(MAX_CONFIG_BYTES + 1), big]);
    expect(readConfigText(big)).toEqual({ message: expect.stringMatching(/more than the 4194304/) });
  });
  it('refuses invalid UTF-8 at its line', () => {
    mkdirSync(join(tmp, 'latin1'));
    const f = join(tmp, 'latin1', 'config.yml');
    writeFileSync(f, Buffer.concat([Buffer.from('architecture: M1\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const doc = readConfigFile(f);
    expect(doc.problems.map(formatProblem)).toEqual([
      'config.yml:2: not valid UTF-8; save the file as UTF-8 (pgha does not guess encodings)',
    ]);
  });
  it('finds the first bad byte, and accepts valid multi-byte text', () => {
    expect(invalidUtf8Line(Buffer.from('a: é\nb: 日本\n'))).toBeUndefined();
    expect(invalidUtf8Line(Buffer.from([0x61, 0x0a, 0x62, 0x0a, 0xc3]))).toBe(3);
    expect(invalidUtf8Line(Buffer.from([0xff]))).toBe(1);
  });
});

describe('symlinked secrets', () => {
  it('are refused by show-password, deploy and render alike, never followed', async () => {
    const dir = join(tmp, 'sec');
    await ensureSecrets(dir, ['postgres']);
    const outside = join(tmp, 'outside');
    writeFileSync(outside, 'a-password-from-elsewhere\n');
    unlinkSync(join(dir, 'secrets', 'postgres'));
    symlinkSync(outside, join(dir, 'secrets', 'postgres'));
    await expect(readSecret(dir, 'postgres')).rejects.toThrow(/secrets\/postgres is a symbolic link/);
    await expect(loadSecrets(dir)).rejects.toThrow(/is a symbolic link/);
    await expect(ensureSecrets(dir, ['postgres'])).rejects.toThrow(/is a symbolic link/);
  });
});

describe('render --out and planted symlinks', () => {
  const files = [
    { rel: 'pg1/etc/a.conf', content: 'a\n' },
    { rel: 'pg1/etc/patroni/pg.yml', content: 'p\n' },
  ];
  it('refuses a linked directory on the way, naming it, and writes nothing', () => {
    const out = join(tmp, 'out-dir-link');
    const elsewhere = join(tmp, 'elsewhere-dir');
    mkdirSync(elsewhere);
    mkdirSync(join(out, 'pg1'), { recursive: true });
    symlinkSync(elsewhere, join(out, 'pg1', 'etc'));
    let err: unknown;
    try {
      writeRenderedTree(out, files);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toContain(`${join(out, 'pg1', 'etc')} is a symbolic link`);
    expect(existsSync(join(elsewhere, 'a.conf'))).toBe(false);
    expect(existsSync(join(elsewhere, 'patroni'))).toBe(false);
  });
  it('refuses a linked file, leaving its target and the rest of the tree untouched', () => {
    const out = join(tmp, 'out-file-link');
    const victim = join(tmp, 'victim.txt');
    writeFileSync(victim, 'keep me\n');
    mkdirSync(join(out, 'pg1', 'etc', 'patroni'), { recursive: true });
    symlinkSync(victim, join(out, 'pg1', 'etc', 'patroni', 'pg.yml'));
    expect(() => writeRenderedTree(out, files)).toThrow(/patroni\/pg\.yml is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
    expect(existsSync(join(out, 'pg1', 'etc', 'a.conf'))).toBe(false);
  });
  it('writes the tree when there is no link, and rewrites its own files', () => {
    const out = join(tmp, 'out-clean');
    writeRenderedTree(out, files);
    writeRenderedTree(out, [{ rel: 'pg1/etc/a.conf', content: 'b\n' }]);
    expect(readFileSync(join(out, 'pg1', 'etc', 'a.conf'), 'utf8')).toBe('b\n');
    expect(readFileSync(join(out, 'pg1', 'etc', 'patroni', 'pg.yml'), 'utf8')).toBe('p\n');
  });
});

describe('render and deploy --check create nothing', () => {
  /** Every path under `dir`, for comparing before and after. */
  const tree = (dir: string): string[] => spawnSync('find', [dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
  const fresh = (name: string): string => {
    const dir = join(tmp, 'ro', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.yml'), base.replace(/^cluster_name: .*$/m, `cluster_name: ${name}`));
    return dir;
  };
  const request = { check: true, diff: false, extraVars: {}, concurrency: 4 };

  it('refuse, exit 2, naming what is missing and that `pgha deploy DIR` creates it; DIR untouched', async () => {
    const dir = fresh('c1');
    const before = tree(dir);
    for (const attempt of [() => renderFiles(loadCluster(dir), {}), () => deploy(dir, request, 'silent')]) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(2);
      const msg = (err as Error).message;
      expect(msg).toMatch(/creates nothing, and .*\/ro\/c1 lacks:/);
      for (const p of ['ssh/id_pgha', 'ssl/ca.key', 'ssl/ca.crt', 'ssl/pg1/node.crt', 'ssl/clients/pgha.crt', 'secrets/postgres']) {
        expect(msg).toContain(`  - ${p}`);
      }
      expect((err as UsageError).hint).toContain(`pgha deploy ${dir}`);
      expect(tree(dir)).toEqual(before);
    }
  });

  it('render reads what deploy (or configure) created, and still creates nothing', async () => {
    const dir = fresh('c2');
    await ensureClusterMaterial(loadCluster(dir));
    rmSync(join(dir, 'secrets', 'replicator'));
    const before = tree(dir);
    await expect(renderFiles(loadCluster(dir), {})).rejects.toThrow(/lacks:\n {2}- secrets\/replicator$/);
    expect(tree(dir)).toEqual(before);
    await ensureClusterMaterial(loadCluster(dir));
    const complete = tree(dir);
    expect(await renderFiles(loadCluster(dir), { host: 'pg1', file: 'patroni.yml' })).toContain('==> pg1:/etc/patroni/c2.yml');
    expect(tree(dir)).toEqual(complete);
  });

  it('a certificate deploy would reissue is shown as it is, with a warning, and not reissued', async () => {
    const dir = fresh('c3');
    await ensureClusterMaterial(loadCluster(dir));
    const config = join(dir, 'config.yml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('ip_address: 10.33.0.11', 'ip_address: 10.33.0.99'));
    const cert = readFileSync(join(dir, 'ssl', 'pg1', 'node.crt'), 'utf8');
    const err: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
    try {
      await renderFiles(loadCluster(dir), { host: 'pg1', file: 'patroni.yml' });
    } finally {
      spy.mockRestore();
    }
    expect(err.join('')).toMatch(
      /warning: ssl\/pg1\/node\.crt: .*pgha render shows the current certificate, `pgha deploy .*c3` reissues it/,
    );
    expect(readFileSync(join(dir, 'ssl', 'pg1', 'node.crt'), 'utf8')).toBe(cert);
  });
});

describe('nspawn bind mounts', () => {
  it('refuses a path with ":"', () => {
    expect(bindMountProblem('/srv/a:b/c')).toMatch(/\/srv\/a:b\/c: the path contains ":"/);
    expect(bindMountProblem('/srv/ab/c')).toBeUndefined();
  });
});

const BIN = resolve(import.meta.dirname, '../../bin/pgha.js');
const built = existsSync(resolve(import.meta.dirname, '../../dist/cli/main.js'));

describe.skipIf(!built)('configure (the built binary)', () => {
  const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, BIN, NO_COLOR: '1' } });
  it('creates DIR and its key directories 0700 under umask 000', () => {
    const dir = join(tmp, 'open', 'c');
    const r = sh(`umask 000 && node "$BIN" configure '${dir}' -a M1 --enable-patroni --subnet 10.250.9.0/24`);
    expect(r.stderr).toBe('');
    for (const d of ['', 'ssl', 'secrets', 'ssh']) expect(statSync(join(dir, d)).mode & 0o777, d || 'DIR').toBe(0o700);
  });
  it('validates before writing: an invalid config leaves no DIR behind', () => {
    const hosts = join(tmp, 'dup-hosts.txt');
    writeFileSync(hosts, 'pg1 10.9.9.1\npg2 10.9.9.1\npg3 10.9.9.3\n');
    const dir = join(tmp, 'never', 'c');
    const r = sh(`node "$BIN" configure '${dir}' -a M1 --enable-patroni --platform bare --hostnames-from '${hosts}'`);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/config\.yml:\d+: instances\[1\]\.ip_address: 10\.9\.9\.1 is already/);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });
  it('refuses a ":" in the path for nspawn before creating anything', () => {
    const dir = join(tmp, 'x:y', 'c');
    const r = sh(`node "$BIN" configure '${dir}' -a M1 --enable-patroni --subnet 10.250.9.0/24`);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${dir}: the path contains ":"`);
    expect(existsSync(join(tmp, 'x:y'))).toBe(false);
  });
});
