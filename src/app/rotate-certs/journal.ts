/**
 * A CA rotation under way (`pgha rotate-certs DIR --ca`), written to DIR before its first change
 * and removed when the old CA is gone: the phase the cluster is converging to. Each phase is
 * entered only after the one before converged (deploy exited 0), so a run that stops anywhere
 * (a host down, an interrupt) is resumed by running the command again: the phase's changes to
 * DIR are idempotent (src/pki/rotation.ts) and deploy converges the hosts to them.
 *
 *   trust-both  a new CA in DIR/ssl/ca-next.*; every host trusts old + new, leaves from the old CA
 *   issue-new   the new CA issues (ca.*), the old one is ca-previous.*; every leaf reissued
 *   drop-old    ca-previous.crt removed: every host trusts the new CA alone; then its key goes
 */
import { readFileSync, rmSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../pki/files.js';

export const CA_PHASES = ['trust-both', 'issue-new', 'drop-old'] as const;
export type CaPhase = (typeof CA_PHASES)[number];

export interface CaRotationJournal {
  phase: CaPhase;
  started: string;
}

export const JOURNAL_FILE = 'rotate-ca-in-progress.json';

/** The phase after `phase`, or undefined after the last. Pure. */
export function nextPhase(phase: CaPhase): CaPhase | undefined {
  return CA_PHASES[CA_PHASES.indexOf(phase) + 1];
}

/** Which CA files the hosts trust in a phase (the bundle, src/pki/rotation.ts#trustBundle). Pure. */
export function trustedIn(phase: CaPhase): { trusted: ('old' | 'new')[]; issuer: 'old' | 'new' } {
  switch (phase) {
    case 'trust-both':
      return { trusted: ['old', 'new'], issuer: 'old' };
    case 'issue-new':
      return { trusted: ['old', 'new'], issuer: 'new' };
    case 'drop-old':
      return { trusted: ['new'], issuer: 'new' };
  }
}

/** The journal in `text`, or undefined when it is not one. */
export function parseJournal(text: string): CaRotationJournal | undefined {
  try {
    const j = JSON.parse(text) as Partial<CaRotationJournal>;
    return typeof j.phase === 'string' && (CA_PHASES as readonly string[]).includes(j.phase) && typeof j.started === 'string'
      ? { phase: j.phase, started: j.started }
      : undefined;
  } catch {
    return undefined;
  }
}

export function readJournal(path: string): CaRotationJournal | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const j = parseJournal(text);
  // Starting afresh would mint a third CA; which phase the hosts are in must not be guessed.
  if (!j) {
    throw new UsageError(`${path}: not a CA rotation journal (want {"phase": ${CA_PHASES.map((p) => `"${p}"`).join('|')}, "started": …})`, {
      hint: 'restore it from a backup, or write the phase the rotation reached (DIR/ssl/ca-next.crt exists: trust-both; ca-previous.crt: issue-new; only ca-previous.key: drop-old)',
    });
  }
  return j;
}

export async function writeJournal(path: string, j: CaRotationJournal): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(j, null, 2)}\n`, 0o600);
}

export function removeJournal(path: string): void {
  rmSync(path, { force: true });
}
