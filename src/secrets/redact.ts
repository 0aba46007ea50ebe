export const REDACTED = '********';

/**
 * Masks secret values in any text pgha prints, logs or diffs.
 *
 * Every occurrence of every value is located first and the union of those spans is masked, rather
 * than replacing values one after another: with overlapping secrets ("abcdef" and "defghi" in
 * "abcdefghi") sequential replacement of one would leave a fragment of the other readable.
 * Values are still tried longest first so that, where one secret contains another, the mask covers
 * the longer one.
 */
export class Redactor {
  private readonly values: string[];

  constructor(values: Iterable<string>) {
    // Empty values would match everywhere; they are not secrets worth hiding.
    this.values = [...new Set(values)].filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    if (this.values.length === 0 || text.length === 0) return text;
    const spans: [number, number][] = [];
    for (const v of this.values) {
      // Step by one, not by v.length, so self-overlapping occurrences ("aaa" in "aaaa") are all found.
      for (let i = text.indexOf(v); i !== -1; i = text.indexOf(v, i + 1)) spans.push([i, i + v.length]);
    }
    if (spans.length === 0) return text;
    spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    let out = '';
    let pos = 0;
    let cur: [number, number] | undefined;
    for (const s of spans) {
      if (cur && s[0] <= cur[1]) {
        cur[1] = Math.max(cur[1], s[1]);
        continue;
      }
      if (cur) {
        out += text.slice(pos, cur[0]) + REDACTED;
        pos = cur[1];
      }
      cur = [s[0], s[1]];
    }
    if (cur) {
      out += text.slice(pos, cur[0]) + REDACTED;
      pos = cur[1];
    }
    return out + text.slice(pos);
  }
}
