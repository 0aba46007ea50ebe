/**
 * Contract tests: the Patroni client against a fake HTTPS server that replays answers captured
 * from a real Patroni 3.0.2 (test/fixtures/patroni-3.0.2/, see its README).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, RefusedError, RuntimeError } from '../../src/errors.js';
import { PatroniClient } from '../../src/patroni/client.js';
import { allBack } from '../../src/patroni/judge.js';
import { getHistory, postReload } from '../../src/patroni/ops.js';
import { canonicalRole, isLeaderRole, leaderOf, parseSize, type ClusterInfo, type PatroniNodeStatus } from '../../src/patroni/types.js';
import { issueCa, issueClientCert, issueNodeCert, type KeyAndCert } from '../../src/pki/certs.js';

interface Fixture {
  about: string;
  member: { name: string; role: string };
  request: { method: string; path: string; body?: unknown; from: string; credentials?: string };
  response: { status: number; headers: Record<string, string>; body: string };
  synthetic?: string;
}

/** The health-check endpoints of the REST API (a GET answers 200 yes, 503 no). */
const HEALTH_ENDPOINTS = [
  '/',
  '/primary',
  '/leader',
  '/replica',
  '/read-only',
  '/standby-leader',
  '/sync',
  '/async',
  '/health',
  '/liveness',
  '/readiness',
] as const;

const DIR = join(import.meta.dirname, '../fixtures/patroni-3.0.2');
const fixtures = new Map<string, Fixture>(
  readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f.slice(0, -5), JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Fixture]),
);
const fx = (id: string): Fixture => {
  const f = fixtures.get(id);
  if (!f) throw new Error(`no fixture ${id}`);
  return f;
};

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
  clientCert: boolean;
}

/** Answers each `METHOD path` with its queued fixtures in turn; the last one repeats. */
class FakePatroni {
  server!: Server;
  port = 0;
  readonly routes = new Map<string, Fixture[]>();
  readonly seen: Seen[] = [];

  constructor(private readonly tls: { key: string; cert: string; ca: string; requireClientCert?: boolean }) {}

