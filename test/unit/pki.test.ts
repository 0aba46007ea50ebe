import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  ensureClusterPki,
  generateRsaKeyPem,
  issueCa,
  issueClientCert,
  issueNodeCert,
  type KeyAndCert,
  needsReissue,
  nodeSans,
  readClusterPki,
} from '../../src/pki/index.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date('2026-01-15T12:00:00Z');
const PG1 = { name: 'pg1', ip: '10.33.0.11' };
const PG2 = { name: 'pg2', ip: '10.33.0.12' };
/** 20 days before leaves issued at NOW expire. */
const LATE = new Date(NOW.getTime() + 710 * DAY);

// Keys are generated once per file: each RSA key costs tens of milliseconds.
let ca: KeyAndCert;
let node: KeyAndCert;
let client: KeyAndCert;
let otherCa: KeyAndCert;
let otherClient: KeyAndCert;
const timings: Record<string, number> = {};

function timed<T>(label: string, f: () => T): T {
  const t0 = performance.now();
  const r = f();
  timings[label] = Math.round(performance.now() - t0);
  return r;
}

beforeAll(() => {
  ca = timed('issueCa', () => issueCa({ clusterName: 'demo', now: NOW }));
  node = timed('issueNodeCert', () => issueNodeCert({ ca, host: PG1, now: NOW }));
  client = timed('issueClientCert', () => issueClientCert({ ca, commonName: 'haproxy', now: NOW }));
  otherCa = issueCa({ clusterName: 'other', now: NOW });
  otherClient = issueClientCert({ ca: otherCa, commonName: 'haproxy', now: NOW });
});

