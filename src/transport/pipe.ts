/**
 * One host's command output fed into another host's command, through this process: the hosts
 * need neither trust in each other nor a route between them (two clusters' hosts on nspawn sit
 * on separate bridges). Used to copy a backup repository from one cluster to another.
 *
 * Bytes stream with backpressure, never held whole. If either side fails, the other is stopped:
 * a reader whose writer died would wait forever, and a writer whose reader died would block.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RuntimeError } from '../errors.js';
import type { Command } from './quote.js';
import { tail, type ExecResult, type StartedCommand } from './types.js';

const SIGPIPE_EXIT = 128 + 13;

export interface PipeEnd {
  host: string;
  start(cmd: Command): Promise<StartedCommand> | StartedCommand;
}

function failed(host: string, step: string, r: ExecResult): RuntimeError {
  const out = r.stderr.trim() ? `:\n${tail(r.stderr).replace(/^/gm, '  ')}` : ' (no output)';
  return new RuntimeError(`${step} failed with exit code ${r.code}${out}`, { where: `${host}: ${step}` });
}

/** Runs `from` and `to` with from's stdout as to's stdin; resolves with the bytes carried. */
export async function pipeBetween(
  from: { t: PipeEnd; cmd: Command; step: string },
  to: { t: PipeEnd; cmd: Command; step: string },
): Promise<{ bytes: number }> {
  const src = await from.t.start(from.cmd);
  src.stdin.end();
  let dst: StartedCommand;
  try {
    dst = await to.t.start(to.cmd);
  } catch (e) {
    src.stdout.destroy();
    await src.done.catch(() => undefined);
    throw e;
  }
  dst.stdout.resume();
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  // The reader failed before the writer was through: the writer's output has nowhere to go.
  // (Not after the writer's end: closing its channel then could lose its exit status.)
  let srcEnded = false;
  src.stdout.once('end', () => (srcEnded = true));
  const stopWriter = () => {
    if (!srcEnded) src.stdout.destroy();
  };
  void dst.done.then((r) => (r.code !== 0 ? stopWriter() : undefined), stopWriter);
  const carried = pipeline(src.stdout, count, dst.stdin).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  const [a, b, pipeError] = await Promise.all([src.done, dst.done, carried]);
  // When both failed, the cause is the reader if the writer died of the pipe it lost (SIGPIPE,
  // 128 + 13), and the writer otherwise (the reader then saw its output cut short).
  if (b.code !== 0 && (a.code === 0 || a.code === SIGPIPE_EXIT)) throw failed(to.t.host, to.step, b);
  if (a.code !== 0) throw failed(from.t.host, from.step, a);
  if (b.code !== 0) throw failed(to.t.host, to.step, b);
  if (pipeError) {
    throw new RuntimeError(`copying from ${from.t.host} to ${to.t.host} failed: ${pipeError.message}`, {
      where: `${to.t.host}: ${to.step}`,
    });
  }
  return { bytes };
}
