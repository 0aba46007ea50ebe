/**
 * Helpers for end-to-end tests: run the real `pgha` binary, and probe hosts independently of
 * pgha's own code (OpenSSH's `ssh`, `psql`, plain HTTPS).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');
export const BIN = join(REPO, 'bin', 'pgha.js');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether e2e tests can run here; with PGHA_E2E=1 the reason they cannot is a failure. */
export function e2eBlocker(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['systemd-nspawn', 'debootstrap', 'dpkg-scanpackages', 'ssh', 'psql']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing (run scripts/install-prereqs.sh)`;
  }
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) return 'dist/ is not built (npm run build)';
  return undefined;
}

export const E2E_REQUIRED = process.env.PGHA_E2E === '1';

export function pgha(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, CI: 'true', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Run pgha and fail with its output when it does not exit as expected. */
export async function pghaOk(args: string[], expectCode = 0, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  const r = await pgha(args, opts);
  if (r.code !== expectCode) {
    throw new Error(`pgha ${args.join(' ')} exited ${r.code} (wanted ${expectCode})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r;
}

/**
 * `pgha configure` arguments for an M1 test cluster with HAProxy on SUBNET.0/24, naming its
 * Debian release when the suite depends on one (else the default release).
 */
export function configureM1Args(
  dir: string,
  subnet: string,
  o: { osVersion?: 12 | 13; etcdNodes?: number; pgbackrest?: boolean; monitoring?: boolean } = {},
): string[] {
  return [
    'configure',
    dir,
    '-a',
    'M1',
    '--enable-patroni',
    '--enable-haproxy',
    '--subnet',
    `${subnet}.0/24`,
    ...(o.osVersion ? ['--os-version', String(o.osVersion)] : []),
    ...(o.etcdNodes ? ['--etcd-nodes', String(o.etcdNodes)] : []),
    ...(o.pgbackrest ? ['--enable-pgbackrest'] : []),
    ...(o.monitoring ? ['--enable-monitoring'] : []),
  ];
}

/** OpenSSH's arguments for a command on a cluster host, with the cluster's key and pinned host keys. */
export function sshArgs(dir: string, ip: string, script: string): string[] {
  return [
    '-i',
    join(dir, 'ssh', 'id_pgha'),
    '-o',
    `UserKnownHostsFile=${join(dir, 'ssh', 'known_hosts')}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    `root@${ip}`,
    script,
  ];
}

/** A command on a cluster host through OpenSSH, with the cluster's key and pinned host keys. */
export function ssh(dir: string, ip: string, script: string, input?: string): Ran {
  const r = spawnSync('ssh', sshArgs(dir, ip, script), { input: input ?? '', encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** ssh() without blocking the event loop, for polling while something else is timed; killed after timeoutMs. */
export function sshAsync(dir: string, ip: string, script: string, timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolvePromise) => {
    const child = spawn('ssh', sshArgs(dir, ip, script), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 1, stdout, stderr });
    });
  });
}

export function sshOk(dir: string, ip: string, script: string, input?: string): string {
  const r = ssh(dir, ip, script, input);
  if (r.code !== 0) throw new Error(`ssh ${ip} ${script} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Every generated password of the cluster, to look for in outputs. */
export function clusterSecrets(dir: string): string[] {
  const d = join(dir, 'secrets');
  return readdirSync(d)
    .map((f) => readFileSync(join(d, f), 'utf8').trim())
    .filter(Boolean);
}

export function psql(conninfo: string, sql: string, password: string): Ran {
  const r = spawnSync('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql, conninfo], {
    encoding: 'utf8',
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
    timeout: 30_000,
  });
  return { code: r.status ?? 1, stdout: (r.stdout ?? '').trim(), stderr: r.stderr ?? '' };
}

/**
 * Remove what an earlier, killed run may have left of a test cluster (containers, mounts,
 * bridge, state), so that every run starts from nothing. Safe when nothing is there.
 */
export async function removeStaleCluster(clusterName: string): Promise<void> {
  const { deprovisionNspawn } = await import('../../src/platforms/nspawn/deprovision.js');
  await deprovisionNspawn({ clusterName });
}

/**
 * The e2e gate every suite starts with: returns whether the suite can run here. With
 * PGHA_E2E=1 (CI), a missing prerequisite registers a failing test instead of a silent skip.
 */
export function e2eSuiteCanRun(suite: string): boolean {
  const blocker = e2eBlocker();
  if (blocker && E2E_REQUIRED) {
    describe(`e2e prerequisites (${suite})`, () => {
      it('are present (PGHA_E2E=1)', () => {
        expect.fail(`end-to-end suite cannot run: ${blocker}`);
      });
    });
  }
  return blocker === undefined;
}

/** afterAll of every e2e suite: remove the containers, then the temporary cluster directory. */
export async function removeTestCluster(dir: string, root: string): Promise<void> {
  if (dir) {
    const r = await pgha(['deprovision', dir]);
    if (r.code !== 0) process.stderr.write(`deprovision failed:\n${r.stdout}\n${r.stderr}\n`);
  }
  if (root) rmSync(root, { recursive: true, force: true });
}
