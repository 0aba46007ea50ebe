/**
 * The host side of `pgha restore DIR --clone NEWDIR` (issue 13): one cluster's repository
 * copied into another's, so the new cluster restores from a repository of its own and archives
 * on into it. Commands as data (docs/architecture.md#security-invariants).
 *
 * Why the stanza's two directories are copied whole, under the new stanza's name: pgBackRest's
 * files never name their stanza (backup.info and archive.info name the database by system
 * identifier and version; manifests name files), so a copy renamed is the new stanza's history.
 * The restored database has the old one's system identifier, so the new cluster's archiving
 * fits the copied archive.info and goes on along a new timeline (PostgreSQL picks one the
 * archive has no history file of). Both ends run as postgres, which owns the repository.
 */
import { quote, type Command } from '../../transport/quote.js';

const asPostgres = (script: string) => `cd /tmp && runuser -u postgres -- bash -c ${quote(script)}`;

/** A tar of the stanza's backups and archive, on stdout (the script; exportStanzaCommand runs it as postgres). */
export function exportStanzaScript(repoPath: string, stanza: string): string {
  return `set -euo pipefail
cd ${quote(repoPath)}
for d in backup/${quote(stanza)} archive/${quote(stanza)}; do
  [ -d "$d" ] || { echo "$PWD/$d does not exist: the repository has no such stanza" >&2; exit 1; }
done
exec tar -cf - backup/${quote(stanza)} archive/${quote(stanza)}`;
}

export function exportStanzaCommand(repoPath: string, stanza: string): Command {
  return { script: asPostgres(exportStanzaScript(repoPath, stanza)) };
}

/**
 * The tar on stdin unpacked beside the repository, then put in place of `stanza`'s directories
 * (the new cluster's own, from its first deploy). Unpacked to the side first, so an interrupted
 * copy leaves the repository as it was; a copy killed between the swap's two moves is made
 * whole by the next run, which copies again.
 */
export function importStanzaScript(repoPath: string, fromStanza: string, stanza: string): string {
  const stage = `${repoPath}/.pgha-clone`;
  return `set -euo pipefail
cd ${quote(repoPath)}
rm -rf ${quote(stage)}
mkdir -p ${quote(stage)} backup archive
tar -C ${quote(stage)} -xf -
rm -rf backup/${quote(stanza)} archive/${quote(stanza)}
mv ${quote(`${stage}/backup/${fromStanza}`)} backup/${quote(stanza)}
mv ${quote(`${stage}/archive/${fromStanza}`)} archive/${quote(stanza)}
rm -rf ${quote(stage)}`;
}

export function importStanzaCommand(repoPath: string, fromStanza: string, stanza: string): Command {
  return { script: asPostgres(importStanzaScript(repoPath, fromStanza, stanza)) };
}

/**
 * A stopped data node's archive spool emptied: the async archiver's queue of the cluster the
 * clone replaces (segments it fetched ahead, or marked pushed) would be taken for the copied
 * archive's segments of the same name.
 */
export function clearSpoolCommand(spoolPath: string, stanza: string): Command {
  return { script: `rm -rf ${quote(`${spoolPath}/archive/${stanza}`)}` };
}

/** The backup labels the repository holds of `stanza` (one per line; none when it has no stanza yet). */
export function backupLabelsCommand(repoPath: string, stanza: string): Command {
  const dir = `${repoPath}/backup/${stanza}`;
  return {
    script: `[ ! -d ${quote(dir)} ] || ls -1 ${quote(dir)} | grep -E '^[0-9]{8}-[0-9]{6}F' || true`,
  };
}
