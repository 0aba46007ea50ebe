/**
 * `pgha remove-node DIR NAME` (docs/architecture.md#changing-a-cluster): a node taken out of a
 * running cluster. Checked first, changing nothing when refused: NAME is in config.yml, is not
 * the configured primary, config.yml stays valid without it, it does not lead (exit 3: switch over
 * first), and etcd keeps its quorum without it. Then, in an order each step of which a re-run or a
 * plain deploy converges from: Patroni and PostgreSQL stopped on NAME and its member key deleted
 * from the DCS (the leader drops its replication slot at its next cycle); config.yml written
 * without it; deploy (etcd `member remove`, every other host's HAProxy, PgBouncer, pg_hba and
 * allowlist reloaded, nothing restarted); NAME's services disabled; its host removed where
 * provision made it (nspawn) and its pinned host keys dropped.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dataNodes, hasRole, isDataNode } from '../../components/common.js';
import { patroniUnit } from '../../components/patroni/config.js';
import { disableUnitsCommand } from '../../components/host-commands.js';
import { stopMemberCommand } from '../../components/pgbackrest/restore.js';
import { validateConfig } from '../../config/validate.js';
import { parseConfigText } from '../../config/load.js';
import { ConfigError, RefusedError, UsageError } from '../../errors.js';
import { leaderOf } from '../../patroni/judge.js';
import { platformFor } from '../../platforms/index.js';
import { run } from '../../transport/types.js';
import { servicesFor } from '../../render/index.js';
import { ensureClusterMaterial, loadCluster } from '../cluster-dir.js';
import { deploy, type DeployResult } from '../deploy/index.js';
import { tryReadCluster } from '../live/view.js';
import type { Progress } from '../progress.js';
import { ClusterSession, type SessionSeams } from '../session.js';
import { withoutInstance } from './config-edit.js';
import { checkEtcdQuorum, dropKnownHosts, dropMemberSlot, forgetMember, slotNameOf, waitMemberGone } from './steps.js';

export interface RemoveNodeRequest {
  concurrency: number;
  /** Progress lines on stderr (deploy's own phases go to `progress`). */
  log: (line: string) => void;
}

export async function removeNode(
  dir: string,
  name: string,
  req: RemoveNodeRequest,
  progress: Progress,
  seams: SessionSeams = {},
): Promise<DeployResult> {
  const loaded = loadCluster(dir);
  const { cluster, paths } = loaded;
  const host = cluster.hosts.find((h) => h.name === name);
  if (!host) {
    throw new UsageError(`${name} is not an instance of ${paths.config} (instances: ${cluster.hosts.map((h) => h.name).join(', ')})`, {
      hint: `a node already taken out of config.yml: \`pgha deploy ${paths.dir}\` finishes what remove-node began`,
    });
  }
  if (hasRole(host, 'primary')) {
    throw new UsageError(`${name} has role primary in ${paths.config}: the member a new cluster bootstraps on`, {
      hint: `give role primary to another data node (and ${name} role replica) in config.yml, then run remove-node again; \`pgha switchover ${paths.dir}\` first if ${name} leads`,
    });
  }
  const text = readFileSync(paths.config, 'utf8');
  const without = withoutInstance(text, name, paths.config);
  try {
    validateConfig(parseConfigText(without, 'config.yml'));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new UsageError(`without ${name}, config.yml would not be valid:\n${e.message}`, {
      hint: 'fix config.yml first, then run remove-node again',
    });
  }

  const material = await ensureClusterMaterial(loaded);
  const session = new ClusterSession(cluster, paths, material, seams.connectHost, seams.rest);
  try {
    const remaining = cluster.hosts.filter((h) => h.name !== name);
    let leader: string | undefined;
    if (isDataNode(host)) {
      const live = await tryReadCluster(
        session,
        dataNodes(cluster).map((h) => h.name),
      );
      leader = live ? leaderOf(live)?.name : undefined;
      if (leader === name) {
        throw new RefusedError(`refusing to remove ${name}; nothing was changed:`, [`${name} is the leader`], {
          hint: `switch over first: pgha switchover ${paths.dir}`,
        });
      }
    }
    if (hasRole(host, 'etcd')) await checkEtcdQuorum(session, host, remaining);

    // Reachable or not (a dead host is removed all the same): what cannot be stopped is said.
    let reachable = true;
    try {
      await session.connect([host], 1);
    } catch (e) {
      reachable = false;
      req.log(`${name}: unreachable (${(e as Error).message.split('\n')[0]}); its services are not stopped`);
    }
    if (isDataNode(host)) {
      if (reachable) {
        const r = await run(session.transport(name), stopMemberCommand(host, patroniUnit(cluster)), 'stop Patroni and PostgreSQL');
        req.log(`${name}: Patroni and PostgreSQL ${r.stdout.includes('stopped') ? 'stopped' : 'already stopped'}`);
      }
      const kept = await forgetMember(session, remaining, name);
      if (kept) req.log(kept);
      const shows = await waitMemberGone(
        session,
        dataNodes(cluster)
          .map((h) => h.name)
          .filter((n) => n !== name),
        name,
      );
      if (shows) req.log(shows);
      if (leader) {
        await session.connect([session.host(leader)], 1);
        const slot = await dropMemberSlot(session, leader, name);
        req.log(slot ?? `${leader}: replication slot ${slotNameOf(name)} dropped`);
      }
    }

    writeFileSync(paths.config, without);
    req.log(`${paths.config}: ${name} removed`);
    const result = await deploy(dir, { check: false, diff: false, extraVars: {}, concurrency: req.concurrency }, progress, seams);
    if (result.exitCode !== 0) return result;

    const lines: string[] = [];
    if (reachable) {
      // Every unit pgha runs there (HAProxy, PgBouncer, the exporters too): a bare host left as it
      // is must not go on serving its last configuration.
      const units = servicesFor(cluster, host);
      if (units.length) {
        await run(session.transport(name), disableUnitsCommand(units), 'disable services');
        lines.push(`${name}: ${units.join(', ')} stopped and disabled`);
      }
    }
    await session.close();
    lines.push(await platformFor(cluster.platform).removeHost({ clusterName: cluster.name, host: name, log: req.log }));
    const dropped = dropKnownHosts(paths.knownHosts, host);
    if (dropped) lines.push(dropped);
    return { ...result, summary: [result.summary, ...lines].join('\n') };
  } finally {
    await session.close();
  }
}
