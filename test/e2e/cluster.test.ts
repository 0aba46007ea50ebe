/**
 * The whole cluster on real hosts: configure → provision (nspawn) → download-packages → deploy,
 * then independent probes (patronictl on a node, psql through HAProxy, etcd's gateway, the REST
 * API from outside the allowlist), idempotency, variable changes, and a deploy after a
 * switchover done behind pgha's back. The containers are removed even when a test fails.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { clusterSecrets, e2eSuiteCanRun, removeStaleCluster, pgha, pghaOk, psql, ssh, sshOk, removeTestCluster } from './harness.js';
import { ProxyWriter } from './probes.js';

const canRun = e2eSuiteCanRun('cluster');

const CLUSTER = 'e2eha';
const SUBNET = '10.232.1';
const PG1 = `${SUBNET}.11`;
const PG2 = `${SUBNET}.12`;
const PG3 = `${SUBNET}.13`;
const PROXY = `${SUBNET}.14`;
const NODES = [PG1, PG2, PG3];

interface PatronictlMember {
  Member: string;
  Role: string;
  State: string;
  'Lag in MB'?: number | string;
}

/** The action lines after `header` (`pending changes:` or `applied:`), up to the client endpoints. */
function planLines(stdout: string, header: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf(header);
  if (start < 0) return [];
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l === '' || /^(read-write|read-only):|^ssh round trips/.test(l));
  return rest.slice(0, end < 0 ? rest.length : end).filter((l) => !/^ {4}/.test(l));
}

