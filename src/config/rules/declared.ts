/**
 * Rules about the users, databases and pg_hba lines config.yml declares (`postgres_users`,
 * `postgres_databases`, `postgres_hba_settings`). A declared user taking the name of one pgha
 * runs the cluster with would share its password file and let a deploy rewrite its attributes
 * and password; a database owner PostgreSQL does not know fails in the middle of a deploy.
 */
import { ALLOWED_ROLE_ATTRS } from '../../components/postgres/declared.js';
import type { ResolvedHost } from '../../model/types.js';
import { ETCD_ROOT_SECRET } from '../../secrets/store.js';
import { isDataNode, type HostRule, type Loc, type Rule, type RuleContext, type Segments } from './context.js';
import { userVariables } from './users.js';

type Rec = Record<string, unknown>;
const isRec = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x);
const items = (x: unknown): Rec[] => (Array.isArray(x) ? x.filter(isRec) : []);

/** Role names PostgreSQL refuses in CREATE ROLE (they are keywords of role specifications). */
const POSTGRES_RESERVED = new Set(['public', 'none', 'current_user', 'session_user', 'current_role']);
/** Databases every cluster has: pgha must never take them over (owner, marker) nor, under --prune, drop them. */
const SYSTEM_DATABASES = new Set(['postgres', 'template0', 'template1']);

/** PostgreSQL truncates a name past 63 bytes, so the declared name and the catalog's would differ. */
const tooLong = (name: string) => Buffer.byteLength(name, 'utf8') > 63;

/** A path inside a list variable, blamed on the layer that sets the whole list (lists replace). */
function at(ctx: RuleContext, i: number, variable: string, rest: Segments): Loc {
  const loc = ctx.blame(i, [variable]);
  return { ...loc, segments: [...loc.segments, ...rest] };
}

/** The cluster's declarations are read from the configured primary (cluster-wide: see CLUSTER_WIDE). */
function declarationHost(ctx: RuleContext): { host: ResolvedHost; i: number } | undefined {
  const hosts = ctx.resolved.hosts;
  let i = hosts.findIndex((h) => h.roles.includes('primary'));
  if (i < 0) i = hosts.findIndex((h) => isDataNode(h.roles));
  return i < 0 ? undefined : { host: hosts[i]!, i };
}

/** The users pgha itself runs the cluster with, and names no declared user may take. */
function systemUsers(ctx: RuleContext, host: ResolvedHost): Map<string, string> {
  const out = new Map<string, string>([
    ['postgres', 'the PostgreSQL superuser Debian creates'],
    [ETCD_ROOT_SECRET, "the name pgha keeps etcd root's password under"],
  ]);
  for (const variable of userVariables(ctx.resolved, host)) {
    const name = host.vars[variable];
    if (typeof name === 'string') out.set(name, `${variable}, which pgha creates and manages`);
  }
  return out;
}

export const declaredUsers: Rule = (ctx) => {
  const found = declarationHost(ctx);
  if (!found) return;
  const { host, i } = found;
  const system = systemUsers(ctx, host);
  const seen = new Map<string, number>();
  items(host.vars.postgres_users).forEach((u, k) => {
    const name = typeof u.username === 'string' ? u.username : undefined;
    if (name === undefined) return;
    const loc = at(ctx, i, 'postgres_users', [k, 'username']);
    const why = system.get(name);
    if (why !== undefined) {
      ctx.report('error', loc, `${name} is ${why}; choose another name for this user`);
    } else if (name.startsWith('pg_')) {
      ctx.report('error', loc, `PostgreSQL reserves role names starting with pg_; choose another name`);
    } else if (POSTGRES_RESERVED.has(name)) {
      ctx.report('error', loc, `${name} is reserved by PostgreSQL and cannot name a role; choose another name`);
    }
    const before = seen.get(name);
    if (before !== undefined) {
      ctx.report('error', loc, `${name} is declared twice (also postgres_users[${String(before)}]); declare each user once`);
    } else {
      seen.set(name, k);
    }
    const attrs = Array.isArray(u.role_attrs) ? u.role_attrs : [];
    const upper = attrs.map((a) => String(a).toUpperCase());
    attrs.forEach((a, j) => {
      const word = String(a).toUpperCase();
      const aLoc = at(ctx, i, 'postgres_users', [k, 'role_attrs', j]);
      if (!ALLOWED_ROLE_ATTRS.includes(word)) {
        ctx.report('error', aLoc, `${JSON.stringify(a)} is not a role attribute pgha sets; use one of ${ALLOWED_ROLE_ATTRS.join(', ')}`);
      } else if (!word.startsWith('NO') && upper.includes(`NO${word}`)) {
        ctx.report('error', aLoc, `${word} and NO${word} are both listed; keep one`);
      }
    });
    (Array.isArray(u.granted_roles) ? u.granted_roles : []).forEach((g, j) => {
      if (g === name)
        ctx.report('error', at(ctx, i, 'postgres_users', [k, 'granted_roles', j]), `a role cannot be granted to itself; remove ${name}`);
      else if (typeof g === 'string' && tooLong(g))
        ctx.report(
          'error',
          at(ctx, i, 'postgres_users', [k, 'granted_roles', j]),
          'is longer than 63 bytes, which PostgreSQL truncates; shorten it',
        );
    });
  });
};

