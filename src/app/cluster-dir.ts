/**
 * The cluster directory (docs/architecture.md#the-cluster-directory): where config.yml, certificates, secrets and the SSH key live,
 * and the one place that turns it into a resolved cluster plus the material rendering needs.
 */
import { basename, resolve as resolvePath } from 'node:path';
import { readConfigFile } from '../config/load.js';
import { validateConfig } from '../config/validate.js';
import { ConfigError, UsageError, type ConfigProblem } from '../errors.js';
import { resolveCluster } from '../model/resolve.js';
import { COMPONENTS } from '../components/registry.js';
import type { ClusterConfig, ResolvedCluster, ResolvedHost, Vars } from '../model/types.js';
import type { HostIdentity } from '../pki/certs.js';
import { ensureClusterPki, missingPki, readClusterPki } from '../pki/store.js';
import { ensureSshKey, readSshKey } from '../pki/sshkey.js';
import { ensureSecrets, loadSecrets, type SecretStore } from '../secrets/store.js';
import type { ClusterPki } from '../model/types.js';

export { clusterPaths, type ClusterPaths } from './cluster-paths.js';
import { clusterPaths, type ClusterPaths } from './cluster-paths.js';
import { printConfigWarnings, printPkiWarnings } from './config-warnings.js';
import { dataNodes, etcdMembers } from '../components/common.js';

export function clusterNameOf(dir: string): string {
  return basename(resolvePath(dir));
}

export interface LoadedCluster {
  paths: ClusterPaths;
  config: ClusterConfig;
  cluster: ResolvedCluster;
  warnings: ConfigProblem[];
}

/**
 * Read, validate and resolve DIR/config.yml: the one place commands load it. Throws ConfigError
 * (exit 2) on any problem; prints the warnings on stderr (once per process) before returning, so
 * every command that reads config.yml shows them before it touches any host.
 */
export function loadCluster(dir: string, extraVars: Vars = {}): LoadedCluster {
  const paths = clusterPaths(dir);
  const doc = readConfigFile(paths.config);
  doc.file = paths.config === resolvePath(doc.file) ? 'config.yml' : doc.file;
  const { config, warnings } = validateConfig(doc, extraVars);
  const dirName = clusterNameOf(dir);
  if (config.cluster_name !== dirName) {
    // Containers, bridges, etcd keys and state are named after cluster_name: a copied or renamed
    // directory whose config still names the original would act on the original's hosts.
    throw new ConfigError([
      {
        file: doc.file,
        line: doc.lineOf(['cluster_name']),
        path: 'cluster_name',
        message: `is "${config.cluster_name}", but the cluster directory ${paths.dir} is named "${dirName}"; a directory acts on the cluster it is named after: set cluster_name: ${dirName}, or rename the directory to ${config.cluster_name}`,
      },
    ]);
  }
  printConfigWarnings(warnings);
  return { paths, config, cluster: resolveCluster(config, extraVars), warnings };
}

/** Secret names the cluster needs: every component's, as it declares them. */
export function clusterSecretNames(cluster: ResolvedCluster): string[] {
  return [...new Set(COMPONENTS.flatMap((c) => c.secretNames?.(cluster) ?? []))].sort();
}

export interface ClusterMaterial {
  secrets: SecretStore;
  pki: ClusterPki;
  sshPublicKey: string;
}

/**
 * The certificates the cluster needs: one per host, allowing client use only where a component
 * running there dials with it; the client identities components declare; and pgha's own, which
 * no component owns: pgha itself logs in with it (HAProxy's stats page demands one, mtls Patroni
 * too), whatever the cluster runs.
 */
export function pkiWanted(cluster: ResolvedCluster): { hosts: HostIdentity[]; clients: string[]; etcdPeers: string[] } {
  const dials = (h: ResolvedHost) =>
    COMPONENTS.some((c) => c.dialsWithHostCert !== undefined && c.runsOn(cluster, h) && c.dialsWithHostCert(cluster, h));
  return {
    hosts: cluster.hosts.map((h) => ({ name: h.name, ip: h.ip, serverOnly: !dials(h) })),
    clients: [...new Set([...COMPONENTS.flatMap((c) => c.clientIdentities?.(cluster) ?? []), 'pgha'])],
    etcdPeers: etcdMembers(cluster).map((h) => h.name),
  };
}

