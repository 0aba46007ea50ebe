/**
 * `pgha exporter`'s options: patroni-exporter's flags, each also read from its environment
 * variable, the flag winning when both are set. Pure: the command line and the environment come
 * in, checked options or a UsageError (exit 2) naming the flag or variable come out.
 */
import { isIP } from 'node:net';
import { UsageError } from '../../errors.js';

export type AddressFamily = 'ipv4' | 'ipv6';

/** `system`: verify with Node's CA store; `off`: no verification; `ca`: this CA bundle only. */
export type TlsVerify = { mode: 'system' } | { mode: 'off' } | { mode: 'ca'; path: string };

export interface ExporterOptions {
  port: number;
  /** Address to listen on; '' is every address of the family. */
  bind: string;
  /** The member to scrape; with --cluster the default, and not used. */
  patroniUrl: URL;
  timeoutSeconds: number;
  debug: boolean;
  addressFamily: AddressFamily;
  /** How to check the member's certificate; with --cluster DIR's CA is used instead. */
  verify: TlsVerify;
  /** `--cluster DIR`: every data node of this pgha cluster, through its CA, instead of one URL. */
  cluster: string | undefined;
  /** `--cluster-file FILE`: the members and TLS files a monitoring host's service reads (./cluster-file.ts). */
  clusterFile: string | undefined;
}

/** What commander hands over: raw strings, so env and flag values are checked by the same code. */
export interface ExporterFlags {
  port?: string | undefined;
  bind?: string | undefined;
  patroniUrl?: string | undefined;
  timeout?: string | undefined;
  debug?: boolean | undefined;
  addressFamily?: string | undefined;
  requestsVerify?: string | undefined;
  cluster?: string | undefined;
  clusterFile?: string | undefined;
}

export const EXPORTER_ENV = {
  port: 'PATRONI_EXPORTER_PORT',
  bind: 'PATRONI_EXPORTER_BIND',
  patroniUrl: 'PATRONI_EXPORTER_URL',
  timeout: 'PATRONI_EXPORTER_TIMEOUT',
  debug: 'PATRONI_EXPORTER_DEBUG',
  addressFamily: 'PATRONI_EXPORTER_ADDRESS_FAMILY',
  requestsVerify: 'PATRONI_EXPORTER_REQUEST_VERIFY',
} as const;

/** patroni-exporter's defaults: the port Prometheus' allocation list reserves for it, every address. */
export const EXPORTER_DEFAULTS = {
  port: 9547,
  bind: '',
  patroniUrl: 'http://localhost:8008/patroni',
  timeoutSeconds: 5,
  addressFamily: 'ipv4',
  requestsVerify: 'true',
} as const;

const FLAG = {
  port: '-p/--port',
  bind: '-b/--bind',
  patroniUrl: '-u/--patroni-url',
  timeout: '-t/--timeout',
  debug: '-d/--debug',
  addressFamily: '-a/--address-family',
  requestsVerify: '--requests-verify',
} as const;

type Key = keyof typeof EXPORTER_ENV;

/** A value with where it came from, so an error names what the operator typed. */
interface Sourced {
  value: string;
  source: string;
}

function pick(key: Key, flags: ExporterFlags, env: Readonly<Record<string, string | undefined>>, fallback: string): Sourced {
  const flag = flags[key];
  if (typeof flag === 'string') return { value: flag, source: FLAG[key] };
  const fromEnv = env[EXPORTER_ENV[key]];
  if (fromEnv !== undefined) return { value: fromEnv, source: EXPORTER_ENV[key] };
  return { value: fallback, source: FLAG[key] };
}

function bad(s: Sourced, what: string, hint: string): UsageError {
  return new UsageError(`${s.source}: ${JSON.stringify(s.value)} ${what}`, { hint });
}

function parsePort(s: Sourced): number {
  const n = Number(s.value);
  // 0 asks the kernel for a free port (tests; the address chosen is logged at start).
  if (!/^\d+$/.test(s.value.trim()) || n > 65535) throw bad(s, 'is not a port', 'give a port number from 0 to 65535, e.g. 9547');
  return n;
}

function parseUrl(s: Sourced): URL {
  let url: URL;
  try {
    url = new URL(s.value);
  } catch {
    throw bad(s, 'is not a URL', "give the full URL of a member's /patroni endpoint, e.g. https://10.0.0.11:8008/patroni");
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${s.source}: the URL's scheme must be http or https, not ${url.protocol.replace(/:$/, '')}`, {
      hint: "give the full URL of a member's /patroni endpoint, e.g. https://10.0.0.11:8008/patroni",
    });
  }
  return url;
}

