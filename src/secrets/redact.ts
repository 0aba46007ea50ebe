import type { FileMask } from '../model/types.js';

export const REDACTED = '********';

/**
 * A secret as it appears in the files pgha writes: as is; inside a JSON or YAML double-quoted
 * string (backslash escapes, \uXXXX for control characters); inside a YAML single-quoted string
 * (' doubled); inside a PgBouncer userlist.txt or conninfo field (" doubled); inside a .pgpass
 * field (\ and : escaped).
 */
export function encodedForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  // YAML's double-quoted style escapes like JSON but writes some control characters short
  // (\t, \a, \e …) and others as \xXX: cover both spellings of each control character.
  // The hex digits of \xXX are written lower case by the yaml library pgha renders with, upper
  // case by others: both spellings are looked for.
  const yamlDouble = (hexCase: (h: string) => string) =>
    json
      .replace(/\\u00([0-9a-f]{2})/gi, (_m, hex: string) => `\\x${hexCase(hex)}`)
      .replace(/\\x07/g, '\\a')
      .replace(/\\x0[Bb]/g, '\\v')
      .replace(/\\x1[Bb]/g, '\\e')
      .replace(/\\x00/g, '\\0');
  return [
    value,
    json,
    yamlDouble((h) => h.toUpperCase()),
    yamlDouble((h) => h.toLowerCase()),
    value.replace(/'/g, "''"),
    value.replace(/"/g, '""'),
    value.replace(/\\/g, '\\\\').replace(/:/g, '\\:'),
  ];
}

/** Applies a file's masks (by shape) before the caller's value-based redaction. */
export function maskByShape(text: string, masks: readonly FileMask[] | undefined): string {
  let out = text;
  for (const m of masks ?? []) out = out.replace(m.pattern, m.replace);
  return out;
}

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
    // Empty values would match everywhere; they are not secrets worth hiding. Each value is also
    // looked for as every file format pgha writes encodes it (see encodedForms).
    const all = [...values].filter((v) => v.length > 0).flatMap(encodedForms);
    this.values = [...new Set(all)].sort((a, b) => b.length - a.length);
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
