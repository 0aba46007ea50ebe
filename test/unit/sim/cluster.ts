/**
 * A simulated cluster for orchestration tests: hosts that act on each command's `intent` (files,
 * packages, units), a Patroni that answers with the shapes recorded from a real Patroni 3.0.2
 * (test/fixtures/patroni-3.0.2) and an etcd with health and auth. Every change is logged in
 * order, so a test can assert what deploy did and in which sequence, with no container.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { parse } from 'yaml';
import { LEADER_KEY_FIX } from '../../../src/patroni/known-bugs.js';
import type { ResolvedCluster, ResolvedHost } from '../../../src/model/types.js';
import type { HttpRequest, JsonResponse, Requester } from '../../../src/transport/https.js';
import type { Command } from '../../../src/transport/quote.js';
import type { ExecResult, HostTransport } from '../../../src/transport/types.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/patroni-3.0.2');

/** A recorded response body of Patroni 3.0.2. */
function recorded(name: string): Record<string, unknown> {
  const f = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as { response: { body: string } };
  return JSON.parse(f.response.body) as Record<string, unknown>;
}

const CLUSTER_LEADER = recorded('get-cluster.leader');
const MEMBER_TEMPLATES = CLUSTER_LEADER.members as Record<string, unknown>[];
const PATRONI_LEADER = recorded('get-patroni.leader');
const PATRONI_REPLICA = recorded('get-patroni.replica');

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

interface SimFile {
  content: string;
  owner: string;
  group: string;
  mode: number;
}

interface SimHost {
  files: Map<string, SimFile>;
  packages: Map<string, string>;
  active: Set<string>;
  /** When each package was last installed and each unit last started (the simulation's clock). */
  installedAt: Map<string, number>;
  startedAt: Map<string, number>;
  /** Units whose running process predates an install on the host (its binary was replaced). */
  replaced: Set<string>;
}

interface SimMember {
  role: 'leader' | 'replica';
  pending: boolean;
}

/** PostgreSQL's parameters of context `postmaster` that the tests touch. */
const POSTMASTER = ['max_connections', 'shared_buffers', 'max_wal_senders'];

export class SimCluster {
  readonly hosts = new Map<string, SimHost>();
  /** Every change, in order: `host: what`. */
  readonly log: string[] = [];
  readonly members = new Map<string, SimMember>();
  dcsConfig: Record<string, unknown> = {};
  etcdAuth = {
    enabled: false,
    roles: new Map<string, { key: string; range_end: string }[]>(),
    users: new Map<string, { password: string; roles: string[] }>(),
  };
  pgbouncerAuthSet = false;
  /** Hosts whose PgBouncer follower missed the last leader change: their target is a replica. */
  readonly staleFollowers = new Set<string>();
  /** Every read of a host's state or psql through a proxy (health checks), in order: `host: what`. */
  readonly reads: string[] = [];
  /** A clock that ticks on every install and start, for install and start times. */
  private clock = 1000;

  tick(): number {
    return ++this.clock;
  }

  constructor(readonly cluster: ResolvedCluster) {
    for (const h of cluster.hosts) {
      this.hosts.set(h.name, {
        files: new Map(),
        packages: new Map(),
        active: new Set(),
        installedAt: new Map(),
        startedAt: new Map(),
        replaced: new Set(),
      });
    }
  }

  host(name: string): SimHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`sim: no host ${name}`);
    return h;
  }

  /** The log since `mark` (a length of the log taken before). */
  since(mark: number): string[] {
    return this.log.slice(mark);
  }

  connectHost = (h: ResolvedHost): Promise<HostTransport> => Promise.resolve(new SimTransport(this, h.name));

  rest = {
    patroni: (h: ResolvedHost): Requester => new SimPatroni(this, h.name),
    etcd: (h: ResolvedHost): Requester => new SimEtcd(this, h.name),
  };

  patroniUnit(): string {
    return `patroni@${this.cluster.name}.service`;
  }

  leaderHost(): ResolvedHost | undefined {
    const name = this.leader();
    return this.cluster.hosts.find((h) => h.name === name);
  }

  leader(): string | undefined {
    return [...this.members].find(([, m]) => m.role === 'leader')?.[0];
  }

  // ── what the units do when they start ──

  onStart(host: string, unit: string): void {
    if (unit !== this.patroniUnit()) return;
    // The first Patroni to start bootstraps and leads; the others follow it and stream.
    if (!this.members.has(host)) this.members.set(host, { role: this.leader() ? 'replica' : 'leader', pending: false });
    // Bootstrap writes the DCS configuration from the leader's own file (bootstrap.dcs), as Patroni does.
    if (!Object.keys(this.dcsConfig).length) {
      const file = this.host(host).files.get(`/etc/patroni/${this.cluster.name}.yml`);
      const doc = parse(file?.content ?? '{}') as { bootstrap?: { dcs?: Record<string, unknown> } };
      this.dcsConfig = structuredClone(doc.bootstrap?.dcs ?? {});
    }
  }
}