/**
 * Without etcd RBAC (`etcd_authentication_mode: none`) etcd's client port admits any certificate
 * of the cluster CA that allows client use, with full access to the DCS: say which hosts beyond
 * the members (data nodes, etcd hosts) hold one, so the operator knows what a stolen key on them
 * would reach. Pure.
 */
export function openEtcdClientWarnings(cluster: ResolvedCluster, wanted: ReturnType<typeof pkiWanted>): string[] {
  const members = etcdMembers(cluster);
  if (!members.some((h) => h.vars.etcd_authentication_mode === 'none' && h.vars.etcd_ssl_enabled === true)) return [];
  const inside = new Set([...members, ...dataNodes(cluster)].map((h) => h.name));
  const others = wanted.hosts.filter((h) => !h.serverOnly && !inside.has(h.name)).map((h) => h.name);
  if (!others.length) return [];
  return [
    `etcd_authentication_mode: none: etcd admits the certificates of ${others.join(', ')} (cluster CA, client use) as clients with full access to the DCS, where Patroni's configuration lives; set etcd_authentication_mode: basic (what configure writes) to confine each client to what its etcd user may do`,
  ];
}

/**
 * The material as it is, creating nothing: `render` and `deploy --check` only read. Anything
 * missing is exit 2, listed, pointing at `pgha deploy`, which creates it; DIR is left exactly as
 * it was. A certificate deploy would reissue (new address, close to expiry) is used as it is,
 * with a warning: refusing would stop the very preview an operator runs before that deploy.
 */
export async function readClusterMaterial(
  loaded: LoadedCluster,
  command: string,
  err: NodeJS.WritableStream = process.stderr,
): Promise<ClusterMaterial> {
  const { paths, cluster } = loaded;
  const wanted = pkiWanted(cluster);
  const [ssh, pkiMissing, secrets] = await Promise.all([
    readSshKey(paths.dir),
    missingPki(paths.dir, wanted.hosts, wanted.clients, new Date(), wanted.etcdPeers),
    loadSecrets(paths.dir),
  ]);
  const missing = [
    ...(ssh ? [] : ['ssh/id_pgha']),
    ...pkiMissing.missing,
    ...clusterSecretNames(cluster)
      .filter((n) => !secrets.names().includes(n))
      .map((n) => `secrets/${n}`),
  ];
  if (missing.length || !ssh) {
    throw new UsageError(`${command} creates nothing, and ${paths.dir} lacks:\n${missing.map((m) => `  - ${m}`).join('\n')}`, {
      hint: `run \`pgha deploy ${paths.dir}\` (without --check), which creates what is missing, or restore it from a backup`,
    });
  }
  for (const p of pkiMissing.stale) {
    err.write(`warning: ${p}; ${command} shows the current certificate, \`pgha deploy ${paths.dir}\` reissues it\n`);
  }
  const pki = await readClusterPki(paths.dir);
  return { secrets, pki, sshPublicKey: ssh.publicKeyLine };
}

/** Create what is missing in DIR (key, CA, node certificates, passwords); keep what exists. */
export async function ensureClusterMaterial(loaded: LoadedCluster): Promise<ClusterMaterial> {
  const { paths, cluster } = loaded;
  const ssh = await ensureSshKey(paths.dir);
  const wanted = pkiWanted(cluster);
  const report = await ensureClusterPki(paths.dir, wanted.hosts, { clients: wanted.clients, etcdPeers: wanted.etcdPeers });
  printPkiWarnings([...report.warnings, ...openEtcdClientWarnings(cluster, wanted)]);
  const secrets = await ensureSecrets(paths.dir, clusterSecretNames(cluster));
  const pki = await readClusterPki(paths.dir);
  return { secrets, pki, sshPublicKey: ssh.publicKeyLine };
}
