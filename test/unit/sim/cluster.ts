/**
 * A simulated cluster for orchestration tests: hosts that act on each command's `intent` (files,
 * packages, units, the write probe through the proxies), a Patroni that answers with the shapes
 * recorded from a real Patroni 3.0.2 (./patroni.ts) and an etcd with health and auth (./etcd.ts).
 * Every change is logged in order in `log`, every REST call other than a read in `calls`, so a
 * test can assert what a command did and in which sequence, with no container.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { parse } from 'yaml';
import { scramVerifierWith } from '../../../src/components/host-commands.js';
import { ETCD_CONFIG, PATRONI_CERT } from '../../../src/components/paths.js';
import { postgresVersionNumber } from '../../../src/app/upgrade/plan.js';
import { maximumLagOnFailover } from '../../../src/patroni/judge.js';
import { releaseOf } from '../../../src/model/releases.js';
import type { ResolvedCluster, ResolvedHost } from '../../../src/model/types.js';
import type { Requester } from '../../../src/transport/https.js';
import type { Command } from '../../../src/transport/quote.js';
import type { ExecResult, HostTransport } from '../../../src/transport/types.js';
import { SimEtcd } from './etcd.js';
import { POSTMASTER, SimPatroni } from './patroni.js';

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
  /**
   * Patroni's REST server: the certificate it presents, the one read at the last start or reload
   * still waiting to be swapped in (Patroni does it at its next HA cycle), the REST answers
   * left before the swap, and connections left to refuse (a REST server between two sockets).
   */
  rest: { serving?: string | undefined; next?: string | undefined; swapAfter: number; refusing: number };
  /** A host added after the simulation began: its variables (the release it was provisioned with). */
  vars?: Record<string, unknown>;
}

export interface SimMember {
  role: 'leader' | 'replica';
  pending: boolean;
  /** Bytes a replica is behind the leader. */
  lag: number;
  /** server_version_num of the running PostgreSQL: what was installed when it last started. */
  serverVersion: number;
  /** GET /patroni reads left that show it "creating replica" after POST /reinitialize. */
  reinitializing: number;
  nofailover: boolean;
  /** When a restarted or demoted replica streams again (ms since the epoch): its walreceiver needs a moment to reconnect. */
  streamsAt: number;
}

/** How long a restarted replica takes to stream again: long enough that a command which does not wait for it is caught. */
const RECONNECT_MS = 300;

