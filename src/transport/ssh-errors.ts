/**
 * What a failed SSH connection means, in words that say what to do: the connect errors of
 * ssh2 (refused key, closed port, timeout, no route, unacceptable host key) turned into pgha's
 * errors naming the host and the fix.
 */
import { PghaError, RefusedError, RuntimeError } from '../errors.js';

export const PROVISION_HINT = (dir: string) =>
  `verify the host's key out of band (e.g. on its console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), ` +
  `then re-run \`pgha provision ${dir}\` to pin it`;

export function connectError(
  e: unknown,
  opts: { host: string; ip: string; knownHostsPath: string },
  username: string,
  port: number,
  dir: string,
): PghaError {
  const err = e as Error & { code?: string; level?: string };
  const where = `${opts.host} (${opts.ip}): ssh`;
  const target = `${username}@${opts.ip}:${port}`;
  if (err.level === 'client-authentication') {
    return new RuntimeError(`${target} refused our key (${err.message})`, {
      where,
      hint: `check that ${dir}/ssh/id_pgha.pub is in ~${username}/.ssh/authorized_keys on ${opts.host}`,
    });
  }
  if (err.code === 'ECONNREFUSED') {
    return new RuntimeError(`nothing listens for SSH on ${opts.ip}:${port}`, {
      where,
      hint: `start sshd on ${opts.host}, or fix its ip_address in ${dir}/config.yml`,
    });
  }
  if (err.code === 'ETIMEDOUT' || /timed out/i.test(err.message)) {
    return new RuntimeError(`no answer from ${opts.ip}:${port} (${err.message})`, {
      where,
      hint: `check that ${opts.host} is running and reachable from here (pgha provision ${dir} starts local containers)`,
    });
  }
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') {
    return new RuntimeError(`${opts.ip} is unreachable (${err.code})`, {
      where,
      hint: `check the network route to ${opts.host}, or fix its ip_address in ${dir}/config.yml`,
    });
  }
  if (/host key|no matching/i.test(err.message)) {
    return new RefusedError(
      `${opts.host} (${opts.ip}) offers none of the host key types pinned in ${opts.knownHostsPath} (${err.message})`,
      [],
      { where, hint: PROVISION_HINT(dir) },
    );
  }
  return new RuntimeError(`cannot connect to ${target}: ${err.message}`, {
    where,
    hint: `check that ${opts.host} is up and that sshd accepts ${username}`,
  });
}
