/**
 * `pgha status` (docs/architecture.md#operations): the cluster as Patroni, etcd, HAProxy and PgBouncer see it, read
 * in parallel. It is meant to be as quick as `patronictl list`, so:
 *   - REST (Patroni, etcd) and HAProxy's stats page (`listen pgha_stats`, TLS with a client
 *     certificate from the cluster CA) are reached straight from the controller over node:https;
 *     SSH is opened only to PgBouncer hosts, and to HAProxy hosts without that stats page (no
 *     TLS, removed by haproxy_conf_settings, or not answering: a cluster deployed before it
 *     existed), concurrently with the rest, one exec per host;
 *   - nothing secret is needed (every call is a GET or an unauthenticated etcd status read);
 *   - heavy modules (ssh) are imported only when used; yaml is loaded anyway, to read config.yml.
 * A host that does not answer is reported as unreachable; the command fails only when no
 * Patroni member answers at all.
 */
import { readConfigText } from '../config/read-text.js';
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { basename, join } from 'node:path';
import { statsEndpoint } from '../components/haproxy/config.js';
import { RuntimeError } from '../errors.js';
import type { ResolvedCluster, ResolvedHost } from '../model/types.js';
import { PatroniClient } from '../patroni/client.js';
import { NodeHttpRequester, type TlsMaterial } from '../transport/https.js';
import {
  canonicalRole,
  isLeaderRole,
  leaderOf,
  type ClusterInfo,
  type ClusterMember,
  type PatroniNodeStatus,
  type ScheduledSwitchover,
} from '../patroni/types.js';
import { leaderKeyBug, leaderKeyFix } from '../patroni/known-bugs.js';
import type { Transport } from '../transport/types.js';
import { clusterPaths, type ClusterPaths } from './cluster-paths.js';
import { printConfigWarnings } from './config-warnings.js';
import { dataText } from './output.js';
import { readStatusCache, statusCacheKey, writeStatusCache } from './status-config-cache.js';

/** Kept short: a dead host must not make `status` slow for the live ones. */
export const STATUS_TIMEOUT_MS = 3_000;

export const HAPROXY_SOCKET = '/run/haproxy/admin.sock';
export const PGBOUNCER_DATABASES_INI = '/etc/pgbouncer/pgha-databases.ini';

export interface MemberStatus {
  name: string;
  host: string;
  /** `leader`, `replica`, `sync_standby`, `standby_leader`; `primary` for 3.0's `master`. */
  role: string | null;
  /** What the DCS says; `unreachable` when the member's REST API does not answer. */
  state: string;
  /** The DCS's state for the member even when its API is unreachable; null when absent. */
  dcsState: string | null;
  reachable: boolean;
  timeline: number | null;
  /** Bytes behind the leader; null for the leader or when unknown. */
  lag: number | null;
  lagUnknown: boolean;
  pendingRestart: boolean;
  scheduledRestart: string | null;
  tags: Record<string, unknown>;
  /** Patroni's version as the member's REST API reports it (GET /patroni); null when unknown. */
  patroniVersion?: string | null;
  /** A known write-losing bug of the running Patroni build, with its fix (src/patroni/known-bugs.ts). */
  knownBug?: string;
  error?: string;
}

export interface EtcdStatus {
  name: string;
  endpoint: string;
  reachable: boolean;
  healthy: boolean;
  leader: boolean;
  version: string | null;
  error?: string;
}

export interface HaproxyServer {
  backend: string;
  server: string;
  address: string;
  /** UP, DOWN, MAINT, DRAIN, STARTING, STOPPING. */
  state: string;
}

export interface HaproxyStatus {
  host: string;
  reachable: boolean;
  servers: HaproxyServer[];
  /** Data nodes receiving writes (UP in the read-write backend). */
  writesTo: string[];
  error?: string;
}

export interface PgbouncerStatus {
  host: string;
  reachable: boolean;
  target: { host: string; port: number } | null;
  /** The data node the target address belongs to. */
  targetMember: string | null;
  pointsAtLeader: boolean;
  error?: string;
}

export interface CertificateStatus {
  host: string;
  notAfter: string;
  daysLeft: number;
}

