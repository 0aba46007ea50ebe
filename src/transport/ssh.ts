import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import { RefusedError, RuntimeError } from '../errors.js';
import {
  checkHostKey,
  fingerprint,
  hostKeyAlgorithms,
  knownHostsName,
  parseKnownHosts,
  pinnedKeys,
  type HostKeyVerdict,
} from './known-hosts.js';
import { maskSecrets, quote, type Command } from './quote.js';
import { connectError, PROVISION_HINT } from './ssh-errors.js';
import type { ClientChannel } from 'ssh2';
import { argv, type ExecResult, type StartedCommand, type Transport } from './types.js';

export interface SshConnectOptions {
  /** Inventory name, for messages only. */
  host: string;
  ip: string;
  port?: number;
  username?: string;
  /** DIR/ssh/id_pgha. Without it, the agent at `agent` (or $SSH_AUTH_SOCK) is used. */
  privateKeyPath?: string;
  /** The private key itself, already read (and opened, when the vault seals it); wins over privateKeyPath. */
  privateKey?: string;
  agent?: string;
  /** DIR/ssh/known_hosts: the only keys this host may present. */
  knownHostsPath: string;
  /** Run every command through `sudo -n` (a non-root login user with passwordless sudo). */
  sudo?: boolean;
  /** Handshake deadline; an unreachable host fails after this. */
  readyTimeoutMs?: number;
}

/**
 * OpenSSH's default MaxSessions is 10 channels per connection; staying below it keeps parallel
 * callers (status polling during a deploy, say) from getting "open failed" from sshd.
 */
const MAX_CHANNELS = 8;

/** How often, and how long apart, a refused session channel is asked for again. */
const SESSION_OPEN_TRIES = 4;
const SESSION_OPEN_DELAY_MS = 250;

/**
 * `open` again when sshd refused the session channel itself ("Channel open failure"): sshd frees
 * a session's slot only after the channel is gone on its side too, a moment after the client saw
 * it close, so a burst of short commands at the limit can meet a slot not yet free (seen in a
 * restore's health checks: every probe of one round refused at once). The command never started,
 * so asking again is safe; anything else fails at once.
 */
export async function sessionOpenRetried<T>(
  open: () => Promise<T>,
  tries = SESSION_OPEN_TRIES,
  delayMs = SESSION_OPEN_DELAY_MS,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await open();
    } catch (e) {
      if (i >= tries || !/Channel open failure/i.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, delayMs * i));
    }
  }
}

function clusterDirOf(knownHostsPath: string): string {
  // DIR/ssh/known_hosts → DIR; anything else is shown as is.
  const m = /^(.*)\/ssh\/known_hosts$/.exec(knownHostsPath);
  return m?.[1] || 'DIR';
}

/** One SSH connection per host, reused for every command of a run. */
export class SshTransport implements Transport {
  readonly host: string;
  readonly ip: string;
  readonly port: number;
  private count = 0;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Set once the connection dies; every later exec reports it instead of hanging. */
  private lostReason: string | undefined;

  private constructor(
    private readonly ssh: NodeSSH,
    opts: SshConnectOptions,
    private readonly sudo: boolean,
  ) {
    this.host = opts.host;
    this.ip = opts.ip;
    this.port = opts.port ?? 22;
  }

  get execCount(): number {
    return this.count;
  }

