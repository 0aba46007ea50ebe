/**
 * Fixed inputs for rendering the examples in tests: fake PEM text and deterministic secrets, so
 * golden files never change unless the rendering does.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfigFile } from '../../src/config/load.js';
import type { ClusterConfig, ClusterPki, RenderInputs, ResolvedCluster } from '../../src/model/types.js';
import { resolveCluster } from '../../src/model/resolve.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLES_DIR = join(ROOT, 'examples');
export const GOLDEN_DIR = join(ROOT, 'test', 'golden');

export function exampleNames(): string[] {
  return readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function fakePem(kind: string, subject: string): string {
  return `-----BEGIN ${kind}-----\nFAKE ${kind} FOR ${subject}\n-----END ${kind}-----\n`;
}

export function fakePki(hosts: string[]): ClusterPki {
  const pair = (n: string) => ({ cert: fakePem('CERTIFICATE', n), key: fakePem('PRIVATE KEY', n) });
  return {
    caCert: fakePem('CERTIFICATE', 'pgha-ca'),
    nodes: Object.fromEntries(hosts.map((h) => [h, pair(h)])),
    clients: { haproxy: pair('haproxy'), pgha: pair('pgha') },
    // A cluster created now: etcd has its own peer CA, and every host a peer certificate (only
    // etcd members' are rendered).
    etcdPeer: { caCert: fakePem('CERTIFICATE', 'pgha-etcd-peer-ca'), nodes: Object.fromEntries(hosts.map((h) => [h, pair(`${h} etcd peer`)])) },
  };
}

export const fakeSecret = (name: string): string => `secret-of-${name}`;

/** Stands in for dist/exporter/pgha-exporter.mjs, which changes with every build. */
export const fakeExporterBundle = (): string => '// FAKE pgha-exporter.mjs (dist/exporter/, built by scripts/build-exporter.mjs)\n';

export function fakeInputs(cluster: ResolvedCluster): RenderInputs {
  return { secret: fakeSecret, pki: fakePki(cluster.hosts.map((h) => h.name)), exporterBundle: fakeExporterBundle };
}

/** Resolve an example without validation (validation is tested on its own). */
export function loadExample(name: string, extraVars: Record<string, unknown> = {}): ResolvedCluster {
  const doc = readConfigFile(join(EXAMPLES_DIR, name, 'config.yml'));
  if (doc.problems.length) throw new Error(`${name}: ${doc.problems.map((p) => p.message).join('; ')}`);
  return resolveCluster(doc.raw as ClusterConfig, extraVars);
}
