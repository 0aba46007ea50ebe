/**
 * `pgha exporter`: patroni-exporter's options (docs: README.md#pgha-exporter), from the table
 * ./exporter-options.ts shares with the standalone bundle. Values stay strings here so a flag
 * and its environment variable are checked by one parser (src/app/exporter/options.ts) and a
 * bad one names whichever the operator set.
 */
import type { Command } from 'commander';
import type { ExporterFlags } from '../app/exporter/options.js';
import { EXPORTER_OPTIONS } from './exporter-options.js';

export function registerExporter(program: Command): void {
  const cmd = program
    .command('exporter')
    .description("serve one Patroni member's state as Prometheus metrics (patroni-exporter's interface)");
  for (const o of EXPORTER_OPTIONS) cmd.option(o.flags, o.description);
  cmd.action(async (flags: ExporterFlags) => {
    const { runExporter } = await import('../app/exporter/index.js');
    process.exitCode = await runExporter(flags, { env: process.env, stderr: process.stderr });
  });
}
