/**
 * Generated passwords in DIR/secrets (docs/architecture.md#the-cluster-directory): one 0600 file per user name, holding only the
 * password. Operators may replace a file's content with a password of their own; it is kept.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, rename, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { enforceMode, ensurePrivateDir, readIfExists } from '../pki/files.js';
import { decodePrivate, writePrivate } from '../pki/vault.js';
import { generatePassword } from './password.js';
import { Redactor } from './redact.js';

export interface SecretStore {
  /** The password of user `name`; a UsageError listing the known names when there is none. */
  get(name: string): string;
  names(): string[];
  /** `text` with every secret value replaced by `********`. */
  redact(text: string): string;
}

/** Secret names are PostgreSQL/etcd user names and file names: this shape cannot leave DIR/secrets. */
export const SECRET_NAME_RE = /^[a-z_][a-z0-9_]*$/;
/** etcd's built-in superuser is `root`; the file is named apart from any PostgreSQL user. */
export const ETCD_ROOT_SECRET = 'etcd_root';

export function validateSecretName(name: string): void {
  if (!SECRET_NAME_RE.test(name)) {
    throw new UsageError(`invalid user name '${name}' for a secret: use lower-case letters, digits and '_', not starting with a digit`);
  }
}

function secretsDir(dir: string): string {
  return join(dir, 'secrets');
}

export const MIN_SECRET_LENGTH = 12;

/** Accepts a trailing newline (editors add one) but nothing that would break a config line. */
function parseSecret(path: string, content: string): string {
  const value = content.replace(/\r?\n$/, '');
  if (value.length === 0) {
    throw new UsageError(`${path} is empty`, { hint: 'delete the file to have pgha generate a password, or write one into it' });
  }
  // U+0085, U+2028 and U+2029 are line breaks to YAML 1.1 readers (Patroni, etcd): the password
  // they read would not be the one in the file.
  if (/[\r\n\0\u0085\u2028\u2029]/.test(value)) {
    throw new UsageError(`${path} holds more than one line (or a Unicode line or paragraph separator)`, {
      hint: 'a secret file contains only the password, on one line',
    });
  }
  // A short password is weak, and masking it by value would blank every occurrence of those
  // characters in pgha's output: refuse it.
  if ([...value].length < MIN_SECRET_LENGTH) {
    throw new UsageError(`${path} holds a password of ${[...value].length} characters; pgha needs at least ${MIN_SECRET_LENGTH}`, {
      hint: 'write a longer password into the file, or delete it to have pgha generate one (32 characters)',
    });
  }
  return value;
}

class MapSecretStore implements SecretStore {
  private readonly redactor: Redactor;
  constructor(
    private readonly dir: string,
    private readonly values: Map<string, string>,
  ) {
    this.redactor = new Redactor(values.values());
  }
  get(name: string): string {
    const v = this.values.get(name);
    if (v === undefined) throw missingSecret(this.dir, name, this.names());
    return v;
  }
  names(): string[] {
    return [...this.values.keys()].sort();
  }
  redact(text: string): string {
    return this.redactor.redact(text);
  }
}

function missingSecret(dir: string, name: string, available: string[]): UsageError {
  return new UsageError(
    `no secret for '${name}': ${join(secretsDir(dir), name)} does not exist (available: ${available.length ? available.join(', ') : 'none'})`,
    { hint: 'run `pgha deploy DIR` to generate missing passwords, or create the file with the password in it (mode 0600)' },
  );
}

/**
 * A symbolic link in DIR/secrets is never followed, by any command: deploy would not see it while
 * show-password printed whatever it points at (another cluster's password, or any file).
 */
function symlinkedSecret(path: string): UsageError {
  return new UsageError(`${path} is a symbolic link; pgha does not follow links in DIR/secrets`, {
    hint: 'replace it with a regular file (mode 0600) holding the password, or delete it to have pgha generate one',
  });
}

