/**
 * `pgha test` (like `tpaexec test`; docs/architecture.md#operations): every component's health, each check printed
 * with ✓ or ✗, every failure listed at the end. Checks run in parallel and never stop at the
 * first failure: an operator wants the whole picture.
 *
 * Independent where it matters: writes through HAProxy are proven with psql on a data node
 * (pg_is_in_recovery() and the server address), not by trusting HAProxy's own view; the
 * password travels on stdin into a 0600 passfile, never on a command line.
 */
import { isDataNode } from '../components/common.js';
import { PINNED_SEARCH_PATH } from '../components/host-commands.js';
import { RuntimeError } from '../errors.js';
import type { ResolvedHost } from '../model/types.js';
import { leaderOf, leadersOf, liveLag, maximumLagOnFailover, preferredAnswer, replicaLag, streamsTo } from '../patroni/judge.js';
import { leaderKeyBug, leaderKeyFix } from '../patroni/known-bugs.js';
import { isHealthyReplicaState, type ClusterInfo, type PatroniNodeStatus } from '../patroni/types.js';
import { loadSecrets } from '../secrets/store.js';
import { quote } from '../transport/quote.js';
import type { Transport } from '../transport/types.js';
import { patroniClientFor, probeContext, probeSource, sshConnector, STATUS_TIMEOUT_MS, type ProbeContext } from './live/probe.js';
import { haproxyState, ProxyReader } from './live/proxies.js';
import { parseDatabasesIni } from './live/proxy-parse.js';
import { readEtcd, type LiveSource } from './live/view.js';

