/**
 * The benchmark's figures, the goals of issue 5 item 2 checked against them, and the Markdown
 * written beside the JSON. Pure: unit-tested in test/unit/bench-report.test.ts.
 */

/** Exactly the keys issue 5 item 1 names; null when the part that measures it did not run. */
export interface BenchFigures {
  cold_deploy_s: number | null;
  deploy_floor_s: number | null;
  noop_deploy_s: number | null;
  ssh_roundtrips_per_host_noop: number | null;
  status_ms: number | null;
  patronictl_list_ms: number | null;
  switchover_gap_ms_p50: number | null;
  switchover_gap_ms_max: number | null;
  switchover_gap_ms_p50_tpa_checks: number | null;
  postmaster_kill_gap_ms: number | null;
  failover_gap_ms_node_stop: number | null;
  upgrade_patroni_lost_writes: number | null;
  upgrade_patroni_gap_ms: number | null;
  render_plan_500_hosts_ms: number | null;
  cli_peak_rss_mb: number | null;
  deploy_3_vs_6_data_nodes_ratio: number | null;
  /** Issue 17: every process of the leader's container stopped (SIGSTOP) 45 s, then resumed. */
  frozen_leader_lost_writes: number | null;
  frozen_leader_gap_ms: number | null;
  /** Issue 17: the leader's container link down 45 s, then up; asynchronous replication. */
  partition_lost_writes: number | null;
  /** Issue 14: the same partition with `patroni_synchronous_mode: strict` (goal 0); `partition_strict_lost_writes` in older files. */
  sync_strict_lost_writes: number | null;
  /** Issue 12: writes through HAProxy that failed while `pgha rotate-passwords` ran (its writer keeps one connection). */
  rotate_passwords_failed_writes: number | null;
  /** Issue 12: the same writer's failed writes while `pgha rotate-certs --ca` ran (three phases, etcd restarted member by member). */
  rotate_ca_failed_writes: number | null;
  /** Issue 13 (bench/backups.ts): a full backup of ≥ 1 GB vs tar + zstd of the same data to the same disk. */
  backup_full_s: number | null;
  backup_floor_s: number | null;
  /** Issue 13: the leader-to-be's restore + recovery to a time vs unpacking the floor's archive. */
  restore_pitr_s: number | null;
  restore_floor_s: number | null;
  /** Issue 13: the whole `pgha restore` (members stopped, restore, new full backup, replicas rebuilt); reported. */
  restore_total_s: number | null;
  pitr_rows_wrong: number | null;
  replica_from_repo_s: number | null;
  replica_basebackup_s: number | null;
  archive_lag_max_s: number | null;
  /** Issue 15 (bench/monitoring.ts): one GET /metrics of `pgha exporter --cluster` (3 members) vs `patronictl list` on the same cluster. */
  exporter_scrape_ms: number | null;
  monitoring_patronictl_list_ms: number | null;
  /** Issue 15: that exporter's peak RSS after its scrapes. */
  exporter_rss_mb: number | null;
  /** Issue 15: a replica's Patroni stopped → PatroniMemberDown firing in Prometheus. */
  alert_fire_s: number | null;
  /** Issue 14: SIGKILL to every process of the leader's container at once; the longest write gap (goal ttl + 5 s). */
  leader_crash_gap_ms: number | null;
  /** Issue 14: writes the frozen-then-resumed old leader accepted, through HAProxy and directly (goal 0). */
  frozen_leader_split_brain_writes: number | null;
  /** Issue 14: writes the partitioned old leader accepted through HAProxy, the bench cluster's entry point (goal 0). */
  partition_split_brain_writes: number | null;
  /** Issue 14: a new data node in config.yml → `pgha provision` + `pgha deploy` → streaming. */
  add_node_s: number | null;
  /** Issue 14: pg_basebackup of the same leader's data on that new host. */
  basebackup_floor_s: number | null;
  /** Issue 14: failed writes through HAProxy while `pgha remove-node` removes that node (goal 0). */
  remove_node_failed_writes: number | null;
  /** Issue 14: the HAProxy host holding the VIP crashes; the longest write gap through the VIP (reported). */
  proxy_loss_gap_ms: number | null;
}