describe.skipIf(!canRun)('cluster on nspawn: M1 + HAProxy', () => {
  let root = '';
  let dir = '';
  const outputs: string[] = [];

  const patronictl = (ip = PG1): PatronictlMember[] =>
    JSON.parse(sshOk(dir, ip, `patronictl -c /etc/patroni/${CLUSTER}.yml list -f json`)) as PatronictlMember[];
  const leaderName = () => patronictl().find((m) => m.Role === 'Leader')?.Member;
  const secret = (name: string) => readFileSync(join(dir, 'secrets', name), 'utf8').trim();
  const ca = () => readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8');
  /** A POST to etcd's v3 JSON gateway on pg1, its certificate verified by `dispatcher`. */
  const etcdPost = async (dispatcher: Agent, path: string, body: object, token?: string) => {
    const res = await request(`https://${PG1}:2379${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: token ? { authorization: token } : {},
      dispatcher,
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    await removeStaleCluster(CLUSTER);
    root = mkdtempSync(join(tmpdir(), 'pgha-e2e-'));
    dir = join(root, CLUSTER);
    outputs.push(
      (await pghaOk(['configure', dir, '-a', 'M1', '--enable-patroni', '--enable-haproxy', '--subnet', `${SUBNET}.0/24`])).stdout,
    );
    const timed = async (what: string, args: string[]) => {
      const t0 = Date.now();
      const r = await pghaOk(args);
      // Figures for the notes, not assertions (timings belong in benchmarks).
      process.stdout.write(`[figure] ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      outputs.push(r.stdout, r.stderr);
    };
    await timed('download-packages', ['download-packages', dir]);
    await timed('provision (4 containers)', ['provision', dir]);
    await timed('cold deploy (3 data nodes + HAProxy)', ['deploy', dir]);
  }, 30 * 60_000);

  afterAll(async () => {
    await removeTestCluster(dir, root);
  }, 5 * 60_000);

  it('forms one cluster: a leader and two replicas streaming with no lag (patronictl on a node)', async () => {
    // Deploy waits until replicas are within maximum_lag_on_failover; give replay a moment to finish.
    let members = patronictl(PG2);
    for (let i = 0; i < 30 && members.some((m) => Number(m['Lag in MB'] ?? 0) > 0); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      members = patronictl(PG2);
    }
    expect(members.map((m) => m.Member).sort()).toEqual(['pg1', 'pg2', 'pg3']);
    expect(members.filter((m) => m.Role === 'Leader').map((m) => m.Member)).toEqual(['pg1']);
    for (const m of members.filter((x) => x.Role !== 'Leader')) {
      expect(m.Role).toBe('Replica');
      expect(['running', 'streaming']).toContain(m.State);
      expect(Number(m['Lag in MB'] ?? 0)).toBe(0);
    }
  });

  it("runs Debian 13's stack, and the configs pgha rendered pass Patroni 4.0.7's --validate-config and HAProxy 3.0's haproxy -c", () => {
    for (const ip of [...NODES, PROXY]) expect(sshOk(dir, ip, '. /etc/os-release && echo $VERSION_CODENAME').trim()).toBe('trixie');
    for (const ip of NODES) {
      expect(sshOk(dir, ip, 'patroni --version').trim()).toBe('patroni 4.0.7');
      // As Patroni's own user (the config names files only it may read); the listen ports are its own, in use.
      const v = ssh(
        dir,
        ip,
        `cd /tmp && runuser -u postgres -- patroni --validate-config --ignore-listen-port /etc/patroni/${CLUSTER}.yml`,
      );
      expect(v.code, `${ip}: ${v.stdout}${v.stderr}`).toBe(0);
    }
    expect(sshOk(dir, PROXY, 'haproxy -v')).toMatch(/^HAProxy version 3\.0\./);
    const h = ssh(dir, PROXY, 'haproxy -c -f /etc/haproxy/haproxy.cfg');
    expect(h.code, `${h.stdout}${h.stderr}`).toBe(0);
    // HAProxy 3.0 says nothing when the file is valid; a warning would be printed as [WARNING].
    expect(`${h.stdout}${h.stderr}`).not.toMatch(/\[(WARNING|ALERT)\]/);
    const v = psql(`host=${PROXY} port=5432 user=postgres dbname=postgres sslmode=require`, 'select version()', secret('postgres'));
    expect(v.stdout).toMatch(/^PostgreSQL 17\./);
  });

  it("replicas were built from an immediate checkpoint on the leader (Patroni took pgha's basebackup options)", () => {
    const log = sshOk(dir, PG1, `journalctl -u patroni@${CLUSTER} --no-pager -o cat`);
    const starts = log.split('\n').filter((l) => /checkpoint starting: .*force wait/.test(l));
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.filter((l) => !l.includes('immediate'))).toEqual([]);
  });

  it('routes writes through HAProxy to the leader', () => {
    const r = psql(
      `host=${PROXY} port=5432 user=postgres dbname=postgres sslmode=require`,
      'select pg_is_in_recovery()',
      secret('postgres'),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('f');
  });

  it("HAProxy's health checks leave no tracebacks in Patroni's journal", async () => {
    // A GET check's body used to reach a socket HAProxy had already closed: Patroni logged a
    // traceback for ~16 checks a minute per node. Let a few check rounds pass first.
    await new Promise((r) => setTimeout(r, 6000));
    for (const ip of NODES) {
      const log = sshOk(dir, ip, `journalctl -u patroni@${CLUSTER} --no-pager -o cat`);
      expect(log).toContain('no action');
      expect(log.split('\n').filter((l) => l.includes(`processing of request from ${PROXY}`))).toEqual([]);
    }
  });

  it('etcd refuses anonymous reads and confines Patroni to its prefix', async () => {
    const dispatcher = new Agent({ connect: { ca: ca(), servername: 'pg1' } });
    const post = (path: string, body: object, token?: string) => etcdPost(dispatcher, path, body, token);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const anonymous = await post('/v3/kv/range', { key: b64(`/pgha/${CLUSTER}/leader`) });
    expect(anonymous.status).not.toBe(200);
    expect(JSON.stringify(anonymous.body)).toMatch(/user name is empty|permission denied/i);

    const auth = await post('/v3/auth/authenticate', { name: 'etcd_patroni', password: secret('etcd_patroni') });
    expect(auth.status).toBe(200);
    const token = String(auth.body.token);
    const inside = await post('/v3/kv/range', { key: b64(`/pgha/${CLUSTER}/leader`) }, token);
    expect(inside.status).toBe(200);
    const outside = await post('/v3/kv/put', { key: b64('/elsewhere/x'), value: b64('1') }, token);
    expect(JSON.stringify(outside.body)).toMatch(/permission denied/i);
    // The trailing slash matters: a sibling cluster's prefix is outside too.
    const sibling = await post('/v3/kv/put', { key: b64(`/pgha/${CLUSTER}x/y`), value: b64('1') }, token);
    expect(JSON.stringify(sibling.body)).toMatch(/permission denied/i);
    await dispatcher.close();
  });

  it('REST API: 403 for writes from outside the allowlist, 401 for a wrong password, no plain HTTP', async () => {
    const dispatcher = new Agent({ connect: { ca: ca(), servername: 'pg2' } });
    const auth = `Basic ${Buffer.from(`patroni:${secret('patroni')}`).toString('base64')}`;
    const fromController = await request(`https://${PG2}:8008/reload`, {
      method: 'POST',
      headers: { authorization: auth },
      body: '{}',
      dispatcher,
    });
    await fromController.body.text();
    expect(fromController.statusCode).toBe(403);
    await dispatcher.close();

    // From a member (inside the allowlist) with a wrong password: 401. curl is not on the
    // hosts; python3 is (Patroni needs it).
    const script = `import ssl,urllib.request,base64
ctx=ssl.create_default_context(cafile='/etc/patroni/ssl/ca.crt')
req=urllib.request.Request('https://${PG2}:8008/reload',data=b'{}',method='POST',headers={'Authorization':'Basic '+base64.b64encode(b'patroni:wrong').decode()})
try:
    print(urllib.request.urlopen(req,context=ctx).status)
except urllib.error.HTTPError as e:
    print(e.code)
`;
    expect(sshOk(dir, PG1, 'python3 -', script).trim()).toBe('401');

    const plain = await request(`http://${PG2}:8008/patroni`).then(
      async (r) => {
        await r.body.text();
        return r.statusCode;
      },
      (e: Error) => e.message,
    );
    expect(plain).not.toBe(200);
  });

  it('keeps private keys away from other users, on hosts and on the controller', () => {
    for (const ip of NODES) {
      const modes = sshOk(dir, ip, 'stat -c "%a %U %n" /etc/patroni/ssl/node.key /etc/etcd/ssl/node.key /etc/patroni/' + CLUSTER + '.yml');
      for (const line of modes.trim().split('\n')) expect(line).toMatch(/^600 /);
    }
    expect(statSync(join(dir, 'ssl', 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'ssh', 'id_pgha')).mode & 0o777).toBe(0o600);
  });

  it('never prints a secret', () => {
    const all = outputs.join('\n');
    for (const s of clusterSecrets(dir)) expect(all).not.toContain(s);
  });

  it('a second deploy changes nothing, restarts nothing, and --check agrees', async () => {
    const pidsBefore = NODES.map((ip) => sshOk(dir, ip, `systemctl show -p MainPID --value patroni@${CLUSTER}`).trim());
    const t0 = Date.now();
    const again = await pghaOk(['deploy', dir], 0, { env: { PGHA_REPORT_ROUNDTRIPS: '1' } });
    process.stdout.write(`[figure] no-op deploy: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    outputs.push(again.stdout, again.stderr);
    expect(again.stdout).toContain('no changes');
    const trips = JSON.parse(/ssh round trips: (.*)/.exec(again.stdout)?.[1] ?? '{}') as Record<string, number>;
    for (const n of Object.values(trips)) expect(n).toBeLessThanOrEqual(3);
    const pidsAfter = NODES.map((ip) => sshOk(dir, ip, `systemctl show -p MainPID --value patroni@${CLUSTER}`).trim());
    expect(pidsAfter).toEqual(pidsBefore);
    const check = await pgha(['deploy', dir, '--check']);
    expect(check.code).toBe(0);
  });

  it('shows a variable change with --check --diff (exit 10, hosts untouched), then applies it', async () => {
    const configPath = join(dir, 'config.yml');
    const original = readFileSync(configPath, 'utf8');
    const doc = parse(original) as { cluster_vars: Record<string, unknown> };
    doc.cluster_vars.patroni_dynamic_conf_settings = { postgresql: { parameters: { work_mem: '8MB', max_connections: 150 } } };
    doc.cluster_vars.haproxy_conf_settings = { defaults: { 'timeout client': '31m' } };
    writeFileSync(configPath, stringify(doc));

    const check = await pgha(['deploy', dir, '--check', '--diff']);
    outputs.push(check.stdout, check.stderr);
    expect(check.code).toBe(10);
    expect(check.stdout).toContain('haproxy.cfg');
    expect(check.stdout).toMatch(/^\s*\+\s*timeout client 31m/m);
    expect(check.stdout).toContain('work_mem');
    expect(sshOk(dir, PROXY, 'cat /etc/haproxy/haproxy.cfg')).not.toContain('31m');

    // First the HAProxy change alone, with a client session open through HAProxy across it.
    const dcsChange = doc.cluster_vars.patroni_dynamic_conf_settings;
    delete doc.cluster_vars.patroni_dynamic_conf_settings;
    writeFileSync(configPath, stringify(doc));
    const haproxyPid = sshOk(dir, PROXY, 'systemctl show -p MainPID --value haproxy').trim();
    const session = new Promise<{ code: number | null; out: string }>((resolveSession) => {
      const child = spawn(
        'psql',
        ['-X', '-At', '-c', 'select pg_sleep(12), 42', `host=${PROXY} port=5432 user=postgres dbname=postgres sslmode=require`],
        {
          env: { ...process.env, PGPASSWORD: secret('postgres') },
        },
      );
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code) => resolveSession({ code, out }));
    });
    await new Promise((r) => setTimeout(r, 1500));
    // The plan names the reload, and the real run does exactly what the plan said.
    const haproxyPlan = await pgha(['deploy', dir, '--check']);
    outputs.push(haproxyPlan.stdout, haproxyPlan.stderr);
    expect(haproxyPlan.code).toBe(10);
    expect(planLines(haproxyPlan.stdout, 'pending changes:')).toEqual([
      'proxy1: 2 changes',
      '  update /etc/haproxy/haproxy.cfg',
      '  reload haproxy.service',
      'proxy2: 2 changes',
      '  update /etc/haproxy/haproxy.cfg',
      '  reload haproxy.service',
    ]);
    const reloaded = await pghaOk(['deploy', dir]);
    outputs.push(reloaded.stdout, reloaded.stderr);
    expect(planLines(reloaded.stdout, 'applied:')).toEqual(planLines(haproxyPlan.stdout, 'pending changes:'));
    expect(sshOk(dir, PROXY, 'cat /etc/haproxy/haproxy.cfg')).toContain('31m');
    // A reload, not a restart: the master process stays, and the established session survives.
    expect(sshOk(dir, PROXY, 'systemctl show -p MainPID --value haproxy').trim()).toBe(haproxyPid);
    expect(await session).toEqual({ code: 0, out: '|42\n' });

    doc.cluster_vars.patroni_dynamic_conf_settings = dcsChange;
    writeFileSync(configPath, stringify(doc));
    // The whole plan: the PATCH of the DCS and the rolling restart max_connections needs, leader last.
    const dcsPlan = await pgha(['deploy', dir, '--check', '--diff']);
    outputs.push(dcsPlan.stdout, dcsPlan.stderr);
    expect(dcsPlan.code).toBe(10);
    const planned = planLines(dcsPlan.stdout, 'pending changes:');
    // Patroni's file carries the DCS settings for bootstrap: rewritten and reloaded on every member.
    for (const m of ['pg1', 'pg2', 'pg3']) {
      const at = planned.indexOf(`${m}: 2 changes`);
      expect(planned.slice(at + 1, at + 3)).toEqual([`  update /etc/patroni/${CLUSTER}.yml`, `  reload patroni@${CLUSTER}.service`]);
    }
    const clusterLines = planned.filter((l) => l.startsWith('cluster: '));
    expect(clusterLines).toHaveLength(2);
    expect(clusterLines[0]).toMatch(/^cluster: patroni: PATCH \/config \{"postgresql":\{"parameters":\{.*"max_connections":150/);
    expect(clusterLines[1]).toMatch(/^cluster: patroni: rolling restart of pg\d, pg\d, pg\d \(leader, last\) for max_connections$/);
    expect(planned).toHaveLength(3 * 3 + 2);
    const applied = await pghaOk(['deploy', dir]);
    outputs.push(applied.stdout, applied.stderr);
    expect(planLines(applied.stdout, 'applied:')).toEqual(planned);
    const leaderIp = NODES[['pg1', 'pg2', 'pg3'].indexOf(leaderName() ?? 'pg1')]!;
    const show = (p: string) =>
      psql(`host=${leaderIp} port=5432 user=postgres dbname=postgres sslmode=require`, `show ${p}`, secret('postgres')).stdout;
    expect(show('work_mem')).toBe('8MB');
    // max_connections needs a restart: rolled through every member.
    expect(show('max_connections')).toBe('150');
    for (const m of patronictl()) expect((m as unknown as Record<string, unknown>)['Pending restart'] ?? '').toBe('');

    // Null-negation removes the key from the DCS.
    doc.cluster_vars.patroni_dynamic_conf_settings = { postgresql: { parameters: { work_mem: null, max_connections: 150 } } };
    writeFileSync(configPath, stringify(doc));
    const negate = await pghaOk(['deploy', dir]);
    outputs.push(negate.stdout, negate.stderr);
    expect(negate.stdout).toMatch(/"work_mem":null/);
    expect(show('work_mem')).toBe('4MB');
    expect((await pgha(['deploy', dir, '--check'])).code).toBe(0);
  });

  it(
    'declared users and databases: created through the leader with a generated password, a no-op after, a new secret rolled, --prune drops what is no longer declared',
    async () => {
      const configPath = join(dir, 'config.yml');
      const setDeclared = (users: unknown[], databases: unknown[]) => {
        const doc = parse(readFileSync(configPath, 'utf8')) as { cluster_vars: Record<string, unknown> };
        doc.cluster_vars.postgres_users = users;
        doc.cluster_vars.postgres_databases = databases;
        writeFileSync(configPath, stringify(doc));
      };
      const asApp = (password: string) =>
        psql(
          `host=${PROXY} port=5432 user=app dbname=appdb sslmode=require`,
          "select current_user, (select pg_catalog.count(*) from pg_catalog.pg_extension where extname = 'citext')",
          password,
        );
      setDeclared([{ username: 'app', role_attrs: ['LOGIN'] }], [{ name: 'appdb', owner: 'app', extensions: [{ name: 'citext' }] }]);
      const first = await pghaOk(['deploy', dir]);
      outputs.push(first.stdout, first.stderr);
      const login = asApp(secret('app'));
      expect(login.stderr).toBe('');
      expect(login.stdout).toBe('app|1');
      const again = await pghaOk(['deploy', dir]);
      outputs.push(again.stdout, again.stderr);
      expect(again.stdout).toContain('no changes');
      // A new password in DIR/secrets is set by the next deploy; the old one stops working.
      const old = secret('app');
      writeFileSync(join(dir, 'secrets', 'app'), 'a-new-password-for-app-0123456789\n', { mode: 0o600 });
      outputs.push((await pghaOk(['deploy', dir])).stdout);
      expect(asApp('a-new-password-for-app-0123456789').stdout).toBe('app|1');
      expect(asApp(old).code).not.toBe(0);
      // No longer declared: reported, kept; with --prune, dropped.
      setDeclared([], []);
      const kept = await pghaOk(['deploy', dir]);
      outputs.push(kept.stdout, kept.stderr);
      expect(`${kept.stdout}${kept.stderr}`).toMatch(/appdb/);
      const count = (sql: string) =>
        psql(`host=${PROXY} port=5432 user=postgres dbname=postgres sslmode=require`, sql, secret('postgres')).stdout;
      expect(count("select pg_catalog.count(*) from pg_catalog.pg_database where datname = 'appdb'")).toBe('1');
      const pruned = await pghaOk(['deploy', dir, '--prune']);
      outputs.push(pruned.stdout, pruned.stderr);
      expect(count("select pg_catalog.count(*) from pg_catalog.pg_database where datname = 'appdb'")).toBe('0');
      expect(count("select pg_catalog.count(*) from pg_catalog.pg_roles where rolname = 'app'")).toBe('0');
    },
    5 * 60_000,
  );

  it("upstream: pg3 streams from pg2 (Patroni's replicatefrom), pgha test and status agree, and back to the leader without it", async () => {
    expect(leaderName()).toBe('pg1');
    const configPath = join(dir, 'config.yml');
    const original = readFileSync(configPath, 'utf8');
    const sql = (ip: string, q: string) =>
      psql(`host=${ip} port=5432 user=postgres dbname=postgres sslmode=require`, q, secret('postgres')).stdout;
    const senderOfPg3 = () => sql(PG3, 'select sender_host from pg_catalog.pg_stat_wal_receiver');
    const walSenders = (ip: string) => sql(ip, 'select application_name from pg_catalog.pg_stat_replication order by 1').split('\n');
    // Patroni takes the tag on reload and moves primary_conninfo at its next HA cycle: poll a while.
    const waitSender = async (ip: string) => {
      for (let i = 0; i < 60 && senderOfPg3() !== ip; i++) await new Promise((r) => setTimeout(r, 1000));
      expect(senderOfPg3()).toBe(ip);
    };
    try {
      const doc = parse(original) as { instances: { Name: string; upstream?: string }[] };
      doc.instances.find((i) => i.Name === 'pg3')!.upstream = 'pg2';
      writeFileSync(configPath, stringify(doc));
      const cascade = await pghaOk(['deploy', dir]);
      outputs.push(cascade.stdout, cascade.stderr);
      await waitSender(PG2);
      expect(walSenders(PG2)).toContain('pg3');
      expect(walSenders(PG1)).not.toContain('pg3');
      const test = await pghaOk(['test', dir]);
      expect(test.stdout).toMatch(/pg3: replication +streaming from pg2 \(cascading\)/);
      expect((await pghaOk(['status', dir])).stdout).toContain('replicatefrom: pg2');
      expect((await pgha(['deploy', dir, '--check'])).code).toBe(0);
    } finally {
      writeFileSync(configPath, original);
    }
    const back = await pghaOk(['deploy', dir]);
    outputs.push(back.stdout, back.stderr);
    await waitSender(PG1);
    expect(walSenders(PG1)).toEqual(['pg2', 'pg3']);
    expect((await pgha(['deploy', dir, '--check'])).code).toBe(0);
  });

  it(
    'grows and shrinks while it serves: pg4 joins etcd and Patroni with reloads only, replace-node rebuilds it empty, remove-node takes it out again; a writer through HAProxy loses nothing',
    async () => {
      const configPath = join(dir, 'config.yml');
      const original = readFileSync(configPath, 'utf8');
      // The next free address above every host of config.yml (two proxies take .14 and .15).
      const octets = (parse(original) as { instances: { ip_address: string }[] }).instances.map((i) => Number(i.ip_address.split('.')[3]));
      const PG4 = `${SUBNET}.${Math.max(...octets) + 1}`;
      const leader = leaderName()!;
      const leaderIp = NODES[['pg1', 'pg2', 'pg3'].indexOf(leader)]!;
      const sql = (ip: string, q: string) =>
        psql(`host=${ip} port=5432 user=postgres dbname=postgres sslmode=require`, q, secret('postgres')).stdout;
      const postmasterStart = () => sql(leaderIp, 'select pg_catalog.pg_postmaster_start_time()');
      const etcdStartedAt = () =>
        NODES.map((ip) => sshOk(dir, ip, 'systemctl show -p ActiveEnterTimestampMonotonic --value etcd.service').trim());
      const status = async () =>
        JSON.parse((await pghaOk(['status', dir, '-o', 'json'])).stdout) as { etcd: { name: string; healthy: boolean }[] };
      const started = postmasterStart();
      const etcdBefore = etcdStartedAt();
      // A writer through HAProxy for the whole case: adding, rebuilding and removing a node fails
      // and loses no write (HAProxy reloads keep their servers' states).
      const writer = new ProxyWriter(dir, PROXY);
      writer.install();
      const stopWriter = writer.start('grow_shrink_writes');

      const doc = parse(original) as { instances: Record<string, unknown>[] };
      doc.instances.push({
        Name: 'pg4',
        node: Math.max(...doc.instances.map((i) => Number(i.node))) + 1,
        location: doc.instances[0]!.location,
        role: ['replica', 'etcd'],
        ip_address: PG4,
      });
      writeFileSync(configPath, stringify(doc));
      outputs.push((await pghaOk(['provision', dir])).stdout);
      const check = await pgha(['deploy', dir, '--check']);
      outputs.push(check.stdout, check.stderr);
      expect(check.code).toBe(10);
      const plan = planLines(check.stdout, 'pending changes:');
      expect(plan).toContain(`cluster: etcd: add member pg4 (https://${PG4}:2380)`);
      expect(plan.filter((l) => /restart (etcd|patroni)/.test(l))).toEqual([]);
      const add = await pghaOk(['deploy', dir]);
      outputs.push(add.stdout, add.stderr);
      expect(planLines(add.stdout, 'applied:')).toContain(`cluster: etcd: add member pg4 (https://${PG4}:2380)`);
      // pg4 streams, as an etcd member too; nothing else restarted.
      expect(patronictl().find((m) => m.Member === 'pg4')).toMatchObject({ Role: 'Replica', State: 'streaming' });
      expect((await status()).etcd.map((e) => [e.name, e.healthy])).toEqual([
        ['pg1', true],
        ['pg2', true],
        ['pg3', true],
        ['pg4', true],
      ]);
      expect(sql(leaderIp, "select application_name from pg_catalog.pg_stat_replication where application_name = 'pg4'")).toBe('pg4');
      expect(postmasterStart()).toBe(started);
      expect(etcdStartedAt()).toEqual(etcdBefore);
      expect((await pgha(['deploy', dir, '--check'])).code).toBe(0);

      // pg4 rebuilt under the same name and address, as a host that died and came back empty: a new
      // etcd member, a replica built again, nothing else restarted.
      const oldKey = sshOk(dir, PG4, 'cat /etc/ssh/ssh_host_ed25519_key.pub').trim();
      const replace = await pghaOk(['replace-node', dir, 'pg4']);
      outputs.push(replace.stdout, replace.stderr);
      expect(replace.stdout).toMatch(/etcd: member pg4 removed; it joins again as a new member/);
      expect(planLines(replace.stdout, 'applied:')).toContain(`cluster: etcd: add member pg4 (https://${PG4}:2380)`);
      expect(sshOk(dir, PG4, 'cat /etc/ssh/ssh_host_ed25519_key.pub').trim()).not.toBe(oldKey);
      // Deploy returned once pg4 streamed; its walreceiver can reconnect once while the leader's
      // next HA cycle creates its slot, so the state is read until it settles (30 s at most).
      const settled = Date.now() + 30_000;
      while (patronictl().find((m) => m.Member === 'pg4')?.State !== 'streaming' && Date.now() < settled)
        await new Promise((r) => setTimeout(r, 1000));
      expect(patronictl().find((m) => m.Member === 'pg4')).toMatchObject({ Role: 'Replica', State: 'streaming' });
      expect((await status()).etcd.every((e) => e.healthy)).toBe(true);
      expect(postmasterStart()).toBe(started);
      expect(etcdStartedAt()).toEqual(etcdBefore);
      expect((await pgha(['deploy', dir, '--check'])).code).toBe(0);

      // The configured primary and the leader are refused; pg4 goes.
      const refused = await pgha(['remove-node', dir, 'pg1']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/pg1 has role primary/);
      const remove = await pghaOk(['remove-node', dir, 'pg4']);
      outputs.push(remove.stdout, remove.stderr);
      expect(planLines(remove.stdout, 'applied:')).toContain(`cluster: etcd: remove member pg4 (https://${PG4}:2380)`);
      expect(remove.stdout).toMatch(/pg4: container removed/);
      expect(
        patronictl()
          .map((m) => m.Member)
          .sort(),
        remove.stderr,
      ).toEqual(['pg1', 'pg2', 'pg3']);
      expect((await status()).etcd.map((e) => e.name)).toEqual(['pg1', 'pg2', 'pg3']);
      expect((parse(readFileSync(configPath, 'utf8')) as { instances: { Name: string }[] }).instances.map((i) => i.Name)).not.toContain(
        'pg4',
      );
      expect(readFileSync(join(dir, 'ssh', 'known_hosts'), 'utf8')).not.toMatch(new RegExp(`^(pg4|${PG4.replace(/\./g, '\\.')})[ ,]`, 'm'));
      expect(postmasterStart()).toBe(started);
      expect(etcdStartedAt()).toEqual(etcdBefore);
      // The leader dropped pg4's replication slot once its member key was gone.
      for (let i = 0; i < 30 && sql(leaderIp, "select slot_name from pg_catalog.pg_replication_slots where slot_name = 'pg4'") !== ''; i++)
        await new Promise((r) => setTimeout(r, 1000));
      expect(sql(leaderIp, "select slot_name from pg_catalog.pg_replication_slots where slot_name = 'pg4'")).toBe('');
      expect((await pgha(['deploy', dir, '--check'])).code).toBe(0);
      const report = await stopWriter();
      process.stdout.write(
        `[figure] add, replace and remove pg4 under a writer: ${report.acked} acknowledged, ${report.errors} failed, ${report.lost} lost, longest gap ${report.longestGapMs} ms\n`,
      );
      expect(report.errors).toBe(0);
      expect(report.lost).toBe(0);
    },
    15 * 60_000,
  );

  it(
    'moves etcd from the data nodes to dedicated hosts while it serves: 3 → 4 → 5 members and back to 3, one member per deploy, reloads only; two at once refused; a writer through HAProxy loses nothing',
    async () => {
      const configPath = join(dir, 'config.yml');
      type Instance = { Name: string; node: number; location: string; role: string[]; ip_address: string };
      const readDoc = () => parse(readFileSync(configPath, 'utf8')) as { instances: Instance[] };
      const edit = (change: (instances: Instance[]) => void) => {
        const doc = readDoc();
        change(doc.instances);
        writeFileSync(configPath, stringify(doc));
      };
      const dropEtcd = (name: string) => (instances: Instance[]) => {
        const i = instances.find((x) => x.Name === name)!;
        i.role = i.role.filter((r) => r !== 'etcd');
      };
      // New hosts above the highest address config.yml has (HAProxy hosts included, however many).
      const start = readDoc();
      const octets = start.instances.map((i) => Number(i.ip_address.split('.')[3]));
      const ipOf = (k: number) => `${SUBNET}.${Math.max(...octets) + k}`;
      const nodeOf = (k: number) => Math.max(...start.instances.map((i) => i.node)) + k;
      const proxyIp = start.instances.find((i) => i.role.includes('haproxy'))!.ip_address;
      const dedicated = (k: number): Instance => ({
        Name: `etcd${k}`,
        node: nodeOf(k),
        location: start.instances[0]!.location,
        role: ['etcd'],
        ip_address: ipOf(k),
      });
      const [ETCD1, ETCD2] = [dedicated(1), dedicated(2)];
      const ipByName = new Map([...start.instances, ETCD1, ETCD2].map((i) => [i.Name, i.ip_address]));
      const peer = (name: string) => `(https://${ipByName.get(name)!}:2380)`;

      const leader = leaderName()!;
      expect(leader).toBe('pg1');
      const sql = (q: string) => psql(`host=${PG1} port=5432 user=postgres dbname=postgres sslmode=require`, q, secret('postgres')).stdout;
      const postmasterStart = sql('select pg_catalog.pg_postmaster_start_time()');
      const patroniPids = () => NODES.map((ip) => sshOk(dir, ip, `systemctl show -p MainPID --value patroni@${CLUSTER}`).trim());
      const etcdStartedAt = (ip: string) => sshOk(dir, ip, 'systemctl show -p ActiveEnterTimestampMonotonic --value etcd.service').trim();
      const pidsBefore = patroniPids();
      const pg1EtcdBefore = etcdStartedAt(PG1);
      // etcd's own view of its membership, through pg1 (a member throughout), as root.
      const memberNames = async (): Promise<string[]> => {
        const dispatcher = new Agent({ connect: { ca: ca(), servername: 'pg1' } });
        const post = async (path: string, body: object, token?: string) => (await etcdPost(dispatcher, path, body, token)).body;
        const { token } = await post('/v3/auth/authenticate', { name: 'root', password: secret('etcd_root') });
        const list = (await post('/v3/cluster/member/list', {}, String(token))) as { members: { name: string }[] };
        await dispatcher.close();
        return list.members.map((m) => m.name).sort();
      };
      const statusEtcd = async () =>
        (JSON.parse((await pghaOk(['status', dir, '-o', 'json'])).stdout) as { etcd: { name: string; healthy: boolean }[] }).etcd;
      /** The lines of one host's block in a plan. */
      const hostBlock = (plan: string[], host: string) => {
        const at = plan.findIndex((l) => l.startsWith(`${host}: `));
        if (at < 0) return [];
        const end = plan.slice(at + 1).findIndex((l) => !l.startsWith('  '));
        return plan.slice(at + 1, end < 0 ? plan.length : at + 1 + end);
      };

      const writer = new ProxyWriter(dir, proxyIp);
      writer.install();
      const stopWriter = writer.start('etcd_move_writes');
      const t0 = Date.now();

      // Both dedicated hosts made at once (one provision), each joining etcd in its own deploy.
      edit((instances) => instances.push(ETCD1, ETCD2));
      outputs.push((await pghaOk(['provision', dir])).stdout);
      edit((instances) => instances.splice(instances.findIndex((i) => i.Name === 'etcd2')));

      /** One membership step: --check names it alone and restarts nothing; deploy does it; etcd and Patroni agree after. */
      const step = async (line: string, members: string[], left?: string) => {
        const check = await pgha(['deploy', dir, '--check']);
        outputs.push(check.stdout, check.stderr);
        expect(check.code, `${check.stdout}${check.stderr}`).toBe(10);
        const plan = planLines(check.stdout, 'pending changes:');
        expect(plan.filter((l) => /^cluster: etcd: (add|remove) member/.test(l))).toEqual([line]);
        expect(plan.filter((l) => /restart/.test(l))).toEqual([]);
        // Patroni's etcd hosts change on every data node: taken by reload.
        for (const m of ['pg1', 'pg2', 'pg3']) expect(hostBlock(plan, m)).toContain(`  reload patroni@${CLUSTER}.service`);
        const disable = `  stop and disable etcd.service, remove /var/lib/etcd/${CLUSTER}`;
        if (left) expect(hostBlock(plan, left)).toContain(disable);
        const ts = Date.now();
        const applied = await pghaOk(['deploy', dir]);
        process.stdout.write(`[figure] etcd ${line.replace('cluster: etcd: ', '')}: deploy ${((Date.now() - ts) / 1000).toFixed(1)} s\n`);
        outputs.push(applied.stdout, applied.stderr);
        const done = planLines(applied.stdout, 'applied:');
        expect(done).toContain(line);
        if (left) expect(hostBlock(done, left)).toContain(disable);
        expect(await memberNames()).toEqual([...members].sort());
        expect((await statusEtcd()).map((e) => [e.name, e.healthy]).sort()).toEqual([...members].sort().map((m) => [m, true]));
        const hosts = members.map((m) => `${ipByName.get(m)!}:2379`).sort();
        for (const ip of NODES) {
          const conf = parse(sshOk(dir, ip, `cat /etc/patroni/${CLUSTER}.yml`)) as { etcd3: { hosts: string[] } };
          expect([...conf.etcd3.hosts].sort(), ip).toEqual(hosts);
        }
        if (left) {
          // Its member gone, etcd there is stopped, disabled and its data deleted; Patroni and PostgreSQL serve on.
          const ip = ipByName.get(left)!;
          expect(ssh(dir, ip, 'systemctl is-active etcd.service').stdout.trim()).toBe('inactive');
          expect(ssh(dir, ip, 'systemctl is-enabled etcd.service').stdout.trim()).toBe('disabled');
          expect(ssh(dir, ip, `test -e /var/lib/etcd/${CLUSTER}`).code).toBe(1);
          expect(patronictl().find((m) => m.Member === left)).toMatchObject({ Role: 'Replica', State: 'streaming' });
        }
      };

      await step(`cluster: etcd: add member etcd1 ${peer('etcd1')}`, ['pg1', 'pg2', 'pg3', 'etcd1']);
      const etcd1Started = etcdStartedAt(ETCD1.ip_address);
      edit((instances) => instances.push(ETCD2));
      await step(`cluster: etcd: add member etcd2 ${peer('etcd2')}`, ['pg1', 'pg2', 'pg3', 'etcd1', 'etcd2']);

      // Two members at once (etcd off pg2 and pg3): refused before anything changes, both named.
      const five = readFileSync(configPath, 'utf8');
      edit((instances) => [dropEtcd('pg2'), dropEtcd('pg3')].forEach((f) => f(instances)));
      const refused = await pgha(['deploy', dir]);
      expect(refused.code, `${refused.stdout}${refused.stderr}`).toBe(3);
      // Named in etcd's own order (by member ID).
      expect(refused.stderr).toMatch(/changes etcd's membership by 2 members \(remove member pg[23] .*; remove member pg[23] /);
      expect(refused.stderr).toMatch(/remove member pg2 \(/);
      expect(refused.stderr).toMatch(/remove member pg3 \(/);
      expect(await memberNames()).toEqual(['etcd1', 'etcd2', 'pg1', 'pg2', 'pg3']);
      writeFileSync(configPath, five);

      edit(dropEtcd('pg3'));
      await step(`cluster: etcd: remove member pg3 ${peer('pg3')}`, ['pg1', 'pg2', 'etcd1', 'etcd2'], 'pg3');
      edit(dropEtcd('pg2'));
      await step(`cluster: etcd: remove member pg2 ${peer('pg2')}`, ['pg1', 'etcd1', 'etcd2'], 'pg2');

      expect((await pgha(['deploy', dir, '--check'])).code).toBe(0);
      const report = await stopWriter();
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
      process.stdout.write(
        `[figure] etcd 3 → 5 → 3 under a writer (${((Date.now() - t0) / 1000).toFixed(0)} s, load ${load}): ${report.acked} acknowledged, ${report.errors} failed, ${report.lost} lost, longest gap ${report.longestGapMs} ms\n`,
      );
      // Patroni reloaded only, PostgreSQL on the leader never restarted, etcd restarted on no member.
      expect(patroniPids()).toEqual(pidsBefore);
      expect(sql('select pg_catalog.pg_postmaster_start_time()')).toBe(postmasterStart);
      expect(etcdStartedAt(PG1)).toBe(pg1EtcdBefore);
      expect(etcdStartedAt(ETCD1.ip_address)).toBe(etcd1Started);
      expect(leaderName()).toBe(leader);
      expect(report.errors).toBe(0);
      expect(report.lost).toBe(0);
    },
    15 * 60_000,
  );

  it('keeps the live leader after a switchover done behind its back', async () => {
    const before = leaderName();
    const target = before === 'pg2' ? 'pg3' : 'pg2';
    sshOk(dir, PG1, `patronictl -c /etc/patroni/${CLUSTER}.yml switchover --leader ${before} --candidate ${target} --force`);
    for (let i = 0; i < 60 && leaderName() !== target; i++) await new Promise((r) => setTimeout(r, 1000));
    expect(leaderName()).toBe(target);
    const r = await pghaOk(['deploy', dir]);
    outputs.push(r.stdout, r.stderr);
    expect(leaderName()).toBe(target);
    const viaProxy = psql(
      `host=${PROXY} port=5432 user=postgres dbname=postgres sslmode=require`,
      'select inet_server_addr()',
      secret('postgres'),
    );
    expect(viaProxy.stdout).toBe(NODES[['pg1', 'pg2', 'pg3'].indexOf(target)]);
  });

  it('refuses a host whose key changed, naming it and the known_hosts file', async () => {
    const kh = join(dir, 'ssh', 'known_hosts');
    const original = readFileSync(kh, 'utf8');
    try {
      // Pin a wrong key for pg3 (by address and by name): pgha must refuse to talk to it.
      const other = sshOk(dir, PG1, 'cat /etc/ssh/ssh_host_ed25519_key.pub').trim().split(' ');
      const wrong = (l: string) => l.startsWith(`${PG3} `) || l.startsWith('pg3 ');
      writeFileSync(
        kh,
        original
          .split('\n')
          .map((l) => (wrong(l) ? `${l.split(' ')[0]} ${other[0]} ${other[1]}` : l))
          .join('\n'),
      );
      expect(ssh(dir, PG3, 'true').code).not.toBe(0);
      const r = await pgha(['deploy', dir, '--check']);
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBe(10);
      expect(r.stderr).toContain('pg3');
      expect(r.stderr).toContain(kh);
    } finally {
      writeFileSync(kh, original);
    }
  });
});
