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
import { semanticProblems } from './rules.js';

const schemaUrl = new URL('../../schemas/config.schema.json', import.meta.url);
let compiled: ReturnType<Ajv['compile']> | undefined;

function schemaValidator(): ReturnType<Ajv['compile']> {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    compiled = ajv.compile(JSON.parse(readFileSync(schemaUrl, 'utf8')) as object);
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

function describeAjvError(e: ErrorObject): { segments: (string | number)[]; message: string } {
  const segments = segmentsOf(e.instancePath);
  switch (e.keyword) {
    case 'enum':
      return { segments, message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { segments, message: `must be ${JSON.stringify(e.params.allowedValue)}` };
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      return { segments: [...segments, key], message: `unknown key "${key}"` };
    }
    case 'required':
      return { segments, message: `missing required key "${String(e.params.missingProperty)}"` };
    case 'type':
      return { segments, message: `must be ${String(e.params.type)}` };
    default:
      return { segments, message: e.message ?? e.keyword };
  }
}

export function schemaProblems(doc: LoadedDocument): ConfigProblem[] {
  const validate = schemaValidator();
  if (validate(doc.raw)) return [];
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const e of validate.errors ?? []) {
    // oneOf/anyOf wrappers repeat what their branches already said.
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const { segments, message } = describeAjvError(e);
    const problem = { file: doc.file, line: doc.lineOf(segments), path: formatPath(segments), message };
    const key = `${problem.path}\0${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(problem);
    }
  }
  return out;
}

export interface ValidConfig {
  config: ClusterConfig;
  warnings: ConfigProblem[];
}

/** Validate a loaded document; throws ConfigError (exit 2) listing every problem. */
export function validateConfig(doc: LoadedDocument, extraVars: Vars = {}): ValidConfig {
  if (doc.problems.length) throw new ConfigError(doc.problems);
  if (doc.raw === null || typeof doc.raw !== 'object' || Array.isArray(doc.raw)) {
    throw new ConfigError([{ file: doc.file, line: 1, path: '', message: 'must be a YAML mapping (see `pgha configure`)' }]);
  }
  const fromSchema = schemaProblems(doc);
  if (fromSchema.length) throw new ConfigError(fromSchema);
  const config = doc.raw as ClusterConfig;
  const { errors, warnings } = semanticProblems(config, doc, extraVars);
  if (errors.length) throw new ConfigError(errors);
  return { config, warnings };
}
