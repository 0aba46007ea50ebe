/**
 * The layering of docs/architecture.md#variables-and-layers as it reaches the rendered files: deep merge across variable layers,
 * lists replacing, nulls removing sections and nested keys in every file, and instance overrides
 * reaching every file that depends on them.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ClusterConfig, DesiredFile, Vars } from '../../src/model/types.js';
import { resolveCluster } from '../../src/model/resolve.js';
import { renderCluster } from '../../src/render/index.js';
import { fakeInputs } from '../golden/inputs.js';

interface Layers {
  cluster?: Vars;
  defaults?: Vars;
  pg2?: Vars;
  extra?: Vars;
}

function config(l: Layers): ClusterConfig {
  return {
    architecture: 'M1',
    cluster_name: 'c1',
    cluster_vars: { patroni_ssl_enabled: true, etcd_ssl_enabled: true, etcd_authentication_mode: 'basic', ...l.cluster },
    locations: [{ Name: 'main' }],
    instance_defaults: { platform: 'bare', vars: l.defaults ?? {} },
    instances: [
      { Name: 'pg1', node: 1, location: 'main', role: ['primary', 'etcd', 'pgbouncer'], ip_address: '10.0.0.1' },
      { Name: 'pg2', node: 2, location: 'main', role: ['replica', 'etcd', 'pgbouncer'], ip_address: '10.0.0.2', vars: l.pg2 ?? {} },
      { Name: 'pg3', node: 3, location: 'main', role: ['replica', 'etcd', 'pgbouncer'], ip_address: '10.0.0.3' },
      { Name: 'lb', node: 4, location: 'main', role: ['haproxy'], ip_address: '10.0.0.9' },
    ],
  };
}

function render(l: Layers = {}, leader?: string): Map<string, DesiredFile[]> {
  const cluster = resolveCluster(config(l), l.extra ?? {});
  return renderCluster(cluster, fakeInputs(cluster), { leader });
}

function file(files: Map<string, DesiredFile[]>, host: string, path: string): string {
  const f = files.get(host)?.find((x) => x.path === path);
  if (!f) throw new Error(`${host}:${path} not rendered`);
  return f.content;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed YAML document, read field by field; a wrong shape fails the assertion
type Doc = any;
const patroni = (l: Layers = {}, host = 'pg1'): Doc => parse(file(render(l), host, '/etc/patroni/c1.yml'), { version: '1.1' });
const etcd = (l: Layers = {}, host = 'pg1'): Doc => parse(file(render(l), host, '/etc/etcd/pgha.conf.yml'));
const haproxy = (l: Layers = {}): string => file(render(l), 'lb', '/etc/haproxy/haproxy.cfg');
const pgbouncer = (l: Layers = {}, host = 'pg1'): string => file(render(l), host, '/etc/pgbouncer/pgbouncer.ini');

describe('patroni file', () => {
  it('PostgreSQL listens on the member address and 127.0.0.1, or where postgres_listen_addresses says', () => {
    expect(patroni().postgresql.listen).toBe('10.0.0.1,127.0.0.1:5432');
    expect(patroni({ cluster: { postgres_listen_addresses: '*' } }).postgresql.listen).toBe('*:5432');
    expect(patroni({ pg2: { postgres_listen_addresses: '10.0.0.2,10.9.9.9,127.0.0.1' } }, 'pg2').postgresql.listen).toBe(
      '10.0.0.2,10.9.9.9,127.0.0.1:5432',
    );
  });
  it('replication, rewind and superuser connections verify the server against the cluster CA', () => {
    const auth = patroni().postgresql.authentication;
    for (const user of ['superuser', 'replication', 'rewind']) {
      expect(auth[user]).toMatchObject({ sslmode: 'verify-full', sslrootcert: '/etc/patroni/ssl/ca.crt' });
    }
    // Without TLS on PostgreSQL there is nothing to verify, and verify-full would never connect.
    const plain = patroni({ cluster: { patroni_ssl_enabled: false } }).postgresql.authentication;
    expect(plain.replication.sslmode).toBeUndefined();
  });
  it('merges patroni_conf_settings deeply across layers, instance last', () => {
    const doc = patroni(
      {
        cluster: { patroni_conf_settings: { restapi: { request_queue_size: 7 }, postgresql: { parameters: { work_mem: '8MB' } } } },
        defaults: { patroni_conf_settings: { postgresql: { parameters: { work_mem: '16MB', jit: 'off' } } } },
        pg2: { patroni_conf_settings: { postgresql: { parameters: { jit: 'on' } } } },
      },
      'pg2',
    );
    expect(doc.restapi.request_queue_size).toBe(7);
    expect(doc.restapi.listen).toBe('10.0.0.2:8008'); // generated keys survive
    expect(doc.postgresql.parameters).toMatchObject({ work_mem: '16MB', jit: 'on', unix_socket_directories: '/var/run/postgresql' });
  });

  it('-e is the highest layer', () => {
    const doc = patroni({
      cluster: { patroni_conf_settings: { log: { level: 'DEBUG' } } },
      extra: { patroni_conf_settings: { log: { level: 'WARNING' } } },
    });
    expect(doc.log).toEqual({ level: 'WARNING' });
  });

  it('replaces lists instead of merging them', () => {
    const doc = patroni({ cluster: { patroni_conf_settings: { postgresql: { pg_hba: ['local all all peer'] } } } });
    expect(doc.postgresql.pg_hba).toEqual(['local all all peer']);
    expect(doc.bootstrap.pg_hba).toEqual(['local all all peer']);
  });

  it.each([
    ['a whole section', { log: null }, (d: Doc) => expect(d).not.toHaveProperty('log')],
    [
      'a nested key',
      { restapi: { allowlist: null } },
      (d: Doc) => {
        expect(d.restapi).not.toHaveProperty('allowlist');
        expect(d.restapi.allowlist_include_members).toBe(true);
      },
    ],
    ['a generated feature block', { postgresql: { callbacks: null } }, (d: Doc) => expect(d.postgresql).not.toHaveProperty('callbacks')],
    [
      'a deep key',
      { postgresql: { authentication: { rewind: null } } },
      (d: Doc) => {
        expect(d.postgresql.authentication).not.toHaveProperty('rewind');
        expect(d.postgresql.authentication).toHaveProperty('superuser');
      },
    ],
  ])('null removes %s', (_what, settings, check) => {
    check(patroni({ cluster: { patroni_conf_settings: settings } }));
  });

  it("replicas are built from an immediate checkpoint; settings add to it or null it back to Patroni's spread default", () => {
    expect(patroni().postgresql.basebackup).toEqual({ checkpoint: 'fast' });
    expect(
      patroni({ cluster: { patroni_conf_settings: { postgresql: { basebackup: { 'max-rate': '100M' } } } } }).postgresql.basebackup,
    ).toEqual({ checkpoint: 'fast', 'max-rate': '100M' });
    expect(
      patroni({ cluster: { patroni_conf_settings: { postgresql: { basebackup: { checkpoint: null } } } } }).postgresql.basebackup ?? {},
    ).toEqual({});
  });

  it('a null set at a lower layer is overridden by a value at a higher one', () => {
    const doc = patroni(
      { cluster: { patroni_conf_settings: { log: null } }, pg2: { patroni_conf_settings: { log: { level: 'DEBUG' } } } },
      'pg2',
    );
    expect(doc.log).toEqual({ level: 'DEBUG' });
  });

  it('bootstrap.dcs: ttl set alone keeps the other defaults; dynamic settings win; nulls vanish', () => {
    const doc = patroni({
      cluster: {
        patroni_conf_settings: { bootstrap: { dcs: { ttl: 40, retry_timeout: 12 } } },
        patroni_dynamic_conf_settings: { retry_timeout: 15, postgresql: { parameters: { wal_keep_size: null, work_mem: '4MB' } } },
      },
    });
    expect(doc.bootstrap.dcs).toMatchObject({ ttl: 40, loop_wait: 10, retry_timeout: 15, maximum_lag_on_failover: 1048576 });
    expect(doc.bootstrap.dcs.postgresql.parameters).not.toHaveProperty('wal_keep_size');
    expect(doc.bootstrap.dcs.postgresql.parameters.work_mem).toBe('4MB');
    expect(doc.bootstrap.initdb).toBeDefined();
  });

  it('bootstrap.dcs: failsafe_mode only when the variable turns it on, on both releases', () => {
    expect(patroni().bootstrap.dcs).not.toHaveProperty('failsafe_mode');
    expect(patroni({ cluster: { failsafe_mode: false } }).bootstrap.dcs).not.toHaveProperty('failsafe_mode');
    expect(patroni({ cluster: { failsafe_mode: true } }).bootstrap.dcs.failsafe_mode).toBe(true);
    // Patroni 3.0.2 (Debian 12) knows failsafe_mode as well as 4.0 (Debian 13): it appeared in 3.0.0.
    for (const os_version of [12, 13]) {
      expect(patroni({ cluster: { os_version, failsafe_mode: true } }).bootstrap.dcs.failsafe_mode).toBe(true);
    }
  });

  it('feature blocks follow the variables', () => {
    const off = patroni({
      cluster: { patroni_ssl_enabled: false, etcd_ssl_enabled: false, etcd_authentication_mode: 'none', patroni_rewind_enabled: false },
    });
    expect(off.restapi).not.toHaveProperty('certfile');
    expect(off.restapi.authentication.username).toBe('patroni');
    expect(off.etcd3).toEqual({ hosts: ['10.0.0.1:2379', '10.0.0.2:2379', '10.0.0.3:2379'], protocol: 'http' });
    expect(off.postgresql.authentication).not.toHaveProperty('rewind');
    expect(off.postgresql.pg_hba.some((l: string) => l.startsWith('hostssl'))).toBe(false);
    expect(off).not.toHaveProperty('ctl');

    const mtls = patroni({ cluster: { patroni_authentication_mode: 'mtls', patroni_watchdog_enabled: true } });
    expect(mtls.restapi.verify_client).toBe('required');
    expect(mtls.restapi).not.toHaveProperty('authentication');
    expect(mtls.watchdog.mode).toBe('required');
    expect(mtls.postgresql.callbacks.on_role_change).toBe('/usr/local/lib/pgha/pgbouncer-follow');
    expect(mtls.etcd3).toMatchObject({ protocol: 'https', username: 'etcd_patroni', password: 'secret-of-etcd_patroni' });
    expect(mtls.postgresql.parameters.ssl).toBe('on');
    expect(mtls.postgresql.pg_hba).toContain('hostssl replication replicator 10.0.0.3/32 scram-sha-256');
    expect(mtls.postgresql.pg_hba).not.toContain('hostssl replication replicator 10.0.0.9/32 scram-sha-256');
    const dropIn = file(
      render({ cluster: { patroni_watchdog_enabled: true } }),
      'pg1',
      '/etc/systemd/system/patroni@c1.service.d/pgha.conf',
    );
    expect(dropIn).toContain('modprobe softdog');
  });

  it('keeps YAML-1.1 booleans-in-disguise as strings for PyYAML', () => {
    const text = file(render(), 'pg1', '/etc/patroni/c1.yml');
    expect(text).toContain('mode: "off"');
    expect(text).not.toMatch(/[&*]a\d/); // no YAML anchors for values used twice (pg_hba)
    expect(parse(text, { version: '1.1' }).watchdog.mode).toBe('off');
  });
});

describe('upstream: a cascading replica', () => {
  it("renders Patroni's replicatefrom tag on that member only, beside the other tags", () => {
    const c = config({});
    c.instances[2]!.upstream = 'pg2';
    const cluster = resolveCluster(c);
    const files = renderCluster(cluster, fakeInputs(cluster), {});
    const tags = (host: string): Doc => parse(file(files, host, '/etc/patroni/c1.yml'), { version: '1.1' }).tags;
    expect(tags('pg3')).toEqual({ nofailover: false, noloadbalance: false, clonefrom: false, nosync: false, replicatefrom: 'pg2' });
    expect(tags('pg2')).not.toHaveProperty('replicatefrom');
    expect(tags('pg1')).not.toHaveProperty('replicatefrom');
  });
});

describe('instance override of patroni_listen_port', () => {
  const files = render({ pg2: { patroni_listen_port: 8009 } });
  it('reaches its own Patroni file only', () => {
    expect(parse(file(files, 'pg2', '/etc/patroni/c1.yml')).restapi.listen).toBe('10.0.0.2:8009');
    expect(parse(file(files, 'pg1', '/etc/patroni/c1.yml')).restapi.listen).toBe('10.0.0.1:8008');
  });
  it("reaches HAProxy's check for that server", () => {
    const cfg = file(files, 'lb', '/etc/haproxy/haproxy.cfg');
    expect(cfg).toMatch(/server pg2 10\.0\.0\.2:5432 check port 8009 /);
    expect(cfg).toMatch(/server pg1 10\.0\.0\.1:5432 check port 8008 /);
  });
  it("reaches every PgBouncer follower's list of APIs", () => {
    expect(JSON.parse(file(files, 'pg1', '/etc/pgbouncer/pgha-follow.json')).apis).toEqual([
      'https://10.0.0.1:8008',
      'https://10.0.0.2:8009',
      'https://10.0.0.3:8008',
    ]);
  });
});

describe('haproxy.cfg', () => {
  it('has the fast defaults, and TPA timings are expressible', () => {
    expect(haproxy()).toContain(
      'default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 1 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions',
    );
    const tpa = haproxy({
      cluster: { haproxy_conf_settings: { default_server: { inter: '3s', fall: 3, rise: 2, fastinter: null, downinter: null } } },
    });
    expect(tpa).toContain('default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions');
  });
  it('null removes a directive, a server option, a server, a section', () => {
    const cfg = haproxy({
      cluster: {
        haproxy_conf_settings: {
          global: { 'ssl-server-verify': null },
          backends: { pgha_rw: { servers: { pg3: null, pg2: { verifyhost: null } } } },
          default_server: null,
        },
      },
    });
    expect(cfg).not.toContain('ssl-server-verify');
    expect(cfg).not.toContain('server pg3');
    expect(cfg).toMatch(/server pg2 [^\n]*ca-file \/etc\/haproxy\/ssl\/ca\.crt\n/);
    expect(cfg).not.toContain('default-server');
  });
  it('lists replace, new keys append, false omits', () => {
    const cfg = haproxy({
      cluster: {
        haproxy_conf_settings: {
          global: { log: ['127.0.0.1 local2'], 'tune.ssl.default-dh-param': 2048 },
          defaults: { 'option tcplog': false },
        },
      },
    });
    expect(cfg.match(/^ {4}log /gm)).toHaveLength(2); // global's one line + defaults' `log global`
    expect(cfg).toContain('    log 127.0.0.1 local2\n');
    expect(cfg).toContain('    tune.ssl.default-dh-param 2048\n');
    expect(cfg).not.toContain('option tcplog');
  });
  it('users can add whole sections, e.g. a stats page', () => {
    const cfg = haproxy({
      cluster: {
        haproxy_conf_settings: { listens: { stats: { bind: '127.0.0.1:7000', mode: 'http', 'stats enable': true, 'stats uri': '/' } } },
      },
    });
    expect(cfg).toContain('\nlisten stats\n    bind 127.0.0.1:7000\n    mode http\n    stats enable\n    stats uri /\n');
  });
  it('read-only frontend with lag only when asked', () => {
    expect(haproxy()).not.toContain('/replica');
    const ro = haproxy({ cluster: { haproxy_read_only_load_balancer_enabled: true, patroni_repl_max_lag: 1048576 } });
    expect(ro).toContain('http-check send meth OPTIONS uri /replica?lag=1048576');
    expect(ro).toContain('bind *:5433');
    expect(haproxy({ cluster: { haproxy_read_only_load_balancer_enabled: true } })).toContain('uri /replica\n');
  });
  it('mtls adds the client certificate to every check', () => {
    const files = render({ cluster: { patroni_authentication_mode: 'mtls' } });
    expect(file(files, 'lb', '/etc/haproxy/haproxy.cfg')).toMatch(/verifyhost pg1 crt \/etc\/haproxy\/ssl\/haproxy\.pem/);
    const pem = files.get('lb')?.find((f) => f.path === '/etc/haproxy/ssl/haproxy.pem');
    expect(pem).toMatchObject({ sensitive: true, owner: 'root', group: 'root', mode: 0o600 });
  });
});

describe('pgbouncer.ini', () => {
  it('merges settings and null removes a key or a whole section', () => {
    const ini = pgbouncer({
      cluster: {
        pgbouncer_conf_settings: { pgbouncer: { pool_mode: 'transaction', stats_users: null }, users: { app: 'pool_mode=session' } },
      },
    });
    expect(ini).toContain('pool_mode = transaction\n');
    expect(ini).not.toContain('stats_users');
    expect(ini).toContain('[users]\napp = pool_mode=session\n');
    expect(pgbouncer({ cluster: { pgbouncer_conf_settings: { pgbouncer: null } } })).not.toContain('[pgbouncer]');
  });
  it('includes the databases file that points at the primary, or the live leader', () => {
    expect(pgbouncer()).toContain('%include /etc/pgbouncer/pgha-databases.ini');
    expect(file(render(), 'pg3', '/etc/pgbouncer/pgha-databases.ini')).toContain('* = host=10.0.0.1 port=5432\n');
    expect(file(render({}, 'pg2'), 'pg3', '/etc/pgbouncer/pgha-databases.ini')).toContain('* = host=10.0.0.2 port=5432\n');
  });
});

describe('etcd config', () => {
  it('keeps the node certificate and cluster CA for peers in a directory from before etcd had its peer CA', () => {
    const cluster = resolveCluster(config({}), {});
    const inputs = fakeInputs(cluster);
    delete inputs.pki.etcdPeer;
    const files = renderCluster(cluster, inputs, {}).get('pg1')!;
    const doc = parse(files.find((f) => f.path === '/etc/etcd/pgha.conf.yml')!.content);
    expect(doc['peer-transport-security']).toEqual({
      'cert-file': '/etc/etcd/ssl/node.crt',
      'key-file': '/etc/etcd/ssl/node.key',
      'trusted-ca-file': '/etc/etcd/ssl/ca.crt',
      'client-cert-auth': true,
    });
    expect(files.some((f) => f.path.startsWith('/etc/etcd/ssl/peer'))).toBe(false);
  });
  it('has a member present its node certificate while a rotation brings the peer CA in (no peer certificate yet)', () => {
    const cluster = resolveCluster(config({}), {});
    const inputs = fakeInputs(cluster);
    inputs.pki.etcdPeer = { caCert: 'BOTH CAS\n', nodes: {} };
    const files = renderCluster(cluster, inputs, {}).get('pg1')!;
    expect(files.find((f) => f.path === '/etc/etcd/ssl/peer.crt')!.content).toContain('FAKE CERTIFICATE FOR pg1\n');
    expect(files.find((f) => f.path === '/etc/etcd/ssl/peer-ca.crt')!.content).toBe('BOTH CAS\n');
  });
  it('merges etcd_conf_settings; null removes a key or a section', () => {
    const doc = etcd({
      cluster: { etcd_conf_settings: { 'heartbeat-interval': 250, 'enable-v2': null, 'client-transport-security': null } },
    });
    expect(doc['heartbeat-interval']).toBe(250);
    expect(doc).not.toHaveProperty('enable-v2');
    expect(doc).not.toHaveProperty('client-transport-security');
    expect(doc['peer-transport-security']['client-cert-auth']).toBe(true);
  });
  it('lists every member and uses TLS URLs when etcd_ssl_enabled', () => {
    const doc = etcd({}, 'pg2');
    expect(doc['initial-cluster']).toBe('pg1=https://10.0.0.1:2380,pg2=https://10.0.0.2:2380,pg3=https://10.0.0.3:2380');
    expect(doc['listen-client-urls']).toBe('https://10.0.0.2:2379,https://127.0.0.1:2379');
    expect(doc['auth-token']).toBe('simple');
    expect(doc['enable-grpc-gateway']).toBe(true); // Patroni's etcd3 client needs it
    // etcd 3.4 requires client certificates whenever a client CA is configured.
    expect(doc['client-transport-security']).toEqual({
      'cert-file': '/etc/etcd/ssl/node.crt',
      'key-file': '/etc/etcd/ssl/node.key',
      'client-cert-auth': false,
    });
    const certAuth = etcd({ cluster: { etcd_authentication_mode: 'none' } });
    expect(certAuth['client-transport-security']).toMatchObject({ 'trusted-ca-file': '/etc/etcd/ssl/ca.crt', 'client-cert-auth': true });
    // The peer port trusts etcd's own peer CA, and a member presents its peer certificate.
    expect(doc['peer-transport-security']).toEqual({
      'cert-file': '/etc/etcd/ssl/peer.crt',
      'key-file': '/etc/etcd/ssl/peer.key',
      'trusted-ca-file': '/etc/etcd/ssl/peer-ca.crt',
      'client-cert-auth': true,
    });
    const files = render().get('pg2')!;
    const at = (path: string) => files.find((f) => f.path === path);
    expect(at('/etc/etcd/ssl/peer-ca.crt')!.content).toContain('FAKE CERTIFICATE FOR pgha-etcd-peer-ca');
    expect(at('/etc/etcd/ssl/peer.crt')!.content).toContain('FAKE CERTIFICATE FOR pg2 etcd peer');
    expect(at('/etc/etcd/ssl/peer.key')).toMatchObject({ owner: 'etcd', mode: 0o600, sensitive: true });
    expect(
      render()
        .get('lb')!
        .some((f) => f.path.startsWith('/etc/etcd/')),
    ).toBe(false);
    const plain = etcd({ cluster: { etcd_ssl_enabled: false, etcd_authentication_mode: 'none' } });
    expect(plain['listen-peer-urls']).toBe('http://10.0.0.1:2380');
    expect(plain).not.toHaveProperty('client-transport-security');
  });
});