export interface ClusterStatus {
  cluster: string;
  leader: string | null;
  pause: boolean;
  scheduledSwitchover: ScheduledSwitchover | null;
  members: MemberStatus[];
  etcd: EtcdStatus[];
  haproxy: HaproxyStatus[];
  pgbouncer: PgbouncerStatus[];
  certificates: CertificateStatus[];
  /** Which member's /cluster answer the table is built from. */
  source: string | null;
}

const isDataNode = (h: ResolvedHost) => h.roles.includes('primary') || h.roles.includes('replica');

function errText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

// ── parsers (pure) ──

/**
 * `show servers state` (HAProxy 2.x): a version line, a `#` header naming the columns, then one
 * line per server. Columns are found by name so a version that adds some still parses.
 */
export function parseServersState(text: string): HaproxyServer[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const header = lines.find((l) => l.startsWith('#'));
  if (!header) return [];
  const cols = header.replace(/^#\s*/, '').split(/\s+/);
  const col = (name: string) => cols.indexOf(name);
  const out: HaproxyServer[] = [];
  for (const l of lines) {
    if (l.startsWith('#') || !/\s/.test(l)) continue;
    const f = l.split(/\s+/);
    const op = Number(f[col('srv_op_state')]);
    const admin = Number(f[col('srv_admin_state')]);
    // srv_admin_state bits: FMAINT 0x01, IMAINT 0x02, CMAINT 0x04, FDRAIN 0x08, IDRAIN 0x10, RMAINT 0x20, HMAINT 0x40.
    let state = ['DOWN', 'STARTING', 'UP', 'STOPPING'][op] ?? `op${op}`;
    if (admin & 0x67) state = 'MAINT';
    else if (admin & 0x18) state = 'DRAIN';
    out.push({ backend: f[col('be_name')] ?? '?', server: f[col('srv_name')] ?? '?', address: f[col('srv_addr')] ?? '?', state });
  }
  return out;
}

/**
 * The CSV of HAProxy's stats page (`<stats uri>;csv`): a `# pxname,svname,…` header, then one line
 * per frontend, backend and server. Columns are found by name. `status` reads UP, DOWN, `UP 1/2`
 * (going down, still up), `DOWN 1/2` (going up, still down), NOLB, DRAIN, `MAINT (via …)`,
 * `no check`; they map onto the states `show servers state` gives.
 */
export function parseStatsCsv(text: string): HaproxyServer[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const header = lines.find((l) => l.startsWith('#'));
  if (!header) return [];
  const cols = header.replace(/^#\s*/, '').split(',');
  const col = (name: string) => cols.indexOf(name);
  const out: HaproxyServer[] = [];
  for (const l of lines) {
    if (l.startsWith('#')) continue;
    const f = l.split(',');
    const server = f[col('svname')] ?? '?';
    if (server === 'FRONTEND' || server === 'BACKEND') continue;
    const raw = (f[col('status')] ?? '').toUpperCase();
    let state: string;
    if (raw.startsWith('MAINT')) state = 'MAINT';
    else if (raw.startsWith('DRAIN') || raw.startsWith('NOLB')) state = 'DRAIN';
    else if (raw.startsWith('UP') || raw === 'NO CHECK') state = 'UP';
    else if (raw.startsWith('DOWN')) state = 'DOWN';
    else state = raw || '?';
    const addr = col('addr') >= 0 ? f[col('addr')] : undefined;
    out.push({
      backend: f[col('pxname')] ?? '?',
      server,
      address: addr ? addr.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') : '?',
      state,
    });
  }
  return out;
}

/** PgBouncer's `[databases]` file as the follower writes it: `* = host=H port=P`. */
export function parseDatabasesIni(text: string): { host: string; port: number } | null {
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!.trim();
      continue;
    }
    if (section !== 'databases') continue;
    const host = /\bhost=(\S+)/.exec(line)?.[1];
    const port = /\bport=(\d+)/.exec(line)?.[1];
    if (host) return { host, port: port ? Number(port) : 5432 };
  }
  return null;
}

/** Marker lines separating the parts of the single exec on a proxy host. */
const MARK = '@@pgha:';

/**
 * One script for everything status reads on a host over SSH. socat is not on the hosts but
 * python3 is (Patroni needs it), so the stats socket is read with a python one-liner.
 */
