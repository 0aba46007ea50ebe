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
    try {
      out[key] = parse(arg.slice(eq + 1)) as unknown;
    } catch (e) {
      throw new UsageError(`-e ${key}: the value is not valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return out;
}
