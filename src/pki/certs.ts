/**
 * Pure certificate issuance for the cluster CA (docs/architecture.md#the-cluster-directory and
 * #security-invariants): PEM in, PEM out, clock injected.
 *
 * Keys are generated with node:crypto (native: ~0.15 s for RSA 2048 on a 2-core VM, where forge's
 * JavaScript prime search takes seconds); certificates are built and signed with node-forge
 * because node:crypto cannot create X.509 certificates.
 */
import { generateKeyPair, generateKeyPairSync, randomBytes as cryptoRandomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { UsageError } from '../errors.js';

export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

export interface HostIdentity {
  name: string;
  ip: string;
  /**
   * A host that only serves TLS (an HAProxy host: its stats page). Its certificate is issued for
   * serverAuth alone, so a stolen proxy key can act neither as an etcd peer or client nor as a
   * Patroni or PostgreSQL client: those check the clientAuth usage.
   */
  serverOnly?: boolean;
}

/** The extended key usages a host's node certificate carries. */
export function nodeExtKeyUsage(host: HostIdentity): ExtKeyUsage[] {
  return host.serverOnly ? ['serverAuth'] : ['serverAuth', 'clientAuth'];
}

export interface SubjectAltNames {
  dns: string[];
  ips: string[];
}

export type ExtKeyUsage = 'serverAuth' | 'clientAuth';
const EXT_KEY_USAGES: readonly ExtKeyUsage[] = ['serverAuth', 'clientAuth'];

/** Source of randomness for serial numbers; injectable so tests can pin serials. */
export type RandomBytes = (n: number) => Uint8Array;

const RSA_BITS = 2048;
const CA_YEARS = 10;
/**
 * Leaf lifetime. pgha reissues any leaf with fewer than REISSUE_WINDOW_DAYS left on every deploy,
 * so the lifetime does not cost operators toil; it bounds how long a key copied off a retired or
 * compromised host stays useful. Two years still lets a cluster that nobody redeploys for a year
 * keep running without surprises.
 */
const LEAF_DAYS = 730;
export const REISSUE_WINDOW_DAYS = 30;
/** Hosts' clocks may lag the operator's machine; a cert "not yet valid" would break TLS on them. */
const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export function generateRsaKeyPem(bits = RSA_BITS): string {
  // PKCS#8 PEM: read by OpenSSL (PostgreSQL, HAProxy, PgBouncer, Python/Patroni) and Go (etcd).
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return privateKey;
}

/**
 * Same as generateRsaKeyPem, off the main thread: the I/O layer generates all the keys a run needs
 * at once on libuv's thread pool, which divides wall time by the number of cores.
 */
export function generateRsaKeyPemAsync(bits = RSA_BITS): Promise<string> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        publicExponent: 0x10001,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      },
      (err, _publicKey, privateKey) => (err ? reject(err) : resolve(privateKey)),
    );
  });
}

/** Loads an RSA private key (PKCS#1 or PKCS#8 PEM) and refuses weak or non-RSA ones. */
export function loadRsaKey(keyPem: string): forge.pki.rsa.PrivateKey {
  let key: forge.pki.rsa.PrivateKey;
  try {
    key = forge.pki.privateKeyFromPem(keyPem);
  } catch (err) {
    throw new Error(`not an unencrypted RSA private key: ${(err as Error).message}`, { cause: err });
  }
  if (key.n.bitLength() < RSA_BITS) throw new Error(`RSA key has ${key.n.bitLength()} bits, need at least ${RSA_BITS}`);
  return key;
}

function publicOf(key: forge.pki.rsa.PrivateKey): forge.pki.rsa.PublicKey {
  return forge.pki.setRsaPublicKey(key.n, key.e);
}

/**
 * A positive, non-zero 128-bit serial whose first byte is 0x40..0x7f: positive without a sign
 * byte and minimally DER-encoded, which Go's x509 (etcd) insists on.
 */
function serialHex(random: RandomBytes): string {
  const b = Buffer.from(random(16));
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex');
}

function addDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * DAY_MS);
}

// Present in node-forge's util since 0.7 but missing from @types/node-forge.
const ipUtil = forge.util as unknown as {
  bytesFromIP(ip: string): string | null;
  bytesToIP(bytes: string): string | null;
};

