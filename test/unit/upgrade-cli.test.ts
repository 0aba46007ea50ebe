/** `pgha upgrade` usage errors (exit 2) that need no host: they are caught before connecting. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

describe('pgha upgrade: usage', () => {
  let root = '';
  let dir = '';
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pgha-upg-cli-'));
    dir = join(root, 'u1');
    const out = process.stdout.write.bind(process.stdout);
    process.stdout.write = () => true;
    await main(['node', 'pgha', 'configure', dir, '-a', 'M1', '--enable-patroni', '--enable-haproxy']);
    process.stdout.write = out;
  });
  afterAll(() => {
    process.stderr.write = write;
    rmSync(root, { recursive: true, force: true });
  });

  async function run(...args: string[]): Promise<number> {
    stderr = '';
    const out = process.stdout.write.bind(process.stdout);
    process.stderr.write = (s: string | Uint8Array) => ((stderr += String(s)), true);
    process.stdout.write = () => true;
    try {
      return await main(['node', 'pgha', 'upgrade', ...args]);
    } finally {
      process.stderr.write = write;
      process.stdout.write = out;
      process.exitCode = undefined;
    }
  }

  it('names unknown components', async () => {
    expect(await run(dir, '--components=patroni,pgpool')).toBe(2);
    expect(stderr).toMatch(/unknown pgpool/);
  });
  it('wants --components', async () => {
    expect(await run(dir)).toBe(2);
  });
  it('accepts only the two primary strategies', async () => {
    expect(await run(dir, '--components=patroni', '--primary-strategy', 'yolo')).toBe(2);
  });
  it('wants a target version before touching anything', async () => {
    expect(await run(dir, '--components=patroni')).toBe(2);
    expect(stderr).toMatch(/-e patroni_package_version=VERSION/);
    expect(await run(dir, '--components=haproxy,etcd')).toBe(2);
    expect(stderr).toMatch(/etcd_package_version/);
  });
});
