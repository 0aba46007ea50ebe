/**
 * `status` reads config.yml through DIR/.status-cache.json: the resolved cluster of the same
 * bytes comes back from the cache (provenance included), an edited config.yml or a damaged
 * cache is resolved afresh, and the cache is private to the operator.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadCluster } from '../../src/app/cluster-dir.js';
import { ConfigError } from '../../src/errors.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readClusterConfig } from '../../src/app/live/probe.js';
import { STATUS_CACHE_FILE } from '../../src/app/status-config-cache.js';
import { resolveCluster } from '../../src/model/resolve.js';
import type { ClusterConfig } from '../../src/model/types.js';
import { tempDirs } from './tempdirs.js';

const tmp = tempDirs();

function config(workMem: string): ClusterConfig {
  const inst = (Name: string, node: number, role: string[]) => ({ Name, node, location: 'main', role, ip_address: `10.99.0.${10 + node}` });
  return {
    architecture: 'M1',
    cluster_name: 'cachetest',
    cluster_vars: {
      patroni_ssl_enabled: true,
      etcd_ssl_enabled: true,
      etcd_authentication_mode: 'basic',
      postgres_conf_settings: { work_mem: workMem },
    },
    locations: [{ Name: 'main' }],
    instance_defaults: { platform: 'bare', vars: {} },
    instances: [inst('pg1', 1, ['primary', 'etcd']), inst('pg2', 2, ['replica', 'etcd']), inst('pg3', 3, ['replica', 'etcd'])],
  } as unknown as ClusterConfig;
}

function clusterDir(workMem = '4MB'): string {
  const dir = join(tmp('pgha-status-cache-'), 'cachetest');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.yml'), stringify(config(workMem)));
  return dir;
}

const workMem = (c: Awaited<ReturnType<typeof readClusterConfig>>) =>
  (c.cluster.hosts[0]!.vars.postgres_conf_settings as Record<string, unknown>).work_mem;

describe('the resolved-config cache of status', () => {
  it('resolves config.yml as the resolver does, and keeps it 0600 in DIR', async () => {
    const dir = clusterDir();
    const first = await readClusterConfig(dir);
    expect(first.cluster).toEqual(resolveCluster(config('4MB')));
    expect(statSync(join(dir, STATUS_CACHE_FILE)).mode & 0o777).toBe(0o600);
    const again = await readClusterConfig(dir);
    expect(again.cluster).toEqual(first.cluster);
    expect(again.cluster.hosts[0]!.provenance).toBeInstanceOf(Map);
    expect(again.cluster.hosts[0]!.provenance.get('postgres_conf_settings.work_mem')).toBe(
      first.cluster.hosts[0]!.provenance.get('postgres_conf_settings.work_mem'),
    );
  });

  it('serves the same config.yml from the cache', async () => {
    const dir = clusterDir();
    await readClusterConfig(dir);
    // Marked by hand: only a read of the cache can return it.
    const file = join(dir, STATUS_CACHE_FILE);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"work_mem":"4MB"', '"work_mem":"from-cache"'));
    expect(workMem(await readClusterConfig(dir))).toBe('from-cache');
  });

  it('resolves an edited config.yml afresh', async () => {
    const dir = clusterDir();
    await readClusterConfig(dir);
    writeFileSync(join(dir, 'config.yml'), stringify(config('64MB')));
    expect(workMem(await readClusterConfig(dir))).toBe('64MB');
    expect(workMem(await readClusterConfig(dir))).toBe('64MB');
  });

  it('ignores a damaged cache', async () => {
    const dir = clusterDir();
    await readClusterConfig(dir);
    for (const junk of ['{', 'null', '{"key":1}', JSON.stringify({ key: 'x', cluster: { hosts: 3 } })]) {
      writeFileSync(join(dir, STATUS_CACHE_FILE), junk);
      expect(workMem(await readClusterConfig(dir))).toBe('4MB');
    }
    // The key matches but the entry is unusable: resolved afresh, not a crash.
    const file = join(dir, STATUS_CACHE_FILE);
    const entry = JSON.parse(readFileSync(file, 'utf8')) as { key: string };
    writeFileSync(file, JSON.stringify({ key: entry.key, cluster: { name: 'cachetest', hosts: [{ name: 'pg1' }] } }));
    expect(workMem(await readClusterConfig(dir))).toBe('4MB');
  });

  it('validates config.yml before reading or caching it: an invalid one is refused (exit 2), nothing cached', async () => {
    const dir = join(tmp('pgha-status-cache-'), 'cachetest');
    mkdirSync(dir);
    const bad = config('4MB');
    bad.instances[1]!.role = ['primary', 'etcd'];
    writeFileSync(join(dir, 'config.yml'), stringify(bad));
    const err = await readClusterConfig(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as ConfigError).message).toMatch(/config\.yml:\d+: instances\[1\]\.role\[0\]: a second primary/);
    expect(existsSync(join(dir, STATUS_CACHE_FILE))).toBe(false);
  });

  it('refuses a copied directory whose cluster_name names another cluster, cache or not', async () => {
    const dir = clusterDir();
    await readClusterConfig(dir);
    const copy = join(tmp('pgha-status-cache-'), 'copy');
    cpSync(dir, copy, { recursive: true });
    const err = await readClusterConfig(copy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /^config\.yml:\d+: cluster_name: is "cachetest", but the cluster directory .* is named "copy"/,
    );
    expect(() => loadCluster(copy)).toThrow(/set cluster_name: copy, or rename the directory to cachetest/);
  });
});
