/** An example cluster copied to a directory named after it, with deploy, upgrade, switchover and the verbs wired to a simulation of it. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { ensureClusterMaterial, loadCluster } from '../../../src/app/cluster-dir.js';
import { deploy, type DeployRequest } from '../../../src/app/deploy/index.js';
import type { DeploySeams } from '../../../src/app/deploy/context.js';
import { upgrade, type UpgradeRequest } from '../../../src/app/upgrade.js';
import { fakeExporterBundle, ROOT } from '../../golden/inputs.js';
import { SimCluster } from './cluster.js';

export const request = (over: Partial<DeployRequest> = {}): DeployRequest => ({
  check: false,
  diff: false,
  extraVars: {},
  concurrency: 16,
  ...over,
});

/** The action lines under `pending changes:` or `applied:`. */
export function planLines(summary: string, header: string): string[] {
  const lines = summary.split('\n');
  const start = lines.indexOf(header);
  if (start < 0) return [];
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^(read-write|read-only):|^patroni: \S+ bootstrapped/.test(l));
  return rest.slice(0, end < 0 ? rest.length : end);
}

/** An example cluster copied to a directory named after it, and deploy wired to a simulation of it. */
export function simulated(example: string, name: string, opts: { bare?: boolean; editConfig?: (yml: string) => string } = {}) {
  let root = '';
  let dir = '';
  let sim: SimCluster | undefined;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pgha-orch-'));
    dir = join(root, name);
    cpSync(join(ROOT, 'examples', example), dir, { recursive: true });
    // bare: hosts that exist already, so upgrade asks no local repository to hold the versions first.
    const config = join(dir, 'config.yml');
    if (opts.bare) writeFileSync(config, readFileSync(config, 'utf8').replace('platform: nspawn', 'platform: bare'));
    if (opts.editConfig) writeFileSync(config, opts.editConfig(readFileSync(config, 'utf8')));
    const loaded = loadCluster(dir, {});
    sim = new SimCluster(loaded.cluster);
    // As `pgha configure` leaves it: keys, certificates and passwords in place (deploy --check creates none).
    await ensureClusterMaterial(loaded);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const seams = (): DeploySeams => ({ connectHost: sim!.connectHost, rest: sim!.rest, exporterBundle: fakeExporterBundle });
  return {
    sim: () => sim!,
    /** The cluster directory, for the commands that take it (switchover, the verbs). */
    dir: () => dir,
    seams,
    run: (over: Partial<DeployRequest> = {}) => deploy(dir, request(over), 'silent', seams()),
    upgrade: (req: Partial<UpgradeRequest> & Pick<UpgradeRequest, 'components'>) =>
      upgrade(dir, { extraVars: {}, primaryStrategy: 'pause', healthGraceSec: 0, log: () => undefined, ...req }, 'silent', seams()),
  };
}

export const index = (log: string[], re: RegExp) => log.findIndex((l) => re.test(l));
export const lastIndex = (log: string[], re: RegExp) => log.length - 1 - [...log].reverse().findIndex((l) => re.test(l));

/** Where `line` is in `log`, asserting it is there at all (the log shown when not). */
export function lineAt(log: string[], line: string): number {
  const i = log.indexOf(line);
  expect(i, `${line} in\n${log.join('\n')}`).toBeGreaterThanOrEqual(0);
  return i;
}

/** A fourth data node running etcd, as config.yml's instances list it (m1-haproxy-nspawn's addresses). */
export const PG4_INSTANCE = `  - Name: pg4
    node: 5
    location: main
    role: [replica, etcd]
    ip_address: 10.10.0.14
`;
