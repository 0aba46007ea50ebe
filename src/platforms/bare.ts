/**
 * bare platform: the operator's own hosts. `provision` reaches each one over SSH and pins its
 * host key on first contact (trust on first use, recorded in DIR/ssh/known_hosts); a key that
 * differs from the pinned one is refused, here and on every later connection.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';
import { RefusedError, RuntimeError } from '../errors.js';
import { checkHostKey, keyBlobType, knownHostsLine, parseKnownHosts, pinnedKeys } from '../transport/known-hosts.js';

interface Contact {
  host: string;
  ip: string;
  pinned: 'new' | 'kept';
  line?: string;
}

function contact(host: string, ip: string, knownHosts: string, privateKey: string): Promise<Contact> {
  const text = existsSync(knownHosts) ? readFileSync(knownHosts, 'utf8') : '';
  const pinned = pinnedKeys(parseKnownHosts(text), ip, 22);
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let result: Contact | undefined;
    let refused: Error | undefined;
    client
      .on('ready', () => {
        client.end();
        resolve(result ?? { host, ip, pinned: 'kept' });
      })
      .on('error', (e: Error) =>
        reject(
          refused ??
            new RuntimeError(`cannot reach ${host} (${ip}) over SSH: ${e.message}`, {
              where: `${host}: provision`,
              hint: "check the address, that sshd runs, and that DIR/ssh/id_pgha.pub is in root's authorized_keys",
            }),
        ),
      )
      .connect({
        host: ip,
        port: 22,
        username: 'root',
        privateKey,
        readyTimeout: 15_000,
        hostVerifier: (key: Buffer) => {
          const verdict = checkHostKey(pinned, key);
          if (verdict.ok) return true;
          if (verdict.reason === 'unknown') {
            result = { host, ip, pinned: 'new', line: knownHostsLine(ip, 22, keyBlobType(key) ?? 'unknown', key.toString('base64')) };
            return true;
          }
          refused = new RefusedError(
            `${host} (${ip}) presented a host key that differs from the one pinned in ${knownHosts}; refusing to connect`,
            [],
            {
              where: `${host}: provision`,
              hint: `if ${host} was rebuilt, verify its new key out of band and remove its line from ${knownHosts}`,
            },
          );
          return false;
        },
      });
  });
}

/** What provisioning bare hosts needs, the counterpart of nspawn's NspawnClusterSpec. */
export interface BareClusterSpec {
  hosts: { name: string; ip: string }[];
  /** DIR/ssh/known_hosts: read for pinned keys, appended with new ones. */
  knownHosts: string;
  /** DIR/ssh/id_pgha. */
  privateKeyFile: string;
}

export async function provisionBare(spec: BareClusterSpec): Promise<string> {
  const { knownHosts } = spec;
  const privateKey = readFileSync(spec.privateKeyFile, 'utf8');
  const results = await Promise.allSettled(spec.hosts.map((h) => contact(h.name, h.ip, knownHosts, privateKey)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failures.length) {
    const first = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    if (first.reason instanceof RefusedError && failures.length === 1) throw first.reason;
    throw new RuntimeError(`provision failed on ${failures.length} host(s):\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  }
  const contacts = results.map((r) => (r as PromiseFulfilledResult<Contact>).value);
  const fresh = contacts.filter((c) => c.line);
  if (fresh.length) {
    mkdirSync(dirname(knownHosts), { recursive: true, mode: 0o700 });
    appendFileSync(knownHosts, fresh.map((c) => `${c.line}\n`).join(''), { mode: 0o644 });
  }
  return [
    `reached ${contacts.length} hosts:`,
    ...contacts.map(
      (c) => `  ${c.host.padEnd(10)} ${c.ip.padEnd(15)} host key ${c.pinned === 'new' ? 'pinned' : 'matches the pinned one'}`,
    ),
  ].join('\n');
}
