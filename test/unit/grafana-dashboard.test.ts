/**
 * The Grafana dashboard (docs/grafana/pgha-dashboard.json, `npm run docs:grafana`, issue 15): the
 * committed file is the generation; it imports (a `DS_PROMETHEUS` input every panel and query
 * refers to, `__requires` naming every panel type, a stable uid, a `scope` variable); every metric
 * its expressions name is one the monitoring host's Prometheus really scrapes; and promtool
 * accepts every expression (as recording rules of a temporary rules file; Debian's `prometheus`
 * package, which .ci/run installs: under CI a missing promtool fails, elsewhere it is skipped).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { DASHBOARD_FILE, DASHBOARD_UID, DATASOURCE_INPUT, SCOPE_QUERY, dashboardJson } from '../../scripts/grafana-dashboard.js';
import { CERT_EXPIRY_METRIC } from '../../src/components/monitoring/certificates.js';
import { defaultRules } from '../../src/components/monitoring/rules.js';
import { BACKUP_METRIC } from '../../src/components/pgbackrest/metrics.js';
import { loadExample, ROOT } from '../golden/inputs.js';

/**
 * The metric names a PromQL expression selects: its identifiers once string literals, label
 * matchers, ranges and grouping label lists are gone, less functions and aggregations (followed
 * by a parenthesis) and the language's keywords.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'group_left', 'group_right', 'inf', 'nan']);
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const after = bare.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after) || keywords.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names].sort();
}

/** Every metric family in the recorded answers of Patroni's own GET /metrics (the `patroni` job). */
function patroniMetricNames(): string[] {
  const fixtures = join(ROOT, 'test', 'fixtures');
  const names = new Set<string>();
  for (const dir of readdirSync(fixtures).filter((d) => d.startsWith('patroni-'))) {
    for (const file of readdirSync(join(fixtures, dir)).filter((f) => /^get-metrics\..*\.json$/.test(f))) {
      const body = (JSON.parse(readFileSync(join(fixtures, dir, file), 'utf8')) as { response: { body: string } }).response.body;
      for (const m of body.matchAll(/^# TYPE (\S+) /gm)) names.add(m[1]!);
    }
  }
  return [...names];
}

/**
 * Names from exporters pgha installs but does not build, which no file of the repository
 * records: each says where it comes from. (The alert rules' names are taken from rules.ts.)
 */
const THIRD_PARTY: Record<string, string> = {
  // Prometheus itself: one series per pending or firing alert of its rules.
  ALERTS: 'Prometheus',
  // etcd's /metrics (job etcd), package etcd-server.
  etcd_server_is_leader: 'etcd',
  etcd_server_leader_changes_seen_total: 'etcd',
  // HAProxy's built-in exporter (job haproxy; HAProxy 2.4 and later export a server's status as
  // one sample per state, with a `state` label): Debian 12's 2.6, Debian 13's 3.0.
  haproxy_server_status: 'haproxy',
  haproxy_backend_current_sessions: 'haproxy',
  // postgres_exporter (job postgres), package prometheus-postgres-exporter.
  pg_up: 'postgres_exporter',
  pg_stat_database_numbackends: 'postgres_exporter',
  pg_settings_max_connections: 'postgres_exporter',
  pg_stat_archiver_last_archive_age: 'postgres_exporter',
  // node_exporter (job node), package prometheus-node-exporter.
  node_cpu_seconds_total: 'node_exporter',
  node_memory_MemAvailable_bytes: 'node_exporter',
  node_memory_MemTotal_bytes: 'node_exporter',
  node_filesystem_avail_bytes: 'node_exporter',
  node_filesystem_size_bytes: 'node_exporter',
};

/**
 * What the monitoring host's Prometheus has: Patroni's own /metrics (recorded), the names pgha's
 * alert rules select, pgha's two textfile metrics, and the third-party names above. Not `pgha
 * exporter`'s families: Prometheus does not scrape it (README, "Not there yet").
 */
function knownMetrics(): Set<string> {
  const rules = defaultRules(loadExample('m1-monitoring-debian13'));
  return new Set([
    ...patroniMetricNames(),
    ...Object.values(rules).flatMap((r) => metricNames(String(r.expr))),
    CERT_EXPIRY_METRIC,
    BACKUP_METRIC,
    ...Object.keys(THIRD_PARTY),
  ]);
}

interface Panel {
  type: string;
  id: number;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; datasource?: { type: string; uid: string } }[];
}

const text = readFileSync(DASHBOARD_FILE, 'utf8');
const board = JSON.parse(text);
const panels = board.panels as Panel[];
const queried = panels.filter((p) => p.type !== 'row');
const exprs = queried.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
const input = { type: 'prometheus', uid: `\${${DATASOURCE_INPUT}}` };

describe('Grafana dashboard', () => {
  it('docs/grafana/pgha-dashboard.json is up to date (run `npm run docs:grafana`)', async () => {
    expect(text).toBe(await dashboardJson());
  });

  it('imports: a Prometheus input, what it requires, a stable uid and the scope variable', () => {
    expect(board.__inputs).toEqual([expect.objectContaining({ name: DATASOURCE_INPUT, type: 'datasource', pluginId: 'prometheus' })]);
    expect(board.uid).toBe(DASHBOARD_UID);
    expect(board.id).toBeNull();
    const required = new Set((board.__requires as { type: string; id: string }[]).map((r) => `${r.type}:${r.id}`));
    expect(required).toContain('datasource:prometheus');
    expect(required).toContain('grafana:grafana');
    for (const p of queried) expect(required, p.title).toContain(`panel:${p.type}`);
    const scope = board.templating.list.find((v: { name: string }) => v.name === 'scope');
    expect(scope).toMatchObject({ type: 'query', datasource: input, query: { query: SCOPE_QUERY } });
  });

  it('every panel and every query reads the input data source', () => {
    expect(queried.length).toBeGreaterThan(10);
    for (const p of queried) {
      expect(p.datasource, p.title).toEqual(input);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource, p.title).toEqual(input);
    }
    // Nothing else names a data source (Grafana's import rewrites only the input's uses).
    const uids = [...text.matchAll(/"uid": "([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(uids)).toEqual(new Set([`\${${DATASOURCE_INPUT}}`, DASHBOARD_UID]));
  });

  it('panels have unique ids and fit the 24 columns', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
  });

  it('every metric an expression names is one the monitoring host scrapes', () => {
    const known = knownMetrics();
    const used = [...new Set([...exprs.flatMap(metricNames), ...metricNames(SCOPE_QUERY.replace(/^label_values\((.*), \w+\)$/, '$1'))])];
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((n) => !known.has(n))).toEqual([]);
    // Each third-party name is used: the allowlist holds no stale entry.
    for (const n of Object.keys(THIRD_PARTY)) expect(used, n).toContain(n);
  });

  it('metricNames reads selectors, not functions, keywords, labels or strings', () => {
    expect(metricNames('max by (scope) (a{x="b c"}) - on (scope) group_right () (rate(b_total[5m]) and on (i) (c == 1))')).toEqual([
      'a',
      'b_total',
      'c',
    ]);
    expect(metricNames('time() - m > 2 * 86400 unless d offset 5m')).toEqual(['d', 'm']);
  });
});

// ---- promtool ----

function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}
const inCi = process.env.CI === 'true';

describe.skipIf(!inCi && !hasPromtool())('Grafana dashboard: promtool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-grafana-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('check rules accepts every expression, as a recording rule', () => {
    expect(hasPromtool(), 'promtool is missing: .ci/run installs Debian’s prometheus package').toBe(true);
    const rules = exprs.map((expr, i) => ({ record: `pgha:grafana_panel:${i}`, expr }));
    const path = join(dir, 'dashboard-rules.yml');
    writeFileSync(path, stringify({ groups: [{ name: 'grafana', rules }] }));
    const r = spawnSync('promtool', ['check', 'rules', path], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('check rules refuses a broken expression (the check is not vacuous)', () => {
    const path = join(dir, 'broken-rules.yml');
    writeFileSync(path, stringify({ groups: [{ name: 'grafana', rules: [{ record: 'pgha:broken', expr: 'sum by (host (up)' }] }] }));
    expect(spawnSync('promtool', ['check', 'rules', path], { encoding: 'utf8' }).status).not.toBe(0);
  });
});
