/**
 * Semantic rules of config.yml: what the JSON schema cannot say (cross-instance uniqueness,
 * role combinations, quorum) and what only shows after the layers are merged (mtls without
 * TLS, port clashes on one host, Patroni timing). Runs on a schema-valid config only.
 * Every problem is collected; none stops the others.
 */
import type { ConfigProblem } from '../errors.js';
import { desiredDcs } from '../components/patroni/dcs.js';
import { BUILTIN_DEFAULTS, KNOWN_VARIABLES } from '../model/defaults.js';
import { formatPath, isPlainObject } from '../model/merge.js';
import { resolveCluster } from '../model/resolve.js';
import type { ClusterConfig, ResolvedCluster, ResolvedHost, Role, Vars } from '../model/types.js';
import { HAPROXY_RO_BACKEND, HAPROXY_RW_BACKEND, haproxyListeners } from '../components/haproxy/config.js';
import { haproxySettingsProblems } from './haproxy-settings.js';
import type { LoadedDocument } from './load.js';
import { ETCD_ROOT_SECRET } from '../secrets/store.js';

/** Variables with a default that rendering cannot do without (a null would unset them). */
const REQUIRED_VARIABLES = ['etcd_authentication_mode', 'patroni_authentication_mode', 'patroni_dcs_namespace'] as const;

type Segments = (string | number)[];

/** Where a problem points: a path in config.yml, or a `-e` variable (no line). */
interface Loc {
  file: string;
  segments: Segments;
  /** Higher wins when two variables compete for blame: -e 4, instance 3, instance_defaults 2, cluster_vars 1. */
  rank: number;
}

export interface SemanticResult {
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

const EXTRA_VARS_FILE = '-e';

/** Optimal string alignment distance: Levenshtein plus adjacent swaps, the commonest typo. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The closest candidate, if it is close enough to be the likely intent. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  // Long names tolerate more typos; short ones would match almost anything.
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 4)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of [...candidates].sort()) {
    if (c === name) continue;
    const dist = editDistance(lower, c.toLowerCase());
    if (dist <= limit && dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}

/** JSON with sorted keys, so equal maps compare equal whatever their key order. */
function stableString(v: unknown): string {
  if (v === undefined) return 'unset';
  if (Array.isArray(v)) return `[${v.map(stableString).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableString(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Variables Patroni, etcd or bootstrap need identical on every member; a per-instance value
 * would split the cluster (other namespace, other users) or make deploys fight over /config.
 */
const CLUSTER_WIDE = [
  'postgres_version',
  'failover_manager',
  'patroni_dcs',
  'patroni_dcs_namespace',
  'patroni_dynamic_conf_settings',
  'patroni_super_user',
  'patroni_replication_user',
  'patroni_rewind_user',
  'patroni_restapi_user',
  'patroni_etcd_user',
  'patroni_authentication_mode',
  'patroni_ssl_enabled',
  'patroni_rewind_enabled',
  'etcd_ssl_enabled',
  'etcd_authentication_mode',
  'pgbouncer_auth_user',
] as const;

/** etcd's own advice: beyond 7 members every write waits on more peers and nothing is gained. */
export const MAX_ETCD_MEMBERS = 7;

/** Settings rendered into line-based files (haproxy.cfg, pgbouncer.ini, etcd's flags). */
const LINE_SETTINGS = ['haproxy_conf_settings', 'pgbouncer_conf_settings', 'etcd_conf_settings'] as const;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** `\n`, `\t` or `U+001B`: a control character as an operator would recognise it. */
function describeControl(c: string): string {
  const named: Record<string, string> = { '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', '\0': 'a NUL' };
  return named[c] ?? `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Every key or string value at or below `v` that holds a control character. */
function controlCharacterPaths(v: unknown, at: Segments): { path: Segments; in: 'key' | 'value'; char: string }[] {
  const out: { path: Segments; in: 'key' | 'value'; char: string }[] = [];
  if (typeof v === 'string') {
    const m = CONTROL_CHARACTER.exec(v);
    if (m) out.push({ path: at, in: 'value', char: describeControl(m[0]) });
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => out.push(...controlCharacterPaths(x, [...at, i])));
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const m = CONTROL_CHARACTER.exec(k);
      if (m) out.push({ path: [...at, k], in: 'key', char: describeControl(m[0]) });
      else out.push(...controlCharacterPaths(x, [...at, k]));
    }
  }
  return out;
}

