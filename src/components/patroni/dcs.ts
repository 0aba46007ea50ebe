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
 * Patroni's own timing. loop_wait 1 was tried (a postmaster `kill -9` on the leader then cost
 * 2.2–2.9 s of writes instead of 10.5 s, because the crash is noticed at the next HA cycle), and
 * withdrawn: in its first CI run the frozen-leader case on Debian 13 (Patroni 4.0.7) lost 1040 of
 * 5272 acknowledged writes, which it had never done at loop_wait 10. A one-second cycle leaves
 * Patroni mid-cycle far more often when its host is frozen, and it resumes from a stale view of the
 * DCS; until that is understood, the setting that keeps acknowledged writes stays.
 */
export const PATRONI_DCS_DEFAULTS: Readonly<Plain> = Object.freeze({
  ttl: 30,
  loop_wait: 10,
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
