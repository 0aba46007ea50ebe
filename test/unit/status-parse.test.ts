/** The pure parts of `pgha status`: HAProxy and PgBouncer parsers, the one-exec host state script, the table. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostStateScript, splitHostState as splitProbeOutput, stateParts } from '../../src/app/live/host-state.js';
import { HAPROXY_SOCKET, parseServersState, parseStatsCsv } from '../../src/components/haproxy/live.js';
import { PGBOUNCER_DATABASES as PGBOUNCER_DATABASES_INI } from '../../src/components/paths.js';
import { parseDatabasesIni } from '../../src/components/pgbouncer/live.js';
import type { ResolvedCluster } from '../../src/model/types.js';
import { memberRows, syncStandbysOf, type ClusterStatus } from '../../src/app/status/read.js';
import { formatStatusTable, memberTable, synchronousLine } from '../../src/app/status/table.js';
import type { ResolvedHost } from '../../src/model/types.js';
import type { ClusterInfo } from '../../src/patroni/types.js';

/** Captured from HAProxy 2.6 on the e2e cluster's proxy host. */
const SERVERS_STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 pgha_rw 1 pg1 10.233.1.11 2 0 1 1 218 15 3 2 6 0 0 0 - 5432 - 0 8008 - - 8008
3 pgha_rw 2 pg2 10.233.1.12 0 0 1 1 218 17 2 0 6 0 0 0 - 5432 - 0 8008 - - 8008
3 pgha_rw 3 pg3 10.233.1.13 0 0 1 1 361 17 2 0 6 0 0 0 - 5432 - 0 8008 - - 8008