function ipBytes(ip: string): string {
  const bytes = ipUtil.bytesFromIP(ip);
  if (!bytes) throw new UsageError(`'${ip}' is not an IPv4 or IPv6 address`);
  return bytes;
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/** The SANs a node certificate carries: its name and address, plus loopback for local clients. */
export function nodeSans(host: HostIdentity): SubjectAltNames {
  return { dns: uniq([host.name, 'localhost']), ips: uniq([host.ip, '127.0.0.1']) };
}

interface BuildOptions {
  subjectKey: forge.pki.rsa.PublicKey;
  subject: forge.pki.CertificateField[];
  issuer: forge.pki.CertificateField[];
  notBefore: Date;
  notAfter: Date;
  extensions: object[];
  signKey: forge.pki.rsa.PrivateKey;
  random: RandomBytes;
}

function build(o: BuildOptions): string {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = serialHex(o.random);
  cert.publicKey = o.subjectKey;
  cert.validity.notBefore = o.notBefore;
  cert.validity.notAfter = o.notAfter;
  cert.setSubject(o.subject);
  cert.setIssuer(o.issuer);
  cert.setExtensions(o.extensions);
  cert.sign(o.signKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export interface IssueCaOptions {
  clusterName: string;
  /** What the CA is, after the cluster's name in its subject: `CA` (the default), `etcd peer CA`. */
  title?: string;
  now: Date;
  keyPem?: string;
  random?: RandomBytes;
}

export function issueCa(opts: IssueCaOptions): KeyAndCert {
  const keyPem = opts.keyPem ?? generateRsaKeyPem();
  const key = loadRsaKey(keyPem);
  const notAfter = new Date(opts.now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
  const name = [
    { name: 'commonName', value: `pgha ${opts.clusterName} ${opts.title ?? 'CA'}` },
    { name: 'organizationName', value: 'pgha' },
  ];
  const certPem = build({
    subjectKey: publicOf(key),
    subject: name,
    issuer: name,
    notBefore: new Date(opts.now.getTime() - BACKDATE_MS),
    notAfter,
    extensions: [
      // pathLen 0: this CA only ever signs leaves; an intermediate signed by it must not be trusted.
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
    signKey: key,
    random: opts.random ?? cryptoRandomBytes,
  });
  return { keyPem, certPem };
}

interface Issuer {
  key: forge.pki.rsa.PrivateKey;
  cert: forge.pki.Certificate;
  keyId: string;
}

function loadIssuer(ca: KeyAndCert): Issuer {
  const cert = forge.pki.certificateFromPem(ca.certPem);
  const key = loadRsaKey(ca.keyPem);
  const pub = cert.publicKey as forge.pki.rsa.PublicKey;
  if (pub.n.compareTo(key.n) !== 0) throw new Error('the CA key does not belong to the CA certificate');
  const ski: { subjectKeyIdentifier?: string } | undefined = cert.getExtension('subjectKeyIdentifier');
  const keyId = ski?.subjectKeyIdentifier
    ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
    : cert.generateSubjectKeyIdentifier().getBytes();
  return { key, cert, keyId };
}

function leafValidity(now: Date, issuer: Issuer): { notBefore: Date; notAfter: Date } {
  const wanted = addDays(now, LEAF_DAYS);
  // A leaf outliving its CA would only pretend to be valid.
  const caEnd = issuer.cert.validity.notAfter;
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: wanted < caEnd ? wanted : caEnd };
}

export interface IssueNodeCertOptions {
  ca: KeyAndCert;
  host: HostIdentity;
  now: Date;
  /** Reuse this key (kept across reissues); a new one is generated when absent. */
  keyPem?: string;
  random?: RandomBytes;
}

/**
 * One certificate per host for every TLS role it plays: etcd peer, server and client, the Patroni
 * REST API (server and, in mtls mode, client to other members) and the PostgreSQL server.
 */
export function issueNodeCert(opts: IssueNodeCertOptions): KeyAndCert {
  const issuer = loadIssuer(opts.ca);
  const keyPem = opts.keyPem ?? generateRsaKeyPem();
  const key = loadRsaKey(keyPem);
  if (isIP(opts.host.ip) === 0) {
    throw new UsageError(`host ${opts.host.name}: ip_address '${opts.host.ip}' is not an IPv4 or IPv6 address`);
  }
  const sans = nodeSans(opts.host);
  const altNames = [...sans.dns.map((value) => ({ type: 2, value })), ...sans.ips.map((ip) => ({ type: 7, ip }))];
  const certPem = build({
    subjectKey: publicOf(key),
    subject: [{ name: 'commonName', value: opts.host.name }],
    issuer: issuer.cert.subject.attributes,
    ...leafValidity(opts.now, issuer),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', ...Object.fromEntries(nodeExtKeyUsage(opts.host).map((u) => [u, true])) },
      { name: 'subjectAltName', altNames },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: issuer.keyId },
    ],
    signKey: issuer.key,
    random: opts.random ?? cryptoRandomBytes,
  });
  return { keyPem, certPem };
}

export interface IssueClientCertOptions {
  ca: KeyAndCert;
  commonName: string;
  now: Date;
  keyPem?: string;
  random?: RandomBytes;
}

/** A client-only identity for mtls mode (HAProxy health checks, pgha itself). */
export function issueClientCert(opts: IssueClientCertOptions): KeyAndCert {
  const issuer = loadIssuer(opts.ca);
  const keyPem = opts.keyPem ?? generateRsaKeyPem();
  const key = loadRsaKey(keyPem);
  const certPem = build({
    subjectKey: publicOf(key),
    subject: [{ name: 'commonName', value: opts.commonName }],
    issuer: issuer.cert.subject.attributes,
    ...leafValidity(opts.now, issuer),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: issuer.keyId },
    ],
    signKey: issuer.key,
    random: opts.random ?? cryptoRandomBytes,
  });
  return { keyPem, certPem };
}

