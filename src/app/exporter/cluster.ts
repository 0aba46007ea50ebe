/**
 * `--cluster DIR`'s edge: every data node's GET /patroni, concurrently, through the cluster's
 * own REST clients — verified with DIR/ssl/ca.crt, and with pgha's client certificate where the
 * REST API requires one (mtls) — exactly as `pgha status` reads members. Nothing secret is
 * needed or read: GET /patroni takes no password. Beside them, the days left on every
 * certificate of DIR/ssl and DIR/ssl/clients, read each round (deploy may have renewed one).
 * etcd and HAProxy are read only by the monitoring host's exporter (./cluster-file-source.ts):
 * from an operator's machine they would need pgha's client certificate where `pgha status` asks
 * none of it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataNodes } from '../../components/common.js';
import { patroniClientFor, probeContext } from '../live/probe.js';
import type { Collection } from './answer.js';
import { certificateFamilies, type CertificateRead } from './cluster-extras.js';
import { clusterCollection, type MemberScrape } from './cluster-page.js';
import { scrapeMember } from './member-scrape.js';

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
  const members = dataNodes(ctx.cluster).map((h) => ({ member: h.name, client: patroniClientFor(ctx, h) }));
  return {
    scope: ctx.cluster.name,
    members: members.map((m) => m.member),
    collect: async () => {
      const started = process.hrtime.bigint();
      const [scrapes, certs] = await Promise.all([
        Promise.all(
          members.map(async (m): Promise<MemberScrape> => ({ member: m.member, scrape: await scrapeMember(m.client, timeoutSeconds) })),
        ),
        readCertificates(ctx.paths.ssl),
      ]);
      const extra = certs.length ? certificateFamilies(ctx.cluster.name, certs) : [];
      return clusterCollection(ctx.cluster.name, scrapes, Number(process.hrtime.bigint() - started) / 1e9, extra);
    },
  };
}
