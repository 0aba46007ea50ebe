/**
 * Writing `pgha render --out DIR`: the rendered tree goes under DIR without ever following a
 * symbolic link found inside DIR. A link planted there (by another user sharing the directory,
 * or left behind by a previous tool) would otherwise make pgha write a file wherever the link
 * points. pgha refuses instead of replacing the link: the link may be the operator's own, and
 * deleting it silently would be as surprising as writing through it. Every target is checked
 * before the first byte is written, so a refusal leaves DIR as it was; the final open uses
 * O_NOFOLLOW so that a link swapped in after the check is still not followed.
 * DIR itself is the path the operator typed and is used as given, like any other path argument.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export interface OutFile {
  /** Path below the output directory, '/'-separated, never starting with '..'. */
  rel: string;
  content: string;
}

function symlinkRefused(path: string): UsageError {
  return new UsageError(`--out: ${path} is a symbolic link; pgha render does not write through links`, {
    hint: `remove it (rm '${path}') or choose an empty --out directory, then run render again`,
  });
}

/** What is at `path` without following it: 'none', 'dir', 'file', or a refusal. */
function kindAt(path: string): 'none' | 'dir' | 'file' {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw new UsageError(`--out: ${path} cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (st.isSymbolicLink()) throw symlinkRefused(path);
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  throw new UsageError(`--out: ${path} exists and is neither a directory nor a regular file`, {
    hint: 'remove it or choose an empty --out directory',
  });
}

/** Refuses, before anything is written, any link or wrong kind of entry on the way to each file. */
function checkTargets(out: string, files: readonly OutFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    const parts = f.rel.split('/').filter((p) => p !== '');
    let path = out;
    parts.forEach((part, i) => {
      path = join(path, part);
      if (seen.has(path)) return;
      seen.add(path);
      const kind = kindAt(path);
      const last = i === parts.length - 1;
      if (!last && kind === 'file') {
        throw new UsageError(`--out: ${path} is a file where pgha needs a directory`, {
          hint: 'remove it or choose an empty --out directory',
        });
      }
      if (last && kind === 'dir') {
        throw new UsageError(`--out: ${path} is a directory where pgha writes a file`, {
          hint: 'remove it or choose an empty --out directory',
        });
      }
    });
  }
}

function writeNoFollow(path: string, content: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkRefused(path);
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

export function writeRenderedTree(out: string, files: readonly OutFile[]): void {
  checkTargets(out, files);
  mkdirSync(out, { recursive: true });
  for (const f of files) {
    const parts = f.rel.split('/').filter((p) => p !== '');
    let dir = out;
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part);
      // One level at a time, re-checked: a link appearing after checkTargets is still refused.
      if (kindAt(dir) === 'none') mkdirSync(dir);
      if (kindAt(dir) !== 'dir') throw new UsageError(`--out: ${dir} is not a directory`);
    }
    writeNoFollow(join(dir, parts[parts.length - 1] ?? ''), f.content);
  }
}
