/**
 * Prometheus' text exposition format, version 0.0.4: metric families (a name, its help, its type
 * and its samples) written as `# HELP`, `# TYPE` and one line per sample. Pure: no I/O, no
 * clock. Gauges for readings of state at scrape time (an info metric is a gauge of 1 in this
 * version of the format); counters (named `…_total`) for the few totals read from PostgreSQL's
 * statistics, so that rate() and increase() treat a reset as one.
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** `__`-prefixed label names are reserved for Prometheus itself. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as the format quotes it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes only backslash and line feed (a quote is literal there). */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's ParseFloat spellings Prometheus reads; integers print without an exponent up to 2^53. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels);
  if (!names.length) return '';
  return `{${names.map((n) => `${n}="${escapeLabelValue(labels[n] ?? '')}"`).join(',')}}`;
}

/**
 * The text of all families, each declared once before its samples. A family without samples is
 * left out (its HELP alone would tell a reader nothing was measured in a way alerts cannot see).
 * A malformed name is a programming error, so it throws rather than emit a page Prometheus rejects.
 */
export function renderExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid metric name ${JSON.stringify(f.name)}`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) throw new Error(`counter ${f.name} must end in _total`);
    if (seen.has(f.name)) throw new Error(`metric family ${f.name} declared twice`);
    seen.add(f.name);
    if (!f.samples.length) continue;
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      for (const n of Object.keys(s.labels)) {
        if (!LABEL_NAME.test(n) || n.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(n)} on ${f.name}`);
      }
      out.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * Families of several sources (the members of a cluster) as one list: samples of one name under
 * one declaration, in the order names first appear. Help and type are the first source's; every
 * source builds them from the same code.
 */
export function mergeFamilies(lists: readonly (readonly MetricFamily[])[]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const list of lists) {
    for (const f of list) {
      const seen = byName.get(f.name);
      if (seen) seen.samples.push(...f.samples);
      else byName.set(f.name, { ...f, samples: [...f.samples] });
    }
  }
  return [...byName.values()];
}
