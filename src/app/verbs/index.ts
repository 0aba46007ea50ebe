/**
 * patronictl's verbs on pgha's session: restart, reload, reinit, pause/resume, failover,
 * history, show-config and edit-config. Reads go straight to the REST API; every write goes
 * through an SSH channel opened on a member (`fromMember`), the only way past the allowlist.
 */
import { RefusedError, UsageError } from '../../errors.js';
import { desiredDcs } from '../../components/patroni/dcs.js';
import { isPlainObject, type Plain } from '../../model/merge.js';
import {
  getHistory,
  patchDcsConfig,
  postFailover,
  postReinitialize,
  postReload,
  postRestart,
  type HistoryEntry,
} from '../../patroni/ops.js';
import { leaderName } from '../../patroni/judge.js';
import { isLeaderRole } from '../../patroni/types.js';
import { restartMember, setPause as pauseCluster, waitLeader } from '../live/view.js';
import type { SessionSeams } from '../session.js';
import { waitFor } from '../wait.js';
import { confirmOrRefuse } from './confirm.js';
import { readCluster, readConfig, requireMember, waitBack, withLive, type Live } from './live.js';
import { applyConfigPatch, buildConfigPatch, configDiff, failoverRefusal, patchedKeys, restartOrder } from './pure.js';

export type Out = (line: string) => void;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function refuseUnknown(live: Live, names: readonly string[], members: string[]): void {
  const unknown = names.filter((n) => !members.includes(n));
  if (unknown.length) {
    throw new RefusedError(
      `not members of ${live.loaded.cluster.name}:`,
      unknown.map((n) => `${n} (members: ${members.join(', ')})`),
    );
  }
}

/** The member write calls go through when any member will do: the leader, else the first that answers. */
async function writer(live: Live): Promise<string> {
  return leaderName(await readCluster(live)) ?? live.dataNodes[0]!.name;
}

export interface RestartRequest {
  members: string[];
  pending: boolean;
  scheduled?: string | undefined;
}

export async function restart(dir: string, req: RestartRequest, out: Out, seams: SessionSeams = {}): Promise<void> {
  await withLive(
    dir,
    async (live) => {
      const info = await readCluster(live);
      refuseUnknown(
        live,
        req.members,
        info.members.map((m) => m.name),
      );
      let order = restartOrder(info, req.members);
      if (req.pending) {
        const pending = new Set(info.members.filter((m) => m.pending_restart).map((m) => m.name));
        const skipped = order.filter((n) => !pending.has(n));
        if (skipped.length) out(`no pending restart on ${skipped.join(', ')}: left alone`);
        order = order.filter((n) => pending.has(n));
      }
      if (!order.length) {
        out('nothing to restart');
        return;
      }
      const body = { ...(req.pending ? { restart_pending: true } : {}), ...(req.scheduled ? { schedule: req.scheduled } : {}) };
      if (req.scheduled) {
        for (const name of order) {
          const r = await postRestart(live.session.patroni(name, { fromMember: true }), body);
          out(`${name}: ${r.kind === 'scheduled' ? `restart scheduled at ${req.scheduled}` : r.message}`);
        }
        return;
      }
      // One at a time, each member back (and the leader running) before the next goes down.
      for (const name of order) {
        const t0 = Date.now();
        out(`${name}: restarting${isLeaderRole(info.members.find((m) => m.name === name)?.role ?? '') ? ' (leader, last)' : ''}`);
        const r = await restartMember(
          live.session,
          live.dataNodes.map((h) => h.name),
          name,
          { body, what: `${name} to be back after its restart`, cluster: live.loaded.cluster.name },
        );
        if (r.kind === 'not-needed') {
          out(`${name}: ${r.message}`);
          continue;
        }
        out(`${name}: back after ${secs(Date.now() - t0)}`);
      }
    },
    { names: req.members, as: 'usage' },
    seams,
  );
}

export async function reload(dir: string, members: string[], out: Out, seams: SessionSeams = {}): Promise<void> {
  await withLive(
    dir,
    async (live) => {
      const info = await readCluster(live);
      refuseUnknown(
        live,
        members,
        info.members.map((m) => m.name),
      );
      const names = members.length ? members : info.members.map((m) => m.name);
      for (const name of names) {
        requireMember(live, name);
        out(`${name}: ${await postReload(live.session.patroni(name, { fromMember: true }))}`);
      }
    },
    { names: members, as: 'usage' },
    seams,
  );
}

export async function reinit(dir: string, member: string, force: boolean, out: Out, seams: SessionSeams = {}): Promise<void> {
  await withLive(
    dir,
    async (live) => {
      requireMember(live, member);
      const info = await readCluster(live);
      const m = info.members.find((x) => x.name === member);
      if (!m) throw new RefusedError(`${member} is not a member of the running cluster`, []);
      if (isLeaderRole(m.role))
        throw new RefusedError(`${member} is the leader: only a replica can be reinitialized`, [], {
          hint: `switch over first: pgha switchover DIR <replica>`,
        });
      out(`${member}: its data directory is removed and copied again from the leader`);
      await confirmOrRefuse(`Reinitialize ${member}?`, force, 'reinit');
      const t0 = Date.now();
      out(`${member}: ${await postReinitialize(live.session.patroni(member, { fromMember: true }), force)}`);
      // Give Patroni a loop to leave "running" before waiting for it to be back.
      await waitFor(
        async () => {
          const st = await live.session.patroni(member).patroni();
          return st.state !== 'running' ? true : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 300, what: `${member} to start reinitializing` },
      ).catch(() => undefined);
      await waitBack(live, member, `${member} to be reinitialized and streaming`, 30 * 60_000);
      out(`${member}: reinitialized and streaming after ${secs(Date.now() - t0)}`);
    },
    { names: [member], as: 'usage' },
    seams,
  );
}

