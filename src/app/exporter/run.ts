/**
 * The exporter's life, whichever build runs it: resolve the options (flags over environment),
 * pick what a round scrapes — one URL, the members of `--cluster-file`, or (pgha itself only)
 * `--cluster DIR` — scrape once at start (a member that is down at start is a failing /health,
 * not a failed start, so a service manager does not crash-loop it), then serve until SIGTERM or
 * SIGINT. `--cluster DIR` comes in as a parameter because it reads config.yml through code
 * (schema, YAML, SSH) the monitoring host's single-file bundle must not carry.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../../errors.js';
import { listenAddress, redactUrl, resolveExporterOptions, type ExporterFlags, type ExporterOptions } from './options.js';
import { scrapePatroni, type TlsCheck } from './scrape.js';
import { memberCollection, type ExporterSource } from './answer.js';
import { clusterFileSource } from './cluster-file-source.js';
import { createExporterServer, CollectionState } from './server.js';

export interface ExporterIo {
  env: Readonly<Record<string, string | undefined>>;
  stderr: NodeJS.WritableStream;
  /** Resolves when the exporter should stop (a signal); the default listens for SIGTERM and SIGINT. */
  stopped?: Promise<string>;
}

export interface ExporterModes {
  /** `--cluster DIR`; absent in a build without it, where the option does not exist either. */
  clusterDir?: (dir: string, timeoutSeconds: number) => Promise<ExporterSource>;
}

function readCa(o: ExporterOptions): TlsCheck {
  if (o.verify.mode !== 'ca') return o.verify;
  let pem: string;
  try {
    pem = readFileSync(o.verify.path, 'utf8');
  } catch (e) {
    throw new UsageError(`--requests-verify: cannot read the CA bundle ${o.verify.path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'give the path of a readable PEM file (a cluster directory has DIR/ssl/ca.crt), or true to use the system CAs',
    });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--requests-verify: ${o.verify.path} holds no PEM certificate`, {
      hint: 'give the CA certificate in PEM (-----BEGIN CERTIFICATE-----), e.g. DIR/ssl/ca.crt',
    });
  }
  return { mode: 'ca', pem };
}

function signalled(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

async function sourceOf(o: ExporterOptions, modes: ExporterModes, log: (line: string) => void): Promise<ExporterSource> {
  if (o.cluster !== undefined) {
    if (!modes.clusterDir) throw new UsageError('--cluster is not in this build', { hint: 'run `pgha exporter --cluster DIR`' });
    return modes.clusterDir(o.cluster, o.timeoutSeconds);
  }
  if (o.clusterFile !== undefined) return clusterFileSource(o.clusterFile, o.timeoutSeconds);
  const tls = readCa(o);
  const url = redactUrl(o.patroniUrl);
  if (o.patroniUrl.protocol === 'https:' && o.verify.mode === 'off') log(`TLS verification is off for ${url} (--requests-verify false)`);
  const fallbackMember = o.patroniUrl.hostname.replace(/^\[|\]$/g, '');
  return {
    what: url,
    collect: async () => memberCollection(await scrapePatroni(o.patroniUrl, o.timeoutSeconds, tls), fallbackMember),
  };
}

export async function runExporterWith(flags: ExporterFlags, io: ExporterIo, modes: ExporterModes): Promise<number> {
  const o = resolveExporterOptions(flags, io.env);
  const log = (line: string, level: 'info' | 'debug' = 'info') => {
    if (level === 'debug' && !o.debug) return;
    io.stderr.write(`pgha exporter: ${line}\n`);
  };
  const { what, collect } = await sourceOf(o, modes, log);
  const state = new CollectionState();
  const { server, collectOnce } = createExporterServer({ collect, log }, state);

  const { host, ipv6Only } = listenAddress(o);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new UsageError(`cannot listen on ${host}:${o.port}: ${e.code ?? e.message}`, {
          hint:
            e.code === 'EADDRINUSE'
              ? 'another process holds the port: choose another with -p/--port (PATRONI_EXPORTER_PORT)'
              : 'check -b/--bind (PATRONI_EXPORTER_BIND) and -a/--address-family name an address of this host',
        }),
      ),
    );
    server.listen({ port: o.port, host, ipv6Only }, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  log(`listening on ${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}, scraping ${what}`);
  await collectOnce();

  const why = await (io.stopped ?? signalled());
  log(`${why}: stopping`);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A scraper keeps its connection open between scrapes; an idle one must not hold up the stop.
  server.closeIdleConnections();
  await closed;
  return 0;
}
