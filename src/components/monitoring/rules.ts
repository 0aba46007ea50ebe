/**
 * The alert rules Prometheus evaluates on the monitoring host, layered like every configuration
 * pgha writes (docs/architecture.md#variables-and-layers): pgha's rules by name ←
 * prometheus_rules_settings (a map from rule name to a rule object merged over pgha's rule of
 * that name, or a new rule; `null` removes one) → nulls removed → one rule group.
 *
 * Metric names are the exporters' own: Patroni's /metrics (3.0 says `patroni_master` where 4.x
 * says `patroni_primary` as well, so leader rules take either), etcd's, HAProxy's built-in
 * exporter's, postgres_exporter's pg_stat_archiver, pgbouncer_exporter's `pgbouncer_up`, and pgha's certificate textfile
 * (./certificates.ts). Every `for` is a multiple of the default 15 s scrape and evaluation
 * interval, so an alert fires at most one interval after its `for` has passed.
 */
import type { Plain } from '../../model/merge.js';
import { isPlainObject } from '../../model/merge.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { stripNulls } from '../../model/merge.js';
import { dataNodes, layered } from '../common.js';
import { desiredDcs } from '../patroni/dcs.js';
import { toYaml } from '../yaml.js';
import { CERT_EXPIRY_METRIC } from './certificates.js';
import { BACKUP_METRIC } from '../pgbackrest/metrics.js';

export const RULE_GROUP = 'pgha';

/** Who leads, per member: 1 for the leader. Patroni 3.0 exports patroni_master, 4.x both names. */
const LEADER = '(patroni_primary or patroni_master)';

/** Patroni's own default maximum_lag_on_failover (1 MiB). */
const PATRONI_DEFAULT_MAX_LAG = 1_048_576;

/**
 * The replication lag a replica may have before Patroni would refuse to promote it: the DCS
 * configuration deploy sets (a byte count; Patroni's default when it sets none).
 */
function maxLagBytes(cluster: ResolvedCluster): number {
  const node = dataNodes(cluster)[0];
  const v = node ? stripNulls(desiredDcs(node.vars, cluster.name)).maximum_lag_on_failover : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : PATRONI_DEFAULT_MAX_LAG;
}

function alert(expr: string, forDuration: string, severity: 'critical' | 'warning', summary: string, description: string): Plain {
  return { expr, for: forDuration, labels: { severity }, annotations: { summary, description } };
}

/** pgha's rules, by alert name. */
export function defaultRules(cluster: ResolvedCluster): Record<string, Plain> {
  const maxLag = maxLagBytes(cluster);
  return {
    PatroniNoLeader: alert(
      `max by (scope) (${LEADER}) < 1`,
      '30s',
      'critical',
      'Patroni cluster {{ $labels.scope }} has no leader',
      'No member of {{ $labels.scope }} reports itself the leader: writes fail until one is elected.',
    ),
    PatroniMultipleLeaders: alert(
      `sum by (scope) (${LEADER}) > 1`,
      '30s',
      'critical',
      'Patroni cluster {{ $labels.scope }} has {{ $value }} leaders',
      'More than one member reports itself the leader (split brain).',
    ),
    PatroniMemberDown: alert(
      'up{job="patroni"} == 0 or patroni_postgres_running == 0',
      '1m',
      'critical',
      'Patroni member {{ $labels.host }} is down',
      'Patroni on {{ $labels.host }} does not answer, or reports PostgreSQL not running.',
    ),
    PatroniReplicationLag: alert(
      `max by (scope) (patroni_xlog_location) - on (scope) group_right () (patroni_xlog_received_location and on (instance) (patroni_replica == 1)) > ${maxLag}`,
      '1m',
      'warning',
      'Replica {{ $labels.host }} lags {{ $value | humanize1024 }}B behind the leader',
      `Over maximum_lag_on_failover (${maxLag} bytes): Patroni would not promote this replica.`,
    ),
    PatroniPendingRestart: alert(
      'patroni_pending_restart == 1',
      '1h',
      'warning',
      '{{ $labels.host }} has waited over an hour for a restart',
      'A changed PostgreSQL parameter takes effect only after a restart (pgha deploy restarts members in turn; or patronictl restart).',
    ),
    EtcdNoQuorum: alert(
      'sum(up{job="etcd"}) < floor(count(up{job="etcd"}) / 2) + 1',
      '30s',
      'critical',
      'etcd has lost its quorum',
      'Fewer than a majority of etcd members answer: Patroni cannot renew its leader lock, and the leader demotes itself (unless failsafe_mode keeps it).',
    ),
    EtcdMemberDown: alert(
      'up{job="etcd"} == 0 or etcd_server_has_leader == 0',
      '1m',
      'warning',
      'etcd member {{ $labels.host }} is down',
      'The member does not answer, or has no leader.',
    ),
    HAProxyBackendNoServerUp: alert(
      'haproxy_backend_active_servers{proxy=~"pgha_r[wo]"} == 0',
      '30s',
      'critical',
      'HAProxy on {{ $labels.host }} has no server up in {{ $labels.proxy }}',
      'Clients connecting through this backend are refused.',
    ),
    PgBouncerDown: alert(
      'up{job="pgbouncer"} == 0 or pgbouncer_up == 0',
      '2m',
      'warning',
      'PgBouncer on {{ $labels.host }} is down',
      "pgbouncer_exporter does not answer, or cannot read PgBouncer's console: clients connecting through this PgBouncer are likely refused.",
    ),
    CertificateExpiringSoon: alert(
      `${CERT_EXPIRY_METRIC} - time() < 30 * 86400`,
      '5m',
      'warning',
      'Certificate {{ $labels.kind }} {{ $labels.name }} expires in under 30 days',
      'pgha deploy reissues certificates that are about to expire; run it.',
    ),
    BackupTooOld: alert(
      `time() - ${BACKUP_METRIC} > 2 * 86400`,
      '15m',
      'warning',
      'No backup of {{ $labels.stanza }} in the last 2 days',
      'The newest backup in the pgBackRest repository on {{ $labels.host }} ended over 2 days ago, or there is none (pgha schedules no backups: run pgbackrest backup on the repository host, e.g. from a timer).',
    ),
    WalArchivingFailing: alert(
      'increase(pg_stat_archiver_failed_count[5m]) > 0 unless on (instance) increase(pg_stat_archiver_archived_count[5m]) > 0',
      '5m',
      'critical',
      'WAL archiving fails on {{ $labels.host }}',
      'archive_command fails and nothing was archived for 5 minutes: WAL piles up in pg_wal and point-in-time recovery falls behind.',
    ),
  };
}

/** The rules after prometheus_rules_settings: each an object with `alert` (or `record`) set. */
export function prometheusRules(cluster: ResolvedCluster, host: ResolvedHost): Plain[] {
  const settings = host.vars.prometheus_rules_settings;
  const merged = layered(defaultRules(cluster), isPlainObject(settings) ? settings : {});
  return Object.entries(merged)
    .filter((e): e is [string, Plain] => isPlainObject(e[1]))
    .map(([name, rule]) => ('record' in rule ? rule : { alert: name, ...rule }));
}

export function prometheusRulesYaml(cluster: ResolvedCluster, host: ResolvedHost): string {
  return toYaml({ groups: [{ name: RULE_GROUP, rules: prometheusRules(cluster, host) }] });
}
