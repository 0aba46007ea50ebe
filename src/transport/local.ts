import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Command } from './quote.js';
import { argv, type ExecResult, type StartedCommand, type Transport } from './types.js';

/**
 * The Transport contract on this machine: `bash -c script` with the command's stdin. Used for the
 * controller's own steps and by unit tests, so scripts written for hosts are exercised for real.
 */
export class LocalTransport implements Transport {
  readonly host: string;
  private count = 0;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly cwd: string | undefined;

  constructor(opts: { host?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    this.host = opts.host ?? 'localhost';
    this.env = opts.env;
    this.cwd = opts.cwd;
  }

  get execCount(): number {
    return this.count;
  }

  async exec(cmd: Command): Promise<ExecResult> {
    const started = this.start(cmd);
    const out: Buffer[] = [];
    started.stdout.on('data', (b: Buffer) => out.push(b));
    started.stdin.end(cmd.stdin ?? '');
    const r = await started.done;
    return { ...r, stdout: Buffer.concat(out).toString('utf8') };
  }

  /** The command started with its stdin and stdout as pipes (see StartedCommand); `cmd.stdin` is not sent. */
  start(cmd: Command): StartedCommand {
    this.count++;
    const [file = 'bash', ...args] = argv(cmd);
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(this.env ? { env: this.env } : {}),
      ...(this.cwd ? { cwd: this.cwd } : {}),
    });
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A script that exits without reading all of stdin closes the pipe under us; that is its
    // business and shows in its exit code, not a transport failure.
    child.stdin.on('error', () => undefined);
    const done = new Promise<ExecResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        const sig = signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
        resolve({ stdout: '', stderr: Buffer.concat(err).toString('utf8'), code: code ?? (sig !== undefined ? 128 + sig : 255) });
      });
    });
    return { stdin: child.stdin, stdout: child.stdout, done };
  }

  async close(): Promise<void> {
    // Nothing held open between commands.
  }
}
