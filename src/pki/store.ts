/**
 * The cluster PKI on disk, DIR/ssl (docs/architecture.md#the-cluster-directory):
 *   ssl/ 0700: ca.key 0600, ca.crt 0644
 *   ssl/etcd-peer-ca.key 0600, etcd-peer-ca.crt 0644 (etcd's peer CA, src/pki/rotation.ts#ETCD_PEER_CA)
 *   ssl/<host>/ 0700: node.key 0600, node.crt 0644; etcd-peer.key, etcd-peer.crt on etcd members
 *   ssl/clients/ 0700: <name>.key 0600, <name>.crt 0644
 *
 * Re-runs keep whatever is still good. A certificate that must be reissued keeps its private key
 * when that key is a usable RSA key: SAN changes, expiry or a CA change do not mean the key leaked,
 * and keeping it means a host that has not been redeployed yet still holds a key matching a
 * certificate that stays valid. Delete node.key to force a new key.
 */
import { readdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { ClusterPki } from '../model/types.js';
import {
  generateRsaKeyPemAsync,
  type ExtKeyUsage,
  type HostIdentity,
  issueClientCert,
  issueNodeCert,
  type KeyAndCert,
  keyMatchesCert,
  loadRsaKey,
  needsReissue,
  nodeExtKeyUsage,
  nodeSans,
  type SubjectAltNames,
} from './certs.js';
import { ensureCa } from './ca-store.js';
import { enforceMode, ensurePrivateDir, writeFileAtomic } from './files.js';
import { CLUSTER_CA, ETCD_PEER_CA, ETCD_PEER_CA_MIGRATING, etcdPeerTrust, readCaFamily, readCaFiles, trustBundle } from './rotation.js';
// Keys may be sealed (vault mode); certificates never are, and read through the same function.
import { readPrivateIfExists as readIfExists, writePrivate } from './vault.js';

export interface PkiReport {
  /** Certificates (paths relative to DIR) that did not exist before. */
  created: string[];
  kept: string[];
  reissued: { path: string; reason: string }[];
  /** Things an operator should act on that this run does not fix (e.g. CA close to expiry). */
  warnings: string[];
}

export interface EnsurePkiOptions {
  /** Client identities for mtls mode, e.g. ['haproxy', 'pgha']; [] otherwise. */
  clients: string[];
  /** The hosts (among `hosts`) that run etcd: each gets a peer certificate from etcd's peer CA. */
  etcdPeers?: string[];
  now?: Date;
  /** Goes into the CA's subject; defaults to the directory's name. */
  clusterName?: string;
  /**
   * Reissue every leaf, also those that are fine (`pgha rotate-certs`): fresh validity from the
   * current CA, keeping each usable key.
   */
  reissueAll?: boolean;
}

const KEY_MODE = 0o600;
const CERT_MODE = 0o644;
// Host and client names become directory and file names: refuse anything that could escape DIR/ssl.
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CLIENTS_DIR = 'clients';

const REGENERATE_HINT = 'run `pgha deploy DIR` to create missing certificates, or restore DIR/ssl from a backup';

function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name) || name === CLIENTS_DIR) {
    throw new UsageError(`invalid ${kind} name '${name}' for a certificate (letters, digits, '.', '_', '-'; not '${CLIENTS_DIR}')`);
  }
}

function checkUnique(kind: string, names: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new UsageError(`${kind} '${n}' is listed twice`);
    seen.add(n);
  }
}

interface LeafSpec {
  keyPath: string;
  certPath: string;
  sans: SubjectAltNames;
  commonName: string;
  extKeyUsage: ExtKeyUsage[];
  /** The CA that signs it, when not the cluster CA (etcd peer certificates). */
  issuer?: KeyAndCert;
  issue(keyPem: string): KeyAndCert;
}

