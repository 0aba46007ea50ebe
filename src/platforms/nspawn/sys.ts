/**
 * Small I/O helpers shared by the nspawn platform: running commands, process checks,
 * mount table, a cross-process lock, waiting for TCP. Nothing pgha-specific lives here.
 */
import { spawn } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import { mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { RuntimeError } from '../../errors.js';
import type { Log } from '../platform.js';

export type { Log };
export const noLog: Log = () => {};

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Don't throw on a non-zero exit. */
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Text for the error's `where`. */
  where?: string;
  input?: string;
}

/** Run a command (no shell), capture output; throw RuntimeError on failure unless allowFail. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('error', (e) => {
      reject(
        new RuntimeError(`cannot run ${cmd}: ${e.message}`, {
          ...(opts.where ? { where: opts.where } : {}),
        }),
      );
    });
    child.on('close', (code, signal) => {
      const res: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (res.code !== 0 && !opts.allowFail) {
        const tail = (res.stderr.trim() || res.stdout.trim()).split('\n').slice(-15).join('\n');
        reject(
          new RuntimeError(`${cmd} ${args.join(' ')} failed (exit ${res.code}${signal ? `, ${signal}` : ''})\n${tail}`, {
            ...(opts.where ? { where: opts.where } : {}),
          }),
        );
        return;
      }
      resolve(res);
    });
  });
}

/** Is `tool` on PATH (or an absolute path that exists and is executable)? */
export async function which(tool: string): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  const { access } = await import('node:fs/promises');
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${tool}`;
    try {
      await access(p, fsc.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** argv of a live process, or undefined. */
export async function procArgv(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (!raw) return undefined;
    return raw.split('\0').filter((s, i, a) => !(s === '' && i === a.length - 1));
  } catch {
    return undefined;
  }
}

/** Pids of every running systemd-nspawn whose `-D` root is `root`. */
export async function findNspawnByRoot(root: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const argv = await procArgv(pid);
    if (!argv || !isNspawnArgv(argv)) continue;
    const i = argv.indexOf('-D');
    if (i >= 0 && argv[i + 1] === root) out.push(pid);
  }
  return out;
}

export function isNspawnArgv(argv: string[]): boolean {
  const a0 = argv[0] ?? '';
  return a0 === 'systemd-nspawn' || a0.endsWith('/systemd-nspawn');
}

/** Mount points currently in this mount namespace (decoded from /proc/self/mountinfo). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export async function isMounted(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Does host:port accept a TCP connection within `ms`? */
export function tcpOpen(host: string, port: number, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(ms, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Write a file only when its content differs. Returns true when written. */
export async function writeIfChanged(path: string, content: string, mode = 0o644): Promise<boolean> {
  try {
    if ((await readFile(path, 'utf8')) === content) return false;
  } catch {
    /* absent */
  }
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true }); // don't write through a symlink left in the image
  await writeFile(path, content, { mode });
  return true;
}

/**
 * A lock across processes (vitest forks, two pgha runs): a file created with O_EXCL holding
 * the owner's pid; a lock whose owner is dead is taken over. Returns the release function.
 */
export async function acquireLock(path: string, what: string, log: Log, timeoutMs = 15 * 60_000): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true });
  const start = Date.now();
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o644);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: number;
    try {
      owner = Number((await readFile(path, 'utf8')).trim());
    } catch {
      continue; // released meanwhile
    }
    if (!Number.isInteger(owner) || owner <= 0 || !pidAlive(owner)) {
      // Stale (owner died) or being written right now: re-check after a moment, then take it.
      await sleep(200);
      try {
        const again = Number((await readFile(path, 'utf8')).trim());
        if (again === owner || !Number.isInteger(again) || !pidAlive(again)) await rm(path, { force: true });
      } catch {
        /* gone */
      }
      continue;
    }
    if (!told) {
      log(`waiting for ${what} (held by pid ${owner})`);
      told = true;
    }
    if (Date.now() - start > timeoutMs) {
      throw new RuntimeError(`timed out waiting for ${what}: ${path} is held by pid ${owner}`, {
        hint: `if pid ${owner} is not a pgha process, remove ${path}`,
      });
    }
    await sleep(500);
  }
}

/**
 * rm -rf a directory that may have file systems mounted below it (an interrupted debootstrap
 * leaves proc and sys mounted in its target): unmount those first (lazily, deepest first), and
 * don't remove anything if one stays mounted. Errors are reported through the result.
 */
export async function removeTreeSafely(dir: string): Promise<boolean> {
  const below = (await mountPoints()).filter((m) => m === dir || m.startsWith(`${dir}/`));
  for (const m of below.sort((a, b) => b.length - a.length)) await run('umount', ['-l', m], { allowFail: true });
  if ((await mountPoints()).some((m) => m === dir || m.startsWith(`${dir}/`))) return false;
  try {
    await rm(dir, { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
