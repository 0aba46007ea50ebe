/**
 * `pgha deploy`: facts → the whole plan (./plan.ts, pure parts in src/plan/) → execution
 * (./apply.ts) → verification. `--check` stops after the plan and prints it; a real run prints
 * what it executed in the same words. Every step looks at the real state first, so a re-run —
 * also after an interruption — converges and a run with nothing to do changes nothing.
 */
import { clusterEntryPoints, entryPointsOn } from '../../components/registry.js';
import { ExitCode, UsageError } from '../../errors.js';
import { formatWholePlan, isEmptyPlan } from '../../plan/cluster-plan.js';
import { ensureClusterMaterial, loadCluster, readClusterMaterial, type LoadedCluster } from '../cluster-dir.js';
import { runPhases, type Progress } from '../progress.js';
import { mapLimit } from '../session.js';
import { Executor } from './apply.js';
import { DeployContext, type DeployRequest, type DeploySeams } from './context.js';
import {
  checkEtcd,
  checkLiveLeader,
  checkOsReleases,
  knownBugWarnings,
  planCluster,
  planEtcdMembers,
  planHostWork,
  renderDesired,
  rereadUnansweredLive,
} from './plan.js';

export type { DeployRequest } from './context.js';

export interface DeployResult {
  exitCode: number;
  summary: string;
  roundTrips: Record<string, number>;
}

/**
 * Where clients connect, for the end of a deploy: a VIP first (what clients should use), then
 * every component's entry points, host by host.
 */
export function clientEndpoints(loaded: LoadedCluster): string[] {
  // `read-only: ` and `read-sync: ` are padded to `read-write:`'s width, so the hosts line up.
  const kind = (k: string) => `${k}:`.padEnd('read-write:'.length);
  return [
    ...clusterEntryPoints(loaded.cluster).map((e) => `${kind(e.kind)} host=${e.ip} port=${String(e.port)} (${e.via})`),
    ...loaded.cluster.hosts.flatMap((h) =>
      entryPointsOn(loaded.cluster, h).map((e) => `${kind(e.kind)} host=${h.ip} port=${String(e.port)} (${e.label} on ${h.name})`),
    ),
  ];
}

export async function deploy(dir: string, req: DeployRequest, progress: Progress, seams: DeploySeams = {}): Promise<DeployResult> {
  const loaded = loadCluster(dir, req.extraVars);
  const unknown = (req.hosts ?? []).filter((n) => !loaded.cluster.hosts.some((h) => h.name === n));
  if (unknown.length) {
    throw new UsageError(
      `--hosts ${unknown.join(',')}: not in this cluster (hosts: ${loaded.cluster.hosts.map((h) => h.name).join(', ')})`,
    );
  }
  // --check only reads, DIR included: missing keys or passwords are reported, not created.
  const material = req.check ? await readClusterMaterial(loaded, 'pgha deploy --check') : await ensureClusterMaterial(loaded);
  const d = new DeployContext(loaded, material, req, seams);
  const redact = (lines: string[]) => lines.map((l) => d.session.material.secrets.redact(l));
  try {
    let skipEtcdWait: string[] = [];
    const warnings: string[] = [];
    await runPhases(
      [
        { title: 'connect', run: async () => d.session.connect(d.selected(), req.concurrency) },
        {
          title: 'gather facts and plan',
          run: async () => {
            [d.live, d.etcdLive] = await Promise.all([d.readLive(), d.readEtcdLive()]);
            const planHosts = async () => {
              checkLiveLeader(d);
              renderDesired(d);
              await mapLimit([...d.work.values()], req.concurrency, (w) => planHostWork(d, w));
            };
            await planHosts();
            if (await rereadUnansweredLive(d)) await planHosts();
            // In config.yml's order, whichever host answered first.
            d.plan.hosts = new Map(
              d.selected().flatMap((h) => (d.plan.hosts.has(h.name) ? [[h.name, d.plan.hosts.get(h.name)!] as const] : [])),
            );
            checkOsReleases(d);
            const etcd = await checkEtcd(d);
            skipEtcdWait = etcd.skipWait;
            planEtcdMembers(d);
            warnings.push(...etcd.warnings.map((w) => `warning: ${w}`));
            await planCluster(d);
            warnings.push(...d.stepWarnings);
          },
        },
      ],
      progress,
    );
    const empty = isEmptyPlan(d.plan);
    if (req.check) {
      warnings.push(...(await knownBugWarnings(d)));
      const pending = redact(formatWholePlan(d.plan, { diff: req.diff }));
      const summary = [...warnings, empty ? 'no changes' : `pending changes:\n${pending.join('\n')}`].join('\n');
      return { exitCode: empty ? ExitCode.ok : ExitCode.pendingChanges, summary, roundTrips: d.session.roundTrips() };
    }
    const x = new Executor(d, skipEtcdWait);
    const hosts = () => [...d.plan.hosts.keys()];
    await runPhases(
      [
        { title: 'pre-install files', run: () => mapLimit(hosts(), req.concurrency, (h) => x.writeFiles(h, 'pre')) },
        { title: 'packages', run: () => mapLimit(hosts(), req.concurrency, (h) => x.installPackages(h)) },
        { title: 'files', run: () => mapLimit(hosts(), req.concurrency, (h) => x.writeFiles(h, 'post')) },
        { title: 'early services', run: () => x.parallelPhase('early') },
        { title: 'etcd', run: () => x.etcdPhase() },
        { title: 'patroni', run: () => x.patroniPhase() },
        { title: 'services', run: () => x.parallelPhase('service') },
        { title: 'verify', run: () => x.verify() },
      ],
      progress,
    );
    warnings.push(...(await knownBugWarnings(d)));
    const applied = redact(formatWholePlan(x.inPlanOrder()));
    const lines = [...applied, ...x.notes];
    return {
      exitCode: ExitCode.ok,
      summary: [...warnings, lines.length ? `applied:\n${lines.join('\n')}` : 'no changes', ...clientEndpoints(loaded)].join('\n'),
      roundTrips: d.session.roundTrips(),
    };
  } finally {
    await d.session.close();
  }
}
