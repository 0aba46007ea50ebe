/** `-e KEY=VALUE` (VALUE parsed as YAML): the top layer of docs/architecture.md#variables-and-layers. */
import { parse } from 'yaml';
import { UsageError } from '../errors.js';
import type { Vars } from '../model/types.js';

export function parseExtraVars(args: readonly string[]): Vars {
  const out: Vars = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(0, eq) : '';
    if (!/^[a-z_][a-z0-9_]*$/.test(key)) {
      throw new UsageError(`-e ${arg}: expected KEY=VALUE with a variable name as KEY (e.g. -e patroni_listen_port=8009)`);
    }
    // `-e __proto__=…` would set the prototype of the variables map instead of a variable.
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      throw new UsageError(`-e ${key}: "${key}" cannot be a variable name; name a pgha variable (e.g. -e patroni_listen_port=8009)`);
    }
    try {
      out[key] = parse(arg.slice(eq + 1)) as unknown;
    } catch (e) {
      throw new UsageError(`-e ${key}: the value is not valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return out;
}
