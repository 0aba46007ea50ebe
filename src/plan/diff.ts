/**
 * Unified diffs of text files, written here because no diff library is among the dependencies.
 * Everything goes through `unifiedDiff`, so swapping in the `diff` package later touches one
 * function. Line diff by Myers' O(ND) algorithm, output in `diff -u` format.
 */

export type LineOp = { op: ' ' | '-' | '+'; line: string };

/** Marks a final line without a trailing newline so "x" and "x\n" compare unequal. */
const NO_EOL = '\u0000noeol';

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += NO_EOL;
  return lines;
}

/**
 * Beyond this much bookkeeping (edit distance × length) a minimal diff is not worth the memory;
 * the diff degrades to "remove all, add all", which is still a correct diff.
 */
const MAX_TRACE_CELLS = 20_000_000;

/** A shortest edit script turning `a` into `b`. */
export function diffLines(a: readonly string[], b: readonly string[]): LineOp[] {
  // Common prefix and suffix are the usual case for config files and cost nothing to strip.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  const head: LineOp[] = a.slice(0, pre).map((line) => ({ op: ' ', line }));
  const tailOps: LineOp[] = a.slice(a.length - suf).map((line) => ({ op: ' ', line }));
  return [...head, ...myers(A, B), ...tailOps];
}

function myers(a: readonly string[], b: readonly string[]): LineOp[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  if (max === 0) return [];
  const off = max + 1;
  const width = 2 * max + 3;
  let v = new Int32Array(width);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    if ((trace.length + 1) * width > MAX_TRACE_CELLS) return replaceAll(a, b);
    trace.push(v.slice());
    const next = v;
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && (next[off + k - 1] ?? 0) < (next[off + k + 1] ?? 0))) x = next[off + k + 1] ?? 0;
      else x = (next[off + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[off + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
    v = next;
  }

  // Walk the trace backwards from (n, m), collecting the edit script in reverse.
  const out: LineOp[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const tv = trace[d] as Int32Array;
    const k = x - y;
    const prevK = k === -d || (k !== d && (tv[off + k - 1] ?? 0) < (tv[off + k + 1] ?? 0)) ? k + 1 : k - 1;
    const prevX = tv[off + prevK] ?? 0;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ op: ' ', line: a[x - 1] as string });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) out.push({ op: '+', line: b[y - 1] as string });
      else out.push({ op: '-', line: a[x - 1] as string });
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

function replaceAll(a: readonly string[], b: readonly string[]): LineOp[] {
  return [...a.map((line): LineOp => ({ op: '-', line })), ...b.map((line): LineOp => ({ op: '+', line }))];
}

function range(start: number, count: number): string {
  // diff -u: an empty range names the line before it; a one-line range omits its count.
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

function render(o: LineOp): string[] {
  if (o.line.endsWith(NO_EOL)) return [o.op + o.line.slice(0, -NO_EOL.length), '\\ No newline at end of file'];
  return [o.op + o.line];
}

/**
 * `diff -u` between two versions of a file; '' when they are equal. `oldText` undefined means
 * the file does not exist yet (shown against /dev/null).
 */
export function unifiedDiff(
  oldText: string | undefined,
  newText: string,
  path: string,
  opts: { context?: number } = {},
): string {
  const context = opts.context ?? 3;
  if (oldText === newText) return '';
  const ops = diffLines(splitLines(oldText ?? ''), splitLines(newText));
  if (!ops.some((o) => o.op !== ' ')) return '';

  // Line numbers (1-based) of each op in the old and new file.
  const oldNo: number[] = [];
  const newNo: number[] = [];
  let ol = 1;
  let nl = 1;
  for (const o of ops) {
    oldNo.push(ol);
    newNo.push(nl);
    if (o.op !== '+') ol++;
    if (o.op !== '-') nl++;
  }

  const out = [oldText === undefined ? '--- /dev/null' : `--- a${path}`, `+++ b${path}`];
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i]?.op === ' ') i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - context);
    // Extend the hunk while the next change is within 2×context unchanged lines.
    let end = i;
    let j = i;
    while (j < ops.length) {
      if (ops[j]?.op !== ' ') {
        end = j;
        j++;
        continue;
      }
      let k = j;
      while (k < ops.length && ops[k]?.op === ' ') k++;
      if (k < ops.length && k - j <= 2 * context) {
        j = k;
        continue;
      }
      break;
    }
    const stop = Math.min(ops.length, end + 1 + context);
    const hunk = ops.slice(start, stop);
    const oStart = oldNo[start] ?? 1;
    const nStart = newNo[start] ?? 1;
    const oCount = hunk.filter((o) => o.op !== '+').length;
    const nCount = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${range(oStart, oCount)} +${range(nStart, nCount)} @@`);
    for (const o of hunk) out.push(...render(o));
    i = stop;
  }
  return out.join('\n') + '\n';
}
