/**
 * Built-in and architecture defaults (docs/architecture.md#variables-and-layers, TPA's names) and the list of known variables.
 * A variable known here but without a default (e.g. a package pin) is simply unset until a layer sets it.
 */
import { DEFAULT_OS_VERSION, releaseOf } from './releases.js';
import type { Vars } from './types.js';

export const BUILTIN_DEFAULTS: Readonly<Vars> = Object.freeze({
  os: 'Debian',
  os_version: DEFAULT_OS_VERSION,
  postgres_port: 5432,
  // Extra pg_hba.conf lines (TPA's name), placed before pgha's catch-all lines: src/components/patroni/config.ts.
  postgres_hba_settings: [],

  patroni_super_user: 'postgres',
  patroni_replication_user: 'replicator',
  patroni_restapi_user: 'patroni',
  patroni_rewind_user: 'rewind',
  patroni_installation_method: 'pkg',
  patroni_package_flavour: 'community',
  patroni_ssl_enabled: false,
  patroni_authentication_mode: 'basic',
  patroni_rewind_enabled: true,
  patroni_watchdog_enabled: false,
  failsafe_mode: false,
  // Synchronous replication, cluster-wide: off, on or strict (src/components/patroni/synchronous.ts).
  patroni_synchronous_mode: 'off',
  patroni_synchronous_node_count: 1,
  patroni_dcs: 'etcd',
  patroni_dcs_namespace: '/pgha',
  patroni_listen_port: 8008,
  patroni_etcd_user: 'etcd_patroni',
  patroni_conf_settings: {},
  patroni_dynamic_conf_settings: {},
  patroni_restapi_allowlist_extra: [],

  etcd_ssl_enabled: false,
  etcd_authentication_mode: 'none',
  etcd_client_port: 2379,
  etcd_peer_port: 2380,
  etcd_conf_settings: {},

  haproxy_port: 5432,
  haproxy_read_only_port: 5433,
  haproxy_read_only_load_balancer_enabled: false,
  haproxy_conf_settings: {},

  pgbouncer_port: 6432,
  pgbouncer_auth_user: 'pgbouncer_auth_user',
  pgbouncer_conf_settings: {},

  pgbackrest_port: 8432,
  pgbackrest_conf_settings: {},
  // Backup type → systemd OnCalendar: a weekly full backup, a differential one every other night.
  pgbackrest_schedule: { full: 'Sun *-*-* 01:00:00', diff: 'Mon..Sat *-*-* 01:00:00' },

  prometheus_port: 9090,
  prometheus_retention: '15d',
  prometheus_scrape_interval: '15s',
  prometheus_conf_settings: {},
  prometheus_rules_settings: {},
  alertmanager_port: 9093,
  alertmanager_conf_settings: {},
  node_exporter_port: 9100,
  postgres_exporter_port: 9187,
  // pgbouncer_exporter's own default (Prometheus's allocation for it).
  pgbouncer_exporter_port: 9127,
  // Prometheus's allocation for patroni-exporter, whose interface `pgha exporter` keeps.
  pgha_exporter_port: 9547,

  use_local_repo_only: false,
});

/** Variables pgha understands that have no default. */
export const KNOWN_WITHOUT_DEFAULT: readonly string[] = [
  // Derived from os_version: the major the host's release ships (src/model/releases.ts).
  'postgres_version',
  'postgres_package_version',
  // Unset: the instance's ip_address and 127.0.0.1 (Patroni's local checks need the latter).
  'postgres_listen_addresses',
  'patroni_package_version',
  'etcd_package_version',
  'haproxy_package_version',
  'pgbouncer_package_version',
  'pgbackrest_package_version',
  'prometheus_package_version',
  'node_exporter_package_version',
  'postgres_exporter_package_version',
  'pgbouncer_exporter_package_version',
  // TPA's instance key (also a variable): the pgbackrest host keeping a data node's backups.
  'backup',
  'patroni_repl_max_lag',
  // Unset: no HAProxy listener for reads from synchronous standbys (src/components/haproxy/config.ts).
  'haproxy_sync_read_port',
  // Unset: no virtual IP. Set: keepalived moves it between the haproxy hosts (src/components/keepalived/).
  'vip_address',
  // The interface keepalived puts the VIP on (nspawn's configure writes host0; bare hosts say theirs).
  'vip_interface',
  // Unset: derived from the cluster's name (src/components/keepalived/vip.ts).
  'keepalived_virtual_router_id',
  'keepalived_package_version',
  'postgres_data_dir',
  'postgres_bin_dir',
  'etcd_data_dir',
  'failover_manager',
  // Unset: pgha manages no users or databases. A list, [] included: deploy reconciles them and
  // reports (or, with --prune, drops) those it created that are no longer listed.
  'postgres_users',
  'postgres_databases',
];

export const ARCHITECTURE_DEFAULTS: Readonly<Record<'M1', Vars>> = Object.freeze({
  M1: { failover_manager: 'patroni' },
});

export const KNOWN_VARIABLES: ReadonlySet<string> = new Set([...Object.keys(BUILTIN_DEFAULTS), ...KNOWN_WITHOUT_DEFAULT]);

/** Defaults that depend on other variables; applied after all layers, only where still unset. */
export function derivedDefaults(vars: Vars, clusterName: string): Vars {
  const ver = String(vars.postgres_version ?? releaseOf(vars).postgresDefault);
  return {
    postgres_version: releaseOf(vars).postgresDefault,
    postgres_data_dir: `/var/lib/postgresql/${ver}/${clusterName}`,
    postgres_bin_dir: `/usr/lib/postgresql/${ver}/bin`,
    etcd_data_dir: `/var/lib/etcd/${clusterName}`,
  };
}
