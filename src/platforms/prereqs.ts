/**
 * Host prerequisites of the nspawn platform: systemd-nspawn (systemd-container), debootstrap,
 * dpkg-scanpackages (dpkg-dev). Checked before provisioning; installed only when asked
 * (`pgha provision DIR --install-prereqs`) or by the project's own setup.
 */
import { RuntimeError } from '../errors.js';
import { HOST_PREREQS, PREREQ_INSTALL_COMMAND, missingPrereqsMessage } from './nspawn/helpers.js';
import { noLog, run, which, type Log } from './nspawn/sys.js';

export { HOST_PREREQS, PREREQ_INSTALL_COMMAND, missingPrereqsMessage };

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
