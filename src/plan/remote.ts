import type { DesiredDirectory, DesiredFile } from '../model/types.js';
import { run, type Transport } from '../transport/types.js';
import { applyFilesScript, parseApplyOutput, type ApplyFilesResult } from './apply-files.js';
import { factsScript, parseFacts, type HostFacts } from './facts.js';

/**
 * The two places where planning meets a host; each is exactly one round trip. Kept apart from
 * plan.ts and facts.ts so those stay pure.
 */

export interface FactsQuery {
  paths: string[];
  packages: string[];
  services: string[];
  /** Paths whose content must not travel (sensitive files): only their hash is gathered. */
  hashOnly?: string[];
}

export async function gatherFacts(t: Transport, q: FactsQuery): Promise<HostFacts> {
  const script = factsScript(q.paths, q.packages, q.services, { hashOnly: q.hashOnly ?? [] });
  const intent = { kind: 'gather-facts', paths: q.paths, packages: q.packages, services: q.services } as const;
  const r = await run(t, { script, intent }, 'gather facts');
  return parseFacts(r.stdout, t.host);
}

/** Writes files atomically in one round trip (key directories first); returns which actually changed. */
export async function applyFiles(
  t: Transport,
  files: readonly DesiredFile[],
  extraSecrets: readonly string[] = [],
  privateDirs: readonly DesiredDirectory[] = [],
): Promise<ApplyFilesResult> {
  if (files.length === 0) return { changed: [], metaChanged: [] };
  const r = await run(t, applyFilesScript(files, extraSecrets, privateDirs), 'write files');
  return parseApplyOutput(r.stdout);
}
