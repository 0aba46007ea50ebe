/**
 * Small pure helpers shared by the component models: who plays which role, typed reads of
 * variables, and the merge-then-strip step every structured config goes through (docs/architecture.md#variables-and-layers).
 */
import { deepMerge, isPlainObject, stripNulls, type Plain } from '../model/merge.js';
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost, Role, Vars } from '../model/types.js';
import { userSecretName } from '../secrets/store.js';

/** Options that only deploy knows (read from the live cluster), never config.yml. */
export interface RenderOptions {
  /** Host name of the current leader; the configured primary when absent. */
  leader?: string | undefined;
  /** Whether deploy copies DIR/local-repo to the host and points apt at it alone (the platform says; none when absent). */
  copiesLocalRepo?: ((host: ResolvedHost) => boolean) | undefined;
  /** etcd members that join a running etcd in this deploy: they render `initial-cluster-state: existing`. */
  etcdJoining?: readonly string[] | undefined;
}

export function hasRole(host: ResolvedHost, ...roles: Role[]): boolean {
  return roles.some((r) => host.roles.includes(r));
}

export function isDataNode(host: ResolvedHost): boolean {
  return hasRole(host, 'primary', 'replica');
}

export function dataNodes(cluster: ResolvedCluster): ResolvedHost[] {
  return cluster.hosts.filter(isDataNode);
}

export function etcdMembers(cluster: ResolvedCluster): ResolvedHost[] {
  return cluster.hosts.filter((h) => hasRole(h, 'etcd'));
}

/**
 * The secrets (DIR/secrets/<user name>) of the users these variables name, as each of `hosts`
 * resolves them: the variables are cluster-wide, so a valid config.yml gives one name each.
 */
export function userSecrets(hosts: readonly ResolvedHost[], ...variables: string[]): string[] {
  return hosts.flatMap((h) => variables.map((v) => userSecretName(h.vars, v)));
}

/**
 * The host PgBouncer should point at: the live leader when deploy knows it, else the configured
 * primary (where a new cluster bootstraps), else the first data node.
 */
export function leaderHost(cluster: ResolvedCluster, opts: RenderOptions = {}): ResolvedHost | undefined {
  const nodes = dataNodes(cluster);
  return (
    (opts.leader === undefined ? undefined : nodes.find((h) => h.name === opts.leader)) ??
    nodes.find((h) => hasRole(h, 'primary')) ??
    nodes[0]
  );
}

export function str(vars: Vars, key: string): string {
  const v = vars[key];
  if (v === undefined || v === null) throw new Error(`variable ${key} is not set (a default is missing: this is a bug)`);
  return String(v);
}

export function optStr(vars: Vars, key: string): string | undefined {
  const v = vars[key];
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

export function num(vars: Vars, key: string): number {
  const v = Number(vars[key]);
  if (!Number.isInteger(v)) throw new Error(`variable ${key} is not an integer: ${String(vars[key])}`);
  return v;
}

/** TPA-style truthiness: YAML booleans, and the strings people write for them. */
export function bool(vars: Vars, key: string): boolean {
  const v = vars[key];
  if (typeof v === 'string') return ['true', 'yes', 'on', '1'].includes(v.toLowerCase());
  return v === true || v === 1;
}

export function plain(v: unknown): Plain {
  return isPlainObject(v) ? v : {};
}

export function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}

/** The generated model ← the user's `*_conf_settings` (deep, nulls negate), then nulls removed. */
export function layered(base: Plain, settings: unknown): Plain {
  return stripNulls(deepMerge(base, plain(settings)) as Plain);
}

export function nodePem(inputs: RenderInputs, host: ResolvedHost): { cert: string; key: string } {
  const n = inputs.pki.nodes[host.name];
  if (!n) throw new Error(`no node certificate for ${host.name} in the cluster PKI (run pgha provision/deploy to issue it)`);
  return n;
}

export function withNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/** The CA, node certificate and key of `host`, installed under `dir` for `owner`. */
export function tlsFiles(
  dir: string,
  owner: string,
  group: string,
  inputs: RenderInputs,
  host: ResolvedHost,
  withNode = true,
): DesiredFile[] {
  const files: DesiredFile[] = [{ path: `${dir}/ca.crt`, content: withNewline(inputs.pki.caCert), owner, group, mode: 0o644 }];
  if (withNode) {
    const pem = nodePem(inputs, host);
    files.push(
      { path: `${dir}/node.crt`, content: withNewline(pem.cert), owner, group, mode: 0o644 },
      { path: `${dir}/node.key`, content: withNewline(pem.key), owner, group, mode: 0o600, sensitive: true },
    );
  }
  return files;
}

/** `ip:port`, bracketing IPv6 literals. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** A single-host CIDR for pg_hba and allowlists. */
export function hostCidr(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/** How every file pgha writes begins (the rest of the line varies): a file that does is pgha's. */
export const MANAGED_BY_PGHA = '# Managed by pgha';
