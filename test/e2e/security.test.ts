/**
 * Security of a cluster in mtls mode (`patroni_authentication_mode: mtls`), judged from outside
 * pgha: node:https and openssl against the REST API and etcd, psql through HAProxy, etcdctl and
 * stat on the hosts, /proc sampled on every container and the controller while pgha works.
 * One cluster (3 data nodes with etcd + 1 HAProxy); the containers are removed even on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { ClusterStatus } from '../../src/app/status.js';
import {
  clusterSecrets,
  configureM1Args,
  e2eSuiteCanRun,
  pgha,
  pghaOk,
  psql,
  removeStaleCluster,
  removeTestCluster,
  ssh,
  sshOk,
  type Ran,
} from './harness.js';
import {
  ETCD_NODE_FILES,
  ETCD_PEER_FILES,
  etcdPeerProbe,
  fixedPatroniDeb,
  patronictl as patronictlOn,
  ProxyWriter,
  rebuiltDeb,
  waitHealthy,
} from './probes.js';

const canRun = e2eSuiteCanRun('security');

const CLUSTER = 'e2esec';
const SUBNET = '10.238.1';
const IPS = { pg1: `${SUBNET}.11`, pg2: `${SUBNET}.12`, pg3: `${SUBNET}.13`, proxy1: `${SUBNET}.14` } as const;
const DATA = [IPS.pg1, IPS.pg2, IPS.pg3];
const ALL = Object.values(IPS);
/** pgha's own build (packaging/patroni/README.md): Debian's 3.0.2-1 would fail `pgha test`'s Patroni build check. */
const PATRONI_BASE = '3.0.2-1+pgha2';

interface Probe {
  status?: number;
  body?: string;
  /** Set when no HTTP answer came back (TLS refused, connection reset). */
  error?: string;
}

interface TlsOpts {
  ca: string;
  cert?: string;
  key?: string;
  servername: string;
}

/** One HTTPS request written here, not pgha's client: its status and body, or why none came. */
function httpsProbe(ip: string, port: number, path: string, tls: TlsOpts, method = 'GET'): Promise<Probe> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: ip, port, path, method, agent: false, timeout: 10_000, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body, error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: `${e.code ?? ''} ${e.message}`.trim() }));
    req.end(method === 'GET' ? undefined : '{}');
  });
}

function httpProbe(ip: string, port: number, path: string): Promise<Probe> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: ip, port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: `${e.code ?? ''} ${e.message}`.trim() }));
    req.end();
  });
}

/**
 * Refusals at the TLS layer, as OpenSSL reports the server's alert: Patroni (Python) sends
 * `certificate required` (116) for a missing client certificate and `unknown ca` (48) for a
 * foreign one; etcd (Go) sends `bad certificate` (42). A reset is the same refusal when the
 * connection's RST overtakes the alert (the request was already on its way).
 */
const RESET = 'ECONNRESET|socket hang up';
const NO_CERT = new RegExp(`certificate required|${RESET}`);
const FOREIGN_CA = new RegExp(`unknown ca|${RESET}`);
const GO_REFUSED = new RegExp(`bad certificate|${RESET}`);

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/**
 * Samples every process's command line (what `ps -eo pid,args` shows) every 100 ms until a stop
 * file appears, then writes the number of samples and each distinct command line. Reading /proc
 * directly: minimal hosts have no procps, and a shell loop would fork per process.
 */
const SAMPLER = `import os, sys, time
stop, out = sys.argv[1], sys.argv[2]
seen = set()
n = 0
while not os.path.exists(stop):
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open('/proc/' + p + '/cmdline', 'rb') as f:
                c = f.read()
        except OSError:
            continue
        if c:
            seen.add(p + ' ' + c.replace(b'\\0', b' ').decode('utf-8', 'replace').strip())
    n += 1
    time.sleep(0.1)
with open(out + '.tmp', 'w') as f:
    f.write(str(n) + '\\n' + '\\n'.join(sorted(seen)) + '\\n')
os.rename(out + '.tmp', out)
`;

interface Samples {
  count: number;
  lines: string[];
}

function parseSamples(text: string): Samples {
  const [first, ...lines] = text.split('\n');
  return { count: Number(first), lines: lines.filter(Boolean) };
}

