/**
 * Writes docs/grafana/pgha-dashboard.json (`npm run docs:grafana`): a Grafana dashboard for what
 * the monitoring host's Prometheus scrapes (src/components/monitoring/prometheus.ts: the jobs
 * `patroni`, `etcd`, `haproxy`, `node`, `postgres`, every target with a `host` label), to import
 * through Dashboards → Import with a Prometheus data source chosen for the `DS_PROMETHEUS` input.
 *
 * The panels are a small typed model below; test/unit/grafana-dashboard.test.ts fails when the
 * committed file differs from this generation, when a panel has no reference to the input, when
 * an expression names a metric pgha's stack does not expose, or when promtool refuses one.
 *
 * Patroni's panels follow the `scope` variable (Patroni's own /metrics label every sample with
 * it). The other jobs carry no scope: one Prometheus serves one pgha cluster, so their panels
 * show every target it scrapes. pgha's textfile metrics are filtered by the cluster's name, which
 * is its scope (certificates: `cluster`; backups: `stanza`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { CERT_EXPIRY_METRIC } from '../src/components/monitoring/certificates.js';
import { BACKUP_METRIC } from '../src/components/pgbackrest/metrics.js';
import { HAPROXY_RO_BACKEND, HAPROXY_RW_BACKEND } from '../src/components/haproxy/config.js';

export const DASHBOARD_FILE = fileURLToPath(new URL('../docs/grafana/pgha-dashboard.json', import.meta.url));
export const DASHBOARD_UID = 'pgha-cluster';

/** What Grafana's import replaces by the data source the user picks. */
export const DATASOURCE_INPUT = 'DS_PROMETHEUS';
const DS = { type: 'prometheus', uid: `\${${DATASOURCE_INPUT}}` } as const;

/** The `scope` variable's query: Patroni's own metric, which every member exports. */
export const SCOPE_QUERY = 'label_values(patroni_postgres_running, scope)';

export interface Target {
  expr: string;
  legend?: string;
}

type PanelType = 'stat' | 'timeseries' | 'table' | 'bargauge' | 'state-timeline';

interface PanelSpec {
  type: PanelType;
  title: string;
  description: string;
  targets: Target[];
  /** Grid width (of 24) and height. */
  w: number;
  h: number;
  unit?: string;
  /** Threshold steps: the first is the base colour, then [value, colour] from that value up. */
  thresholds?: [string, ...[number, string][]];
  /** Values shown as words: 0 → 'no', 1 → 'yes', with a colour each. */
  mappings?: Record<string, [string, string]>;
  /** Stat panels: show the series' names (who), not their values. */
  showNames?: boolean;
  min?: number;
  max?: number;
  /** Columns a table hides. */
  hide?: string[];
}

interface RowSpec {
  row: string;
  panels: PanelSpec[];
}

const SCOPE = 'scope="$scope"';
const BACKENDS = `proxy=~"${HAPROXY_RW_BACKEND}|${HAPROXY_RO_BACKEND}"`;
/** Who leads, per member: patroni_primary, or patroni_master where a Patroni exports only that name (rules.ts takes either too). */
const LEADER = `patroni_primary{${SCOPE}} or patroni_master{${SCOPE}}`;
/** Real filesystems of a host, not the kernel's and systemd's in-memory ones. */
const DISKS = 'fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs"';

const NO_YES = { '0': ['no', 'green'], '1': ['yes', 'orange'] } satisfies Record<string, [string, string]>;

const stat = (title: string, description: string, targets: Target[], extra: Partial<PanelSpec> = {}): PanelSpec => ({
  type: 'stat',
  title,
  description,
  targets,
  w: 4,
  h: 4,
  ...extra,
});

const series = (title: string, description: string, targets: Target[], extra: Partial<PanelSpec> = {}): PanelSpec => ({
  type: 'timeseries',
  title,
  description,
  targets,
  w: 12,
  h: 8,
  ...extra,
});

