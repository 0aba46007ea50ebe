/**
 * The variable list exists in the JSON schema (what config.yml may say) and in
 * src/model/defaults.ts (what pgha knows and defaults); docs/variables.md is generated from both.
 * Here they are held equal. (The TypeScript side types variables as `Vars`, a plain record, so
 * there is no third list to compare yet.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOC_FILE, schemaVariables, variablesMarkdown } from '../../scripts/variables-doc.js';
import { extraVarsProblems } from '../../src/config/validate.js';
import { ARCHITECTURE_DEFAULTS, BUILTIN_DEFAULTS, derivedDefaults, KNOWN_VARIABLES } from '../../src/model/defaults.js';

describe('variables', () => {
  it('the schema and the defaults name the same variables', () => {
    expect(Object.keys(schemaVariables()).sort()).toEqual([...KNOWN_VARIABLES].sort());
  });

  it('every default is a value the schema accepts', () => {
    // extraVarsProblems validates against the schema's $defs/vars, as `-e` and config.yml are.
    expect(extraVarsProblems({ ...BUILTIN_DEFAULTS })).toEqual([]);
    for (const vars of Object.values(ARCHITECTURE_DEFAULTS)) expect(extraVarsProblems({ ...vars })).toEqual([]);
    expect(extraVarsProblems(derivedDefaults(BUILTIN_DEFAULTS, 'c1'))).toEqual([]);
  });

  it('docs/variables.md is up to date (run `npm run docs:variables`)', () => {
    expect(readFileSync(DOC_FILE, 'utf8')).toBe(variablesMarkdown());
  });
});