export interface CheckResult {
  /** What was checked, e.g. `pg2: replication`. */
  name: string;
  ok: boolean;
  detail: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const first = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

export interface HealthDeps {
  ctx: ProbeContext;
  secret(name: string): string | undefined;
  ssh: ProxyReader;
  connect(h: ResolvedHost): Promise<Transport>;
}

async function memberChecks(
  d: HealthDeps,
  h: ResolvedHost,
): Promise<{ checks: CheckResult[]; info?: ClusterInfo; node?: PatroniNodeStatus; config?: Record<string, unknown> }> {
  const c = patroniClientFor(d.ctx, h);
  try {
    const [health, live, node, info, config] = await Promise.all([
      c.call({ method: 'GET', path: '/health', timeoutMs: STATUS_TIMEOUT_MS }),
      c.call({ method: 'GET', path: '/liveness', timeoutMs: STATUS_TIMEOUT_MS }),
      c.call({ method: 'GET', path: '/patroni', timeoutMs: STATUS_TIMEOUT_MS }),
      c.call({ method: 'GET', path: '/cluster', timeoutMs: STATUS_TIMEOUT_MS }),
      c.call({ method: 'GET', path: '/config', timeoutMs: STATUS_TIMEOUT_MS }),
    ]);
    const st = node.body as PatroniNodeStatus;
    const ok = health.status === 200 && live.status === 200;
    const bug = node.status === 200 ? leaderKeyBug(st.patroni) : undefined;
    return {
      checks: [
        {
          name: `${h.name}: REST API`,
          ok,
          detail: ok
            ? `PostgreSQL ${st.state}, Patroni ${st.patroni?.version ?? '?'} (GET /health 200, /liveness 200)`
            : `GET /health ${health.status}, /liveness ${live.status}: PostgreSQL ${st.state ?? 'unknown'}`,
        },
        ...(node.status === 200
          ? [
              {
                name: `${h.name}: Patroni build`,
                ok: !bug,
                detail: bug
                  ? `${bug}; fix: ${leaderKeyFix(d.ctx.paths.dir)}`
                  : `${st.patroni?.version ?? '?'}${st.patroni?.pgha_fixes?.length ? ` (${st.patroni.pgha_fixes.join(', ')})` : ''}, no known write-losing bug`,
              },
            ]
          : []),
      ],
      node: st,
      ...(info.status === 200 ? { info: info.body as ClusterInfo } : {}),
      ...(config.status === 200 ? { config: config.body as Record<string, unknown> } : {}),
    };
  } catch (e) {
    return {
      checks: [
        { name: `${h.name}: REST API`, ok: false, detail: `unreachable: ${first(e).replace(/^Patroni REST API GET \/\w+ failed: /, '')}` },
      ],
    };
  }
}

/** One leader; every configured member present and streaming from it within maximum_lag_on_failover. */
export function replicationChecks(
  dataNodes: readonly string[],
  info: ClusterInfo | undefined,
  leaderNode: PatroniNodeStatus | undefined,
  maxLag: number,
  nodes: ReadonlyMap<string, PatroniNodeStatus> = new Map(),
): CheckResult[] {
  if (!info) return [{ name: 'replication', ok: false, detail: 'no member answers GET /cluster' }];
  const leaders = leadersOf(info);
  const out: CheckResult[] = [
    {
      name: 'replication: leader',
      ok: leaders.length === 1 && leaders[0]!.state === 'running',
      detail:
        leaders.length === 1
          ? `${leaders[0]!.name} (${leaders[0]!.state})`
          : leaders.length
            ? `${leaders.length} leaders: ${leaders.map((l) => l.name).join(', ')}`
            : 'no leader',
    },
  ];
  const leader = leaders.length === 1 ? leaders[0]!.name : undefined;
  for (const name of dataNodes.filter((n) => n !== leader)) {
    const m = info.members.find((x) => x.name === name);
    let ok = false;
    let detail: string;
    const how = liveLag(leaderNode, nodes.get(name)) !== undefined ? 'live' : 'from the DCS';
    const lag = replicaLag(m?.lag, leaderNode, nodes.get(name)) ?? m?.lag;
    if (!m) detail = 'not a member of the cluster (Patroni not running, or not registered in the DCS)';
    else if (!isHealthyReplicaState(m.state)) detail = `state ${m.state}`;
    else if (typeof lag !== 'number') detail = `lag ${String(lag ?? 'unknown')}`;
    else if (lag > maxLag) detail = `lag ${lag} B (${how}) exceeds maximum_lag_on_failover ${maxLag} B`;
    else if (leaderNode && !streamsTo(leaderNode, name)) detail = `${leader ?? 'the leader'} has no streaming connection from ${name}`;
    else {
      ok = true;
      detail = `streaming from ${leader ?? '?'}, lag ${lag} B (max ${maxLag})`;
    }
    out.push({ name: `${name}: replication`, ok, detail });
  }
  return out;
}

async function etcdChecks(d: HealthDeps, info: ClusterInfo | undefined): Promise<CheckResult[]> {
  const src = probeSource(d.ctx);
  try {
    return await etcdChecksWith(d, info, src);
  } finally {
    await src.close();
  }
}

async function etcdChecksWith(d: HealthDeps, info: ClusterInfo | undefined, src: LiveSource): Promise<CheckResult[]> {
  const { cluster } = d.ctx;
  const etcdHosts = cluster.hosts.filter((h) => h.roles.includes('etcd'));
  const statuses = await Promise.all(etcdHosts.map((h) => readEtcd(src.etcdHttp(h.name), h, STATUS_TIMEOUT_MS)));
  const out: CheckResult[] = statuses.map((s) => ({
    name: `etcd ${s.name}: health`,
    ok: s.healthy,
    detail: !s.reachable
      ? `unreachable: ${s.error ?? ''}`
      : s.healthy
        ? `healthy${s.leader ? ' (leader)' : ''}, ${s.version ?? '?'}`
        : 'reachable but not healthy (no leader or no quorum)',
  }));
  const reachable = etcdHosts.find((h, i) => statuses[i]!.reachable);
  const any = etcdHosts[0];
  if (!any) return out;
  const v = any.vars;
  const prefix = `${String(v.patroni_dcs_namespace).replace(/\/$/, '')}/${cluster.name}/`;
  if (v.etcd_authentication_mode !== 'basic') {
    out.push({ name: 'etcd: auth', ok: true, detail: 'not enabled (etcd_authentication_mode: none): skipped' });
    return out;
  }
  if (!reachable) {
    out.push({ name: 'etcd: auth', ok: false, detail: 'no etcd member reachable' });
    return out;
  }
  const http = src.etcdHttp(reachable.name);
  const key = b64(`${prefix}leader`);
  try {
    const anon = await http.request({ method: 'POST', path: '/v3/kv/range', body: { key }, timeoutMs: STATUS_TIMEOUT_MS });
    const refused = anon.status !== 200;
    out.push({
      name: 'etcd: anonymous read',
      ok: refused,
      detail: refused
        ? `refused (${String((anon.body as { message?: string }).message ?? anon.status)})`
        : 'ALLOWED: anyone can read the DCS',
    });
  } catch (e) {
    out.push({ name: 'etcd: anonymous read', ok: false, detail: first(e) });
  }
  const user = String(v.patroni_etcd_user);
  const password = d.secret(user);
  if (!password) {
    out.push({ name: `etcd: ${user} authenticates`, ok: false, detail: `no DIR/secrets/${user}` });
    return out;
  }
  try {
    const auth = await http.request({
      method: 'POST',
      path: '/v3/auth/authenticate',
      body: { name: user, password },
      timeoutMs: STATUS_TIMEOUT_MS,
    });
    const token = (auth.body as { token?: string }).token;
    if (auth.status !== 200 || !token) {
      out.push({
        name: `etcd: ${user} authenticates`,
        ok: false,
        detail: `refused: ${String((auth.body as { message?: string }).message ?? auth.status)}`,
      });
    } else {
      const read = await http.request({
        method: 'POST',
        path: '/v3/kv/range',
        body: { key },
        headers: { authorization: token },
        timeoutMs: STATUS_TIMEOUT_MS,
      });
      const found = ((read.body as { kvs?: unknown[] }).kvs ?? []).length;
      const leader = info ? leaderOf(info)?.name : undefined;
      out.push({
        name: `etcd: ${user} authenticates`,
        ok: read.status === 200,
        detail:
          read.status === 200
            ? `and reads ${prefix}leader${found ? '' : ' (empty)'}${leader ? `; DCS leader ${leader}` : ''}`
            : `authenticated but cannot read ${prefix}: ${read.text.trim()}`,
      });
    }
  } catch (e) {
    out.push({ name: `etcd: ${user} authenticates`, ok: false, detail: first(e) });
  }
  return out;
}

/**
 * psql from a data node to HAProxy's read-write port: which server answers, and is it a primary?
 * The passfile is created 0600 from stdin and removed whatever happens.
 */
export function psqlThroughScript(conninfo: string, sql: string): string {
  return [
    'set -u',
    'umask 077',
    'f=$(mktemp)',
    'trap \'rm -f "$f"\' EXIT',
    'cat > "$f"',
    `PGPASSFILE="$f" PGCONNECT_TIMEOUT=5 ${PINNED_SEARCH_PATH} psql -X -At -v ON_ERROR_STOP=1 -F ' ' -c ${quote(sql)} ${quote(conninfo)}`,
  ].join('\n');
}

function passfileLine(user: string, password: string): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  return `*:*:*:${esc(user)}:${esc(password)}\n`;
}