export const ROWS: RowSpec[] = [
  {
    row: 'Patroni cluster $scope',
    panels: [
      stat(
        'Leader',
        "The member that reports itself the leader (Patroni's /metrics: patroni_primary, or patroni_master).",
        [{ expr: `max by (host) (${LEADER}) == 1`, legend: '{{host}}' }],
        { showNames: true, w: 4 },
      ),
      stat(
        'Leaders',
        'How many members report themselves the leader: anything but 1 is what PatroniNoLeader and PatroniMultipleLeaders alert on.',
        [{ expr: `sum(${LEADER})` }],
        { thresholds: ['red', [1, 'green'], [2, 'red']] },
      ),
      stat('PostgreSQL running', "Members whose Patroni reports PostgreSQL running, of the members answering Patroni's /metrics.", [
        { expr: `sum(patroni_postgres_running{${SCOPE}})`, legend: 'running' },
        { expr: `count(patroni_postgres_running{${SCOPE}})`, legend: 'members' },
      ]),
      stat(
        'Timeline',
        "PostgreSQL's timeline on the leader: it grows by one at each failover or switchover.",
        [{ expr: `max(patroni_postgres_timeline{${SCOPE}})` }],
        { thresholds: ['blue'] },
      ),
      stat(
        'Paused',
        'Maintenance mode (patronictl pause): Patroni does not fail over while it lasts.',
        [{ expr: `max(patroni_is_paused{${SCOPE}})` }],
        { mappings: NO_YES },
      ),
      stat(
        'Pending restart',
        'Members waiting for a restart to apply a changed PostgreSQL parameter.',
        [{ expr: `sum(patroni_pending_restart{${SCOPE}})` }],
        { thresholds: ['green', [1, 'orange']] },
      ),
      series(
        'Leader per member',
        'Which member leads over time (1: the leader): a switchover or failover shows as a change of series.',
        [{ expr: `max by (host) (${LEADER})`, legend: '{{host}}' }],
        { w: 8, min: 0, max: 1 },
      ),
      series(
        'Replication lag',
        "Each replica's received WAL behind the leader's (PatroniReplicationLag fires over maximum_lag_on_failover), and what it received but has not replayed yet.",
        [
          {
            expr: `max by (scope) (patroni_xlog_location{${SCOPE}}) - on (scope) group_right () (patroni_xlog_received_location{${SCOPE}} and on (instance) (patroni_replica{${SCOPE}} == 1))`,
            legend: '{{host}} behind the leader',
          },
          {
            expr: `(patroni_xlog_received_location{${SCOPE}} - patroni_xlog_replayed_location{${SCOPE}}) and on (instance) (patroni_replica{${SCOPE}} == 1)`,
            legend: '{{host}} not replayed',
          },
        ],
        { w: 8, unit: 'bytes' },
      ),
      series(
        'WAL written',
        "The leader's WAL write rate, from its xlog position.",
        [
          {
            expr: `rate(patroni_xlog_location{${SCOPE}}[5m]) and on (instance) (patroni_primary{${SCOPE}} == 1 or patroni_master{${SCOPE}} == 1)`,
            legend: '{{host}}',
          },
        ],
        { w: 8, unit: 'Bps' },
      ),
    ],
  },
  {
    row: 'etcd',
    panels: [
      stat('etcd members up', 'etcd members answering /metrics, of those Prometheus scrapes (EtcdNoQuorum fires under a majority).', [
        { expr: 'sum(up{job="etcd"})', legend: 'up' },
        { expr: 'count(up{job="etcd"})', legend: 'members' },
      ]),
      stat('Members with a leader', 'etcd members that see a leader (etcd_server_has_leader).', [
        { expr: 'sum(etcd_server_has_leader)', legend: 'with a leader' },
      ]),
      stat('etcd leader', 'The member that is the Raft leader.', [{ expr: 'etcd_server_is_leader == 1', legend: '{{host}}' }], {
        showNames: true,
      }),
      series(
        'etcd leader changes',
        'Leader elections seen by each member in the last hour: more than a few means unstable peers or disks.',
        [{ expr: 'increase(etcd_server_leader_changes_seen_total[1h])', legend: '{{host}}' }],
        { w: 12, h: 4 },
      ),
    ],
  },
  {
    row: 'HAProxy',
    panels: [
      stat(
        'Servers UP per backend',
        `Servers HAProxy sends connections to, per proxy host and backend (${HAPROXY_RW_BACKEND}: the leader; ${HAPROXY_RO_BACKEND}: the replicas). HAProxyBackendNoServerUp fires at 0.`,
        [{ expr: `haproxy_backend_active_servers{${BACKENDS}}`, legend: '{{host}} {{proxy}}' }],
        { w: 8, h: 6, thresholds: ['red', [1, 'green']] },
      ),
      {
        type: 'state-timeline',
        title: 'Server state',
        description: "Each server's state in each backend as HAProxy's health checks see it (1: UP).",
        targets: [{ expr: `haproxy_server_status{${BACKENDS},state="UP"}`, legend: '{{host}} {{proxy}}/{{server}}' }],
        w: 8,
        h: 6,
        mappings: { '0': ['down', 'red'], '1': ['UP', 'green'] },
      },
      series(
        'Sessions per backend',
        'Client sessions open through each backend.',
        [{ expr: `haproxy_backend_current_sessions{${BACKENDS}}`, legend: '{{host}} {{proxy}}' }],
        { w: 8, h: 6 },
      ),
    ],
  },
  {
    row: 'PostgreSQL',
    panels: [
      stat(
        'postgres_exporter connected',
        'Whether postgres_exporter reaches PostgreSQL on each data node (pg_up).',
        [{ expr: 'pg_up', legend: '{{host}}' }],
        { w: 6, h: 6, mappings: { '0': ['down', 'red'], '1': ['up', 'green'] } },
      ),
      series(
        'Connections',
        'Backends connected to every database, and max_connections.',
        [
          { expr: 'sum by (host) (pg_stat_database_numbackends)', legend: '{{host}}' },
          { expr: 'max by (host) (pg_settings_max_connections)', legend: '{{host}} max_connections' },
        ],
        { w: 6, h: 6 },
      ),
      series(
        'WAL archiving failures',
        'archive_command failures in 5 minutes (WalArchivingFailing fires when nothing was archived meanwhile).',
        [
          { expr: 'increase(pg_stat_archiver_failed_count[5m])', legend: '{{host}} failed' },
          { expr: 'increase(pg_stat_archiver_archived_count[5m])', legend: '{{host}} archived' },
        ],
        { w: 6, h: 6 },
      ),
      series(
        'Since the last WAL archived',
        'Seconds since a segment was last archived, per data node (a replica archives nothing).',
        [{ expr: 'pg_stat_archiver_last_archive_age', legend: '{{host}}' }],
        { w: 6, h: 6, unit: 's' },
      ),
    ],
  },
  {
    row: 'Hosts',
    panels: [
      series(
        'CPU busy',
        'Share of CPU time not idle, per host (node_exporter).',
        [{ expr: '1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', legend: '{{host}}' }],
        { w: 8, unit: 'percentunit', min: 0, max: 1 },
      ),
      series(
        'Memory used',
        'Share of memory not available to new work, per host.',
        [{ expr: '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes', legend: '{{host}}' }],
        { w: 8, unit: 'percentunit', min: 0, max: 1 },
      ),
      series(
        'Disk used',
        'Share of each filesystem used, per host and mount point.',
        [{ expr: `1 - node_filesystem_avail_bytes{${DISKS}} / node_filesystem_size_bytes{${DISKS}}`, legend: '{{host}} {{mountpoint}}' }],
        { w: 8, unit: 'percentunit', min: 0, max: 1 },
      ),
    ],
  },
  {
    row: 'Certificates, backups and alerts',
    panels: [
      {
        type: 'bargauge',
        title: 'Days until each certificate expires',
        description: `The cluster CA, every node and client certificate, as of pgha's last deploy (${CERT_EXPIRY_METRIC}); CertificateExpiringSoon fires under 30 days.`,
        targets: [{ expr: `(${CERT_EXPIRY_METRIC}{cluster="$scope"} - time()) / 86400`, legend: '{{kind}} {{name}}' }],
        w: 8,
        h: 8,
        unit: 'd',
        thresholds: ['red', [30, 'orange'], [60, 'green']],
      },
      stat(
        'Newest backup',
        `Time since the newest backup in the pgBackRest repository ended (${BACKUP_METRIC}; 0 while there is none, shown as decades). BackupTooOld fires over 2 days.`,
        [{ expr: `time() - ${BACKUP_METRIC}{stanza="$scope"}`, legend: '{{host}}' }],
        { w: 4, h: 8, unit: 's', thresholds: ['green', [86400, 'orange'], [172800, 'red']] },
      ),
      {
        type: 'table',
        title: 'Firing alerts',
        description: "pgha's alert rules (group pgha) firing now, with their labels; Alertmanager's UI has their annotations.",
        targets: [{ expr: 'ALERTS{alertstate="firing"}' }],
        w: 12,
        h: 8,
        hide: ['Time', 'Value', '__name__', 'alertstate'],
      },
    ],
  },
];

