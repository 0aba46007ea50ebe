/** The expiry of the cluster CA, etcd's peer CA and every host's node certificate, read from DIR/ssl (what `pgha status` lists). */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedHost } from '../../model/types.js';
import type { ClusterPaths } from '../cluster-paths.js';

export interface CertificateStatus {
  host: string;
  notAfter: string;
  daysLeft: number;
}

export async function certificateStatus(paths: ClusterPaths, hosts: readonly ResolvedHost[], now: Date): Promise<CertificateStatus[]> {
  const one = async (host: string, file: string): Promise<CertificateStatus | undefined> => {
    try {
      const cert = new X509Certificate(await readFile(file));
      const end = new Date(cert.validTo);
      return { host, notAfter: end.toISOString(), daysLeft: Math.floor((end.getTime() - now.getTime()) / 86_400_000) };
    } catch {
      return undefined;
    }
  };
  const all = await Promise.all([
    one('CA', join(paths.ssl, 'ca.crt')),
    one('etcd peer CA', join(paths.ssl, 'etcd-peer-ca.crt')),
    ...hosts.map((h) => one(h.name, join(paths.ssl, h.name, 'node.crt'))),
  ]);
  return all.filter((c): c is CertificateStatus => c !== undefined);
}
