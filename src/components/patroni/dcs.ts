/**
 * The DCS (dynamic) configuration of docs/architecture.md#variables-and-layers:
 * Patroni defaults ← postgres parameters ← failsafe_mode ← synchronous replication ← WAL archiving
 * (with a backup host) ←
 * patroni_conf_settings.bootstrap.dcs ← patroni_dynamic_conf_settings.
 * Nulls are kept here: for PATCH /config a null means "delete this key"; the file's
 * bootstrap.dcs is this document with nulls stripped.
 */
import { deepMerge, isPlainObject, type Plain } from '../../model/merge.js';
import type { Vars } from '../../model/types.js';
import { archivingDcs } from './archiving.js';
import { failsafeDcs } from './failsafe.js';
import { synchronousDcs } from './synchronous.js';

/**
 * loop_wait 1 (Patroni's default is 10): when PostgreSQL dies under a leader that still holds the
 * key, nothing happens until Patroni's next HA cycle notices and restarts it — up to loop_wait of
 * the write gap (postmaster `kill -9`, 4.0.7: 10.5 s at 10, 2.6–3.2 s at 2, 2.2–2.9 s at 1, with
 * the syncfs below). What it costs: one cycle a second — the leader key's TTL refreshed once a
 * second, a status query each member makes of its own PostgreSQL; Patroni's CPU went from 0.55 %
 * to 0.73 % of a core. ttl and retry_timeout, which decide when a leader is given up, stay
 * Patroni's (loop_wait + 2 × retry_timeout ≤ ttl holds: 21 ≤ 30).
 */
export const PATRONI_DCS_DEFAULTS: Readonly<Plain> = Object.freeze({
  ttl: 30,
  loop_wait: 1,
  retry_timeout: 10,
  maximum_lag_on_failover: 1048576,
  postgresql: { use_slots: true, use_pg_rewind: true },
});

/** Parameters every pgha cluster needs for streaming replication and pg_rewind. */
export function postgresDcsParameters(vars: Vars): Plain {
  return {
    postgresql: {
      use_pg_rewind: vars.patroni_rewind_enabled !== false,
      parameters: {
        wal_level: 'replica',
        hot_standby: 'on',
        max_wal_senders: 10,
        max_replication_slots: 10,
        wal_keep_size: '128MB',
        wal_log_hints: 'on',
        max_connections: 100,
        password_encryption: 'scram-sha-256',
        // After a crash PostgreSQL makes the data directory durable before it replays WAL: file by
        // file (fsync, the default) took 1.8 s of a restarted leader's 2.6 s here; one syncfs()
        // of the filesystem takes 0.04 s. Same guarantee on Linux ≥ 5.8, where syncfs reports
        // write-back errors (Debian 12 and 13 ship 6.1 and 6.12).
        recovery_init_sync_method: 'syncfs',
      },
    },
  };
}

function asPlain(v: unknown): Plain {
  return isPlainObject(v) ? v : {};
}

/**
 * The desired DCS document for a cluster, nulls kept (they mean "remove"). `cluster` is the
 * cluster's name, which names the pgBackRest stanza its archive_command pushes to.
 */
export function desiredDcs(vars: Vars, cluster: string): Plain {
  const bootstrapDcs = asPlain(asPlain(asPlain(vars.patroni_conf_settings).bootstrap).dcs);
  let dcs: unknown = structuredClone(PATRONI_DCS_DEFAULTS);
  dcs = deepMerge(dcs, postgresDcsParameters(vars));
  // What the variables choose comes before the user's own DCS settings, which win over it.
  dcs = deepMerge(dcs, failsafeDcs(vars));
  dcs = deepMerge(dcs, synchronousDcs(vars));
  dcs = deepMerge(dcs, archivingDcs(vars, cluster));
  dcs = deepMerge(dcs, bootstrapDcs);
  dcs = deepMerge(dcs, asPlain(vars.patroni_dynamic_conf_settings));
  return dcs as Plain;
}
