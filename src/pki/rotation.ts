/**
 * The cluster CA's rotation on disk (docs/architecture.md#rotating-certificates), DIR/ssl:
 *   ca.key, ca.crt                    the issuing CA: every leaf is signed by it
 *   ca-next.key, ca-next.crt          a new CA, trusted but not yet issuing (phase trust-both)
 *   ca-previous.key, ca-previous.crt  the old CA, still trusted, no longer issuing (phase issue-new)
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

export const CA_CURRENT = 'ca';
export const CA_NEXT = 'ca-next';
export const CA_PREVIOUS = 'ca-previous';

export interface CaFiles {
  previous?: string;
  current: string;
  next?: string;
}

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, each normalised to end with one newline. */
export function pemCertificates(text: string): string[] {
  return [...text.matchAll(PEM_RE)].map((m) => `${m[0]}\n`);
}

/**
 * The trust bundle: previous, current, next, each once. Pure. The current CA alone is returned
 * byte for byte, so a cluster that never rotated keeps the ca.crt its hosts have.
 */
export function trustBundle(files: CaFiles): string {
  if (files.previous === undefined && files.next === undefined) return files.current;
  const certs = [files.previous, files.current, files.next].flatMap((t) => (t === undefined ? [] : pemCertificates(t)));
  return [...new Set(certs)].join('');
}

function caPaths(dir: string, name: string): { key: string; cert: string } {
  return { key: join(dir, 'ssl', `${name}.key`), cert: join(dir, 'ssl', `${name}.crt`) };
}

/** The CA certificates DIR/ssl holds (the current one must exist). */
export async function readCaFiles(dir: string): Promise<CaFiles> {
  const [previous, current, next] = await Promise.all(
    [CA_PREVIOUS, CA_CURRENT, CA_NEXT].map((n) => readPublicIfExists(caPaths(dir, n).cert)),
  );
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
export async function stageNextCa(dir: string, clusterName: string, now: Date): Promise<'created' | 'kept'> {
  const p = caPaths(dir, CA_NEXT);
  const [key, cert] = [await readPrivateIfExists(p.key), await readPublicIfExists(p.cert)];
  if (key !== undefined && cert !== undefined && keyMatchesCert(key, cert)) return 'kept';
  const ca = issueCa({ clusterName, now, keyPem: key ?? (await generateRsaKeyPemAsync()) });
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
export async function promoteNextCa(dir: string): Promise<void> {
  const cur = caPaths(dir, CA_CURRENT);
  const prev = caPaths(dir, CA_PREVIOUS);
  const next = caPaths(dir, CA_NEXT);
  if (!(await exists(next.cert)) && !(await exists(next.key))) return;
  await moveOnce(cur.key, prev.key);
  await moveOnce(cur.cert, prev.cert);
  await moveOnce(next.key, cur.key);
  await moveOnce(next.cert, cur.cert);
  if ((await exists(next.cert)) || (await exists(next.key))) {
    throw new UsageError(`${dirname(next.cert)}: the new CA (ca-next.*) could not replace ca.*`, {
      hint: 'ca.key/ca.crt and ca-next.key/ca-next.crt both exist: restore DIR/ssl from a backup',
    });
  }
}

/** Phase drop-old: the old CA's certificate leaves the bundle. */
export async function dropPreviousCaCert(dir: string): Promise<void> {
  await rm(caPaths(dir, CA_PREVIOUS).cert, { force: true });
}

/** The end: the old CA's key is deleted, once no host trusts it any more. */
export async function dropPreviousCaKey(dir: string): Promise<void> {
  await rm(caPaths(dir, CA_PREVIOUS).key, { force: true });
}
