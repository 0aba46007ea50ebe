/**
 * What every semantic rule of config.yml shares: the schema-valid config, the document it came
 * from (for line numbers), the `-e` variables, the resolved cluster, and the ways to report a
 * problem. Rules only add problems through the context, so one rule never hides another's.
 */
import type { ConfigProblem } from '../../errors.js';
import { formatPath, isPlainObject } from '../../model/merge.js';
import { resolveCluster } from '../../model/resolve.js';
import type { ClusterConfig, ResolvedCluster, ResolvedHost, Role, Vars } from '../../model/types.js';
import type { LoadedDocument } from '../load.js';

export type Segments = (string | number)[];

/** Where a problem points: a path in config.yml, or a `-e` variable (no line). */
export interface Loc {
  file: string;
  segments: Segments;
  /** Higher wins when two variables compete for blame: -e 4, instance 3, instance_defaults 2, cluster_vars 1. */
  rank: number;
}

export type Severity = 'error' | 'warning';

export interface SemanticResult {
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

/** The file name `-e` problems carry: they have no line to point at. */
export const EXTRA_VARS_FILE = '-e';

export interface RuleContext {
  readonly config: ClusterConfig;
  readonly doc: LoadedDocument;
  readonly extraVars: Vars;
  /** The cluster after every layer is merged, one host per instance, in the same order. */
  readonly resolved: ResolvedCluster;
  /** Every variable map with where it sits, lowest layer first and `-e` last. */
  readonly varLayers: readonly [unknown, Loc][];
  /** A location in config.yml. */
  inDoc(segments: Segments): Loc;
  /** Report a problem where `loc` points. */
  report(severity: Severity, loc: Loc, message: string): void;
  /** Shorthand for an error at a path of config.yml. */
  error(segments: Segments, message: string): void;
  /**
   * Report a problem of one host that many hosts may share: problems with the same severity,
   * location and `key` become one, whose message `render` builds from the hosts' names.
   */
  perHost(severity: Severity, loc: Loc, key: string, host: string, render: (hosts: string) => string): void;
  /**
   * The layer that decides `path` for instance `i`: the highest one that sets it, or that
   * replaces one of its parents with a non-map (e.g. null). Undefined: a pgha default.
   */
  sourceOf(i: number, path: Segments): Loc | undefined;
  /** Where to blame `path` of instance `i`: its source, else the instance itself. */
  blame(i: number, path: Segments): Loc;
  /** Of two paths that clash on instance `i`, the one set by the higher layer (ties: the second). */
  louder(i: number, a: Segments, b: Segments): Loc;
  /** Every problem reported so far, with the per-host ones merged in last. */
  result(): SemanticResult;
}

/** Hosts named once each; past ten, the rest counted (a 500-host cluster's message stays one line). */
export function hostList(hosts: readonly string[], shown = 10): string {
  const unique = [...new Set(hosts)];
  if (unique.length <= shown) return unique.join(', ');
  return `${unique.slice(0, shown).join(', ')} and ${unique.length - shown} more`;
}

export function isDataNode(roles: readonly Role[]): boolean {
  return roles.includes('primary') || roles.includes('replica');
}

/** The variable layers of instance `i`, highest first, each able to locate a path inside it. */
function layersOf(config: ClusterConfig, extraVars: Vars, file: string, i: number): { vars: unknown; loc: (p: Segments) => Loc }[] {
  return [
    { vars: extraVars, loc: (p) => ({ file: EXTRA_VARS_FILE, segments: p, rank: 4 }) },
    { vars: config.instances[i]?.vars, loc: (p) => ({ file, segments: ['instances', i, 'vars', ...p], rank: 3 }) },
    { vars: config.instance_defaults.vars, loc: (p) => ({ file, segments: ['instance_defaults', 'vars', ...p], rank: 2 }) },
    { vars: config.cluster_vars, loc: (p) => ({ file, segments: ['cluster_vars', ...p], rank: 1 }) },
  ];
}

function sourceIn(layers: { vars: unknown; loc: (p: Segments) => Loc }[], path: Segments): Loc | undefined {
  for (const layer of layers) {
    let cur = layer.vars;
    let depth = 0;
    for (const key of path) {
      if (!isPlainObject(cur) || !Object.hasOwn(cur, key)) break;
      cur = cur[key];
      depth++;
      if (depth < path.length && !isPlainObject(cur)) return layer.loc(path.slice(0, depth));
    }
    if (depth === path.length) return layer.loc(path);
  }
  return undefined;
}

interface Grouped {
  severity: Severity;
  loc: Loc;
  render: (hosts: string) => string;
  hosts: string[];
}

export function createContext(config: ClusterConfig, doc: LoadedDocument, extraVars: Vars): RuleContext {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  // The same resolved-level mistake usually comes from one line shared by many hosts:
  // report it once there, naming the hosts. Insertion order is report order.
  const grouped = new Map<string, Grouped>();

  const problemAt = (loc: Loc, message: string): ConfigProblem => ({
    file: loc.file,
    line: loc.file === doc.file ? doc.lineOf(loc.segments) : undefined,
    path: formatPath(loc.segments),
    message,
  });
  const inDoc = (segments: Segments): Loc => ({ file: doc.file, segments, rank: 0 });
  const report = (severity: Severity, loc: Loc, message: string): void => {
    (severity === 'error' ? errors : warnings).push(problemAt(loc, message));
  };
  const sourceOf = (i: number, path: Segments): Loc | undefined => sourceIn(layersOf(config, extraVars, doc.file, i), path);
  const blame = (i: number, path: Segments): Loc => sourceOf(i, path) ?? inDoc(['instances', i]);

  return {
    config,
    doc,
    extraVars,
    resolved: resolveCluster(config, extraVars),
    varLayers: [
      [config.cluster_vars, inDoc(['cluster_vars'])],
      [config.instance_defaults.vars, inDoc(['instance_defaults', 'vars'])],
      ...config.instances.map((inst, i): [unknown, Loc] => [inst.vars, inDoc(['instances', i, 'vars'])]),
      [extraVars, { file: EXTRA_VARS_FILE, segments: [], rank: 4 }],
    ],
    inDoc,
    report,
    error: (segments, message) => report('error', inDoc(segments), message),
    perHost(severity, loc, key, host, render) {
      const id = `${severity === 'error' ? 'E' : 'W'}\0${loc.file}\0${formatPath(loc.segments)}\0${key}`;
      const entry = grouped.get(id) ?? { severity, loc, render, hosts: [] };
      entry.hosts.push(host);
      grouped.set(id, entry);
    },
    sourceOf,
    blame,
    louder(i, pathA, pathB) {
      const a = sourceOf(i, pathA);
      const b = sourceOf(i, pathB);
      return (a && (!b || a.rank > b.rank) ? a : b) ?? inDoc(['instances', i]);
    },
    result() {
      const merged = [...grouped.values()].map((g) => ({ g, problem: problemAt(g.loc, g.render(hostList(g.hosts))) }));
      return {
        errors: [...errors, ...merged.filter((m) => m.g.severity === 'error').map((m) => m.problem)],
        warnings: [...warnings, ...merged.filter((m) => m.g.severity === 'warning').map((m) => m.problem)],
      };
    },
  };
}

/** A rule about the whole config. */
export type Rule = (ctx: RuleContext) => void;
/** A rule about instance `i` of config.yml, as written. */
export type InstanceRule = (ctx: RuleContext, i: number) => void;
/** A rule about one resolved host (`i` is its instance's index). */
export type HostRule = (ctx: RuleContext, host: ResolvedHost, i: number) => void;

/** One rule running the instance rules instance by instance: problems come out in instance order. */
export function eachInstance(...rules: InstanceRule[]): Rule {
  return (ctx) => {
    ctx.config.instances.forEach((_, i) => {
      for (const rule of rules) rule(ctx, i);
    });
  };
}

/** One rule running the host rules host by host: merged per-host problems keep host order. */
export function eachHost(...rules: HostRule[]): Rule {
  return (ctx) => {
    ctx.resolved.hosts.forEach((host, i) => {
      for (const rule of rules) rule(ctx, host, i);
    });
  };
}