export function proxyProbeScript(opts: { haproxy: boolean; pgbouncer: boolean }): string {
  const parts: string[] = [];
  if (opts.haproxy) {
    const py = [
      'import socket,sys',
      's=socket.socket(socket.AF_UNIX)',
      's.settimeout(2)',
      `s.connect(${JSON.stringify(HAPROXY_SOCKET)})`,
      's.sendall(b"show servers state\\n")',
      'sys.stdout.write(s.makefile().read())',
    ].join('; ');
    parts.push(`echo '${MARK}haproxy'`, `python3 -I -S -c '${py}' 2>&1; echo "${MARK}rc=$?"`);
  }
  if (opts.pgbouncer) parts.push(`echo '${MARK}pgbouncer'`, `cat ${PGBOUNCER_DATABASES_INI} 2>&1; echo "${MARK}rc=$?"`);
  return parts.join('\n');
}

export function splitProbeOutput(out: string): Map<string, { text: string; rc: number }> {
  const parts = new Map<string, { text: string; rc: number }>();
  let name: string | undefined;
  let buf: string[] = [];
  for (const line of out.split('\n')) {
    if (line.startsWith(MARK)) {
      const tag = line.slice(MARK.length);
      if (tag.startsWith('rc=')) {
        if (name) parts.set(name, { text: buf.join('\n'), rc: Number(tag.slice(3)) });
        name = undefined;
      } else {
        name = tag;
      }
      buf = [];
    } else if (name) {
      buf.push(line);
    }
  }
  return parts;
}

// ── probing ──

export interface ProbeContext {
  cluster: ResolvedCluster;
  paths: ClusterPaths;
  tls: TlsMaterial;
}

const PORT_VARS = ['patroni_listen_port', 'etcd_client_port', 'postgres_port', 'haproxy_port'] as const;

/**
 * config.yml resolved for reading. Compiling the JSON schema costs more than the whole status
 * round trip, so a config validated once is cached (DIR/.status-cache.json, keyed by its bytes
 * and the pgha build) and later runs read it back without yaml, schema or rules.
 */
export async function readClusterConfig(dir: string): Promise<{ cluster: ResolvedCluster; paths: ClusterPaths }> {
  const paths = clusterPaths(dir);
  // Not a readable regular UTF-8 file: loadCluster below says what is wrong with it.
  const read = readConfigText(paths.config);
  const text = 'text' in read ? read.text : undefined;
  if (text !== undefined) {
    const key = statusCacheKey(text);
    const cached = readStatusCache(paths.dir, key);
    // A cached entry was validated when it was written (below); one whose name is not the
    // directory's is left to loadCluster, which refuses it.
    const named = (c: ResolvedCluster) => c.name === basename(paths.dir);
    if (cached && fitsStatus(cached.cluster) && named(cached.cluster)) {
      printConfigWarnings(cached.warnings);
      return { cluster: cached.cluster, paths };
    }
    // On a miss the file is validated in full (schema and rules, exit 2 on any problem; loadCluster
    // prints its warnings) before it is cached: status and test never read, nor keep, a config
    // deploy would refuse.
    const { loadCluster } = await import('./cluster-dir.js');
    const loaded = loadCluster(dir);
    if (fitsStatus(loaded.cluster)) writeStatusCache(paths.dir, key, { cluster: loaded.cluster, warnings: loaded.warnings });
    return { cluster: loaded.cluster, paths: loaded.paths };
  }
  const { loadCluster } = await import('./cluster-dir.js');
  const loaded = loadCluster(dir);
  return { cluster: loaded.cluster, paths: loaded.paths };
}

/** What status relies on (names, addresses, roles, ports) looks right. */
function fitsStatus(cluster: ResolvedCluster): boolean {
  return (
    typeof cluster.name === 'string' &&
    cluster.hosts.length > 0 &&
    cluster.hosts.every(
      (h) =>
        typeof h.name === 'string' && isIP(h.ip) !== 0 && Array.isArray(h.roles) && PORT_VARS.every((v) => Number.isInteger(h.vars[v])),
    )
  );
}

