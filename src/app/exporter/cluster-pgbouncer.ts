/**
 * What a cluster round adds for PgBouncer (issue 15), where pgbouncer_exporter runs (Debian 13,
 * src/components/monitoring/topology.ts): whether each PgBouncer answers, and where it sends
 * clients — the `host` of every database row of its SHOW DATABASES, as pgbouncer_exporter labels
 * `pgbouncer_databases_*` (pgha points every database at the leader: src/components/pgbouncer).
 * Reading the exporter rather than PgBouncer keeps pgha's exporter free of credentials. Pure.
 */
import { pageValue, type Answer } from './cluster-extras.js';
import type { MetricFamily, Sample } from './exposition.js';

export interface PgbouncerRead {
  host: string;
  /** Its pgbouncer_exporter's /metrics. */
  metrics: Answer;
}

/** `name{a="x",b="y"} v` → its labels, for the samples named `name`; escapes as the text format writes them. */
function labelsOf(page: string, name: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const line of page.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    const labels: Record<string, string> = {};
    for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push(labels);
  }
  return out;
}

/** The backend addresses a PgBouncer's databases point at, sorted, each once (the console's own row has none). */
export function pgbouncerTargets(page: string): string[] {
  const hosts = labelsOf(page, 'pgbouncer_databases_current_connections').map((l) => l.host ?? '');
  return [...new Set(hosts.filter((h) => h !== ''))].sort();
}

/** 1 when the exporter answered and says its PgBouncer answered it (pgbouncer_up). */
function up(a: Answer): number {
  return a?.status === 200 && pageValue(a.text, 'pgbouncer_up') === 1 ? 1 : 0;
}

export function pgbouncerFamilies(scope: string, reads: readonly PgbouncerRead[]): MetricFamily[] {
  return [
    {
      name: 'pgha_pgbouncer_up',
      help: "1 when the PgBouncer host's pgbouncer_exporter answered and could read PgBouncer's console, 0 otherwise.",
      type: 'gauge',
      samples: reads.map((r) => ({ labels: { scope, host: r.host }, value: up(r.metrics) })),
    },
    {
      name: 'pgha_pgbouncer_target_info',
      help: 'A server address this PgBouncer sends clients to (its databases, SHOW DATABASES): 1 per address. pgha points them all at the leader.',
      type: 'gauge',
      samples: reads.flatMap((r): Sample[] =>
        up(r.metrics) ? pgbouncerTargets(r.metrics!.text).map((target) => ({ labels: { scope, host: r.host, target }, value: 1 })) : [],
      ),
    },
  ];
}