`;

const cluster = (file: string) =>
  JSON.parse(
    (
      JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/patroni-3.0.2', `${file}.json`), 'utf8')) as {
        response: { body: string };
      }
    ).response.body,
  ) as ClusterInfo;

const host = (name: string, ip: string): ResolvedHost => ({
  name,
  ip,
  node: 1,
  location: 'main',
  roles: ['replica'],
  vars: {},
  provenance: new Map(),
});
const NODES = [host('pg1', '10.233.1.11'), host('pg2', '10.233.1.12'), host('pg3', '10.233.1.13')];

describe('HAProxy show servers state', () => {
  it('reads backend, server and state by column name', () => {
    expect(parseServersState(SERVERS_STATE)).toEqual([
      { backend: 'pgha_rw', server: 'pg1', address: '10.233.1.11', state: 'UP' },
      { backend: 'pgha_rw', server: 'pg2', address: '10.233.1.12', state: 'DOWN' },
      { backend: 'pgha_rw', server: 'pg3', address: '10.233.1.13', state: 'DOWN' },
    ]);
  });

  it('admin state wins: maintenance and drain', () => {
    const text = SERVERS_STATE.replace('pg2 10.233.1.12 0 0', 'pg2 10.233.1.12 2 1').replace('pg3 10.233.1.13 0 0', 'pg3 10.233.1.13 2 8');
    expect(parseServersState(text).map((s) => s.state)).toEqual(['UP', 'MAINT', 'DRAIN']);
  });

  it('nothing to read without a header', () => {
    expect(parseServersState('')).toEqual([]);
    expect(parseServersState('Unknown command\n')).toEqual([]);
  });
});

describe('PgBouncer databases file', () => {
  it('reads the target the follower wrote', () => {
    const ini = '; Managed by pgha\n[databases]\n* = host=10.233.1.12 port=5432\n';
    expect(parseDatabasesIni(ini)).toEqual({ host: '10.233.1.12', port: 5432 });
  });
  it('ignores other sections and comments; none → null', () => {
    expect(parseDatabasesIni('[pgbouncer]\nhost=1.2.3.4\n[databases]\n; * = host=9.9.9.9\n')).toBeNull();
  });
});

describe('the one exec on a proxy host', () => {
  let dir = '';
  let server: Server;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgha-status-'));
    server = createServer((sock) => {
      sock.once('data', (b) => {
        expect(b.toString()).toBe('show servers state\n');
        sock.end(SERVERS_STATE);
      });
    });
    await new Promise<void>((r) => server.listen(join(dir, 'admin.sock'), r));
    writeFileSync(join(dir, 'databases.ini'), '[databases]\n* = host=10.233.1.11 port=5432\n');
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the stats socket with python3 and the databases file, in one script', async () => {
    const script = proxyProbeScript({ haproxy: true, pgbouncer: true })
      .replace(HAPROXY_SOCKET, join(dir, 'admin.sock'))
      .replace(PGBOUNCER_DATABASES_INI, join(dir, 'databases.ini'));
    // Not spawnSync: the socket server above runs in this process and must keep answering.
    const r = await runBash(script);
    const parts = splitProbeOutput(r);
    expect(parts.get('haproxy')?.rc).toBe(0);
    expect(parseServersState(parts.get('haproxy')!.text)[0]?.state).toBe('UP');
    expect(parseDatabasesIni(parts.get('pgbouncer')!.text)).toEqual({ host: '10.233.1.11', port: 5432 });
  });

  it('a missing socket or file is reported per part, with its exit code', () => {
    const script = proxyProbeScript({ haproxy: true, pgbouncer: true })
      .replace(HAPROXY_SOCKET, join(dir, 'nope.sock'))
      .replace(PGBOUNCER_DATABASES_INI, join(dir, 'nope.ini'));
    const out = spawnSync('bash', ['-c', script], { encoding: 'utf8' }).stdout;
    const parts = splitProbeOutput(out);
    expect(parts.get('haproxy')?.rc).not.toBe(0);
    expect(parts.get('haproxy')?.text).toMatch(/No such file|FileNotFoundError/);
    expect(parts.get('pgbouncer')?.rc).not.toBe(0);
  });

  it('only what the host runs: each component that declares a state script, by the registry', () => {
    expect(proxyProbeScript({ haproxy: true, pgbouncer: false })).not.toContain('pgbouncer');
    expect(proxyProbeScript({ haproxy: false, pgbouncer: true })).not.toContain('python3');
    expect(proxyProbeScript({ haproxy: false, pgbouncer: false })).toBe('');
  });
});

/** The host state script of a host with these roles, as status builds it from the registry. */
function proxyProbeScript(o: { haproxy: boolean; pgbouncer: boolean }): string {
  const roles = [...(o.haproxy ? ['haproxy'] : []), ...(o.pgbouncer ? ['pgbouncer', 'replica'] : [])];
  const host = { name: 'h', ip: '10.0.0.1', roles, vars: {} } as unknown as ResolvedHost;
  return hostStateScript(stateParts({ name: 'c', hosts: [host] } as unknown as ResolvedCluster, host));
}

function runBash(script: string): Promise<string> {
  return new Promise((resolve) => {
    const c = spawn('bash', ['-c', script]);
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.on('close', () => resolve(out));
  });
}

describe('members', () => {
  it('merge the DCS view with reachability, in config order', () => {
    const rows = memberRows(
      NODES,
      cluster('get-cluster.leader'),
      new Map([
        ['pg1', undefined],
        ['pg2', undefined],
        ['pg3', 'connect ECONNREFUSED'],
      ]),
    );
    expect(rows.map((r) => [r.name, r.role, r.state, r.reachable, r.lag])).toEqual([
      ['pg1', 'leader', 'running', true, null],
      ['pg2', 'replica', 'running', true, 0],
      ['pg3', 'replica', 'unreachable', false, 0],
    ]);
    expect(rows[2]!.dcsState).toBe('running');
    expect(rows[2]!.error).toBe('connect ECONNREFUSED');
  });

  it('a configured member the DCS does not know is absent', () => {
    const info = cluster('get-cluster.leader');
    info.members = info.members.filter((m) => m.name !== 'pg3');
    const rows = memberRows(NODES, info, new Map());
    expect(rows[2]).toMatchObject({ name: 'pg3', role: null, state: 'absent', reachable: true });
  });

  it('a live member config.yml no longer names is a row and a warning with the way out', () => {
    const rows = memberRows(NODES.slice(1), cluster('get-cluster.leader'), new Map(), '/srv/e2estat');
    expect(rows.map((r) => r.name)).toEqual(['pg2', 'pg3', 'pg1']);
    expect(rows[2]!.notInConfig).toBe(
      'pg1 is the leader, but config.yml does not name it; fix: put pg1 back under instances in /srv/e2estat/config.yml, ' +
        'or remove it from the cluster (if it leads, switch over to a member config.yml names first; then stop Patroni on pg1)',
    );
    expect(rows[0]!.notInConfig).toBeUndefined();
    const s = { ...status0(cluster('get-cluster.leader')), members: rows };
    expect(formatStatusTable(s)).toContain('\nwarning: pg1 is the leader, but config.yml does not name it; fix: put pg1 back');
  });

  it('says which proxy holds the VIP, and where keepalived could not be read', () => {
    const table = formatStatusTable(status0(cluster('get-cluster.leader')));
    expect(table).toContain('VIP 10.233.1.250: on proxy1; keepalived: proxy1 active, proxy2 unreachable: no answer within 3 s');
  });

  it('scheduled restart and pause come through', () => {
    const rows = memberRows(NODES, cluster('get-cluster.scheduled-restart'), new Map());
    expect(rows.find((r) => r.scheduledRestart)?.name).toBe('pg2');
  });
});

const status0 = (info: ClusterInfo, reach = new Map<string, string | undefined>()): ClusterStatus => ({
  cluster: 'e2estat',
  leader: 'pg1',
  pause: info.pause === true,
  failsafeMode: false,
  synchronousMode: 'off',
  syncStandbys: syncStandbysOf(info),
  scheduledSwitchover: info.scheduled_switchover ?? null,
  members: memberRows(NODES, info, reach),
  etcd: [
    { name: 'pg1', endpoint: 'https://10.233.1.11:2379', reachable: true, healthy: true, leader: true, version: '3.4.23' },
    {
      name: 'pg2',
      endpoint: 'https://10.233.1.12:2379',
      reachable: false,
      healthy: false,
      leader: false,
      version: null,
      error: 'no answer within 3 s',
    },
  ],
  haproxy: [{ host: 'proxy1', reachable: true, servers: parseServersState(SERVERS_STATE), writesTo: ['pg1'] }],
  keepalived: [
    { host: 'proxy1', address: '10.233.1.250', reachable: true, keepalived: 'active', holdsVip: true },
    { host: 'proxy2', address: '10.233.1.250', reachable: false, keepalived: '?', holdsVip: false, error: 'no answer within 3 s' },
  ],
  pgbouncer: [{ host: 'pg2', reachable: true, target: { host: '10.233.1.11', port: 5432 }, targetMember: 'pg1', pointsAtLeader: true }],
  pgbackrest: [],
  prometheus: [],
  certificates: [
    { host: 'CA', notAfter: '2036-01-01T00:00:00.000Z', daysLeft: 3652 },
    { host: 'pg1', notAfter: '2028-01-01T00:00:00.000Z', daysLeft: 729 },
  ],
  hosts: [
    {
      name: 'pg1',
      reachable: true,
      release: { id: 'debian', version: '13', codename: 'trixie' },
      packages: { 'etcd-server': '3.5.16-4', patroni: '4.0.7-3~deb13u1', 'postgresql-17': '17.12-0+deb13u1' },
    },
    { name: 'pg3', reachable: false, release: null, packages: null, error: 'no answer within 3 s' },
    { name: 'proxy1', reachable: true, release: { id: 'debian', version: '13', codename: 'trixie' }, packages: {} },
  ],
  source: 'pg1',
});

describe('table', () => {
  const status = status0;

  it('looks like patronictl list', () => {
    expect(memberTable(status(cluster('get-cluster.leader')))).toBe(
      [
        '+ Cluster: e2estat (failsafe mode: off) ---+----+-----------+',
        '| Member | Host        | Role    | State   | TL | Lag in MB |',
        '+--------+-------------+---------+---------+----+-----------+',
        '| pg1    | 10.233.1.11 | Leader  | running |  1 |           |',
        '| pg2    | 10.233.1.12 | Replica | running |  1 |         0 |',
        '| pg3    | 10.233.1.13 | Replica | running |  1 |         0 |',
        '+--------+-------------+---------+---------+----+-----------+',
      ].join('\n'),
    );
  });

  it('adds etcd, HAProxy, PgBouncer, certificates, pause and the scheduled switchover', () => {
    const paused = formatStatusTable(status(cluster('get-cluster.paused')));
    expect(paused).toContain(' Maintenance mode: on');
    const text = formatStatusTable(status(cluster('get-cluster.scheduled-switchover'), new Map([['pg3', 'no answer within 3 s']])));
    expect(text).toMatch(/\| pg3 +\| 10\.233\.1\.13 \| Replica \| unreachable \|/);
    expect(text).toContain(' pg3: no answer within 3 s');
    expect(text).toMatch(/Switchover scheduled at: 2026-\S+\n +from: pg1\n +to: pg2/);
    expect(text).toContain('etcd: 1/2 healthy, leader pg1');
    expect(text).toMatch(/pg2 +https:\/\/10\.233\.1\.12:2379 +unreachable: no answer within 3 s/);
    expect(text).toContain('HAProxy proxy1: pgha_rw pg1 UP, pg2 DOWN, pg3 DOWN');
    expect(text).toContain('PgBouncer pg2: → 10.233.1.11:5432 (pg1, the leader)');
    expect(text).toContain('certificates: CA 3652 d, pg1 729 d');
  });

  it('failsafe mode in the title: on, off, or unknown when no member answered GET /config', () => {
    const info = cluster('get-cluster.leader');
    expect(memberTable(status(info)).split('\n')[0]).toBe('+ Cluster: e2estat (failsafe mode: off) ---+----+-----------+');
    expect(memberTable({ ...status(info), failsafeMode: true }).split('\n')[0]).toMatch(/^\+ Cluster: e2estat \(failsafe mode: on\) -+\+/);
    expect(memberTable({ ...status(info), failsafeMode: null })).toMatch(/^\+ Cluster: e2estat \(failsafe mode: unknown\) /);
  });

  it('synchronous replication: the sync standby in the Role column, the mode and the standbys under the table', () => {
    // Not recorded: get-cluster.leader with pg2 as Patroni names a synchronous standby in GET /cluster
    // (role `sync_standby`, 3.0.2 and 4.x alike).
    const recorded = cluster('get-cluster.leader');
    const info: ClusterInfo = {
      ...recorded,
      members: recorded.members.map((m) => (m.name === 'pg2' ? { ...m, role: 'sync_standby' } : m)),
    };
    expect(syncStandbysOf(info)).toEqual(['pg2']);
    const s = { ...status(info), synchronousMode: 'on' as const };
    const rows = memberTable(s).split('\n');
    expect(rows.find((r) => r.startsWith('| pg2 '))).toMatch(/\| Sync Standby \| running /);
    expect(formatStatusTable(s)).toContain('\n Synchronous mode: on, synchronous standby: pg2\n');
    expect(synchronousLine({ synchronousMode: 'strict', syncStandbys: ['pg2', 'pg3'] })).toBe(
      ' Synchronous mode: strict, synchronous standbys: pg2, pg3',
    );
    expect(synchronousLine({ synchronousMode: 'strict', syncStandbys: [] })).toBe(
      ' Synchronous mode: strict, no synchronous standby (commits wait until one is back)',
    );
    expect(synchronousLine({ synchronousMode: 'on', syncStandbys: [] })).toMatch(/no synchronous standby \(commits are not waiting/);
    // Off (the default) and unknown add no line; the title stays as it was.
    expect(synchronousLine({ synchronousMode: 'off', syncStandbys: [] })).toBeUndefined();
    expect(synchronousLine({ synchronousMode: null, syncStandbys: [] })).toBeUndefined();
    expect(formatStatusTable(status(cluster('get-cluster.leader')))).not.toContain('Synchronous mode');
  });

  it('one line per host: release and installed daemon versions; unreachable hosts say so', () => {
    const text = formatStatusTable(status(cluster('get-cluster.leader')));
    expect(text).toContain(
      [
        'hosts:',
        '  pg1      Debian 13 (trixie)  etcd-server 3.5.16-4, patroni 4.0.7-3~deb13u1, postgresql-17 17.12-0+deb13u1',
        '  pg3      unreachable: no answer within 3 s',
        '  proxy1   Debian 13 (trixie)  no daemon installed',
        'certificates: ',
      ].join('\n'),
    );
  });

  it('pending restart and tags columns appear only when some member has them', () => {
    const info = cluster('get-cluster.leader');
    info.members[1]!.pending_restart = true;
    info.members[2]!.tags = { nofailover: true };
    const t = memberTable(status(info));
    expect(t).toMatch(/\| Pending restart \| Tags +\|/);
    expect(t).toMatch(/\| pg2 .*\| \* +\| +\|/);
    expect(t).toContain('nofailover: true');
    // A cascading replica (config.yml's upstream) shows whom it streams from there.
    info.members[2]!.tags = { replicatefrom: 'pg2' };
    expect(memberTable(status(info))).toContain('replicatefrom: pg2');
  });
});

describe('HAProxy stats page CSV', () => {
  /** Captured from `listen pgha_stats` (HAProxy 2.6, `/stats;csv`) on a bench cluster; pg3 leads. */
  const CSV = readFileSync(join(import.meta.dirname, '../fixtures/haproxy-2.6/stats.csv'), 'utf8');

  it('reads the servers, not the FRONTEND/BACKEND lines (2.6 leaves `addr` empty here: ?)', () => {
    expect(parseStatsCsv(CSV)).toEqual([
      { backend: 'pgha_rw', server: 'pg1', address: '?', state: 'DOWN' },
      { backend: 'pgha_rw', server: 'pg2', address: '?', state: 'DOWN' },
      { backend: 'pgha_rw', server: 'pg3', address: '?', state: 'UP' },
    ]);
  });

  it('maps transitional and administrative states onto the socket’s', () => {
    const text = [
      '# pxname,svname,status,addr',
      'b,s1,UP 1/2,10.0.0.1:5432',
      'b,s2,DOWN 1/2,10.0.0.2:5432',
      'b,s3,MAINT (via b/x),10.0.0.3:5432',
      'b,s4,DRAIN,10.0.0.4:5432',
      'b,s5,NOLB,10.0.0.5:5432',
      'b,s6,no check,[fd00::6]:5432',
    ].join('\n');
    expect(parseStatsCsv(text).map((s) => [s.server, s.state, s.address])).toEqual([
      ['s1', 'UP', '10.0.0.1'],
      ['s2', 'DOWN', '10.0.0.2'],
      ['s3', 'MAINT', '10.0.0.3'],
      ['s4', 'DRAIN', '10.0.0.4'],
      ['s5', 'DRAIN', '10.0.0.5'],
      ['s6', 'UP', 'fd00::6'],
    ]);
  });

  it('nothing to read without a header', () => {
    expect(parseStatsCsv('')).toEqual([]);
    expect(parseStatsCsv('<html>503 Service Unavailable</html>')).toEqual([]);
  });
});