afterAll(() => {
  // Timings are informative, never asserted (docs/architecture.md#testing).
  if (process.env['PGHA_TIMINGS']) console.log(`pki key+cert timings (ms): ${JSON.stringify(timings)}`);
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function forgeCert(pem: string): forge.pki.Certificate {
  return forge.pki.certificateFromPem(pem);
}

function ext<T = Record<string, unknown>>(pem: string, name: string): T | undefined {
  return forgeCert(pem).getExtension(name) as T | undefined;
}

describe('issueCa', () => {
  it('is a self-signed CA valid for ten years', () => {
    const x = new X509Certificate(ca.certPem);
    expect(x.ca).toBe(true);
    expect(x.subject).toContain('CN=pgha demo CA');
    expect(x.checkIssued(x)).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    const from = new Date(x.validFrom).getTime();
    const to = new Date(x.validTo).getTime();
    expect(from).toBeLessThanOrEqual(NOW.getTime());
    expect((to - NOW.getTime()) / DAY).toBeGreaterThan(3650);
    expect((to - NOW.getTime()) / DAY).toBeLessThan(3654);
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('has critical CA basic constraints, keyCertSign+cRLSign and a subject key identifier', () => {
    const bc = ext(ca.certPem, 'basicConstraints');
    expect(bc).toMatchObject({ cA: true, critical: true });
    const ku = ext(ca.certPem, 'keyUsage');
    expect(ku).toMatchObject({ keyCertSign: true, cRLSign: true, digitalSignature: false });
    expect(ext(ca.certPem, 'subjectKeyIdentifier')).toBeDefined();
  });
});

describe('issueNodeCert', () => {
  it('is signed by the CA and carries name, address and loopback SANs', () => {
    const x = new X509Certificate(node.certPem);
    const cax = new X509Certificate(ca.certPem);
    expect(x.ca).toBe(false);
    expect(x.checkIssued(cax)).toBe(true);
    expect(x.verify(cax.publicKey)).toBe(true);
    expect(x.subject).toBe('CN=pg1');
    const sans = (x.subjectAltName ?? '').split(', ').sort();
    expect(sans).toEqual(['DNS:localhost', 'DNS:pg1', 'IP Address:10.33.0.11', 'IP Address:127.0.0.1']);
  });

  it('is good for both TLS server and client, with leaf key usage', () => {
    expect(ext(node.certPem, 'extKeyUsage')).toMatchObject({ serverAuth: true, clientAuth: true });
    expect(ext(node.certPem, 'keyUsage')).toMatchObject({ digitalSignature: true, keyEncipherment: true, keyCertSign: false });
    expect(ext(node.certPem, 'basicConstraints')).toMatchObject({ cA: false });
  });

  it('is valid about two years and has a positive, minimally encoded serial', () => {
    const c = forgeCert(node.certPem);
    const days = (c.validity.notAfter.getTime() - NOW.getTime()) / DAY;
    expect(days).toBeCloseTo(730, 0);
    expect(c.validity.notBefore.getTime()).toBeLessThanOrEqual(NOW.getTime());
    const first = parseInt(c.serialNumber.slice(0, 2), 16);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(0x80);
    expect(c.serialNumber).not.toBe(forgeCert(client.certPem).serialNumber);
  });

  it("names the CA's key in its authority key identifier", () => {
    const caSki = ext<{ subjectKeyIdentifier: string }>(ca.certPem, 'subjectKeyIdentifier')!.subjectKeyIdentifier;
    const aki = ext<{ value: string }>(node.certPem, 'authorityKeyIdentifier')!;
    const seq = forge.asn1.fromDer(aki.value);
    const keyId = (seq.value as forge.asn1.Asn1[])[0]!.value as string;
    expect(forge.util.bytesToHex(keyId)).toBe(caSki);
  });

  it('reuses a given key', () => {
    const again = issueNodeCert({ ca, host: PG1, now: NOW, keyPem: node.keyPem });
    expect(again.keyPem).toBe(node.keyPem);
    expect(new X509Certificate(again.certPem).publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      new X509Certificate(node.certPem).publicKey.export({ format: 'der', type: 'spki' }),
    );
  });

  it('never outlives its CA', () => {
    const late = new Date(NOW.getTime() + 9.5 * 365 * DAY);
    const leaf = issueNodeCert({ ca, host: PG1, now: late, keyPem: node.keyPem });
    expect(forgeCert(leaf.certPem).validity.notAfter.getTime()).toBe(forgeCert(ca.certPem).validity.notAfter.getTime());
  });

  it('refuses weak keys and non-addresses', () => {
    const weak = generateRsaKeyPem(1024);
    expect(() => issueNodeCert({ ca, host: PG1, now: NOW, keyPem: weak })).toThrow(/1024 bits/);
    expect(() => issueNodeCert({ ca, host: { name: 'pg1', ip: 'pg1.example' }, now: NOW, keyPem: node.keyPem })).toThrow(UsageError);
  });
});

describe('issueClientCert', () => {
  it('is for client authentication only and has no SANs', () => {
    const x = new X509Certificate(client.certPem);
    expect(x.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(x.subject).toBe('CN=haproxy');
    expect(x.subjectAltName).toBeUndefined();
    const eku = ext(client.certPem, 'extKeyUsage');
    expect(eku).toMatchObject({ clientAuth: true });
    expect(eku?.['serverAuth']).toBeFalsy();
  });
});

describe('needsReissue', () => {
  const want = (now = NOW) => ({ sans: nodeSans(PG1), now, caCertPem: ca.certPem });

  it('accepts a fresh certificate', () => {
    expect(needsReissue(node.certPem, want())).toBeNull();
    expect(needsReissue(node.certPem, { ...want(), commonName: 'pg1', extKeyUsage: ['serverAuth', 'clientAuth'] })).toBeNull();
    expect(needsReissue(client.certPem, { sans: { dns: [], ips: [] }, now: NOW, caCertPem: ca.certPem })).toBeNull();
  });

  it('wants a new certificate when the SANs change', () => {
    const r = needsReissue(node.certPem, { ...want(), sans: nodeSans({ name: 'pg1', ip: '10.33.0.12' }) });
    expect(r).toMatch(/subject alternative names differ/);
    expect(r).toContain('IP:10.33.0.11');
    expect(needsReissue(node.certPem, { ...want(), sans: nodeSans({ name: 'pg1b', ip: PG1.ip }) })).toMatch(/subject alternative/);
  });

  it('compares IPv6 addresses by value, not spelling', () => {
    const v6 = issueNodeCert({ ca, host: { name: 'pg6', ip: 'fd00::1' }, now: NOW, keyPem: node.keyPem });
    const sans = { dns: ['pg6', 'localhost'], ips: ['fd00:0:0:0:0:0:0:1', '127.0.0.1'] };
    expect(needsReissue(v6.certPem, { sans, now: NOW, caCertPem: ca.certPem })).toBeNull();
  });

  it('wants a new certificate with fewer than 30 days left, or expired', () => {
    const notAfter = forgeCert(node.certPem).validity.notAfter.getTime();
    expect(needsReissue(node.certPem, want(new Date(notAfter - 31 * DAY)))).toBeNull();
    expect(needsReissue(node.certPem, want(new Date(notAfter - 29 * DAY)))).toMatch(/29 days left, fewer than 30/);
    expect(needsReissue(node.certPem, want(new Date(notAfter + DAY)))).toMatch(/expired/);
  });

  it('wants a new certificate when the CA changed', () => {
    expect(needsReissue(node.certPem, { ...want(), caCertPem: otherCa.certPem })).toMatch(/not signed by the current CA/);
  });

  it('checks common name and usages when asked', () => {
    expect(needsReissue(client.certPem, { sans: { dns: [], ips: [] }, now: NOW, caCertPem: ca.certPem, commonName: 'pgha' })).toMatch(
      /common name/,
    );
    expect(
      needsReissue(client.certPem, { sans: { dns: [], ips: [] }, now: NOW, caCertPem: ca.certPem, extKeyUsage: ['serverAuth'] }),
    ).toMatch(/lacks serverAuth/);
  });

  it('reports unreadable input', () => {
    expect(needsReissue('garbage', want())).toMatch(/cannot be read/);
  });
});

// ---------------------------------------------------------------------------------------------
// Real TLS handshakes: the certificates must satisfy node's (OpenSSL's) verification as a client
// of etcd/Patroni/PostgreSQL would.

interface Outcome {
  ok: boolean;
  error?: string;
  peerCn?: string;
}

async function withServer<T>(opts: tls.TlsOptions, f: (port: number, seen: string[]) => Promise<T>): Promise<T> {
  const seen: string[] = [];
  const server = tls.createServer(opts, (sock) => {
    const peer = sock.getPeerCertificate();
    seen.push(peer && 'subject' in peer && peer.subject ? String(peer.subject.CN) : '-');
    sock.end('ok');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  try {
    return await f((server.address() as AddressInfo).port, seen);
  } finally {
    await new Promise<void>((res) => server.close(() => res()));
  }
}

/** Succeeds only when the handshake verified AND the server accepted us (it then sends "ok"). */
function connect(opts: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((res) => {
    let data = '';
    let done = false;
    const finish = (o: Outcome) => {
      if (!done) {
        done = true;
        sock.destroy();
        res(o);
      }
    };
    const sock = tls.connect({ host: '127.0.0.1', ...opts });
    sock.on('data', (d: Buffer) => {
      data += d.toString();
      if (data === 'ok') finish({ ok: true });
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, error: e.code ?? e.message }));
    sock.on('close', () => finish({ ok: data === 'ok', error: 'closed' }));
  });
}

describe('TLS with the cluster CA', () => {
  it('verifies a node by host name and by IP address, and nothing else', async () => {
    await withServer({ key: node.keyPem, cert: node.certPem }, async (port) => {
      expect(await connect({ port, ca: [ca.certPem], servername: 'pg1' })).toEqual({ ok: true });
      // No servername: node checks the connected address against the IP SANs.
      expect(await connect({ port, ca: [ca.certPem] })).toEqual({ ok: true });
      // The node's real address is not routable here; check it with the same function tls uses.
      const peer = await new Promise<tls.PeerCertificate>((res, rej) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca: [ca.certPem], servername: 'pg1' }, () => {
          res(s.getPeerCertificate());
          s.destroy();
        });
        s.on('error', rej);
      });
      expect(tls.checkServerIdentity('10.33.0.11', peer)).toBeUndefined();
      expect(tls.checkServerIdentity('10.33.0.12', peer)).toBeInstanceOf(Error);

      const wrongName = await connect({ port, ca: [ca.certPem], servername: 'pg2' });
      expect(wrongName).toMatchObject({ ok: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      const wrongCa = await connect({ port, ca: [otherCa.certPem], servername: 'pg1' });
      expect(wrongCa.ok).toBe(false);
      expect(wrongCa.error).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED/);
    });
  });

  it('mtls: accepts a client certificate from the cluster CA only', async () => {
    const serverOpts: tls.TlsOptions = {
      key: node.keyPem,
      cert: node.certPem,
      ca: [ca.certPem],
      requestCert: true,
      rejectUnauthorized: true,
    };
    await withServer(serverOpts, async (port, seen) => {
      const base = { port, ca: [ca.certPem], servername: 'pg1' };
      expect(await connect({ ...base, key: client.keyPem, cert: client.certPem })).toEqual({ ok: true });
      // A node certificate is also a client identity (Patroni members calling each other).
      expect(await connect({ ...base, key: node.keyPem, cert: node.certPem })).toEqual({ ok: true });
      expect((await connect({ ...base, key: otherClient.keyPem, cert: otherClient.certPem })).ok).toBe(false);
      expect((await connect(base)).ok).toBe(false);
      expect(seen).toEqual(['haproxy', 'pg1']);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('ensureClusterPki / readClusterPki', () => {
  let dir: string;
  const hosts = [PG1, { name: 'pg2', ip: '10.33.0.12' }];
  const mode = async (p: string) => (await stat(join(dir, p))).mode & 0o777;
  const fingerprint = async (p: string) => new X509Certificate(await readFile(join(dir, p), 'utf8')).fingerprint256;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgha-pki-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates CA, node and client material with private modes whatever the umask', async () => {
    const old = process.umask(0o077);
    let report;
    const t0 = performance.now();
    try {
      report = await ensureClusterPki(dir, hosts, { clients: ['haproxy', 'pgha'], etcdPeers: ['pg1'], now: NOW, clusterName: 'demo' });
    } finally {
      process.umask(old);
    }
    timings['ensureClusterPki(2 hosts, 2 clients)'] = Math.round(performance.now() - t0);
    expect(report.created).toEqual([
      'ssl/ca.crt',
      'ssl/etcd-peer-ca.crt',
      'ssl/pg1/node.crt',
      'ssl/pg2/node.crt',
      'ssl/clients/haproxy.crt',
      'ssl/clients/pgha.crt',
      'ssl/pg1/etcd-peer.crt',
    ]);
    expect(report.kept).toEqual([]);
    expect(report.reissued).toEqual([]);
    expect(await mode('ssl')).toBe(0o700);
    expect(await mode('ssl/ca.key')).toBe(0o600);
    expect(await mode('ssl/ca.crt')).toBe(0o644);
    expect(await mode('ssl/pg1')).toBe(0o700);
    expect(await mode('ssl/pg1/node.key')).toBe(0o600);
    expect(await mode('ssl/pg1/node.crt')).toBe(0o644);
    expect(await mode('ssl/clients')).toBe(0o700);
    expect(await mode('ssl/clients/pgha.key')).toBe(0o600);

    const pki = await readClusterPki(dir);
    expect(Object.keys(pki.nodes)).toEqual(['pg1', 'pg2']);
    expect(Object.keys(pki.clients)).toEqual(['haproxy', 'pgha']);
    const cax = new X509Certificate(pki.caCert);
    expect(cax.subject).toContain('CN=pgha demo CA');
    expect(new X509Certificate(pki.nodes['pg2']!.cert).verify(cax.publicKey)).toBe(true);
    expect(pki.nodes['pg2']!.key).toContain('PRIVATE KEY');
    // etcd's peer CA: born with the cluster CA, apart from it, signing only the etcd member's peer
    // certificate, which no cluster-CA verifier accepts and whose key is not the node key.
    expect(await mode('ssl/etcd-peer-ca.key')).toBe(0o600);
    expect(await mode('ssl/pg1/etcd-peer.key')).toBe(0o600);
    const peerCa = new X509Certificate(pki.etcdPeer!.caCert);
    expect(peerCa.subject).toContain('CN=pgha demo etcd peer CA');
    expect(Object.keys(pki.etcdPeer!.nodes)).toEqual(['pg1']);
    const peer = new X509Certificate(pki.etcdPeer!.nodes['pg1']!.cert);
    expect(peer.verify(peerCa.publicKey)).toBe(true);
    expect(peer.verify(cax.publicKey)).toBe(false);
    expect(new X509Certificate(pki.nodes['pg1']!.cert).verify(peerCa.publicKey)).toBe(false);
    expect(peer.subjectAltName).toBe('DNS:pg1, DNS:localhost, IP Address:10.33.0.11, IP Address:127.0.0.1');
    expect(pki.etcdPeer!.nodes['pg1']!.key).not.toBe(pki.nodes['pg1']!.key);
    expect(report.warnings).toEqual([]);
  });

  it('keeps everything on a re-run', async () => {
    const before = await fingerprint('ssl/pg1/node.crt');
    const caBefore = await fingerprint('ssl/ca.crt');
    const report = await ensureClusterPki(dir, hosts, { clients: ['haproxy', 'pgha'], now: new Date(NOW.getTime() + DAY) });
    expect(report.created).toEqual([]);
    expect(report.reissued).toEqual([]);
    expect(report.kept).toHaveLength(6);
    expect(await fingerprint('ssl/pg1/node.crt')).toBe(before);
    expect(await fingerprint('ssl/ca.crt')).toBe(caBefore);
  });

  // OpenSSL's strict mode rejects encodings Go's x509 (etcd) also rejects; skipped without openssl.
  it.skipIf(!hasOpenssl())('passes `openssl verify -x509_strict` for the intended purposes only', () => {
    const ssl = join(dir, 'ssl');
    const verify = (purpose: string, cert: string) => {
      try {
        const at = String(Math.floor(NOW.getTime() / 1000) + 3600);
        execFileSync(
          'openssl',
          ['verify', '-x509_strict', '-attime', at, '-purpose', purpose, '-CAfile', join(ssl, 'ca.crt'), join(ssl, cert)],
          {
            stdio: 'pipe',
          },
        );
        return true;
      } catch {
        return false;
      }
    };
    expect(verify('sslserver', 'pg1/node.crt')).toBe(true);
    expect(verify('sslclient', 'pg1/node.crt')).toBe(true);
    expect(verify('sslclient', 'clients/haproxy.crt')).toBe(true);
    expect(verify('sslserver', 'clients/haproxy.crt')).toBe(false);
  });

  it('a server-only host (an HAProxy host) gets no clientAuth: reissued with its key, refused as a TLS client', async () => {
    const keyBefore = await readFile(join(dir, 'ssl/pg2/node.key'), 'utf8');
    const report = await ensureClusterPki(dir, [PG1, { ...PG2, serverOnly: true }], { clients: [], now: NOW });
    expect(report.reissued.map((r) => [r.path, r.reason])).toEqual([
      ['ssl/pg2/node.crt', 'extended key usage has clientAuth, which this certificate must not have'],
    ]);
    expect(await readFile(join(dir, 'ssl/pg2/node.key'), 'utf8')).toBe(keyBefore);
    const eku = ext(await readFile(join(dir, 'ssl/pg2/node.crt'), 'utf8'), 'extKeyUsage');
    expect(eku).toMatchObject({ serverAuth: true });
    expect(eku?.clientAuth).not.toBe(true);
    const purpose = (p: string) => {
      try {
        const at = String(Math.floor(NOW.getTime() / 1000) + 3600);
        execFileSync(
          'openssl',
          ['verify', '-attime', at, '-purpose', p, '-CAfile', join(dir, 'ssl/ca.crt'), join(dir, 'ssl/pg2/node.crt')],
          {
            stdio: 'pipe',
          },
        );
        return true;
      } catch {
        return false;
      }
    };
    expect(purpose('sslserver')).toBe(true);
    expect(purpose('sslclient')).toBe(false);
    // Back to a member: clientAuth again.
    const back = await ensureClusterPki(dir, [PG1, PG2], { clients: [], now: NOW });
    expect(back.reissued.map((r) => r.reason)).toEqual(['extended key usage lacks clientAuth']);
  });

  it('reissues a node whose address changed, keeping its key', async () => {
    const keyBefore = await readFile(join(dir, 'ssl/pg2/node.key'), 'utf8');
    const moved = [PG1, { name: 'pg2', ip: '10.33.0.22' }];
    const report = await ensureClusterPki(dir, moved, { clients: [], now: NOW });
    expect(report.reissued).toHaveLength(1);
    expect(report.reissued[0]!.path).toBe('ssl/pg2/node.crt');
    expect(report.reissued[0]!.reason).toMatch(/subject alternative names differ/);
    expect(await readFile(join(dir, 'ssl/pg2/node.key'), 'utf8')).toBe(keyBefore);
    const x = new X509Certificate(await readFile(join(dir, 'ssl/pg2/node.crt'), 'utf8'));
    expect(x.subjectAltName).toContain('IP Address:10.33.0.22');
  });

  it('reissues leaves close to expiry but keeps the CA', async () => {
    const caBefore = await fingerprint('ssl/ca.crt');
    const report = await ensureClusterPki(dir, hosts, { clients: ['haproxy'], now: LATE });
    expect(report.kept).toEqual(['ssl/ca.crt', 'ssl/etcd-peer-ca.crt']);
    expect(report.reissued.map((r) => r.path).sort()).toEqual(['ssl/clients/haproxy.crt', 'ssl/pg1/node.crt', 'ssl/pg2/node.crt']);
    for (const r of report.reissued) expect(r.reason).toMatch(/expires on .* fewer than 30/);
    expect(await fingerprint('ssl/ca.crt')).toBe(caBefore);
    expect(report.warnings).toEqual([]);
  });

  it('repairs loose key modes and replaces a lost key', async () => {
    await chmod(join(dir, 'ssl/pg1/node.key'), 0o644);
    await unlink(join(dir, 'ssl/pg2/node.key'));
    const report = await ensureClusterPki(dir, hosts, { clients: [], now: LATE });
    expect(await mode('ssl/pg1/node.key')).toBe(0o600);
    expect(report.kept).toContain('ssl/pg1/node.crt');
    expect(report.reissued).toEqual([{ path: 'ssl/pg2/node.crt', reason: 'private key missing' }]);
    const pki = await readClusterPki(dir, { hosts: ['pg2'], clients: [] });
    expect(new X509Certificate(pki.nodes['pg2']!.cert).checkPrivateKey(createPrivateKey(pki.nodes['pg2']!.key))).toBe(true);
  });

  it('warns when the CA nears its end', async () => {
    const report = await ensureClusterPki(dir, [PG1], { clients: [], now: new Date(NOW.getTime() + 3400 * DAY) });
    expect(report.warnings.join('\n')).toMatch(/ssl\/ca.crt expires in \d+ days/);
  });

  it('names the missing file', async () => {
    await expect(readClusterPki(dir, { hosts: ['pg9'] })).rejects.toThrow(/ssl\/pg9\/node\.crt/);
    await expect(readClusterPki(join(dir, 'nowhere'))).rejects.toThrow(/nowhere\/ssl\/ca\.crt/);
    await expect(readClusterPki(dir, { clients: ['nobody'] })).rejects.toThrow(UsageError);
  });

  it('refuses to replace half a CA and unsafe names', async () => {
    const other = await mkdtemp(join(tmpdir(), 'pgha-pki-'));
    try {
      await ensureClusterPki(other, [], { clients: [], now: NOW });
      await unlink(join(other, 'ssl/ca.key'));
      await expect(ensureClusterPki(other, [PG1], { clients: [], now: NOW })).rejects.toThrow(/ca\.key is missing/);
      await writeFile(join(other, 'ssl/ca.key'), otherCa.keyPem);
      await expect(ensureClusterPki(other, [PG1], { clients: [], now: NOW })).rejects.toThrow(/does not belong/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    await expect(ensureClusterPki(dir, [{ name: '../evil', ip: '10.0.0.1' }], { clients: [], now: NOW })).rejects.toThrow(UsageError);
    await expect(ensureClusterPki(dir, [PG1], { clients: ['clients'], now: NOW })).rejects.toThrow(UsageError);
    await expect(ensureClusterPki(dir, [PG1, PG1], { clients: [], now: NOW })).rejects.toThrow(/twice/);
  });
});
