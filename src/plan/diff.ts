/**
 * Unified diffs for `deploy --diff`, in `diff -u` form, computed by jsdiff (the `diff` package).
 */
import { createTwoFilesPatch } from 'diff';

/**
 * `diff -u` between two versions of a file; '' when they are equal. `oldText` undefined means
 * the file does not exist yet (shown against /dev/null).
 */
export function unifiedDiff(oldText: string | undefined, newText: string, path: string, opts: { context?: number } = {}): string {
  if (oldText === newText) return '';
  const patch = createTwoFilesPatch(oldText === undefined ? '/dev/null' : `a${path}`, `b${path}`, oldText ?? '', newText, undefined, undefined, {
    context: opts.context ?? 3,
  });
  // jsdiff starts with an `Index:`/`====` banner that `diff -u` does not print.
  const lines = patch.split('\n');
  const start = lines.findIndex((l) => l.startsWith('--- '));
  const body = lines.slice(start).map((l) => (l.startsWith('--- ') || l.startsWith('+++ ') ? l.replace(/\t.*$/, '') : l));
  return body.some((l) => l.startsWith('@@')) ? body.join('\n') : '';
}