const PATRONI_DCS_TIMING_DEFAULTS = { ttl: 30, loop_wait: 10, retry_timeout: 10 } as const;

function isDataNode(roles: readonly Role[]): boolean {
  return roles.includes('primary') || roles.includes('replica');
}

/**
 * A port a host listens on: the variable (or settings path) that chooses it, and what listens.
 * `port` is set for listeners whose port is read from a rendered configuration.
 */
interface PortUse {
  variable: string;
  path: Segments;
  service: string;
  port?: number;
}

/** The ports a host listens on given its roles: every listener of every component it runs. */
function portVariables(cluster: ResolvedCluster, host: ResolvedHost): PortUse[] {
  const out: PortUse[] = [];
  const use = (variable: string, service: string) => out.push({ variable, path: [variable], service });
  if (isDataNode(host.roles)) {
    use('postgres_port', 'PostgreSQL');
    use('patroni_listen_port', 'the Patroni REST API');
  }
  if (host.roles.includes('etcd')) {
    use('etcd_client_port', 'etcd clients');
    use('etcd_peer_port', 'etcd peers');
  }
  // On a data node haproxy is already refused by its own rule; its ports would only repeat that.
  if (host.roles.includes('haproxy') && !isDataNode(host.roles)) {
    use('haproxy_port', 'HAProxy');
    if (host.vars.haproxy_read_only_load_balancer_enabled === true) use('haproxy_read_only_port', 'the HAProxy read-only frontend');
    // Every other bind line of the final haproxy.cfg (the stats listener, user sections).
    const byVariable: Record<string, string> = { [HAPROXY_RW_BACKEND]: 'haproxy_port', [HAPROXY_RO_BACKEND]: 'haproxy_read_only_port' };
    if (typeof host.vars.haproxy_port === 'number' && typeof host.vars.haproxy_read_only_port === 'number') {
      // Settings the renderer cannot place are reported by their own rule above.
      let listeners: ReturnType<typeof haproxyListeners>;
      try {
        listeners = haproxyListeners(cluster, host);
      } catch {
        listeners = [];
      }
      for (const l of listeners) {
        if (l.kind === 'frontends' && byVariable[l.section]) continue;
        const path = ['haproxy_conf_settings', l.kind, l.section, 'bind'];
        out.push({ variable: `haproxy_conf_settings.${l.kind}.${l.section}`, path, service: `HAProxy's ${l.section}`, port: l.port });
      }
    }
  }
  if (host.roles.includes('pgbouncer')) use('pgbouncer_port', 'PgBouncer');
  return out;
}

function ipProblem(ip: string): string | undefined {
  const octets = ip.split('.').map(Number);
  const [a, b, c, d] = octets;
  if (a === undefined || b === undefined || c === undefined || d === undefined) return undefined;
  const fix = "use the host's own address on the network the cluster members share";
  if (a === 0) return `${ip} is in 0.0.0.0/8 ("this network"), not a host address; ${fix}`;
  if (a === 127) return `${ip} is a loopback address, which other hosts cannot reach; ${fix}`;
  if (a === 255 && b === 255 && c === 255 && d === 255) return `${ip} is the broadcast address; ${fix}`;
  if (a >= 224 && a <= 239) return `${ip} is a multicast address; ${fix}`;
  if (a >= 240) return `${ip} is in the reserved range 240.0.0.0/4; ${fix}`;
  return undefined;
}