// ---- Grafana's JSON ----

type Json = Record<string, unknown>;

function fieldConfig(p: PanelSpec): Json {
  const defaults: Json = {};
  if (p.unit) defaults.unit = p.unit;
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  const [base, ...steps] = p.thresholds ?? ['green'];
  defaults.thresholds = {
    mode: 'absolute',
    steps: [{ color: base, value: null }, ...steps.map(([value, color]) => ({ color, value }))],
  };
  if (p.mappings)
    defaults.mappings = [
      {
        type: 'value',
        options: Object.fromEntries(Object.entries(p.mappings).map(([v, [text, color]], index) => [v, { text, color, index }])),
      },
    ];
  defaults.color = { mode: p.type === 'timeseries' ? 'palette-classic' : 'thresholds' };
  return { defaults, overrides: [] };
}

/** Current state (stat, bar gauge, table) is one instant query; history is a range. */
function targets(p: PanelSpec): Json[] {
  const instant = p.type === 'stat' || p.type === 'bargauge' || p.type === 'table';
  return p.targets.map((t, i) => ({
    datasource: DS,
    refId: String.fromCharCode(65 + i),
    expr: t.expr,
    legendFormat: t.legend ?? '__auto',
    instant,
    range: !instant,
    ...(p.type === 'table' ? { format: 'table' } : {}),
  }));
}

