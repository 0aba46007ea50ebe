/**
 * `pgha exporter`: patroni-exporter's options (docs: README.md#pgha-exporter). Values stay
 * strings here so a flag and its environment variable are checked by one parser
 * (src/app/exporter/options.ts) and a bad one names whichever the operator set.
 */
import type { Command } from 'commander';
import type { ExporterFlags } from '../app/exporter/options.js';

export function registerExporter(program: Command): void {
  program
    .command('exporter')
    .description("serve one Patroni member's state as Prometheus metrics (patroni-exporter's interface)")
    .option('-p, --port <port>', 'port to listen on [PATRONI_EXPORTER_PORT] (default: 9547)')
    .option('-b, --bind <address>', "address to listen on; '' for every address [PATRONI_EXPORTER_BIND] (default: '')")
    .option('-u, --patroni-url <url>', "full URL of a member's /patroni [PATRONI_EXPORTER_URL] (default: http://localhost:8008/patroni)")
    .option('-t, --timeout <seconds>', 'seconds to wait for Patroni [PATRONI_EXPORTER_TIMEOUT] (default: 5)')
    .option('-d, --debug', 'log every scrape [PATRONI_EXPORTER_DEBUG]')
    .option(
      '-a, --address-family <family>',
      'ipv4 or ipv6; ipv6 with bind :: or empty takes both [PATRONI_EXPORTER_ADDRESS_FAMILY] (default: ipv4)',
    )
    .option(
      '--requests-verify <true|false|path>',
      "verify Patroni's TLS certificate with the system CAs, not at all, or with this CA bundle [PATRONI_EXPORTER_REQUEST_VERIFY] (default: true)",
    )
    .option(
      '--cluster <dir>',
      "pgha's own: every data node of this cluster directory, through its CA (instead of -u and --requests-verify)",
    )
    .action(async (flags: ExporterFlags) => {
      const { runExporter } = await import('../app/exporter/index.js');
      process.exitCode = await runExporter(flags, { env: process.env, stderr: process.stderr });
    });
}
