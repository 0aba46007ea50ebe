/**
 * Secret files at rest (docs/architecture.md#the-cluster-directory): the one place that reads and
 * writes DIR's private files (passwords, private keys) through the vault. A sealed file is opened
 * with the vault password whichever command reads it; a file written into a directory in vault
 * mode (DIR/vault exists) is sealed. Plain files are read and written as they are, so a directory
 * without a vault, the default, behaves exactly as before.
 *
 * The password comes from the command line's `--vault-password-file` or `PGHA_VAULT_PASSWORD`,
 * set once by the CLI; it is read only when a sealed file is met, so commands that read no secret
 * never ask for it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { readIfExists, writeFileAtomic } from './files.js';
import {
  deriveKey,
  formatDescriptor,
  isSealed,
  kdfId,
  type KdfParams,
  newDescriptor,
  openSealed,
  parseDescriptor,
  seal,
  VaultCryptoError,
  verifyDescriptor,
} from './vault-crypto.js';

export const VAULT_PASSWORD_ENV = 'PGHA_VAULT_PASSWORD';
export const VAULT_DESCRIPTOR = 'vault';

const FIX = `pass --vault-password-file FILE (a file holding the password on its first line), or set ${VAULT_PASSWORD_ENV}`;

/** A vault problem: exit 2, raised before any host is contacted (secrets are read first). */
export class VaultError extends UsageError {}

interface PasswordSource {
  file?: string;
  env?: string;
}

let source: PasswordSource = {};
let password: string | undefined;
const keys = new Map<string, Buffer>();

/** Set by the CLI before a command runs; the file wins over the variable when both are given. */
export function setVaultPasswordSource(s: PasswordSource): void {
  source = { ...s };
  password = undefined;
  keys.clear();
}

function sourceName(): string {
  return source.file !== undefined ? `the vault password file ${source.file}` : `${VAULT_PASSWORD_ENV}`;
}

/** The vault password; `needs` says what needs it ("FILE is encrypted"), for the message when there is none. */
function vaultPassword(needs: string): string {
  if (password !== undefined) return password;
  let value: string;
  if (source.file !== undefined) {
    try {
      value = readFileSync(source.file, 'utf8').split('\n')[0]!.replace(/\r$/, '');
    } catch (e) {
      throw new VaultError(`--vault-password-file ${source.file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
        hint: 'give a readable file holding the vault password on its first line',
      });
    }
    if (value === '') throw new VaultError(`--vault-password-file ${source.file}: the first line is empty`, { hint: FIX });
  } else if (source.env !== undefined && source.env !== '') {
    value = source.env;
  } else {
    throw new VaultError(`${needs} and no vault password was given (neither --vault-password-file nor ${VAULT_PASSWORD_ENV})`, {
      hint: FIX,
    });
  }
  password = value;
  return value;
}

function keyFor(needs: string): (kdf: KdfParams) => Buffer {
  return (kdf) => {
    const id = kdfId(kdf);
    let key = keys.get(id);
    if (key === undefined) {
      key = deriveKey(vaultPassword(needs), kdf);
      keys.set(id, key);
    }
    return key;
  };
}

function failure(path: string, e: unknown): never {
  if (!(e instanceof VaultCryptoError)) throw e;
  if (e.reason === 'auth') {
    throw new VaultError(
      `${path}: cannot be decrypted with the vault password from ${sourceName()}: wrong password, or the file was altered`,
      {
        hint: `check the password; ${FIX}`,
      },
    );
  }
  throw new VaultError(`${path}: ${e.message}`, { hint: 'restore the file from a backup' });
}

/** `text` as read from `path`: opened when sealed, as it is otherwise. */
export function decodePrivate(path: string, text: string): string {
  if (!isSealed(text)) return text;
  try {
    return openSealed(text, keyFor(`${path} is encrypted`));
  } catch (e) {
    failure(path, e);
  }
}

/** A private file's plaintext, or undefined when it does not exist. */
export async function readPrivateIfExists(path: string): Promise<string | undefined> {
  const text = await readIfExists(path);
  return text === undefined ? undefined : decodePrivate(path, text);
}

export function descriptorPath(dir: string): string {
  return join(dir, VAULT_DESCRIPTOR);
}

/** The key new files of DIR are sealed with, the password checked against DIR/vault; undefined in plain mode. */
export async function vaultWriteKey(dir: string): Promise<{ key: Buffer; kdf: KdfParams } | undefined> {
  const path = descriptorPath(dir);
  const text = await readIfExists(path);
  if (text === undefined) return undefined;
  try {
    const d = parseDescriptor(text);
    // Named as what it means to the operator: the directory's secrets are encrypted.
    return { key: verifyDescriptor(d, keyFor(`${dir} is in vault mode (${path}): its secret files are encrypted,`)), kdf: d.kdf };
  } catch (e) {
    failure(path, e);
  }
}

/**
 * Turns DIR's vault mode on (DIR/vault written) unless it is on already, in which case the given
 * password must be the vault's. Returns the key files are sealed with.
 */
export async function enableVault(dir: string): Promise<{ key: Buffer; kdf: KdfParams }> {
  const existing = await vaultWriteKey(dir);
  if (existing) return existing;
  const path = descriptorPath(dir);
  const { descriptor, key } = newDescriptor(vaultPassword(`encrypting ${dir} needs a vault password`));
  keys.set(kdfId(descriptor.kdf), key);
  await writeFileAtomic(path, formatDescriptor(descriptor), 0o600);
  return { key, kdf: descriptor.kdf };
}

/** Writes a private file of DIR: sealed in vault mode, plain otherwise; atomically, 0600 by default. */
export async function writePrivate(dir: string, path: string, content: string, mode = 0o600): Promise<void> {
  const vault = await vaultWriteKey(dir);
  await writeFileAtomic(path, vault ? seal(content, vault.key, vault.kdf) : content, mode);
}

/**
 * Converts one existing file to the wanted form, in place (temporary file + rename: it is at
 * every moment either its old or its new self). Returns whether it changed.
 */
export async function convertPrivate(path: string, to: { seal: { key: Buffer; kdf: KdfParams } } | 'plain'): Promise<boolean> {
  const text = await readIfExists(path);
  if (text === undefined) return false;
  if (isSealed(text) === (to !== 'plain')) {
    // Already in the wanted form; a sealed file is still opened, so a file sealed under another
    // password is reported rather than left behind unreadable.
    if (to !== 'plain') decodePrivate(path, text);
    return false;
  }
  const next = to === 'plain' ? decodePrivate(path, text) : seal(text, to.seal.key, to.seal.kdf);
  await writeFileAtomic(path, next, 0o600);
  return true;
}

export { isSealed };