/** The cluster directory, read without creating anything (status changes nothing). */
export async function probeContext(dir: string): Promise<ProbeContext> {
  const { cluster, paths } = await readClusterConfig(dir);
  const ca = await readFile(join(paths.ssl, 'ca.crt'), 'utf8').catch((e: Error) => {
    throw new RuntimeError(`cannot read the cluster CA: ${e.message}`, {
      hint: `run \`pgha configure\` or restore ${paths.ssl} from a backup`,
    });
  });
  const tls: TlsMaterial = { ca };
  if (cluster.hosts.some((h) => h.vars.patroni_authentication_mode === 'mtls')) {
    // verify_client: required refuses even GETs without a certificate.
    tls.cert = await readFile(join(paths.ssl, 'clients', 'pgha.crt'), 'utf8').catch(() => undefined);
    tls.key = await readFile(join(paths.ssl, 'clients', 'pgha.key'), 'utf8').catch(() => undefined);
  }
  return { cluster, paths, tls };
}

export function patroniClientFor(ctx: ProbeContext, h: ResolvedHost): PatroniClient {
  return new PatroniClient(
    { host: h.name, ip: h.ip, port: Number(h.vars.patroni_listen_port) },
    { tls: ctx.tls, ssl: h.vars.patroni_ssl_enabled === true },
  );
}

/** Both of readEtcd's requests go over one kept connection: one TLS handshake per member, not two. */
export function etcdRequester(ctx: ProbeContext, h: ResolvedHost): NodeHttpRequester {
  return new NodeHttpRequester(
    { ip: h.ip, port: Number(h.vars.etcd_client_port), servername: h.name },
    { ca: ctx.tls.ca },
    undefined,
    h.vars.etcd_ssl_enabled === true ? 'https' : 'http',
    true,
  );
}

async function readMember(
  ctx: ProbeContext,
  h: ResolvedHost,
): Promise<{ name: string; info?: ClusterInfo; node?: PatroniNodeStatus; error?: string }> {
  const c = patroniClientFor(ctx, h);
  try {
    // GET /patroni beside /cluster: the running build (version, pgha_fixes) is only there.
    const [res, node] = await Promise.all([
      c.call({ method: 'GET', path: '/cluster', timeoutMs: STATUS_TIMEOUT_MS }),
      c.call({ method: 'GET', path: '/patroni', timeoutMs: STATUS_TIMEOUT_MS }).catch(() => undefined),
    ]);
    if (res.status !== 200 || typeof res.body !== 'object') return { name: h.name, error: `GET /cluster answered ${res.status}` };
    return {
      name: h.name,
      info: res.body as ClusterInfo,
      ...(node?.status === 200 && typeof node.body === 'object' ? { node: node.body as PatroniNodeStatus } : {}),
    };
  } catch (e) {
    return { name: h.name, error: errText(e).replace(/^Patroni REST API GET \/cluster failed: /, '') };
  }
}

export async function readEtcd(ctx: ProbeContext, h: ResolvedHost): Promise<EtcdStatus> {
  const http = etcdRequester(ctx, h);
  const endpoint = `${h.vars.etcd_ssl_enabled === true ? 'https' : 'http'}://${h.ip}:${String(h.vars.etcd_client_port)}`;
  const base: EtcdStatus = { name: h.name, endpoint, reachable: false, healthy: false, leader: false, version: null };
  try {
    const [health, status] = await Promise.all([
      http.request({ method: 'GET', path: '/health', timeoutMs: STATUS_TIMEOUT_MS }),
      http.request({ method: 'POST', path: '/v3/maintenance/status', body: {}, timeoutMs: STATUS_TIMEOUT_MS }),
    ]);
    const hb = health.body as { health?: string | boolean };
    const sb = status.body as { header?: { member_id?: string }; leader?: string; version?: string };
    return {
      ...base,
      reachable: true,
      healthy: health.status === 200 && String(hb.health) === 'true',
      leader: status.status === 200 && sb.leader !== undefined && sb.leader === sb.header?.member_id,
      version: sb.version ?? null,
    };
  } catch (e) {
    return { ...base, error: errText(e) };
  } finally {
    await http.close();
  }
}