class SimTransport implements HostTransport {
  execCount = 0;
  constructor(
    private readonly sim: SimCluster,
    readonly host: string,
  ) {}

  exec(cmd: Command): Promise<ExecResult> {
    this.execCount++;
    const intent = cmd.intent;
    if (!intent) throw new Error(`sim ${this.host}: a command without an intent: ${cmd.script.slice(0, 80)}`);
    const h = this.sim.host(this.host);
    const ok = (stdout = ''): Promise<ExecResult> => Promise.resolve({ code: 0, stdout, stderr: '' });
    switch (intent.kind) {
      case 'gather-facts': {
        const lines = ['PGHA-FACTS 1', `H =${this.host}`, 'O =debian =bookworm'];
        for (const path of intent.paths) {
          const f = h.files.get(path);
          lines.push(
            f
              ? `F ${b64(path)} file ${sha(f.content)} =${f.owner} =${f.group} ${f.mode.toString(8)} ${Buffer.byteLength(f.content)} ${f.content ? b64(f.content) : '.'}`
              : `F ${b64(path)} missing`,
          );
        }
        for (const p of intent.packages) {
          const v = h.packages.get(p);
          lines.push(v ? `P =${p} known ${b64(`install ok installed\t${v}\n`)}` : `P =${p} absent`);
        }
        for (const u of intent.services) lines.push(`S ${b64(u)} ${h.active.has(u) ? '=active' : '=inactive'} =enabled`);
        lines.push(`END ${intent.paths.length} ${intent.packages.length} ${intent.services.length}`);
        return ok(lines.join('\n') + '\n');
      }
      case 'write-files': {
        const out: string[] = [];
        for (const f of intent.files) {
          const had = h.files.get(f.path);
          if (had?.content !== f.content) out.push(`changed ${b64(f.path)}`);
          else if (had.owner !== f.owner || had.group !== f.group || had.mode !== f.mode) out.push(`meta ${b64(f.path)}`);
          h.files.set(f.path, { content: f.content, owner: f.owner, group: f.group, mode: f.mode });
        }
        this.sim.log.push(`${this.host}: write ${intent.files.map((f) => f.path).join(' ')}`);
        return ok(out.join('\n') + '\n');
      }
      case 'install-packages':
        for (const a of intent.packages) {
          const [name, version] = a.split('=');
          h.packages.set(name!, version ?? '1.0-1');
          h.installedAt.set(name!, this.sim.tick());
        }
        // dpkg replaced binaries under every running daemon of the host (a simplification).
        for (const u of h.active) h.replaced.add(u);
        this.sim.log.push(`${this.host}: install ${intent.packages.join(' ')}`);
        return ok();
      case 'systemctl':
        if (intent.op === 'start') {
          for (const u of intent.units) {
            h.active.add(u);
            this.sim.onStart(this.host, u);
          }
        }
        // A start or restart runs the unit's current binary; HAProxy's reload re-executes it too.
        for (const u of intent.units) {
          if (intent.op === 'daemon-reload') continue;
          h.startedAt.set(u, intent.op === 'reload' ? (h.startedAt.get(u) ?? this.sim.tick()) : this.sim.tick());
          h.replaced.delete(u);
        }
        this.sim.log.push(`${this.host}: ${intent.op}${intent.units.length ? ` ${intent.units.join(' ')}` : ''}`);
        return ok();
      case 'pgbouncer-auth-user': {
        const changed = !this.sim.pgbouncerAuthSet;
        if (!intent.checkOnly) {
          this.sim.pgbouncerAuthSet = true;
          this.sim.log.push(`${this.host}: pgbouncer auth user ${intent.user}`);
        }
        return ok(changed ? 'changed\n' : '');
      }
      case 'read-postmaster-parameters':
        return ok(POSTMASTER.join('\n') + '\n');
      case 'read-versions': {
        const lines = intent.packages.map((p) => {
          const v = h.packages.get(p);
          return `PKG\t${p}\t${v ?? ''}\t${v ? 'ii ' : ''}\t${h.installedAt.get(p) ?? 0}`;
        });
        for (const u of intent.units) {
          lines.push(`UNIT\t${u}\t${h.active.has(u) ? 'active' : 'inactive'}\t${h.startedAt.get(u) ?? 0}\t${h.replaced.has(u) ? 1 : 0}`);
        }
        return ok(lines.join('\n') + '\n');
      }
      case 'port-open':
        return Promise.resolve({ code: h.active.has(intent.unit) ? 0 : 1, stdout: '', stderr: '' });
      case 'psql-through': {
        this.sim.reads.push(`${this.host}: psql through ${intent.host}:${intent.port}`);
        // The proxy routes to the leader when it runs (HAProxy's check follows Patroni's /primary).
        const proxy = this.sim.cluster.hosts.find((x) => x.ip === intent.host);
        const leader = this.sim.leaderHost();
        if (!proxy || !this.sim.host(proxy.name).active.has('haproxy.service') || !leader)
          return Promise.resolve({
            code: 2,
            stdout: '',
            stderr: `psql: error: connection to server at "${intent.host}", port ${intent.port} failed: Connection refused`,
          });
        return ok(`f ${leader.ip}\n`);
      }
      case 'read-state': {
        this.sim.reads.push(`${this.host}: read ${intent.components.join(' ')}`);
        const leader = this.staleTarget() ?? this.sim.leaderHost();
        const out: string[] = [];
        for (const c of intent.components) {
          out.push(`@@pgha:${c}`);
          if (c === 'pgbouncer') {
            // pgha's follower rewrites the target whenever the leader changes.
            out.push(leader ? `[databases]\n* = host=${leader.ip} port=${String(leader.vars.postgres_port)}` : '', '@@pgha:rc=0');
          } else if (c === 'haproxy') {
            const up = h.active.has('haproxy.service');
            if (!up) out.push('ConnectionRefusedError: [Errno 111] Connection refused', '@@pgha:rc=1');
            else {
              out.push('1', '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state');
              for (const [n] of this.sim.members) {
                const m = this.sim.cluster.hosts.find((x) => x.name === n)!;
                out.push(`3 pgha_rw 1 ${n} ${m.ip} ${n === leader?.name ? 2 : 0} 0`);
              }
              out.push('@@pgha:rc=0');
            }
          } else out.push('@@pgha:rc=1');
        }
        return ok(out.join('\n') + '\n');
      }
    }
  }

