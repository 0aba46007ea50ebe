/**
 * config.yml → ClusterConfig: JSON-schema validation (ajv) first, then semantic rules.
 * Every problem is collected and reported at once, located by line and path.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { formatPath } from '../model/merge.js';
import type { ClusterConfig, Vars } from '../model/types.js';
import type { LoadedDocument } from './load.js';
import { didYouMean, semanticProblems } from './rules/index.js';

const schemaUrl = new URL('../../schemas/config.schema.json', import.meta.url);
type Validator = ReturnType<Ajv['compile']>;
let compiled: { config: Validator; vars: Validator } | undefined;

function validators(): { config: Validator; vars: Validator } {
  if (!compiled) {
    // verbose: errors carry their schema node, whose `x-message` says what to write instead.
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    ajv.addKeyword('x-message');
    // A value another tool uses where pgha has its own (TPA's role barman): what to write instead.
    ajv.addKeyword('x-instead');
    const schema = JSON.parse(readFileSync(schemaUrl, 'utf8')) as { $id: string };
    const config = ajv.compile(schema);
    const vars = ajv.getSchema(`${schema.$id}#/$defs/vars`);
    if (!vars) throw new Error('bug: schemas/config.schema.json has no $defs/vars');
    compiled = { config, vars };
  }
  return compiled;
}

function segmentsOf(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function typeWords(t: unknown): string {
  const names = (Array.isArray(t) ? t : String(t).split(',')).map(String);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : (names[0] ?? '');
}

/** The schema's `x-instead` message for a value pgha refuses on purpose (e.g. role barman), if any. */
function insteadOf(instead: unknown, data: unknown): string | undefined {
  if (typeof instead !== 'object' || instead === null || typeof data !== 'string') return undefined;
  const message: unknown = Object.hasOwn(instead, data) ? (instead as Record<string, unknown>)[data] : undefined;
  return typeof message === 'string' ? message : undefined;
}

function describeAjvError(e: ErrorObject): { segments: (string | number)[]; message: string } {
  const segments = segmentsOf(e.instancePath);
  // Read through unknown: ajv types schema objects as `any`-valued records.
  const parent: Record<string, unknown> = e.parentSchema ?? {};
  const hint = parent['x-message'];
  const instead = insteadOf(parent['x-instead'], e.data);
  if (e.keyword === 'enum' && instead !== undefined) return { segments, message: instead };
  // Point at the repeated item itself rather than at the whole list.
  if (e.keyword === 'uniqueItems') {
    const { i, j } = e.params as { i: number; j: number };
    const item = Array.isArray(e.data) ? (e.data as unknown[])[i] : undefined;
    return { segments: [...segments, i], message: `${JSON.stringify(item)} is listed twice (also item ${j}); list it once` };
  }
  // required/additionalProperties are about the map's keys, not what the map's x-message describes.
  if (typeof hint === 'string' && e.keyword !== 'required' && e.keyword !== 'additionalProperties') {
    return { segments, message: hint };
  }
  switch (e.keyword) {
    case 'enum':
      return { segments, message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { segments, message: `must be ${JSON.stringify(e.params.allowedValue)}` };
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = Object.keys((parent.properties as object | undefined) ?? {});
      const guess = didYouMean(key, known);
      const fix = guess ? `did you mean "${guess}"?` : `remove it (allowed here: ${known.join(', ')})`;
      return { segments: [...segments, key], message: `unknown key "${key}"; ${fix}` };
    }
    case 'required':
      return { segments, message: `missing required key "${String(e.params.missingProperty)}"` };
    case 'type':
      return { segments, message: `must be ${typeWords(e.params.type)}` };
    default:
      return { segments, message: e.message ?? e.keyword };
  }
}

function problemsOf(
  validate: Validator,
  data: unknown,
  file: string,
  lineOf: (segments: (string | number)[]) => number | undefined,
): ConfigProblem[] {
  if (validate(data)) return [];
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const e of validate.errors ?? []) {
    // oneOf/anyOf wrappers repeat what their branches already said.
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const { segments, message } = describeAjvError(e);
    const problem = { file, line: lineOf(segments), path: formatPath(segments), message };
    const key = `${problem.path}\0${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(problem);
    }
  }
  return out;
}

export function schemaProblems(doc: LoadedDocument): ConfigProblem[] {
  return problemsOf(validators().config, doc.raw, doc.file, (s) => doc.lineOf(s));
}

/** `-e KEY=VALUE` variables get the same typing as config.yml's vars; they have no line. */
export function extraVarsProblems(extraVars: Vars): ConfigProblem[] {
  return problemsOf(validators().vars, extraVars, '-e', () => undefined);
}

/** Operators fix a config top to bottom; `-e` problems (no line) come last. Stable. */
function inFileOrder(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || a.i - b.i)
    .map(({ p }) => p);
}

export interface ValidConfig {
  config: ClusterConfig;
  warnings: ConfigProblem[];
}

/**
 * Keys that name JavaScript's object machinery. Merged as data (`out[key] = …`), `__proto__`
 * would replace a map's prototype and every variable with it; a `toString` or `valueOf` key that
 * is not a function crashed the schema check's deep comparison (an internal error, not exit 2).
 * None of them is a setting.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['prototype', ...Object.getOwnPropertyNames(Object.prototype)]);

/** The path of every reserved key at or below `v` (own keys only). */
function reservedKeyPaths(v: unknown, at: (string | number)[]): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => reservedKeyPaths(x, [...at, i]));
  if (typeof v !== 'object' || v === null) return [];
  const out: (string | number)[][] = [];
  for (const k of Object.keys(v)) {
    if (RESERVED_KEYS.has(k)) out.push([...at, k]);
    else out.push(...reservedKeyPaths((v as Record<string, unknown>)[k], [...at, k]));
  }
  return out;
}

const reservedKeyMessage = (key: string | number | undefined): string =>
  `"${String(key)}" cannot be a key: it names JavaScript's object machinery, not a setting, and would corrupt the merged variables; remove it`;

/** Validate a loaded document; throws ConfigError (exit 2) listing every problem. */
export function validateConfig(doc: LoadedDocument, extraVars: Vars = {}): ValidConfig {
  if (doc.problems.length) throw new ConfigError(doc.problems);
  if (doc.raw === null || typeof doc.raw !== 'object' || Array.isArray(doc.raw)) {
    throw new ConfigError([{ file: doc.file, line: 1, path: '', message: 'must be a YAML mapping (see `pgha configure`)' }]);
  }
  // Before anything merges or even schema-checks them.
  const reserved: ConfigProblem[] = [
    ...reservedKeyPaths(doc.raw, []).map((s) => ({
      file: doc.file,
      line: doc.lineOf(s),
      path: formatPath(s),
      message: reservedKeyMessage(s.at(-1)),
    })),
    ...reservedKeyPaths(extraVars, []).map((s) => ({
      file: '-e',
      line: undefined,
      path: formatPath(s),
      message: reservedKeyMessage(s.at(-1)),
    })),
  ];
  if (reserved.length) throw new ConfigError(reserved);
  const fromSchema = [...schemaProblems(doc), ...extraVarsProblems(extraVars)];
  if (fromSchema.length) throw new ConfigError(inFileOrder(fromSchema));
  const config = doc.raw as ClusterConfig;
  const { errors, warnings } = semanticProblems(config, doc, extraVars);
  if (errors.length) throw new ConfigError(inFileOrder(errors));
  return { config, warnings: inFileOrder(warnings) };
}
