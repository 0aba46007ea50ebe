/**
 * bare platform: the operator's own hosts. `provision` reaches each one over SSH and pins its
 * host key in DIR/ssh/known_hosts — only a key the operator vouched for: one found in a
 * known_hosts file they supply (`--known-hosts FILE`), or one whose fingerprint pgha printed and
 * they accepted (`--accept-new-host-keys`). A key that differs from the pinned one is refused,
 * here and on every later connection.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';
import { RefusedError, RuntimeError, UsageError } from '../../errors.js';
import { readPrivateIfExists } from '../../pki/vault.js';
import { checkHostKey, fingerprint, keyBlobType, knownHostsLine, parseKnownHosts, pinnedKeys } from '../../transport/known-hosts.js';

interface Contact {
  host: string;
  ip: string;
  pinned: 'new' | 'kept';
  line?: string;
  /** The presented key (base64 blob) and its type, for a key not pinned yet. */
  key?: { type: string; blob: string };
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
            const type = keyBlobType(key) ?? 'unknown';
            result = {
              host,
              ip,
              pinned: 'new',
              line: knownHostsLine(ip, 22, type, key.toString('base64')),
              key: { type, blob: key.toString('base64') },
            };
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
  /** Pin keys not pinned yet after printing their fingerprints (the operator checked them). */
  acceptNewHostKeys?: boolean;
  /** A known_hosts file the operator trusts: keys not pinned yet must match it. */
  knownHostsFile?: string;
}

export async function provisionBare(spec: BareClusterSpec): Promise<string> {
  const { knownHosts } = spec;
  const opts = spec;
  let vouched: ReturnType<typeof parseKnownHosts> = [];
  if (opts.knownHostsFile !== undefined) {
    try {
      vouched = parseKnownHosts(readFileSync(opts.knownHostsFile, 'utf8'));
    } catch (e) {
      throw new UsageError(`--known-hosts ${opts.knownHostsFile}: ${(e as Error).message}`, {
        hint: 'give a readable known_hosts file (for example one written by ssh-keyscan and checked out of band)',
      });
    }
  }
  const privateKey = (await readPrivateIfExists(spec.privateKeyFile)) ?? readFileSync(spec.privateKeyFile, 'utf8');
  const results = await Promise.allSettled(spec.hosts.map((h) => contact(h.name, h.ip, knownHosts, privateKey)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failures.length) {
    const first = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    if (first.reason instanceof RefusedError && failures.length === 1) throw first.reason;
    throw new RuntimeError(`provision failed on ${failures.length} host(s):\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  }
  const contacts = results.map((r) => (r as PromiseFulfilledResult<Contact>).value);
  const fresh = contacts.filter((c) => c.line && c.key);
  const describe = (c: Contact) => `${c.host} (${c.ip}): ${c.key!.type} ${fingerprint(c.key!.blob)}`;
  // Each new key must be vouched for: by the supplied file, or by the operator's explicit yes.
  const mismatched: string[] = [];
  const unverified: Contact[] = [];
  for (const c of fresh) {
    const inFile = pinnedKeys(vouched, c.ip, 22);
    if (inFile.keys.length || inFile.revoked.length) {
      const verdict = checkHostKey(inFile, Buffer.from(c.key!.blob, 'base64'));
      if (!verdict.ok) mismatched.push(`${describe(c)}, which ${opts.knownHostsFile} does not list for ${c.ip}`);
    } else if (!opts.acceptNewHostKeys) unverified.push(c);
  }
  if (mismatched.length) {
    throw new RefusedError(`host keys differ from ${opts.knownHostsFile}; nothing was pinned`, mismatched, {
      where: 'provision',
      hint: 'someone may be intercepting the connection, or the file is out of date: check the keys on the hosts themselves',
    });
  }
  if (unverified.length) {
    throw new RefusedError(
      `${unverified.length} host(s) presented a host key pgha has not pinned yet; nothing was pinned`,
      unverified.map(describe),
      {
        where: 'provision',
        hint:
          'compare these fingerprints with the hosts themselves (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on each), ' +
          'then run `pgha provision DIR --accept-new-host-keys`; or pass `--known-hosts FILE` with keys you trust',
      },
    );
  }
  if (fresh.length) {
    mkdirSync(dirname(knownHosts), { recursive: true, mode: 0o700 });
    appendFileSync(knownHosts, fresh.map((c) => `${c.line}\n`).join(''), { mode: 0o644 });
  }
  return [
    `reached ${contacts.length} hosts:`,
    ...contacts.map(
      (c) =>
        `  ${c.host.padEnd(10)} ${c.ip.padEnd(15)} host key ${c.pinned === 'new' ? `pinned (${c.key!.type} ${fingerprint(c.key!.blob)})` : 'matches the pinned one'}`,
    ),
  ].join('\n');
}