export async function ensureClusterPki(dir: string, hosts: HostIdentity[], opts: EnsurePkiOptions): Promise<PkiReport> {
  const now = opts.now ?? new Date();
  const clusterName = opts.clusterName ?? basename(resolve(dir));
  for (const h of hosts) {
    checkName('host', h.name);
    if (isIP(h.ip) === 0) throw new UsageError(`host ${h.name}: ip_address '${h.ip}' is not an IPv4 or IPv6 address`);
  }
  for (const c of opts.clients) checkName('client', c);
  checkUnique(
    'host',
    hosts.map((h) => h.name),
  );
  checkUnique('client', opts.clients);

  const report: PkiReport = { created: [], kept: [], reissued: [], warnings: [] };
  const rel = (p: string) => relative(dir, p);
  const ssl = join(dir, 'ssl');
  await ensurePrivateDir(ssl);

  const cluster = await ensureCa(ssl, CLUSTER_CA, clusterName, now, report, rel, true);
  const ca = cluster.pair!;
  // etcd's peer CA is born with the cluster CA. A directory that has a cluster CA without it comes
  // from before it existed: its etcd members present node certificates to each other, and only a
  // CA rotation, whose phases let both kinds be trusted meanwhile, can move them to peer ones.
  const peerCa = (await ensureCa(ssl, ETCD_PEER_CA, clusterName, now, report, rel, cluster.created)).pair;
  const peerHosts = hosts.filter((h) => opts.etcdPeers?.includes(h.name));
  if (peerHosts.length && !peerCa && (await readCaFamily(dir, ETCD_PEER_CA)).next === undefined) {
    report.warnings.push(
      `etcd has no peer CA of its own (${rel(join(ssl, `${ETCD_PEER_CA.current}.crt`))}): its peer port accepts any certificate of the cluster CA that allows client use, including those of hosts that are not etcd members; run 'pgha rotate-certs DIR --ca' once to give etcd its own`,
    );
  }

  const leaves = leafSpecs(ssl, hosts, opts.clients, ca, now, peerCa ? { ca: peerCa, hosts: peerHosts } : undefined);

  // Decide everything first, then generate all missing keys concurrently (keygen dominates).
  const plans = (await Promise.all(leaves.map((leaf) => planLeaf(leaf, leaf.issuer ?? ca, now)))).map((p): LeafPlan =>
    opts.reissueAll && p.action === 'keep' ? { ...p, action: 'reissue', reason: 'rotation asked for' } : p,
  );
  const newKeys = await Promise.all(
    plans.map((p) => (p.action !== 'keep' && p.usableKey === undefined ? generateRsaKeyPemAsync() : Promise.resolve(undefined))),
  );

  for (const [i, plan] of plans.entries()) {
    const { leaf } = plan;
    if (plan.action === 'keep') {
      await enforceMode(leaf.keyPath, KEY_MODE);
      report.kept.push(rel(leaf.certPath));
      continue;
    }
    const keyPem = plan.usableKey ?? newKeys[i]!;
    const issued = leaf.issue(keyPem);
    // Key first: a crash between the two writes leaves a key/cert mismatch, which the next run
    // detects and repairs, never a new certificate without its key.
    if (keyPem !== plan.oldKeyPem) await writePrivate(dir, leaf.keyPath, keyPem, KEY_MODE);
    else await enforceMode(leaf.keyPath, KEY_MODE);
    await writeFileAtomic(leaf.certPath, issued.certPem, CERT_MODE);
    if (plan.action === 'create') report.created.push(rel(leaf.certPath));
    else report.reissued.push({ path: rel(leaf.certPath), reason: plan.reason });
  }
  return report;
}

/**
 * What ensureClusterPki would create (`missing`) or reissue (`stale`, with the reason), writing
 * nothing: for the read-only commands (render, deploy --check), which must not mint a CA or keys.
 * Paths are relative to DIR.
 */
