/**
 * The CLI as a user runs it (the built binary): configure, refusals with exit 2, render,
 * explain, show-password, and that no command but show-password prints a secret.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed config.yml, read field by field; a wrong shape fails the assertion
type Doc = any;

const BIN = resolve(import.meta.dirname, '../../bin/pgha.js');
const built = existsSync(resolve(import.meta.dirname, '../../dist/cli/main.js'));

function pgha(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!built)('pgha CLI (run `npm run build` first)', () => {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pgha-cli-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('--help lists every command', () => {
    const r = pgha('--help');
    expect(r.code).toBe(0);
    for (const c of ['configure', 'provision', 'deploy', 'render', 'explain', 'show-password', 'deprovision', 'download-packages']) {
      expect(r.stdout).toContain(c);
    }
  });

  it('configure writes a TPA-style config.yml with secure defaults and the cluster material', () => {
    const dir = join(root, 'alpha');
    const r = pgha('configure', dir, '-a', 'M1', '--enable-patroni', '--enable-haproxy', '--subnet', '10.77.3.0/24');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const cfg: Doc = parse(readFileSync(join(dir, 'config.yml'), 'utf8'));
    expect(cfg.architecture).toBe('M1');
    expect(cfg.cluster_name).toBe('alpha');
    expect(cfg.cluster_vars).toMatchObject({
      patroni_ssl_enabled: true,
      etcd_ssl_enabled: true,
      etcd_authentication_mode: 'basic',
      patroni_authentication_mode: 'basic',
    });
    expect(cfg.instance_defaults.platform).toBe('nspawn');
    expect(cfg.instances.map((i: Doc) => [i.Name, i.role, i.ip_address])).toEqual([
      ['pg1', ['primary', 'etcd'], '10.77.3.11'],
      ['pg2', ['replica', 'etcd'], '10.77.3.12'],
      ['pg3', ['replica', 'etcd'], '10.77.3.13'],
      ['proxy1', ['haproxy'], '10.77.3.14'],
      ['proxy2', ['haproxy'], '10.77.3.15'],
    ]);
    // Two proxies and a VIP that moves between them (keepalived), at the top of the subnet.
    expect(cfg.cluster_vars).toMatchObject({ vip_address: '10.77.3.250', vip_interface: 'host0' });
    for (const d of ['ssl', 'secrets', 'ssh']) expect(statSync(join(dir, d)).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'secrets')).sort()).toEqual(['etcd_patroni', 'etcd_root', 'patroni', 'postgres', 'replicator', 'rewind']);
  });

  it('configure derives a subnet from the cluster name and adds dedicated etcd hosts', () => {
    const dir = join(root, 'beta');
    expect(pgha('configure', dir, '-a', 'M1', '--enable-patroni', '--enable-pgbouncer', '--etcd-nodes', '3').code).toBe(0);
    const cfg: Doc = parse(readFileSync(join(dir, 'config.yml'), 'utf8'));
    const ips = cfg.instances.map((i: Doc) => i.ip_address as string);
    expect(new Set(ips.map((ip: string) => ip.split('.').slice(0, 3).join('.'))).size).toBe(1);
    expect(ips[0]).toMatch(/^10\.\d+\.\d+\.11$/);
    expect(cfg.instances.filter((i: Doc) => i.role.includes('etcd')).map((i: Doc) => i.Name)).toEqual(['etcd1', 'etcd2', 'etcd3']);
    expect(cfg.instances[0].role).toEqual(['primary', 'pgbouncer']);
  });

  it('configure --platform bare takes hosts from a file', () => {
    const hosts = join(root, 'hosts.txt');
    writeFileSync(hosts, '# name ip\npga 192.168.50.11\npgb 192.168.50.12\npgc 192.168.50.13\n');
    const dir = join(root, 'gamma');
    expect(pgha('configure', dir, '-a', 'M1', '--enable-patroni', '--platform', 'bare', '--hostnames-from', hosts).code).toBe(0);
    const cfg: Doc = parse(readFileSync(join(dir, 'config.yml'), 'utf8'));
    expect(cfg.instances.map((i: Doc) => `${i.Name} ${i.ip_address}`)).toEqual([
      'pga 192.168.50.11',
      'pgb 192.168.50.12',
      'pgc 192.168.50.13',
    ]);
  });

  it.each([
    ['an existing config.yml without --force', ['alpha', '--enable-patroni'], /already exists.*\n.*--force/],
    ['haproxy with pgbouncer', ['delta', '--enable-patroni', '--enable-haproxy', '--enable-pgbouncer'], /cannot be combined/],
    ['haproxy without patroni', ['delta', '--enable-haproxy'], /--enable-patroni is required/],
    ['an even etcd count', ['delta', '--enable-patroni', '--etcd-nodes', '2'], /odd number/],
    ['a bad subnet', ['delta', '--enable-patroni', '--subnet', '10.1.2.0/16'], /\/24/],
    ['bare without hosts', ['delta', '--enable-patroni', '--platform', 'bare'], /--hostnames-from/],
    ['an unknown platform', ['delta', '--enable-patroni', '--platform', 'docker'], /nspawn, bare/],
    ['an upper-case cluster name', ['Delta', '--enable-patroni'], /must match/],
  ])('configure refuses %s with exit 2', (_name, args, message) => {
    const [name, ...rest] = args as [string, ...string[]];
    const r = pgha('configure', join(root, name), '-a', 'M1', ...rest);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('render prints every file with secrets masked; show-password prints one', () => {
    const dir = join(root, 'alpha');
    const r = pgha('render', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('==> pg1:/etc/patroni/alpha.yml');
    expect(r.stdout).toContain('==> proxy1:/etc/haproxy/haproxy.cfg');
    const pw = pgha('show-password', dir, 'postgres');
    expect(pw.code).toBe(0);
    const password = pw.stdout.trim();
    expect(password.length).toBeGreaterThanOrEqual(24);
    for (const name of readdirSync(join(dir, 'secrets'))) {
      expect(r.stdout).not.toContain(readFileSync(join(dir, 'secrets', name), 'utf8').trim());
    }
    const one = pgha('render', dir, '--host', 'pg2', '--file', 'patroni.yml');
    expect(one.stdout.match(/^==> /gm)).toHaveLength(1);
    expect(pgha('render', dir, '--file', 'nope.cfg').code).toBe(2);
    expect(pgha('show-password', dir, 'nobody').code).toBe(2);
  });

  it('render --out mirrors remote paths per host', () => {
    const out = join(root, 'out');
    expect(pgha('render', join(root, 'alpha'), '--out', out).code).toBe(0);
    expect(existsSync(join(out, 'pg1', 'etc', 'patroni', 'alpha.yml'))).toBe(true);
    expect(existsSync(join(out, 'proxy1', 'etc', 'haproxy', 'haproxy.cfg'))).toBe(true);
  });

  it('explain names the layer; -e is the top layer', () => {
    const dir = join(root, 'alpha');
    expect(pgha('explain', dir, 'pg1', 'patroni_ssl_enabled').stdout).toBe('pg1: patroni_ssl_enabled = true\nset by: cluster_vars\n');
    expect(pgha('explain', dir, 'pg1', 'patroni_listen_port', '-e', 'patroni_listen_port=8010').stdout).toBe(
      'pg1: patroni_listen_port = 8010\nset by: -e\n',
    );
    expect(pgha('explain', dir, 'pg9', 'x').code).toBe(2);
  });

  it('reports config problems with file, line and path, exit 2, no stack trace', () => {
    const dir = join(root, 'alpha');
    const path = join(dir, 'config.yml');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.replace('- haproxy', '- loadbalancer'));
    const r = pgha('render', dir);
    writeFileSync(path, good);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /config\.yml:\d+: instances\[3\]\.role\[0\]: must be one of primary, replica, etcd, haproxy, pgbouncer, pgbackrest/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
