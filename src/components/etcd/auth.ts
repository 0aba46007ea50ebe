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

/** What etcd's auth holds now, as far as pgha's spec is concerned. */
interface EtcdPermission {
  permType?: string;
  key?: string;
  range_end?: string;
}

export interface EtcdAuthState {
  enabled: boolean;
  roles: Record<string, { perms: EtcdPermission[] } | undefined>;
  users: Record<string, { roles: string[] } | undefined>;
  /** Whether the Patroni user logs in with the password in DIR/secrets (only known with auth enabled). */
  patroniLogin: boolean | undefined;
}

export type EtcdAuthStep =
  | { kind: 'add-role'; role: string }
  | { kind: 'add-user'; user: string }
  | { kind: 'grant-role'; user: string; role: string }
  | { kind: 'grant-prefix'; role: string; prefix: string }
  | { kind: 'enable' }
  | { kind: 'set-password'; user: string };

/** Read the users, roles and auth state the spec names. Reads only; the gateway keeps root's token. */
export async function readEtcdAuth(gw: EtcdGateway, spec: EtcdAuthSpec): Promise<EtcdAuthState> {
  const state = await gw.authenticate('root', spec.rootPassword);
  if (state === 'denied') {
    throw new RuntimeError("etcd auth is enabled but root's password differs from DIR/secrets/etcd_root", {
      hint: 'restore the secret that was used when the cluster was deployed, or reset etcd auth by hand',
    });
  }
  const role = async (name: string) => {
    const r = await gw.post('/v3/auth/role/get', { role: name });
    return r.status === 200 ? { perms: (r.body as { perm?: EtcdPermission[] }).perm ?? [] } : undefined;
  };
  const user = async (name: string) => {
    const r = await gw.post('/v3/auth/user/get', { name });
    return r.status === 200 ? { roles: (r.body as { roles?: string[] }).roles ?? [] } : undefined;
  };
  const out: EtcdAuthState = {
    enabled: state === 'enabled',
    roles: { root: await role('root'), [spec.role]: await role(spec.role) },
    users: { root: await user('root'), [spec.patroniUser]: await user(spec.patroniUser) },
    patroniLogin: undefined,
  };
  if (out.enabled) {
    // Logging in through `post` does not replace the root token the gateway holds.
    const login = await gw.post('/v3/auth/authenticate', { name: spec.patroniUser, password: spec.patroniPassword });
    out.patroniLogin = login.status === 200;
  }
  return out;
}

/** The steps that bring `state` to the spec, in the order they must run; `undefined`: etcd not running yet, so all of them. */
export function planEtcdAuth(state: EtcdAuthState | undefined, spec: EtcdAuthSpec): EtcdAuthStep[] {
  const s: EtcdAuthState = state ?? { enabled: false, roles: {}, users: {}, patroniLogin: undefined };
  const steps: EtcdAuthStep[] = [];
  const user = (name: string, role: string) => {
    const u = s.users[name];
    if (!u) steps.push({ kind: 'add-user', user: name });
    if (!u?.roles.includes(role)) steps.push({ kind: 'grant-role', user: name, role });
  };
  // The root role exists implicitly in etcd 3.4 only once created.
  if (!s.roles.root) steps.push({ kind: 'add-role', role: 'root' });
  user('root', 'root');
  const role = s.roles[spec.role];
  if (!role) steps.push({ kind: 'add-role', role: spec.role });
  const want = { key: b64(spec.prefix), range_end: b64(prefixRangeEnd(spec.prefix)) };
  if (!role?.perms.some((p) => p.permType === 'READWRITE' && p.key === want.key && p.range_end === want.range_end)) {
    steps.push({ kind: 'grant-prefix', role: spec.role, prefix: spec.prefix });
  }
  user(spec.patroniUser, spec.role);
  if (!s.enabled) steps.push({ kind: 'enable' });
  // A password changed in DIR/secrets since the last deploy is set again.
  else if (s.patroniLogin === false && s.users[spec.patroniUser]) steps.push({ kind: 'set-password', user: spec.patroniUser });
  return steps;
}

/**
 * A new password for an existing user is set only once every Patroni has reloaded it: Patroni
 * takes its etcd password on reload without logging in again, and logs in again only when etcd
 * rejects its token — which the password change itself causes (etcd bumps its auth revision).
 * Changed the other way round, the leader's Patroni would fail to log in with the old password
 * until its reload and demote itself for losing the DCS.
 */
export function deferredEtcdStep(step: EtcdAuthStep): boolean {
  return step.kind === 'set-password';
}

export function describeEtcdAuthStep(step: EtcdAuthStep): string {
  switch (step.kind) {
    case 'add-role':
      return `add role ${step.role}`;
    case 'add-user':
      return `add user ${step.user}`;
    case 'grant-role':
      return `grant role ${step.role} to ${step.user}`;
    case 'grant-prefix':
      return `let role ${step.role} read and write ${step.prefix}`;
    case 'enable':
      return 'enable auth';
    case 'set-password':
      return `set the password of ${step.user}`;
  }
}

/** Run the steps (planned from a fresh read by the caller); "already exists" is tolerated, so a re-run after an interruption converges. */
export async function applyEtcdAuth(gw: EtcdGateway, steps: readonly EtcdAuthStep[], spec: EtcdAuthSpec): Promise<void> {
  const exists = /already exists/;
  const password = (user: string) => (user === 'root' ? spec.rootPassword : spec.patroniPassword);
  for (const step of steps) {
    switch (step.kind) {
      case 'add-role':
        await gw.must('/v3/auth/role/add', { name: step.role }, exists);
        break;
      case 'add-user':
        await gw.must('/v3/auth/user/add', { name: step.user, password: password(step.user) }, exists);
        break;
      case 'grant-role':
        await gw.must('/v3/auth/user/grant', { user: step.user, role: step.role });
        break;
      case 'grant-prefix':
        await gw.must('/v3/auth/role/grant', {
          name: step.role,
          perm: { permType: 'READWRITE', key: b64(step.prefix), range_end: b64(prefixRangeEnd(step.prefix)) },
        });
        break;
      case 'enable':
        await gw.must('/v3/auth/enable', {});
        await gw.authenticate('root', spec.rootPassword);
        break;
      case 'set-password':
        await gw.must('/v3/auth/user/changepw', { name: step.user, password: password(step.user) });
        break;
    }
  }
}