async function haproxyChecks(d: HealthDeps, leader: ResolvedHost | undefined, runner: ResolvedHost | undefined): Promise<CheckResult[]> {
  const hosts = d.ctx.cluster.hosts.filter((h) => h.roles.includes('haproxy'));
  if (!hosts.length) return [];
  const out: CheckResult[] = [];
  const superuser = String(hosts[0]!.vars.patroni_super_user);
  const password = d.secret(superuser);
  let transport: Transport | undefined;
  if (runner) transport = await d.connect(runner).catch(() => undefined);
  try {
    await Promise.all(
      hosts.map(async (h) => {
        const port = Number(h.vars.haproxy_port);
        const name = `HAProxy ${h.name}: writes reach the leader`;
        if (!leader) return out.push({ name, ok: false, detail: 'no leader to compare with' });
        if (!transport || !runner) return out.push({ name, ok: false, detail: 'no data node reachable over SSH to run psql from' });
        if (!password) return out.push({ name, ok: false, detail: `no DIR/secrets/${superuser}` });
        const ssl = h.vars.patroni_ssl_enabled === true ? 'sslmode=verify-ca sslrootcert=/etc/patroni/ssl/ca.crt' : 'sslmode=prefer';
        const conninfo = `host=${h.ip} port=${port} user=${superuser} dbname=postgres ${ssl}`;
        try {
          const r = await transport.exec({
            script: psqlThroughScript(conninfo, 'select pg_catalog.pg_is_in_recovery(), pg_catalog.inet_server_addr()'),
            stdin: passfileLine(superuser, password),
            secrets: [password],
            timeoutSec: 15,
          });
          const [recovery, addr] = r.stdout.trim().split(/\s+/);
          const ok = r.code === 0 && recovery === 'f' && addr === leader.ip;
          const detail =
            r.code !== 0
              ? `psql via ${h.ip}:${port} from ${runner.name} failed: ${(r.stderr.trim().split('\n').pop() ?? '').replaceAll(password, '********')}`
              : `psql via ${h.ip}:${port} reached ${addr ?? '?'}${recovery === 'f' ? ' (primary)' : ' (in recovery)'}${addr === leader.ip ? `, the leader ${leader.name}` : `, not the leader ${leader.name} (${leader.ip})`}`;
          out.push({ name, ok, detail });
        } catch (e) {
          out.push({ name, ok: false, detail: first(e) });
        }
        return undefined;
      }),
    );
    // HAProxy's own view: only the leader UP in the read-write backend.
    const reads = await Promise.all(hosts.map((h) => d.ssh.read(h)));
    for (const r of reads) {
      const name = `HAProxy ${r.host.name}: backend`;
      const part = r.parts?.get('haproxy');
      if (r.error || !part || part.rc !== 0) {
        out.push({ name, ok: false, detail: r.error ?? part?.text.trim() ?? 'no answer' });
        continue;
      }
      const up = haproxyState(r).writesTo;
      const ok = leader !== undefined && up.length === 1 && up[0] === leader.name;
      out.push({ name, ok, detail: `pgha_rw UP: ${up.join(', ') || 'none'}${ok ? '' : ` (want only ${leader?.name ?? 'the leader'})`}` });
    }
  } finally {
    await transport?.close().catch(() => undefined);
  }
  return out;
}