export async function certificateStatus(paths: ClusterPaths, hosts: readonly ResolvedHost[], now: Date): Promise<CertificateStatus[]> {
  const one = async (host: string, file: string): Promise<CertificateStatus | undefined> => {
    try {
      const cert = new X509Certificate(await readFile(file));
      const end = new Date(cert.validTo);
      return { host, notAfter: end.toISOString(), daysLeft: Math.floor((end.getTime() - now.getTime()) / 86_400_000) };
    } catch {
      return undefined;
    }
  };
  const all = await Promise.all([
    one('CA', join(paths.ssl, 'ca.crt')),
    ...hosts.map((h) => one(h.name, join(paths.ssl, h.name, 'node.crt'))),
  ]);
  return all.filter((c): c is CertificateStatus => c !== undefined);
}

export type ConnectSsh = (h: ResolvedHost) => Promise<Transport>;

/**
 * Connects through the cluster's platform (SSH with DIR/ssh's key and pinned host keys); the
 * platform code and ssh are loaded only when a proxy needs them.
 */
export function sshConnector(ctx: { cluster: ResolvedCluster; paths: ClusterPaths }, readyTimeoutMs = STATUS_TIMEOUT_MS): ConnectSsh {
  return async (h) => {
    const { platformFor } = await import('../platforms/index.js');
    return platformFor(ctx.cluster.platform).connect(h, {
      privateKeyFile: ctx.paths.privateKey,
      knownHostsFile: ctx.paths.knownHosts,
      readyTimeoutMs,
    });
  };
}

interface ProxyRead {
  host: ResolvedHost;
  parts?: Map<string, { text: string; rc: number }>;
  error?: string;
}

/** HAProxy's stats CSV of a proxy host; undefined when the host has no stats page to read. */
export type ReadStats = (h: ResolvedHost) => Promise<string | undefined>;

/** Errors after which asking the same host over SSH is pointless: it does not answer at all. */
const UNREACHABLE = /timed out|no answer within|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN/;

/**
 * The client identity for the stats page: pgha's own client certificate (DIR/ssl/clients/pgha),
 * which every cluster has. Proxy hosts' node certificates are server-only and would be refused.
 */
async function statsIdentity(ctx: ProbeContext): Promise<{ cert: string; key: string } | undefined> {
  if (ctx.tls.cert && ctx.tls.key) return { cert: ctx.tls.cert, key: ctx.tls.key };
  const [cert, key] = await Promise.all([
    readFile(join(ctx.paths.ssl, 'clients', 'pgha.crt'), 'utf8').catch(() => undefined),
    readFile(join(ctx.paths.ssl, 'clients', 'pgha.key'), 'utf8').catch(() => undefined),
  ]);
  return cert && key ? { cert, key } : undefined;
}

/** Reads `listen pgha_stats` over TLS (one request, no SSH). */
export function statsReader(ctx: ProbeContext): ReadStats {
  return async (h) => {
    const ep = statsEndpoint(ctx.cluster, h);
    if (!ep) return undefined;
    const id = await statsIdentity(ctx);
    if (!id) return undefined;
    const http = new NodeHttpRequester({ ip: h.ip, port: ep.port, servername: h.name }, { ca: ctx.tls.ca, ...id });
    const res = await http.request({ method: 'GET', path: `${ep.path};csv`, timeoutMs: STATUS_TIMEOUT_MS });
    if (res.status !== 200 || !res.text.startsWith('#')) throw new Error(`stats page answered ${res.status}`);
    return res.text;
  };
}

/**
 * Reads what status needs from HAProxy and PgBouncer hosts: HAProxy's stats page over TLS where
 * there is one, else one SSH exec per host. Keeps SSH connections across `--watch` rounds; a
 * failed one is dropped and retried next time.
 */
export class ProxyReader {
  private readonly open = new Map<string, Transport>();
  constructor(
    private readonly connect: ConnectSsh,
    private readonly stats?: ReadStats,
  ) {}

