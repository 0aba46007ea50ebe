/**
 * `pgha backup` and `pgha backups` (issue 13): a backup taken now, and the repository's backups,
 * both on the repository host (role `pgbackrest`), the only host that reads the repository
 * directly. One SSH session to that host and nothing else: neither needs Patroni or the data
 * nodes (pgBackRest dials them itself over its TLS servers).
 */
import { stanzaHosts } from '../components/pgbackrest/stanza.js';
import { backupCommand, infoCommand } from '../components/pgbackrest/commands.js';
import { newBackup, parseInfo, type BackupEntry, type BackupType, type StanzaInfo } from '../components/pgbackrest/info.js';
import { RuntimeError, UsageError } from '../errors.js';
import type { ResolvedHost } from '../model/types.js';
import { run, type Transport } from '../transport/types.js';
import { ensureClusterMaterial, loadCluster } from './cluster-dir.js';
import { ClusterSession, type SessionSeams } from './session.js';

export type Out = (line: string) => void;

interface Repository {
  host: ResolvedHost;
  stanza: string;
  transport: Transport;
}

/**
 * The repository host of DIR's cluster, connected. Refused with the fix (exit 2) where config.yml
 * names none; a host that cannot be reached fails naming it (exit 1).
 */
async function withRepository<T>(dir: string, fn: (repo: Repository) => Promise<T>, seams: SessionSeams): Promise<T> {
  const loaded = loadCluster(dir);
  const repos = stanzaHosts(loaded.cluster);
  const first = repos[0];
  if (!first) {
    throw new UsageError(
      `${loaded.cluster.name} has no pgBackRest repository: no host with role pgbackrest that a data node names with backup:`,
      {
        where: loaded.paths.config,
        hint: 'add a host with role pgbackrest and set `backup: <that host>` on the data nodes (or `pgha configure --enable-pgbackrest` for a new cluster), then run pgha deploy',
      },
    );
  }
  const material = await ensureClusterMaterial(loaded);
  const session = new ClusterSession(loaded.cluster, loaded.paths, material, seams.connectHost, seams.rest);
  try {
    await session.connect([first.host]);
    return await fn({ host: first.host, stanza: first.stanza, transport: session.transport(first.host.name) });
  } finally {
    await session.close();
  }
}

/** `pgbackrest info` of the stanza on the repository host, parsed (backup, backups and restore read it). */
export async function readRepositoryInfo(t: Transport, stanza: string): Promise<StanzaInfo> {
  const r = await run(t, infoCommand(stanza), 'pgbackrest info', `look at pgBackRest's log under /var/log/pgbackrest on ${t.host}`);
  try {
    return parseInfo(r.stdout, stanza);
  } catch (e) {
    throw new RuntimeError((e as Error).message, { where: `${t.host}: pgbackrest info` });
  }
}

const readInfo = (repo: Repository): Promise<StanzaInfo> => readRepositoryInfo(repo.transport, repo.stanza);

/** Every backup of the repository, with its restorable window. */
export async function listBackups(dir: string, seams: SessionSeams = {}): Promise<{ repoHost: string; info: StanzaInfo }> {
  return withRepository(dir, async (repo) => ({ repoHost: repo.host.name, info: await readInfo(repo) }), seams);
}

/**
 * Takes a backup of `type` and waits for it, then reads it back from `info`: the newest backup
 * that was not there before (pgBackRest prints its label only in its log).
 */
export async function takeBackup(
  dir: string,
  type: BackupType,
  out: Out,
  seams: SessionSeams = {},
): Promise<{ repoHost: string; stanza: string; backup: BackupEntry }> {
  return withRepository(
    dir,
    async (repo) => {
      const before = await readInfo(repo);
      out(`${repo.host.name}: pgbackrest --stanza=${repo.stanza} --type=${type} backup (waiting for it to finish)`);
      await run(
        repo.transport,
        backupCommand(repo.stanza, type),
        `pgbackrest ${type} backup`,
        `pgbackrest check on ${repo.host.name} (or pgha test) says whether archiving works; the log is under /var/log/pgbackrest`,
      );
      const after = await readInfo(repo);
      const backup = newBackup(before, after);
      if (!backup)
        throw new RuntimeError(`pgbackrest backup succeeded, but info lists no new backup in stanza ${repo.stanza}`, {
          where: repo.host.name,
        });
      return { repoHost: repo.host.name, stanza: repo.stanza, backup };
    },
    seams,
  );
}
