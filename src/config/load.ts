/**
 * Read config.yml into a raw document plus a way to find the line of any path in it,
 * so every later problem can be reported as `config.yml:LINE: path: message`.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { ConfigProblem } from '../errors.js';

export interface LoadedDocument {
  /** Path as shown to the user (basename of the file, e.g. `config.yml`). */
  file: string;
  raw: unknown;
  /** The 1-based line of the deepest existing node along `segments`. */
  lineOf(segments: readonly (string | number)[]): number | undefined;
  problems: ConfigProblem[];
}

export function parseConfigText(text: string, file: string): LoadedDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [...doc.errors, ...doc.warnings].map((e) => ({
    file,
    line: e.linePos?.[0]?.line,
    path: '',
    message: `YAML: ${e.message.split('\n')[0]}`,
  }));
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);

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

  const raw = problems.some((p) => p.message.startsWith('YAML')) && doc.errors.length ? undefined : doc.toJS({ maxAliasCount: 100 });
  return { file, raw, lineOf, problems };
}

export function readConfigFile(path: string): LoadedDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found (run `pgha configure DIR` first, or check the path)' : `cannot be read (${code})`;
    return { file: path, raw: undefined, lineOf: () => undefined, problems: [{ file: path, line: undefined, path: '', message: why }] };
  }
  return parseConfigText(text, basename(path));
}
