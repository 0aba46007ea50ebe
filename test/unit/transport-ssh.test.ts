/**
 * SshTransport against a real SSH server: ssh2's own server, in this process, running commands
 * with `bash -c` as sshd does. This exercises the protocol, host key pinning, auth, stdin and exit
 * codes without root, containers or a system sshd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefusedError, RuntimeError } from '../../src/errors.js';
import { gatherFacts } from '../../src/plan/remote.js';
import { MASK, withSecrets } from '../../src/transport/quote.js';
import { pipeBetween } from '../../src/transport/pipe.js';
import { SshTransport } from '../../src/transport/ssh.js';
import { run } from '../../src/transport/types.js';
import { tempDirs } from './tempdirs.js';

const tempDir = tempDirs();

/* eslint-disable @typescript-eslint/no-explicit-any -- the in-process server drives ssh2's server-side objects
   (connections, auth contexts, channels) loosely; the test only needs a few of their members, and a
   wrong guess fails the test. */
const ssh2: any = createRequire(import.meta.url)('ssh2');

const dir = tempDir('pgha-ssh-');
function keygen(name: string): { priv: string; pub: string; type: string; blob: string } {
  const path = join(dir, name);
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  const pub = readFileSync(`${path}.pub`, 'utf8').trim();
  const [type = '', blob = ''] = pub.split(' ');
  return { priv: path, pub, type, blob };
}

const hasKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;