export async function missingPki(
  dir: string,
  hosts: HostIdentity[],
  clients: string[],
  now = new Date(),
  etcdPeers: string[] = [],
): Promise<{ missing: string[]; stale: string[] }> {
  const rel = (p: string) => relative(dir, p);
  const ssl = join(dir, 'ssl');
  const caKey = await readIfExists(join(ssl, 'ca.key'));
  const caCert = await readIfExists(join(ssl, 'ca.crt'));
  const placeholder = { keyPem: '', certPem: '' };
  const leaves = leafSpecs(ssl, hosts, clients, placeholder, now);
  if (caKey === undefined || caCert === undefined) {
    // Without a CA every certificate would be issued anew; list what is absent.
    const absent = [caKey === undefined ? 'ssl/ca.key' : undefined, caCert === undefined ? 'ssl/ca.crt' : undefined];
    for (const leaf of leaves) if ((await readIfExists(leaf.certPath)) === undefined) absent.push(rel(leaf.certPath));
    return { missing: absent.filter((p): p is string => p !== undefined), stale: [] };
  }
  const ca = { keyPem: caKey, certPem: caCert };
  const [peerKey, peerCert] = [
    await readIfExists(join(ssl, `${ETCD_PEER_CA.current}.key`)),
    await readIfExists(join(ssl, `${ETCD_PEER_CA.current}.crt`)),
  ];
  if (peerKey !== undefined && peerCert !== undefined && etcdPeers.length) {
    const peerCa = { keyPem: peerKey, certPem: peerCert };
    leaves.push(...peerLeafSpecs(ssl, { ca: peerCa, hosts: hosts.filter((h) => etcdPeers.includes(h.name)) }, now));
  }
  const plans = await Promise.all(leaves.map((leaf) => planLeaf(leaf, leaf.issuer ?? ca, now, true)));
  return {
    missing: plans.flatMap((p) => (p.action === 'create' ? [rel(p.leaf.certPath)] : [])),
    stale: plans.flatMap((p) => (p.action === 'reissue' ? [`${rel(p.leaf.certPath)}: ${p.reason}`] : [])),
  };
}

/** etcd members' peer certificates: node-like (name, address, both usages), from etcd's peer CA. */
function peerLeafSpecs(ssl: string, peer: { ca: KeyAndCert; hosts: HostIdentity[] }, now: Date): LeafSpec[] {
  return peer.hosts.map((h) => {
    const host = { name: h.name, ip: h.ip };
    return {
      keyPath: join(ssl, h.name, 'etcd-peer.key'),
      certPath: join(ssl, h.name, 'etcd-peer.crt'),
      sans: nodeSans(host),
      commonName: h.name,
      extKeyUsage: nodeExtKeyUsage(host),
      issuer: peer.ca,
      issue: (keyPem: string) => issueNodeCert({ ca: peer.ca, host, now, keyPem }),
    };
  });
}

function leafSpecs(
  ssl: string,
  hosts: HostIdentity[],
  clients: string[],
  ca: KeyAndCert,
  now: Date,
  peer?: { ca: KeyAndCert; hosts: HostIdentity[] },
): LeafSpec[] {
  const leaves: LeafSpec[] = hosts.map((host) => ({
    keyPath: join(ssl, host.name, 'node.key'),
    certPath: join(ssl, host.name, 'node.crt'),
    sans: nodeSans(host),
    commonName: host.name,
    extKeyUsage: nodeExtKeyUsage(host),
    issue: (keyPem) => issueNodeCert({ ca, host, now, keyPem }),
  }));
  for (const name of clients) {
    leaves.push({
      keyPath: join(ssl, CLIENTS_DIR, `${name}.key`),
      certPath: join(ssl, CLIENTS_DIR, `${name}.crt`),
      sans: { dns: [], ips: [] },
      commonName: name,
      extKeyUsage: ['clientAuth'],
      issue: (keyPem) => issueClientCert({ ca, commonName: name, now, keyPem }),
    });
  }
  if (peer) leaves.push(...peerLeafSpecs(ssl, peer, now));
  return leaves;
}

type LeafPlan = { leaf: LeafSpec; oldKeyPem: string | undefined; usableKey: string | undefined } & (
  { action: 'keep' } | { action: 'create' } | { action: 'reissue'; reason: string }
);