function parseTimeout(s: Sourced): number {
  const n = Number(s.value);
  if (!/^\d+(\.\d+)?$/.test(s.value.trim()) || n <= 0 || n > 3600) {
    throw bad(s, 'is not a timeout', 'give the seconds to wait for Patroni, more than 0 and at most 3600, e.g. 5');
  }
  return n;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

function parseDebug(flags: ExporterFlags, env: Readonly<Record<string, string | undefined>>): boolean {
  // A boolean flag can only switch debugging on; without it the variable decides.
  if (flags.debug === true) return true;
  const v = env[EXPORTER_ENV.debug];
  if (v === undefined) return false;
  const s = v.trim().toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw bad({ value: v, source: EXPORTER_ENV.debug }, 'is not a boolean', 'set it to true or false (or leave it unset)');
}

function parseFamily(s: Sourced): AddressFamily {
  // patroni-exporter took Python's socket constant names; both spellings are accepted.
  const v = s.value.trim().toLowerCase();
  if (v === 'ipv4' || v === 'af_inet') return 'ipv4';
  if (v === 'ipv6' || v === 'af_inet6') return 'ipv6';
  throw bad(s, 'is not an address family', 'give ipv4 or ipv6 (ipv6 with bind :: or an empty bind listens on both)');
}

function parseVerify(s: Sourced): TlsVerify {
  const v = s.value.trim();
  if (v.toLowerCase() === 'true') return { mode: 'system' };
  if (v.toLowerCase() === 'false') return { mode: 'off' };
  if (!v) throw bad(s, 'is empty', 'give true, false, or the path of a CA bundle (PEM), e.g. DIR/ssl/ca.crt');
  return { mode: 'ca', path: v };
}

function checkBind(s: Sourced, family: AddressFamily): string {
  const bind = s.value.trim();
  const ip = isIP(bind);
  if (family === 'ipv4' && ip === 6) throw bad(s, 'is an IPv6 address', 'add -a ipv6, or bind an IPv4 address (empty for all)');
  if (family === 'ipv6' && ip === 4) throw bad(s, 'is an IPv4 address', 'drop -a ipv6, or bind an IPv6 address (:: for both families)');
  if (bind && !ip && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(bind)) {
    throw bad(s, 'is neither an address nor a host name', 'give an address to listen on, or leave it empty for every address');
  }
  return bind;
}

/**
 * --cluster and --cluster-file read the members and the CA from DIR or FILE: a URL or a CA of the
 * operator's would be ignored, so naming one beside them is a mistake, as is naming both.
 */
function checkCluster(flags: ExporterFlags): { cluster: string | undefined; clusterFile: string | undefined } {
  const modes = [
    ['--cluster', flags.cluster, 'the cluster directory', 'give a pgha cluster directory, e.g. --cluster clusters/main'],
    [
      '--cluster-file',
      flags.clusterFile,
      'the file',
      'give the JSON file deploy writes on a monitoring host, e.g. /etc/pgha-exporter/cluster.json',
    ],
  ] as const;
  const named = modes.filter(([, v]) => v !== undefined);
  if (named.length === 0) return { cluster: undefined, clusterFile: undefined };
  if (named.length > 1) {
    throw new UsageError('--cluster and --cluster-file exclude each other', {
      hint: '--cluster reads a cluster directory (an operator), --cluster-file the file deploy writes (a monitoring host): drop one',
    });
  }
  const [flag, value, what, hint] = named[0]!;
  if (!value!.trim()) throw new UsageError(`${flag}: ${what} is empty`, { hint });
  for (const [key, other] of [
    ['patroniUrl', FLAG.patroniUrl],
    ['requestsVerify', FLAG.requestsVerify],
  ] as const) {
    if (flags[key] !== undefined) {
      throw new UsageError(`${other} and ${flag} exclude each other`, {
        hint: `${flag} scrapes every data node it names through the cluster CA; drop one of them`,
      });
    }
  }
  return { cluster: flags.cluster, clusterFile: flags.clusterFile };
}

export function resolveExporterOptions(flags: ExporterFlags, env: Readonly<Record<string, string | undefined>>): ExporterOptions {
  const { cluster, clusterFile } = checkCluster(flags);
  const many = cluster !== undefined || clusterFile !== undefined;
  const addressFamily = parseFamily(pick('addressFamily', flags, env, EXPORTER_DEFAULTS.addressFamily));
  return {
    port: parsePort(pick('port', flags, env, String(EXPORTER_DEFAULTS.port))),
    bind: checkBind(pick('bind', flags, env, EXPORTER_DEFAULTS.bind), addressFamily),
    patroniUrl: parseUrl(
      !many ? pick('patroniUrl', flags, env, EXPORTER_DEFAULTS.patroniUrl) : { value: EXPORTER_DEFAULTS.patroniUrl, source: '' },
    ),
    timeoutSeconds: parseTimeout(pick('timeout', flags, env, String(EXPORTER_DEFAULTS.timeoutSeconds))),
    debug: parseDebug(flags, env),
    addressFamily,
    // With --cluster(-file) the flag wins over PATRONI_EXPORTER_URL and _REQUEST_VERIFY, which are not read.
    verify: !many ? parseVerify(pick('requestsVerify', flags, env, EXPORTER_DEFAULTS.requestsVerify)) : { mode: 'system' },
    cluster,
    clusterFile,
  };
}

/** Where to listen: an empty bind is every address of the family; `::` also takes IPv4 (dual stack). */
export function listenAddress(o: Pick<ExporterOptions, 'bind' | 'addressFamily'>): { host: string; ipv6Only: boolean } {
  if (o.addressFamily === 'ipv4') return { host: o.bind || '0.0.0.0', ipv6Only: false };
  const host = o.bind || '::';
  return { host, ipv6Only: host !== '::' };
}

/** The URL as logs may show it: user and password never leave the process. */
export function redactUrl(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href.replace('://', '://***@');
}
