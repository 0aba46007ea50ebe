/**
 * Filesystem helpers for secret material under the cluster directory (docs/architecture.md#the-cluster-directory).
 * Modes are set with chmod after creation because the process umask may be stricter or looser
 * than what we need; files are written to a temporary name and renamed so that a crash never
 * leaves a half-written key where the next run would take it for a valid one.
 */
import { UsageError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Creates `path` (and parents) if needed and forces `mode` on `path` itself, even if it existed. */
export async function ensurePrivateDir(path: string, mode = 0o700): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  const st = await lstat(path);
  if (!st.isDirectory()) throw new Error(`${path} exists and is not a directory`);
  if ((st.mode & 0o777) !== mode) await chmod(path, mode);
}

export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  // 'wx' + restrictive mode from the first byte: the secret is never readable by others, not even
  // between open() and chmod().
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}

/** Makes the rename itself durable; best effort because some filesystems refuse fsync on a directory. */
async function syncDir(path: string): Promise<void> {
  try {
    const dh = await open(path, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Durability of the directory entry is a nicety; the data itself was synced above.
  }
}

/** The file's content, or undefined when it does not exist (other errors propagate). */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new UsageError(`${path}: cannot be read (${code ?? (err as Error).message})`, {
      hint: 'it must be a regular file you can read; restore it from a backup, or remove it so pgha creates a new one',
    });
  }
}

/** Forces `mode` on an existing file (kept keys may have been copied in with a loose mode). */
export async function enforceMode(path: string, mode: number): Promise<void> {
  const st = await lstat(path);
  if ((st.mode & 0o777) !== mode) await chmod(path, mode);
}
