/**
 * The vault's file format, pure: sealing a secret file's content with AES-256-GCM under a key
 * derived from the vault password by scrypt (docs/architecture.md#the-cluster-directory).
 *
 * A sealed file is two lines of ASCII:
 *   $PGHA_VAULT;1;AES256GCM;scrypt;N=32768;r=8;p=1;salt=<base64>;iv=<base64>
 *   <base64 of ciphertext ‖ 16-byte tag>
 * The header carries everything needed to decrypt, so each file stands alone, and it is the
 * GCM's additional authenticated data: changing a parameter, the salt or the IV is detected like
 * a changed ciphertext. No I/O here; the key derivation is a computation like the cipher.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

export const VAULT_MAGIC = '$PGHA_VAULT;1;AES256GCM;scrypt;';

export interface KdfParams {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
}

/**
 * 2^15 × 8 costs ~32 MiB and ~0.1 s once per run (the key is cached by salt), enough to make
 * guessing a stolen directory's password slow, cheap enough for every command.
 */
export const DEFAULT_KDF = { N: 2 ** 15, r: 8, p: 1 } as const;

// A header is read before it is authenticated: bound what it may ask of scrypt, so an altered
// file cannot make pgha allocate gigabytes or spin for minutes before the tag check fails.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 16;

/** Why a sealed text could not be opened: the caller words the error with the file's path. */
export type OpenFailure = 'malformed' | 'unsupported' | 'auth';

export class VaultCryptoError extends Error {
  constructor(
    readonly reason: OpenFailure,
    message: string,
  ) {
    super(message);
  }
}

export function isSealed(text: string): boolean {
  return text.startsWith(VAULT_MAGIC);
}

export function newKdfParams(random: (n: number) => Buffer = randomBytes): KdfParams {
  return { ...DEFAULT_KDF, salt: random(SALT_BYTES) };
}

export function kdfId(k: KdfParams): string {
  return `N=${k.N};r=${k.r};p=${k.p};salt=${k.salt.toString('base64')}`;
}

export function deriveKey(password: string, k: KdfParams): Buffer {
  checkKdf(k);
  // Node refuses more than 32 MiB by default; scrypt needs 128·N·r bytes plus a margin.
  return scryptSync(password.normalize('NFC'), k.salt, 32, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + 1024 * 1024 });
}

function checkKdf(k: KdfParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;
  if (!pow2(k.N) || k.N > MAX_N || !Number.isInteger(k.r) || k.r < 1 || k.r > MAX_R || !Number.isInteger(k.p) || k.p < 1 || k.p > MAX_P) {
    throw new VaultCryptoError('unsupported', `scrypt parameters N=${k.N} r=${k.r} p=${k.p} are outside what pgha accepts`);
  }
  if (k.salt.length < 8) throw new VaultCryptoError('malformed', 'the salt is shorter than 8 bytes');
}

/** The sealed form of `plaintext`; `key` must come from deriveKey(password, kdf). */
export function seal(plaintext: string, key: Buffer, kdf: KdfParams, random: (n: number) => Buffer = randomBytes): string {
  const iv = random(IV_BYTES);
  const header = `${VAULT_MAGIC}${kdfId(kdf)};iv=${iv.toString('base64')}`;
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(header, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${header}\n${body.toString('base64')}\n`;
}

export interface ParsedSealed {
  header: string;
  kdf: KdfParams;
  iv: Buffer;
  body: Buffer;
}

const B64 = '[A-Za-z0-9+/]+={0,2}';
const HEADER_RE = new RegExp(`^\\$PGHA_VAULT;1;AES256GCM;scrypt;N=(\\d+);r=(\\d+);p=(\\d+);salt=(${B64});iv=(${B64})$`);

export function parseSealed(text: string): ParsedSealed {
  const lines = text.split('\n');
  const header = lines[0] ?? '';
  if (!header.startsWith('$PGHA_VAULT;')) throw new VaultCryptoError('malformed', 'not a pgha vault file');
  if (!header.startsWith(VAULT_MAGIC)) throw new VaultCryptoError('unsupported', 'a vault format this pgha does not know');
  const m = HEADER_RE.exec(header);
  const bodyB64 = lines[1] ?? '';
  if (!m || !new RegExp(`^${B64}$`).test(bodyB64) || lines.slice(2).some((l) => l !== '')) {
    throw new VaultCryptoError('malformed', 'the vault header or body is damaged');
  }
  const kdf = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), salt: Buffer.from(m[4]!, 'base64') };
  checkKdf(kdf);
  const iv = Buffer.from(m[5]!, 'base64');
  const body = Buffer.from(bodyB64, 'base64');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new VaultCryptoError('malformed', 'the vault header or body is damaged');
  return { header, kdf, iv, body };
}

/** The plaintext of a sealed text; `keyFor` derives (or looks up) the key of the header's KDF parameters. */
export function openSealed(text: string, keyFor: (kdf: KdfParams) => Buffer): string {
  const { header, kdf, iv, body } = parseSealed(text);
  const decipher = createDecipheriv('aes-256-gcm', keyFor(kdf), iv);
  decipher.setAAD(Buffer.from(header, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
    return plain.toString('utf8');
  } catch {
    throw new VaultCryptoError('auth', 'authentication failed: wrong vault password, or the file was altered');
  }
}

/**
 * DIR/vault: the directory is in vault mode while it exists. It holds the KDF parameters new
 * files are sealed under (one key derivation per run, however many files) and a sealed known
 * text, so a wrong password is refused before any file is written with the wrong key.
 */
export interface VaultDescriptor {
  kdf: KdfParams;
  check: string;
}

const CHECK_TEXT = 'pgha vault password check';

export function newDescriptor(password: string, random: (n: number) => Buffer = randomBytes): { descriptor: VaultDescriptor; key: Buffer } {
  const kdf = newKdfParams(random);
  const key = deriveKey(password, kdf);
  return { descriptor: { kdf, check: seal(CHECK_TEXT, key, kdf, random) }, key };
}

export function formatDescriptor(d: VaultDescriptor): string {
  return `# pgha vault: secret files in this directory are encrypted (pgha vault decrypt DIR turns it off)\n${d.check}`;
}

export function parseDescriptor(text: string): VaultDescriptor {
  const sealed = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  return { kdf: parseSealed(sealed).kdf, check: sealed };
}

/** The descriptor's key when `keyFor` opens its check text; VaultCryptoError('auth') otherwise. */
export function verifyDescriptor(d: VaultDescriptor, keyFor: (kdf: KdfParams) => Buffer): Buffer {
  if (openSealed(d.check, keyFor) !== CHECK_TEXT) throw new VaultCryptoError('auth', 'the vault check text does not match');
  return keyFor(d.kdf);
}