export async function setPause(dir: string, pause: boolean, wait: boolean, out: Out, seams: SessionSeams = {}): Promise<void> {
  await withLive(
    dir,
    async (live) => {
      const info = await readCluster(live);
      if ((info.pause === true) === pause) {
        out(pause ? 'the cluster is paused already' : 'the cluster is not paused');
        return;
      }
      // Each member applies the change on its next HA loop; GET /patroni reports it there.
      await pauseCluster(
        live.session,
        live.dataNodes.map((h) => h.name),
        await writer(live),
        pause,
        {
          waitOn: wait ? info.members.map((m) => m.name) : [],
          what: `every member to ${pause ? 'pause' : 'resume'}`,
          patched: () =>
            out(
              pause
                ? 'paused: Patroni no longer fails over, promotes or restarts PostgreSQL by itself'
                : 'resumed: Patroni manages the cluster again',
            ),
        },
      );
      if (!wait) return;
      out(`every member ${pause ? 'is paused' : 'has resumed'}`);
    },
    undefined,
    seams,
  );
}

export async function failover(dir: string, candidate: string, force: boolean, out: Out, seams: SessionSeams = {}): Promise<void> {
  await withLive(
    dir,
    async (live) => {
      requireMember(live, candidate);
      const info = await readCluster(live);
      const reasons = failoverRefusal(info, candidate, force);
      if (reasons.length) throw new RefusedError(`failover to ${candidate} refused; nothing was changed:`, reasons);
      const t0 = Date.now();
      // From the candidate's own tunnel: the old leader may be the host that is gone.
      const r = await postFailover(live.session.patroni(candidate, { fromMember: true }), { candidate });
      out(`Patroni: ${r.message}`);
      await waitLeader(
        live.session,
        live.dataNodes.map((h) => h.name),
        { name: candidate },
        { timeoutMs: 120_000, intervalMs: 250, what: `${candidate} to lead` },
      );
      out(`${candidate} leads after ${secs(Date.now() - t0)}`);
    },
    { names: [candidate], as: 'refusal' },
    seams,
  );
}

export async function history(dir: string, seams: SessionSeams = {}): Promise<HistoryEntry[]> {
  return withLive(dir, async (live) => getHistory(live.session.patroni(await writer(live))), undefined, seams);
}

export async function showConfig(dir: string, seams: SessionSeams = {}): Promise<Plain> {
  return withLive(dir, (live) => readConfig(live), undefined, seams);
}

export interface EditConfigRequest {
  sets: string[];
  params: string[];
  force: boolean;
}

/**
 * Keys of a patch that deploy would set back: those pgha's desired DCS document (config.yml +
 * defaults) names, its nulls included, since deploy deletes such a key again (failsafe_mode while
 * the variable is off, or a key config.yml negates).
 */
export function keysDeployOwns(patch: Plain, desired: Plain): string[] {
  const has = (doc: unknown, path: string[]): boolean => {
    if (!path.length) return true;
    return isPlainObject(doc) && path[0]! in doc && has(doc[path[0]!], path.slice(1));
  };
  return patchedKeys(patch).filter((k) => {
    const params = /^postgresql\.parameters\.(.+)$/.exec(k);
    const path = params ? ['postgresql', 'parameters', params[1]!] : k.split('.');
    return has(desired, path);
  });
}

export async function editConfig(dir: string, req: EditConfigRequest, out: Out, seams: SessionSeams = {}): Promise<void> {
  const patch = buildConfigPatch(req.sets, req.params);
  if (!Object.keys(patch).length) throw new UsageError('edit-config: nothing to change; give --set KEY=VALUE or -p PARAM=VALUE');
  await withLive(
    dir,
    async (live) => {
      const before = await readConfig(live);
      const after = applyConfigPatch(before, patch);
      const diff = configDiff(before, after);
      if (!diff) {
        out('no changes: the DCS configuration already has these values');
        return;
      }
      out(diff.trimEnd());
      await confirmOrRefuse('Apply these changes to the DCS configuration?', req.force, 'edit-config');
      const via = await writer(live);
      await patchDcsConfig(live.session.patroni(via, { fromMember: true }), patch);
      out(`applied through ${via} (PATCH /config ${JSON.stringify(patch)})`);
      const owned = keysDeployOwns(patch, desiredDcs(live.session.host(via).vars, live.session.cluster.name));
      out(
        owned.length
          ? `note: config.yml is the source of truth for ${owned.join(', ')}: the next \`pgha deploy\` sets them back unless you change patroni_dynamic_conf_settings there too`
          : 'note: config.yml is the source of truth for the DCS keys it names (patroni_dynamic_conf_settings); `pgha deploy` leaves these keys alone',
      );
      out('parameters that need a restart show as pending restart within one loop_wait: `pgha restart DIR --pending`');
    },
    undefined,
    seams,
  );
}