  async read(h: ResolvedHost): Promise<ProxyRead> {
    if (this.stats && h.roles.includes('haproxy') && !h.roles.includes('pgbouncer')) {
      try {
        const csv = await this.stats(h);
        if (csv !== undefined) return { host: h, parts: new Map([['haproxy-csv', { text: csv, rc: 0 }]]) };
      } catch (e) {
        // Not answering at all: SSH would only wait as long again. Anything else (refused: a
        // cluster deployed before the stats page existed; a TLS failure) falls back to SSH.
        if (UNREACHABLE.test(errText(e))) return { host: h, error: errText(e) };
      }
    }
    const script = proxyProbeScript({ haproxy: h.roles.includes('haproxy'), pgbouncer: h.roles.includes('pgbouncer') });
    try {
      let t = this.open.get(h.name);
      if (!t) {
        t = await this.connect(h);
        this.open.set(h.name, t);
      }
      const r = await t.exec({ script, timeoutSec: 5 });
      return { host: h, parts: splitProbeOutput(r.stdout) };
    } catch (e) {
      const t = this.open.get(h.name);
      this.open.delete(h.name);
      await t?.close().catch(() => undefined);
      return { host: h, error: errText(e) };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((t) => t.close().catch(() => undefined)));
    this.open.clear();
  }
}

/** Members in config order, with the DCS's view merged in; members the DCS knows but config does not come last. */
export function memberRows(
  dataNodes: readonly ResolvedHost[],
  info: ClusterInfo | undefined,
  reach: Map<string, string | undefined>,
): MemberStatus[] {
  const byName = new Map((info?.members ?? []).map((m) => [m.name, m]));
  const row = (name: string, ip: string, m: ClusterMember | undefined): MemberStatus => {
    const error = reach.get(name);
    const reachable = reach.has(name) ? error === undefined : true;
    return {
      name,
      host: m?.host ?? ip,
      role: m ? canonicalRole(m.role) : null,
      state: !reachable ? 'unreachable' : (m?.state ?? 'absent'),
      dcsState: m?.state ?? null,
      reachable,
      timeline: typeof m?.timeline === 'number' ? m.timeline : null,
      lag: typeof m?.lag === 'number' ? m.lag : null,
      lagUnknown: m?.lag === 'unknown',
      pendingRestart: m?.pending_restart === true,
      scheduledRestart: m?.scheduled_restart?.schedule ?? null,
      tags: m?.tags ?? {},
      ...(error !== undefined ? { error } : {}),
    };
  };
  const rows = dataNodes.map((h) => row(h.name, h.ip, byName.get(h.name)));
  for (const m of info?.members ?? []) if (!dataNodes.some((h) => h.name === m.name)) rows.push(row(m.name, m.host ?? '', m));
  return rows;
}

export interface StatusReadOptions {
  now?: Date;
  proxies?: ProxyReader;
}

