/**
 * The cluster CA's rotation on disk (docs/architecture.md#rotating-certificates), DIR/ssl:
 *   ca.key, ca.crt                    the issuing CA: every leaf is signed by it
 *   ca-next.key, ca-next.crt          a new CA, trusted but not yet issuing (phase trust-both)
 *   ca-previous.key, ca-previous.crt  the old CA, still trusted, no longer issuing (phase issue-new)
 * and the same three for etcd's peer CA (etcd-peer-ca*.{key,crt}, ETCD_PEER_CA), which rolls with
 * the cluster CA in the same phases.
 *
 * The trust bundle every host and pgha's own clients use is the concatenation of the CAs present,
 * in the order previous, current, next: the same two certificates in the same order in both
 * overlap phases, so promoting the new CA changes the leaves and not the bundle (etcd, which
 * reads its trusted CA file only at start, restarts once per change of the bundle, not per phase).
 *
 * Each step is idempotent and looks at the files first, so a step interrupted anywhere is
 * finished by running it again.
 */
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { generateRsaKeyPemAsync, issueCa, keyMatchesCert } from './certs.js';
import { readIfExists as readPublicIfExists, writeFileAtomic } from './files.js';
import { readPrivateIfExists, writePrivate } from './vault.js';

/** A CA and its rotation: the file names (under DIR/ssl, without .key/.crt) of its three states. */
export interface CaFamily {
  current: string;
  next: string;
  previous: string;
  /** What the CA is, in its subject and in messages: `CA`, `etcd peer CA`. */
  title: string;
}

/** The cluster CA: every certificate but etcd's peer certificates. */
export const CLUSTER_CA: CaFamily = { current: 'ca', next: 'ca-next', previous: 'ca-previous', title: 'CA' };

/**
 * etcd's own CA for peer TLS: it signs only the etcd members' peer certificates, and etcd's peer
 * port trusts it alone, so no other host's certificate (a backup repository's, a monitoring
 * server's, both of which may act as TLS clients) can join etcd as a member. A CA rather than a
 * required common name because etcd 3.4 (Debian 12) reads no allowed-CN setting from its config file.
 */
export const ETCD_PEER_CA: CaFamily = {
  current: 'etcd-peer-ca',
  next: 'etcd-peer-ca-next',
  previous: 'etcd-peer-ca-previous',
  title: 'etcd peer CA',
};

export const CA_CURRENT = CLUSTER_CA.current;
export const CA_NEXT = CLUSTER_CA.next;
export const CA_PREVIOUS = CLUSTER_CA.previous;

/**
 * Marks a rotation that gives etcd its peer CA for the first time (a cluster directory from
 * before it existed): until the rotation's last phase etcd's peer port also trusts the cluster
 * CA, since members that have not restarted yet still present node certificates.
 */
export const ETCD_PEER_CA_MIGRATING = 'etcd-peer-ca.migrating';

export interface CaFiles {
  previous?: string;
  current: string;
  next?: string;
}

/** A family's certificates, each optional (etcd's peer CA may not exist yet). */
export type CaFamilyFiles = Partial<CaFiles>;

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, each normalised to end with one newline. */
export function pemCertificates(text: string): string[] {
  return [...text.matchAll(PEM_RE)].map((m) => `${m[0]}\n`);
}

/**
 * The trust bundle: previous, current, next, each once. Pure. The current CA alone is returned
 * byte for byte, so a cluster that never rotated keeps the ca.crt its hosts have.
 */
export function trustBundle(files: CaFamilyFiles): string {
  if (files.previous === undefined && files.next === undefined) return files.current ?? '';
  const certs = [files.previous, files.current, files.next].flatMap((t) => (t === undefined ? [] : pemCertificates(t)));
  return [...new Set(certs)].join('');
}

function caPaths(dir: string, name: string): { key: string; cert: string } {
  return { key: join(dir, 'ssl', `${name}.key`), cert: join(dir, 'ssl', `${name}.crt`) };
}

/** The certificates of a CA family DIR/ssl holds, each when present. */
export async function readCaFamily(dir: string, family: CaFamily): Promise<CaFamilyFiles> {
  const [previous, current, next] = await Promise.all(
    [family.previous, family.current, family.next].map((n) => readPublicIfExists(caPaths(dir, n).cert)),
  );
  return {
    ...(previous !== undefined ? { previous } : {}),
    ...(current !== undefined ? { current } : {}),
    ...(next !== undefined ? { next } : {}),
  };
}

/** The cluster CA certificates DIR/ssl holds (the current one must exist). */
export async function readCaFiles(dir: string): Promise<CaFiles> {
  const { previous, current, next } = await readCaFamily(dir, CLUSTER_CA);
  if (current === undefined) {
    throw new UsageError(`missing ${caPaths(dir, CA_CURRENT).cert}`, {
      hint: 'run `pgha deploy DIR` to create the cluster CA, or restore DIR/ssl from a backup',
    });
  }
  return { current, ...(previous !== undefined ? { previous } : {}), ...(next !== undefined ? { next } : {}) };
}