export function semanticProblems(config: ClusterConfig, doc: LoadedDocument, extraVars: Vars): SemanticResult {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];

  const problemAt = (loc: Loc, message: string): ConfigProblem => ({
    file: loc.file,
    line: loc.file === doc.file ? doc.lineOf(loc.segments) : undefined,
    path: formatPath(loc.segments),
    message,
  });
  const inDoc = (segments: Segments): Loc => ({ file: doc.file, segments, rank: 0 });
  const error = (segments: Segments, message: string): void => {
    errors.push(problemAt(inDoc(segments), message));
  };

  // The same resolved-level mistake usually comes from one line shared by many hosts:
  // report it once there, naming the hosts.
  const grouped = new Map<string, { target: ConfigProblem[]; loc: Loc; render: (hosts: string) => string; hosts: string[] }>();
  const perHost = (target: ConfigProblem[], loc: Loc, key: string, host: string, render: (hosts: string) => string): void => {
    const id = `${target === errors ? 'E' : 'W'}\0${loc.file}\0${formatPath(loc.segments)}\0${key}`;
    const entry = grouped.get(id) ?? { target, loc, render, hosts: [] };
    entry.hosts.push(host);
    grouped.set(id, entry);
  };

  const instances = config.instances;
  const layers = (i: number): { vars: unknown; loc: (path: Segments) => Loc }[] => [
    { vars: extraVars, loc: (p) => ({ file: EXTRA_VARS_FILE, segments: p, rank: 4 }) },
    { vars: instances[i]?.vars, loc: (p) => ({ file: doc.file, segments: ['instances', i, 'vars', ...p], rank: 3 }) },
    { vars: config.instance_defaults.vars, loc: (p) => ({ file: doc.file, segments: ['instance_defaults', 'vars', ...p], rank: 2 }) },
    { vars: config.cluster_vars, loc: (p) => ({ file: doc.file, segments: ['cluster_vars', ...p], rank: 1 }) },
  ];

  /**
   * The layer that decides `path` for instance `i`: the highest one that sets it, or that
   * replaces one of its parents with a non-map (e.g. null). Undefined: a pgha default.
   */
  const sourceOf = (i: number, path: Segments): Loc | undefined => {
    for (const layer of layers(i)) {
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
  };

  // ---------------------------------------------------------------- unknown variables
  const varLayers: [unknown, Loc][] = [
    [config.cluster_vars, inDoc(['cluster_vars'])],
    [config.instance_defaults.vars, inDoc(['instance_defaults', 'vars'])],
    ...instances.map((inst, i): [unknown, Loc] => [inst.vars, inDoc(['instances', i, 'vars'])]),
    [extraVars, { file: EXTRA_VARS_FILE, segments: [], rank: 4 }],
  ];
  for (const [vars, loc] of varLayers) {
    if (!isPlainObject(vars)) continue;
    for (const name of Object.keys(vars)) {
      if (KNOWN_VARIABLES.has(name)) continue;
      const guess = didYouMean(name, KNOWN_VARIABLES);
      const fix = guess ? `did you mean "${guess}"?` : 'check the spelling, or remove it';
      warnings.push(problemAt({ ...loc, segments: [...loc.segments, name] }, `unknown variable, pgha ignores it; ${fix}`));
    }
  }

  // ---------------------------------------------------------------- haproxy_conf_settings
  // The renderer skips what it cannot place; say so here, at the line, instead.
  for (const [vars, loc] of varLayers) {
    if (!isPlainObject(vars) || !Object.hasOwn(vars, 'haproxy_conf_settings')) continue;
    for (const p of haproxySettingsProblems(vars.haproxy_conf_settings)) {
      errors.push(problemAt({ ...loc, segments: [...loc.segments, 'haproxy_conf_settings', ...p.path] }, p.message));
    }
  }

  // ---------------------------------------------------------------- control characters in settings
  // These settings are written one directive per line: a newline in a key or value would start a
  // directive (or a section) of its own, e.g. `auth_type = trust` or a `listen … stats admin`.
  for (const [vars, loc] of varLayers) {
    if (!isPlainObject(vars)) continue;
    for (const name of LINE_SETTINGS) {
      if (!Object.hasOwn(vars, name)) continue;
      for (const p of controlCharacterPaths(vars[name], [])) {
        errors.push(
          problemAt(
            { ...loc, segments: [...loc.segments, name, ...p.path] },
            `the ${p.in} contains a control character (${p.char}); ${name} is written one line per setting, where a newline would inject a directive: remove it`,
          ),
        );
      }
    }
  }

  // ---------------------------------------------------------------- locations
  const locationNames = new Map<string, number>();
  config.locations.forEach((l, i) => {
    const first = locationNames.get(l.Name);
    if (first !== undefined) error(['locations', i, 'Name'], `"${l.Name}" is already locations[${first}]; list each location once`);
    else locationNames.set(l.Name, i);
  });

  // ---------------------------------------------------------------- instances one by one
  const seenName = new Map<string, number>();
  const seenIp = new Map<string, number>();
  const seenNode = new Map<number, number>();
  const primaries: { i: number; j: number }[] = [];
  const etcdMembers: string[] = [];
  let firstHaproxy: { i: number; j: number } | undefined;
  let firstPgbouncer: { i: number; j: number } | undefined;

  instances.forEach((inst, i) => {
    const roles = inst.role;
    const idx = (r: Role): number => roles.indexOf(r);
    const data = isDataNode(roles);

    const dupName = seenName.get(inst.Name);
    if (dupName !== undefined)
      error(['instances', i, 'Name'], `"${inst.Name}" is already the Name of instances[${dupName}]; every instance needs its own Name`);
    else seenName.set(inst.Name, i);

    const dupIp = seenIp.get(inst.ip_address);
    if (dupIp !== undefined) {
      error(
        ['instances', i, 'ip_address'],
        `${inst.ip_address} is already the ip_address of instances[${dupIp}] ("${instances[dupIp]?.Name}"); every instance needs its own address`,
      );
    } else seenIp.set(inst.ip_address, i);

    const dupNode = seenNode.get(inst.node);
    if (dupNode !== undefined) {
      error(
        ['instances', i, 'node'],
        `node ${inst.node} is already used by instances[${dupNode}] ("${instances[dupNode]?.Name}"); give every instance its own node number`,
      );
    } else seenNode.set(inst.node, i);

    if (!locationNames.has(inst.location)) {
      const known = [...locationNames.keys()];
      const guess = didYouMean(inst.location, known);
      const fix = guess ? `did you mean "${guess}"? Otherwise add` : `use one of ${known.join(', ')}, or add`;
      error(['instances', i, 'location'], `"${inst.location}" is not one of locations; ${fix} {Name: ${inst.location}} to locations`);
    }

    const ipWhy = ipProblem(inst.ip_address);
    if (ipWhy) error(['instances', i, 'ip_address'], ipWhy);

    if (roles.includes('primary')) primaries.push({ i, j: idx('primary') });
    if (roles.includes('primary') && roles.includes('replica')) {
      error(
        ['instances', i, 'role', Math.max(idx('primary'), idx('replica'))],
        'primary and replica exclude each other on one instance; keep one of them',
      );
    }
    if (roles.includes('haproxy') && data) {
      error(
        ['instances', i, 'role', idx('haproxy')],
        'haproxy cannot share an instance with primary or replica in M1; give haproxy an instance of its own',
      );
    }
    if (roles.includes('pgbouncer') && !data) {
      error(
        ['instances', i, 'role', idx('pgbouncer')],
        'pgbouncer runs only on data nodes (with primary or replica), in front of their PostgreSQL; add it to those instances instead',
      );
    }
    if (roles.includes('etcd')) etcdMembers.push(inst.Name);
    if (roles.includes('haproxy')) firstHaproxy ??= { i, j: idx('haproxy') };
    if (roles.includes('pgbouncer')) firstPgbouncer ??= { i, j: idx('pgbouncer') };
  });

  // ---------------------------------------------------------------- the cluster as a whole
  const firstPrimary = primaries[0];
  if (!firstPrimary) {
    error(['instances'], 'no instance has role primary; give exactly one data node role primary (it bootstraps the cluster)');
  } else {
    for (const p of primaries.slice(1)) {
      error(
        ['instances', p.i, 'role', p.j],
        `a second primary (instances[${firstPrimary.i}] "${instances[firstPrimary.i]?.Name}" is already primary); exactly one instance bootstraps the cluster: make this one a replica`,
      );
    }
  }

  if (etcdMembers.length === 0) {
    error(['instances'], 'no instance has role etcd; Patroni keeps its state in etcd: give role etcd to 1, 3 or 5 instances');
  } else if (etcdMembers.length > MAX_ETCD_MEMBERS) {
    error(
      ['instances'],
      `${etcdMembers.length} instances have role etcd; etcd supports at most ${MAX_ETCD_MEMBERS} members (every write waits for a majority, so more members only slow it down): keep role etcd on 3 or 5 instances and remove it from the others`,
    );
  } else if (etcdMembers.length % 2 === 0) {
    error(
      ['instances'],
      `${etcdMembers.length} instances have role etcd (${etcdMembers.join(', ')}); an even number adds no fault tolerance and can split the vote: use an odd number (1, 3, 5), adding or removing role etcd on one instance`,
    );
  }

  if (firstHaproxy && firstPgbouncer) {
    error(
      ['instances', firstPgbouncer.i, 'role', firstPgbouncer.j],
      `haproxy (instances[${firstHaproxy.i}]) and pgbouncer cannot be used in one cluster, as \`pgha configure\` refuses --enable-haproxy with --enable-pgbouncer; remove one of the two roles everywhere`,
    );
  }

  // ---------------------------------------------------------------- resolved variables, host by host
  const resolved = resolveCluster(config, extraVars);
  const fallback = (i: number): Loc => inDoc(['instances', i]);

  for (const name of CLUSTER_WIDE) {
    const values = resolved.hosts.map((h) => stableString(h.vars[name]));
    if (new Set(values).size < 2) continue;
    instances.forEach((inst, i) => {
      if (!isPlainObject(inst.vars) || !Object.hasOwn(inst.vars, name)) return;
      const here = values[i] ?? 'unset';
      const elsewhere = [...new Set(values.filter((v, k) => k !== i && v !== here))];
      if (elsewhere.length === 0) return;
      error(
        ['instances', i, 'vars', name],
        `must be the same on every host (here ${here}, elsewhere ${elsewhere.join(', ')}); set it once in cluster_vars or instance_defaults.vars`,
      );
    });
  }

  // ---------------------------------------------------------------- users
  // Every user has its own password file (DIR/secrets/<name>) and its own privileges: two roles
  // sharing a name would share both. etcd's root is pgha's own (DIR/secrets/etcd_root): taking
  // its name would let the first deploy overwrite root's password and break every later one.
  const userVariables = (h: ResolvedHost): string[] => {
    const v = h.vars;
    const out = ['patroni_super_user', 'patroni_replication_user', 'patroni_restapi_user'];
    if (v.patroni_rewind_enabled === true) out.push('patroni_rewind_user');
    if (v.etcd_authentication_mode === 'basic') out.push('patroni_etcd_user');
    if (resolved.hosts.some((x) => x.roles.includes('pgbouncer'))) out.push('pgbouncer_auth_user');
    return out;
  };
  const POSTGRES_ROLES = new Set(['patroni_super_user', 'patroni_replication_user', 'patroni_rewind_user', 'pgbouncer_auth_user']);
  resolved.hosts.forEach((host, i) => {
    const seen = new Map<string, string>();
    for (const variable of userVariables(host)) {
      const name = host.vars[variable];
      if (typeof name !== 'string') continue;
      const loc = () => sourceOf(i, [variable]) ?? fallback(i);
      if (variable === 'patroni_etcd_user' && name === 'root') {
        perHost(
          errors,
          loc(),
          'etcd root',
          host.name,
          () => "root is etcd's own superuser, which pgha manages; choose another name (default etcd_patroni)",
        );
      }
      if (name === ETCD_ROOT_SECRET) {
        perHost(
          errors,
          loc(),
          `reserved ${variable}`,
          host.name,
          () => `${name} is the name pgha keeps etcd root's password under; choose another name`,
        );
      }
      if (POSTGRES_ROLES.has(variable) && name.startsWith('pg_')) {
        perHost(
          errors,
          loc(),
          `pg_ ${variable}`,
          host.name,
          () => `PostgreSQL reserves role names starting with pg_; choose another name for ${variable}`,
        );
      }
      const before = seen.get(name);
      if (before !== undefined) {
        const a = sourceOf(i, [before]);
        const b = sourceOf(i, [variable]);
        const blame = (a && (!b || a.rank > b.rank) ? a : b) ?? fallback(i);
        perHost(
          errors,
          blame,
          `shared ${before} ${variable}`,
          host.name,
          () => `${variable} and ${before} are both "${name}"; each of these users needs its own name (its own password and privileges)`,
        );
      } else seen.set(name, variable);
    }
  });

  resolved.hosts.forEach((host, i) => {
    const v = host.vars;

    if (v.patroni_authentication_mode === 'mtls' && v.patroni_ssl_enabled !== true) {
      const loc = sourceOf(i, ['patroni_authentication_mode']) ?? fallback(i);
      perHost(
        errors,
        loc,
        'mtls',
        host.name,
        () =>
          'mtls needs patroni_ssl_enabled: true (clients prove who they are with TLS certificates); set patroni_ssl_enabled: true, or use basic',
      );
    }

    // Variables every file is built from: a null would leave them with no value at all.
    for (const variable of REQUIRED_VARIABLES) {
      if (v[variable] !== undefined) continue;
      const loc = sourceOf(i, [variable]) ?? fallback(i);
      perHost(
        errors,
        loc,
        `unset ${variable}`,
        host.name,
        (hosts) =>
          `${variable} is unset (null), but ${hosts} need it; remove the null to get the default (${JSON.stringify(BUILTIN_DEFAULTS[variable])})`,
      );
    }

    // PostgreSQL must answer on the member's address (replicas, proxies, Patroni's connect_address)
    // and on 127.0.0.1 (Patroni's local checks and rewinds): a list that drops either breaks HA.
    if (isDataNode(host.roles) && typeof v.postgres_listen_addresses === 'string') {
      const listed = v.postgres_listen_addresses.split(',').map((x) => x.trim());
      const any = listed.includes('*') || listed.includes('0.0.0.0');
      const missing: string[] = [];
      if (!any && !listed.includes(host.ip)) missing.push("the instance's ip_address");
      if (!any && !listed.includes('127.0.0.1') && !listed.includes('localhost')) missing.push('127.0.0.1');
      if (missing.length) {
        const loc = sourceOf(i, ['postgres_listen_addresses']) ?? fallback(i);
        const what = missing.join(' and ');
        perHost(
          errors,
          loc,
          `listen ${what}`,
          host.name,
          (hosts) =>
            `PostgreSQL on ${hosts} would not listen on ${what}, which replicas, proxies and Patroni's local checks use; add it, use '*', or remove the variable (default: the instance's ip_address and 127.0.0.1)`,
        );
      }
    }

    // Ports: a service the host runs needs its port, and no two may share one.
    const byPort = new Map<number, PortUse>();
    for (const use of portVariables(resolved, host)) {
      const { variable, service } = use;
      const port = use.port ?? v[variable];
      if (typeof port !== 'number') {
        const loc = sourceOf(i, [variable]) ?? fallback(i);
        perHost(
          errors,
          loc,
          `unset ${variable}`,
          host.name,
          (hosts) => `${variable} is unset (null), but ${hosts} need it for ${service}; remove the null to get the default, or set a port`,
        );
        continue;
      }
      const first = byPort.get(port);
      if (first === undefined) {
        byPort.set(port, use);
        continue;
      }
      const other = first.variable;
      const a = sourceOf(i, first.path);
      const b = sourceOf(i, use.path);
      const loc = (a && (!b || a.rank > b.rank) ? a : b) ?? fallback(i);
      perHost(
        errors,
        loc,
        `port ${other} ${variable} ${port}`,
        host.name,
        (hosts) => `${other} (${first.service}) and ${variable} (${service}) are both ${port} on ${hosts}; give each service its own port`,
      );
    }

    // Patroni 3.0.2 accepts any timing, but with loop_wait + 2*retry_timeout > ttl the leader
    // key can expire while a healthy primary is still retrying etcd: a needless failover.
    if (isDataNode(host.roles)) {
      const dcs = desiredDcs(v);
      const num = (key: keyof typeof PATRONI_DCS_TIMING_DEFAULTS): number => {
        const x = dcs[key];
        return typeof x === 'number' ? x : PATRONI_DCS_TIMING_DEFAULTS[key];
      };
      const ttl = num('ttl');
      const loopWait = num('loop_wait');
      const retry = num('retry_timeout');
      if (loopWait + 2 * retry > ttl) {
        const keys = ['ttl', 'loop_wait', 'retry_timeout'];
        const candidates: Segments[] = [
          ...keys.map((k) => ['patroni_dynamic_conf_settings', k]),
          ...keys.map((k) => ['patroni_conf_settings', 'bootstrap', 'dcs', k]),
        ];
        let loc: Loc | undefined;
        for (const c of candidates) {
          loc = sourceOf(i, c);
          if (loc) break;
        }
        const need = loopWait + 2 * retry;
        perHost(
          errors,
          loc ?? fallback(i),
          `dcs ${ttl} ${loopWait} ${retry}`,
          host.name,
          () =>
            `loop_wait (${loopWait}) + 2 × retry_timeout (${retry}) = ${need} exceeds ttl (${ttl}): the leader key could expire while a healthy primary is still retrying etcd, causing a needless failover; raise ttl to at least ${need} or lower loop_wait/retry_timeout`,
        );
      }
    }

    // Warnings: legal, but rarely what was meant.
    if (host.roles.includes('etcd') && v.etcd_authentication_mode === 'basic' && v.etcd_ssl_enabled !== true) {
      const loc = sourceOf(i, ['etcd_authentication_mode']) ?? fallback(i);
      perHost(
        warnings,
        loc,
        'etcd basic cleartext',
        host.name,
        () => 'basic without etcd_ssl_enabled: true sends etcd passwords in clear text; set etcd_ssl_enabled: true',
      );
    }
    if (host.roles.includes('haproxy') && v.patroni_repl_max_lag !== undefined && v.haproxy_read_only_load_balancer_enabled !== true) {
      const loc = sourceOf(i, ['patroni_repl_max_lag']) ?? fallback(i);
      perHost(
        warnings,
        loc,
        'lag unused',
        host.name,
        () => 'has no effect unless haproxy_read_only_load_balancer_enabled is true; enable the read-only load balancer or remove it',
      );
    }
  });

  const replicas = instances.filter((inst) => inst.role.includes('replica')).length;
  resolved.hosts.forEach((host, i) => {
    if (replicas === 0 && host.roles.includes('haproxy') && host.vars.haproxy_read_only_load_balancer_enabled === true) {
      const loc = sourceOf(i, ['haproxy_read_only_load_balancer_enabled']) ?? fallback(i);
      perHost(
        warnings,
        loc,
        'ro without replicas',
        host.name,
        () =>
          'the read-only load balancer has no replica to send reads to; add a replica or set haproxy_read_only_load_balancer_enabled: false',
      );
    }
  });

  for (const { target, loc, render, hosts } of grouped.values()) target.push(problemAt(loc, render(hosts.join(', '))));
  return { errors, warnings };
}
