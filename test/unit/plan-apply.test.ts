import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import type { DesiredFile } from '../../src/model/types.js';
import { applyFilesScript, parseApplyOutput } from '../../src/plan/apply-files.js';
import { planHost } from '../../src/plan/plan.js';
import { applyFiles, gatherFacts } from '../../src/plan/remote.js';
import { LocalTransport } from '../../src/transport/local.js';
import { tempDirs } from './tempdirs.js';

const tempDir = tempDirs();

const owner = userInfo().username;
const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();

function f(path: string, content: string, extra: Partial<DesiredFile> = {}): DesiredFile {
  return { path, content, owner, group, mode: 0o640, ...extra };
}

describe('applyFilesScript, run for real with bash', () => {
  const t = new LocalTransport({ host: 'local' });

  it('writes files atomically with parents, owner and mode; a re-run changes nothing', async () => {
    const dir = tempDir('pgha-apply-');
    const secret = `-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYBYTES'$(id)\n-----END PRIVATE KEY-----\n`;
    const files = [
      f(join(dir, 'etc/patroni/config.yml'), 'scope: main\nname: pg1\n'),
      f(join(dir, 'etc/ssl/node.key'), secret, { mode: 0o600, sensitive: true }),
      // Content that looks like the framing must not confuse it.
      f(join(dir, 'tricky'), 'END 0\nF 3 644 root root L2V0Yw==\nno newline at end', { mode: 0o644 }),
      f(join(dir, 'empty'), '', { mode: 0o600 }),
      f(join(dir, 'it\'s ünï "quoted" $(x)'), 'ünïcødé 🐘\n'),
      f(join(dir, 'big'), 'x'.repeat(2 * 1024 * 1024) + '\n'),
    ];
    const cmd = applyFilesScript(files);
    expect(cmd.script).not.toContain('TOPSECRETKEYBYTES');
    expect(cmd.script).not.toContain('scope: main');
    for (const x of files) expect(cmd.script).not.toContain(x.path);
    expect(cmd.stdin).toContain('TOPSECRETKEYBYTES');
    expect(cmd.secrets).toEqual([secret]);

    const r = await t.exec(cmd);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parseApplyOutput(r.stdout)).toEqual({ changed: files.map((x) => x.path), metaChanged: [] });
    for (const x of files) {
      expect(readFileSync(x.path, 'utf8')).toBe(x.content);
      expect(statSync(x.path).mode & 0o7777).toBe(x.mode);
    }
    expect(statSync(join(dir, 'etc/patroni')).mode & 0o777).toBe(0o755);
    // No temporary files left behind.
    expect(readdirSync(join(dir, 'etc/patroni'))).toEqual(['config.yml']);

    const again = await t.exec(applyFilesScript(files));
    expect(again.code).toBe(0);
    expect(parseApplyOutput(again.stdout)).toEqual({ changed: [], metaChanged: [] });
  });

  it('fixes only the mode when content matches, and reports it as meta', async () => {
    const dir = tempDir('pgha-apply-');
    const path = join(dir, 'a.conf');
    writeFileSync(path, 'same\n');
    chmodSync(path, 0o666);
    const before = statSync(path).ino;
    const r = await applyFiles(t, [f(path, 'same\n', { mode: 0o600 })]);
    expect(r).toEqual({ changed: [], metaChanged: [path] });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).ino).toBe(before);
  });

  it('replaces a symlink with a file instead of writing through it', async () => {
    const dir = tempDir('pgha-apply-');
    writeFileSync(join(dir, 'target'), 'target\n');
    spawnSync('ln', ['-s', 'target', join(dir, 'link')]);
    const r = await applyFiles(t, [f(join(dir, 'link'), 'target\n')]);
    expect(r.changed).toEqual([join(dir, 'link')]);
    expect(statSync(join(dir, 'link')).isFile()).toBe(true);
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('target\n');
  });

  it('fails naming the file, masks secrets, and leaves no temporary file', async () => {
    const dir = tempDir('pgha-apply-');
    const files = [f(join(dir, 'ok'), 'fine\n'), f(join(dir, 'bad'), 'pw: hunter2\n', { owner: 'pgha-no-such-user' })];
    const err = await applyFiles(t, files, ['hunter2']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    const e = err as RuntimeError;
    expect(e.where).toBe('local: write files');
    expect(e.message).toContain(`${join(dir, 'bad')}: cannot chown to pgha-no-such-user`);
    expect(e.message).not.toContain('hunter2');
    expect(readdirSync(dir)).toEqual(['ok']);
  });

  it('detects truncated input', async () => {
    const dir = tempDir('pgha-apply-');
    const cmd = applyFilesScript([f(join(dir, 'a'), 'hello world\n')]);
    const r = await t.exec({ ...cmd, stdin: (cmd.stdin ?? '').slice(0, -20) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/received \d+ of 12 bytes|before END/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('creates key directories with their mode before the keys, and corrects an existing 0755 one (issue 12)', async () => {
    const dir = tempDir('pgha-apply-');
    const fresh = join(dir, 'etc/patroni/ssl');
    const old = join(dir, 'etc/etcd/ssl');
    spawnSync('mkdir', ['-p', '-m', '0755', old]);
    const keys = [f(join(fresh, 'node.key'), 'k\n', { mode: 0o600 }), f(join(old, 'node.key'), 'k\n', { mode: 0o600 })];
    const dirs = [fresh, old].map((path) => ({ path, owner, group, mode: 0o750 }));
    const r = await t.exec(applyFilesScript(keys, [], dirs));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const d of [fresh, old]) expect(statSync(d).mode & 0o777, d).toBe(0o750);
    // The key directories are not files: nothing reports them as changed.
    expect(parseApplyOutput(r.stdout).changed).toEqual(keys.map((k) => k.path));
  });

  it('refuses a symbolic link where a key directory belongs, touching nothing behind it', async () => {
    const dir = tempDir('pgha-apply-');
    const elsewhere = join(dir, 'elsewhere');
    spawnSync('mkdir', ['-m', '0755', elsewhere]);
    symlinkSync(elsewhere, join(dir, 'ssl'));
    const r = await t.exec(
      applyFilesScript([f(join(dir, 'ssl', 'node.key'), 'k\n')], [], [{ path: join(dir, 'ssl'), owner, group, mode: 0o750 }]),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${join(dir, 'ssl')}: is a symbolic link`);
    expect(statSync(elsewhere).mode & 0o777).toBe(0o755);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('writes nothing and costs no round trip for an empty list', async () => {
    const t2 = new LocalTransport();
    expect(await applyFiles(t2, [])).toEqual({ changed: [], metaChanged: [] });
    expect(t2.execCount).toBe(0);
  });

  it('rejects what would be a bug upstream', () => {
    expect(() => applyFilesScript([f('rel', 'x')])).toThrow(/absolute/);
    expect(() => applyFilesScript([f('/a', 'x'), f('/a', 'y')])).toThrow(/twice/);
    expect(() => applyFilesScript([f('/a', 'x', { owner: 'a b' })])).toThrow(/owner/);
    expect(() => applyFilesScript([f('/a', 'x', { owner: '0' })])).toThrow(/owner/);
    expect(() => applyFilesScript([f('/a', 'x', { mode: 0o10000 })])).toThrow(/mode/);
  });

  it('round trip: facts → plan → apply → facts → plan has no changes', async () => {
    const dir = tempDir('pgha-apply-');
    writeFileSync(join(dir, 'b'), 'old\n');
    const desired = {
      files: [f(join(dir, 'a'), 'a\n'), f(join(dir, 'b'), 'new\n'), f(join(dir, 'sub/c'), 'c\n', { sensitive: true })],
      packages: [],
    };
    const q = { paths: desired.files.map((x) => x.path), packages: [], services: [] };
    const t3 = new LocalTransport();
    const plan = planHost(desired, await gatherFacts(t3, q));
    expect(plan.changedPaths).toEqual(q.paths);
    const res = await applyFiles(t3, plan.files);
    expect(res.changed).toEqual(plan.changedPaths);
    const after = planHost(desired, await gatherFacts(t3, q));
    expect(after.hasChanges).toBe(false);
    expect(t3.execCount).toBe(3);
  });
});

describe('parseApplyOutput', () => {
  it('ignores noise and decodes paths', () => {
    const b = (s: string) => Buffer.from(s).toString('base64');
    expect(parseApplyOutput(`motd\nchanged ${b('/a b')}\nmeta ${b('/c')}\n`)).toEqual({ changed: ['/a b'], metaChanged: ['/c'] });
  });
});
