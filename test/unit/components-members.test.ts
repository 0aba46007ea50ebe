/**
 * What each component declares beyond its files: where clients connect (`entryPoints`), as
 * deploy's closing lines print them and as the switchover probes writes through them; what deploy
 * sets up inside the running cluster (`clusterSteps`); the passwords and certificates it needs in
 * the cluster directory (`secretNames`, `clientIdentities`, `dialsWithHostCert`).
 */
import { describe, expect, it } from 'vitest';
import { haproxy } from '../../src/components/haproxy/index.js';
import { pgbouncer } from '../../src/components/pgbouncer/index.js';
import { readStatusSections, statusSectionLines } from '../../src/components/status.js';
import type { HostState } from '../../src/components/health.js';
import { COMPONENTS, entryPointsOn } from '../../src/components/registry.js';
import { clientEndpoints } from '../../src/app/deploy/index.js';
import { clusterSecretNames, openEtcdClientWarnings, pkiWanted, type LoadedCluster } from '../../src/app/cluster-dir.js';
import { writeEndpoints, type Live } from '../../src/app/verbs/live.js';
import { loadExample } from '../golden/inputs.js';

const host = (cluster: ReturnType<typeof loadExample>, name: string) => cluster.hosts.find((h) => h.name === name)!;
const loaded = (cluster: ReturnType<typeof loadExample>) => ({ cluster }) as unknown as LoadedCluster;

describe('entryPoints', () => {
  it("HAProxy: its read-write port, the read-only one when that frontend is on; the CA's chain verified under TLS", () => {
    const demo = loadExample('m1-haproxy-nspawn');
    expect(haproxy.entryPoints!(host(demo, 'proxy1'))).toEqual([{ kind: 'read-write', port: 5432, label: 'HAProxy', tls: 'verify-ca' }]);
    const ro = loadExample('m1-haproxy-nspawn', { haproxy_read_only_load_balancer_enabled: true, patroni_ssl_enabled: false });
    expect(haproxy.entryPoints!(host(ro, 'proxy1'))).toEqual([
      { kind: 'read-write', port: 5432, label: 'HAProxy' },
      { kind: 'read-only', port: 5433, label: 'HAProxy' },
    ]);
    // The synchronous-standby read frontend only when its port is set.
    const sync = loadExample('m1-haproxy-nspawn', { haproxy_sync_read_port: 5434, patroni_synchronous_mode: 'on' });
    expect(haproxy.entryPoints!(host(sync, 'proxy1'))).toEqual([
      { kind: 'read-write', port: 5432, label: 'HAProxy', tls: 'verify-ca' },
      { kind: 'read-sync', port: 5434, label: 'HAProxy', tls: 'verify-ca' },
    ]);
  });

  it("PgBouncer: its port on each data node, with the node's own name verified under TLS", () => {
    const pool = loadExample('m1-pgbouncer-bare', { pgbouncer_port: 6433 });
    expect(pgbouncer.entryPoints!(host(pool, 'db1'))).toEqual([{ kind: 'read-write', port: 6433, label: 'PgBouncer', tls: 'verify-full' }]);
    const plain = loadExample('m1-pgbouncer-bare', { patroni_ssl_enabled: false });
    expect(pgbouncer.entryPoints!(host(plain, 'db2'))).toEqual([{ kind: 'read-write', port: 6432, label: 'PgBouncer' }]);
  });

  it('only the components a host runs contribute, and only proxies declare any', () => {
    const demo = loadExample('m1-haproxy-nspawn');
    expect(entryPointsOn(demo, host(demo, 'pg1'))).toEqual([]);
    expect(COMPONENTS.filter((c) => c.entryPoints !== undefined).map((c) => c.name)).toEqual(['pgbouncer', 'haproxy']);
  });

  it("deploy's closing lines, in the words README shows", () => {
    expect(clientEndpoints(loaded(loadExample('m1-overrides')))).toEqual([
      'read-write: host=10.30.0.21 port=5432 (HAProxy on haproxy1)',
      'read-only:  host=10.30.0.21 port=5433 (HAProxy on haproxy1)',
      'read-sync:  host=10.30.0.21 port=5434 (HAProxy on haproxy1)',
    ]);
    expect(clientEndpoints(loaded(loadExample('m1-pgbouncer-bare')))).toEqual([
      'read-write: host=10.20.0.11 port=6432 (PgBouncer on db1)',
      'read-write: host=10.20.0.12 port=6432 (PgBouncer on db2)',
      'read-write: host=10.20.0.13 port=6432 (PgBouncer on db3)',
    ]);
  });

  it('the switchover probes writes through every read-write entry point, never the read-only one', () => {
    const live = (cluster: ReturnType<typeof loadExample>) => ({ loaded: loaded(cluster) }) as unknown as Live;
    expect(writeEndpoints(live(loadExample('m1-overrides')))).toEqual([
      { via: 'HAProxy on haproxy1', ip: '10.30.0.21', port: 5432, host: 'haproxy1', tls: 'verify-ca' },
    ]);
    expect(writeEndpoints(live(loadExample('m1-pgbouncer-bare', { patroni_ssl_enabled: false })))[0]).toEqual({
      via: 'PgBouncer on db1',
      ip: '10.20.0.11',
      port: 6432,
      host: 'db1',
    });
  });

  it('with a VIP, the VIP first; the HAProxy it leads to is served through it (the switchover only warns about that one)', () => {
    const live = (cluster: ReturnType<typeof loadExample>) => ({ loaded: loaded(cluster) }) as unknown as Live;
    expect(writeEndpoints(live(loadExample('m1-overrides', { vip_address: '10.30.0.250', vip_interface: 'eth0' })))).toEqual([
      { via: 'VIP, keepalived on haproxy1', ip: '10.30.0.250', port: 5432, tls: 'verify-ca' },
      { via: 'HAProxy on haproxy1', ip: '10.30.0.21', port: 5432, host: 'haproxy1', tls: 'verify-ca', servedThrough: '10.30.0.250' },
    ]);
  });
});

