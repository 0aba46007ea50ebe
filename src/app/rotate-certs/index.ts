/**
 * `pgha rotate-certs DIR [--ca]` (docs/architecture.md#rotating-certificates): the cluster's
 * certificates renewed by changing them in DIR and running deploy, whose plan pushes the changed
 * files by hash and whose reactions make each daemon take them: reloads (Patroni, which reloads
 * PostgreSQL; HAProxy; PgBouncer), restarts where a daemon reads its files only at start (etcd,
 * rolling and health-gated; pgBackRest's TLS server; the exporters). PostgreSQL never restarts.
 *
 * Without --ca every leaf (node and client certificates) is reissued by the current CA with a
 * fresh validity, keeping its key (a rotation renews validity, it does not answer a leaked key:
 * for that, delete the key in DIR/ssl and deploy, or roll a new CA). With --ca, three phases
 * (./journal.ts), each converged by a deploy before the next begins, so no host ever meets a
 * certificate from a CA it does not trust.
 */
import { join } from 'node:path';
import { RuntimeError, UsageError } from '../../errors.js';
import { CLUSTER_CA, dropPreviousCaCert, dropPreviousCaKey, ETCD_PEER_CA, promoteNextCa, stageNextCa } from '../../pki/rotation.js';
import { ensureClusterPki, readClusterPki } from '../../pki/store.js';
import { clusterNameOf, loadCluster, pkiWanted, type LoadedCluster } from '../cluster-dir.js';
import { deploy, type DeployResult } from '../deploy/index.js';
import type { Progress } from '../progress.js';
import type { SessionSeams } from '../session.js';
import { type CaPhase, JOURNAL_FILE, nextPhase, readJournal, removeJournal, trustedIn, writeJournal } from './journal.js';

export interface RotateCertsRequest {
  /** Roll a new CA (three phases) instead of renewing the leaves from the current one. */
  ca: boolean;
  concurrency: number;
  /** Stop after this phase converged (tests, and an operator who wants to watch each phase). */
  stopAfter?: CaPhase;
  now?: Date;
}

export function journalPath(dir: string): string {
  return join(dir, JOURNAL_FILE);
}

const PHASE_WORDS: Record<CaPhase, string> = {
  'trust-both': 'every host trusts the old and the new CA',
  'issue-new': 'every certificate reissued by the new CA (the old one still trusted)',
  'drop-old': 'every host trusts the new CA alone; the old CA key deleted',
};

/**
 * Changes DIR for `phase` (idempotent: a resumed phase redoes what is left). Every phase also
 * reissues every leaf, keeping its key: Patroni's REST API builds a new TLS context, and so reads
 * its CA file again, only when its own certificate's serial number changed (a reload whose
 * configuration is the same keeps the old context), so a new bundle alone would not reach it.
 */
async function prepare(loaded: LoadedCluster, phase: CaPhase, now: Date): Promise<string> {
  const dir = loaded.paths.dir;
  let note: string | undefined;
  switch (phase) {
    case 'trust-both': {
      const staged: string[] = [];
      for (const family of caFamilies(loaded)) {
        const how = await stageNextCa(dir, clusterNameOf(dir), now, family);
        staged.push(`new ${family.title}: ssl/${family.next}.crt${how === 'kept' ? ' (kept)' : ''}`);
      }
      note = staged.join('; ');
      break;
    }
    case 'issue-new':
      for (const family of caFamilies(loaded)) await promoteNextCa(dir, family);
      break;
    case 'drop-old':
      for (const family of caFamilies(loaded)) await dropPreviousCaCert(dir, family);
      break;
  }
  const n = await reissueLeaves(loaded, now);
  const by = trustedIn(phase).issuer === 'new' ? 'the new CA' : 'the old CA';
  return [note, `${n} certificates reissued by ${by} (keys kept)`].filter(Boolean).join('; ');
}

/**
 * The CAs a rotation rolls: the cluster CA, and etcd's peer CA where etcd runs (which a directory
 * from before the peer CA existed gets by this rotation).
 */
function caFamilies(loaded: LoadedCluster): (typeof CLUSTER_CA)[] {
  return pkiWanted(loaded.cluster).etcdPeers.length ? [CLUSTER_CA, ETCD_PEER_CA] : [CLUSTER_CA];
}

async function reissueLeaves(loaded: LoadedCluster, now: Date): Promise<number> {
  const wanted = pkiWanted(loaded.cluster);
  const r = await ensureClusterPki(loaded.paths.dir, wanted.hosts, {
    clients: wanted.clients,
    etcdPeers: wanted.etcdPeers,
    now,
    reissueAll: true,
  });
  return r.reissued.length + r.created.length;
}

function converge(dir: string, req: RotateCertsRequest, progress: Progress, seams: SessionSeams): Promise<DeployResult> {
  return deploy(dir, { check: false, diff: false, extraVars: {}, concurrency: req.concurrency }, progress, seams);
}

export async function rotateCerts(
  dir: string,
  req: RotateCertsRequest,
  progress: Progress,
  seams: SessionSeams = {},
): Promise<DeployResult> {
  const loaded = loadCluster(dir, {});
  const now = req.now ?? new Date();
  const path = journalPath(loaded.paths.dir);
  const journal = readJournal(path);
  // Every key opened before anything is written: in vault mode without the password this is exit 2
  // with DIR untouched (no journal, no new CA).
  await readClusterPki(loaded.paths.dir);
  if (!req.ca) {
    if (journal) {
      throw new UsageError(`a CA rotation is under way (${path}, phase ${journal.phase})`, {
        hint: `finish it first: pgha rotate-certs ${loaded.paths.dir} --ca`,
      });
    }
    const n = await reissueLeaves(loaded, now);
    const result = await converge(dir, req, progress, seams);
    return { ...result, summary: [`reissued ${n} certificates from the current CA (keys kept)`, result.summary].join('\n') };
  }

  let phase: CaPhase | undefined = journal?.phase ?? 'trust-both';
  const started = journal?.started ?? now.toISOString();
  const lines: string[] = journal ? [`resuming the CA rotation started ${started} at phase ${phase}`] : [];
  let last: DeployResult | undefined;
  while (phase) {
    await writeJournal(path, { phase, started });
    const note = await prepare(loaded, phase, now);
    last = await converge(dir, req, progress, seams);
    lines.push(`phase ${phase}: ${note}`, last.summary);
    if (last.exitCode !== 0) {
      lines.push(`phase ${phase} did not converge; run pgha rotate-certs ${loaded.paths.dir} --ca again to resume it`);
      return { ...last, summary: lines.join('\n') };
    }
    lines.push(`phase ${phase} done: ${PHASE_WORDS[phase]}`);
    if (phase === 'drop-old') {
      for (const family of caFamilies(loaded)) await dropPreviousCaKey(loaded.paths.dir, family);
      removeJournal(path);
    }
    const done: CaPhase = phase;
    phase = nextPhase(phase);
    if (phase) await writeJournal(path, { phase, started });
    if (req.stopAfter === done) break;
  }
  if (!last) throw new RuntimeError('CA rotation: no phase ran');
  return { ...last, summary: lines.join('\n') };
}
