/**
 * readStatus and the health checks end to end against fakes: Patroni members and etcd on
 * loopback addresses (127.0.0.1-3) replaying the 3.0.2 captures, and SSH replaced by a stub
 * transport. pg3 has nothing listening: it must show as unreachable while the rest report.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatChecks, healthProbe, runHealthChecks, testProbeDeps } from '../../src/app/health.js';
import { replicationChecks } from '../../src/components/patroni/health.js';
import { probeContext, type ProbeContext } from '../../src/app/live/probe.js';
import { HostStateReader } from '../../src/app/live/proxies.js';
import { readFailsafeMode, readStatus, statusHostParts } from '../../src/app/status/read.js';
import { formatStatusTable } from '../../src/app/status/table.js';
import { liveLag } from '../../src/patroni/judge.js';
import type { ResolvedHost } from '../../src/model/types.js';
import type { ClusterInfo, PatroniNodeStatus } from '../../src/patroni/types.js';
import { issueCa, issueNodeCert } from '../../src/pki/certs.js';
import type { Transport } from '../../src/transport/types.js';
import { stringify } from 'yaml';
import { statusCacheKey, writeStatusCache } from '../../src/app/status-config-cache.js';
import { resolveCluster } from '../../src/model/resolve.js';
import type { ClusterConfig } from '../../src/model/types.js';

const FIX = join(import.meta.dirname, '../fixtures/patroni-3.0.2');
/** A captured body with the e2e cluster's addresses moved to loopback ones. */
const body = (id: string) =>
  (JSON.parse(readFileSync(join(FIX, `${id}.json`), 'utf8')) as { response: { body: string } }).response.body.replace(
    /10\.233\.1\.1(\d)/g,
    '127.0.0.$1',
  );

const IPS = { pg1: '127.0.0.1', pg2: '127.0.0.2', pg3: '127.0.0.3', proxy1: '127.0.0.4' };
const SERVERS_STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state
3 pgha_rw 1 pg1 127.0.0.1 2 0
3 pgha_rw 2 pg2 127.0.0.2 0 0
3 pgha_rw 3 pg3 127.0.0.3 0 0
`;

let root = '';
let dir = '';
let ctx: ProbeContext;
const servers: Server[] = [];
const seen: string[] = [];
let patroniPort = 0;
let etcdPort = 0;

function fake(
  ip: string,
  port: number,
  key: string,
  cert: string,
  route: (method: string, path: string, authorized: boolean) => [number, string],
): Promise<number> {
  const s = createServer({ key, cert }, (req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${ip} ${req.method} ${req.url}`);
      const [status, text] = route(req.method ?? '', req.url ?? '', req.headers.authorization !== undefined);
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    });
  });
  servers.push(s);
  return new Promise((r) => s.listen(port, ip, () => r((s.address() as AddressInfo).port)));
}

const execs: { host: string; script: string; stdin?: string }[] = [];