describe.skipIf(!hasKeygen)('SshTransport (in-process ssh2 server)', () => {
  let host: ReturnType<typeof keygen>;
  let other: ReturnType<typeof keygen>;
  let client: ReturnType<typeof keygen>;
  let server: any;
  let port = 0;
  let connections = 0;
  let authAttempts = 0;
  /** Session channels the server refuses before it accepts again (sshd at MaxSessions). */
  let refuseSessions = 0;
  const commands: string[] = [];

  beforeAll(async () => {
    host = keygen('host');
    other = keygen('other');
    client = keygen('client');
    const allowed = ssh2.utils.parseKey(readFileSync(`${client.priv}.pub`));
    server = new ssh2.Server({ hostKeys: [readFileSync(host.priv)] }, (c: any) => {
      connections++;
      c.on('authentication', (ctx: any) => {
        authAttempts++;
        if (
          ctx.method === 'publickey' &&
          ctx.username === 'root' &&
          ctx.key.data.equals(allowed.getPublicSSH()) &&
          (!ctx.signature || allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true)
        ) {
          ctx.accept();
        } else ctx.reject(['publickey']);
      });
      c.on('ready', () => {
        c.on('tcpip', (accept: () => any, reject: () => void, info: { destIP: string; destPort: number }) => {
          const sock = connect(info.destPort, info.destIP);
          sock.on('error', () => reject());
          sock.on('connect', () => {
            const ch = accept();
            ch.pipe(sock).pipe(ch);
          });
        });
        c.on('session', (accept: () => any, reject: () => void) => {
          if (refuseSessions > 0) {
            refuseSessions--;
            reject();
            return;
          }
          const session = accept();
          session.on('exec', (acc: () => any, _rej: unknown, info: { command: string }) => {
            commands.push(info.command);
            const ch = acc();
            // Simulates a host that dies in the middle of a command.
            if (info.command.includes('PGHA_TEST_DROP')) {
              setTimeout(() => c.end(), 100);
              return;
            }
            const child = spawn('bash', ['-c', info.command], { stdio: ['pipe', 'pipe', 'pipe'] });
            ch.pipe(child.stdin);
            child.stdin.on('error', () => undefined);
            child.stdout.pipe(ch, { end: false });
            child.stderr.pipe(ch.stderr, { end: false });
            child.on('close', (code: number | null) => {
              ch.exit(code ?? 255);
              ch.end();
            });
          });
        });
      });
      c.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => server?.close());

  function knownHosts(lines: string[]): string {
    const p = join(dir, 'ssh', 'known_hosts');
    spawnSync('mkdir', ['-p', join(dir, 'ssh')]);
    writeFileSync(p, lines.join('\n') + '\n');
    return p;
  }

  const opts = (knownHostsPath: string) => ({
    host: 'pg1',
    ip: '127.0.0.1',
    port,
    privateKeyPath: client.priv,
    knownHostsPath,
    readyTimeoutMs: 5000,
  });

  it('runs commands over one connection, with stdin, stderr and exit codes', async () => {
    const kh = knownHosts([`[127.0.0.1]:${port} ${host.type} ${host.blob}`]);
    const before = connections;
    const t = await SshTransport.connect(opts(kh));
    try {
      const a = await t.exec({ script: `echo "it's ünï"; echo e >&2; exit 7` });
      expect(a).toEqual({ stdout: "it's ünï\n", stderr: 'e\n', code: 7 });
      const text = 'x'.repeat(200_000) + '\n🐘';
      const b = await t.exec({ script: 'cat', stdin: text });
      expect(b.stdout).toBe(text);
      const c = await Promise.all(Array.from({ length: 12 }, (_, i) => t.exec({ script: `echo ${i}` })));
      expect(c.map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
      const d = await t.exec({ script: 'echo timed', timeoutSec: 5 });
      expect(d.stdout).toBe('timed\n');
      expect(t.execCount).toBe(15);
      expect(connections - before).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('streams a command between two connections, every byte, and names the side that failed', async () => {
    const kh = knownHosts([`[127.0.0.1]:${port} ${host.type} ${host.blob}`]);
    const a = await SshTransport.connect(opts(kh));
    const b = await SshTransport.connect({ ...opts(kh), host: 'pg2' });
    try {
      const out = join(dir, 'streamed');
      const r = await pipeBetween(
        { t: a, cmd: { script: 'head -c 3000000 /dev/urandom | tee ' + join(dir, 'sent') }, step: 'send' },
        { t: b, cmd: { script: `cat > ${out}` }, step: 'receive' },
      );
      expect(r.bytes).toBe(3_000_000);
      expect(readFileSync(out).equals(readFileSync(join(dir, 'sent')))).toBe(true);
      const err = await pipeBetween(
        { t: a, cmd: { script: 'echo partial; echo "no such stanza" >&2; exit 4' }, step: 'send' },
        { t: b, cmd: { script: 'cat >/dev/null' }, step: 'receive' },
      ).catch((e: unknown) => e);
      expect((err as RuntimeError).where).toBe('pg1: send');
      expect((err as Error).message).toMatch(/exit code 4[^]*no such stanza/);
      // Every channel was given back: the connection still runs commands.
      expect((await b.exec({ script: 'echo ok' })).stdout).toBe('ok\n');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('asks again for a session channel sshd refused (a slot not yet free), and gives up after four refusals', async () => {
    const t = await SshTransport.connect(opts(knownHosts([`[127.0.0.1]:${port} ${host.pub}`])));
    try {
      refuseSessions = 2;
      const r = await t.exec({ script: 'echo again' });
      expect(r).toMatchObject({ code: 0, stdout: 'again\n' });
      expect(refuseSessions).toBe(0);
      refuseSessions = 4;
      await expect(t.exec({ script: 'echo never' })).rejects.toThrow(/Channel open failure/);
      expect(refuseSessions).toBe(0);
    } finally {
      refuseSessions = 0;
      await t.close();
    }
  });

  it('keeps secrets off the command line and out of errors', async () => {
    const kh = knownHosts([`[127.0.0.1]:${port} ${host.type} ${host.blob}`]);
    const t = await SshTransport.connect(opts(kh));
    try {
      const pw = `s3cr'et $(x)`;
      commands.length = 0;
      const cmd = withSecrets({ PW: pw }, `printf 'got %s\\n' "$PW" >&2; exit 2`);
      const e = (await run(t, cmd, 'set etcd password').catch((x: unknown) => x)) as RuntimeError;
      expect(e).toBeInstanceOf(RuntimeError);
      expect(e.where).toBe('pg1: set etcd password');
      expect(e.message).toContain(`got ${MASK}`);
      expect(e.message).not.toContain(pw);
      expect(commands.join('\n')).not.toContain(pw);
    } finally {
      await t.close();
    }
  });

  it('accepts a key pinned under the host name', async () => {
    const kh = knownHosts([`[pg1]:${port} ${host.type} ${host.blob}`]);
    const t = await SshTransport.connect(opts(kh));
    expect((await t.exec({ script: 'echo ok' })).stdout).toBe('ok\n');
    await t.close();
  });

  it('gathers facts in exactly one round trip', async () => {
    const kh = knownHosts([`[127.0.0.1]:${port} ${host.type} ${host.blob}`]);
    const t = await SshTransport.connect(opts(kh));
    try {
      const f = await gatherFacts(t, { paths: [kh, '/nonexistent/x'], packages: ['bash'], services: [] });
      expect(f.files[kh]).toMatchObject({ state: 'file' });
      expect(f.files['/nonexistent/x']).toEqual({ path: '/nonexistent/x', state: 'missing' });
      expect(t.execCount).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('refuses a host whose key is not pinned, before authenticating', async () => {
    const kh = knownHosts([`10.9.9.9 ${host.type} ${host.blob}`]);
    const e = (await SshTransport.connect(opts(kh)).catch((x: unknown) => x)) as RefusedError;
    expect(e).toBeInstanceOf(RefusedError);
    expect(e.message).toContain('pg1');
    expect(e.message).toContain(`[127.0.0.1]:${port}`);
    expect(e.message).toContain(kh);
    expect(e.hint).toContain(`pgha provision ${dir}`);
  });

  it('refuses a changed host key without sending credentials', async () => {
    const kh = knownHosts([`[127.0.0.1]:${port} ${other.type} ${other.blob}`]);
    const auth = authAttempts;
    const e = (await SshTransport.connect(opts(kh)).catch((x: unknown) => x)) as RefusedError;
    expect(e).toBeInstanceOf(RefusedError);
    expect(e.message).toContain('differs from the key pinned');
    expect(e.message).toContain('127.0.0.1');
    expect(e.message).toContain(kh);
    const fp = spawnSync('ssh-keygen', ['-lf', `${host.priv}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1];
    expect(e.message).toContain(`presented host key ssh-ed25519 ${fp}`);
    expect(e.where).toBe('pg1 (127.0.0.1): ssh');
    expect(e.hint).toContain(`pgha provision ${dir}`);
    expect(authAttempts).toBe(auth);
  });

  it('explains a key the server does not accept', async () => {
    const kh = knownHosts([`[127.0.0.1]:${port} ${host.type} ${host.blob}`]);
    const e = (await SshTransport.connect({ ...opts(kh), privateKeyPath: other.priv }).catch((x: unknown) => x)) as RuntimeError;
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.message).toContain('refused our key');
    expect(e.hint).toContain('authorized_keys');
  });

  it('explains a closed port', async () => {
    const kh = knownHosts([`[127.0.0.1]:1 ${host.type} ${host.blob}`]);
    const e = (await SshTransport.connect({ ...opts(kh), port: 1 }).catch((x: unknown) => x)) as RuntimeError;
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.message).toContain('nothing listens for SSH on 127.0.0.1:1');
  });

  it('fails a command whose connection drops instead of hanging', async () => {
    const kh = knownHosts([`[127.0.0.1]:${port} ${host.type} ${host.blob}`]);
    const t = await SshTransport.connect(opts(kh));
    await expect(t.exec({ script: 'sleep 30 # PGHA_TEST_DROP' })).rejects.toThrow(/connection to pg1 \(127.0.0.1\) lost/);
    await expect(t.exec({ script: 'true' })).rejects.toThrow(/lost/);
    await t.close();
  });

  it('opens TCP streams from the host (for allowlisted REST APIs)', async () => {
    const echo = createServer((sock) => sock.pipe(sock));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as AddressInfo).port;
    const kh = knownHosts([`[127.0.0.1]:${port} ${host.type} ${host.blob}`]);
    const t = await SshTransport.connect(opts(kh));
    try {
      const stream = await t.forwardOut('127.0.0.1', echoPort);
      const got = new Promise<string>((resolve) => stream.once('data', (b: Buffer) => resolve(b.toString())));
      stream.write('ping');
      expect(await got).toBe('ping');
      stream.end();
      await expect(t.forwardOut('127.0.0.1', 1)).rejects.toThrow(/cannot reach 127.0.0.1:1 from pg1/);
    } finally {
      await t.close();
      echo.close();
    }
  });

  it('reports use after close as a lost connection', async () => {
    const kh = knownHosts([`[127.0.0.1]:${port} ${host.type} ${host.blob}`]);
    const t = await SshTransport.connect(opts(kh));
    await t.close();
    await expect(t.exec({ script: 'true' })).rejects.toThrow(/connection to pg1 \(127.0.0.1\) lost/);
  });
});
