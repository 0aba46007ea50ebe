/**
 * Unified diffs for `deploy --diff`, in `diff -u` form, computed by jsdiff (the `diff` package).
 */
import { createTwoFilesPatch, FILE_HEADERS_ONLY, formatPatch } from 'diff';

/**
 * `diff -u` between two versions of a file; '' when they are equal. `oldText` undefined means
 * the file does not exist yet (shown against /dev/null).
 */
export function unifiedDiff(oldText: string | undefined, newText: string, path: string, opts: { context?: number } = {}): string {
  if (oldText === newText) return '';
  const oldName = oldText === undefined ? '/dev/null' : `a${path}`;
  if (oldText === undefined || oldText === '') return creationDiff(oldName, `b${path}`, newText);
  const patch = createTwoFilesPatch(oldName, `b${path}`, oldText, newText, undefined, undefined, { context: opts.context ?? 3 });
  // jsdiff starts with an `Index:`/`====` banner that `diff -u` does not print.
  const lines = patch.split('\n');
  const start = lines.findIndex((l) => l.startsWith('--- '));
  const body = lines.slice(start).map((l) => (l.startsWith('--- ') || l.startsWith('+++ ') ? withoutHeaderDate(l) : l));
  return body.some((l) => l.startsWith('@@')) ? body.join('\n') : '';
}

function withoutHeaderDate(headerLine: string): string {
  return headerLine.replace(/\t.*$/, '');
}

/**
 * The diff from nothing (or an empty file) to `newText`: one hunk adding every line, exactly as
 * jsdiff prints it, but built directly: jsdiff's line diff costs O(lines²) here (its search
 * tries every edit length up to the file's length), and every file of a first deploy is new.
 * formatPatch still writes the `---`/`+++` lines, so file names are quoted as jsdiff quotes them.
 */
export function creationDiff(oldName: string, newName: string, newText: string): string {
  if (newText === '') return '';
  const headers = formatPatch(
    { oldFileName: oldName, newFileName: newName, oldHeader: undefined, newHeader: undefined, hunks: [] },
    FILE_HEADERS_ONLY,
  )
    .split('\n')
    .map(withoutHeaderDate)
    .join('\n');
  const endsWithNewline = newText.endsWith('\n');
  const body = endsWithNewline ? newText.slice(0, -1) : newText;
  let lineCount = 1;
  for (let i = body.indexOf('\n'); i !== -1; i = body.indexOf('\n', i + 1)) lineCount++;
  const added = `+${body.replaceAll('\n', '\n+')}\n`;
  return `${headers}@@ -0,0 +1,${lineCount} @@\n${added}${endsWithNewline ? '' : '\\ No newline at end of file\n'}`;
}
