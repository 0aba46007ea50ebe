/**
 * Reaching a host over SSH as root with the cluster's key, accepting only its pinned host key:
 * how both platforms connect today. The SSH stack is loaded on first use, so a command that
 * never opens a connection (most of `pgha status`) does not pay for it.
 */
import { readPrivateIfExists } from '../pki/vault.js';
import type { HostTransport } from '../transport/types.js';
import type { HostAccess, HostAddr } from './platform.js';

export async function connectOverSsh(host: HostAddr, access: HostAccess): Promise<HostTransport> {
  const { SshTransport } = await import('../transport/ssh.js');
  // Read here, through the vault, rather than by the transport: the key may be sealed at rest.
  const privateKey = await readPrivateIfExists(access.privateKeyFile);
  return SshTransport.connect({
    host: host.name,
    ip: host.ip,
    ...(privateKey !== undefined ? { privateKey } : { privateKeyPath: access.privateKeyFile }),
    knownHostsPath: access.knownHostsFile,
    ...(access.readyTimeoutMs !== undefined ? { readyTimeoutMs: access.readyTimeoutMs } : {}),
  });
}