export const FIGURE_KEYS: readonly (keyof BenchFigures)[] = [
  'cold_deploy_s',
  'deploy_floor_s',
  'noop_deploy_s',
  'ssh_roundtrips_per_host_noop',
  'status_ms',
  'patronictl_list_ms',
  'switchover_gap_ms_p50',
  'switchover_gap_ms_max',
  'switchover_gap_ms_p50_tpa_checks',
  'postmaster_kill_gap_ms',
  'failover_gap_ms_node_stop',
  'upgrade_patroni_lost_writes',
  'upgrade_patroni_gap_ms',
  'render_plan_500_hosts_ms',
  'cli_peak_rss_mb',
  'deploy_3_vs_6_data_nodes_ratio',
  'frozen_leader_lost_writes',
  'frozen_leader_gap_ms',
  'partition_lost_writes',
  'sync_strict_lost_writes',
  'rotate_passwords_failed_writes',
  'rotate_ca_failed_writes',
  'backup_full_s',
  'backup_floor_s',
  'restore_pitr_s',
  'restore_floor_s',
  'restore_total_s',
  'pitr_rows_wrong',
  'replica_from_repo_s',
  'replica_basebackup_s',
  'archive_lag_max_s',
  'exporter_scrape_ms',
  'monitoring_patronictl_list_ms',
  'exporter_rss_mb',
  'alert_fire_s',
  'leader_crash_gap_ms',
  'frozen_leader_split_brain_writes',
  'partition_split_brain_writes',
  'add_node_s',
  'basebackup_floor_s',
  'remove_node_failed_writes',
  'proxy_loss_gap_ms',
];

/**
 * Keys renamed since results files were first committed, with the name older files use: those
 * files stay in bench/results and are read as they are.
 */
export const FORMER_KEY_NAMES: Readonly<Partial<Record<keyof BenchFigures, string>>> = {
  sync_strict_lost_writes: 'partition_strict_lost_writes',
};

/** Patroni's ttl as pgha sets it (src/components/patroni/dcs.ts): the frozen leader's gap goal is ttl + 5 s. */
export const PATRONI_TTL_MS = 30_000;