/** The stub transport: answers the one probe exec of each proxy host. */
function stubConnect(h: ResolvedHost): Promise<Transport> {
  if (h.name === 'pg3') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.3:22'));
  let count = 0;
  return Promise.resolve({
    host: h.name,
    get execCount() {
      return count;
    },
    async exec(cmd) {
      count++;
      execs.push({ host: h.name, script: cmd.script, ...(cmd.stdin !== undefined ? { stdin: cmd.stdin } : {}) });
      const parts: string[] = [];
      if (cmd.script.includes('python3')) parts.push('@@pgha:haproxy', SERVERS_STATE, '@@pgha:rc=0');
      if (cmd.script.includes('pgha-databases.ini'))
        parts.push('@@pgha:pgbouncer', '[databases]\n* = host=127.0.0.1 port=5432', '@@pgha:rc=0');
      // The host's release and daemon versions (status only): Debian 13, every named package installed but PgBouncer.
      if (cmd.script.includes('@@pgha:host:os-release'))
        parts.push('@@pgha:host:os-release', 'ID=debian\nVERSION_ID="13"\nVERSION_CODENAME=trixie', '@@pgha:rc=0');
      const named = /dpkg-query -W -f='[^']*' ([^|]*?) 2>/.exec(cmd.script)?.[1]?.split(' ') ?? [];
      if (cmd.script.includes('@@pgha:host:packages'))
        parts.push(
          '@@pgha:host:packages',
          ...named.map((n) => (n === 'pgbouncer' ? `${n}\tdeinstall ok config-files\t1.18.0-1` : `${n}\tinstall ok installed\t1.0-${n}`)),
          '@@pgha:rc=0',
        );
      if (cmd.script.includes('psql')) return { stdout: 'f|127.0.0.1\n', stderr: '', code: 0 };
      return { stdout: parts.join('\n'), stderr: '', code: 0 };
    },
    async close() {},
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pgha-status-read-'));
  dir = join(root, 'e2estat');
  const now = new Date();
  const ca = issueCa({ clusterName: 'e2estat', now });
  mkdirSync(join(dir, 'ssl'), { recursive: true });
  writeFileSync(join(dir, 'ssl', 'ca.crt'), ca.certPem);
  const certs: Record<string, { keyPem: string; certPem: string }> = {};
  for (const [name, ip] of Object.entries(IPS)) {
    certs[name] = issueNodeCert({ ca, host: { name, ip }, now });
    mkdirSync(join(dir, 'ssl', name));
    writeFileSync(join(dir, 'ssl', name, 'node.crt'), certs[name].certPem);
  }
  const patroni =
    (name: 'pg1' | 'pg2') =>
    (method: string, path: string): [number, string] => {
      if (method !== 'GET') return [405, ''];
      const who = name === 'pg1' ? 'leader' : 'replica';
      if (path === '/cluster') return [200, body('get-cluster.leader')];
      // pg1 answers as pgha's fixed build would (packaging/patroni/README.md), pg2 as Debian's 3.0.2-1.
      if (path === '/patroni' && name === 'pg1') {
        const st = JSON.parse(body(`get-patroni.${who}`)) as { patroni: Record<string, unknown> };
        st.patroni.pgha_fixes = ['etcd3-leader-key'];
        return [200, JSON.stringify(st)];
      }
      if (path === '/patroni') return [200, body(`get-patroni.${who}`)];
      if (path === '/config') return [200, body('get-config.leader')];
      if (path === '/health' || path === '/liveness') return [200, body(`get-health.${who}`)];
      return [404, ''];
    };
  patroniPort = await fake(IPS.pg1, 0, certs.pg1!.keyPem, certs.pg1!.certPem, patroni('pg1'));
  await fake(IPS.pg2, patroniPort, certs.pg2!.keyPem, certs.pg2!.certPem, patroni('pg2'));
  const etcd =
    (id: string) =>
    (method: string, path: string, authorized: boolean): [number, string] => {
      if (path === '/health') return [200, '{"health":"true"}'];
      if (path === '/v3/maintenance/status') return [200, JSON.stringify({ header: { member_id: id }, leader: '1', version: '3.4.23' })];
      if (path === '/v3/kv/range' && authorized) return [200, '{"kvs":[{"key":"x","value":"cGcx"}]}'];
      if (path === '/v3/kv/range')
        return [400, '{"error":"etcdserver: user name is empty","code":3,"message":"etcdserver: user name is empty"}'];
      if (path === '/v3/auth/authenticate') return [200, '{"token":"t"}'];
      return [404, method];
    };
  etcdPort = await fake(IPS.pg1, 0, certs.pg1!.keyPem, certs.pg1!.certPem, etcd('1'));
  await fake(IPS.pg2, etcdPort, certs.pg2!.keyPem, certs.pg2!.certPem, etcd('2'));

  const inst = (Name: string, node: number, role: string[]) => ({
    Name,
    node,
    location: 'main',
    role,
    ip_address: IPS[Name as keyof typeof IPS],
  });
  // Loopback stand-ins for the hosts, and HAProxy beside PgBouncer to read both: a config
  // validation refuses. Status reads a config it validated once from its cache, so the test
  // seeds that cache with the resolved stand-in, as an earlier status would have written it.
  const standIn = {
    architecture: 'M1',
    cluster_name: 'e2estat',
    cluster_vars: {
      patroni_ssl_enabled: true,
      etcd_ssl_enabled: true,
      etcd_authentication_mode: 'basic',
      patroni_listen_port: patroniPort,
      etcd_client_port: etcdPort,
    },
    locations: [{ Name: 'main' }],
    instance_defaults: { platform: 'bare', vars: {} },
    instances: [
      inst('pg1', 1, ['primary', 'etcd']),
      inst('pg2', 2, ['replica', 'etcd', 'pgbouncer']),
      inst('pg3', 3, ['replica', 'etcd']),
      inst('proxy1', 4, ['haproxy']),
    ],
  } as unknown as ClusterConfig;
  const text = stringify(standIn);
  writeFileSync(join(dir, 'config.yml'), text);
  writeStatusCache(dir, statusCacheKey(text), { cluster: resolveCluster(standIn), warnings: [] });
  ctx = await probeContext(dir);
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(root, { recursive: true, force: true });
});

