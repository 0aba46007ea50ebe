/**
 * `--cluster DIR`'s edge: the same round as the monitoring host's exporter
 * (./cluster-file-source.ts), over the description deploy would write there, computed from DIR
 * (src/components/monitoring/pgha-exporter.ts#exporterClusterFile): every data node's
 * GET /patroni, each etcd member's /health and /metrics, each HAProxy stats page, and on a
 * monitored cluster the exporters that carry the newest backup, the WAL archivers and PgBouncer's
 * targets. It trusts DIR/ssl's bundle and presents pgha's client certificate (DIR/ssl/clients/pgha),
 * which an mtls REST API, etcd without RBAC, HAProxy's stats listener and the exporters' TLS all
 * admit; nothing else secret is read. Beside them, the days left on every certificate of DIR/ssl
 * and DIR/ssl/clients, read each round (deploy may have renewed one).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exporterClusterFile } from '../../components/monitoring/pgha-exporter.js';
import type { TlsMaterial } from '../../transport/https.js';
import { privateOrUndefined, probeContext } from '../live/probe.js';
import type { Collection } from './answer.js';
import type { CertificateRead } from './cluster-extras.js';
import { describedClusterCollect } from './cluster-file-source.js';
import { parseClusterFile } from './cluster-file.js';

export interface ClusterScraper {
  /** The cluster's name and its data nodes, for the start line. */
  scope: string;
  members: string[];
  collect: () => Promise<Collection>;
}

/** Every certificate of the cluster directory, named as its file is (`clients/pgha.crt`); none when a folder cannot be listed. */
async function readCertificates(ssl: string): Promise<CertificateRead[]> {
  const reads: CertificateRead[] = [];
  for (const sub of ['', 'clients']) {
    const names = await readdir(join(ssl, sub)).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.crt')).sort()) {
      reads.push({ name: sub ? `${sub}/${name}` : name, pem: await readFile(join(ssl, sub, name), 'utf8').catch(() => undefined) });
    }
  }
  return reads;
}

export async function clusterScraper(dir: string, timeoutSeconds: number): Promise<ClusterScraper> {
  const ctx = await probeContext(dir);
  const tls: TlsMaterial = {
    ca: ctx.tls.ca,
    cert: await readFile(join(ctx.paths.ssl, 'clients', 'pgha.crt'), 'utf8').catch(() => undefined),
    key: await privateOrUndefined(join(ctx.paths.ssl, 'clients', 'pgha.key')),
  };
  const desc = parseClusterFile(ctx.paths.config, JSON.stringify(exporterClusterFile(ctx.cluster)));
  return {
    scope: ctx.cluster.name,
    members: desc.patroni.map((e) => e.name),
    collect: describedClusterCollect(desc, tls, timeoutSeconds, () => readCertificates(ctx.paths.ssl)),
  };
}