/** An unpinned install gets this version: PostgreSQL's as recorded (server_version 150020), a placeholder for the rest. */
function defaultVersion(pkg: string): string {
  return /^postgresql-\d+$/.test(pkg) ? `${pkg.slice('postgresql-'.length)}.20-0+deb12u1` : '1.0-1';
}

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
  /** The declared users and databases converged so far (one key per declaration). */
  declaredObjects = new Set<string>();
  /** pgBackRest stanzas the repository holds (stanza-create succeeded). */
  readonly stanzas = new Set<string>();
  /** Backups the repository holds, oldest first, as `pgbackrest info` lists them. */
  readonly backups: { label: string; type: string; start: number; stop: number }[] = [];
  /** Roles the monitoring step set up (LOGIN, pg_monitor). */
  readonly monitoringRoles = new Set<string>();
  /** pg_authid.rolpassword of Patroni's roles, by name. */
  readonly rolePasswords = new Map<string, string>();
  /** Hosts whose PgBouncer follower missed the last leader change: their target is a replica. */
  readonly staleFollowers = new Set<string>();
  /** Every read of a host's state or psql through a proxy (health checks), in order: `host: what`. */
  readonly reads: string[] = [];
  /** Every REST call other than a read, in order: `member: METHOD /path body`, refused ones included. */
  readonly calls: string[] = [];
  /** The write probes psql ran through the proxies: `from: psql ip:port`. */
  readonly probes: string[] = [];
  /** GET /history: one line per timeline change. */
  readonly history: unknown[][] = [];
  timeline = 1;
  /** A switchover Patroni was asked to make later (POST /switchover with scheduled_at), until it is cancelled. */
  scheduledSwitchover: { at: string; from: string; to: string } | undefined;
  /** Hosts that crashed: SSH to them fails and nothing answers at their address (the VIP moves off them). */
  readonly down = new Set<string>();
  /** A clock that ticks on every install and start, for install and start times. */
  private clock = 1000;

  /** `pgbackrest --output=json info` of the stanza, from the backups the simulation took. */
  pgbackrestInfo(stanza: string): string {
    if (!this.stanzas.has(stanza)) {
      return JSON.stringify([{ name: stanza, backup: [], archive: [], status: { code: 1, message: 'missing stanza path' } }]);
    }
    const backup = this.backups.map((b, i) => ({
      label: b.label,
      type: b.type,
      timestamp: { start: b.start, stop: b.stop },
      info: { size: 31_000_000, delta: 31_000_000, repository: { size: 4_000_000, delta: 4_000_000 } },
      archive: { start: `00000001000000000000000${i + 2}`, stop: `00000001000000000000000${i + 2}` },
      lsn: { start: `0/${i + 2}000028`, stop: `0/${i + 2}000100` },
    }));
    const max = `00000001000000000000000${this.backups.length + 2}`;
    const archive = [{ id: '15-1', min: '000000010000000000000001', max }];
    return JSON.stringify([{ name: stanza, backup, archive, status: { code: 0, message: 'ok' } }]);
  }

  /** REST answers a Patroni gives with its old certificate after a reload (its HA cycle not come yet). */
  restSwapAfter = 0;

  tick(): number {
    return ++this.clock;
  }

  constructor(readonly cluster: ResolvedCluster) {
    for (const h of cluster.hosts) this.addHost(h.name);
  }

  /** etcd's membership (`member list`): formed by the first members to start with `new`, changed by member add/remove. */
  etcdMembers: { id: string; name: string; peerUrls: string[] }[] = [];
  private etcdIds = 1000;

  /** An etcd member starting: it forms the cluster (`new`, none formed yet) or must be a member already (`existing`). */
  private etcdStart(host: string): void {
    const doc = parse(this.host(host).files.get(ETCD_CONFIG)?.content ?? '{}') as Record<string, string>;
    const own = doc['initial-advertise-peer-urls'] ?? '';
    if (!this.etcdMembers.length && doc['initial-cluster-state'] === 'new') {
      this.etcdMembers = (doc['initial-cluster'] ?? '').split(',').map((e) => {
        const [name, url] = e.split('=');
        return { id: String(this.etcdIds++), name: name === host ? name : '', peerUrls: [url!] };
      });
    }
    const me = this.etcdMembers.find((m) => m.peerUrls.includes(own));
    // etcd exits when its peer URL is not a member ("member count is unequal" and the like).
    if (!me) throw new Error(`sim: etcd on ${host} is not a member of the cluster (${own})`);
    if (doc['initial-cluster-state'] !== 'new' && !me.name) {
      const listed = (doc['initial-cluster'] ?? '').split(',').length;
      if (listed !== this.etcdMembers.length) throw new Error(`sim: etcd on ${host}: member count is unequal`);
    }
    me.name = host;
  }

  etcdMemberAdd(peerUrls: string[]): { id: string } {
    const id = String(this.etcdIds++);
    this.etcdMembers.push({ id, name: '', peerUrls });
    this.log.push(`etcd: member add ${peerUrls.join(',')}`);
    return { id };
  }

  etcdMemberRemove(id: string): boolean {
    const at = this.etcdMembers.findIndex((m) => m.id === id);
    if (at < 0) return false;
    this.log.push(`etcd: member remove ${this.etcdMembers[at]!.name}`);
    this.etcdMembers.splice(at, 1);
    return true;
  }

  /** A host config.yml names from now on (a node added to the cluster): empty, as provision leaves it. */
  addHost(name: string, vars?: Record<string, unknown>): void {
    this.hosts.set(name, {
      ...(vars ? { vars } : {}),
      files: new Map(),
      packages: new Map(),
      active: new Set(),
      installedAt: new Map(),
      startedAt: new Map(),
      replaced: new Set(),
      rest: { swapAfter: 0, refusing: 0 },
    });
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

  connectHost = (h: ResolvedHost): Promise<HostTransport> =>
    this.down.has(h.name)
      ? Promise.reject(new Error(`ssh ${h.name}: connect ETIMEDOUT ${h.ip}:22`))
      : Promise.resolve(new SimTransport(this, h.name));

  /**
   * The host answering at `ip`: the host with that address, or for the VIP the first proxy up
   * whose keepalived and HAProxy run (keepalived's track script gives the address up otherwise).
   */
  answering(ip: string): string | undefined {
    const own = this.cluster.hosts.find((x) => x.ip === ip);
    if (own) return this.down.has(own.name) ? undefined : own.name;
    return this.cluster.hosts.find(
      (x) =>
        String(x.vars.vip_address ?? '').split('/')[0] === ip &&
        !this.down.has(x.name) &&
        this.host(x.name).active.has('keepalived.service') &&
        this.host(x.name).active.has('haproxy.service'),
    )?.name;
  }

  rest = {
    patroni: (h: ResolvedHost, fromMember: boolean): Requester => new SimPatroni(this, h.name, fromMember),
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

  maxLag(): number {
    return maximumLagOnFailover(this.dcsConfig);
  }

  /** The PostgreSQL a start on `host` would run: the installed server package's. */
  installedServerVersion(host: string): number {
    const h = this.host(host);
    const pkg = [...h.packages.keys()].find((p) => /^postgresql-\d+$/.test(p));
    return (pkg && postgresVersionNumber(h.packages.get(pkg)!)) || 0;
  }

  /** PostgreSQL restarted by Patroni: it runs the installed binary now, and nothing is pending. */
  restartPostgres(host: string): void {
    const m = this.members.get(host)!;
    m.pending = false;
    m.serverVersion = this.installedServerVersion(host);
    if (m.role === 'replica') m.streamsAt = Date.now() + RECONNECT_MS;
  }

  streaming(m: SimMember): boolean {
    return m.role === 'replica' && !m.reinitializing && Date.now() >= m.streamsAt;
  }

  /** Other members not streaming yet (restarted or demoted a moment ago), as a suffix for the log line of a restart or switchover. */
  stillDown(host: string): string {
    const down = [...this.members].filter(([n, m]) => n !== host && m.role === 'replica' && !this.streaming(m)).map(([n]) => n);
    return down.length ? ` while ${down.join(', ')} not streaming yet` : '';
  }

  /** `to` leads on a new timeline; the old leader is demoted, which restarts its PostgreSQL as a replica of `to`. */
  promote(to: string): void {
    const old = this.leader();
    for (const [name, m] of this.members) {
      if (name === to) m.role = 'leader';
      else if (name === old) {
        m.role = 'replica';
        m.lag = 0;
        this.restartPostgres(name);
      }
    }
    this.history.push([this.timeline, 67382512, 'no recovery target specified', new Date(0).toISOString(), to]);
    this.timeline++;
  }

  // ── what the units do when they start ──

  onStart(host: string, unit: string): void {
    if (unit === 'etcd.service') this.etcdStart(host);
    if (unit !== this.patroniUnit()) return;
    // The first Patroni to start bootstraps and leads; the others follow it and stream.
    if (!this.members.has(host))
      this.members.set(host, {
        role: this.leader() ? 'replica' : 'leader',
        pending: false,
        lag: 0,
        serverVersion: this.installedServerVersion(host),
        reinitializing: 0,
        nofailover: false,
        streamsAt: 0,
      });
    // Bootstrap writes the DCS configuration from the leader's own file (bootstrap.dcs), as Patroni does.
    if (!Object.keys(this.dcsConfig).length) {
      const file = this.host(host).files.get(`/etc/patroni/${this.cluster.name}.yml`);
      const doc = parse(file?.content ?? '{}') as {
        bootstrap?: { dcs?: Record<string, unknown> };
        postgresql?: { authentication?: Record<string, { username: string; password: string }> };
      };
      this.dcsConfig = structuredClone(doc.bootstrap?.dcs ?? {});
      // Patroni creates its roles from the plain passwords; PostgreSQL salts them at random.
      for (const a of Object.values(doc.postgresql?.authentication ?? {}))
        this.rolePasswords.set(a.username, scramVerifierWith(a.password, randomBytes(16), 4096));
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
        // The release config.yml expects, as a host provisioned for it reports.
        const release = releaseOf(this.sim.cluster.hosts.find((x) => x.name === this.host)?.vars ?? h.vars ?? {});
        const lines = ['PGHA-FACTS 1', `H =${this.host}`, `O =debian =${release.codename}`];
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
        // Enabled once started (deploy's start enables it), until disabled; unknown to systemd otherwise.
        for (const u of intent.services)
          lines.push(`S ${b64(u)} ${h.active.has(u) ? '=active' : '=inactive'} ${h.startedAt.has(u) ? '=enabled' : '=not-found'}`);
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
          h.packages.set(name!, version ?? defaultVersion(name!));
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
          if (u === this.sim.patroniUnit() && intent.op !== 'daemon-reload') {
            h.rest.next = h.files.get(PATRONI_CERT)?.content;
            h.rest.swapAfter = intent.op === 'reload' ? this.sim.restSwapAfter : 0;
          }
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
      case 'declared-objects': {
        const key = JSON.stringify([intent.users, intent.databases]);
        const changed = !this.sim.declaredObjects.has(key);
        if (!changed) return ok();
        if (intent.checkOnly) return ok(`pending: create ${[...intent.users, ...intent.databases].join(', ')}\nchanged\n`);
        this.sim.declaredObjects.add(key);
        this.sim.log.push(`${this.host}: declared users ${intent.users.join(', ')} databases ${intent.databases.join(', ')}`);
        return ok('changed\n');
      }
      case 'pgbackrest-stanza': {
        const changed = !this.sim.stanzas.has(intent.stanza);
        if (intent.checkOnly) return ok(changed ? 'changed\n' : '');
        // stanza-create and check dial the servers and the leader: both must run already.
        const servers = [...this.sim.hosts.entries()].filter(([, x]) => x.packages.has('pgbackrest'));
        const down = servers.filter(([, x]) => !x.active.has('pgha-pgbackrest.service')).map(([n]) => n);
        if (down.length || !this.sim.leaderHost()) {
          return Promise.resolve({ code: 1, stdout: '', stderr: `ERROR: unable to connect (${down.join(', ') || 'no primary'})` });
        }
        if (changed) {
          this.sim.stanzas.add(intent.stanza);
          this.sim.log.push(`${this.host}: pgbackrest stanza-create ${intent.stanza}`);
        }
        this.sim.log.push(`${this.host}: pgbackrest check ${intent.stanza}`);
        return ok(changed ? 'changed\n' : '');
      }
      case 'pgbackrest-backup': {
        if (!this.sim.stanzas.has(intent.stanza)) {
          return Promise.resolve({ code: 55, stdout: '', stderr: `ERROR: [055]: unable to load info file for stanza '${intent.stanza}'` });
        }
        const start = 1_760_000_000 + this.sim.tick() * 60;
        const suffix = { full: 'F', diff: 'D', incr: 'I' }[intent.type];
        const first = this.sim.backups.find((b) => b.type === 'full');
        const stamp = (t: number) => new Date(t * 1000).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
        // A diff or incr without a full backup before it is taken as a full one, as pgBackRest does.
        const type = first ? intent.type : 'full';
        const label = type === 'full' ? `${stamp(start)}F` : `${first!.label}_${stamp(start)}${suffix}`;
        this.sim.backups.push({ label, type, start, stop: start + 7 });
        this.sim.log.push(`${this.host}: pgbackrest backup ${intent.type} ${intent.stanza}`);
        return ok();
      }
      case 'pgbackrest-info': {
        this.sim.reads.push(`${this.host}: pgbackrest info ${intent.stanza}`);
        return ok(this.sim.pgbackrestInfo(intent.stanza));
      }
      case 'pgbackrest-check': {
        this.sim.reads.push(`${this.host}: pgbackrest check ${intent.stanza}`);
        if (!this.sim.stanzas.has(intent.stanza) || !this.sim.leaderHost()) {
          return Promise.resolve({ code: 28, stdout: '', stderr: `ERROR: [028]: backup and archive info files do not exist` });
        }
        return ok();
      }
      case 'pgbackrest-unschedule': {
        const prefix = '/etc/systemd/system/pgha-pgbackrest-backup-';
        const stale = [...h.files.keys()].filter((p) => p.startsWith(prefix) && p.endsWith('.timer') && !intent.keep.includes(p.slice(20)));
        if (intent.checkOnly) return ok(stale.length ? 'changed\n' : '');
        for (const p of stale) {
          h.active.delete(p.slice(20));
          h.files.delete(p);
          h.files.delete(p.replace(/\.timer$/, '.service'));
          this.sim.log.push(`${this.host}: remove ${p.slice(20)}`);
        }
        return ok(stale.length ? 'changed\n' : '');
      }
      case 'monitoring-role': {
        const changed = !this.sim.monitoringRoles.has(intent.role);
        if (intent.checkOnly) return ok(changed ? 'changed\n' : '');
        if (!this.sim.leaderHost()) return Promise.resolve({ code: 2, stdout: '', stderr: 'psql: no server running' });
        if (changed) {
          this.sim.monitoringRoles.add(intent.role);
          this.sim.log.push(`${this.host}: monitoring role ${intent.role}`);
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
      case 'role-passwords': {
        const roles = this.sim.rolePasswords;
        if (intent.checkOnly) {
          const fingerprint = (v: string) => `${v.split('$')[1]}|${createHash('sha256').update(v).digest('hex')}`;
          return ok(intent.users.flatMap((u) => (roles.has(u) ? [`${u}|${fingerprint(roles.get(u)!)}`] : [])).join('\n') + '\n');
        }
        for (const m of (cmd.stdin ?? '').matchAll(/PASSWORD %L', '([^']+)', '([^']+)'\)/g)) roles.set(m[1]!, m[2]!);
        this.sim.log.push(`${this.host}: set the password of ${intent.users.join(', ')}`);
        return ok();
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
          } else if (c === 'keepalived') {
            // keepalived holds the address on the proxy the VIP's probe would reach (SimCluster#answering).
            const vip = String(this.sim.cluster.hosts.find((x) => x.name === this.host)?.vars.vip_address ?? '').split('/')[0]!;
            const unit = h.active.has('keepalived.service') ? 'active' : 'inactive';
            out.push(`active=${unit}`, `holds=${this.sim.answering(vip) === this.host ? 'yes' : 'no'}`, '@@pgha:rc=0');
          } else if (c === 'pgbackrest') {
            // The repository host's info; a data node's archiver: the leader archived every segment, replicas archive none.
            const repo = this.sim.cluster.hosts.find((x) => x.name === this.host)?.roles.includes('pgbackrest');
            const now = Math.floor(Date.now() / 1000);
            if (repo) out.push(this.sim.pgbackrestInfo(this.sim.cluster.name));
            else if (leader?.name === this.host)
              out.push(`f|${this.sim.backups.length + 2}|0|00000001000000000000000${this.sim.backups.length + 2}|${now - 60}||${now}`);
            else out.push(`t|0|0||||${now}`);
            out.push('@@pgha:rc=0');
          } else out.push('@@pgha:rc=1');
        }
        return ok(out.join('\n') + '\n');
      }
      case 'probe-writes': {
        // The proxy at that address hands the connection to the leader (HAProxy by its health check, PgBouncer by its target).
        const proxy = this.sim.answering(intent.ip);
        const leader = this.sim.leader();
        const at = proxy && this.sim.host(proxy);
        const up = at && [...at.active].some((u) => /^(haproxy|pgbouncer)/.test(u));
        const leaderHost = leader ? this.sim.cluster.hosts.find((x) => x.name === leader) : undefined;
        this.sim.probes.push(`${this.host}: psql ${intent.ip}:${intent.port}`);
        if (!up || !leaderHost)
          return Promise.resolve({ code: 2, stdout: '', stderr: `psql: error: connection to server at "${intent.ip}" failed` });
        return ok(`f|${leaderHost.ip}\n`);
      }
      case 'stop-member': {
        const was = h.active.delete(intent.unit);
        this.sim.members.delete(this.host);
        this.sim.log.push(`${this.host}: stop Patroni and PostgreSQL`);
        return ok(was ? 'stopped\n' : '');
      }
      case 'replication-slot-exists':
        // The leader's slots: one per member the simulation has, as Patroni keeps them.
        return ok(this.sim.members.has(intent.slot) && this.sim.leader() !== intent.slot ? '1\n' : '');
      case 'disable-units':
        for (const u of intent.units) {
          h.active.delete(u);
          h.startedAt.delete(u);
        }
        this.sim.log.push(`${this.host}: disable ${intent.units.join(' ')}${intent.removes ? `, remove ${intent.removes.join(' ')}` : ''}`);
        return ok();
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

  /** Streams between hosts (a repository copied for a clone) run on real hosts only. */
  start(): Promise<never> {
    return Promise.reject(new Error(`sim ${this.host}: streamed commands are not simulated`));
  }

  putDirectory(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
