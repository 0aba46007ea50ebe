import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/plan/diff.js';
import { tempDirs } from './tempdirs.js';

const tempDir = tempDirs();

/** Applies our unified diff to `old`, checking every context and removed line on the way. */
function applyPatch(old: string, patch: string): string {
  if (patch === '') return old;
  const src = old === '' ? [] : old.split('\n');
  // Represent text as lines plus a trailing-newline flag, like the diff does.
  const oldEol = old === '' || old.endsWith('\n');
  if (oldEol && src.length) src.pop();
  const out: string[] = [];
  let pos = 0;
  let newEol = true;
  const lines = patch.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let i = 2;
  while (i < lines.length) {
    const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$/.exec(lines[i] ?? '');
    if (!m) throw new Error(`bad hunk header ${lines[i]}`);
    const oStart = Number(m[1]);
    const oCount = m[2] === undefined ? 1 : Number(m[2]);
    const from = oCount === 0 ? oStart : oStart - 1;
    while (pos < from) out.push(src[pos++] as string);
    i++;
    let last: string | undefined;
    while (i < lines.length && !(lines[i] ?? '').startsWith('@@')) {
      const l = lines[i] ?? '';
      if (l === '\\ No newline at end of file') {
        if (last === '+' || last === ' ') newEol = false;
      } else {
        const op = l[0];
        const text = l.slice(1);
        if (op === ' ' || op === '-') {
          if (src[pos] !== text) throw new Error(`context mismatch at ${pos}: ${src[pos]} vs ${text}`);
          pos++;
        }
        if (op === ' ' || op === '+') out.push(text);
        last = op;
      }
      i++;
    }
  }
  while (pos < src.length) out.push(src[pos++] as string);
  if (pos === src.length && !patch.includes('\\ No newline') && !oldEol) newEol = false;
  if (out.length === 0) return '';
  return out.join('\n') + (newEol ? '\n' : '');
}

function gnuDiff(a: string, b: string): string {
  const d = tempDir('pgha-diff-');
  writeFileSync(join(d, 'a'), a);
  writeFileSync(join(d, 'b'), b);
  const r = spawnSync('diff', ['-u', 'a', 'b'], { cwd: d, encoding: 'utf8' });
  return r.stdout.split('\n').slice(2).join('\n');
}
const hasGnuDiff = spawnSync('diff', ['--version']).status === 0;

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', '/etc/x')).toBe('');
  });

  it('shows a new file against /dev/null', () => {
    expect(unifiedDiff(undefined, 'a\nb\n', '/etc/x')).toBe('--- /dev/null\n+++ b/etc/x\n@@ -0,0 +1,2 @@\n+a\n+b\n');
  });

  it('shows one changed line with 3 lines of context', () => {
    const old = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const nu = old.replace('line 10\n', 'line ten\n');
    expect(unifiedDiff(old, nu, '/etc/patroni/config.yml')).toBe(
      [
        '--- a/etc/patroni/config.yml',
        '+++ b/etc/patroni/config.yml',
        '@@ -8,7 +8,7 @@',
        ' line 7',
        ' line 8',
        ' line 9',
        '-line 10',
        '+line ten',
        ' line 11',
        ' line 12',
        ' line 13',
        '',
      ].join('\n'),
    );
  });

  it('marks a missing newline at end of file', () => {
    expect(unifiedDiff('a\nb', 'a\nb\n', '/x')).toBe('--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n');
  });

  it.skipIf(!hasGnuDiff)('matches GNU diff -u hunks for separated and merged changes', () => {
    const old = Array.from({ length: 40 }, (_, i) => `l${i}`).join('\n') + '\n';
    const cases = [
      old.replace('l5\n', 'L5\n').replace('l30\n', 'L30\n'),
      old.replace('l5\n', 'L5\n').replace('l11\n', 'L11\n'),
      old.replace('l5\n', 'L5\n').replace('l12\n', 'L12\n'),
      old.replace('l0\n', ''),
      old + 'tail\n',
      'head\n' + old,
      old.replace('l20\n', 'l20\nnew a\nnew b\n'),
    ];
    for (const nu of cases) {
      expect(unifiedDiff(old, nu, '/f').split('\n').slice(2).join('\n')).toBe(gnuDiff(old, nu));
    }
  });

  it('produces a patch that turns old into new (property)', () => {
    const line = fc.constantFrom('a', 'b', 'c', 'd', '', 'key: value', '  indented', 'ü🐘');
    const text = fc
      .tuple(fc.array(line, { maxLength: 30 }), fc.boolean())
      .map(([ls, eol]) => (ls.length ? ls.join('\n') + (eol ? '\n' : '') : ''));
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 4 }), (a, b, context) => {
        const d = unifiedDiff(a, b, '/f', { context });
        if (a === b) expect(d).toBe('');
        else expect(applyPatch(a, d)).toBe(b);
      }),
      { numRuns: 500 },
    );
  });

  it.skipIf(spawnSync('patch', ['--version']).status !== 0)('is accepted by GNU patch (property)', () => {
    const line = fc.constantFrom('a', 'b', 'c', '', 'x: 1');
    const text = fc
      .tuple(fc.array(line, { maxLength: 15 }), fc.boolean())
      .map(([ls, eol]) => (ls.length ? ls.join('\n') + (eol ? '\n' : '') : ''));
    const d = tempDir('pgha-patch-');
    fc.assert(
      fc.property(text, text, (a, b) => {
        fc.pre(a !== b && a !== '');
        writeFileSync(join(d, 'f'), a);
        writeFileSync(join(d, 'p'), unifiedDiff(a, b, '/f'));
        const r = spawnSync('patch', ['-s', '-p1', '--no-backup-if-mismatch', '-i', 'p'], { cwd: d, encoding: 'utf8' });
        expect(r.stderr + r.stdout).toBe('');
        expect(spawnSync('cat', ['f'], { cwd: d, encoding: 'utf8' }).stdout).toBe(b);
      }),
      { numRuns: 60 },
    );
  });

  it('handles a large rewrite quickly', () => {
    const a = Array.from({ length: 5000 }, (_, i) => `a${i}`).join('\n') + '\n';
    const b = Array.from({ length: 5000 }, (_, i) => `b${i}`).join('\n') + '\n';
    const d = unifiedDiff(a, b, '/big');
    expect(applyPatch(a, d)).toBe(b);
  });
});
