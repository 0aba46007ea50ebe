/**
 * etcd RBAC for Patroni (docs/architecture.md#security-invariants), through etcd's v3 JSON gateway so no password ever sits
 * on a command line: a root user, a role with readwrite on `<namespace>/<cluster>/` only (the
 * trailing slash keeps `/pgha/app` from covering `/pgha/app2`), the Patroni user holding that
 * role, then `auth enable`. Every step checks first, so a re-run changes nothing.
 */
import { RuntimeError } from '../../errors.js';
import type { JsonResponse, Requester } from '../../transport/https.js';

export interface EtcdAuthSpec {
  rootPassword: string;
  patroniUser: string;
  patroniPassword: string;
  /** e.g. `/pgha/main/` */
  prefix: string;
  role: string;
}

export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix);
  // The range end of a prefix is the prefix with its last byte incremented (`/` → `0`).
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) + 1;
  return bytes.toString();
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

interface GatewayError {
  error?: string;
  message?: string;
}

function errorText(res: JsonResponse): string {
  const b = res.body as GatewayError;
  return (typeof b === 'object' && b ? (b.message ?? b.error) : undefined) ?? res.text;
}

export class EtcdGateway {
  private token: string | undefined;
  constructor(
    private readonly http: Requester,
    private readonly where: string,
  ) {}

  async post(path: string, body: object): Promise<JsonResponse> {
    const headers: Record<string, string> = this.token ? { authorization: this.token } : {};
    try {
      return await this.http.request({ method: 'POST', path, body, headers });
    } catch (e) {
      throw new RuntimeError(`etcd ${path} failed: ${(e as Error).message}`, {
        where: this.where,
        hint: 'check that etcd runs and is healthy',
      });
    }
  }

  async must(path: string, body: object, tolerate?: RegExp): Promise<JsonResponse> {
    const res = await this.post(path, body);
    if (res.status === 200 || (tolerate && tolerate.test(errorText(res)))) return res;
    throw new RuntimeError(`etcd ${path}: ${errorText(res)}`, { where: this.where });
  }

  /** 'enabled' with a token kept for later calls, 'disabled', or 'denied' (bad password). */
  async authenticate(name: string, password: string): Promise<'enabled' | 'disabled' | 'denied'> {
    const res = await this.post('/v3/auth/authenticate', { name, password });
    if (res.status === 200) {
      this.token = (res.body as { token?: string }).token;
      return 'enabled';
    }
    const text = errorText(res);
    if (/not enabled/i.test(text)) return 'disabled';
    if (/authentication failed|invalid user ID or password/i.test(text)) return 'denied';
    throw new RuntimeError(`etcd authenticate: ${text}`, { where: this.where });
  }
}

/** Bring etcd's users, role and auth state to the spec. Returns the steps that changed something. */
export async function ensureEtcdAuth(gw: EtcdGateway, spec: EtcdAuthSpec): Promise<string[]> {
  const changed: string[] = [];
  const state = await gw.authenticate('root', spec.rootPassword);
  if (state === 'denied') {
    throw new RuntimeError("etcd auth is enabled but root's password differs from DIR/secrets/etcd_root", {
      hint: 'restore the secret that was used when the cluster was deployed, or reset etcd auth by hand',
    });
  }
  const exists = /already exists/;

  const ensureUser = async (name: string, password: string, role: string) => {
    const got = await gw.post('/v3/auth/user/get', { name });
    if (got.status !== 200) {
      await gw.must('/v3/auth/user/add', { name, password }, exists);
      changed.push(`user ${name} added`);
    }
    const roles = got.status === 200 ? ((got.body as { roles?: string[] }).roles ?? []) : [];
    if (!roles.includes(role)) {
      await gw.must('/v3/auth/user/grant', { user: name, role });
      changed.push(`role ${role} granted to ${name}`);
    }
  };

  // The root role exists implicitly in etcd 3.4 only once created; creating it twice is harmless.
  const rootRole = await gw.post('/v3/auth/role/get', { role: 'root' });
  if (rootRole.status !== 200) {
    await gw.must('/v3/auth/role/add', { name: 'root' }, exists);
    changed.push('role root added');
  }
  await ensureUser('root', spec.rootPassword, 'root');

  const role = await gw.post('/v3/auth/role/get', { role: spec.role });
  if (role.status !== 200) {
    await gw.must('/v3/auth/role/add', { name: spec.role }, exists);
    changed.push(`role ${spec.role} added`);
  }
  const perms = role.status === 200 ? ((role.body as { perm?: { permType?: string; key?: string; range_end?: string }[] }).perm ?? []) : [];
  const want = { key: b64(spec.prefix), range_end: b64(prefixRangeEnd(spec.prefix)) };
  if (!perms.some((p) => p.permType === 'READWRITE' && p.key === want.key && p.range_end === want.range_end)) {
    await gw.must('/v3/auth/role/grant', { name: spec.role, perm: { permType: 'READWRITE', ...want } });
    changed.push(`role ${spec.role} may read and write ${spec.prefix}`);
  }
  await ensureUser(spec.patroniUser, spec.patroniPassword, spec.role);

  if (state === 'disabled') {
    await gw.must('/v3/auth/enable', {});
    changed.push('auth enabled');
    await gw.authenticate('root', spec.rootPassword);
  }
  // A password changed in DIR/secrets since the last deploy is set again. (Logging in through
  // `post` does not replace the root token the gateway holds.)
  const login = await gw.post('/v3/auth/authenticate', { name: spec.patroniUser, password: spec.patroniPassword });
  if (login.status !== 200) {
    await gw.must('/v3/auth/user/changepw', { name: spec.patroniUser, password: spec.patroniPassword });
    changed.push(`password of ${spec.patroniUser} set`);
  }
  return changed;
}
