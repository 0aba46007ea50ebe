/**
 * `--cluster-file FILE`: what a monitoring host's exporter scrapes, as deploy writes it there
 * (src/components/monitoring/pgha-exporter.ts) — the cluster's name, each member's REST API by
 * address, and the paths of the CA and of the host's own certificate and key. It holds no
 * secret and needs no cluster directory: config.yml, its schema and SSH stay on the operator's
 * machine. Pure: the file's text in, the checked description or a UsageError naming the field out.
 *
 * {
 *   "scope": "main",
 *   "tls": { "ca": "/etc/pgha-exporter/ssl/ca.crt", "cert": "…/node.crt", "key": "…/node.key" },
 *   "patroni": [{ "name": "pg1", "url": "https://10.0.0.11:8008" }],
 *   "etcd": [{ "name": "pg1", "url": "https://10.0.0.11:2379" }],
 *   "haproxy": [{ "name": "proxy1", "url": "https://10.0.0.20:8404/stats;csv" }],
 *   "backups": [{ "name": "backup1", "url": "https://10.0.0.30:9100/metrics" }],
 *   "archive": [{ "name": "pg1", "url": "https://10.0.0.11:9187/metrics" }],
 *   "pgbouncer": [{ "name": "pg1", "url": "https://10.0.0.11:9127/metrics" }],
 *   "certificates": [{ "name": "ca", "path": "/etc/pgha-exporter/ssl/ca.crt" }]
 * }
 * `etcd`, `haproxy`, `backups` (each repository host's node_exporter), `archive` (each data
 * node's postgres_exporter, where WAL is archived), `pgbouncer` (each PgBouncer host's
 * pgbouncer_exporter) and `certificates` may be absent (nothing of that kind is read).
 */
import { isIP } from 'node:net';
import { UsageError } from '../../errors.js';

export interface Endpoint {
  /** The host's name in config.yml: the `member` (or `host`) label. */
  name: string;
  url: URL;
}

export interface ClusterFile {
  scope: string;
  tls: { ca: string; cert: string | undefined; key: string | undefined };
  patroni: Endpoint[];
  etcd: Endpoint[];
  haproxy: Endpoint[];
  backups: Endpoint[];
  archive: Endpoint[];
  pgbouncer: Endpoint[];
  certificates: { name: string; path: string }[];
}

const HINT = 'deploy writes this file on the monitoring host (/etc/pgha-exporter/cluster.json); run `pgha deploy DIR` again';

function fail(file: string, field: string, what: string): UsageError {
  return new UsageError(`--cluster-file: ${file}: ${field} ${what}`, { hint: HINT });
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function text(file: string, field: string, v: unknown, optional = false): string | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || !v.trim()) throw fail(file, field, 'must be a non-empty string');
  return v;
}

function endpoints(file: string, field: string, v: unknown, optional: boolean): Endpoint[] {
  if (v === undefined && optional) return [];
  if (!Array.isArray(v)) throw fail(file, field, 'must be a list of {name, url}');
  return v.map((item, i) => {
    const o = record(item);
    if (!o) throw fail(file, `${field}[${i}]`, 'must be an object {name, url}');
    const name = text(file, `${field}[${i}].name`, o.name)!;
    const raw = text(file, `${field}[${i}].url`, o.url)!;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw fail(file, `${field}[${i}].url`, 'is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(file, `${field}[${i}].url`, 'must be http or https');
    // Certificates of the cluster CA name their host by address: that is what gets verified.
    if (!isIP(url.hostname.replace(/^\[|\]$/g, ''))) throw fail(file, `${field}[${i}].url`, 'must name the host by its address');
    if (url.username || url.password) throw fail(file, `${field}[${i}].url`, 'must not carry credentials');
    return { name, url };
  });
}

export function parseClusterFile(file: string, content: string): ClusterFile {
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    throw fail(file, 'the file', 'is not JSON');
  }
  const o = record(doc);
  if (!o) throw fail(file, 'the file', 'must be a JSON object');
  const tls = record(o.tls);
  if (!tls) throw fail(file, 'tls', 'must be an object {ca, cert, key}');
  const cert = text(file, 'tls.cert', tls.cert, true);
  const key = text(file, 'tls.key', tls.key, true);
  if ((cert === undefined) !== (key === undefined)) throw fail(file, 'tls', 'must name both cert and key, or neither');
  const patroni = endpoints(file, 'patroni', o.patroni, false);
  if (!patroni.length) throw fail(file, 'patroni', 'names no member');
  const certificates = o.certificates === undefined ? [] : o.certificates;
  if (!Array.isArray(certificates)) throw fail(file, 'certificates', 'must be a list of {name, path}');
  return {
    scope: text(file, 'scope', o.scope)!,
    tls: { ca: text(file, 'tls.ca', tls.ca)!, cert, key },
    patroni,
    etcd: endpoints(file, 'etcd', o.etcd, true),
    haproxy: endpoints(file, 'haproxy', o.haproxy, true),
    backups: endpoints(file, 'backups', o.backups, true),
    archive: endpoints(file, 'archive', o.archive, true),
    pgbouncer: endpoints(file, 'pgbouncer', o.pgbouncer, true),
    certificates: certificates.map((c: unknown, i) => {
      const r = record(c);
      if (!r) throw fail(file, `certificates[${i}]`, 'must be an object {name, path}');
      return { name: text(file, `certificates[${i}].name`, r.name)!, path: text(file, `certificates[${i}].path`, r.path)! };
    }),
  };
}