/** A secret file's content, or undefined when there is none; refuses a link or a non-file. */
async function readSecretFile(path: string): Promise<string | undefined> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (st.isSymbolicLink()) throw symlinkedSecret(path);
  if (!st.isFile()) {
    throw new UsageError(`${path} is not a regular file`, { hint: 'a secret is a regular file (mode 0600) holding the password' });
  }
  let fh;
  try {
    // O_NOFOLLOW: a link swapped in after the lstat is still not followed.
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkedSecret(path);
    const text = await readIfExists(path);
    return text === undefined ? undefined : decodePrivate(path, text);
  }
  try {
    // A sealed file (vault mode) is opened here, so every reader of a secret sees the password.
    return decodePrivate(path, await fh.readFile('utf8'));
  } finally {
    await fh.close();
  }
}

async function listSecretNames(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(secretsDir(dir), { withFileTypes: true });
    const link = entries.find((e) => e.isSymbolicLink() && SECRET_NAME_RE.test(e.name));
    if (link) throw symlinkedSecret(join(secretsDir(dir), link.name));
    // Temporary files from an interrupted write start with '.', so they never match.
    return entries
      .filter((e) => e.isFile() && SECRET_NAME_RE.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Makes sure a password exists for every name, generating the missing ones. The store holds every
 * secret in the directory, not only `names`, so a password still in use by a user that has since
 * left config.yml is redacted too.
 */
export async function ensureSecrets(dir: string, names: string[]): Promise<SecretStore> {
  for (const n of names) validateSecretName(n);
  const sdir = secretsDir(dir);
  await ensurePrivateDir(sdir);
  for (const name of new Set(names)) {
    const path = join(sdir, name);
    if ((await readSecretFile(path)) === undefined) await writePrivate(dir, path, generatePassword());
  }
  return loadSecrets(dir);
}

/** Every secret in DIR/secrets, creating nothing (for read-only commands such as render and status). */
export async function loadSecrets(dir: string): Promise<SecretStore> {
  const values = new Map<string, string>();
  for (const name of await listSecretNames(dir)) {
    const path = join(secretsDir(dir), name);
    const content = await readSecretFile(path);
    if (content === undefined) continue;
    await enforceMode(path, 0o600);
    values.set(name, parseSecret(path, content));
  }
  return new MapSecretStore(dir, values);
}

export async function readSecret(dir: string, name: string): Promise<string> {
  validateSecretName(name);
  const path = join(secretsDir(dir), name);
  const content = await readSecretFile(path);
  if (content === undefined) throw missingSecret(dir, name, await listSecretNames(dir));
  return parseSecret(path, content);
}

/**
 * The secret of the user a variable names: secrets are named by user name as resolved from the
 * variables (a cluster with `patroni_super_user: dba` gets DIR/secrets/dba). Takes the value as it
 * comes (`unknown`) and checks it here, so callers need no casts.
 */
export function userSecretName(vars: Readonly<Record<string, unknown>>, variable: string): string {
  const v = vars[variable];
  if (typeof v !== 'string')
    throw new UsageError(`${variable} must be a user name, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  validateSecretName(v);
  return v;
}

/**
 * New passwords for `pgha rotate-passwords` are written to DIR/secrets/.rotate/<name> first and
 * moved over DIR/secrets/<name> only once the stores that must know them first (etcd's root) have
 * them: an interrupted rotation resumes with the same values instead of minting others.
 */
function stagingDir(dir: string): string {
  return join(secretsDir(dir), '.rotate');
}

/** The staged new password of `name`, generated now unless an earlier, interrupted run staged one. */
export async function stageSecret(dir: string, name: string): Promise<string> {
  validateSecretName(name);
  await ensurePrivateDir(stagingDir(dir));
  const path = join(stagingDir(dir), name);
  const existing = await readSecretFile(path);
  if (existing !== undefined) return parseSecret(path, existing);
  const value = generatePassword();
  await writePrivate(dir, path, value);
  return value;
}

/** Moves the staged password over the current one (one rename: the secret file is never half written). */
export async function commitStagedSecret(dir: string, name: string): Promise<void> {
  validateSecretName(name);
  await rename(join(stagingDir(dir), name), join(secretsDir(dir), name));
}

/** Removes the staging directory once every staged password was committed (it is empty then). */
export async function endStaging(dir: string): Promise<void> {
  await rmdir(stagingDir(dir)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}