  async start(): Promise<void> {
    this.server = createServer(
      {
        key: this.tls.key,
        cert: this.tls.cert,
        ca: this.tls.ca,
        requestCert: this.tls.requireClientCert ?? false,
        rejectUnauthorized: this.tls.requireClientCert ?? false,
      },
      (req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const sock = req.socket as unknown as { getPeerCertificate?: () => { subject?: unknown } };
          this.seen.push({
            method: req.method ?? '',
            path: req.url ?? '',
            authorization: req.headers.authorization,
            body,
            clientCert: Boolean(sock.getPeerCertificate?.()?.subject),
          });
          const queue = this.routes.get(`${req.method} ${req.url}`);
          const f = queue && (queue.length > 1 ? queue.shift() : queue[0]);
          if (!f) {
            res.writeHead(501).end('no fixture');
            return;
          }
          const headers = { ...f.response.headers };
          delete headers['content-length'];
          res.writeHead(f.response.status, headers);
          res.end(req.method === 'HEAD' ? undefined : f.response.body);
        });
      },
    );
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Serve `ids` in turn for their request line (all must share it). */
  serve(...ids: string[]): void {
    const list = ids.map(fx);
    const first = list[0]!;
    this.routes.set(`${first.request.method} ${first.request.path}`, list);
  }

  reset(): void {
    this.routes.clear();
    this.seen.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let ca: KeyAndCert;
let node: KeyAndCert;
let clientCert: KeyAndCert;
let server: FakePatroni;
const PASSWORD = 'not-a-real-password';

function client(opts: { password?: string; ca?: string; cert?: KeyAndCert; port?: number; dial?: boolean } = {}): PatroniClient {
  const port = opts.port ?? server.port;
  return new PatroniClient(
    { host: 'pg1', ip: '127.0.0.1', port },
    {
      tls: { ca: opts.ca ?? ca.certPem, cert: opts.cert?.certPem, key: opts.cert?.keyPem },
      ssl: true,
      username: 'patroni',
      password: opts.password ?? PASSWORD,
    },
    opts.dial ? async (t) => netConnect({ host: t.ip, port: t.port }) : undefined,
  );
}

beforeAll(async () => {
  const now = new Date();
  ca = issueCa({ clusterName: 'contract', now });
  node = issueNodeCert({ ca, host: { name: 'pg1', ip: '127.0.0.1' }, now });
  clientCert = issueClientCert({ ca, commonName: 'pgha', now });
  server = new FakePatroni({ key: node.keyPem, cert: node.certPem, ca: ca.certPem });
  await server.start();
}, 60_000);

afterAll(async () => {
  await server.stop();
});

beforeEach(() => server.reset());

describe('fixtures', () => {
  it('cover every endpoint of the REST API docs, captured from 3.0.2', () => {
    const lines = new Set([...fixtures.values()].map((f) => `${f.request.method} ${f.request.path.split('?')[0]}`));
    for (const e of [...HEALTH_ENDPOINTS, '/patroni', '/cluster', '/history', '/metrics', '/config']) expect(lines).toContain(`GET ${e}`);
    for (const l of [
      'PATCH /config',
      'PUT /config',
      'POST /switchover',
      'DELETE /switchover',
      'POST /failover',
      'POST /restart',
      'DELETE /restart',
      'POST /reload',
      'POST /reinitialize',
    ]) {
      expect(lines).toContain(l);
    }
    const real = [...fixtures.values()].filter((f) => !f.synthetic);
    expect(real.length).toBeGreaterThan(70);
    expect((JSON.parse(fx('get-patroni.leader').response.body) as { patroni: { version: string } }).patroni.version).toBe('3.0.2');
    expect([...fixtures.values()].filter((f) => f.synthetic).length).toBe(2);
  });
});

describe('reads', () => {
  it('GET /cluster: typed members, leader, lag; master-era roles are read as leader', async () => {
    server.serve('get-cluster.leader');
    const c = client();
    const info = await c.cluster();
    expect(info.members.map((m) => m.name)).toEqual(['pg1', 'pg2', 'pg3']);
    expect(leaderOf(info)?.name).toBe('pg1');
    expect(info.members.filter((m) => m.role === 'replica').map((m) => m.lag)).toEqual([0, 0]);
    expect(allBack(info, ['pg1', 'pg2', 'pg3'])).toBe(true);
    expect(server.seen[0]?.authorization).toBeUndefined();
    await c.close();
  });

  it('GET /cluster shows pause, scheduled switchover and scheduled restart', async () => {
    server.serve('get-cluster.paused');
    expect((await client().cluster()).pause).toBe(true);
    server.serve('get-cluster.scheduled-switchover');
    const s = (await client().cluster()).scheduled_switchover;
    expect(s).toMatchObject({ from: 'pg1', to: 'pg2' });
    expect(Date.parse(s!.at!)).toBeGreaterThan(0);
    server.serve('get-cluster.scheduled-restart');
    const r = (await client().cluster()).members.find((m) => m.scheduled_restart);
    expect(r?.scheduled_restart?.schedule).toBeTruthy();
  });

  it('GET /patroni: 3.0.2 says master; canonicalRole makes it primary', async () => {
    server.serve('get-patroni.leader');
    const p = await client().patroni();
    expect(p.role).toBe('master');
    expect(canonicalRole(p.role)).toBe('primary');
    expect(isLeaderRole(p.role)).toBe(true);
    expect(p.patroni?.version).toBe('3.0.2');
    expect(p.replication?.every((r) => r.state === 'streaming')).toBe(true);
    server.serve('get-patroni.replica');
    const r = await client().patroni();
    expect(r.role).toBe('replica');
    expect(r.timeline).toBeNull();
    expect(r.xlog?.replayed_location).toBeGreaterThan(0);
    server.serve('get-patroni.reinitializing');
    expect(await client().patroni()).toMatchObject({ state: 'creating replica', role: 'uninitialized' });
  });

  it('GET /history, /config, /metrics', async () => {
    server.serve('get-history.switched');
    const h = await getHistory(client());
    expect(h[0]?.timeline).toBe(1);
    expect(h[0]?.newLeader).toBe('pg2');
    server.serve('get-config.leader');
    const cfg = await client().config();
    expect(cfg.maximum_lag_on_failover).toBe(1048576);
    server.serve('get-metrics.leader');
    expect((await client().expectOk({ method: 'GET', path: '/metrics' })).text).toMatch(/^patroni_version\{scope="e2estat"\} 030002$/m);
  });

  it.each([...HEALTH_ENDPOINTS].flatMap((e) => ['leader', 'replica'].map((who) => [e, who] as const)))(
    'health %s on the %s matches the capture',
    async (endpoint, who) => {
      const id = `get-${endpoint === '/' ? 'root' : endpoint.slice(1)}.${who}`;
      server.serve(id);
      const r = await client().call({ method: 'GET', path: endpoint });
      expect(r.status).toBe(fx(id).response.status);
      expect(await client().check(endpoint)).toBe(r.status === 200);
      const node = typeof r.body === 'object' && r.body !== null ? (r.body as PatroniNodeStatus) : undefined;
      // /liveness and /readiness answer with a bare status line, the others with the member's status.
      if (endpoint === '/liveness' || endpoint === '/readiness') expect(node).toBeUndefined();
      else expect(node?.patroni?.scope).toBe('e2estat');
    },
  );

  it('health checks with lag and tags in the query', async () => {
    server.serve('get-replica-lag-1MB.replica');
    expect(await client().check('/replica?lag=1MB')).toBe(true);
    server.serve('get-replica-tag_zone-a.replica');
    expect(await client().check('/replica?tag_zone=a')).toBe(false);
    server.serve('get-replica-tag_nofailover-false.replica');
    expect(server.routes.has('GET /replica?tag_nofailover=false')).toBe(true);
    expect(await client().check('/replica?tag_nofailover=false')).toBe(false);
  });

  it('HEAD answers with a bare status line', async () => {
    server.serve('head-primary.leader');
    const r = await client().call({ method: 'HEAD', path: '/primary' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    server.serve('get-health.reinitializing');
    expect(await client().check('/health')).toBe(false);
  });
});

describe('writes', () => {
  it('send basic auth only on unsafe requests', async () => {
    server.serve('post-reload.202');
    server.serve('get-patroni.replica');
    const c = client();
    expect(await postReload(c)).toBe('reload scheduled');
    await c.patroni();
    expect(server.seen[0]?.authorization).toBe(`Basic ${Buffer.from(`patroni:${PASSWORD}`).toString('base64')}`);
    expect(server.seen[1]?.authorization).toBeUndefined();
  });

  it.each([
    ['post-switchover.400', 'Switchover could be performed only from a specific leader'],
    ['post-switchover.412-leader', 'leader name does not match'],
    ['post-switchover.412-candidate', 'candidate does not exists'],
    ['post-switchover.422', 'Cannot schedule switchover in the past'],
    // An empty JSON object is no request at all to Patroni: send_error's HTML page, whose message is read out.
    ['post-failover.400', 'Bad Request.'],
    ['post-failover.412', 'candidate does not exists'],
    ['post-restart.400', 'PostgreSQL role should be either primary or replica'],
    ['post-restart.409', 'Another restart is already scheduled'],
    ['post-restart.422', 'Cannot schedule restart in the past'],
    ['patch-config.400', 'Bad Request.'],
  ])('expectOk: %s is refused (exit 3) with Patroni’s reason', async (id, reason) => {
    const f = fx(id);
    server.serve(id);
    const e = await client()
      .expectOk({ method: f.request.method as 'POST' | 'PATCH', path: f.request.path, body: f.request.body })
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    expect(e).toBeInstanceOf(RefusedError);
    expect((e as RefusedError).exitCode).toBe(ExitCode.refused);
    expect((e as Error).message).toContain(reason);
    expect((e as Error).message).not.toContain('<html');
    expect((e as Error).message).toContain(String(f.response.status));
  });

  const reload = (c: PatroniClient) => c.expectOk({ method: 'POST', path: '/reload', body: {} });

  it('401: a wrong password is a runtime error that points at the secret', async () => {
    server.serve('post-reload.401');
    const e = await reload(client({ password: 'wrong' })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e).not.toBeInstanceOf(RefusedError);
    expect((e as RuntimeError).message).toContain('401: not authenticated');
    expect((e as RuntimeError).hint).toContain('DIR/secrets/patroni');
    expect((e as Error).message).not.toContain('wrong');
  });

  it('403: outside the allowlist says to call from a member', async () => {
    server.serve('post-reload.403');
    const e = (await reload(client()).catch((x: unknown) => x)) as RuntimeError;
    expect(e.message).toContain('403: Access is denied');
    expect(e.hint).toMatch(/allowlist/);
  });
});

describe('Patroni 4.x spellings', () => {
  it('primary instead of master, streaming instead of running', () => {
    const info = JSON.parse(fx('get-cluster.leader').response.body.replaceAll('"running"', '"streaming"')) as ClusterInfo;
    info.members[0]!.state = 'running';
    expect(allBack(info, ['pg1', 'pg2', 'pg3'])).toBe(true);
    const p = JSON.parse(fx('get-patroni.leader').response.body.replace('"master"', '"primary"')) as { role: string };
    expect(isLeaderRole(p.role)).toBe(true);
    expect(canonicalRole(p.role)).toBe('primary');
    expect(canonicalRole('master')).toBe(canonicalRole('primary'));
  });

  it('sizes in Patroni units', () => {
    expect(parseSize('1MB')).toBe(1048576);
    expect(parseSize(1048576)).toBe(1048576);
    expect(parseSize('16 kB')).toBe(16384);
    expect(parseSize('lots')).toBeUndefined();
  });
});

describe('TLS', () => {
  it('refuses a server that the cluster CA did not sign', async () => {
    const other = issueCa({ clusterName: 'other', now: new Date() });
    server.serve('get-cluster.leader');
    const e = await client({ ca: other.certPem })
      .cluster()
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as RuntimeError).where).toBe('pg1');
    expect((e as RuntimeError).message).toContain('TLS verification');
    expect((e as RuntimeError).hint).toContain('DIR/ssl/ca.crt');
    expect(server.seen).toHaveLength(0);
  }, 30_000);

  it('runs TLS end to end over a dialled stream (the SSH channel path)', async () => {
    server.serve('post-reload.202');
    expect(await postReload(client({ dial: true }))).toBe('reload scheduled');
  });

  it('mtls: presents the client certificate; without it the server refuses the handshake', async () => {
    const strict = new FakePatroni({ key: node.keyPem, cert: node.certPem, ca: ca.certPem, requireClientCert: true });
    await strict.start();
    try {
      strict.serve('get-cluster.leader');
      const ok = await client({ port: strict.port, cert: clientCert }).cluster();
      expect(leaderOf(ok)?.name).toBe('pg1');
      expect(strict.seen[0]?.clientCert).toBe(true);
      await expect(client({ port: strict.port }).cluster()).rejects.toBeInstanceOf(RuntimeError);
    } finally {
      await strict.stop();
    }
  });

  it('mtls: a missing client certificate is named as such, not as a server or network problem', async () => {
    const strict = new FakePatroni({ key: node.keyPem, cert: node.certPem, ca: ca.certPem, requireClientCert: true });
    await strict.start();
    try {
      strict.serve('get-cluster.leader');
      const missing = (await client({ port: strict.port })
        .cluster()
        .catch((x: unknown) => x)) as RuntimeError;
      expect(missing).toBeInstanceOf(RuntimeError);
      expect(missing.message).toMatch(/refused pgha's client certificate \(.*certificate required\)/);
      expect(missing.hint).toContain('DIR/ssl/clients/pgha.crt is missing');
      // (A foreign certificate: Node's server hangs up without an alert, so that case is judged
      // against the real Patroni in test/e2e/security.test.ts.)
      expect(strict.seen).toHaveLength(0);
    } finally {
      await strict.stop();
    }
  }, 30_000);

  it('a member that does not answer is a runtime error naming it', async () => {
    const e = (await client({ port: 1 })
      .cluster()
      .catch((x: unknown) => x)) as RuntimeError;
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.message).toMatch(/GET \/cluster failed/);
    expect(e.hint).toContain('pg1');
  });
});

describe('a connection reset (a reload replacing the REST server)', () => {
  const reset = () =>
    Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' });
  const clientFailing = (failures: number) => {
    const seen: string[] = [];
    const requester = {
      request: async (req: { method: string; path: string }) => {
        seen.push(`${req.method} ${req.path}`);
        if (seen.length <= failures) throw reset();
        return { status: 200, headers: {}, body: { ttl: 30 }, text: '{"ttl":30}' };
      },
      close: async () => undefined,
    };
    const c = new PatroniClient(
      { host: 'pg1', ip: '10.0.0.1', port: 8008 },
      { ssl: true, tls: { ca: 'unused' }, username: 'patroni', password: 'x' },
      undefined,
      { requester },
    );
    return { c, seen };
  };

  it('a read is asked again, at most twice', async () => {
    const once = clientFailing(2);
    expect(await once.c.config()).toEqual({ ttl: 30 });
    expect(once.seen).toEqual(['GET /config', 'GET /config', 'GET /config']);
    const thrice = clientFailing(3);
    await expect(thrice.c.config()).rejects.toThrow(/socket disconnected/);
    expect(thrice.seen).toHaveLength(3);
  });

  it('a write is never sent twice', async () => {
    const w = clientFailing(1);
    await expect(w.c.call({ method: 'PATCH', path: '/config', body: { loop_wait: 1 } })).rejects.toThrow(/socket disconnected/);
    expect(w.seen).toEqual(['PATCH /config']);
  });
});