describe.skipIf(!canRun)('security on nspawn: mtls mode, M1 + HAProxy', () => {
  let root = '';
  let dir = '';
  const outputs: string[] = [];
  let rebuilt = '';

  const secretFile = (name: string) => readFileSync(join(dir, 'secrets', name), 'utf8').trim();
  const ca = () => readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8');
  const client = (name: string) => ({
    cert: readFileSync(join(dir, 'ssl', 'clients', `${name}.crt`), 'utf8'),
    key: readFileSync(join(dir, 'ssl', 'clients', `${name}.key`), 'utf8'),
  });
  const patronictl = (ip: string = IPS.pg1) => patronictlOn(dir, ip, CLUSTER);
  const leaderName = () => patronictl().find((m) => m.Role === 'Leader')?.Member;
  /** Each data node's PostgreSQL start time: unchanged means it never restarted. */
  const startedAt = () =>
    DATA.map((ip) => sshOk(dir, ip, "cd /tmp && runuser -u postgres -- psql -XAtc 'select pg_catalog.pg_postmaster_start_time()'").trim());
  const viaProxy = (sql: string) =>
    psql(`host=${IPS.proxy1} port=5432 user=postgres dbname=postgres sslmode=require`, sql, secretFile('postgres'));

  /** Passwords replaced by rotate-passwords: no longer valid, still never to leak (a host file may keep one, 0600). */
  const retired: { name: string; value: string }[] = [];

  /**
   * What must never leak, by a name that can be printed: every generated password (and every
   * retired one), and a line from the middle of every private key (a key on a command line is as
   * bad as a password).
   */
  function needles(): { name: string; value: string }[] {
    const out = readdirSync(join(dir, 'secrets'))
      .filter((f) => !f.startsWith('.'))
      .map((f) => ({ name: `secrets/${f}`, value: secretFile(f) }));
    out.push(...retired);
    const keys: string[] = ['ssl/ca.key'];
    for (const e of readdirSync(join(dir, 'ssl'), { withFileTypes: true })) {
      if (e.isDirectory()) for (const f of readdirSync(join(dir, 'ssl', e.name))) if (f.endsWith('.key')) keys.push(`ssl/${e.name}/${f}`);
    }
    for (const k of keys) {
      const line = readFileSync(join(dir, k), 'utf8').split('\n')[3];
      if (line && line.length >= 60) out.push({ name: k, value: line });
    }
    return out.filter((n) => n.value.length >= 16);
  }

  /** Names of the needles found in `text` (never the values: a failure must not print them). */
  function leaked(text: string): string[] {
    return needles()
      .filter((n) => text.includes(n.value))
      .map((n) => n.name);
  }

  beforeAll(async () => {
    await removeStaleCluster(CLUSTER);
    root = mkdtempSync(join(tmpdir(), 'pgha-e2e-sec-'));
    dir = join(root, CLUSTER);
    outputs.push(
      // Debian 12: this suite rolls rebuilt Patroni 3.0.2 packages (pgha's own build and higher ones).
      (await pghaOk(configureM1Args(dir, SUBNET, { osVersion: 12 }))).stdout,
    );
    const configPath = join(dir, 'config.yml');
    const doc = parse(readFileSync(configPath, 'utf8')) as { cluster_vars: Record<string, unknown> };
    doc.cluster_vars.patroni_ssl_enabled = true;
    doc.cluster_vars.patroni_authentication_mode = 'mtls';
    // Otherwise apt installs the newest in the repository: the rebuilt one meant for the upgrade.
    doc.cluster_vars.patroni_package_version = PATRONI_BASE;
    writeFileSync(configPath, stringify(doc));
    // A cluster directory as an older pgha left it, without etcd's own peer CA: deploy keeps the
    // cluster CA for etcd's peers (and says so), and the rotate-certs --ca case brings the peer CA
    // in on the live cluster, on Debian 12's etcd 3.4.
    for (const f of readdirSync(join(dir, 'ssl'), { recursive: true, encoding: 'utf8' })) {
      if (/(^|\/)etcd-peer/.test(f)) rmSync(join(dir, 'ssl', f));
    }
    // The rebuilt package starts from Debian's in the package cache, which a fresh machine fills
    // on its first download-packages: run one before rebuilding (later ones reuse the cache).
    outputs.push((await pghaOk(['download-packages', dir])).stdout);
    // Above pgha's own 3.0.2-1+pgha2, which download-packages adds by itself.
    const deb = rebuiltDeb(root, await fixedPatroniDeb(), 'pgha3');
    rebuilt = deb.version;
    for (const args of [
      ['download-packages', dir, '--add-deb', deb.file],
      ['provision', dir],
      ['deploy', dir],
    ]) {
      const r = await pghaOk(args);
      outputs.push(r.stdout, r.stderr);
    }
    await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
  }, 30 * 60_000);

  afterAll(async () => {
    await removeTestCluster(dir, root);
  }, 5 * 60_000);

  describe('Patroni REST API requires the cluster’s client certificates', () => {
    let rogue = { cert: '', key: '' };

    beforeAll(() => {
      // A throwaway CA and a client certificate from it, with the name pgha's own client uses:
      // only the issuer can make it untrusted.
      const d = mkdtempSync(join(root, 'rogue-'));
      writeFileSync(
        join(d, 'ext.cnf'),
        'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
      );
      run(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          'ca.key',
          '-out',
          'ca.crt',
          '-days',
          '2',
          '-subj',
          `/CN=${CLUSTER} CA`,
        ],
        d,
      );
      run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=pgha'], d);
      run(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          'client.csr',
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-out',
          'client.crt',
          '-days',
          '2',
          '-extfile',
          'ext.cnf',
        ],
        d,
      );
      rogue = { cert: readFileSync(join(d, 'client.crt'), 'utf8'), key: readFileSync(join(d, 'client.key'), 'utf8') };
    });

    it('refuses a request without a client certificate at the TLS layer: no HTTP answer, no data', async () => {
      for (const [name, ip] of [
        ['pg1', IPS.pg1],
        ['pg2', IPS.pg2],
      ] as const) {
        for (const path of ['/cluster', '/patroni', '/primary']) {
          const r = await httpsProbe(ip, 8008, path, { ca: ca(), servername: name });
          process.stdout.write(`[note] REST API ${name} ${path}, no client certificate: ${r.error ?? r.status}\n`);
          expect(r.status, `${name} ${path} answered ${r.status}: ${r.body}`).toBeUndefined();
          expect(r.body).toBeUndefined();
          expect(r.error).toMatch(NO_CERT);
        }
      }
      // The same with OpenSSL's own client: the server's alert, and no HTTP status line.
      const s = spawnSync(
        'openssl',
        [
          's_client',
          '-connect',
          `${IPS.pg1}:8008`,
          '-servername',
          'pg1',
          '-CAfile',
          join(dir, 'ssl', 'ca.crt'),
          '-quiet',
          '-verify_return_error',
        ],
        {
          input: 'GET /cluster HTTP/1.0\r\n\r\n',
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      expect(s.stdout).not.toMatch(/HTTP\/1\.[01] \d{3}/);
      expect(s.stdout).not.toContain('members');
      expect(s.stderr).toMatch(/alert|certificate required|errno|error/i);
    });

    it('refuses a client certificate from another CA, even with the right name', async () => {
      const r = await httpsProbe(IPS.pg1, 8008, '/cluster', { ca: ca(), servername: 'pg1', ...rogue });
      process.stdout.write(`[note] REST API, foreign client certificate: ${r.error ?? r.status}\n`);
      expect(r.status, `answered ${r.status}: ${r.body}`).toBeUndefined();
      expect(r.error).toMatch(FOREIGN_CA);
    });

    it('pgha itself, given a foreign client certificate, is refused and says so', async () => {
      const clients = join(dir, 'ssl', 'clients');
      const real = client('pgha');
      try {
        writeFileSync(join(clients, 'pgha.crt'), rogue.cert);
        writeFileSync(join(clients, 'pgha.key'), rogue.key);
        const r = await pgha(['status', dir, '-o', 'json']);
        expect(r.code, r.stdout).toBe(1);
        expect(r.stderr).toMatch(/no Patroni member answers/);
        // Patroni's `unknown ca` alert, named as pgha's certificate being refused (or the reset
        // that can overtake the alert, see RESET).
        for (const m of ['pg1', 'pg2', 'pg3'])
          expect(r.stderr).toMatch(new RegExp(`${m}: .*(refused pgha's client certificate \\(.*unknown ca\\)|${RESET})`));
      } finally {
        writeFileSync(join(clients, 'pgha.crt'), real.cert);
        writeFileSync(join(clients, 'pgha.key'), real.key, { mode: 0o600 });
      }
    });

    it('answers the cluster’s client certificate (pgha’s and HAProxy’s)', async () => {
      for (const name of ['pgha', 'haproxy']) {
        const r = await httpsProbe(IPS.pg2, 8008, '/cluster', { ca: ca(), servername: 'pg2', ...client(name) });
        expect(r.error).toBeUndefined();
        expect(r.status).toBe(200);
        const members = (JSON.parse(r.body ?? '{}') as { members?: { name: string }[] }).members ?? [];
        expect(members.map((m) => m.name).sort()).toEqual(['pg1', 'pg2', 'pg3']);
      }
    });

    it('still refuses writes from outside the allowlist with a valid certificate, accepts them from a member', async () => {
      const outside = await httpsProbe(IPS.pg2, 8008, '/reload', { ca: ca(), servername: 'pg2', ...client('pgha') }, 'POST');
      expect(outside.status).toBe(403);
      // From pg1 (a member): with its node certificate the write goes through; without any
      // certificate the allowlist alone does not let it in. python3 is on the hosts (Patroni's).
      const script = (withCert: boolean) => `import ssl,urllib.request
ctx=ssl.create_default_context(cafile='/etc/patroni/ssl/ca.crt')
${withCert ? "ctx.load_cert_chain('/etc/patroni/ssl/node.crt','/etc/patroni/ssl/node.key')" : ''}
req=urllib.request.Request('https://${IPS.pg2}:8008/reload',data=b'{}',method='POST')
try:
    print(urllib.request.urlopen(req,context=ctx,timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print('refused', type(e).__name__)
`;
      expect(sshOk(dir, IPS.pg1, 'python3 -', script(true)).trim()).toMatch(/^20[02]$/);
      expect(sshOk(dir, IPS.pg1, 'python3 -', script(false)).trim()).toMatch(/^refused /);
    });

    it('speaks no plain HTTP', async () => {
      const plain = await httpProbe(IPS.pg1, 8008, '/cluster');
      expect(plain.status).not.toBe(200);
      expect(plain.body ?? '').not.toContain('members');
    });
  });

  describe('the cluster works in mtls mode', () => {
    it('HAProxy checks the members with its client certificate: writes through it reach the leader', async () => {
      await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
      const leader = leaderName();
      expect(leader).toBeDefined();
      const r = viaProxy('select pg_is_in_recovery(), inet_server_addr()');
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`f|${IPS[leader as keyof typeof IPS]}`);
      // HAProxy's own view through its stats socket: the leader UP (2), the replicas down (0).
      const raw = sshOk(
        dir,
        IPS.proxy1,
        `python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect("/run/haproxy/admin.sock"); s.sendall(b"show servers state pgha_rw\\n"); print(s.makefile().read())'`,
      );
      const states = Object.fromEntries(
        raw
          .split('\n')
          .map((l) => l.split(' '))
          .filter((f) => f[1] === 'pgha_rw')
          .map((f) => [f[3], f[5]]),
      );
      expect(states).toEqual({ pg1: leader === 'pg1' ? '2' : '0', pg2: leader === 'pg2' ? '2' : '0', pg3: leader === 'pg3' ? '2' : '0' });
    });

    it('pgha status and pgha test pass', async () => {
      const st = await pghaOk(['status', dir, '-o', 'json']);
      outputs.push(st.stdout, st.stderr);
      const s = JSON.parse(st.stdout) as ClusterStatus;
      expect(s.members.map((m) => [m.name, m.reachable, m.error ?? null])).toEqual([
        ['pg1', true, null],
        ['pg2', true, null],
        ['pg3', true, null],
      ]);
      expect(s.leader).toBe(leaderName());
      expect(s.members.filter((m) => m.role === 'replica' && ['streaming', 'running'].includes(m.state))).toHaveLength(2);
      expect(s.haproxy[0]?.writesTo).toEqual([s.leader]);
      const t = await pgha(['test', dir]);
      outputs.push(t.stdout, t.stderr);
      expect(t.code, `${t.stdout}\n${t.stderr}`).toBe(0);
      expect(t.stdout).not.toMatch(/✗/);
    });

    it(
      'pgha switchover moves the leader, and HAProxy follows',
      async () => {
        const before = leaderName();
        const target = before === 'pg2' ? 'pg3' : 'pg2';
        const r = await pgha(['switchover', dir, target, '--force']);
        outputs.push(r.stdout, r.stderr);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(leaderName()).toBe(target);
        let reached = '';
        for (let i = 0; i < 20 && reached !== `f|${IPS[target]}`; i++) {
          reached = viaProxy('select pg_is_in_recovery(), inet_server_addr()').stdout;
          if (reached !== `f|${IPS[target]}`) await new Promise((res) => setTimeout(res, 500));
        }
        expect(reached).toBe(`f|${IPS[target]}`);
        await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
      },
      5 * 60_000,
    );

    it(
      "the postmaster watch wakes Patroni through the mtls REST API when a replica's postmaster is killed",
      async () => {
        const replica = (['pg1', 'pg2', 'pg3'] as const).find((n) => n !== leaderName())!;
        const ip = IPS[replica];
        const since = sshOk(dir, ip, 'date +%s').trim();
        const watchLog = () => sshOk(dir, ip, `journalctl -u pgha-postmaster-watch.service --since @${since} -o cat`);
        sshOk(dir, ip, 'kill -9 "$(pgrep -o -u postgres -x postgres)"');
        let log = '';
        for (let i = 0; i < 30 && !/exited; (woke|could not wake) Patroni/.test(log); i++) {
          await new Promise((res) => setTimeout(res, 500));
          log = watchLog();
        }
        // Woken, not merely attempted: the watch's request passed Patroni's client-certificate check.
        expect(log).toMatch(/postmaster \d+ exited; woke Patroni in \d+ ms/);
        await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
      },
      3 * 60_000,
    );
  });

  describe('etcd', () => {
    // cluster.test.ts covers anonymous reads and the Patroni role's prefix through the gateway;
    // here: passwords, plain HTTP, the peer port, with etcdctl on a node and OpenSSL.
    const etcdctl = (ip: string, args: string, env = '', input?: string): Ran =>
      ssh(
        dir,
        ip,
        `${env} ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ssl/ca.crt --dial-timeout=5s --command-timeout=5s ${args}`,
        input,
      );

    it("the HAProxy host's certificate (server use only) is refused on etcd's peer port, even from its own address", () => {
      // What someone holding the proxy's key could try: join etcd as a peer, from the proxy itself
      // (etcd also checks the peer's address against the certificate, so that part matches).
      const fromProxy = `import ssl,urllib.request
ctx=ssl.create_default_context(cafile='/etc/haproxy/ssl/ca.crt')
ctx.load_cert_chain('/etc/haproxy/ssl/node.pem')
try:
    print('ACCEPTED', urllib.request.urlopen('https://${IPS.pg2}:2380/version',context=ctx,timeout=10).read().decode())
except Exception as e:
    print('refused', e)
`;
      const out = sshOk(dir, IPS.proxy1, 'python3 -', fromProxy);
      process.stdout.write(`[note] etcd peer port, the HAProxy host's certificate from its own address: ${out.trim()}\n`);
      expect(out).not.toContain('ACCEPTED');
      expect(out).toMatch(/^refused .*(bad certificate|unsupported certificate|certificate|reset|EOF)/i);
    });

    it('refuses etcdctl without credentials and with a wrong password; the right one reads only its prefix', () => {
      const key = `/pgha/${CLUSTER}/leader`;
      const anonymous = etcdctl(IPS.pg2, `get ${key}`);
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr).toMatch(/user name is empty|permission denied/);
      for (const user of ['etcd_patroni', 'root']) {
        const wrong = etcdctl(IPS.pg2, `get ${key}`, `ETCDCTL_USER='${user}:not-the-password'`);
        expect(wrong.code, wrong.stdout).not.toBe(0);
        expect(wrong.stdout).toBe('');
        expect(wrong.stderr).toMatch(/authentication failed|invalid user ID or password/);
      }
      // The real password travels on stdin into the environment, never onto a command line.
      const right = (args: string) =>
        etcdctl(IPS.pg2, args, 'read -r p; ETCDCTL_USER="etcd_patroni:$p"', `${secretFile('etcd_patroni')}\n`);
      const inside = right(`get ${key} --print-value-only`);
      expect(inside.code, inside.stderr).toBe(0);
      expect(inside.stdout.trim()).toBe(leaderName());
      const everything = right('get / --prefix --keys-only');
      expect(everything.code).not.toBe(0);
      expect(everything.stderr).toMatch(/permission denied/);
    });

    it('speaks no plain HTTP on the client port', async () => {
      for (const ip of DATA) {
        const plain = await httpProbe(ip, 2379, '/version');
        expect(plain.status).not.toBe(200);
        expect(plain.body ?? '').not.toMatch(/etcdserver/);
      }
    });

    it('admits on the peer port only a member, with its own certificate, from its own address', async () => {
      const d = join(dir, 'ssl');
      // Positive control: pg1 asks pg2's peer port with pg1's certificate (/version answers any peer).
      const fromMember = `import ssl,urllib.request
ctx=ssl.create_default_context(cafile='/etc/etcd/ssl/ca.crt')
ctx.load_cert_chain('/etc/etcd/ssl/node.crt','/etc/etcd/ssl/node.key')
print(urllib.request.urlopen('https://${IPS.pg2}:2380/version',context=ctx,timeout=10).read().decode())
`;
      expect(sshOk(dir, IPS.pg1, 'python3 -', fromMember)).toMatch(/"etcdserver":"3\.4\./);
      // Without a certificate: refused.
      const none = await httpsProbe(IPS.pg2, 2380, '/version', { ca: ca(), servername: 'pg2' });
      process.stdout.write(`[note] etcd peer port, no client certificate: ${none.error ?? none.status}\n`);
      expect(none.status, none.body).toBeUndefined();
      expect(none.error).toMatch(GO_REFUSED);
      // A member's certificate used from another address (the controller): refused too, since
      // etcd checks the peer's address against the certificate's SANs.
      const member = { cert: readFileSync(join(d, 'pg1', 'node.crt'), 'utf8'), key: readFileSync(join(d, 'pg1', 'node.key'), 'utf8') };
      const stolen = await httpsProbe(IPS.pg2, 2380, '/version', { ca: ca(), servername: 'pg2', ...member });
      expect(stolen.status, stolen.body).toBeUndefined();
      process.stdout.write(`[note] etcd peer port, a member's certificate from the controller: ${stolen.error ?? stolen.status}\n`);
      expect(stolen.error).toMatch(GO_REFUSED);
    });
  });

  describe('secrets never appear on a command line, in output or in logs', () => {
    const STOP = '/tmp/pgha-sampler.stop';
    const CANARY = `pgha-canary-${process.pid}`;
    const OUT = '/tmp/pgha-sampler.out';
    let local: ChildProcess | undefined;
    const localDir = () => join(root, 'sampler');

    /** Start a sampler on every host and on the controller (which also sees the containers' processes). */
    async function startSamplers(): Promise<void> {
      for (const ip of ALL) {
        sshOk(dir, ip, `rm -f ${STOP} ${OUT} && cat > /root/pgha-sampler.py`, SAMPLER);
        // Detached from the SSH session, so that pgha's own connections come and go around it.
        sshOk(dir, ip, `setsid python3 /root/pgha-sampler.py ${STOP} ${OUT} </dev/null >/dev/null 2>&1 &`);
      }
      mkdirSync(localDir(), { recursive: true });
      rmSync(join(localDir(), 'stop'), { force: true });
      rmSync(join(localDir(), 'out'), { force: true });
      writeFileSync(join(localDir(), 'sampler.py'), SAMPLER);
      local = spawn('/usr/bin/python3', [join(localDir(), 'sampler.py'), join(localDir(), 'stop'), join(localDir(), 'out')], {
        stdio: 'ignore',
      });
      await new Promise((r) => setTimeout(r, 500));
      // A canary: a one-second process with a marker in its arguments must be seen, on the host
      // and from the controller, or the samplers would prove nothing.
      sshOk(dir, IPS.pg2, `python3 -c 'import time; time.sleep(1)' ${CANARY}`);
    }

    async function stopSamplers(): Promise<Record<string, Samples>> {
      const out: Record<string, Samples> = {};
      for (const ip of ALL) sshOk(dir, ip, `touch ${STOP}`);
      writeFileSync(join(localDir(), 'stop'), '');
      const child = local;
      if (child && child.exitCode === null) await new Promise<void>((r) => child.on('exit', () => r()));
      for (const ip of ALL) {
        for (let i = 0; i < 50 && ssh(dir, ip, `test -e ${OUT}`).code !== 0; i++) await new Promise((r) => setTimeout(r, 200));
        out[ip] = parseSamples(sshOk(dir, ip, `cat ${OUT} && rm -f ${OUT} ${STOP}`));
      }
      out.controller = parseSamples(readFileSync(join(localDir(), 'out'), 'utf8'));
      return out;
    }

    function expectClean(samples: Record<string, Samples>, verb: string): void {
      expect(samples[IPS.pg2]!.lines.some((l) => l.includes(CANARY))).toBe(true);
      expect(samples.controller!.lines.some((l) => l.includes(CANARY))).toBe(true);
      for (const [where, s] of Object.entries(samples)) {
        // The samplers really watched: many samples, and pgha's work is visible in them.
        expect(s.count, where).toBeGreaterThan(20);
        expect(s.lines.some((l) => /patroni/.test(l)) || where === IPS.proxy1, where).toBe(true);
        expect(leaked(s.lines.join('\n')), `secrets on a command line on ${where}`).toEqual([]);
      }
      expect(samples.controller!.lines.some((l) => l.includes(`pgha.js ${verb}`))).toBe(true);
      // pgha's scripts (bash -c over SSH) ran on the hosts while sampled.
      expect(DATA.some((ip) => samples[ip]!.lines.some((l) => / bash -c /.test(l) && !l.includes('pgha-sampler')))).toBe(true);
    }

    it(
      'during a deploy that changes Patroni’s file and a PostgreSQL parameter',
      async () => {
        const configPath = join(dir, 'config.yml');
        const doc = parse(readFileSync(configPath, 'utf8')) as { cluster_vars: Record<string, unknown> };
        doc.cluster_vars.patroni_dynamic_conf_settings = { postgresql: { parameters: { work_mem: '8MB' } } };
        // A file change on every data node: Patroni's config (which holds passwords) is rewritten.
        doc.cluster_vars.patroni_conf_settings = { log: { max_queue_size: 1001 } };
        writeFileSync(configPath, stringify(doc));
        await startSamplers();
        // pgha() never throws: the samplers are always stopped and collected.
        const r = await pgha(['deploy', dir]);
        const samples = await stopSamplers();
        outputs.push(r.stdout, r.stderr);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(leaked(`${r.stdout}\n${r.stderr}`)).toEqual([]);
        // The deploy did change things on the hosts.
        for (const ip of DATA) expect(sshOk(dir, ip, `grep max_queue_size /etc/patroni/${CLUSTER}.yml`)).toContain('1001');
        const leaderIp = IPS[leaderName() as keyof typeof IPS];
        expect(
          psql(`host=${leaderIp} port=5432 user=postgres dbname=postgres sslmode=require`, 'show work_mem', secretFile('postgres')).stdout,
        ).toBe('8MB');
        expectClean(samples, 'deploy');
      },
      15 * 60_000,
    );

    it(
      'during pgha upgrade --components=patroni',
      async () => {
        await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
        await startSamplers();
        const r = await pgha(['upgrade', dir, '--components=patroni', '-e', `patroni_package_version=${rebuilt}`]);
        const samples = await stopSamplers();
        outputs.push(r.stdout, r.stderr);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(leaked(`${r.stdout}\n${r.stderr}`)).toEqual([]);
        for (const ip of DATA) expect(sshOk(dir, ip, `dpkg-query -W -f='\${Version}' patroni`).trim()).toBe(rebuilt);
        expectClean(samples, 'upgrade');
        await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
      },
      20 * 60_000,
    );

    it(
      'during pgha rotate-passwords: a writer through HAProxy loses nothing, nothing restarts, the old passwords stop working',
      async () => {
        await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
        const names = readdirSync(join(dir, 'secrets')).filter((f) => !f.startsWith('.'));
        const old = new Map(names.map((n) => [n, secretFile(n)] as const));
        const leader = leaderName();
        const started = startedAt();
        const writer = new ProxyWriter(dir, IPS.proxy1);
        writer.install();
        const stop = writer.start('rotation_writes');
        await new Promise((r) => setTimeout(r, 2000));
        await startSamplers();
        const r = await pgha(['rotate-passwords', dir]);
        const samples = await stopSamplers();
        await new Promise((res) => setTimeout(res, 2000));
        const report = await stop();
        outputs.push(r.stdout, r.stderr);
        process.stdout.write(
          `[figure] rotate-passwords: ${report.acked} acknowledged, ${report.errors} failed, ${report.lost} lost, longest gap ${report.longestGapMs} ms\n`,
        );
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        // The writer kept its connection: no failed and no lost write.
        expect(report.errors).toBe(0);
        expect(report.lost).toBe(0);
        for (const [n, v] of old) expect(secretFile(n), n).not.toBe(v);
        retired.push(...[...old].map(([n, v]) => ({ name: `retired secrets/${n}`, value: v })));
        const oldValues = [...old.values()];
        expect(oldValues.filter((v) => `${r.stdout}${r.stderr}`.includes(v))).toEqual([]);
        expect(leaked(`${r.stdout}\n${r.stderr}`)).toEqual([]);
        expectClean(samples, 'rotate-passwords');
        for (const [where, s] of Object.entries(samples))
          expect(
            oldValues.filter((v) => s.lines.join('\n').includes(v)),
            `old secrets on a command line on ${where}`,
          ).toEqual([]);
        // Nothing restarted, the leader stayed; every member streams again and pgha test passes with the new passwords.
        expect(startedAt()).toEqual(started);
        expect(leaderName()).toBe(leader);
        await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
        const t = await pgha(['test', dir]);
        expect(t.code, t.stdout).toBe(0);
        // The old superuser password no longer logs in; the new one does.
        const conn = `host=${IPS.proxy1} port=5432 user=postgres dbname=postgres sslmode=require`;
        expect(psql(conn, 'select 1', old.get('postgres')!).stderr).toMatch(/password authentication failed/);
        expect(psql(conn, 'select 1', secretFile('postgres')).stdout.trim()).toBe('1');
        // etcd: the old Patroni password is refused, the new one logs in.
        const etcdAuth = (pw: string) =>
          ssh(
            dir,
            IPS.pg2,
            `read -r p; ETCDCTL_USER="etcd_patroni:$p" ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ssl/ca.crt --dial-timeout=5s --command-timeout=5s get /pgha/${CLUSTER}/leader --print-value-only`,
            `${pw}\n`,
          );
        // The test writer's own copy of the old password (not pgha's) goes, so the file checks below see only pgha's files.
        sshOk(dir, IPS.proxy1, 'rm -f /root/.writer-pw /root/writer.py');
        expect(etcdAuth(old.get('etcd_patroni')!).code).not.toBe(0);
        expect(etcdAuth(secretFile('etcd_patroni')).code, etcdAuth(secretFile('etcd_patroni')).stderr).toBe(0);
      },
      15 * 60_000,
    );

    it('in no output of any pgha run of this suite', () => {
      expect(leaked(outputs.join('\n'))).toEqual([]);
    });

    it('in no log on any host: journal, /var/log (PostgreSQL’s included)', () => {
      const values = `${needles()
        .map((n) => n.value)
        .join('\n')}\n`;
      for (const ip of ALL) {
        // The units' journals as text, then every file under /var/log (the binary journal and
        // PostgreSQL's logs included). Only counts and file names come back, never a match.
        const script = `set -u
cat > /tmp/pgha-needles
n=$(journalctl --no-pager -o cat -u 'patroni@*' -u etcd -u haproxy -u pgbouncer -u 'postgresql*' | grep -cFf /tmp/pgha-needles || true)
echo "journal-units $n"
n=$(journalctl --no-pager -o cat | grep -cFf /tmp/pgha-needles || true)
echo "journal-all $n"
grep -rlaFf /tmp/pgha-needles /var/log $(ls -d /var/lib/postgresql/*/*/log 2>/dev/null) 2>/dev/null | sed 's/^/file /' || true
ls /var/log/postgresql 2>/dev/null | sed 's/^/pglog /' || true
rm -f /tmp/pgha-needles
`;
        const out = sshOk(dir, ip, script, values);
        expect(out, ip).toContain('journal-units 0\n');
        expect(out, ip).toContain('journal-all 0\n');
        expect(
          out.split('\n').filter((l) => l.startsWith('file ')),
          ip,
        ).toEqual([]);
      }
      // The journal did record the services (so the grep above had something to search).
      expect(sshOk(dir, IPS.pg1, `journalctl --no-pager -o cat -u patroni@${CLUSTER} | grep -c 'no action' || true`).trim()).not.toBe('0');
    });
  });

  describe('file modes and owners', () => {
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

    it('on the controller: private directories 0700, keys and passwords 0600, owned by the operator', () => {
      const uid = process.getuid?.() ?? 0;
      const got: Record<string, string> = {};
      const want: Record<string, string> = {};
      const expectMode = (rel: string, m: string) => {
        const p = join(dir, rel);
        got[rel] = `${mode(p)} ${statSync(p).uid}`;
        want[rel] = `${m} ${uid}`;
      };
      for (const d of ['secrets', 'ssl', 'ssh', 'ssl/clients', 'ssl/pg1', 'ssl/pg2', 'ssl/pg3', 'ssl/proxy1']) expectMode(d, '700');
      for (const f of readdirSync(join(dir, 'secrets'))) expectMode(`secrets/${f}`, '600');
      expectMode('ssl/ca.key', '600');
      expectMode('ssl/ca.crt', '644');
      for (const h of ['pg1', 'pg2', 'pg3', 'proxy1']) {
        expectMode(`ssl/${h}/node.key`, '600');
        expectMode(`ssl/${h}/node.crt`, '644');
      }
      for (const c of ['haproxy', 'pgha']) {
        expectMode(`ssl/clients/${c}.key`, '600');
        expectMode(`ssl/clients/${c}.crt`, '644');
      }
      expectMode('ssh/id_pgha', '600');
      expect(got).toEqual(want);
      // Nobody else may add or replace files in DIR (a planted config.yml or CA).
      expect(statSync(dir).mode & 0o022).toBe(0);
      expect(statSync(dir).uid).toBe(uid);
      // No other file in DIR holds a secret (config.yml, local-repo, …).
      const values = needles();
      const holders = spawnSync(
        'grep',
        ['-rlaF', '--exclude-dir=secrets', '--exclude-dir=ssl', '--exclude-dir=ssh', '-f', '/dev/stdin', dir],
        {
          input: `${values.map((n) => n.value).join('\n')}\n`,
          encoding: 'utf8',
        },
      );
      expect(holders.stdout).toBe('');
    });

    /** `mode owner:group path` of each path, for exact comparison. */
    const stat = (ip: string, paths: string[]) =>
      sshOk(dir, ip, `stat -c '%a %U:%G %n' ${paths.join(' ')}`)
        .trim()
        .split('\n');

    /**
     * Key directories: nobody but root or their service may write to them (replace a key). Deploy
     * creates them 0750 and service-owned (render's privateDirectoriesFor); 0755 is still accepted
     * because a cluster deployed before that keeps its directories until a key in them is written
     * again. The keys inside are 0600 either way.
     */
    const expectKeyDir = (ip: string, path: string, service: string) => {
      const [line] = stat(ip, [path]);
      expect(line).toMatch(new RegExp(`^(75[05] (root|${service}):(root|${service})) ${path}$`));
    };

    it('on the data nodes: keys and files with passwords readable by their service only', () => {
      for (const ip of DATA) {
        expect(
          stat(ip, [
            `/etc/patroni/${CLUSTER}.yml`,
            '/etc/patroni/ssl/node.key',
            '/etc/patroni/ssl/node.crt',
            '/etc/patroni/ssl/ca.crt',
            '/etc/etcd/ssl/node.key',
            '/etc/etcd/ssl/node.crt',
            '/etc/etcd/pgha.conf.yml',
            `/var/lib/etcd/${CLUSTER}`,
            `/var/lib/postgresql/15/${CLUSTER}`,
            `/var/lib/postgresql/.pgpass_patroni_${CLUSTER}`,
          ]),
          ip,
        ).toEqual([
          `600 postgres:postgres /etc/patroni/${CLUSTER}.yml`,
          '600 postgres:postgres /etc/patroni/ssl/node.key',
          '644 postgres:postgres /etc/patroni/ssl/node.crt',
          '644 postgres:postgres /etc/patroni/ssl/ca.crt',
          '600 etcd:etcd /etc/etcd/ssl/node.key',
          '644 etcd:etcd /etc/etcd/ssl/node.crt',
          '640 root:etcd /etc/etcd/pgha.conf.yml',
          `700 etcd:etcd /var/lib/etcd/${CLUSTER}`,
          `700 postgres:postgres /var/lib/postgresql/15/${CLUSTER}`,
          `600 postgres:postgres /var/lib/postgresql/.pgpass_patroni_${CLUSTER}`,
        ]);
        expectKeyDir(ip, '/etc/patroni/ssl', 'postgres');
        expectKeyDir(ip, '/etc/etcd/ssl', 'etcd');
      }
    });

    /** The proxy's own certificate and key, when it serves TLS itself (the stats listener). */
    const proxyNodePem = () => ssh(dir, IPS.proxy1, 'test -e /etc/haproxy/ssl/node.pem').code === 0;

    it('on the HAProxy host: its keys readable by root only (HAProxy loads them before dropping privileges)', () => {
      const keys = ['/etc/haproxy/ssl/haproxy.pem', ...(proxyNodePem() ? ['/etc/haproxy/ssl/node.pem'] : [])];
      expect(stat(IPS.proxy1, [...keys, '/etc/haproxy/ssl/ca.crt', '/etc/haproxy/haproxy.cfg'])).toEqual([
        ...keys.map((k) => `600 root:root ${k}`),
        '644 root:haproxy /etc/haproxy/ssl/ca.crt',
        '644 root:root /etc/haproxy/haproxy.cfg',
      ]);
      expectKeyDir(IPS.proxy1, '/etc/haproxy/ssl', 'haproxy');
    });

    it('on every host, every file that holds a secret is one of the above, and none is readable by others', () => {
      const expected: Record<string, string[]> = {
        data: [
          `/etc/patroni/${CLUSTER}.yml`,
          '/etc/patroni/ssl/node.key',
          '/etc/etcd/ssl/node.key',
          `/var/lib/postgresql/.pgpass_patroni_${CLUSTER}`,
        ],
        proxy: ['/etc/haproxy/ssl/haproxy.pem', ...(proxyNodePem() ? ['/etc/haproxy/ssl/node.pem'] : [])],
      };
      const values = `${needles()
        .map((n) => n.value)
        .join('\n')}\n`;
      for (const ip of ALL) {
        // Everywhere a deploy could leave something, minus data directories (catalog, WAL).
        const found = sshOk(
          dir,
          ip,
          `cat > /tmp/pgha-needles; grep -rlaFf /tmp/pgha-needles /etc /root /home /tmp /var/tmp /run /usr/local /var/lib/pgha /var/lib/postgresql /var/backups 2>/dev/null --exclude-dir=15 --exclude=pgha-needles --exclude=pgha-sampler.py | sort; rm -f /tmp/pgha-needles`,
          values,
        )
          .trim()
          .split('\n')
          .filter(Boolean);
        expect(found, ip).toEqual([...(ip === IPS.proxy1 ? expected.proxy! : expected.data!)].sort());
        for (const line of stat(ip, found)) expect(line, ip).toMatch(/^[0-7][0-7]0 /);
      }
    });
  });

  describe('PostgreSQL connections between members verify the server', () => {
    const onNode = (ip: string, sql: string) =>
      sshOk(
        dir,
        ip,
        'cd /tmp && runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres -f -',
        `${sql}\n`,
      ).trim();
    const ipOf = (name: string) => IPS[name as keyof typeof IPS];

    it('every replication connection is TLS, and replicas ask for verify-full against the cluster CA', () => {
      const leader = leaderName()!;
      expect(
        onNode(
          ipOf(leader),
          'SELECT pg_catalog.count(*), pg_catalog.bool_and(s.ssl) FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid',
        ),
      ).toBe('2|t');
      for (const m of patronictl().filter((x) => x.Role !== 'Leader')) {
        const conninfo = onNode(ipOf(m.Member), 'SELECT conninfo FROM pg_stat_wal_receiver');
        expect(conninfo).toContain('sslmode=verify-full');
        expect(conninfo).toContain('sslrootcert=/etc/patroni/ssl/ca.crt');
      }
    });

    it('the replicas’ connection settings refuse a server with a foreign certificate', () => {
      const replica = patronictl().find((x) => x.Role !== 'Leader')!.Member;
      // A throwaway PostgreSQL on the replica's loopback, with a self-signed certificate that names
      // the address dialled: only the CA check can refuse it. The replica's own walreceiver settings
      // (host and port overridden, later keywords win in a conninfo string) must refuse it.
      const script = `set -eu
d=$(mktemp -d); chown postgres "$d"; cd /tmp
trap 'runuser -u postgres -- /usr/lib/postgresql/*/bin/pg_ctl -D "$d/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$d"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout "$d/k.pem" -out "$d/c.pem" 2>/dev/null
chown postgres "$d/k.pem" "$d/c.pem"; chmod 600 "$d/k.pem"
runuser -u postgres -- /usr/lib/postgresql/*/bin/initdb -D "$d/data" -A trust >/dev/null
runuser -u postgres -- /usr/lib/postgresql/*/bin/pg_ctl -D "$d/data" -w -l "$d/log" -o "-p 55432 -k $d -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$d/c.pem -c ssl_key_file=$d/k.pem" start >/dev/null
ci=$(runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -c 'SELECT conninfo FROM pg_stat_wal_receiver')
if runuser -u postgres -- psql -X -At -c 'select 1' "$ci host=127.0.0.1 port=55432 dbname=postgres" 2>"$d/err"; then echo ACCEPTED; else cat "$d/err"; fi
`;
      const out = sshOk(dir, ipOf(replica), script);
      expect(out).not.toContain('ACCEPTED');
      expect(out).toMatch(/certificate verify failed/);
    });
  });

  describe('the cluster directory encrypted at rest (pgha vault)', () => {
    it('sealed: no password or private key readable in DIR; status and a no-op deploy work with the password, exit 2 without; decrypt restores every file byte for byte', async () => {
      const passwords = clusterSecrets(dir);
      const sealed = [...readdirSync(join(dir, 'secrets')).map((f) => join('secrets', f)), join('ssl', 'ca.key'), join('ssh', 'id_pgha')];
      const before = new Map(sealed.map((f) => [f, readFileSync(join(dir, f))]));
      const env = { PGHA_VAULT_PASSWORD: 'a vault password for the e2e suite' };
      outputs.push((await pghaOk(['vault', 'encrypt', dir], 0, { env })).stdout);
      for (const f of sealed) {
        const text = readFileSync(join(dir, f), 'utf8');
        expect(text.startsWith('$PGHA_VAULT;1;AES256GCM;scrypt;'), f).toBe(true);
        expect(text).not.toContain('PRIVATE KEY');
        for (const p of passwords) expect(text).not.toContain(p);
      }
      const refused = await pgha(['status', dir]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/PGHA_VAULT_PASSWORD/);
      const st = await pghaOk(['status', dir, '-o', 'json'], 0, { env });
      expect((JSON.parse(st.stdout) as ClusterStatus).members.filter((m) => m.reachable)).toHaveLength(3);
      const d = await pghaOk(['deploy', dir], 0, { env });
      outputs.push(st.stdout, d.stdout, d.stderr);
      expect(d.stdout).toContain('no changes');
      outputs.push((await pghaOk(['vault', 'decrypt', dir], 0, { env })).stdout);
      for (const [f, bytes] of before) expect(readFileSync(join(dir, f)).equals(bytes), f).toBe(true);
      for (const out of [refused.stdout, refused.stderr, st.stdout, st.stderr, d.stdout, d.stderr])
        for (const p of [...passwords, env.PGHA_VAULT_PASSWORD]) expect(out).not.toContain(p);
    }, 300_000);
  });

  describe('pgha rotate-certs --ca (a new CA, both trusted while the certificates change)', () => {
    /** OpenSSL's verdict on a member's certificate against one CA file: exit 0 only when the chain verifies. */
    const verifies = (caFile: string, ip: string, name: string, port: number, postgres = false) =>
      spawnSync(
        'openssl',
        [
          's_client',
          ...(postgres ? ['-starttls', 'postgres'] : []),
          '-connect',
          `${ip}:${port}`,
          '-servername',
          name,
          '-CAfile',
          caFile,
          '-verify_return_error',
          '-brief',
          ...(postgres ? [] : ['-cert', join(dir, 'ssl', 'clients', 'pgha.crt'), '-key', join(dir, 'ssl', 'clients', 'pgha.key')]),
        ],
        { input: '', encoding: 'utf8', timeout: 20_000 },
      ).status;

    it(
      'a writer through HAProxy loses nothing, PostgreSQL never restarts, replicas keep streaming; then only the new CA verifies',
      async () => {
        await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
        const oldCaFile = join(root, 'old-ca.crt');
        writeFileSync(oldCaFile, ca());
        const leader = leaderName();
        const started = startedAt();
        const writer = new ProxyWriter(dir, IPS.proxy1);
        writer.install();
        const stop = writer.start('rotate_ca_writes');
        await new Promise((r) => setTimeout(r, 2000));
        const r = await pgha(['rotate-certs', dir, '--ca']);
        await new Promise((res) => setTimeout(res, 2000));
        const report = await stop();
        outputs.push(r.stdout, r.stderr);
        process.stdout.write(
          `[figure] rotate-certs --ca: ${report.acked} acknowledged, ${report.errors} failed, ${report.lost} lost, longest gap ${report.longestGapMs} ms\n`,
        );
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(`${r.stdout}${r.stderr}`).not.toContain('PRIVATE KEY');
        expect(report.errors).toBe(0);
        expect(report.lost).toBe(0);
        // PostgreSQL reloaded its certificates, never restarted; the leader stayed; both replicas stream (over TLS).
        expect(startedAt()).toEqual(started);
        expect(leaderName()).toBe(leader);
        await waitHealthy(dir, IPS.pg1, CLUSTER, 3);
        expect(
          sshOk(
            dir,
            IPS[leader as keyof typeof IPS],
            "cd /tmp && runuser -u postgres -- psql -XAtc 'SELECT pg_catalog.count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid WHERE s.ssl'",
          ).trim(),
        ).toBe('2');
        // DIR: the journal and the old CA are gone.
        expect(readdirSync(dir)).not.toContain('rotate-ca-in-progress.json');
        expect(readdirSync(join(dir, 'ssl')).filter((f) => f.startsWith('ca-'))).toEqual([]);
        // Every member's Patroni REST API and PostgreSQL: the old CA no longer verifies them, the new one does.
        const newCaFile = join(dir, 'ssl', 'ca.crt');
        for (const [name, ip] of [
          ['pg1', IPS.pg1],
          ['pg2', IPS.pg2],
          ['pg3', IPS.pg3],
        ] as const) {
          expect(verifies(oldCaFile, ip, name, 8008), `${name} REST, old CA`).not.toBe(0);
          expect(verifies(newCaFile, ip, name, 8008), `${name} REST, new CA`).toBe(0);
          expect(verifies(oldCaFile, ip, name, 5432, true), `${name} PostgreSQL, old CA`).not.toBe(0);
          expect(verifies(newCaFile, ip, name, 5432, true), `${name} PostgreSQL, new CA`).toBe(0);
        }
        // pgha, trusting the new CA alone, finds every check green.
        const t = await pgha(['test', dir]);
        expect(t.code, t.stdout).toBe(0);
        sshOk(dir, IPS.proxy1, 'rm -f /root/.writer-pw /root/writer.py');
      },
      20 * 60_000,
    );

    it("brought etcd its own peer CA (the directory had none): the node certificates etcd's peers used before are refused, even from their own address", async () => {
      expect(outputs.join('\n')).toMatch(/warning: etcd has no peer CA of its own/);
      expect(readdirSync(join(dir, 'ssl')).filter((f) => f.startsWith('etcd-peer-ca'))).toEqual(['etcd-peer-ca.crt', 'etcd-peer-ca.key']);
      for (const [from, to] of [
        [IPS.pg1, IPS.pg2],
        [IPS.pg3, IPS.pg1],
      ] as const) {
        expect(etcdPeerProbe(dir, from, to, ETCD_PEER_FILES)).toMatch(/^ACCEPTED .*"etcdserver":"3\.4\./);
        const before = etcdPeerProbe(dir, from, to, ETCD_NODE_FILES);
        process.stdout.write(`[note] etcd 3.4 peer port after the peer CA came in, a member's node certificate: ${before}\n`);
        expect(before).toMatch(/^refused .*(certificate|unknown ca|reset|EOF|closed)/i);
      }
      // Nothing warns any more.
      const t = await pgha(['test', dir]);
      expect(t.code, t.stdout).toBe(0);
      expect(t.stderr).not.toMatch(/etcd has no peer CA/);
    });
  });
});
