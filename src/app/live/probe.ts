/**
 * How `status` and `test` reach a live cluster (docs/architecture.md#operations): config.yml read
 * without creating anything (status changes nothing), the cluster CA, and REST clients with a
 * short timeout, so a dead host does not make them slow for the live ones. Nothing secret is
 * needed: every call is a GET or an unauthenticated etcd status read. SSH is loaded only when a
 * host is read over it (status: every host, for its release and daemon versions; test: proxies).
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { basename, join } from 'node:path';
import { readConfigText } from '../../config/read-text.js';
import { RefusedError, RuntimeError } from '../../errors.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { PatroniClient } from '../../patroni/client.js';
import { readPrivateIfExists, VaultError } from '../../pki/vault.js';
import { readTrustBundle } from '../../pki/rotation.js';
import { notInConfigHint, notInConfigMessage } from '../../patroni/not-in-config.js';
import { NodeHttpRequester, type TlsMaterial } from '../../transport/https.js';
import type { Transport } from '../../transport/types.js';
import { clusterPaths, type ClusterPaths } from '../cluster-paths.js';
import { printConfigWarnings } from '../config-warnings.js';
import { readStatusCache, statusCacheKey, writeStatusCache } from '../status-config-cache.js';
import type { LiveSource } from './view.js';

/** Kept short: a dead host must not make `status` slow for the live ones. */
export const STATUS_TIMEOUT_MS = 3_000;

export interface ProbeContext {
  cluster: ResolvedCluster;
  paths: ClusterPaths;
  tls: TlsMaterial;
}

const PORT_VARS = ['patroni_listen_port', 'etcd_client_port', 'postgres_port', 'haproxy_port'] as const;

/**
 * config.yml resolved for reading. Compiling the JSON schema costs more than the whole status
 * round trip, so a config validated once is cached (DIR/.status-cache.json, keyed by its bytes
 * and the pgha build) and later runs read it back without yaml, schema or rules.
 */
export async function readClusterConfig(dir: string): Promise<{ cluster: ResolvedCluster; paths: ClusterPaths }> {
  const paths = clusterPaths(dir);
  // Not a readable regular UTF-8 file: loadCluster below says what is wrong with it.
  const read = readConfigText(paths.config);
  const text = 'text' in read ? read.text : undefined;
  if (text !== undefined) {
    const key = statusCacheKey(text);
    const cached = readStatusCache(paths.dir, key);
    // A cached entry was validated when it was written (below); one whose name is not the
    // directory's is left to loadCluster, which refuses it.
    const named = (c: ResolvedCluster) => c.name === basename(paths.dir);
    if (cached && fitsStatus(cached.cluster) && named(cached.cluster)) {
      printConfigWarnings(cached.warnings);
      return { cluster: cached.cluster, paths };
    }
    // On a miss the file is validated in full (schema and rules, exit 2 on any problem; loadCluster
    // prints its warnings) before it is cached: status and test never read, nor keep, a config
    // deploy would refuse.
    const { loadCluster } = await import('../cluster-dir.js');
    const loaded = loadCluster(dir);
    if (fitsStatus(loaded.cluster)) writeStatusCache(paths.dir, key, { cluster: loaded.cluster, warnings: loaded.warnings });
    return { cluster: loaded.cluster, paths: loaded.paths };
  }
  const { loadCluster } = await import('../cluster-dir.js');
  const loaded = loadCluster(dir);
  return { cluster: loaded.cluster, paths: loaded.paths };
}

/** What status relies on (names, addresses, roles, ports) looks right. */
function fitsStatus(cluster: ResolvedCluster): boolean {
  return (
    typeof cluster.name === 'string' &&
    cluster.hosts.length > 0 &&
    cluster.hosts.every(
      (h) =>
        typeof h.name === 'string' && isIP(h.ip) !== 0 && Array.isArray(h.roles) && PORT_VARS.every((v) => Number.isInteger(h.vars[v])),
    )
  );
}

