/**
 * `pgha exporter`: patroni-exporter's interface in pgha (./run.ts), with pgha's `--cluster DIR`
 * mode: a round is every data node of the cluster (./cluster.ts) instead of one URL. The mode is
 * loaded only when asked for: it reads config.yml and the cluster's REST clients.
 */
import type { ExporterFlags } from './options.js';
import { runExporterWith, type ExporterIo } from './run.js';

export type { ExporterIo } from './run.js';

export function runExporter(flags: ExporterFlags, io: ExporterIo): Promise<number> {
  return runExporterWith(flags, io, {
    clusterDir: async (dir, timeoutSeconds) => {
      const { clusterScraper } = await import('./cluster.js');
      const c = await clusterScraper(dir, timeoutSeconds);
      return { what: `cluster ${c.scope} (${c.members.join(', ')})`, collect: c.collect };
    },
  });
}
