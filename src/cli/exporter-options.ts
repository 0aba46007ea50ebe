/**
 * `pgha exporter`'s options as a table, so the standalone bundle a monitoring host runs
 * (./exporter-standalone.ts), which cannot carry commander (it needs node 20; Debian 12's nodejs
 * is 18), offers the same ones as `pgha exporter` (./exporter.ts). Kept apart from ./exporter.ts,
 * whose action import()s the whole exporter with `--cluster DIR`: a bundler follows that import.
 */
import type { ExporterFlags } from '../app/exporter/options.js';

export interface ExporterOptionSpec {
  /** commander's spelling: `-p, --port <port>`. */
  flags: string;
  /** The key in ExporterFlags (commander's camel case of the long name). */
  key: keyof ExporterFlags;
  description: string;
  /** Only in pgha itself: reads an operator's cluster directory (config.yml, and code the bundle leaves out). */
  operatorOnly?: true;
}

export const EXPORTER_OPTIONS: readonly ExporterOptionSpec[] = [
  { flags: '-p, --port <port>', key: 'port', description: 'port to listen on [PATRONI_EXPORTER_PORT] (default: 9547)' },
  {
    flags: '-b, --bind <address>',
    key: 'bind',
    description: "address to listen on; '' for every address [PATRONI_EXPORTER_BIND] (default: '')",
  },
  {
    flags: '-u, --patroni-url <url>',
    key: 'patroniUrl',
    description: "full URL of a member's /patroni [PATRONI_EXPORTER_URL] (default: http://localhost:8008/patroni)",
  },
  { flags: '-t, --timeout <seconds>', key: 'timeout', description: 'seconds to wait for Patroni [PATRONI_EXPORTER_TIMEOUT] (default: 5)' },
  { flags: '-d, --debug', key: 'debug', description: 'log every scrape [PATRONI_EXPORTER_DEBUG]' },
  {
    flags: '-a, --address-family <family>',
    key: 'addressFamily',
    description: 'ipv4 or ipv6; ipv6 with bind :: or empty takes both [PATRONI_EXPORTER_ADDRESS_FAMILY] (default: ipv4)',
  },
  {
    flags: '--requests-verify <true|false|path>',
    key: 'requestsVerify',
    description:
      "verify Patroni's TLS certificate with the system CAs, not at all, or with this CA bundle [PATRONI_EXPORTER_REQUEST_VERIFY] (default: true)",
  },
  {
    flags: '--cluster <dir>',
    key: 'cluster',
    description: "pgha's own: every data node of this cluster directory, through its CA (instead of -u and --requests-verify)",
    operatorOnly: true,
  },
  {
    flags: '--cluster-file <file>',
    key: 'clusterFile',
    description:
      'every member named in this JSON file, through the CA and client certificate it names (what deploy writes on a monitoring host; instead of -u and --requests-verify)',
  },
];
