/**
 * A CA in DIR/ssl (the cluster CA, etcd's peer CA: src/pki/rotation.ts), created or checked.
 */
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { daysLeft, generateRsaKeyPemAsync, issueCa, type KeyAndCert, keyMatchesCert } from './certs.js';
import { enforceMode, writeFileAtomic } from './files.js';
import { type CaFamily, CLUSTER_CA } from './rotation.js';
import { readPrivateIfExists as readIfExists, writePrivate } from './vault.js';

const KEY_MODE = 0o600;
const CERT_MODE = 0o644;
/** A CA with less than a year left is worth a warning on every run: rolling one takes planning. */
const CA_WARN_DAYS = 365;

/**
 * A CA of `family` as DIR/ssl holds it, checked. Absent, it is created when `create` says so
 * (`pair` undefined otherwise); half of one is refused.
 */
export async function ensureCa(
  ssl: string,
  family: CaFamily,
  clusterName: string,
  now: Date,
  report: { created: string[]; kept: string[]; warnings: string[] },
  rel: (p: string) => string,
  create: boolean,
): Promise<{ pair?: KeyAndCert; created: boolean }> {
  const keyPath = join(ssl, `${family.current}.key`);
  const certPath = join(ssl, `${family.current}.crt`);
  const keyPem = await readIfExists(keyPath);
  const certPem = await readIfExists(certPath);
  const title = family === CLUSTER_CA ? 'cluster CA' : family.title;

  if (keyPem === undefined && certPem === undefined) {
    if (!create) return { created: false };
    const ca = issueCa({ clusterName, now, title: family.title, keyPem: await generateRsaKeyPemAsync() });
    await writePrivate(dirname(ssl), keyPath, ca.keyPem, KEY_MODE);
    await writeFileAtomic(certPath, ca.certPem, CERT_MODE);
    report.created.push(rel(certPath));
    return { pair: ca, created: true };
  }
  // Never replace half a CA silently: every host trusts the old certificate, and a new CA would
  // mean reissuing and redeploying everything. That has to be the operator's decision.
  if (keyPem === undefined || certPem === undefined) {
    const missing = keyPem === undefined ? keyPath : certPath;
    throw new UsageError(`${title} incomplete: ${missing} is missing`, {
      hint: 'restore it from a backup; to start a new CA, remove DIR/ssl entirely and redeploy every host',
    });
  }
  if (!keyMatchesCert(keyPem, certPem)) {
    throw new UsageError(`${keyPath} does not belong to ${certPath}`, {
      hint: 'restore the matching pair from a backup',
    });
  }
  await enforceMode(keyPath, KEY_MODE);
  const left = daysLeft(certPem, now);
  if (left < CA_WARN_DAYS) {
    report.warnings.push(
      left <= 0
        ? `${title} ${rel(certPath)} has expired; TLS between cluster members will fail`
        : `${title} ${rel(certPath)} expires in ${Math.floor(left)} days; run 'pgha rotate-certs DIR --ca' to roll a new one`,
    );
  }
  report.kept.push(rel(certPath));
  return { pair: { keyPem, certPem }, created: false };
}
