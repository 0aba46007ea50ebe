import { createTwoFilesPatch } from 'diff';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { creationDiff, unifiedDiff } from '../../src/plan/diff.js';

/** The `diff -u` text unifiedDiff printed for every file before creationDiff: jsdiff's, unbannered. */
function viaJsdiff(oldName: string, newName: string, newText: string): string {
  const lines = createTwoFilesPatch(oldName, newName, '', newText, undefined, undefined, { context: 3 }).split('\n');
  // Only the two header lines lose jsdiff's tab-separated timestamps: an added content line can
  // start with `+++ ` too (the text `++ \t`, found by this very property).
  const body = lines.slice(lines.findIndex((l) => l.startsWith('--- '))).map((l, i) => (i < 2 ? l.replace(/\t.*$/, '') : l));
  return body.some((l) => l.startsWith('@@')) ? body.join('\n') : '';
}

/** Text made of few distinct characters, so that newlines, blank lines and `\r` are common. */
const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '\r', '\t', 'é', '\\', '+'), maxLength: 60 });
const path = fc.constantFrom('/etc/x.yml', '/etc/with space', '/etc/tab\there', '/etc/ü', '/etc/"q"');

describe('creationDiff', () => {
  it('prints exactly what jsdiff prints for empty → text', () => {
    fc.assert(
      fc.property(text, path, (t, p) => {
        for (const oldName of ['/dev/null', `a${p}`]) expect(creationDiff(oldName, `b${p}`, t)).toBe(viaJsdiff(oldName, `b${p}`, t));
        expect(unifiedDiff(undefined, t, p)).toBe(viaJsdiff('/dev/null', `b${p}`, t));
        expect(unifiedDiff('', t, p)).toBe(viaJsdiff(`a${p}`, `b${p}`, t));
      }),
      { numRuns: 500 },
    );
  });

  it('is one all-added hunk against /dev/null', () => {
    expect(unifiedDiff(undefined, 'a\nb\n', '/etc/x')).toBe('--- /dev/null\n+++ b/etc/x\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    expect(unifiedDiff(undefined, 'a', '/etc/x')).toBe('--- /dev/null\n+++ b/etc/x\n@@ -0,0 +1,1 @@\n+a\n\\ No newline at end of file\n');
    expect(unifiedDiff(undefined, '', '/etc/x')).toBe('');
  });
});
