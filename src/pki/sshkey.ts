/**
 * The cluster's SSH key, DIR/ssh/id_pgha (docs/architecture.md#the-cluster-directory): what pgha logs in with and what
 * `provision` puts into authorized_keys.
 *
 * Ed25519 from node:crypto, written in OpenSSH's own formats by a small encoder because node can
 * export neither the `openssh-key-v1` private format nor `ssh-ed25519 AAAA…` public lines, and
 * both OpenSSH and the ssh2 library (under node-ssh) insist on those for Ed25519.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import forge from 'node-forge';
import { UsageError } from '../errors.js';
import { enforceMode, ensurePrivateDir, readIfExists, writeFileAtomic } from './files.js';

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const ED25519 = 'ssh-ed25519';
/** With cipher "none" OpenSSH pads the private section to this block size. */
const BLOCK = 8;

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function wrap(b64: string, width: number): string {
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return lines.join('\n');
}

export interface Ed25519Raw {
  /** 32-byte private seed. */
  seed: Uint8Array;
  /** 32-byte public key. */
  publicKey: Uint8Array;
}

export interface OpenSshKeyPair {
  privateKeyPem: string;
  publicKeyLine: string;
}

/**
 * Encodes an Ed25519 key pair as an unencrypted `openssh-key-v1` private key and a public line.
 * `checkInt` is the random word OpenSSH repeats twice to detect a wrong passphrase; it is a
 * parameter so the encoding stays a pure function of its inputs.
 */
export function encodeEd25519OpenSsh(key: Ed25519Raw, comment: string, checkInt: number): OpenSshKeyPair {
  const seed = Buffer.from(key.seed);
  const pub = Buffer.from(key.publicKey);
  if (seed.length !== 32 || pub.length !== 32) throw new Error('Ed25519 seed and public key must be 32 bytes each');
  const pubBlob = Buffer.concat([sshString(ED25519), sshString(pub)]);

  const body = Buffer.concat([
    uint32(checkInt),
    uint32(checkInt),
    sshString(ED25519),
    sshString(pub),
    // OpenSSH stores the 64-byte "secret key" of the reference implementation: seed || public.
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padLen = (BLOCK - (body.length % BLOCK)) % BLOCK;
  const padding = Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1));
  const privateSection = Buffer.concat([body, padding]);

  const blob = Buffer.concat([
    MAGIC,
    sshString('none'), // cipher
    sshString('none'), // kdf
    sshString(Buffer.alloc(0)), // kdf options
    uint32(1), // number of keys
    sshString(pubBlob),
    sshString(privateSection),
  ]);
  return {
    // OpenSSH wraps at 70 columns; parsers accept any width, but matching it keeps diffs boring.
    privateKeyPem: `-----BEGIN OPENSSH PRIVATE KEY-----\n${wrap(blob.toString('base64'), 70)}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKeyLine: `${ED25519} ${pubBlob.toString('base64')} ${comment}`,
  };
}

export function generateEd25519OpenSsh(comment: string): OpenSshKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (!jwk.d || !jwk.x) throw new Error('node:crypto returned an Ed25519 JWK without d/x');
  return encodeEd25519OpenSsh(
    { seed: Buffer.from(jwk.d, 'base64url'), publicKey: Buffer.from(jwk.x, 'base64url') },
    comment,
    randomBytes(4).readUInt32BE(0),
  );
}

class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(n: number): Buffer {
    if (this.off + n > this.buf.length) throw new Error('truncated');
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  u32(): number {
    return this.bytes(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.bytes(this.u32());
  }
}

/**
 * The public half of an OpenSSH private key file, as `type base64`, without comment. Works for
 * encrypted keys too: `openssh-key-v1` keeps the public key in the clear. Legacy PEM RSA keys
 * (`BEGIN RSA PRIVATE KEY`) are accepted because operators may bring their own.
 */
export function publicKeyOfPrivate(pem: string): string {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
  if (m) {
    const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
    if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an openssh-key-v1 key');
    const r = new Reader(buf.subarray(MAGIC.length));
    r.string();
    r.string();
    r.string();
    if (r.u32() < 1) throw new Error('the key file holds no key');
    const pubBlob = r.string();
    const type = new Reader(pubBlob).string().toString('latin1');
    return `${type} ${pubBlob.toString('base64')}`;
  }
  const rsa = forge.pki.privateKeyFromPem(pem);
  const line = forge.ssh.publicKeyToOpenSSH(forge.pki.setRsaPublicKey(rsa.n, rsa.e), '').trim();
  return line;
}

export interface SshKeyInfo {
  privateKeyPath: string;
  publicKeyPath: string;
  /** `ssh-ed25519 AAAA… pgha-<cluster>`, ready for authorized_keys. */
  publicKeyLine: string;
  /** False when an existing key was kept. */
  created: boolean;
}

export async function ensureSshKey(dir: string, opts: { clusterName?: string } = {}): Promise<SshKeyInfo> {
  const comment = `pgha-${opts.clusterName ?? basename(resolve(dir))}`;
  const sshDir = join(dir, 'ssh');
  const privateKeyPath = join(sshDir, 'id_pgha');
  const publicKeyPath = join(sshDir, 'id_pgha.pub');
  await ensurePrivateDir(sshDir);

  const existing = await readIfExists(privateKeyPath);
  if (existing === undefined) {
    const pair = generateEd25519OpenSsh(comment);
    await writeFileAtomic(privateKeyPath, pair.privateKeyPem, 0o600);
    await writeFileAtomic(publicKeyPath, `${pair.publicKeyLine}\n`, 0o644);
    return { privateKeyPath, publicKeyPath, publicKeyLine: pair.publicKeyLine, created: true };
  }

  let pubOfPrivate: string;
  try {
    pubOfPrivate = publicKeyOfPrivate(existing);
  } catch (err) {
    throw new UsageError(`${privateKeyPath} is not a readable SSH private key (${(err as Error).message})`, {
      hint: 'remove id_pgha and id_pgha.pub to generate a new key, then re-run provision so hosts accept it',
    });
  }
  await enforceMode(privateKeyPath, 0o600);
  // The private key is the truth; a missing or stale .pub (edited, copied from elsewhere) is rewritten.
  const pubFile = (await readIfExists(publicKeyPath))?.split('\n')[0]?.trim();
  const [type, b64] = (pubFile ?? '').split(/\s+/);
  if (pubFile && `${type} ${b64}` === pubOfPrivate) {
    return { privateKeyPath, publicKeyPath, publicKeyLine: pubFile, created: false };
  }
  const publicKeyLine = `${pubOfPrivate} ${comment}`;
  await writeFileAtomic(publicKeyPath, `${publicKeyLine}\n`, 0o644);
  return { privateKeyPath, publicKeyPath, publicKeyLine, created: false };
}
