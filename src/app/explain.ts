/** `pgha explain DIR HOST VAR`: the final value of a variable and the layer(s) that set it. Pure. */
import { stringify } from 'yaml';
import { UsageError } from '../errors.js';
import { KNOWN_VARIABLES } from '../model/defaults.js';
import { formatPath, isPlainObject, layersUnder } from '../model/merge.js';
import type { ResolvedCluster } from '../model/types.js';

/** `a.b.c` → ['a','b','c']; a segment may be quoted (`a."x.y"`) when it holds a dot. */
export function splitVarPath(path: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|([^.]+)/g;
  for (const m of path.matchAll(re)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

export function explainVariable(cluster: ResolvedCluster, hostName: string, varPath: string): string {
  const host = cluster.hosts.find((h) => h.name === hostName);
  if (!host) {
    throw new UsageError(`host "${hostName}" is not in this cluster (hosts: ${cluster.hosts.map((h) => h.name).join(', ')})`);
  }
  const segments = splitVarPath(varPath);
  const [top] = segments;
  if (!top) throw new UsageError('VAR must name a variable, e.g. patroni_listen_port or patroni_conf_settings.log');
  // Own keys only: `constructor`, `toString` or `__proto__` would otherwise walk into
  // Object.prototype and print a function or the prototype as if it were a variable.
  if (!KNOWN_VARIABLES.has(top) && !Object.hasOwn(host.vars, top)) {
    throw new UsageError(`VAR ${top}: unknown variable (not one pgha knows, and not set on ${host.name})`, {
      hint: 'check the spelling; `pgha explain DIR HOST patroni_listen_port` shows a known one',
    });
  }
  let value: unknown = host.vars;
  for (const s of segments) value = isPlainObject(value) && Object.hasOwn(value, s) ? value[s] : undefined;
  const path = formatPath(segments);
  const layers = layersUnder(host.provenance, path);
  // A parent replaced as a whole (e.g. a list, or a scalar) carries the provenance.
  for (let i = segments.length - 1; i > 0 && layers.size === 0; i--) {
    const parent = formatPath(segments.slice(0, i));
    const l = host.provenance.get(parent);
    if (l) layers.set(parent, l);
  }
  if (value === undefined) {
    const known = KNOWN_VARIABLES.has(top) ? ' (known to pgha, but not set on this host)' : ' (not a variable pgha knows)';
    const by = layers.size ? `\nremoved by: ${[...layers.values()].join(', ')}` : '';
    return `${host.name}: ${path} is unset${known}${by}`;
  }
  const shown =
    isPlainObject(value) || Array.isArray(value) ? `\n${stringify(value).trimEnd().replace(/^/gm, '  ')}` : ` ${JSON.stringify(value)}`;
  const lines = [`${host.name}: ${path} =${shown}`];
  const distinct = new Set(layers.values());
  if (distinct.size <= 1) lines.push(`set by: ${[...distinct][0] ?? 'builtin'}`);
  else {
    lines.push('set by:');
    for (const [p, l] of [...layers].sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${p}: ${l}`);
  }
  return lines.join('\n');
}