export const declaredDatabases: Rule = (ctx) => {
  const found = declarationHost(ctx);
  if (!found) return;
  const { host, i } = found;
  const superUser = String(host.vars.patroni_super_user);
  const users = new Set(items(host.vars.postgres_users).map((u) => String(u.username)));
  const seen = new Map<string, number>();
  items(host.vars.postgres_databases).forEach((d, k) => {
    const name = typeof d.name === 'string' ? d.name : undefined;
    if (name === undefined) return;
    const loc = at(ctx, i, 'postgres_databases', [k, 'name']);
    if (SYSTEM_DATABASES.has(name)) {
      ctx.report('error', loc, `${name} is a database every cluster has, which pgha does not manage; choose another name`);
    } else if (tooLong(name)) {
      ctx.report('error', loc, 'is longer than 63 bytes, which PostgreSQL truncates; shorten it');
    }
    const before = seen.get(name);
    if (before !== undefined) {
      ctx.report(
        'error',
        loc,
        `${JSON.stringify(name)} is declared twice (also postgres_databases[${String(before)}]); declare each database once`,
      );
    } else {
      seen.set(name, k);
    }
    if (typeof d.owner === 'string' && d.owner !== superUser && !users.has(d.owner)) {
      ctx.report(
        'error',
        at(ctx, i, 'postgres_databases', [k, 'owner']),
        `${JSON.stringify(d.owner)} is neither a user of postgres_users nor the superuser (${superUser}); declare it in postgres_users or choose a declared owner`,
      );
    }
    items(d.extensions).forEach((e, j) => {
      for (const key of ['name', 'schema'] as const) {
        const v = e[key];
        if (typeof v === 'string' && tooLong(v)) {
          ctx.report(
            'error',
            at(ctx, i, 'postgres_databases', [k, 'extensions', j, key]),
            'is longer than 63 bytes, which PostgreSQL truncates; shorten it',
          );
        }
      }
    });
  });
};

/** pg_hba record types a declared line may start with (include directives would read files pgha does not manage). */
export const HBA_TYPES: readonly string[] = ['local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc'];

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HBA_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Each postgres_hba_settings entry is one pg_hba.conf record: no line breaks or control characters, a known type, enough fields. */
export const hbaSettings: HostRule = (ctx, host, i) => {
  const lines = Array.isArray(host.vars.postgres_hba_settings) ? host.vars.postgres_hba_settings : [];
  lines.forEach((l, k) => {
    if (typeof l !== 'string') return;
    const loc = at(ctx, i, 'postgres_hba_settings', [k]);
    const say = (key: string, message: string) => ctx.perHost('error', loc, key, host.name, () => message);
    // Tabs separate fields in pg_hba.conf; every other control character would split or corrupt the file.
    if (HBA_CONTROL.test(l)) {
      say('hba control', 'holds a line break or control character; write one pg_hba.conf record per list item');
      return;
    }
    const words = l.trim().split(/\s+/);
    const type = words[0] ?? '';
    if (!HBA_TYPES.includes(type)) {
      say('hba type', `starts with ${JSON.stringify(type)}; a pg_hba.conf record starts with one of ${HBA_TYPES.join(', ')}`);
      return;
    }
    // local: type, database, user, method; the others add an address.
    const min = type === 'local' ? 4 : 5;
    if (words.length < min) {
      say(
        'hba fields',
        `has ${String(words.length)} fields; a ${type} record needs at least ${String(min)} (type, database, user${type === 'local' ? '' : ', address'}, method)`,
      );
    }
  });
};
