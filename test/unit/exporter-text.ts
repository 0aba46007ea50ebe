/**
 * A strict reader of Prometheus' text format 0.0.4 for the exporter's tests: it parses a page
 * back line by line and throws on anything a scraper would reject or misread — a sample whose
 * family was not declared by HELP and TYPE before it, a family declared twice, a family's
 * samples not kept together, a malformed label set or value.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedPage {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: ParsedSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/.exec(rest);
    if (!m) throw new Error(`malformed labels in: ${line}`);
    const name = m[1]!;
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name] = m[2]!.replace(/\\(\\|"|n)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function parseValue(v: string, line: string): number {
  if (v === 'NaN') return NaN;
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v)) throw new Error(`malformed value in: ${line}`);
  return Number(v);
}

export function parseExposition(text: string): ParsedPage {
  if (text.length && !text.endsWith('\n')) throw new Error('the page does not end with a line feed');
  const page: ParsedPage = { help: new Map(), type: new Map(), samples: [] };
  const closed = new Set<string>();
  let current: string | undefined;
  for (const line of text.split('\n').slice(0, -1)) {
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (help) {
      const name = help[1]!;
      if (page.help.has(name)) throw new Error(`HELP for ${name} twice`);
      if (current && current !== name) closed.add(current);
      current = name;
      page.help.set(name, help[2]!);
      continue;
    }
    if (type) {
      const name = type[1]!;
      if (page.type.has(name)) throw new Error(`TYPE for ${name} twice`);
      if (current !== name) throw new Error(`TYPE for ${name} without its HELP just before`);
      page.type.set(name, type[2]!);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`);
    const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (!m) throw new Error(`malformed sample: ${JSON.stringify(line)}`);
    const name = m[1]!;
    if (!page.type.has(name)) throw new Error(`sample of ${name} before its HELP and TYPE`);
    if (name !== current || closed.has(name)) throw new Error(`sample of ${name} outside its family's block`);
    page.samples.push({ name, labels: parseLabels(m[2] ?? '', line), value: parseValue(m[3]!, line) });
  }
  return page;
}

/** The one sample of `name` (whose labels include `match`), or undefined. */
export function sampleOf(page: ParsedPage, name: string, match: Record<string, string> = {}): ParsedSample | undefined {
  const found = page.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
  return found[0];
}