async function planLeaf(leaf: LeafSpec, ca: KeyAndCert, now: Date, readOnly = false): Promise<LeafPlan> {
  if (!readOnly) await ensurePrivateDir(dirname(leaf.certPath));
  const keyPem = await readIfExists(leaf.keyPath);
  const certPem = await readIfExists(leaf.certPath);
  const usableKey = keyPem !== undefined && isUsableKey(keyPem) ? keyPem : undefined;
  const base = { leaf, oldKeyPem: keyPem, usableKey };
  if (certPem === undefined) return { ...base, action: 'create' };

  let reason: string | null;
  if (keyPem === undefined) reason = 'private key missing';
  else if (usableKey === undefined) reason = 'private key unusable (need an unencrypted RSA key of at least 2048 bits)';
  else if (!keyMatchesCert(usableKey, certPem)) reason = 'private key does not match the certificate';
  else {
    reason = needsReissue(certPem, {
      sans: leaf.sans,
      now,
      caCertPem: ca.certPem,
      commonName: leaf.commonName,
      extKeyUsage: leaf.extKeyUsage,
    });
  }
  return reason === null ? { ...base, action: 'keep' } : { ...base, action: 'reissue', reason };
}

function isUsableKey(keyPem: string): boolean {
  try {
    loadRsaKey(keyPem);
    return true;
  } catch {
    return false;
  }
}

async function mustRead(path: string): Promise<string> {
  const content = await readIfExists(path);
  if (content === undefined) throw new UsageError(`missing ${path}`, { hint: REGENERATE_HINT });
  return content;
}

async function listDir(path: string): Promise<{ name: string; isDir: boolean }[]> {
  try {
    return (await readdir(path, { withFileTypes: true })).map((e) => ({ name: e.name, isDir: e.isDirectory() }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * The PEMs the renderer needs. With `want`, exactly those hosts and clients are read and a missing
 * file is an error naming it; without, whatever DIR/ssl holds is returned.
 */
export async function readClusterPki(dir: string, want: { hosts?: string[]; clients?: string[] } = {}): Promise<ClusterPki> {
  const ssl = join(dir, 'ssl');
  const caFiles = await readCaFiles(dir);
  // What hosts and pgha's clients trust: during a CA rotation both CAs (src/pki/rotation.ts).
  const caCert = trustBundle(caFiles);

  const hostNames =
    want.hosts ??
    (
      await Promise.all(
        (await listDir(ssl))
          .filter((e) => e.isDir && e.name !== CLIENTS_DIR)
          .map(async (e) => ((await readIfExists(join(ssl, e.name, 'node.crt'))) !== undefined ? e.name : undefined)),
      )
    ).filter((n): n is string => n !== undefined);
  const clientNames =
    want.clients ??
    (await listDir(join(ssl, CLIENTS_DIR))).filter((e) => !e.isDir && e.name.endsWith('.crt')).map((e) => e.name.slice(0, -4));

  const nodes: ClusterPki['nodes'] = {};
  for (const name of [...hostNames].sort()) {
    checkName('host', name);
    nodes[name] = {
      cert: await mustRead(join(ssl, name, 'node.crt')),
      key: await mustRead(join(ssl, name, 'node.key')),
    };
  }
  const peerFiles = await readCaFamily(dir, ETCD_PEER_CA);
  const migrating = (await readIfExists(join(ssl, ETCD_PEER_CA_MIGRATING))) !== undefined;
  const peer = etcdPeerTrust(peerFiles, caCert, migrating);
  const peerNodes: NonNullable<ClusterPki['etcdPeer']>['nodes'] = {};
  // A member's peer certificate exists once the current peer CA issued it; before that (a rotation
  // bringing the peer CA in) the member presents its node certificate.
  if (peerFiles.current !== undefined) {
    for (const name of Object.keys(nodes)) {
      const [cert, key] = [await readIfExists(join(ssl, name, 'etcd-peer.crt')), await readIfExists(join(ssl, name, 'etcd-peer.key'))];
      if (cert !== undefined && key !== undefined) peerNodes[name] = { cert, key };
    }
  }
  const clients: ClusterPki['clients'] = {};
  for (const name of [...clientNames].sort()) {
    checkName('client', name);
    clients[name] = {
      cert: await mustRead(join(ssl, CLIENTS_DIR, `${name}.crt`)),
      key: await mustRead(join(ssl, CLIENTS_DIR, `${name}.key`)),
    };
  }
  return {
    caCert,
    ...(caFiles.previous !== undefined || caFiles.next !== undefined ? { caIssuer: caFiles.current } : {}),
    nodes,
    clients,
    ...(peer.ownCa ? { etcdPeer: { caCert: peer.trust, nodes: peerNodes } } : {}),
  };
}
