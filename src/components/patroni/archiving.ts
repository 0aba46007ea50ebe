/**
 * What a backup host adds to Patroni (issue 13): WAL archiving into the pgBackRest repository,
 * and replicas built from it. A data node opts in with TPA's `backup: <host>`; without it,
 * nothing here adds a key, so clusters without backups keep exactly the DCS and patroni.yml
 * they had.
 *
 * Archiving lives in the DCS configuration (cluster-wide, as the config rule that makes every
 * data node name the same backup host keeps it), so a member promoted by switchover or failover
 * archives from its first WAL segment on, with no gap. `restore_command` sits among
 * `postgresql.parameters`: Patroni 3.0.2 and 4.0.7 both move recovery parameters found there
 * into their recovery settings (`_adjust_recovery_parameters` in patroni/postgresql/config.py),
 * so replicas fetch from the repository what the leader no longer keeps.
 */
import type { Plain } from '../../model/merge.js';
import type { Vars } from '../../model/types.js';
import { optStr } from '../common.js';

/** Whether the host's variables name a backup host (the config rules check that it is one). */
export function archives(vars: Vars): boolean {
  return optStr(vars, 'backup') !== undefined;
}

/**
 * Its part of the desired DCS document. Without a backup host it owns no key (an empty map, not
 * tombstones): an archive_command an operator set by hand on a cluster without backups is left
 * alone. Removing `backup` later therefore leaves archiving configured in the DCS; null the
 * parameters in patroni_dynamic_conf_settings to remove them.
 */
export function archivingDcs(vars: Vars, stanza: string): Plain {
  if (!archives(vars)) return {};
  return {
    postgresql: {
      parameters: {
        archive_mode: 'on',
        archive_command: `pgbackrest --stanza=${stanza} archive-push %p`,
        restore_command: `pgbackrest --stanza=${stanza} archive-get %f "%p"`,
      },
    },
  };
}

/**
 * Its part of patroni.yml: a new replica (deploy, reinit) is restored from the repository with
 * `--delta` over what its data directory holds, and falls back to a basebackup from the leader
 * when the repository has no backup yet or cannot be reached.
 */
export function replicaFromRepository(vars: Vars, stanza: string): Plain {
  if (!archives(vars)) return {};
  return {
    postgresql: {
      create_replica_methods: ['pgbackrest', 'basebackup'],
      pgbackrest: { command: `pgbackrest --stanza=${stanza} --delta restore`, keep_data: true, no_params: true },
    },
  };
}