/** The cluster directory, read without creating anything (status changes nothing). */
export async function probeContext(dir: string): Promise<ProbeContext> {
  const { cluster, paths } = await readClusterConfig(dir);
  // The trust bundle: during `rotate-certs --ca` the old and the new CA.
  const ca = await readTrustBundle(paths.dir).catch((e: Error) => {
    throw new RuntimeError(`cannot read the cluster CA: ${e.message}`, {
      hint: `run \`pgha configure\` or restore ${paths.ssl} from a backup`,
    });
  });
  const tls: TlsMaterial = { ca };
  if (cluster.hosts.some((h) => h.vars.patroni_authentication_mode === 'mtls')) {
    // verify_client: required refuses even GETs without a certificate.
    tls.cert = await readFile(join(paths.ssl, 'clients', 'pgha.crt'), 'utf8').catch(() => undefined);
    tls.key = await privateOrUndefined(join(paths.ssl, 'clients', 'pgha.key'));
  }
  return { cluster, paths, tls };
}

/**
 * A private file of DIR as status reads it: undefined when it cannot be read (status works with
 * what it has), except a vault problem, which the operator must fix and is told about.
 */
export async function privateOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readPrivateIfExists(path);
  } catch (e) {
    if (e instanceof VaultError) throw e;
    return undefined;
  }
}

/**
 * For the commands that log in to hosts (status, test): a sealed SSH key that cannot be opened
 * (no or a wrong vault password) stops them here, exit 2, before any host is contacted, rather
 * than showing every host as unreachable. Kept out of probeContext, which REST-only readers share.
 */
export async function checkSshKeyReadable(ctx: ProbeContext): Promise<void> {
  await privateOrUndefined(ctx.paths.privateKey);
}

export function patroniClientFor(ctx: ProbeContext, h: ResolvedHost): PatroniClient {
  return new PatroniClient(
    { host: h.name, ip: h.ip, port: Number(h.vars.patroni_listen_port) },
    { tls: ctx.tls, ssl: h.vars.patroni_ssl_enabled === true },
  );
}

/** Both of readEtcd's requests go over one kept connection: one TLS handshake per member, not two. */
export function etcdRequester(ctx: ProbeContext, h: ResolvedHost): NodeHttpRequester {
  return new NodeHttpRequester(
    { ip: h.ip, port: Number(h.vars.etcd_client_port), servername: h.name },
    { ca: ctx.tls.ca },
    undefined,
    h.vars.etcd_ssl_enabled === true ? 'https' : 'http',
    true,
  );
}

/** The probe context as a LiveSource for src/app/live/view.ts; the caller closes what it hands out (`close`). */
export function probeSource(ctx: ProbeContext): LiveSource & { close(): Promise<void> } {
  const open: { close(): Promise<void> }[] = [];
  const host = (name: string) => {
    const h = ctx.cluster.hosts.find((x) => x.name === name);
    // A name read from the live cluster may be one config.yml no longer has (see session.ts).
    if (!h) throw new RefusedError(notInConfigMessage(name), [], { hint: notInConfigHint(name, ctx.paths.dir) });
    return h;
  };
  return {
    patroni: (name) => patroniClientFor(ctx, host(name)),
    etcdHttp: (name) => {
      const r = etcdRequester(ctx, host(name));
      open.push(r);
      return r;
    },
    close: async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    },
  };
}

export type ConnectSsh = (h: ResolvedHost) => Promise<Transport>;

/** Connects with DIR/ssh's key and pinned host keys; ssh is loaded on the first connection. */
export function sshConnector(ctx: { cluster: ResolvedCluster; paths: ClusterPaths }, readyTimeoutMs = STATUS_TIMEOUT_MS): ConnectSsh {
  return async (h) => {
    const { platformFor } = await import('../../platforms/index.js');
    return platformFor(ctx.cluster.platform).connect(h, {
      privateKeyFile: ctx.paths.privateKey,
      knownHostsFile: ctx.paths.knownHosts,
      readyTimeoutMs,
    });
  };
}