function options(p: PanelSpec): Json {
  const reduce = { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } };
  switch (p.type) {
    case 'stat':
      return {
        ...reduce,
        colorMode: 'value',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: p.showNames ? 'name' : 'value_and_name',
      };
    case 'bargauge':
      return { ...reduce, displayMode: 'basic', orientation: 'horizontal', showUnfilled: true };
    case 'table':
      return { showHeader: true, cellHeight: 'sm' };
    case 'state-timeline':
      return { mergeValues: true, showValue: 'never', rowHeight: 0.8, legend: { showLegend: false } };
    case 'timeseries':
      return { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } };
  }
}

/** Every panel in reading order, rows included, each placed left to right on Grafana's 24 columns. */
function panels(): Json[] {
  const out: Json[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    out.push({ type: 'row', id: id++, title: row.row, collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y } });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const p of row.panels) {
      if (x + p.w > 24) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      out.push({
        type: p.type,
        id: id++,
        title: p.title,
        description: p.description,
        datasource: DS,
        gridPos: { h: p.h, w: p.w, x, y },
        fieldConfig: fieldConfig(p),
        options: options(p),
        targets: targets(p),
        ...(p.hide
          ? { transformations: [{ id: 'organize', options: { excludeByName: Object.fromEntries(p.hide.map((c) => [c, true])) } }] }
          : {}),
      });
      x += p.w;
      lineHeight = Math.max(lineHeight, p.h);
    }
    y += lineHeight;
  }
  return out;
}

const PANEL_NAMES: Record<PanelType, string> = {
  stat: 'Stat',
  timeseries: 'Time series',
  table: 'Table',
  bargauge: 'Bar gauge',
  'state-timeline': 'State timeline',
};

export function dashboard(): Json {
  const used = [...new Set(ROWS.flatMap((r) => r.panels.map((p) => p.type)))].sort();
  return {
    __inputs: [
      {
        name: DATASOURCE_INPUT,
        label: 'Prometheus',
        description: "The monitoring host's Prometheus (pgha status prints its URL)",
        type: 'datasource',
        pluginId: 'prometheus',
        pluginName: 'Prometheus',
      },
    ],
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      ...used.map((id) => ({ type: 'panel', id, name: PANEL_NAMES[id], version: '' })),
    ],
    uid: DASHBOARD_UID,
    title: 'pgha cluster',
    description:
      "A pgha cluster as its monitoring host's Prometheus scrapes it: Patroni, etcd, HAProxy, PostgreSQL, the hosts, certificates, backups and alerts.",
    tags: ['pgha', 'patroni', 'postgresql'],
    editable: true,
    graphTooltip: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    id: null,
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        {
          name: 'scope',
          label: 'Cluster (Patroni scope)',
          type: 'query',
          datasource: DS,
          definition: SCOPE_QUERY,
          query: { query: SCOPE_QUERY, refId: 'scope' },
          refresh: 2,
          sort: 1,
          includeAll: false,
          multi: false,
          hide: 0,
          regex: '',
          current: {},
          options: [],
        },
      ],
    },
    panels: panels(),
  };
}

/** The file's text, as prettier formats JSON in this repository (so `prettier --check` passes it). */
export async function dashboardJson(): Promise<string> {
  const options = await resolveConfig(DASHBOARD_FILE);
  return format(JSON.stringify(dashboard()), { ...options, parser: 'json', filepath: DASHBOARD_FILE });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(dirname(DASHBOARD_FILE), { recursive: true });
  writeFileSync(DASHBOARD_FILE, await dashboardJson());
  process.stdout.write(`wrote ${DASHBOARD_FILE}\n`);
}