/** Reads everything at once. Throws only when no Patroni member answers. */
export async function readStatus(ctx: ProbeContext, o: StatusReadOptions = {}): Promise<ClusterStatus> {
  const { cluster } = ctx;
  const dataNodes = cluster.hosts.filter(isDataNode);
  const etcdHosts = cluster.hosts.filter((h) => h.roles.includes('etcd'));
  const proxyHosts = cluster.hosts.filter((h) => h.roles.includes('haproxy') || h.roles.includes('pgbouncer'));
  const ownProxies = o.proxies ? undefined : new ProxyReader(sshConnector(ctx), statsReader(ctx));
  const proxies = o.proxies ?? ownProxies!;
  try {
    const [members, etcd, proxyReads, certificates] = await Promise.all([
      Promise.all(dataNodes.map((h) => readMember(ctx, h))),
      Promise.all(etcdHosts.map((h) => readEtcd(ctx, h))),
      Promise.all(proxyHosts.map((h) => proxies.read(h))),
      certificateStatus(ctx.paths, cluster.hosts, o.now ?? new Date()),
    ]);
    // Every member reads the same DCS; prefer the leader's answer, which is the freshest about itself.
    const answers = members.filter((m) => m.info);
    const info = answers.find((a) => leaderOf(a.info!)?.name === a.name)?.info ?? answers[0]?.info;
    if (!info) {
      throw new RuntimeError(`no Patroni member answers:\n${members.map((m) => `  - ${m.name}: ${m.error}`).join('\n')}`, {
        hint: `check that patroni@${cluster.name} runs on the data nodes (and that the hosts are up: pgha provision for nspawn)`,
      });
    }
    const reach = new Map(members.map((m) => [m.name, m.error]));
    const rows = memberRows(dataNodes, info, reach);
    for (const m of members) {
      const row = rows.find((r) => r.name === m.name);
      if (!row || !m.node) continue;
      row.patroniVersion = m.node.patroni?.version ?? null;
      const bug = leaderKeyBug(m.node.patroni);
      if (bug) row.knownBug = `${bug}; fix: ${leaderKeyFix(ctx.paths.dir)}`;
    }
    const leader = leaderOf(info);
    const ipOf = new Map<string, string>();
    for (const h of dataNodes) ipOf.set(h.ip, h.name);
    for (const m of info.members) if (m.host) ipOf.set(m.host, m.name);

    const haproxy: HaproxyStatus[] = [];
    const pgbouncer: PgbouncerStatus[] = [];
    for (const p of proxyReads) {
      if (p.host.roles.includes('haproxy')) {
        const csv = p.parts?.get('haproxy-csv');
        const part = csv ?? p.parts?.get('haproxy');
        const error =
          p.error ?? (part && part.rc !== 0 ? `stats socket: ${part.text.trim().split('\n').pop()}` : part ? undefined : 'no answer');
        const servers = part && part.rc === 0 ? (csv ? parseStatsCsv(part.text) : parseServersState(part.text)) : [];
        haproxy.push({
          host: p.host.name,
          reachable: p.error === undefined,
          servers,
          writesTo: servers.filter((s) => s.backend === 'pgha_rw' && s.state === 'UP').map((s) => s.server),
          ...(error ? { error } : {}),
        });
      }
      if (p.host.roles.includes('pgbouncer')) {
        const part = p.parts?.get('pgbouncer');
        const target = part && part.rc === 0 ? parseDatabasesIni(part.text) : null;
        const error =
          p.error ??
          (part && part.rc !== 0
            ? part.text.trim()
            : !part
              ? 'no answer'
              : !target
                ? `no [databases] target in ${PGBOUNCER_DATABASES_INI}`
                : undefined);
        const targetMember = target ? (ipOf.get(target.host) ?? null) : null;
        pgbouncer.push({
          host: p.host.name,
          reachable: p.error === undefined,
          target,
          targetMember,
          pointsAtLeader: targetMember !== null && targetMember === leader?.name,
          ...(error ? { error } : {}),
        });
      }
    }
    return {
      cluster: cluster.name,
      leader: leader?.name ?? null,
      pause: info.pause === true,
      scheduledSwitchover: info.scheduled_switchover ?? null,
      members: rows,
      etcd,
      haproxy,
      pgbouncer,
      certificates,
      source: answers.find((a) => a.info === info)?.name ?? null,
    };
  } finally {
    await ownProxies?.close();
  }
}

// ── rendering ──

function roleTitle(role: string | null): string {
  if (role === null) return '';
  if (isLeaderRole(role) && role !== 'standby_leader') return 'Leader';
  return role
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(' ');
}

function lagMb(m: MemberStatus): string {
  if (m.lagUnknown) return 'unknown';
  if (m.lag === null) return '';
  return String(Math.round(m.lag / 1048576));
}

