/**
 * The bundle bin/pgha.js runs (dist/bundle/, scripts/build-bundle.mjs). Vitest runs src/, so
 * what only the bundle can get wrong is checked here: every chunk evaluates under node (no
 * missing require, no name clash with the require shim), the templates and schema are found
 * from the chunks' directory, and YAML output works through a lazily imported module.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const BUNDLE = join(ROOT, 'dist', 'bundle');
const BIN = join(ROOT, 'bin', 'pgha.js');
const built = existsSync(join(BUNDLE, 'main.js'));

function node(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!built)('dist/bundle (run `npm run build` first)', () => {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pgha-bundle-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('every chunk evaluates', () => {
    const chunks = readdirSync(BUNDLE).filter((f) => f.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(1);
    const urls = JSON.stringify(chunks.map((f) => pathToFileURL(join(BUNDLE, f)).href));
    const r = node(['--input-type=module', '-e', `for (const u of ${urls}) await import(u);`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('loading the CLI does not load node:child_process (commander requires it only when used)', () => {
    const main = pathToFileURL(join(BUNDLE, 'main.js')).href;
    const r = node([
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(main)}); console.log(process.moduleLoadList.includes('NativeModule child_process'))`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('false');
  });

  it('bin/pgha.js runs the bundle: schema validation and templates resolve from dist/bundle/', () => {
    const dir = join(root, 'b1');
    expect(node([BIN, 'configure', dir, '-a', 'M1', '--enable-patroni', '--enable-haproxy', '--subnet', '10.77.4.0/24']).code).toBe(0);
    const r = node([BIN, 'render', dir, '--host', 'pg1', '--file', 'patroni.yml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('scope:');
  });
});