describe('readStatus', () => {
  it('reports every component; the member that does not answer is unreachable', async () => {
    const s = await readStatus(ctx, { proxies: new HostStateReader(ctx.cluster, stubConnect) });
    expect(s.leader).toBe('pg1');
    expect(s.source).toBe('pg1');
    expect(s.members.map((m) => [m.name, m.state, m.reachable])).toEqual([
      ['pg1', 'running', true],
      ['pg2', 'running', true],
      ['pg3', 'unreachable', false],
    ]);
    expect(s.members[2]!.error).toMatch(/ECONNREFUSED/);
    // The running build: pg1 says it carries the leader key fix, pg2 is Debian's 3.0.2-1.
    expect(s.members.map((m) => [m.name, m.patroniVersion, m.knownBug !== undefined])).toEqual([
      ['pg1', '3.0.2', false],
      ['pg2', '3.0.2', true],
      ['pg3', undefined, false],
    ]);
    expect(s.members[1]!.knownBug).toMatch(/without the leader key fix.*; fix: pgha download-packages .*--components=patroni$/);
    const table = formatStatusTable(s);
    expect(table).toMatch(/^warning: pg2: Patroni 3\.0\.2 without the leader key fix/m);
    expect(table).not.toMatch(/^warning: pg1/m);
    expect(s.etcd.map((e) => [e.name, e.healthy, e.leader])).toEqual([
      ['pg1', true, true],
      ['pg2', true, false],
      ['pg3', false, false],
    ]);
    expect(s.haproxy).toEqual([expect.objectContaining({ host: 'proxy1', reachable: true, writesTo: ['pg1'] })]);
    expect(s.pgbouncer).toEqual([
      expect.objectContaining({ host: 'pg2', target: { host: '127.0.0.1', port: 5432 }, targetMember: 'pg1', pointsAtLeader: true }),
    ]);
    expect(s.certificates.map((c) => c.host)).toEqual(['CA', 'pg1', 'pg2', 'pg3', 'proxy1']);
    // `-o json`'s keys, in the order scripts have read them since before components declared their sections.
    expect(Object.keys(s)).toEqual([
      'cluster',
      'leader',
      'pause',
      'failsafeMode',
      // Added with synchronous replication (issue 14).
      'synchronousMode',
      'syncStandbys',
      'scheduledSwitchover',
      'members',
      'etcd',
      'haproxy',
      // Added with the VIP (issue 14; empty here: no vip_address).
      'keepalived',
      // Added with pgBackRest's section (empty here: no repository host); sections go in name order.
      'pgbackrest',
      'pgbouncer',
      'prometheus',
      'certificates',
      'hosts',
      'source',
    ]);
    expect(Object.keys(s.haproxy[0]!)).toEqual(['host', 'reachable', 'servers', 'writesTo']);
    expect(Object.keys(s.pgbouncer[0]!)).toEqual(['host', 'reachable', 'target', 'targetMember', 'pointsAtLeader']);
    // Only GETs and etcd's unauthenticated reads: status never writes.
    expect(seen.filter((l) => / (PUT|PATCH|DELETE) /.test(l) || (/ POST /.test(l) && !l.endsWith('/v3/maintenance/status')))).toEqual([]);
  });

  it('an SSH host that cannot be reached is reported, not fatal', async () => {
    const s = await readStatus(ctx, { proxies: new HostStateReader(ctx.cluster, async () => Promise.reject(new Error('timed out'))) });
    expect(s.haproxy[0]).toMatchObject({ reachable: false, error: 'timed out' });
    expect(s.pgbouncer[0]).toMatchObject({ reachable: false, target: null, pointsAtLeader: false });
    expect(s.members.filter((m) => m.reachable)).toHaveLength(2);
  });

  it('reads HAProxy from its stats page when there is one: no SSH to the proxy host', async () => {
    execs.length = 0;
    const csv = '# pxname,svname,status,addr\npgha_rw,FRONTEND,OPEN,\npgha_rw,pg1,UP,\npgha_rw,pg2,DOWN,\npgha_rw,pg3,DOWN,\n';
    const s = await readStatus(ctx, { proxies: new HostStateReader(ctx.cluster, stubConnect, async () => csv) });
    expect(s.haproxy).toEqual([expect.objectContaining({ host: 'proxy1', reachable: true, writesTo: ['pg1'] })]);
    expect(execs.filter((e) => e.host === 'proxy1')).toEqual([]);
  });

  it('falls back to SSH when the stats page refuses, not when the host does not answer', async () => {
    execs.length = 0;
    const refused = await readStatus(ctx, {
      proxies: new HostStateReader(ctx.cluster, stubConnect, async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.4:8404'))),
    });
    expect(refused.haproxy[0]).toMatchObject({ reachable: true, writesTo: ['pg1'] });
    expect(execs.filter((e) => e.host === 'proxy1')).toHaveLength(1);
    execs.length = 0;
    const silent = await readStatus(ctx, {
      proxies: new HostStateReader(ctx.cluster, stubConnect, async () =>
        Promise.reject(new Error('connection to 127.0.0.4:8404 timed out')),
      ),
    });
    expect(silent.haproxy[0]).toMatchObject({ reachable: false, error: 'connection to 127.0.0.4:8404 timed out' });
    expect(execs.filter((e) => e.host === 'proxy1')).toEqual([]);
  });

  it("status's reader: every host in one exec with its release and daemon versions, failsafe mode from GET /config", async () => {
    execs.length = 0;
    let statsAsked = 0;
    const csv = async () => {
      statsAsked++;
      return '# pxname,svname,status,addr\npgha_rw,pg1,UP,\n';
    };
    const s = await readStatus(ctx, { versions: true, proxies: new HostStateReader(ctx.cluster, stubConnect, csv, statusHostParts(ctx)) });
    expect(s.failsafeMode).toBe(false);
    expect(s.synchronousMode).toBe('off');
    expect(s.syncStandbys).toEqual([]);
    expect(s.hosts.map((h) => [h.name, h.reachable, h.release?.codename ?? null])).toEqual([
      ['pg1', true, 'trixie'],
      ['pg2', true, 'trixie'],
      ['pg3', false, null],
      ['proxy1', true, 'trixie'],
    ]);
    // Debian 13's defaults (the config names no os_version): PostgreSQL 17; pg2's PgBouncer is not installed.
    expect(s.hosts[0]!.packages).toEqual({
      'etcd-server': '1.0-etcd-server',
      patroni: '1.0-patroni',
      'postgresql-17': '1.0-postgresql-17',
    });
    expect(Object.keys(s.hosts[1]!.packages!)).toEqual(['etcd-server', 'patroni', 'postgresql-17']);
    expect(s.hosts[2]).toMatchObject({ packages: null, error: 'connect ECONNREFUSED 127.0.0.3:22' });
    // One exec per reachable host; HAProxy's socket is read in proxy1's, so its stats page is not asked.
    expect(execs.map((e) => e.host).sort()).toEqual(['pg1', 'pg2', 'proxy1']);
    expect(statsAsked).toBe(0);
    expect(s.haproxy[0]).toMatchObject({ reachable: true, writesTo: ['pg1'] });
    expect(s.pgbouncer[0]).toMatchObject({ reachable: true, targetMember: 'pg1' });
    const table = formatStatusTable(s);
    expect(table).toMatch(/^\+ Cluster: e2estat \(failsafe mode: off\) /);
    expect(table).toContain(
      '\n  pg1      Debian 13 (trixie)  etcd-server 1.0-etcd-server, patroni 1.0-patroni, postgresql-17 1.0-postgresql-17\n',
    );
    expect(table).toContain('\n  pg3      unreachable: connect ECONNREFUSED');
  });

  it("without --versions status reads no host's release: SSH only where state needs it, HAProxy from its stats page", async () => {
    execs.length = 0;
    let statsAsked = 0;
    const csv = async () => {
      statsAsked++;
      return '# pxname,svname,status,addr\npgha_rw,pg1,UP,\n';
    };
    const s = await readStatus(ctx, { proxies: new HostStateReader(ctx.cluster, stubConnect, csv) });
    expect(s.hosts).toEqual([]);
    // PgBouncer's target has no API: pg2 is read over SSH, and no other host.
    expect(execs.map((e) => e.host)).toEqual(['pg2']);
    expect(execs[0]!.script).not.toContain('os-release');
    expect(statsAsked).toBe(1);
    expect(s.haproxy[0]).toMatchObject({ reachable: true, writesTo: ['pg1'] });
    expect(formatStatusTable(s)).not.toMatch(/^hosts:/m);
  });

  it("status's reader falls back to HAProxy's stats page when SSH to the proxy host fails", async () => {
    const refused = async (h: ResolvedHost) =>
      h.name === 'proxy1' ? Promise.reject(new Error('All configured authentication methods failed')) : stubConnect(h);
    const csv = async () => '# pxname,svname,status,addr\npgha_rw,pg1,UP,\npgha_rw,pg2,DOWN,\n';
    const s = await readStatus(ctx, { versions: true, proxies: new HostStateReader(ctx.cluster, refused, csv, statusHostParts(ctx)) });
    expect(s.haproxy[0]).toMatchObject({ reachable: true, writesTo: ['pg1'] });
    expect(s.hosts[3]).toMatchObject({ name: 'proxy1', release: null, packages: null });
  });

  it('failsafe mode: the next member answers when the first does not; null when none does', async () => {
    const src = (answers: Record<string, unknown>) => ({
      patroni: (name: string) =>
        ({
          call: async () => {
            const a = answers[name];
            if (a === undefined) throw new Error(`${name}: no answer within 3 s`);
            return { status: 200, body: a, text: JSON.stringify(a) };
          },
        }) as never,
      etcdHttp: () => ({}) as never,
    });
    expect(await readFailsafeMode(src({ pg2: { failsafe_mode: true } }), ['pg1', 'pg2'])).toBe(true);
    expect(await readFailsafeMode(src({ pg1: { ttl: 30 } }), ['pg1', 'pg2'])).toBe(false);
    expect(await readFailsafeMode(src({}), ['pg1', 'pg2'])).toBeNull();
  });

  it('fails (exit 1) only when no member answers', async () => {
    const dead: ProbeContext = {
      ...ctx,
      cluster: { ...ctx.cluster, hosts: ctx.cluster.hosts.filter((h) => h.name === 'pg3' || h.name === 'proxy1') },
    };
    await expect(readStatus(dead, { proxies: new HostStateReader(ctx.cluster, stubConnect) })).rejects.toThrow(
      /no Patroni member answers:\n {2}- pg3: /,
    );
  });
});

describe('health checks', () => {
  it('list every failure and pass the rest', async () => {
    execs.length = 0;
    const deps = testProbeDeps(ctx, (n) => (n === 'etcd_patroni' || n === 'postgres' ? 'pw' : undefined), stubConnect);
    const results = await runHealthChecks(healthProbe(deps)).finally(() => deps.close());
    const failed = results.filter((r) => !r.ok).map((r) => r.name);
    // In registry order: etcd, Patroni, PgBouncer, HAProxy.
    expect(failed).toEqual(['etcd pg3: health', 'pg2: Patroni build', 'pg3: REST API']);
    expect(results.map((r) => r.name.split(/[ :]/)[0])).toEqual([
      ...['etcd', 'etcd', 'etcd', 'etcd', 'etcd'],
      ...['pg1', 'pg1', 'pg2', 'pg2', 'pg3', 'replication', 'pg2', 'pg3'],
      'PgBouncer',
      ...['HAProxy', 'HAProxy'],
    ]);
    const text = formatChecks(results);
    expect(text).toMatch(/^✓ pg1: REST API +PostgreSQL running, Patroni 3\.0\.2/m);
    expect(text).toMatch(/^✗ pg3: REST API +unreachable: connect ECONNREFUSED/m);
    expect(text).toMatch(/^✓ pg1: Patroni build +3\.0\.2 \(etcd3-leader-key\), no known write-losing bug/m);
    expect(text).toMatch(
      /^✗ pg2: Patroni build +Patroni 3\.0\.2 without the leader key fix: .*; fix: pgha download-packages \S+, then pgha upgrade \S+ --components=patroni$/m,
    );
    expect(text).toMatch(/^✓ pg2: replication +streaming from pg1, lag 0 B \(max 1048576\)/m);
    expect(text).toMatch(/^✓ etcd: anonymous read +refused/m);
    expect(text).toMatch(
      /^✓ HAProxy proxy1: writes reach the leader +psql via 127\.0\.0\.4:5432 reached 127\.0\.0\.1 \(primary\), the leader pg1/m,
    );
    expect(text).toMatch(/^✓ PgBouncer pg2: points at the leader +127\.0\.0\.1:5432 = pg1/m);
    expect(text).toMatch(/failed:\n {2}- etcd pg3: health: .*\n {2}- pg2: Patroni build: .*\n {2}- pg3: REST API: /);
    // psql ran on a replica (the switchover's write probe), verifying the server's chain to the
    // cluster CA, with the password on stdin, never in the script.
    const psql = execs.find((e) => e.script.includes('psql'))!;
    expect(psql.host).toBe('pg2');
    expect(psql.script).toContain('PGPASSFILE="$f"');
    expect(psql.script).toContain('sslmode=verify-ca sslrootcert=/etc/patroni/ssl/ca.crt');
    expect(psql.script).not.toContain('pw');
    expect(psql.stdin).toBe('pw\n');
    // One exec per proxy host for the HAProxy/PgBouncer reads.
    expect(execs.filter((e) => e.host === 'proxy1' && e.script.includes('python3'))).toHaveLength(1);
  });

  const info = (id: string) => JSON.parse(body(id)) as ClusterInfo;
  const leaderNode = JSON.parse(body('get-patroni.leader')) as PatroniNodeStatus;

  it('replication: one running leader and every replica streaming within the lag limit', () => {
    expect(replicationChecks(['pg1', 'pg2', 'pg3'], info('get-cluster.leader'), leaderNode, 1048576).every((r) => r.ok)).toBe(true);
  });

  it('replication: lag beyond maximum_lag_on_failover, a missing member, no streaming connection', () => {
    const i = info('get-cluster.leader');
    i.members[1]!.lag = 5_000_000;
    i.members = i.members.filter((m) => m.name !== 'pg3');
    const r = replicationChecks(['pg1', 'pg2', 'pg3'], i, { ...leaderNode, replication: [] }, 1048576);
    expect(r.map((x) => [x.name, x.ok])).toEqual([
      ['replication: leader', true],
      ['pg2: replication', false],
      ['pg3: replication', false],
    ]);
    expect(r[1]!.detail).toContain('exceeds maximum_lag_on_failover');
    expect(r[2]!.detail).toContain('not a member');
    const noConn = replicationChecks(['pg1', 'pg2'], info('get-cluster.leader'), { ...leaderNode, replication: [] }, 1048576);
    expect(noConn[1]!.detail).toBe('pg1 has no streaming connection from pg2');
  });

  it('replication: live positions win over the DCS lag, which lags a heartbeat behind', () => {
    const i = info('get-cluster.leader');
    // Seen on the e2e cluster right after deploy: a WAL segment switch not yet in the DCS.
    i.members[1]!.lag = 16_777_216;
    const replica = JSON.parse(body('get-patroni.replica')) as PatroniNodeStatus;
    expect(liveLag(leaderNode, replica)).toBe(0);
    const nodes = new Map([['pg2', replica]]);
    expect(replicationChecks(['pg1', 'pg2'], i, leaderNode, 1048576, nodes)[1]).toMatchObject({ ok: true });
    const behind = {
      ...replica,
      xlog: { ...replica.xlog, received_location: leaderNode.xlog!.location! - 2_000_000, replayed_location: 0 },
    };
    const r = replicationChecks(['pg1', 'pg2'], info('get-cluster.leader'), leaderNode, 1048576, new Map([['pg2', behind]]))[1]!;
    expect(r.ok).toBe(false);
    expect(r.detail).toBe('lag 2000000 B (live) exceeds maximum_lag_on_failover 1048576 B');
  });

  it('replication: a cascading replica (replicatefrom) streams from its upstream, not the leader', () => {
    const i = info('get-cluster.leader');
    i.members[2]!.tags = { replicatefrom: 'pg2' };
    // The leader streams to pg2 only; pg2's own pg_stat_replication lists pg3.
    const leader = { ...leaderNode, replication: leaderNode.replication?.filter((r) => r.application_name === 'pg2') };
    const pg2 = {
      ...(JSON.parse(body('get-patroni.replica')) as PatroniNodeStatus),
      replication: [
        { usename: 'replicator', application_name: 'pg3', client_addr: '10.233.1.13', state: 'streaming', sync_state: 'async' },
      ],
    };
    const r = replicationChecks(['pg1', 'pg2', 'pg3'], i, leader, 1048576, new Map([['pg2', pg2]]));
    expect(r.every((x) => x.ok)).toBe(true);
    expect(r[2]!.detail).toMatch(/^streaming from pg2 \(cascading\), lag \d+ B/);
    // pg2 not streaming to it either: named in the failure.
    const none = replicationChecks(['pg1', 'pg2', 'pg3'], i, leader, 1048576, new Map([['pg2', { ...pg2, replication: [] }]]));
    expect(none[2]).toMatchObject({ ok: false, detail: 'pg1 has no streaming connection from pg3 (nor has its upstream pg2)' });
    // Patroni follows the leader while the upstream leads or is not a member: so does the check.
    const fallback = info('get-cluster.leader');
    fallback.members[2]!.tags = { replicatefrom: 'pg9' };
    expect(replicationChecks(['pg1', 'pg2', 'pg3'], fallback, leaderNode, 1048576).every((x) => x.ok)).toBe(true);
  });

  it('replication: a leader config.yml no longer names fails the check with the way out, not a bug', () => {
    const r = replicationChecks(['pg2', 'pg3'], info('get-cluster.leader'), leaderNode, 1048576, new Map(), '/srv/c');
    expect(r[0]).toMatchObject({ name: 'replication: leader', ok: false });
    expect(r[0]!.detail).toContain('pg1 (running): pg1 is the leader, but config.yml does not name it');
    expect(r[0]!.detail).toContain('put pg1 back under instances in /srv/c/config.yml, or remove it from the cluster');
  });

  it('replication: no leader, or two', () => {
    const i = info('get-cluster.leader');
    i.members[0]!.role = 'replica';
    expect(replicationChecks(['pg1', 'pg2', 'pg3'], i, undefined, 1)[0]).toMatchObject({ ok: false, detail: 'no leader' });
    const two = info('get-cluster.leader');
    two.members[1]!.role = 'leader';
    expect(replicationChecks(['pg1', 'pg2', 'pg3'], two, undefined, 1)[0]!.detail).toBe('2 leaders: pg1, pg2');
  });
});