  /** A stale follower's target: some replica, not the leader. */
  private staleTarget(): ResolvedHost | undefined {
    if (!this.sim.staleFollowers.has(this.host)) return undefined;
    const replica = [...this.sim.members].find(([, m]) => m.role === 'replica')?.[0];
    return this.sim.cluster.hosts.find((x) => x.name === replica);
  }

  forwardOut(): Promise<Duplex> {
    return Promise.reject(new Error('sim: no tunnels; the REST seam answers instead'));
  }

  putDirectory(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function json(status: number, body: unknown): JsonResponse {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { status, headers: { 'content-type': 'application/json' }, body, text };
}

/** Patroni's REST API on one data node: answers only while its unit runs. */
class SimPatroni implements Requester {
  constructor(
    private readonly sim: SimCluster,
    private readonly host: string,
  ) {}

  private memberBody(name: string, m: SimMember): Record<string, unknown> {
    const h = this.sim.cluster.hosts.find((x) => x.name === name)!;
    const template = MEMBER_TEMPLATES.find((t) => t.role === m.role)!;
    return {
      ...template,
      name,
      host: h.ip,
      api_url: `https://${h.ip}:8008/patroni`,
      ...(m.role === 'replica' ? { lag: 0 } : {}),
      ...(m.pending ? { pending_restart: true } : {}),
    };
  }

  request(req: HttpRequest): Promise<JsonResponse> {
    const sim = this.sim;
    if (!sim.host(this.host).active.has(sim.patroniUnit())) return Promise.reject(new Error(`connect ECONNREFUSED ${this.host}:8008`));
    const me = sim.members.get(this.host);
    const path = req.path.split('?')[0];
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /cluster':
        return Promise.resolve(
          json(200, {
            members: [...sim.members].map(([n, m]) => this.memberBody(n, m)),
            scope: sim.cluster.name,
            ...(sim.dcsConfig.pause === true ? { pause: true } : {}),
          }),
        );
      case 'GET /patroni': {
        const base = me?.role === 'leader' ? PATRONI_LEADER : PATRONI_REPLICA;
        const replication =
          me?.role === 'leader'
            ? [...sim.members]
                .filter(([, m]) => m.role === 'replica')
                .map(([n]) => ({ application_name: n, state: 'streaming', sync_state: 'async' }))
            : undefined;
        return Promise.resolve(
          json(200, {
            ...base,
            ...(replication ? { replication } : {}),
            ...(me?.pending ? { pending_restart: true } : {}),
            ...(sim.dcsConfig.pause === true ? { pause: true } : {}),
            // pgha's own 3.0.2 build, which says it carries the leader key fix (src/patroni/known-bugs.ts).
            patroni: { version: '3.0.2', scope: sim.cluster.name, pgha_fixes: [LEADER_KEY_FIX] },
          }),
        );
      }
      case 'GET /config':
        return Promise.resolve(json(200, sim.dcsConfig));
      case 'PATCH /config': {
        const patch = req.body as Record<string, unknown>;
        sim.dcsConfig = merge(sim.dcsConfig, patch);
        const params = ((patch.postgresql as Record<string, unknown> | undefined)?.parameters ?? {}) as Record<string, unknown>;
        if (Object.keys(params).some((p) => POSTMASTER.includes(p))) for (const m of sim.members.values()) m.pending = true;
        sim.log.push(`${this.host}: PATCH /config ${JSON.stringify(patch)}`);
        return Promise.resolve(json(200, sim.dcsConfig));
      }
      case 'POST /restart':
        if (me) me.pending = false;
        sim.log.push(`${this.host}: restart PostgreSQL`);
        return Promise.resolve(json(200, 'restarted successfully'));
      case 'GET /primary':
        return Promise.resolve(json(me?.role === 'leader' ? 200 : 503, {}));
      case 'GET /health':
      case 'GET /liveness':
        return Promise.resolve(json(200, { state: 'running', role: me?.role === 'leader' ? 'master' : 'replica' }));
      default:
        return Promise.reject(new Error(`sim patroni: ${route} is not simulated`));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Patroni's merge: objects deep, a null deletes. */
function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null)
      out[k] = merge(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

/** etcd's client port on one member: /health and the v3 JSON gateway's auth calls. */
class SimEtcd implements Requester {
  constructor(
    private readonly sim: SimCluster,
    private readonly host: string,
  ) {}

  request(req: HttpRequest): Promise<JsonResponse> {
    if (!this.sim.host(this.host).active.has('etcd.service')) return Promise.reject(new Error(`connect ECONNREFUSED ${this.host}:2379`));
    const a = this.sim.etcdAuth;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const name = String(body.name ?? body.user ?? body.role ?? '');
    const done = (what: string) => {
      this.sim.log.push(`etcd: ${what}`);
      return Promise.resolve(json(200, {}));
    };
    switch (req.path) {
      case '/health':
        return Promise.resolve(json(200, { health: 'true' }));
      case '/v3/maintenance/status':
        return Promise.resolve(json(200, { header: { member_id: this.host }, leader: 'etcd1', version: '3.4.23' }));
      case '/v3/kv/range':
        if (a.enabled && !req.headers?.authorization) return Promise.resolve(json(400, { message: 'etcdserver: user name is empty' }));
        return Promise.resolve(json(200, { kvs: [] }));
      case '/v3/auth/authenticate': {
        if (!a.enabled) return Promise.resolve(json(400, { message: 'authentication is not enabled' }));
        const u = a.users.get(name);
        return Promise.resolve(
          u && u.password === body.password
            ? json(200, { token: `t-${name}` })
            : json(400, { message: 'authentication failed, invalid user ID or password' }),
        );
      }
      case '/v3/auth/role/get': {
        const perms = a.roles.get(String(body.role));
        return Promise.resolve(
          perms ? json(200, { perm: perms.map((p) => ({ permType: 'READWRITE', ...p })) }) : json(400, { message: 'role name not found' }),
        );
      }
      case '/v3/auth/user/get': {
        const u = a.users.get(name);
        return Promise.resolve(u ? json(200, { roles: u.roles }) : json(400, { message: 'user name not found' }));
      }
      case '/v3/auth/role/add':
        a.roles.set(name, []);
        return done(`add role ${name}`);
      case '/v3/auth/user/add':
        a.users.set(name, { password: String(body.password), roles: [] });
        return done(`add user ${name}`);
      case '/v3/auth/user/grant':
        a.users.get(String(body.user))!.roles.push(String(body.role));
        return done(`grant ${String(body.role)} to ${String(body.user)}`);
      case '/v3/auth/role/grant': {
        const perm = body.perm as { key: string; range_end: string };
        a.roles.get(name)!.push({ key: perm.key, range_end: perm.range_end });
        return done(`let ${name} read and write ${Buffer.from(perm.key, 'base64').toString()}`);
      }
      case '/v3/auth/enable':
        a.enabled = true;
        return done('enable auth');
      case '/v3/auth/user/changepw':
        a.users.get(name)!.password = String(body.password);
        return done(`set the password of ${name}`);
      default:
        return Promise.reject(new Error(`sim etcd: ${req.path} is not simulated`));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
