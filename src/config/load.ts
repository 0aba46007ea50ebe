/**
 * Read config.yml into a raw document plus a way to find the line of any path in it,
 * so every later problem can be reported as `config.yml:LINE: path: message`.
 */
import { basename } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Node as YamlNode } from 'yaml';
import type { ConfigProblem } from '../errors.js';
import { readConfigText } from './read-text.js';

export interface LoadedDocument {
  /** Path as shown to the user (basename of the file, e.g. `config.yml`). */
  file: string;
  raw: unknown;
  /** The 1-based line of the deepest existing node along `segments`. */
  lineOf(segments: readonly (string | number)[]): number | undefined;
  problems: ConfigProblem[];
}

/** yaml's own words say what is wrong; add what to do about the usual slips. */
function yamlMessage(code: string, message: string, lineText: string): string {
  switch (code) {
    case 'DUPLICATE_KEY': {
      const key = lineText.trim().replace(/^-\s*/, '').split(':')[0]?.trim();
      return `key "${key}" appears twice in one map; keep one of them`;
    }
    case 'TAB_AS_INDENT':
      return 'a tab is used for indentation; indent with spaces only';
    case 'BAD_INDENT':
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return `${message}; check the indentation of this line (keys of one map line up) and the brackets and quotes above it`;
    case 'MISSING_CHAR':
      return `${message}: one opened above this line is never closed; close it where the value ends`;
    default:
      return message;
  }
}

export function parseConfigText(text: string, file: string): LoadedDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  // One broken bracket makes yaml repeat the same complaint on every following line: say it once.
  const said = new Set<string>();
  const distinct = [...doc.errors, ...doc.warnings].filter((e) => !said.has(e.message) && said.add(e.message));
  // linePos is only filled in with prettyErrors; the offset is always there.
  const lines = text.split('\n');
  const problems: ConfigProblem[] = distinct.map((e) => {
    const line = e.linePos?.[0]?.line ?? lineAt(e.pos[0]);
    return { file, line, path: '', message: `YAML: ${yamlMessage(e.code, e.message.split('\n')[0] ?? '', lines[(line ?? 0) - 1] ?? '')}` };
  });
  // yaml reports an alias without its anchor only when converting (by throwing): find it first.
  if (!doc.errors.length) {
    visit(doc, {
      Alias(_, node, path) {
        const target = node.resolve(doc);
        if (!target) {
          problems.push({
            file,
            line: lineAt(node.range?.[0]),
            path: '',
            message: `YAML: alias *${node.source} has no anchor &${node.source} before it; define the anchor first or write the value out`,
          });
        } else if (path.includes(target)) {
          // An alias inside its own anchor's value (`&a {x: *a}`, or `<<: *a` within &a) makes a
          // value that contains itself: every walk of it would never end.
          problems.push({
            file,
            line: lineAt(node.range?.[0]),
            path: '',
            message: `YAML: alias *${node.source} is inside the value anchored as &${node.source}, so that value would contain itself; move the alias out of it or write the value out`,
          });
        }
      },
    });
  }

  function lineOf(segments: readonly (string | number)[]): number | undefined {
    let node: unknown = doc.contents;
    let line = lineAt((doc.contents as YamlNode | null)?.range?.[0]);
    for (const seg of segments) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        line = lineAt((pair.key as YamlNode).range?.[0]) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as YamlNode | undefined;
        if (!item) break;
        line = lineAt(item.range?.[0]) ?? line;
        node = item;
      } else break;
    }
    return line;
  }

  let raw: unknown;
  if (!problems.length) {
    try {
      raw = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // e.g. an alias bomb (yaml refuses past maxAliasCount): a config problem, not a crash.
      problems.push({ file, line: undefined, path: '', message: `YAML: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  return { file, raw, lineOf, problems };
}

export function readConfigFile(path: string): LoadedDocument {
  const read = readConfigText(path);
  if (!('text' in read)) {
    // With a line the problem is inside the file, named as the user knows it; otherwise it is the file itself.
    const file = read.line === undefined ? path : basename(path);
    return { file, raw: undefined, lineOf: () => undefined, problems: [{ file, line: read.line, path: '', message: read.message }] };
  }
  return parseConfigText(read.text, basename(path));
}
