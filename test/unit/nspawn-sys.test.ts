import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, isNspawnArgv, writeIfChanged } from '../../src/platforms/nspawn/sys.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgha-nspawn-sys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('acquireLock', () => {
  it('excludes a second holder until released', async () => {
    const path = join(dir, 'x.lock');
    const release = await acquireLock(path, 'x', () => {});
    expect((await readFile(path, 'utf8')).trim()).toBe(String(process.pid));
    let second = false;
    const waiting = acquireLock(path, 'x', () => {}).then((r) => {
      second = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 700));
    expect(second).toBe(false);
    await release();
    const release2 = await waiting;
    expect(second).toBe(true);
    await release2();
    await expect(stat(path)).rejects.toThrow();
  });
  it('takes over a lock whose owner is dead', async () => {
    const path = join(dir, 'y.lock');
    await writeFile(path, '999999999'); // no such pid
    const release = await acquireLock(path, 'y', () => {}, 5_000);
    expect((await readFile(path, 'utf8')).trim()).toBe(String(process.pid));
    await release();
  });
});

describe('writeIfChanged', () => {
  it('writes only when different, with the mode, replacing a symlink instead of following it', async () => {
    const f = join(dir, 'a/b/file');
    expect(await writeIfChanged(f, 'x\n', 0o600)).toBe(true);
    expect((await stat(f)).mode & 0o777).toBe(0o600);
    expect(await writeIfChanged(f, 'x\n')).toBe(false);
    const target = join(dir, 'target');
    await writeFile(target, 'keep');
    const link = join(dir, 'link');
    await symlink(target, link);
    expect(await writeIfChanged(link, 'new')).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('keep');
    expect(await readFile(link, 'utf8')).toBe('new');
  });
});

describe('isNspawnArgv', () => {
  it('recognizes systemd-nspawn by argv[0]', () => {
    expect(isNspawnArgv(['/usr/bin/systemd-nspawn', '-D', '/x'])).toBe(true);
    expect(isNspawnArgv(['systemd-nspawn'])).toBe(true);
    expect(isNspawnArgv(['/bin/sh', '-c', 'systemd-nspawn'])).toBe(false);
    expect(isNspawnArgv([])).toBe(false);
  });
});
