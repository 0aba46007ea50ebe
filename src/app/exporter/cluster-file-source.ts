/**
 * `--cluster-file FILE`'s edge: reads the file and the TLS material it names once at start (a
 * file missing or unreadable there is exit 2, before anything listens), then each round reads,
 * concurrently, every member's /patroni through PatroniClient — node's https, verified with the
 * CA, presenting the host's certificate where the REST API requires mtls — and, where the file
 * names them, each etcd member's /health and /metrics, each HAProxy stats page's CSV, each
 * repository host's node_exporter, each data node's postgres_exporter and each PgBouncer host's
 * pgbouncer_exporter (same CA and client certificate), and the certificate files. Every connection verifies its peer.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { PatroniClient } from '../../patroni/client.js';
import { NodeHttpRequester, type TlsMaterial } from '../../transport/https.js';
import type { Collection, ExporterSource } from './answer.js';
import { archiveFamilies, backupFamilies } from './cluster-backups.js';
import { certificateFamilies, etcdFamilies, haproxyFamilies, type Answer, type CertificateRead } from './cluster-extras.js';
import { pgbouncerFamilies } from './cluster-pgbouncer.js';
import { parseClusterFile, type ClusterFile, type Endpoint } from './cluster-file.js';
import { clusterCollection, type MemberScrape } from './cluster-page.js';
import { scrapeMember } from './member-scrape.js';

function readStart(flag: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'deploy writes it on the monitoring host, readable by the exporter’s user (prometheus); run `pgha deploy DIR` again',
    });
  }
}

function target(e: Endpoint): { ip: string; port: number; servername: string; https: boolean } {
  const https = e.url.protocol === 'https:';
  return { ip: e.url.hostname.replace(/^\[|\]$/g, ''), port: Number(e.url.port || (https ? 443 : 80)), servername: e.name, https };
}

/** One GET; undefined when no answer came (refused, timed out, TLS refused): that target's 0. */
async function get(e: Endpoint, path: string, tls: TlsMaterial, timeoutMs: number): Promise<Answer> {
  const t = target(e);
  const http = new NodeHttpRequester(t, tls, undefined, t.https ? 'https' : 'http');
  try {
    const res = await http.request({ method: 'GET', path, timeoutMs });
    return { status: res.status, text: res.text };
  } catch {
    return undefined;
  } finally {
    await http.close();
  }
}

export function clusterFileSource(file: string, timeoutSeconds: number): ExporterSource {
  const desc = parseClusterFile(file, readStart('--cluster-file', file, 'the file'));
  const tls: TlsMaterial = { ca: readStart('--cluster-file', desc.tls.ca, 'the CA') };
  if (!tls.ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--cluster-file: ${desc.tls.ca} holds no PEM certificate`, { hint: 'run `pgha deploy DIR` again' });
  }
  if (desc.tls.cert !== undefined && desc.tls.key !== undefined) {
    tls.cert = readStart('--cluster-file', desc.tls.cert, 'the certificate');
    tls.key = readStart('--cluster-file', desc.tls.key, 'the key');
  }
  return {
    what: `cluster ${desc.scope} (${desc.patroni.map((e) => e.name).join(', ')}) from ${file}`,
    // Read each round: a certificate deploy renewed shows without a restart.
    collect: describedClusterCollect(desc, tls, timeoutSeconds, () =>
      Promise.all(desc.certificates.map(async (c) => ({ name: c.name, pem: await readFile(c.path, 'utf8').catch(() => undefined) }))),
    ),
  };
}

/**
 * One round over a described cluster (the monitoring host's file, or `--cluster DIR`'s own
 * description: ./cluster.ts): every member's /patroni and every other target the description
 * names, concurrently, with `tls`; `certificates` reads the certificate files to report.
 */
export function describedClusterCollect(
  desc: ClusterFile,
  tls: TlsMaterial,
  timeoutSeconds: number,
  certificates: () => Promise<CertificateRead[]>,
): () => Promise<Collection> {
  const timeoutMs = Math.round(timeoutSeconds * 1000);
  const members = desc.patroni.map((e) => {
    const t = target(e);
    return { member: e.name, client: new PatroniClient({ host: e.name, ip: t.ip, port: t.port }, { tls, ssl: t.https }) };
  });
  const path = (e: Endpoint) => `${e.url.pathname}${e.url.search}`;
  return async (): Promise<Collection> => {
    const started = process.hrtime.bigint();
    const [scrapes, etcd, haproxy, backups, archive, pgbouncer, certs] = await Promise.all([
      Promise.all(
        members.map(async (m): Promise<MemberScrape> => ({ member: m.member, scrape: await scrapeMember(m.client, timeoutSeconds) })),
      ),
      Promise.all(
        desc.etcd.map(async (e) => {
          const [health, metrics] = await Promise.all([get(e, '/health', tls, timeoutMs), get(e, '/metrics', tls, timeoutMs)]);
          return { member: e.name, health, metrics };
        }),
      ),
      Promise.all(desc.haproxy.map(async (e) => ({ host: e.name, csv: await get(e, path(e), tls, timeoutMs) }))),
      Promise.all(desc.backups.map(async (e) => ({ host: e.name, metrics: await get(e, path(e), tls, timeoutMs) }))),
      Promise.all(desc.archive.map(async (e) => ({ member: e.name, metrics: await get(e, path(e), tls, timeoutMs) }))),
      Promise.all(desc.pgbouncer.map(async (e) => ({ host: e.name, metrics: await get(e, path(e), tls, timeoutMs) }))),
      certificates(),
    ]);
    const extra = [
      ...(etcd.length ? etcdFamilies(desc.scope, etcd) : []),
      ...(haproxy.length ? haproxyFamilies(desc.scope, haproxy) : []),
      ...(backups.length ? backupFamilies(desc.scope, backups, Date.now() / 1000) : []),
      ...(archive.length ? archiveFamilies(desc.scope, archive) : []),
      ...(pgbouncer.length ? pgbouncerFamilies(desc.scope, pgbouncer) : []),
      ...(certs.length ? certificateFamilies(desc.scope, certs) : []),
    ];
    return clusterCollection(desc.scope, scrapes, Number(process.hrtime.bigint() - started) / 1e9, extra);
  };
}