async function pgbouncerChecks(d: HealthDeps, leader: ResolvedHost | undefined): Promise<CheckResult[]> {
  const hosts = d.ctx.cluster.hosts.filter((h) => h.roles.includes('pgbouncer'));
  const reads = await Promise.all(hosts.map((h) => d.ssh.read(h)));
  return reads.map((r) => {
    const name = `PgBouncer ${r.host.name}: points at the leader`;
    const part = r.parts?.get('pgbouncer');
    if (r.error || !part || part.rc !== 0) return { name, ok: false, detail: r.error ?? part?.text.trim() ?? 'no answer' };
    const t = parseDatabasesIni(part.text);
    if (!t) return { name, ok: false, detail: 'no [databases] target' };
    const ok = leader !== undefined && t.host === leader.ip && t.port === Number(leader.vars.postgres_port);
    return {
      name,
      ok,
      detail: `${t.host}:${t.port}${ok ? ` = ${leader.name}` : `, leader is ${leader ? `${leader.name} (${leader.ip})` : 'unknown'}`}`,
    };
  });
}

export async function runHealthChecks(d: HealthDeps): Promise<CheckResult[]> {
  const { cluster } = d.ctx;
  const dataNodes = cluster.hosts.filter(isDataNode);
  const members = await Promise.all(dataNodes.map((h) => memberChecks(d, h)));
  // Every member reads the same DCS; the leader's own answer is preferred.
  const info = preferredAnswer(members.map((m, i) => ({ name: dataNodes[i]!.name, info: m.info })))?.info;
  const leaderName = info ? leaderOf(info)?.name : undefined;
  const leaderIdx = dataNodes.findIndex((h) => h.name === leaderName);
  const leaderHost = leaderIdx >= 0 ? dataNodes[leaderIdx] : undefined;
  const leaderNode = leaderIdx >= 0 ? members[leaderIdx]?.node : undefined;
  const config = members.find((m) => m.config)?.config;
  const maxLag = maximumLagOnFailover(config);
  // psql runs on a member whose API answered (its host is up); the leader last, to keep load off it.
  const runners = dataNodes.filter((h, i) => members[i]!.checks[0]!.ok);
  const runner = runners.find((h) => h.name !== leaderName) ?? runners[0];
  const [etcd, haproxy, pgbouncer] = await Promise.all([
    etcdChecks(d, info),
    haproxyChecks(d, leaderHost, runner),
    pgbouncerChecks(d, leaderHost),
  ]);
  return [
    ...members.flatMap((m) => m.checks),
    ...replicationChecks(
      dataNodes.map((h) => h.name),
      info,
      leaderNode,
      maxLag,
      new Map(dataNodes.flatMap((h, i) => (members[i]?.node ? [[h.name, members[i].node] as const] : []))),
    ),
    ...etcd,
    ...haproxy,
    ...pgbouncer,
  ];
}

export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = results.map((r) => `${r.ok ? '✓' : '✗'} ${r.name.padEnd(width)}  ${r.detail}`);
  const failed = results.filter((r) => !r.ok);
  lines.push('', `${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length) lines.push('failed:', ...failed.map((r) => `  - ${r.name}: ${r.detail}`));
  return `${lines.join('\n')}\n`;
}

/** The command: prints every check; exit 1 when any failed. */
export async function runTest(dir: string, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const ctx = await probeContext(dir);
  const secrets = await loadSecrets(ctx.paths.dir);
  const connect = sshConnector(ctx, 10_000);
  const ssh = new ProxyReader(connect);
  try {
    const results = await runHealthChecks({
      ctx,
      secret: (n) => (secrets.names().includes(n) ? secrets.get(n) : undefined),
      ssh,
      connect,
    });
    if (!results.length) throw new RuntimeError('nothing to test: config.yml has no hosts');
    out.write(secrets.redact(formatChecks(results)));
    return results.every((r) => r.ok) ? 0 : 1;
  } finally {
    await ssh.close();
  }
}
