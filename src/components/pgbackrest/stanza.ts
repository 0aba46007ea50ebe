/**
 * The stanza, created once the cluster leads (issue 13): `pgbackrest stanza-create` on the
 * repository host, then `pgbackrest check` (archiving reaches the repository), as the
 * component's cluster step (ClusterStep in ../component.ts). Commands as data
 * (docs/architecture.md#security-invariants). The check deploy plans with reads two files
 * and runs nothing of pgBackRest, so a no-op deploy stays a read.
 */
import { isPlainObject } from '../../model/merge.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import { quote, type Command } from '../../transport/quote.js';
import { hasRole } from '../common.js';
import type { ClusterStep } from '../component.js';
import { pgbackrestDocument } from './config.js';
import { backedUpBy, stanzaOf } from './topology.js';

/** The repository hosts that back up at least one data node, and the stanza each keeps. */
export function stanzaHosts(cluster: ResolvedCluster): { host: ResolvedHost; stanza: string }[] {
  return cluster.hosts
    .filter((h) => hasRole(h, 'pgbackrest') && backedUpBy(cluster, h).length > 0)
    .map((host) => ({ host, stanza: stanzaOf(cluster) }));
}

/** The repository's path on its host, as its final pgbackrest.conf says. */
export function repositoryPath(cluster: ResolvedCluster, host: ResolvedHost): string {
  const global = pgbackrestDocument(cluster, host).global;
  const path = isPlainObject(global) ? global['repo1-path'] : undefined;
  return typeof path === 'string' ? path : '/var/lib/pgbackrest';
}

/**
 * Creates the stanza unless the repository has it (its backup.info and archive.info), printing
 * `changed` when it does, then checks archiving. checkOnly: the same test, nothing run. Retries
 * stanza-create a few times: the TLS servers it dials were started moments before.
 * pgBackRest's own output goes to stderr, so stdout holds only `changed`.
 */
export function stanzaCommand(stanza: string, repoPath: string, opts: { checkOnly?: boolean } = {}): Command {
  const has = `test -s ${quote(`${repoPath}/backup/${stanza}/backup.info`)} && test -s ${quote(`${repoPath}/archive/${stanza}/archive.info`)}`;
  const intent = { kind: 'pgbackrest-stanza', stanza, checkOnly: opts.checkOnly === true } as const;
  if (opts.checkOnly) return { script: `${has} || echo changed`, intent };
  const script = `set -uo pipefail
cd /tmp
pgbr() { runuser -u postgres -- pgbackrest --stanza=${quote(stanza)} "$@" >&2; }
if ! { ${has}; }; then
  echo changed
  n=0
  until pgbr stanza-create; do
    n=$((n + 1)); [ "$n" -lt 5 ] || exit 1; sleep 2
  done
fi
pgbr check
`;
  return { script, intent };
}

/**
 * The step on each repository host: deploy runs it once the leader accepts writes, when the
 * pgBackRest servers (formation `early`) already run. `pgbackrest check` needs only the primary
 * (a standby is not required even with backup-standby), so it passes before the replicas start.
 */
export function stanzaStep(cluster: ResolvedCluster): ClusterStep {
  const stanza = stanzaOf(cluster);
  return {
    name: 'stanza',
    on: { kind: 'role', role: 'pgbackrest' },
    title: 'pgBackRest stanza',
    describe: (host) => `create stanza ${stanza} on ${host.name}, then check archiving`,
    check: (host) => stanzaCommand(stanza, repositoryPath(cluster, host), { checkOnly: true }),
    apply: (host) => stanzaCommand(stanza, repositoryPath(cluster, host)),
  };
}
