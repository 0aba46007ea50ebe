/**
 * The cluster's SSH key, DIR/ssh/id_pgha (docs/architecture.md#the-cluster-directory): what pgha
 * logs in with and what `provision` puts into authorized_keys.
 *
 * Ed25519 in OpenSSH's own formats (`openssh-key-v1` private key, `ssh-ed25519 AAAA…` public
 * line), generated and read by ssh2, the SSH library pgha connects with. ssh2 is imported on
 * first use rather than when this module loads, so the commands that only read config.yml
 * (explain; status when its cache misses) do not pay for loading it.
 */
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { enforceMode, ensurePrivateDir, readIfExists, writeFileAtomic } from './files.js';
import { readPrivateIfExists, writePrivate } from './vault.js';

type SshUtils = typeof import('ssh2').utils;

async function sshUtils(): Promise<SshUtils> {
  // ssh2 is CommonJS: its module object is the default export.
  return (await import('ssh2')).default.utils;
}

export interface OpenSshKeyPair {
  privateKeyPem: string;
  /** `ssh-ed25519 AAAA… comment`. */
  publicKeyLine: string;
}

type GenerateEd25519 = (comment: string) => { private: string; public: string };

/** How many fresh pairs to try before giving up; each is bad with p ≈ 1/300 (see below). */
const GENERATE_ATTEMPTS = 8;

/**
 * A new ed25519 pair that ssh2 itself can read back. ssh2 1.17's generator occasionally writes a
 * 31-byte public key (about one pair in 300, measured over 20 000), which its own parser then
 * refuses as "Malformed OpenSSH private key": a cluster provisioned with one could never log in.
 * Every pair is therefore read back, and its public half compared with the public line, before it
 * is kept. `generate` is the seam the unit test uses to hand in a malformed pair.
 */
export async function generateEd25519OpenSsh(comment: string, generate?: GenerateEd25519): Promise<OpenSshKeyPair> {
  const utils = await sshUtils();
  const make = generate ?? ((c: string) => utils.generateKeyPairSync('ed25519', { comment: c }));
  for (let attempt = 1; attempt <= GENERATE_ATTEMPTS; attempt++) {
    const pair = make(comment);
    const publicKeyLine = pair.public.trim();
    const parsed = utils.parseKey(pair.private);
    if (parsed instanceof Error) continue;
    const [type, b64] = publicKeyLine.split(/\s+/);
    if (`${type} ${b64}` !== `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`) continue;
    return { privateKeyPem: pair.private, publicKeyLine };
  }
  throw new Error(`ssh2 generated ${GENERATE_ATTEMPTS} unreadable ed25519 keys in a row`);
}

/**
 * The public half of an SSH private key file, as `type base64`, without comment: OpenSSH keys of
 * any type, and legacy PEM RSA keys (`BEGIN RSA PRIVATE KEY`), which operators may bring their
 * own. Throws on anything ssh2 cannot read, encrypted keys included (pgha could not log in with
 * one either).
 */
export async function publicKeyOfPrivate(pem: string): Promise<string> {
  const parsed = (await sshUtils()).parseKey(pem);
  if (parsed instanceof Error) throw parsed;
  return `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`;
}

export interface SshKeyInfo {
  privateKeyPath: string;
  publicKeyPath: string;
  /** `ssh-ed25519 AAAA… pgha-<cluster>`, ready for authorized_keys. */
  publicKeyLine: string;
  /** False when an existing key was kept. */
  created: boolean;
}

/** The key pair's public line, creating nothing; undefined when DIR/ssh/id_pgha does not exist. */
export async function readSshKey(dir: string, opts: { clusterName?: string } = {}): Promise<SshKeyInfo | undefined> {
  return sshKey(dir, { ...opts, readOnly: true });
}

export async function ensureSshKey(dir: string, opts: { clusterName?: string } = {}): Promise<SshKeyInfo> {
  return (await sshKey(dir, opts))!;
}

async function sshKey(dir: string, opts: { clusterName?: string; readOnly?: boolean }): Promise<SshKeyInfo | undefined> {
  // The comment ends up in authorized_keys, one key per line: keep it to a safe fixed form,
  // whatever the directory is called (a newline would start a key line of its own).
  const comment = `pgha-${opts.clusterName ?? basename(resolve(dir))}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const sshDir = join(dir, 'ssh');
  const privateKeyPath = join(sshDir, 'id_pgha');
  const publicKeyPath = join(sshDir, 'id_pgha.pub');
  if (!opts.readOnly) await ensurePrivateDir(sshDir);

  const existing = await readPrivateIfExists(privateKeyPath);
  if (existing === undefined && opts.readOnly) return undefined;
  if (existing === undefined) {
    const pair = await generateEd25519OpenSsh(comment);
    await writePrivate(dir, privateKeyPath, pair.privateKeyPem);
    await writeFileAtomic(publicKeyPath, `${pair.publicKeyLine}\n`, 0o644);
    return { privateKeyPath, publicKeyPath, publicKeyLine: pair.publicKeyLine, created: true };
  }

  let pubOfPrivate: string;
  try {
    pubOfPrivate = await publicKeyOfPrivate(existing);
  } catch (err) {
    throw new UsageError(`${privateKeyPath} is not a readable SSH private key (${(err as Error).message})`, {
      hint: 'remove id_pgha and id_pgha.pub to generate a new key, then re-run provision so hosts accept it',
    });
  }
  if (!opts.readOnly) await enforceMode(privateKeyPath, 0o600);
  // The private key is the truth; a missing or stale .pub (edited, copied from elsewhere) is rewritten.
  const pubFile = (await readIfExists(publicKeyPath))?.split('\n')[0]?.trim();
  const [type, b64] = (pubFile ?? '').split(/\s+/);
  if (pubFile && `${type} ${b64}` === pubOfPrivate) {
    return { privateKeyPath, publicKeyPath, publicKeyLine: pubFile, created: false };
  }
  const publicKeyLine = `${pubOfPrivate} ${comment}`;
  if (!opts.readOnly) await writeFileAtomic(publicKeyPath, `${publicKeyLine}\n`, 0o644);
  return { privateKeyPath, publicKeyPath, publicKeyLine, created: false };
}
