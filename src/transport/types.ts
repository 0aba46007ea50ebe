import type { Duplex, Readable, Writable } from 'node:stream';
import { RuntimeError } from '../errors.js';
import { maskSecrets, type Command } from './quote.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; a command killed by a signal reports 128 + signal number where known, else 255. */
  code: number;
}

/** Runs commands on one host. Implementations never throw for a non-zero exit; see `run`. */
export interface Transport {
  /** Inventory name of the host, used in every message. */
  readonly host: string;
  exec(cmd: Command): Promise<ExecResult>;
  close(): Promise<void>;
  /** Commands executed so far: benchmarks report round trips per host. */
  readonly execCount: number;
}

/**
 * A command started with its stdin and stdout left open as streams, for more bytes than a
 * string should hold (a backup repository copied from one host to another through pgha). `done`
 * settles when the command ends; its `stdout` is empty (it went to the stream), its stderr kept.
 */
export interface StartedCommand {
  stdin: Writable;
  stdout: Readable;
  done: Promise<ExecResult>;
}

/**
 * A transport to a cluster host that also opens TCP channels from the host (Patroni's REST API
 * through a member, so unsafe calls pass its allowlist) and copies directories onto it.
 */
export type HostTransport = Transport & {
  forwardOut(ip: string, port: number): Promise<Duplex>;
  putDirectory(local: string, remote: string): Promise<void>;
  start(cmd: Command): Promise<StartedCommand>;
};

/** Seconds between TERM and KILL for a command that outlives its timeout. */
const KILL_AFTER_SEC = 10;

/**
 * The program and arguments that run a command. Always bash by name: an SSH login shell may be
 * dash or something stranger. A timeout runs on the far side, so it holds even when the
 * connection to the host is what hangs.
 */
export function argv(cmd: Command): string[] {
  const t = cmd.timeoutSec;
  if (t === undefined) return ['bash', '-c', cmd.script];
  if (!(t > 0)) throw new Error(`bug: timeoutSec ${t} is not positive`);
  return ['timeout', '-k', String(KILL_AFTER_SEC), String(t), 'bash', '-c', cmd.script];
}

/** How many trailing stderr lines an error quotes: enough to see the cause, not a wall of text. */
const STDERR_TAIL_LINES = 20;

export function tail(text: string, lines = STDERR_TAIL_LINES): string {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.length > lines ? ['…', ...all.slice(-lines)].join('\n') : all.join('\n');
}

/**
 * `exec`, but a non-zero exit becomes a RuntimeError naming host and step, with the tail of
 * stderr (or stdout, when stderr is empty) and every secret masked.
 */
export async function run(t: Transport, cmd: Command, step: string, hint?: string): Promise<ExecResult> {
  const r = await t.exec(cmd);
  if (r.code !== 0) {
    const out = maskSecrets(tail(r.stderr.trim() ? r.stderr : r.stdout), cmd.secrets);
    const detail = out.trim() ? `:\n${out.replace(/^/gm, '  ')}` : ' (no output)';
    const what =
      cmd.timeoutSec !== undefined && (r.code === 124 || r.code === 137)
        ? `timed out after ${cmd.timeoutSec} s`
        : `failed with exit code ${r.code}`;
    throw new RuntimeError(`${step} ${what}${detail}`, {
      where: `${t.host}: ${step}`,
      ...(hint !== undefined ? { hint } : {}),
    });
  }
  return r;
}