export interface NeedsReissueOptions {
  sans: SubjectAltNames;
  now: Date;
  caCertPem: string;
  /** When given, the subject CN must equal it. */
  commonName?: string;
  /** When given, each usage must be present (e.g. a node cert from an older pgha lacking clientAuth). */
  extKeyUsage?: ExtKeyUsage[];
}

function fmtSans(s: SubjectAltNames): string {
  return [...s.dns.map((d) => `DNS:${d}`), ...s.ips.map((i) => `IP:${i}`)].join(', ') || '(none)';
}

/** Why `certPem` must be reissued, or null when it is fine as it is. */
export function needsReissue(certPem: string, opts: NeedsReissueOptions): string | null {
  let x509: X509Certificate;
  let cert: forge.pki.Certificate;
  try {
    x509 = new X509Certificate(certPem);
    cert = forge.pki.certificateFromPem(certPem);
  } catch (err) {
    return `certificate cannot be read (${(err as Error).message})`;
  }
  const ca = new X509Certificate(opts.caCertPem);
  if (!x509.checkIssued(ca) || !x509.verify(ca.publicKey)) return 'not signed by the current CA';

  const { notBefore, notAfter } = cert.validity;
  if (notBefore.getTime() > opts.now.getTime()) return `not valid before ${notBefore.toISOString()}`;
  if (notAfter.getTime() <= opts.now.getTime()) return `expired on ${notAfter.toISOString()}`;
  const daysLeft = (notAfter.getTime() - opts.now.getTime()) / DAY_MS;
  if (daysLeft < REISSUE_WINDOW_DAYS) {
    return `expires on ${notAfter.toISOString()} (${Math.floor(daysLeft)} days left, fewer than ${REISSUE_WINDOW_DAYS})`;
  }

  if (opts.commonName !== undefined) {
    const cn = cert.subject.getField('CN') as { value?: string } | null;
    if (cn?.value !== opts.commonName) return `common name is '${cn?.value ?? ''}', want '${opts.commonName}'`;
  }

  if (opts.extKeyUsage) {
    const eku = cert.getExtension('extKeyUsage') as Record<string, unknown> | undefined;
    const missing = opts.extKeyUsage.filter((u) => eku?.[u] !== true);
    if (missing.length) return `extended key usage lacks ${missing.join(', ')}`;
    // A usage the leaf must not have (clientAuth on a server-only host) is as wrong as a missing one.
    const extra = EXT_KEY_USAGES.filter((u) => eku?.[u] === true && !opts.extKeyUsage!.includes(u));
    if (extra.length) return `extended key usage has ${extra.join(', ')}, which this certificate must not have`;
  }

  const ext: { altNames?: { type: number; value: string }[] } | undefined = cert.getExtension('subjectAltName');
  const have = ext?.altNames ?? [];
  const haveDns = new Set(have.filter((a) => a.type === 2).map((a) => a.value.toLowerCase()));
  // IPs are compared as bytes so that '::1' and '0:0:0:0:0:0:0:1' count as the same address.
  const haveIps = new Set(have.filter((a) => a.type === 7).map((a) => a.value));
  const wantDns = new Set(opts.sans.dns.map((d) => d.toLowerCase()));
  const wantIps = new Set(opts.sans.ips.map(ipBytes));
  if (!sameSet(haveDns, wantDns) || !sameSet(haveIps, wantIps)) {
    const haveFmt: SubjectAltNames = {
      dns: [...haveDns],
      ips: have.filter((a) => a.type === 7).map((a) => ipUtil.bytesToIP(a.value) ?? '?'),
    };
    return `subject alternative names differ: have ${fmtSans(haveFmt)}; want ${fmtSans(opts.sans)}`;
  }
  return null;
}

function sameSet<T>(a: Set<T>, b: Set<T>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

/** True when the private key and the certificate's public key form a pair. */
export function keyMatchesCert(keyPem: string, certPem: string): boolean {
  try {
    const key = forge.pki.privateKeyFromPem(keyPem);
    const pub = forge.pki.certificateFromPem(certPem).publicKey as forge.pki.rsa.PublicKey;
    return key.n.compareTo(pub.n) === 0 && key.e.compareTo(pub.e) === 0;
  } catch {
    return false;
  }
}

/** Days until the certificate expires (negative once expired). */
export function daysLeft(certPem: string, now: Date): number {
  const cert = forge.pki.certificateFromPem(certPem);
  return (cert.validity.notAfter.getTime() - now.getTime()) / DAY_MS;
}
