/** `pgha exporter`'s options (src/app/exporter/options.ts): defaults, flag over environment, bad values. */
import { describe, expect, it } from 'vitest';
import { listenAddress, redactUrl, resolveExporterOptions, type ExporterFlags } from '../../src/app/exporter/options.js';
import { ExitCode, UsageError } from '../../src/errors.js';

function usage(flags: ExporterFlags, env: Record<string, string> = {}): UsageError {
  try {
    resolveExporterOptions(flags, env);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('expected a usage error');
}

describe('resolveExporterOptions', () => {
  it("patroni-exporter's defaults", () => {
    const o = resolveExporterOptions({}, {});
    expect(o).toMatchObject({ port: 9547, bind: '', timeoutSeconds: 5, debug: false, addressFamily: 'ipv4', verify: { mode: 'system' } });
    expect(o.patroniUrl.href).toBe('http://localhost:8008/patroni');
  });

  it('reads every option from its environment variable', () => {
    const o = resolveExporterOptions(
      {},
      {
        PATRONI_EXPORTER_PORT: '9600',
        PATRONI_EXPORTER_BIND: '::',
        PATRONI_EXPORTER_URL: 'https://10.0.0.11:8008/patroni',
        PATRONI_EXPORTER_TIMEOUT: '2.5',
        PATRONI_EXPORTER_DEBUG: 'true',
        PATRONI_EXPORTER_ADDRESS_FAMILY: 'ipv6',
        PATRONI_EXPORTER_REQUEST_VERIFY: '/etc/pgha/ca.crt',
      },
    );
    expect(o).toMatchObject({
      port: 9600,
      bind: '::',
      timeoutSeconds: 2.5,
      debug: true,
      addressFamily: 'ipv6',
      verify: { mode: 'ca', path: '/etc/pgha/ca.crt' },
    });
    expect(o.patroniUrl.href).toBe('https://10.0.0.11:8008/patroni');
  });

  it('the flag wins when both are set', () => {
    const env = {
      PATRONI_EXPORTER_PORT: '9600',
      PATRONI_EXPORTER_BIND: '10.0.0.1',
      PATRONI_EXPORTER_URL: 'http://env:8008/patroni',
      PATRONI_EXPORTER_TIMEOUT: '9',
      PATRONI_EXPORTER_ADDRESS_FAMILY: 'ipv6',
      PATRONI_EXPORTER_REQUEST_VERIFY: 'false',
      PATRONI_EXPORTER_DEBUG: 'false',
    };
    const o = resolveExporterOptions(
      {
        port: '9700',
        bind: '127.0.0.1',
        patroniUrl: 'http://flag:8008/patroni',
        timeout: '1',
        addressFamily: 'ipv4',
        requestsVerify: 'true',
        debug: true,
      },
      env,
    );
    expect(o).toMatchObject({
      port: 9700,
      bind: '127.0.0.1',
      timeoutSeconds: 1,
      addressFamily: 'ipv4',
      verify: { mode: 'system' },
      debug: true,
    });
    expect(o.patroniUrl.hostname).toBe('flag');
    // A bad variable is never read when its flag is given.
    expect(resolveExporterOptions({ port: '1' }, { PATRONI_EXPORTER_PORT: 'nope' }).port).toBe(1);
  });

  it("accepts patroni-exporter's socket constant names for the family, and an empty bind", () => {
    expect(resolveExporterOptions({ addressFamily: 'AF_INET6' }, {}).addressFamily).toBe('ipv6');
    expect(resolveExporterOptions({}, { PATRONI_EXPORTER_ADDRESS_FAMILY: 'AF_INET' }).addressFamily).toBe('ipv4');
    expect(resolveExporterOptions({ bind: '' }, { PATRONI_EXPORTER_BIND: '10.0.0.1' }).bind).toBe('');
    expect(resolveExporterOptions({}, { PATRONI_EXPORTER_DEBUG: '' }).debug).toBe(false);
  });

  it.each([
    [{ port: '95470' }, {}, /^-p\/--port: "95470" is not a port/],
    [{ port: '-1' }, {}, /^-p\/--port/],
    [{}, { PATRONI_EXPORTER_PORT: 'http' }, /^PATRONI_EXPORTER_PORT: "http" is not a port/],
    [{ patroniUrl: 'localhost:8008' }, {}, /^-u\/--patroni-url: the URL's scheme must be http or https, not localhost/],
    [{}, { PATRONI_EXPORTER_URL: 'not a url' }, /^PATRONI_EXPORTER_URL: "not a url" is not a URL/],
    [{ timeout: '0' }, {}, /^-t\/--timeout: "0" is not a timeout/],
    [{}, { PATRONI_EXPORTER_TIMEOUT: '5s' }, /^PATRONI_EXPORTER_TIMEOUT/],
    [{}, { PATRONI_EXPORTER_DEBUG: 'maybe' }, /^PATRONI_EXPORTER_DEBUG: "maybe" is not a boolean/],
    [{ addressFamily: 'ipv5' }, {}, /^-a\/--address-family: "ipv5" is not an address family/],
    [{}, { PATRONI_EXPORTER_ADDRESS_FAMILY: 'inet' }, /^PATRONI_EXPORTER_ADDRESS_FAMILY/],
    [{ bind: '::' }, {}, /^-b\/--bind: "::" is an IPv6 address/],
    [{ bind: '127.0.0.1', addressFamily: 'ipv6' }, {}, /^-b\/--bind: "127.0.0.1" is an IPv4 address/],
    [{ bind: 'a b' }, {}, /^-b\/--bind: "a b" is neither/],
    [{ requestsVerify: ' ' }, {}, /^--requests-verify: " " is empty/],
  ] as [ExporterFlags, Record<string, string>, RegExp][])('refuses %j %j with exit 2 and a fix', (flags, env, message) => {
    const e = usage(flags, env);
    expect(e.message).toMatch(message);
    expect(e.exitCode).toBe(ExitCode.usage);
    expect(e.hint).toBeTruthy();
  });
});

describe('--cluster', () => {
  it('takes the members and the CA from DIR: the URL and verify variables are not read', () => {
    const o = resolveExporterOptions(
      { cluster: 'clusters/main' },
      { PATRONI_EXPORTER_URL: 'nonsense', PATRONI_EXPORTER_REQUEST_VERIFY: '' },
    );
    expect(o.cluster).toBe('clusters/main');
  });

  it('refuses a URL or a CA flag beside it, and an empty directory', () => {
    expect(usage({ cluster: 'c', patroniUrl: 'http://x/patroni' }).message).toBe('-u/--patroni-url and --cluster exclude each other');
    expect(usage({ cluster: 'c', requestsVerify: 'true' }).message).toBe('--requests-verify and --cluster exclude each other');
    expect(usage({ cluster: ' ' }).message).toMatch(/^--cluster: the cluster directory is empty/);
  });
});

describe('--cluster-file', () => {
  it('takes the members and the CA from FILE: the URL and verify variables are not read', () => {
    const o = resolveExporterOptions({ clusterFile: '/etc/pgha-exporter/cluster.json' }, { PATRONI_EXPORTER_URL: 'nonsense' });
    expect([o.clusterFile, o.cluster]).toEqual(['/etc/pgha-exporter/cluster.json', undefined]);
  });

  it('refuses --cluster, a URL or a CA flag beside it, and an empty file name', () => {
    expect(usage({ clusterFile: 'f', cluster: 'c' }).message).toBe('--cluster and --cluster-file exclude each other');
    expect(usage({ clusterFile: 'f', requestsVerify: 'true' }).message).toBe('--requests-verify and --cluster-file exclude each other');
    expect(usage({ clusterFile: '' }).message).toMatch(/^--cluster-file: the file is empty/);
  });
});

describe('listenAddress', () => {
  it('an empty bind is every address of the family; ipv6 on :: takes both families', () => {
    expect(listenAddress({ bind: '', addressFamily: 'ipv4' })).toEqual({ host: '0.0.0.0', ipv6Only: false });
    expect(listenAddress({ bind: '', addressFamily: 'ipv6' })).toEqual({ host: '::', ipv6Only: false });
    expect(listenAddress({ bind: '::', addressFamily: 'ipv6' })).toEqual({ host: '::', ipv6Only: false });
    expect(listenAddress({ bind: '::1', addressFamily: 'ipv6' })).toEqual({ host: '::1', ipv6Only: true });
    expect(listenAddress({ bind: '127.0.0.1', addressFamily: 'ipv4' })).toEqual({ host: '127.0.0.1', ipv6Only: false });
  });
});

describe('redactUrl', () => {
  it('never shows the user or password of the URL', () => {
    expect(redactUrl(new URL('https://patroni:s3cret@10.0.0.1:8008/patroni'))).toBe('https://***@10.0.0.1:8008/patroni');
    expect(redactUrl(new URL('http://10.0.0.1:8008/patroni'))).toBe('http://10.0.0.1:8008/patroni');
  });
});