describe('clusterSteps', () => {
  const pool = loadExample('m1-pgbouncer-bare');
  const ctx = { secret: (name: string) => `pw-of-${name}` };

  it('PgBouncer declares its auth user, on the leader, in the words deploy --check prints (and pgBackRest its stanza, PostgreSQL the declared users and databases, postgres_exporter its role)', () => {
    expect(COMPONENTS.filter((c) => c.clusterSteps !== undefined).map((c) => c.name)).toEqual([
      'postgres',
      'pgbouncer',
      'pgbackrest',
      'postgres_exporter',
    ]);
    const [step, ...rest] = pgbouncer.clusterSteps!(pool);
    expect(rest).toEqual([]);
    expect(step).toMatchObject({ name: 'auth-user', on: { kind: 'leader' }, title: 'PgBouncer auth user' });
    expect(step!.describe(host(pool, 'db1'))).toBe('set up auth user pgbouncer_auth_user and its auth_query function on the leader');
  });

  it("check reads only and apply converges, on the host's port, the password on stdin and never in the script", () => {
    const step = pgbouncer.clusterSteps!(pool)[0]!;
    const db1 = host(pool, 'db1');
    const check = step.check(db1, ctx);
    const apply = step.apply(db1, ctx);
    expect(check.intent).toEqual({ kind: 'pgbouncer-auth-user', user: 'pgbouncer_auth_user', checkOnly: true });
    expect(apply.intent).toEqual({ kind: 'pgbouncer-auth-user', user: 'pgbouncer_auth_user', checkOnly: false });
    for (const cmd of [check, apply]) {
      expect(cmd.script).toContain('-p 5432');
      expect(cmd.script).not.toContain('pw-of-pgbouncer_auth_user');
      expect(cmd.secrets).toContain('pw-of-pgbouncer_auth_user');
    }
    // The check writes nothing: no CREATE in what it feeds psql, no function SQL in its script.
    expect(check.stdin).not.toMatch(/CREATE|ALTER/);
    expect(check.script).not.toContain('CREATE SCHEMA');
    expect(apply.script).toContain('CREATE SCHEMA IF NOT EXISTS pgbouncer');
  });
});

