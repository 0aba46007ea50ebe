/**
 * The pgBackRest commands pgha runs on the repository host outside deploy (issue 13): a backup
 * (`pgha backup`), the repository's `info` (`pgha backups`, the backup's report, status) and
 * `check` (`pgha test`). Commands as data (docs/architecture.md#security-invariants): the script
 * holds the stanza and the type, nothing secret; the intent says what it does for the simulated
 * hosts of the orchestration tests.
 *
 * Everything runs as postgres, the user the repository and pgbackrest.conf belong to (./unit.ts),
 * from /tmp: runuser keeps the caller's directory, which postgres may not be allowed to read.
 */
import { quote, type Command } from '../../transport/quote.js';
import type { BackupType } from './info.js';

const pgbackrest = (stanza: string) => `runuser -u postgres -- pgbackrest --stanza=${quote(stanza)}`;

/** The repository's contents as JSON on stdout; pgBackRest's log lines stay out of it. */
export function infoCommand(stanza: string): Command {
  return {
    script: `cd /tmp && ${pgbackrest(stanza)} --output=json --log-level-console=off info`,
    timeoutSec: 60,
    intent: { kind: 'pgbackrest-info', stanza },
  };
}

/**
 * A backup of `type`, waited for: as long as it takes (no timeout; a full backup of a large
 * database takes hours). Its log goes to stderr, which an error quotes the tail of.
 */
export function backupCommand(stanza: string, type: BackupType, opts: { fromPrimary?: boolean } = {}): Command {
  // fromPrimary: read from the primary even where backup-standby is set (a restore takes its
  // first backup before any standby runs).
  const standby = opts.fromPrimary ? ' --backup-standby=n' : '';
  return {
    script: `cd /tmp && ${pgbackrest(stanza)} --type=${type}${standby} backup >&2`,
    intent: { kind: 'pgbackrest-backup', stanza, type },
  };
}

/** `pgbackrest check`: the configuration holds and a WAL segment switched on the primary reaches the repository. */
export function checkCommand(stanza: string): Command {
  return {
    script: `cd /tmp && ${pgbackrest(stanza)} check >&2`,
    timeoutSec: 120,
    intent: { kind: 'pgbackrest-check', stanza },
  };
}