  static async connect(opts: SshConnectOptions): Promise<SshTransport> {
    const port = opts.port ?? 22;
    const username = opts.username ?? 'root';
    const where = `${opts.host} (${opts.ip}): ssh`;
    const dir = clusterDirOf(opts.knownHostsPath);

    let knownText: string;
    try {
      knownText = await readFile(opts.knownHostsPath, 'utf8');
    } catch (e) {
      throw new RefusedError(`cannot read pinned host keys from ${opts.knownHostsPath}: ${(e as Error).message}`, [], {
        where,
        hint: `run \`pgha provision ${dir}\` to pin the hosts' keys`,
      });
    }
    // Lines may name the host by address or by its inventory name; both pin it.
    const pinned = pinnedKeys(parseKnownHosts(knownText), [opts.ip, opts.host], port);
    const name = knownHostsName(opts.ip, port);
    if (pinned.keys.length === 0) {
      throw new RefusedError(
        `host key of ${opts.host} (${name}) is not pinned in ${opts.knownHostsPath}; refusing to connect to an unverified host`,
        [],
        { where, hint: PROVISION_HINT(dir) },
      );
    }

    const algorithms = hostKeyAlgorithms(pinned.keys.map((k) => k.type));
    if (algorithms.length === 0) {
      throw new RefusedError(
        `the key types pinned for ${opts.host} (${name}) in ${opts.knownHostsPath} (${pinned.keys.map((k) => k.type).join(', ')}) cannot be verified by pgha`,
        [],
        { where, hint: `pin an ed25519, ecdsa or rsa host key instead: ${PROVISION_HINT(dir)}` },
      );
    }

    let privateKey: string | undefined = opts.privateKey;
    if (privateKey === undefined && opts.privateKeyPath) {
      try {
        privateKey = await readFile(opts.privateKeyPath, 'utf8');
      } catch (e) {
        throw new RuntimeError(`cannot read SSH private key ${opts.privateKeyPath}: ${(e as Error).message}`, {
          where,
          hint: `run \`pgha provision ${dir}\` to create the cluster key, or check its permissions`,
        });
      }
    }
    const agent = opts.agent ?? (privateKey ? undefined : process.env['SSH_AUTH_SOCK']);
    if (!privateKey && !agent) {
      throw new RuntimeError('no SSH private key and no SSH agent to log in with', {
        where,
        hint: `create ${dir}/ssh/id_pgha with \`pgha provision ${dir}\`, or start an agent holding your key`,
      });
    }

    let verdict: HostKeyVerdict = { ok: true };
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: opts.ip,
        port,
        username,
        ...(privateKey ? { privateKey } : {}),
        ...(agent ? { agent } : {}),
        readyTimeout: opts.readyTimeoutMs ?? 20_000,
        // Detects a host that vanished mid-run instead of waiting on a dead TCP connection.
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        algorithms: { serverHostKey: algorithms },
        // Without hostHash, ssh2 hands over the raw key blob: the same bytes known_hosts pins.
        hostVerifier: (key: Buffer) => {
          verdict = checkHostKey(pinned, key);
          return verdict.ok;
        },
      });
    } catch (e) {
      ssh.dispose();
      // TypeScript cannot see the assignment inside the callback.
      const v = verdict as HostKeyVerdict;
      if (!v.ok) {
        const what = v.reason === 'revoked' ? 'is marked @revoked' : 'differs from the key pinned';
        throw new RefusedError(
          `${opts.host} (${name}) presented host key ${v.presentedType} ${fingerprint(v.presented)}, which ${what} in ${opts.knownHostsPath}. ` +
            `This can mean the host was rebuilt, or that someone is intercepting the connection; refusing to connect`,
          [],
          {
            where,
            hint: `if the host was legitimately rebuilt, ${PROVISION_HINT(dir)}; ` + `otherwise investigate before going further`,
          },
        );
      }
      throw connectError(e, opts, username, port, dir);
    }

    const t = new SshTransport(ssh, opts, opts.sudo ?? false);
    // ssh2 emits 'error' on the client for a dropped connection; with no listener left (node-ssh
    // removes its own after connecting) that would crash the process.
    ssh.connection?.on('error', (err: Error) => {
      t.lostReason = err.message;
    });
    ssh.connection?.on('close', () => {
      t.lostReason ??= 'connection closed';
    });
    return t;
  }

  private async acquire(): Promise<void> {
    if (this.active < MAX_CHANNELS) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  async exec(cmd: Command): Promise<ExecResult> {
    this.count++;
    if (this.lostReason !== undefined) throw this.lost(this.lostReason);
    const wrapped = this.commandLine(cmd);
    await this.acquire();
    try {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      // Collect bytes and decode once: decoding chunk by chunk splits multi-byte characters.
      const r = await sessionOpenRetried(() =>
        this.ssh.execCommand(wrapped, {
          ...(cmd.stdin !== undefined ? { stdin: cmd.stdin } : {}),
          noTrim: true,
          onStdout: (b: Buffer) => out.push(b),
          onStderr: (b: Buffer) => err.push(b),
        }),
      );
      // Neither exit status nor signal: the channel closed under the command, which means the
      // connection went away. Reporting it as "exit 255" would blame the command.
      if (r.code === null && !r.signal) {
        throw new Error(this.lostReason ?? 'the command ended without an exit status');
      }
      return {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: r.code ?? 128 + (SIGNALS[r.signal ?? ''] ?? 127),
      };
    } catch (e) {
      throw this.lost(maskSecrets((e as Error).message, cmd.secrets));
    } finally {
      this.release();
    }
  }

  private commandLine(cmd: Command): string {
    return (this.sudo ? ['sudo', '-n', '--', ...argv(cmd)] : argv(cmd)).map((w) => quote(w)).join(' ');
  }

  /**
   * The command started, its stdin and stdout the channel itself (see StartedCommand). The
   * channel counts against the connection's limit until it closes. `cmd.stdin` is not sent: the
   * caller writes the stream.
   */
  async start(cmd: Command): Promise<StartedCommand> {
    this.count++;
    const conn = this.ssh.connection;
    if (this.lostReason !== undefined || !conn) throw this.lost(this.lostReason ?? 'not connected');
    const line = this.commandLine(cmd);
    await this.acquire();
    let channel: ClientChannel;
    try {
      channel = await sessionOpenRetried(
        () => new Promise<ClientChannel>((resolve, reject) => conn.exec(line, (err, ch) => (err ? reject(err) : resolve(ch)))),
      );
    } catch (e) {
      this.release();
      throw this.lost(maskSecrets((e as Error).message, cmd.secrets));
    }
    const err: Buffer[] = [];
    channel.stderr.on('data', (b: Buffer) => err.push(b));
    let status: { code: number | null; signal: string | undefined } | undefined;
    channel.on('exit', (code: number | null, signal?: string) => {
      status = { code, signal };
    });
    const done = new Promise<ExecResult>((resolve, reject) => {
      channel.once('close', () => {
        this.release();
        if (!status || (status.code === null && !status.signal)) {
          reject(this.lost(this.lostReason ?? 'the command ended without an exit status'));
          return;
        }
        const stderr = maskSecrets(Buffer.concat(err).toString('utf8'), cmd.secrets);
        resolve({ stdout: '', stderr, code: status.code ?? 128 + (SIGNALS[status.signal ?? ''] ?? 127) });
      });
    });
    return { stdin: channel, stdout: channel, done };
  }

  /**
   * A TCP stream to `ip:port` opened from this host (an SSH direct-tcpip channel). The far end
   * sees a connection from this host, so a service that allowlists cluster members (Patroni's
   * REST API) accepts pgha's requests. Fits https.ts's `Dial`: `(t) => ssh.forwardOut(t.ip, t.port)`.
   */
  async forwardOut(ip: string, port: number): Promise<Duplex> {
    const conn = this.ssh.connection;
    if (this.lostReason !== undefined || !conn) throw this.lost(this.lostReason ?? 'not connected');
    await this.acquire();
    return new Promise<Duplex>((resolve, reject) => {
      conn.forwardOut('127.0.0.1', 0, ip, port, (err, stream) => {
        if (err) {
          this.release();
          reject(
            new RuntimeError(`cannot reach ${ip}:${port} from ${this.host}: ${err.message}`, {
              where: `${this.host}: ssh tunnel`,
              hint: `check that the service listens on ${ip}:${port} and that sshd on ${this.host} allows TCP forwarding`,
            }),
          );
          return;
        }
        // The channel counts against the connection's limit until it closes.
        stream.once('close', () => this.release());
        resolve(stream);
      });
    });
  }

  /**
   * Copy a local directory tree to the host over SFTP (binary-safe, unlike exec's stdin), e.g.
   * the local package repository for hosts that may not reach any other. Counts as a round trip.
   */
  async putDirectory(local: string, remote: string): Promise<void> {
    this.count++;
    if (this.lostReason !== undefined) throw this.lost(this.lostReason);
    const failed: string[] = [];
    const ok = await this.ssh.putDirectory(local, remote, {
      recursive: true,
      concurrency: 4,
      tick: (localPath, _remotePath, error) => {
        if (error) failed.push(`${localPath}: ${error.message}`);
      },
    });
    if (!ok || failed.length) {
      throw new RuntimeError(`copying ${local} to ${remote} failed: ${failed.slice(0, 3).join('; ')}`, { where: `${this.host}: copy` });
    }
  }

  private lost(reason: string): RuntimeError {
    return new RuntimeError(`SSH connection to ${this.host} (${this.ip}) lost: ${reason}`, {
      where: `${this.host}: ssh`,
      hint: 'check that the host is up and reachable, then re-run; deploy is safe to repeat',
    });
  }

  async close(): Promise<void> {
    this.lostReason ??= 'closed by pgha';
    this.ssh.dispose();
  }
}

/** ssh2 reports signals by name without the SIG prefix. */
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15 };