function tagsText(tags: Record<string, unknown>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

/** patronictl's table: `+ Cluster: name ---+`, one row per member, numbers right-aligned. */
export function memberTable(s: ClusterStatus): string {
  const head = ['Member', 'Host', 'Role', 'State', 'TL', 'Lag in MB'];
  const anyPending = s.members.some((m) => m.pendingRestart || m.scheduledRestart);
  const anyTags = s.members.some((m) => Object.keys(m.tags).length);
  if (anyPending) head.push('Pending restart');
  if (anyTags) head.push('Tags');
  const right = new Set([4, 5]);
  const rows = s.members.map((m) => {
    const r = [m.name, m.host, roleTitle(m.role), m.state, m.timeline === null ? '' : String(m.timeline), lagMb(m)];
    if (anyPending) r.push([m.pendingRestart ? '*' : '', m.scheduledRestart ? `at ${m.scheduledRestart}` : ''].filter(Boolean).join(' '));
    if (anyTags) r.push(tagsText(m.tags));
    return r;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const title = `+ Cluster: ${s.cluster} `;
  const top = title.length < sep.length ? title + sep.slice(title.length) : `${title}+`;
  return [top, line(head), sep, ...rows.map(line), sep].join('\n');
}

export function formatStatusTable(s: ClusterStatus): string {
  const out = [memberTable(s)];
  if (s.pause) out.push(' Maintenance mode: on');
  if (s.scheduledSwitchover) {
    const sw = s.scheduledSwitchover;
    out.push(
      ` Switchover scheduled at: ${sw.at ?? '?'}${sw.from ? `\n                    from: ${sw.from}` : ''}${sw.to ? `\n                      to: ${sw.to}` : ''}`,
    );
  }
  for (const m of s.members.filter((x) => x.error)) out.push(` ${m.name}: ${m.error}`);
  for (const m of s.members.filter((x) => x.knownBug)) out.push(`warning: ${m.name}: ${m.knownBug}`);
  if (s.etcd.length) {
    const healthy = s.etcd.filter((e) => e.healthy).length;
    const leader = s.etcd.find((e) => e.leader)?.name;
    out.push(`etcd: ${healthy}/${s.etcd.length} healthy${leader ? `, leader ${leader}` : ''}`);
    for (const e of s.etcd) {
      const st = !e.reachable ? `unreachable: ${e.error ?? ''}` : e.healthy ? 'healthy' : 'UNHEALTHY';
      out.push(`  ${e.name.padEnd(8)} ${e.endpoint.padEnd(26)} ${st}${e.leader ? ' (leader)' : ''}${e.version ? `  ${e.version}` : ''}`);
    }
  }
  for (const h of s.haproxy) {
    if (h.error) {
      out.push(`HAProxy ${h.host}: ${h.reachable ? '' : 'unreachable: '}${h.error}`);
      continue;
    }
    const backends = [...new Set(h.servers.map((x) => x.backend))];
    out.push(
      `HAProxy ${h.host}: ${backends
        .map(
          (b) =>
            `${b} ${h.servers
              .filter((x) => x.backend === b)
              .map((x) => `${x.server} ${x.state}`)
              .join(', ')}`,
        )
        .join('; ')}`,
    );
  }
  for (const p of s.pgbouncer) {
    if (p.error) {
      out.push(`PgBouncer ${p.host}: ${p.reachable ? '' : 'unreachable: '}${p.error}`);
      continue;
    }
    const who = p.targetMember ? ` (${p.targetMember}${p.pointsAtLeader ? ', the leader' : ', NOT the leader'})` : ' (not a member)';
    out.push(`PgBouncer ${p.host}: → ${p.target!.host}:${p.target!.port}${who}`);
  }
  if (s.certificates.length) {
    const soon = Math.min(...s.certificates.map((c) => c.daysLeft));
    out.push(
      `certificates: ${s.certificates.map((c) => `${c.host} ${c.daysLeft} d`).join(', ')}${soon < 30 ? '  (renew: pgha deploy)' : ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}

export type StatusFormat = 'table' | 'json' | 'yaml';

export async function formatStatus(s: ClusterStatus, format: StatusFormat): Promise<string> {
  return format === 'table' ? formatStatusTable(s) : dataText(s, format);
}

export interface StatusCommand {
  output: StatusFormat;
  watch: boolean;
  /** Seconds between rounds with watch. */
  interval: number;
}

/** The command: one read, or a refresh every `interval` seconds until SIGINT/SIGTERM. */
export async function runStatus(dir: string, o: StatusCommand, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const ctx = await probeContext(dir);
  if (!o.watch) {
    out.write(await formatStatus(await readStatus(ctx), o.output));
    return 0;
  }
  const proxies = new ProxyReader(sshConnector(ctx), statsReader(ctx));
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  try {
    for (;;) {
      let text: string;
      try {
        text = await formatStatus(await readStatus(ctx, { proxies }), o.output);
      } catch (e) {
        // A cluster that cannot be read right now (a failover, say) is what --watch is for.
        text = `${(e as Error).message}\n`;
      }
      const stamp = `${new Date().toISOString()}  every ${o.interval} s, Ctrl-C to stop\n`;
      out.write(tty ? `\x1b[H\x1b[2J${stamp}${text}` : o.output === 'table' ? `${stamp}${text}\n` : text);
      const next = await Promise.race([
        stopped.then(() => 'stop' as const),
        new Promise<'tick'>((r) => setTimeout(() => r('tick'), o.interval * 1000).unref()),
      ]);
      if (next === 'stop') return 0;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await proxies.close();
  }
}
