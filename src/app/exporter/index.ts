/**
 * `pgha exporter`: patroni-exporter's interface in pgha. Resolves the options (flags over
 * environment), reads the CA bundle once, scrapes the member once at start — a member that is
 * down at start is a failing /health, not a failed start, so a service manager does not
 * crash-loop it — then serves until SIGTERM or SIGINT. With `--cluster DIR` a round is every data
 * node of the cluster (./cluster.ts) instead of one URL.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../../errors.js';
import { listenAddress, redactUrl, resolveExporterOptions, type ExporterFlags, type ExporterOptions } from './options.js';
import { scrapePatroni, type TlsCheck } from './scrape.js';
import { memberCollection, type Collection } from './answer.js';
import { createExporterServer, CollectionState } from './server.js';

export interface ExporterIo {
  env: Readonly<Record<string, string | undefined>>;
  stderr: NodeJS.WritableStream;
  /** Resolves when the exporter should stop (a signal); the default listens for SIGTERM and SIGINT. */
  stopped?: Promise<string>;
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

export async function runExporter(flags: ExporterFlags, io: ExporterIo): Promise<number> {
  const o = resolveExporterOptions(flags, io.env);
  const tls = readCa(o);
  const log = (line: string, level: 'info' | 'debug' = 'info') => {
    if (level === 'debug' && !o.debug) return;
    io.stderr.write(`pgha exporter: ${line}\n`);
  };
  let what: string;
  let collect: () => Promise<Collection>;
  if (o.cluster !== undefined) {
    // Loaded only for this mode: it reads config.yml and the cluster's REST clients.
    const { clusterScraper } = await import('./cluster.js');
    const c = await clusterScraper(o.cluster, o.timeoutSeconds);
    what = `cluster ${c.scope} (${c.members.join(', ')})`;
    collect = c.collect;
  } else {
    const url = redactUrl(o.patroniUrl);
    if (o.patroniUrl.protocol === 'https:' && o.verify.mode === 'off') log(`TLS verification is off for ${url} (--requests-verify false)`);
    const fallbackMember = o.patroniUrl.hostname.replace(/^\[|\]$/g, '');
    what = url;
    collect = async () => memberCollection(await scrapePatroni(o.patroniUrl, o.timeoutSeconds, tls), fallbackMember);
  }
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