describe('status', () => {
  const demo = loadExample('m1-haproxy-nspawn');
  const pool = loadExample('m1-pgbouncer-bare');
  const view = { memberAt: new Map([['10.20.0.11', 'db1']]), leader: 'db1' };
  const SERVERS = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state
3 pgha_rw 1 pg1 10.10.0.11 2 0
3 pgha_rw 2 pg2 10.10.0.12 0 0
`;
  const state = (h: HostState['host'], parts: Record<string, string>): HostState => ({
    host: h,
    parts: new Map(Object.entries(parts).map(([k, text]) => [k, { text, rc: 0 }])),
  });

  it("HAProxy: the servers and who gets writes; the table's line per proxy", () => {
    const entry = haproxy.status.read(state(host(demo, 'proxy1'), { haproxy: SERVERS }), view);
    expect(entry).toMatchObject({ host: 'proxy1', reachable: true, writesTo: ['pg1'] });
    expect(haproxy.status.lines([entry, { host: 'proxy2', reachable: false, servers: [], writesTo: [], error: 'timed out' }])).toEqual([
      'HAProxy proxy1: pgha_rw pg1 UP, pg2 DOWN',
      'HAProxy proxy2: unreachable: timed out',
    ]);
  });

  it('PgBouncer: its target named by member, and whether that is the leader', () => {
    const ini = '[databases]\n* = host=10.20.0.11 port=5432\n';
    const entry = pgbouncer.status.read(state(host(pool, 'db2'), { pgbouncer: ini }), view);
    expect(entry).toEqual({
      host: 'db2',
      reachable: true,
      target: { host: '10.20.0.11', port: 5432 },
      targetMember: 'db1',
      pointsAtLeader: true,
    });
    expect(pgbouncer.status.lines([entry, { ...entry, host: 'db3', targetMember: null, pointsAtLeader: false }])).toEqual([
      'PgBouncer db2: → 10.20.0.11:5432 (db1, the leader)',
      'PgBouncer db3: → 10.20.0.11:5432 (not a member)',
    ]);
  });

  it('every section is present, in name order, each with the hosts running its component', () => {
    const states = demo.hosts.map((h) => state(h, h.name === 'proxy1' ? { haproxy: SERVERS } : {}));
    const sections = readStatusSections(demo, states, view);
    expect(Object.keys(sections)).toEqual(['haproxy', 'keepalived', 'pgbackrest', 'pgbouncer', 'prometheus']);
    expect(sections.haproxy.map((e) => e.host)).toEqual(['proxy1']);
    // No repository host in this cluster: pgBackRest's section is empty and prints no line.
    expect(sections.pgbackrest).toEqual([]);
    expect(sections.pgbouncer).toEqual([]);
    expect(sections.prometheus).toEqual([]);
    expect(statusSectionLines(sections)).toEqual(['HAProxy proxy1: pgha_rw pg1 UP, pg2 DOWN']);
  });
});

describe('the material in the cluster directory', () => {
  const declaring = (member: 'secretNames' | 'clientIdentities' | 'dialsWithHostCert') =>
    COMPONENTS.filter((c) => c[member] !== undefined).map((c) => c.name);

  it('each piece is declared by the component that uses it', () => {
    expect(declaring('secretNames')).toEqual(['etcd', 'patroni', 'postgres', 'pgbouncer']);
    expect(declaring('clientIdentities')).toEqual(['haproxy']);
    expect(declaring('dialsWithHostCert')).toEqual(['etcd', 'patroni', 'pgbouncer', 'pgbackrest', 'prometheus']);
  });

  it("secrets: Patroni's users as named, etcd's with basic auth only, PgBouncer's auth user where it runs", () => {
    expect(clusterSecretNames(loadExample('m1-pgbouncer-bare', { patroni_super_user: 'dba', pgbouncer_auth_user: 'pb' }))).toEqual([
      'dba',
      'etcd_patroni',
      'etcd_root',
      'patroni',
      'pb',
      'replicator',
      'rewind',
    ]);
    expect(clusterSecretNames(loadExample('m1-haproxy-nspawn', { etcd_authentication_mode: 'none' }))).toEqual([
      'patroni',
      'postgres',
      'replicator',
      'rewind',
    ]);
    expect(pgbouncer.secretNames!(loadExample('m1-haproxy-nspawn'))).toEqual([]);
  });

  it("client identities: pgha's always, HAProxy's under mtls", () => {
    expect(pkiWanted(loadExample('m1-overrides')).clients).toEqual(['haproxy', 'pgha']);
    expect(pkiWanted(loadExample('m1-overrides', { patroni_authentication_mode: 'basic' })).clients).toEqual(['pgha']);
  });

  it('host certificates allow client use where a component dials with them: data nodes, etcd members, the repository host', () => {
    const clientUse = (cluster: ReturnType<typeof loadExample>) =>
      Object.fromEntries(pkiWanted(cluster).hosts.map((h) => [h.name, !h.serverOnly]));
    expect(clientUse(loadExample('m1-pgbackrest-debian12'))).toEqual({ pg1: true, pg2: true, pg3: true, proxy1: false, backup1: true });
    expect(clientUse(loadExample('m1-pgbouncer-bare'))).toMatchObject({ db1: true, etcd1: true });
  });

  it("etcd peer certificates go to etcd members only; without etcd RBAC, deploy names the other hosts whose certificates etcd's client port would admit", () => {
    const backup = loadExample('m1-pgbackrest-debian12', { etcd_authentication_mode: 'none' });
    expect(pkiWanted(backup).etcdPeers).toEqual(['pg1', 'pg2', 'pg3']);
    expect(openEtcdClientWarnings(backup, pkiWanted(backup))).toEqual([
      expect.stringMatching(
        /^etcd_authentication_mode: none: etcd admits the certificates of backup1 \(cluster CA, client use\) .* set etcd_authentication_mode: basic/,
      ),
    ]);
    const rbac = loadExample('m1-pgbackrest-debian12', { etcd_authentication_mode: 'basic' });
    expect(openEtcdClientWarnings(rbac, pkiWanted(rbac))).toEqual([]);
    // Only members and the server-only proxy: nothing beyond what must reach the DCS anyway.
    const plain = loadExample('m1-haproxy-nspawn', { etcd_authentication_mode: 'none' });
    expect(openEtcdClientWarnings(plain, pkiWanted(plain))).toEqual([]);
  });
});
