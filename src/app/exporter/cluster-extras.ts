/**
 * What a cluster round adds beside Patroni (issue 15), as metric families: each etcd member's
 * health and leadership, each HAProxy backend server's state, and the days left on the
 * certificates the exporter can read. Pure: what was read comes in (an answer, or nothing when
 * the target did not answer), families come out. A target that did not answer is its own 0
 * (`…_up`), never a failed page, and its other samples are absent rather than made up.
 */
import { X509Certificate } from 'node:crypto';
import { parseStatsCsv } from '../../components/haproxy/live.js';
import type { MetricFamily, Sample } from './exposition.js';

/** An HTTP answer, or undefined when there was none (refused, timed out, TLS refused). */
export type Answer = { status: number; text: string } | undefined;

export interface EtcdRead {
  member: string;
  health: Answer;
  metrics: Answer;
}

export interface HaproxyRead {
  host: string;
  csv: Answer;
}

export interface CertificateRead {
  name: string;
  /** The PEM text, or undefined when the file could not be read. */
  pem: string | undefined;
}

function gauge(name: string, help: string, samples: Sample[]): MetricFamily {
  return { name, help, type: 'gauge', samples };
}

/** etcd's /health: `{"health":"true"}` (a string in 3.4/3.5) with 200. */
export function etcdHealthy(a: Answer): boolean {
  if (!a || a.status !== 200) return false;
  try {
    return String((JSON.parse(a.text) as { health?: unknown }).health) === 'true';
  } catch {
    return false;
  }
}

/** One unlabelled sample's value from a Prometheus text page (etcd's own /metrics), or undefined. */
export function pageValue(page: string, metric: string): number | undefined {
  for (const line of page.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    // The name must end here: `etcd_server_is_leader` is not `etcd_server_is_leader_changes…`.
    const m = /^(?:\{[^}]*\})?\s+(\S+)/.exec(rest);
    if (m) {
      const v = Number(m[1]);
      if (!Number.isNaN(v)) return v;
    }
  }
  return undefined;
}

export function etcdFamilies(scope: string, reads: readonly EtcdRead[]): MetricFamily[] {
  const l = (r: EtcdRead) => ({ scope, member: r.member });
  const fromMetrics = (r: EtcdRead, metric: string): Sample[] => {
    const v = r.metrics?.status === 200 ? pageValue(r.metrics.text, metric) : undefined;
    return v === undefined ? [] : [{ labels: l(r), value: v }];
  };
  return [
    gauge(
      'pgha_etcd_up',
      "1 when the etcd member's /health answered over TLS with the cluster CA, 0 when it did not.",
      reads.map((r) => ({ labels: l(r), value: r.health ? 1 : 0 })),
    ),
    gauge(
      'pgha_etcd_healthy',
      'etcd /health says the member is healthy (it has a leader and can serve reads): 1/0.',
      reads.map((r) => ({ labels: l(r), value: etcdHealthy(r.health) ? 1 : 0 })),
    ),
    gauge(
      'pgha_etcd_has_leader',
      "etcd_server_has_leader from the member's /metrics: 1 when it knows a leader.",
      reads.flatMap((r) => fromMetrics(r, 'etcd_server_has_leader')),
    ),
    gauge(
      'pgha_etcd_is_leader',
      "etcd_server_is_leader from the member's /metrics: 1 on the etcd leader.",
      reads.flatMap((r) => fromMetrics(r, 'etcd_server_is_leader')),
    ),
  ];
}

export function haproxyFamilies(scope: string, reads: readonly HaproxyRead[]): MetricFamily[] {
  const servers: Sample[] = [];
  for (const r of reads) {
    if (r.csv?.status !== 200) continue;
    for (const s of parseStatsCsv(r.csv.text)) {
      servers.push({ labels: { scope, host: r.host, backend: s.backend, server: s.server }, value: s.state === 'UP' ? 1 : 0 });
    }
  }
  return [
    gauge(
      'pgha_haproxy_up',
      "1 when the HAProxy host's stats page answered with its CSV, 0 when it did not.",
      reads.map((r) => ({ labels: { scope, host: r.host }, value: r.csv?.status === 200 ? 1 : 0 })),
    ),
    gauge('pgha_haproxy_server_up', 'A backend server HAProxy sends clients to: 1 UP, 0 DOWN, MAINT or DRAIN.', servers),
  ];
}

/** Whole and fractional days from `nowMs` until the certificate expires; negative once it has. */
/** When the certificate stops being valid, in seconds since the epoch; undefined if it does not parse. */
export function notAfterSeconds(pem: string): number | undefined {
  try {
    return new Date(new X509Certificate(pem).validTo).getTime() / 1000;
  } catch {
    return undefined;
  }
}

/**
 * A timestamp, not days left: Prometheus' metric names carry base units (promtool check metrics
 * refuses `_days`), and `… - time()` gives the time left in a rule or a panel.
 */
export function certificateFamilies(scope: string, reads: readonly CertificateRead[]): MetricFamily[] {
  const ends = reads.map((r) => ({ r, t: r.pem === undefined ? undefined : notAfterSeconds(r.pem) }));
  return [
    gauge(
      'pgha_certificate_readable',
      'The exporter could read and parse this certificate file: 1/0.',
      ends.map(({ r, t }) => ({ labels: { scope, name: r.name }, value: t === undefined ? 0 : 1 })),
    ),
    gauge(
      'pgha_certificate_file_expiry_timestamp_seconds',
      'When this certificate file, as the exporter reads it at scrape time, stops being valid (seconds since the epoch).',
      ends.flatMap(({ r, t }) => (t === undefined ? [] : [{ labels: { scope, name: r.name }, value: t }])),
    ),
  ];
}
