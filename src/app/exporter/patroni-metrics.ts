/**
 * One member's GET /patroni answer → metric families. Pure.
 *
 * Names follow patroni-exporter's (the Python exporter whose interface `pgha exporter` keeps):
 * it groups /patroni's keys into `patroni_patroni_*` (Patroni's own state: an info metric with
 * role, state, version and scope as labels, plus cluster_unlocked and pause), `patroni_postgresql_*`
 * (an info metric with server_version and the system identifier, plus postmaster_start_time,
 * timeline, pending_restart), `patroni_xlog_*` (every key of `xlog`) and `patroni_replication_info`
 * (one sample per walsender). Keys it never exported take the name Patroni's own /metrics gives
 * them (`patroni_dcs_last_seen`, `patroni_failsafe_mode_is_active`). Every sample carries `scope`
 * and `member`, so one Prometheus can tell the members of several clusters apart.
 *
 * Patroni 3.0 and 4.x differ (`master`/`primary`, a replica's `running`/`streaming`, 4.x's
 * `patroni.name` and `failsafe_mode_is_active`), and a member without PostgreSQL answers only a
 * few keys: a key that is absent, null or of an unexpected type yields no sample, never a zero
 * that would read as a measurement. Roles are reported as Patroni spells them, as
 * patroni-exporter does, so its users' queries keep working.
 */
import type { MetricFamily, Sample } from './exposition.js';
import { epochSeconds } from '../../patroni/time.js';

export { epochSeconds };

export interface MemberIdentity {
  /** Patroni's `scope`, the cluster name. */
  scope: string;
  /** 4.x's `patroni.name`, or the host the URL names (3.0's /patroni does not say its name). */
  member: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Who answered: scope from `patroni.scope`, member from `patroni.name` when Patroni says it. */
export function identify(body: Json, fallbackMember: string): MemberIdentity {
  const p = isObject(body.patroni) ? body.patroni : {};
  return { scope: str(p.scope) ?? '', member: str(p.name) ?? fallbackMember };
}

class Families {
  private readonly list: MetricFamily[] = [];
  constructor(private readonly base: Readonly<Record<string, string>>) {}

  gauge(name: string, help: string, value: number | undefined, labels: Record<string, string> = {}): void {
    const samples: Sample[] = value === undefined ? [] : [{ labels: { ...this.base, ...labels }, value }];
    this.list.push({ name, help, type: 'gauge', samples });
  }

  info(name: string, help: string, labelSets: Record<string, string>[]): void {
    this.list.push({ name, help, type: 'gauge', samples: labelSets.map((l) => ({ labels: { ...this.base, ...l }, value: 1 })) });
  }

  get families(): MetricFamily[] {
    return this.list;
  }
}

/** Only defined values become labels: an absent key is no label, not an empty one. */
function labelsOf(pairs: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pairs)) {
    const s = str(v);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

const XLOG_HELP: Record<string, string> = {
  location: 'Current WAL write position in bytes (a primary).',
  received_location: 'Last WAL position received from the primary, in bytes (a replica).',
  replayed_location: 'Last WAL position replayed, in bytes (a replica).',
  replayed_timestamp: 'Commit time of the last replayed transaction, epoch seconds (a replica).',
  paused: '1 when WAL replay is paused (a replica).',
};

/** The families of one /patroni answer; `fallbackMember` names the member when Patroni does not. */
export function patroniFamilies(body: Json, fallbackMember: string): MetricFamily[] {
  const id = identify(body, fallbackMember);
  const f = new Families({ scope: id.scope, member: id.member });
  const p = isObject(body.patroni) ? body.patroni : {};

  f.info('patroni_patroni_info', "Patroni's view of this member: role, state and Patroni's version as labels.", [
    labelsOf({ role: body.role, state: body.state, version: p.version }),
  ]);
  f.gauge('patroni_patroni_cluster_unlocked', '1 when the cluster has no leader lock.', num(body.cluster_unlocked ?? false));
  f.gauge('patroni_patroni_pause', '1 when the cluster is in maintenance mode (automatic failover off).', num(body.pause ?? false));
  f.gauge('patroni_dcs_last_seen', 'When Patroni last reached the DCS, epoch seconds.', num(body.dcs_last_seen));
  f.gauge(
    'patroni_failsafe_mode_is_active',
    '1 when failsafe mode keeps the leader running without the DCS.',
    num(body.failsafe_mode_is_active),
  );

  const pg = labelsOf({ server_version: body.server_version, database_system_identifier: body.database_system_identifier });
  f.info('patroni_postgresql_info', "PostgreSQL's version number and system identifier as labels.", Object.keys(pg).length ? [pg] : []);
  f.gauge('patroni_postgresql_server_version', "PostgreSQL's version number (150020 is 15.20).", num(body.server_version));
  f.gauge('patroni_postgresql_postmaster_start_time', 'When PostgreSQL started, epoch seconds.', epochSeconds(body.postmaster_start_time));
  f.gauge('patroni_postgresql_timeline', "PostgreSQL's timeline (none while a replica does not know it).", num(body.timeline));
  // patroni-exporter reports an absent pending_restart as 0: Patroni leaves the key out when false.
  f.gauge('patroni_postgresql_pending_restart', '1 when a changed parameter waits for a restart.', num(body.pending_restart ?? false));

  const xlog = isObject(body.xlog) ? body.xlog : {};
  for (const key of ['location', 'received_location', 'replayed_location', 'paused'] as const) {
    f.gauge(`patroni_xlog_${key}`, XLOG_HELP[key]!, num(xlog[key]));
  }
  f.gauge('patroni_xlog_replayed_timestamp', XLOG_HELP.replayed_timestamp!, epochSeconds(xlog.replayed_timestamp));
  // The one lag a member's own answer shows: what it received and has not replayed yet.
  const received = num(xlog.received_location);
  const replayed = num(xlog.replayed_location);
  f.gauge(
    'patroni_xlog_replay_lag_bytes',
    'Bytes of WAL received and not yet replayed (a replica).',
    received !== undefined && replayed !== undefined ? Math.max(0, received - replayed) : undefined,
  );

  const walsenders = Array.isArray(body.replication) ? body.replication.filter(isObject) : [];
  f.info(
    'patroni_replication_info',
    'One walsender of this member: the replica, its state and sync state as labels.',
    walsenders.map((r) =>
      labelsOf({
        usename: r.usename,
        application_name: r.application_name,
        client_addr: r.client_addr,
        state: r.state,
        sync_state: r.sync_state,
        sync_priority: r.sync_priority,
      }),
    ),
  );
  return f.families;
}
