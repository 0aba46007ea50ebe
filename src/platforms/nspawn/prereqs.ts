/**
 * Host prerequisites of the nspawn platform: systemd-nspawn (systemd-container), debootstrap,
 * dpkg-scanpackages (dpkg-dev). Checked before provisioning; installed only when asked
 * (`pgha provision DIR --install-prereqs`) or by the project's own setup.
 */
import { RuntimeError, UsageError } from '../../errors.js';
import { noLog, run, which, type Log } from './sys.js';

export interface Prereq {
  tool: string;
  pkg: string;
}

export const HOST_PREREQS: Prereq[] = [
  { tool: 'systemd-nspawn', pkg: 'systemd-container' },
  { tool: 'debootstrap', pkg: 'debootstrap' },
  { tool: 'dpkg-scanpackages', pkg: 'dpkg-dev' },
  // Applies packaging/patroni/3.0.2-pgha.patch (dpkg-dev depends on it anyway).
  { tool: 'patch', pkg: 'patch' },
];

export const PREREQ_INSTALL_COMMAND = `apt-get install -y ${HOST_PREREQS.map((p) => p.pkg).join(' ')}`;

export function missingPrereqsMessage(missing: string[]): string {
  const named = missing.map((tool) => {
    const p = HOST_PREREQS.find((x) => x.tool === tool);
    return p ? `${tool} (package ${p.pkg})` : tool;
  });
  return (
    `missing on this machine: ${named.join(', ')}. ` +
    `Install with \`${PREREQ_INSTALL_COMMAND}\` or run \`pgha provision DIR --install-prereqs\`.`
  );
}

/** Containers, bridges and mounts need root: refuse early (exit 2) with the fix. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0)
    throw new UsageError(`${what} on the nspawn platform must run as root (containers, bridges and mounts)`, { hint: 'run it with sudo' });
}

/** The nspawn platform's own check, for callers that reach it directly (a RuntimeError naming the step). */
export function assertRoot(step: string): void {
  if (process.getuid?.() !== 0) {
    throw new RuntimeError('the nspawn platform needs root (containers, bridges, mounts)', { where: step, hint: 'run pgha as root' });
  }
}

/** The tools among the prerequisites that are missing on this machine (empty when all there). */
export async function checkHostPrereqs(): Promise<string[]> {
  const missing: string[] = [];
  for (const p of HOST_PREREQS) if (!(await which(p.tool))) missing.push(p.tool);
  return missing;
}

/** Throw a RuntimeError naming the missing tools and the command that installs them. */
export async function assertHostPrereqs(): Promise<void> {
  const missing = await checkHostPrereqs();
  if (missing.length) {
    throw new RuntimeError(missingPrereqsMessage(missing), { where: 'provision: host prerequisites', hint: PREREQ_INSTALL_COMMAND });
  }
}

/** `apt-get install -y` the packages of the missing tools (root only). */
export async function installHostPrereqs(log: Log = noLog): Promise<string[]> {
  const missing = await checkHostPrereqs();
  const pkgs = HOST_PREREQS.filter((p) => missing.includes(p.tool)).map((p) => p.pkg);
  if (!pkgs.length) return [];
  if (process.getuid?.() !== 0) {
    throw new RuntimeError(`installing ${pkgs.join(', ')} needs root`, {
      where: 'provision: host prerequisites',
      hint: `run as root: ${PREREQ_INSTALL_COMMAND}`,
    });
  }
  log(`installing ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '--no-install-recommends', ...pkgs];
  const first = await run('apt-get', args, { env, allowFail: true });
  if (first.code !== 0) {
    // Usually stale or empty package lists: refresh once and retry.
    await run('apt-get', ['update'], { env, where: 'provision: host prerequisites' });
    await run('apt-get', args, { env, where: 'provision: host prerequisites' });
  }
  const still = await checkHostPrereqs();
  if (still.length) throw new RuntimeError(missingPrereqsMessage(still), { where: 'provision: host prerequisites' });
  return pkgs;
}
