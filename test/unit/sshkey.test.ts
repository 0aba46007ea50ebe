import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { encodeEd25519OpenSsh, ensureSshKey, publicKeyOfPrivate, type SshKeyInfo } from '../../src/pki/sshkey.js';

// ssh2 (under node-ssh) ships no types; only parseKey is needed here.
interface ParsedKey {
  type: string;
  comment: string;
  sign(data: Buffer): Buffer;
  getPublicSSH(): Buffer;
}
const require = createRequire(import.meta.url);
const ssh2 = require('ssh2') as { utils: { parseKey(data: Buffer | string): ParsedKey | Error } };

let root: string;
let dir: string;
let key: SshKeyInfo;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pgha-ssh-'));
  dir = join(root, 'democluster');
  await mkdir(dir);
  const old = process.umask(0);
  try {
    key = await ensureSshKey(dir);
  } finally {
    process.umask(old);
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('ensureSshKey', () => {
  it('writes an ed25519 pair with private modes', async () => {
    expect(key.created).toBe(true);
    expect(key.privateKeyPath).toBe(join(dir, 'ssh', 'id_pgha'));
    expect(key.publicKeyLine).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+={0,2} pgha-democluster$/);
    expect(await mode(join(dir, 'ssh'))).toBe(0o700);
    expect(await mode(key.privateKeyPath)).toBe(0o600);
    expect(await mode(key.publicKeyPath)).toBe(0o644);
    expect(await readFile(key.publicKeyPath, 'utf8')).toBe(`${key.publicKeyLine}\n`);
    const pem = await readFile(key.privateKeyPath, 'utf8');
    expect(pem).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(pem).toMatch(/\n-----END OPENSSH PRIVATE KEY-----\n$/);
  });

  it('is accepted by ssh-keygen', () => {
    const out = execFileSync('ssh-keygen', ['-y', '-f', key.privateKeyPath], { encoding: 'utf8' }).trim();
    expect(out.split(' ').slice(0, 2)).toEqual(key.publicKeyLine.split(' ').slice(0, 2));
  });

  it('is accepted by ssh2 and signs for its public key', async () => {
    const parsed = ssh2.utils.parseKey(await readFile(key.privateKeyPath));
    if (parsed instanceof Error) throw parsed;
    expect(parsed.type).toBe('ssh-ed25519');
    expect(parsed.comment).toBe('pgha-democluster');
    expect(parsed.getPublicSSH().toString('base64')).toBe(key.publicKeyLine.split(' ')[1]);
    // The signature must verify against the raw public key: proves seed and public half agree.
    const data = Buffer.from('pgha');
    const raw = parsed.getPublicSSH().subarray(-32);
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    expect(verify(null, data, pub, parsed.sign(data))).toBe(true);
  });

  it('keeps the key on re-run and restores a lost public file', async () => {
    const pem = await readFile(key.privateKeyPath, 'utf8');
    const again = await ensureSshKey(dir);
    expect(again.created).toBe(false);
    expect(again.publicKeyLine).toBe(key.publicKeyLine);
    await unlink(key.publicKeyPath);
    await chmod(key.privateKeyPath, 0o644);
    const restored = await ensureSshKey(dir, { clusterName: 'democluster' });
    expect(restored.publicKeyLine).toBe(key.publicKeyLine);
    expect(await readFile(key.publicKeyPath, 'utf8')).toBe(`${key.publicKeyLine}\n`);
    expect(await readFile(key.privateKeyPath, 'utf8')).toBe(pem);
    expect(await mode(key.privateKeyPath)).toBe(0o600);
  });

  it('refuses an unreadable private key instead of replacing it', async () => {
    const other = join(root, 'broken');
    await mkdir(join(other, 'ssh'), { recursive: true });
    await writeFile(join(other, 'ssh', 'id_pgha'), 'not a key');
    await expect(ensureSshKey(other)).rejects.toThrow(UsageError);
    expect(await readFile(join(other, 'ssh', 'id_pgha'), 'utf8')).toBe('not a key');
  });
});

describe('encodeEd25519OpenSsh', () => {
  it('is deterministic and pads the private section to 8 bytes', () => {
    const seed = Buffer.alloc(32, 1);
    const pubKey = Buffer.alloc(32, 2);
    const a = encodeEd25519OpenSsh({ seed, publicKey: pubKey }, 'c', 0x01020304);
    const b = encodeEd25519OpenSsh({ seed, publicKey: pubKey }, 'c', 0x01020304);
    expect(a).toEqual(b);
    expect(publicKeyOfPrivate(a.privateKeyPem)).toBe(a.publicKeyLine.replace(/ c$/, ''));
    const blob = Buffer.from(a.privateKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(blob.subarray(0, 15).toString('latin1')).toBe('openssh-key-v1\0');
    let off = 15;
    const str = () => {
      const n = blob.readUInt32BE(off);
      const v = blob.subarray(off + 4, off + 4 + n);
      off += 4 + n;
      return v;
    };
    expect([str(), str(), str()].map((b) => b.toString())).toEqual(['none', 'none', '']);
    expect(blob.readUInt32BE(off)).toBe(1);
    off += 4;
    str();
    const priv = str();
    expect(off).toBe(blob.length);
    expect(priv.length % 8).toBe(0);
    expect(priv.readUInt32BE(0)).toBe(0x01020304);
    expect(priv.readUInt32BE(4)).toBe(0x01020304);
    // 4+4 check words, 4+11 type, 4+32 public, 4+64 secret, 4+1 comment = 132; padded to 136 by 1,2,3,4.
    expect([...priv.subarray(132)]).toEqual([1, 2, 3, 4]);
    for (const line of a.privateKeyPem.trim().split('\n').slice(1, -1)) expect(line.length).toBeLessThanOrEqual(70);
  });

  it('derives public lines of legacy PEM RSA keys too', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(publicKeyOfPrivate(pem)).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E/);
  });
});