export async function readTrustBundle(dir: string): Promise<string> {
  return trustBundle(await readCaFiles(dir));
}

/**
 * Phase trust-both: a new CA in ssl/ca-next.*, unless a matching pair is already there (a
 * resumed run keeps the CA the hosts may already trust). Key first, then the certificate.
 */
export async function stageNextCa(dir: string, clusterName: string, now: Date, family = CLUSTER_CA): Promise<'created' | 'kept'> {
  const p = caPaths(dir, family.next);
  const [key, cert] = [await readPrivateIfExists(p.key), await readPublicIfExists(p.cert)];
  if (key !== undefined && cert !== undefined && keyMatchesCert(key, cert)) return 'kept';
  // A family with no current CA gets its first one by this rotation: marked before anything else,
  // so a resumed run still knows (the marker outlives the promotion that creates a current CA).
  if (family === ETCD_PEER_CA && !(await exists(caPaths(dir, family.current).cert))) {
    await writeFileAtomic(
      join(dir, 'ssl', ETCD_PEER_CA_MIGRATING),
      'etcd peers trust the cluster CA too until the CA rotation ends\n',
      0o644,
    );
  }
  const ca = issueCa({ clusterName, now, title: family.title, keyPem: key ?? (await generateRsaKeyPemAsync()) });
  if (key === undefined) await writePrivate(dir, p.key, ca.keyPem, 0o600);
  await writeFileAtomic(p.cert, ca.certPem, 0o644);
  return 'created';
}

async function exists(path: string): Promise<boolean> {
  return (await readPublicIfExists(path)) !== undefined;
}

/** Renames `from` to `to` when `from` exists and `to` does not; otherwise leaves both. */
async function moveOnce(from: string, to: string): Promise<void> {
  if ((await exists(from)) && !(await exists(to))) await rename(from, to);
}

/**
 * Phase issue-new: the old CA becomes ca-previous.*, the new one ca.*. Four renames, each done
 * only when its source exists and its target does not, so a crash between any two is finished
 * by running this again (and `ensureCa` refuses the half-moved CA meanwhile).
 */
export async function promoteNextCa(dir: string, family = CLUSTER_CA): Promise<void> {
  const cur = caPaths(dir, family.current);
  const prev = caPaths(dir, family.previous);
  const next = caPaths(dir, family.next);
  if (!(await exists(next.cert)) && !(await exists(next.key))) return;
  await moveOnce(cur.key, prev.key);
  await moveOnce(cur.cert, prev.cert);
  await moveOnce(next.key, cur.key);
  await moveOnce(next.cert, cur.cert);
  if ((await exists(next.cert)) || (await exists(next.key))) {
    throw new UsageError(`${dirname(next.cert)}: the new ${family.title} (${family.next}.*) could not replace ${family.current}.*`, {
      hint: `${family.current}.key/${family.current}.crt and ${family.next}.key/${family.next}.crt both exist: restore DIR/ssl from a backup`,
    });
  }
}

/**
 * Phase drop-old: the old CA's certificate leaves the bundle; for etcd's peer CA also the cluster
 * CA, which its peer port trusted while the members moved to peer certificates.
 */
export async function dropPreviousCaCert(dir: string, family = CLUSTER_CA): Promise<void> {
  await rm(caPaths(dir, family.previous).cert, { force: true });
  if (family === ETCD_PEER_CA) await rm(join(dir, 'ssl', ETCD_PEER_CA_MIGRATING), { force: true });
}

/** The end: the old CA's key is deleted, once no host trusts it any more. */
export async function dropPreviousCaKey(dir: string, family = CLUSTER_CA): Promise<void> {
  await rm(caPaths(dir, family.previous).key, { force: true });
}

/**
 * What etcd's peer port trusts and which certificate a member presents there, from the files in
 * DIR/ssl. Pure.
 *   - no etcd peer CA at all (a directory from before it existed): the cluster CA and each
 *     member's node certificate, as before;
 *   - otherwise the peer CA's bundle, plus the cluster's while a rotation brings the peer CA in
 *     (`migrating`), and the peer certificate once a current peer CA has issued one.
 */
export function etcdPeerTrust(peer: CaFamilyFiles, clusterBundle: string, migrating: boolean): { trust: string; ownCa: boolean } {
  const own = trustBundle(peer);
  if (own === '') return { trust: clusterBundle, ownCa: false };
  return { trust: migrating ? [...new Set([...pemCertificates(clusterBundle), ...pemCertificates(own)])].join('') : own, ownCa: true };
}