export function emptyFigures(): BenchFigures {
  return Object.fromEntries(FIGURE_KEYS.map((k) => [k, null])) as unknown as BenchFigures;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export interface GoalCheck {
  goal: string;
  measured: string;
  /** null: not measured in this run. */
  pass: boolean | null;
}

/** Issue 5 item 2, in its order. */
export function checkGoals(f: BenchFigures): GoalCheck[] {
  const have = (...xs: (number | null)[]) => xs.every((x) => x !== null);
  const out: GoalCheck[] = [];
  out.push(
    have(f.cold_deploy_s, f.deploy_floor_s)
      ? {
          goal: 'cold deploy ≤ 1.3 × floor',
          measured: `${f.cold_deploy_s} s vs floor ${f.deploy_floor_s} s = ${round(f.cold_deploy_s! / f.deploy_floor_s!, 2)} ×`,
          pass: f.cold_deploy_s! <= 1.3 * f.deploy_floor_s!,
        }
      : { goal: 'cold deploy ≤ 1.3 × floor', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.noop_deploy_s)
      ? { goal: 'no-op deploy ≤ 3 s', measured: `${f.noop_deploy_s} s`, pass: f.noop_deploy_s! <= 3 }
      : { goal: 'no-op deploy ≤ 3 s', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.ssh_roundtrips_per_host_noop)
      ? {
          goal: '≤ 3 SSH round trips per host (no-op deploy)',
          measured: `${f.ssh_roundtrips_per_host_noop} (busiest host)`,
          pass: f.ssh_roundtrips_per_host_noop! <= 3,
        }
      : { goal: '≤ 3 SSH round trips per host (no-op deploy)', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.status_ms, f.patronictl_list_ms)
      ? {
          goal: 'status ≤ 0.5 × patronictl list',
          measured: `${f.status_ms} ms vs ${f.patronictl_list_ms} ms = ${round(f.status_ms! / f.patronictl_list_ms!, 2)} ×`,
          pass: f.status_ms! <= 0.5 * f.patronictl_list_ms!,
        }
      : { goal: 'status ≤ 0.5 × patronictl list', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.switchover_gap_ms_p50)
      ? {
          goal: 'switchover gap p50 ≤ 1 s (issue 14; 2 s before)',
          measured: `${f.switchover_gap_ms_p50} ms (max ${f.switchover_gap_ms_max} ms)`,
          pass: f.switchover_gap_ms_p50! <= 1000,
        }
      : { goal: 'switchover gap p50 ≤ 1 s (issue 14; 2 s before)', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.switchover_gap_ms_p50, f.switchover_gap_ms_p50_tpa_checks)
      ? {
          goal: "switchover gap ≥ 2.5 × shorter than with TPA's checks",
          measured: `${f.switchover_gap_ms_p50_tpa_checks} ms / ${f.switchover_gap_ms_p50} ms = ${round(f.switchover_gap_ms_p50_tpa_checks! / f.switchover_gap_ms_p50!, 2)} ×`,
          pass: f.switchover_gap_ms_p50_tpa_checks! >= 2.5 * f.switchover_gap_ms_p50!,
        }
      : { goal: "switchover gap ≥ 2.5 × shorter than with TPA's checks", measured: 'not measured', pass: null },
  );
  out.push(
    have(f.upgrade_patroni_lost_writes)
      ? {
          goal: 'patroni upgrade loses 0 writes',
          measured: `${f.upgrade_patroni_lost_writes} lost (longest gap ${f.upgrade_patroni_gap_ms} ms)`,
          pass: f.upgrade_patroni_lost_writes === 0,
        }
      : { goal: 'patroni upgrade loses 0 writes', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.render_plan_500_hosts_ms)
      ? {
          goal: 'render + plan for 500 hosts ≤ 2 s',
          measured: `${f.render_plan_500_hosts_ms} ms`,
          pass: f.render_plan_500_hosts_ms! <= 2000,
        }
      : { goal: 'render + plan for 500 hosts ≤ 2 s', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.cli_peak_rss_mb)
      ? { goal: 'CLI peak RSS ≤ 200 MB (cold deploy)', measured: `${f.cli_peak_rss_mb} MB`, pass: f.cli_peak_rss_mb! <= 200 }
      : { goal: 'CLI peak RSS ≤ 200 MB (cold deploy)', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.postmaster_kill_gap_ms)
      ? {
          goal: 'postmaster kill -9 on the leader: write gap ≤ 3 s',
          measured: `${f.postmaster_kill_gap_ms} ms`,
          pass: f.postmaster_kill_gap_ms! <= 3000,
        }
      : { goal: 'postmaster kill -9 on the leader: write gap ≤ 3 s', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.frozen_leader_lost_writes)
      ? {
          goal: 'frozen leader loses 0 writes',
          measured: `${f.frozen_leader_lost_writes} lost`,
          pass: f.frozen_leader_lost_writes === 0,
        }
      : { goal: 'frozen leader loses 0 writes', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.frozen_leader_gap_ms)
      ? {
          goal: 'frozen leader: write gap ≤ ttl + 5 s',
          measured: `${f.frozen_leader_gap_ms} ms (ttl ${PATRONI_TTL_MS} ms)`,
          pass: f.frozen_leader_gap_ms! <= PATRONI_TTL_MS + 5_000,
        }
      : { goal: 'frozen leader: write gap ≤ ttl + 5 s', measured: 'not measured', pass: null },
  );
  // Goal 0 only with synchronous_mode: strict; the bench cluster replicates asynchronously, so
  // the figure is reported, not judged.
  out.push({
    goal: 'partitioned leader: lost writes (asynchronous replication: reported)',
    measured: have(f.partition_lost_writes) ? `${f.partition_lost_writes} lost` : 'not measured',
    pass: null,
  });
  out.push(
    have(f.sync_strict_lost_writes)
      ? {
          goal: 'partitioned leader, synchronous_mode strict: 0 lost writes',
          measured: `${f.sync_strict_lost_writes} lost`,
          pass: f.sync_strict_lost_writes === 0,
        }
      : { goal: 'partitioned leader, synchronous_mode strict: 0 lost writes', measured: 'not measured', pass: null },
  );
  // Issue 14's failure behaviour and node changes.
  out.push(
    have(f.leader_crash_gap_ms)
      ? {
          goal: 'leader host crash (SIGKILL of its container): write gap ≤ ttl + 5 s',
          measured: `${f.leader_crash_gap_ms} ms (ttl ${PATRONI_TTL_MS} ms)`,
          pass: f.leader_crash_gap_ms! <= PATRONI_TTL_MS + 5_000,
        }
      : { goal: 'leader host crash (SIGKILL of its container): write gap ≤ ttl + 5 s', measured: 'not measured', pass: null },
  );
  const zeroGoal = (goal: string, x: number | null, what: string): GoalCheck =>
    have(x) ? { goal, measured: `${x} ${what}`, pass: x === 0 } : { goal, measured: 'not measured', pass: null };
  out.push(zeroGoal('frozen leader, resumed: writes it accepts = 0', f.frozen_leader_split_brain_writes, 'accepted'));
  out.push(zeroGoal('partitioned leader: writes it accepts through the entry points = 0', f.partition_split_brain_writes, 'accepted'));
  out.push({
    goal: 'add a data node (provision + deploy until it streams) vs pg_basebackup on that host (reported)',
    measured: have(f.add_node_s, f.basebackup_floor_s)
      ? `${f.add_node_s} s vs floor ${f.basebackup_floor_s} s = ${round(f.add_node_s! / f.basebackup_floor_s!, 2)} ×`
      : 'not measured',
    pass: null,
  });
  out.push(zeroGoal('remove-node: failed writes = 0', f.remove_node_failed_writes, 'failed'));
  out.push({
    goal: 'the HAProxy host holding the VIP crashes: writes through the VIP again (reported)',
    measured: have(f.proxy_loss_gap_ms) ? `${f.proxy_loss_gap_ms} ms` : 'not measured',
    pass: null,
  });
  out.push({
    goal: 'rotate-passwords: failed writes = 0',
    measured: have(f.rotate_passwords_failed_writes) ? `${f.rotate_passwords_failed_writes} failed` : 'not measured',
    pass: have(f.rotate_passwords_failed_writes) ? f.rotate_passwords_failed_writes === 0 : null,
  });
  out.push({
    goal: 'rotate-certs --ca: failed writes = 0',
    measured: have(f.rotate_ca_failed_writes) ? `${f.rotate_ca_failed_writes} failed` : 'not measured',
    pass: have(f.rotate_ca_failed_writes) ? f.rotate_ca_failed_writes === 0 : null,
  });
  const ratioGoal = (goal: string, x: number | null, floor: number | null, max: number): GoalCheck =>
    have(x, floor)
      ? { goal, measured: `${x} s vs floor ${floor} s = ${round(x! / floor!, 2)} ×`, pass: x! <= max * floor! }
      : { goal, measured: 'not measured', pass: null };
  out.push(ratioGoal('full backup ≤ 1.3 × tar + zstd of the same data', f.backup_full_s, f.backup_floor_s, 1.3));
  out.push(ratioGoal('restore to a point in time ≤ 1.5 × unpacking the same data', f.restore_pitr_s, f.restore_floor_s, 1.5));
  out.push({
    goal: 'point-in-time restore: rows wrong = 0',
    measured: have(f.pitr_rows_wrong) ? `${f.pitr_rows_wrong} wrong` : 'not measured',
    pass: have(f.pitr_rows_wrong) ? f.pitr_rows_wrong === 0 : null,
  });
  out.push({
    goal: 'replica from the repository vs pg_basebackup (reported)',
    measured: have(f.replica_from_repo_s, f.replica_basebackup_s)
      ? `${f.replica_from_repo_s} s (whole reinit) vs ${f.replica_basebackup_s} s = ${round(f.replica_from_repo_s! / f.replica_basebackup_s!, 2)} ×`
      : 'not measured',
    pass: null,
  });
  out.push(
    have(f.archive_lag_max_s)
      ? {
          goal: 'archive lag under pgbench ≤ 5 s',
          measured: `${f.archive_lag_max_s} s (max of 60 samples)`,
          pass: f.archive_lag_max_s! <= 5,
        }
      : { goal: 'archive lag under pgbench ≤ 5 s', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.exporter_scrape_ms, f.monitoring_patronictl_list_ms)
      ? {
          goal: 'exporter --cluster scrape ≤ 0.3 × patronictl list',
          measured: `${f.exporter_scrape_ms} ms vs ${f.monitoring_patronictl_list_ms} ms = ${round(f.exporter_scrape_ms! / f.monitoring_patronictl_list_ms!, 2)} ×`,
          pass: f.exporter_scrape_ms! <= 0.3 * f.monitoring_patronictl_list_ms!,
        }
      : { goal: 'exporter --cluster scrape ≤ 0.3 × patronictl list', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.exporter_rss_mb)
      ? { goal: 'exporter peak RSS ≤ 80 MB', measured: `${f.exporter_rss_mb} MB`, pass: f.exporter_rss_mb! <= 80 }
      : { goal: 'exporter peak RSS ≤ 80 MB', measured: 'not measured', pass: null },
  );
  out.push(
    have(f.alert_fire_s)
      ? { goal: 'PatroniMemberDown fires ≤ 120 s after a member stops', measured: `${f.alert_fire_s} s`, pass: f.alert_fire_s! <= 120 }
      : { goal: 'PatroniMemberDown fires ≤ 120 s after a member stops', measured: 'not measured', pass: null },
  );
  return out;
}

export const METHOD = `## Method

- **Hosts**: systemd-nspawn containers on this machine (\`--platform nspawn\`), of the Debian release
  named above (\`PGHA_BENCH_OS_VERSION\`, default 13), packages from the cluster's local repository
  (\`pgha download-packages\`, run before any timing). The cluster is
  \`configure -a M1 --enable-patroni --enable-haproxy --os-version N\`: 3 data nodes with etcd on them
  and 1 HAProxy host; \`patroni_package_version\` pinned to the release's own Patroni (Debian 12:
  3.0.2-1, Debian 13: 4.0.7-3~deb13u1). A second column, when present, gives the other release's
  newest committed figure of each key, with the date of its run.
- **cold_deploy_s**: wall time of the \`pgha deploy\` process on freshly provisioned containers.
- **deploy_floor_s**: on a separate set of fresh containers, the same package set pgha installs
  (\`packagesFor\`, with \`create_main_cluster = false\` and a \`policy-rc.d\` as pgha's install
  does), installed by a plain \`apt-get update && apt-get install\` over one OpenSSH session per
  host, all hosts at once; the slowest host's time (measured inside the session) counts. Plus
  Patroni's bootstrap alone, by hand with the installed binaries: \`initdb\` and start of a primary
  on one node, then \`pg_basebackup -X stream -c fast\` of it to a second node.
- **noop_deploy_s**: a second \`pgha deploy\` with nothing to change; **ssh_roundtrips_per_host_noop**:
  the SSH exec calls pgha counted per host in that run (\`PGHA_REPORT_ROUNDTRIPS=1\`); the busiest
  host is reported.
- **status_ms**: median of 20 runs of the whole \`pgha status DIR\` process (node start included).
  **patronictl_list_ms**: median of 20 \`patronictl -c /etc/patroni/<cluster>.yml list\` timed on a
  node inside one SSH session (\`date +%s%N\` around each), so SSH costs nothing to it.
- **switchover gaps**: a writer on the HAProxy host (python3 + psycopg2) inserts through HAProxy
  every 10 ms, reconnecting after any error with a 250 ms connect timeout. For each of 5
  \`pgha switchover\`s the longest gap between two acknowledged inserts counts; p50 and max over
  the 5. Then TPA's server check settings (\`inter 3s fall 3 rise 2\`; \`fastinter\`/\`downinter\`
  removed so they default to \`inter\`) are applied through \`haproxy_conf_settings.default_server\`,
  deployed, and 5 more switchovers give **switchover_gap_ms_p50_tpa_checks**; the setting is then
  removed and deployed again.
- **failover gaps**: same writer; \`kill -9\` of the leader's postmaster (pid from
  \`postmaster.pid\`), and a clean stop of the leader's whole container (SIGTERM to its
  systemd-nspawn, which powers the container off). The longest gap until writes flow again.
- **upgrade**: a rebuilt patroni package (only the version changed: Debian 12 \`3.0.2-1+pgha3\`
  from pgha's 3.0.2-1+pgha2, Debian 13 \`4.0.7-3~deb13u1+pgha1\` from Debian's) is in the
  repository from the start; \`pgha upgrade --components=patroni -e patroni_package_version=…\`
  under the writer; acknowledged inserts missing afterwards, and the longest gap.
- **frozen_leader_lost_writes**, **frozen_leader_gap_ms**: same writer; SIGSTOP to every process
  of the leader's container (its pid namespace, from the machine) for 45 s, then SIGCONT; writes
  missing afterwards, and the longest gap (goal: ttl + 5 s). On Debian 12 bench3 runs pgha's
  fixed Patroni (packaging/patroni/README.md) for it, upgraded to first when it still runs Debian's.
- **partition_lost_writes**: the leader's container link down for 45 s, then up; asynchronous
  replication, so reported, not judged. **sync_strict_lost_writes**: the same after
  \`patroni_synchronous_mode: strict\` is deployed (a DCS PATCH, no restart) and a replica is the
  synchronous standby; goal 0. The setting is removed and deployed again afterwards. Older
  results files call it partition_strict_lost_writes (set then through
  \`patroni_dynamic_conf_settings\`: the same two Patroni keys).
- **leader_crash_gap_ms**: same writer; SIGKILL to every process of the leader's container at
  once (its pid namespace, from the machine; no process gets to hand anything over, the leader key
  has to expire); the longest gap until writes flow again (goal: ttl + 5 s). The container is
  then booted again by \`pgha provision\` and brought back by \`pgha deploy\`.
- **frozen_leader_split_brain_writes**: during the frozen-leader run above, a second writer on the
  HAProxy host inserts straight into the old leader's PostgreSQL (its own address, port 5432); the
  freeze lasts until another member leads. Counted: the direct writer's inserts acknowledged after
  the freeze took effect, plus the HAProxy writer's acknowledged after it that the primary does not
  have afterwards (goal 0); the old leader must then be a replica in recovery (context).
- **partition_split_brain_writes**: during the asynchronous partition run, the HAProxy writer's
  inserts acknowledged after the link went down that the primary does not have afterwards (goal 0:
  the isolated leader accepts nothing through the entry point; bench3 has HAProxy, no PgBouncer).
  The direct writer's count is in the context.
- **add_node_s**: a fourth data node (role replica) appended to config.yml; wall time of
  \`pgha provision\` + \`pgha deploy\` until the leader sees it streaming, under the writer.
  **basebackup_floor_s**: then, on that host, \`pg_basebackup -X stream -c fast\` of the same
  leader as Patroni's replication user. **remove_node_failed_writes**: the writer's failed inserts
  while \`pgha remove-node DIR pg4\` takes it out again (goal 0).
- **proxy_loss_gap_ms**: a writer on a data node inserts through the VIP (keepalived on bench3's
  two HAProxy hosts); the proxy holding the VIP crashes (SIGKILL to every process of its
  container); the longest gap between writes acknowledged through the VIP (the outage: writes in
  flight at the crash fail, the next reach the new holder). Reported; keepalived's own floor is three missed adverts, about 3.5 s. The proxy is then
  booted again by \`pgha provision\`.
- **rotate_passwords_failed_writes**: same writer (one connection, reopened only after an
  error); \`pgha rotate-passwords DIR\` renews every password of the cluster while it writes; the
  writes that failed (goal 0: nothing restarts, no open connection is cut).
- **rotate_ca_failed_writes**: same writer, right after; \`pgha rotate-certs DIR --ca\` rolls a
  new CA (both CAs trusted, every certificate reissued by the new one, the old one dropped, each
  phase a deploy: Patroni, HAProxy and PgBouncer reload, etcd restarts member by member); the
  writes that failed (goal 0: PostgreSQL never restarts, open TLS connections stay up).
- **render_plan_500_hosts_ms**: in-process, no network: a synthetic 500-host config.yml (496 data
  nodes, etcd on 3 of them, 4 HAProxy hosts) through parse → validate → resolve → render →
  plan against empty facts; median of 5 runs. Certificates are not issued in the timed part.
- **cli_peak_rss_mb**: \`ru_maxrss\` of the pgha process of the cold deploy
  (\`node --require bench/peak-rss.cjs\`).
- **deploy_3_vs_6_data_nodes_ratio**: cold deploy of 6 data nodes (etcd on 3) + 1 HAProxy on fresh
  containers, divided by cold_deploy_s.
`;

/** One figure of another run: its value and the date of the results file it came from. */
export interface DatedFigure {
  value: number;
  date: string;
}

/** A second column for the Figures table: another release's newest measured value of each key. */
export interface OtherColumn {
  label: string;
  values: Partial<Record<keyof BenchFigures, DatedFigure>>;
}

/**
 * The newest measured value of every key over several results files of one release (partial runs
 * measure only some keys, so one file rarely has them all), a renamed key also under its former
 * name (FORMER_KEY_NAMES). `runs` in any order.
 */
export function newestPerKey(runs: readonly { date: string; figures: Readonly<Record<string, unknown>> }[]): OtherColumn['values'] {
  const out: OtherColumn['values'] = {};
  for (const run of [...runs].sort((a, b) => a.date.localeCompare(b.date)))
    for (const k of FIGURE_KEYS) {
      const former = FORMER_KEY_NAMES[k];
      const v = run.figures[k] ?? (former === undefined ? undefined : run.figures[former]);
      if (typeof v === 'number') out[k] = { value: v, date: run.date };
    }
  return out;
}

export function markdown(date: string, f: BenchFigures, context: Record<string, unknown>, other?: OtherColumn): string {
  const goals = checkGoals(f);
  const mark = (p: boolean | null) => (p === null ? '—' : p ? 'pass' : '**miss**');
  const value = (k: keyof BenchFigures) => (f[k] === null ? 'not measured' : String(f[k]));
  const otherValue = (k: keyof BenchFigures) => {
    const v = other?.values[k];
    return v ? `${v.value} (${v.date})` : 'not measured';
  };
  const release = typeof context.release === 'string' ? context.release : 'value';
  const lines = [
    `# pgha benchmark, ${date}`,
    '',
    `Machine: ${String(context.machine ?? '?')}. Release: ${String(context.release ?? '?')}. Versions: ${String(context.versions ?? '?')}.`,
    '',
    '## Goals (issue 5, item 2)',
    '',
    '| goal | measured | result |',
    '|---|---|---|',
    ...goals.map((g) => `| ${g.goal} | ${g.measured} | ${mark(g.pass)} |`),
    '',
    '## Figures',
    '',
    ...(other
      ? [
          `| key | ${release} | ${other.label} |`,
          '|---|---|---|',
          ...FIGURE_KEYS.map((k) => `| \`${k}\` | ${value(k)} | ${otherValue(k)} |`),
        ]
      : ['| key | value |', '|---|---|', ...FIGURE_KEYS.map((k) => `| \`${k}\` | ${value(k)} |`)]),
    '',
    METHOD,
  ];
  return `${lines.join('\n')}\n`;
}
