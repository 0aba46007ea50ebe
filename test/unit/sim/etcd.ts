/** The simulated etcd of ./cluster.ts: /health, the v3 JSON gateway's auth calls and the read of Patroni's leader key. */
import type { HttpRequest, JsonResponse, Requester } from '../../../src/transport/https.js';
import type { SimCluster } from './cluster.js';

function json(status: number, body: unknown): JsonResponse {
  return { status, headers: { 'content-type': 'application/json' }, body, text: JSON.stringify(body) };
}

/** etcd's client port on one member: /health and the v3 JSON gateway's auth calls. */
export class SimEtcd implements Requester {
  constructor(
    private readonly sim: SimCluster,
    private readonly host: string,
  ) {}

  request(req: HttpRequest): Promise<JsonResponse> {
    if (!this.sim.host(this.host).active.has('etcd.service')) return Promise.reject(new Error(`connect ECONNREFUSED ${this.host}:2379`));
    const a = this.sim.etcdAuth;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const name = String(body.name ?? body.user ?? body.role ?? '');
    const done = (what: string) => {
      this.sim.log.push(`etcd: ${what}`);
      return Promise.resolve(json(200, {}));
    };
    switch (req.path) {
      case '/health':
        return Promise.resolve(json(200, { health: 'true' }));
      case '/v3/kv/deleterange':
        return done(`delete ${Buffer.from(String(body.key), 'base64').toString()}`);
      case '/v3/cluster/member/list':
        return Promise.resolve(json(200, { members: this.sim.etcdMembers.map((m) => ({ ID: m.id, name: m.name, peerURLs: m.peerUrls })) }));
      case '/v3/cluster/member/add':
        if (a.enabled && req.headers?.authorization !== 't-root')
          return Promise.resolve(json(403, { error: 'etcdserver: permission denied' }));
        if (this.sim.etcdMembers.some((m) => m.peerUrls.some((u) => (body.peerURLs as string[]).includes(u))))
          return Promise.resolve(json(400, { error: 'etcdserver: Peer URLs already exists' }));
        return Promise.resolve(json(200, { member: { ID: this.sim.etcdMemberAdd(body.peerURLs as string[]).id } }));
      case '/v3/cluster/member/remove':
        if (a.enabled && req.headers?.authorization !== 't-root')
          return Promise.resolve(json(403, { error: 'etcdserver: permission denied' }));
        return Promise.resolve(
          this.sim.etcdMemberRemove(String(body.ID)) ? json(200, {}) : json(400, { error: 'etcdserver: member not found' }),
        );
      case '/v3/maintenance/status':
        return Promise.resolve(json(200, { header: { member_id: this.host }, leader: 'etcd1', version: '3.4.23' }));
      case '/v3/auth/authenticate': {
        if (!a.enabled) return Promise.resolve(json(400, { message: 'authentication is not enabled' }));
        const u = a.users.get(name);
        return Promise.resolve(
          u && u.password === body.password
            ? json(200, { token: `t-${name}` })
            : json(400, { message: 'authentication failed, invalid user ID or password' }),
        );
      }
      case '/v3/auth/role/get': {
        const perms = a.roles.get(String(body.role));
        return Promise.resolve(
          perms ? json(200, { perm: perms.map((p) => ({ permType: 'READWRITE', ...p })) }) : json(400, { message: 'role name not found' }),
        );
      }
      case '/v3/auth/user/get': {
        const u = a.users.get(name);
        return Promise.resolve(u ? json(200, { roles: u.roles }) : json(400, { message: 'user name not found' }));
      }
      case '/v3/auth/role/add':
        a.roles.set(name, []);
        return done(`add role ${name}`);
      case '/v3/auth/user/add':
        a.users.set(name, { password: String(body.password), roles: [] });
        return done(`add user ${name}`);
      case '/v3/auth/user/grant':
        a.users.get(String(body.user))!.roles.push(String(body.role));
        return done(`grant ${String(body.role)} to ${String(body.user)}`);
      case '/v3/auth/role/grant': {
        const perm = body.perm as { key: string; range_end: string };
        a.roles.get(name)!.push({ key: perm.key, range_end: perm.range_end });
        return done(`let ${name} read and write ${Buffer.from(perm.key, 'base64').toString()}`);
      }
      case '/v3/auth/enable':
        a.enabled = true;
        return done('enable auth');
      case '/v3/kv/range': {
        // With auth on, only a token from /v3/auth/authenticate reads keys (etcd answers 401 otherwise).
        const token = String(req.headers?.authorization ?? '');
        if (a.enabled && !a.users.has(token.replace(/^t-/, '')))
          return Promise.resolve(json(401, { error: 'etcdserver: user name is empty' }));
        const key = Buffer.from(String(body.key), 'base64').toString();
        const leader = this.sim.leader();
        // Patroni's leader key: <namespace>/<scope>/leader, holding the leader's name.
        const kvs =
          key.endsWith(`/${this.sim.cluster.name}/leader`) && leader
            ? [{ key: body.key, value: Buffer.from(leader).toString('base64') }]
            : [];
        return Promise.resolve(json(200, kvs.length ? { kvs, count: '1' } : {}));
      }
      case '/v3/auth/user/changepw':
        a.users.get(name)!.password = String(body.password);
        return done(`set the password of ${name}`);
      default:
        return Promise.reject(new Error(`sim etcd: ${req.path} is not simulated`));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
