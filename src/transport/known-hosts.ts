import { createHash, createHmac } from 'node:crypto';
import type { ServerHostKeyAlgorithm } from 'ssh2';

/**
 * Pinned host keys, OpenSSH known_hosts syntax. pgha writes plain `<ip> <type> <base64>` lines;
 * the rest (several names per line, `[ip]:port`, hashed names, `@revoked`, wildcards) is read too
 * so that a file an operator maintains with ssh-keyscan or ssh itself also works.
 */
export interface KnownHostEntry {
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  patterns: string[];
  type: string;
  /** The key blob exactly as in the file (base64 of the SSH wire encoding). */
  key: string;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [hosts, type, key] = fields;
    // A malformed line cannot pin anything; OpenSSH skips it too.
    if (!hosts || !type || !key) return;
    out.push({ line: i + 1, marker, patterns: hosts.split(','), type, key });
  });
  return out;
}

/** `ip` for port 22, `[ip]:port` otherwise: how OpenSSH names a host in known_hosts. */
export function knownHostsName(ip: string, port = 22): string {
  return port === 22 ? ip : `[${ip}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return h === hash;
  }
  return globMatch(pattern, name);
}

/** Whether an entry's host list names `name` (a negated pattern that matches excludes it). */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  let hit = false;
  for (const p of entry.patterns) {
    if (p.startsWith('!')) {
      if (patternMatches(p.slice(1), name)) return false;
    } else if (patternMatches(p, name)) hit = true;
  }
  return hit;
}

export interface PinnedKeys {
  /** Keys the host may present. */
  keys: { type: string; key: string }[];
  /** Keys that must be refused even if also listed as pinned. */
  revoked: string[];
}

/** Keys pinned for a host known by any of `names` (its address, its inventory name). */
export function pinnedKeys(entries: KnownHostEntry[], names: string | readonly string[], port = 22): PinnedKeys {
  const wanted = (typeof names === 'string' ? [names] : names).map((n) => knownHostsName(n, port));
  const keys: PinnedKeys['keys'] = [];
  const revoked: string[] = [];
  for (const e of entries) {
    if (!wanted.some((n) => entryMatches(e, n))) continue;
    if (e.marker === 'revoked') revoked.push(e.key);
    // Host certificates are not used by pgha; their CA lines pin nothing.
    else if (e.marker === undefined) keys.push({ type: e.type, key: e.key });
  }
  return { keys, revoked };
}

const SUPPORTED: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  // An RSA key blob always says ssh-rsa; the signature algorithm is negotiated separately.
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * Host key algorithms to offer so the server presents a key of a pinned type (a server with
 * ed25519 and rsa keys would otherwise pick by our preference, not by what we pinned). Types the
 * SSH library cannot verify (security keys, certificates) are left out.
 */
export function hostKeyAlgorithms(types: readonly string[]): ServerHostKeyAlgorithm[] {
  const out: ServerHostKeyAlgorithm[] = [];
  for (const t of types) {
    for (const a of SUPPORTED[t] ?? []) if (!out.includes(a)) out.push(a);
  }
  return out;
}

/** The type name inside an SSH public key blob (its first length-prefixed string). */
export function keyBlobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n > 64 || blob.length < 4 + n) return undefined;
  return blob.subarray(4, 4 + n).toString('latin1');
}

export type HostKeyVerdict =
  { ok: true } | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; presentedType: string; presented: string };

/** Compares the key a server presented with what is pinned for it. */
export function checkHostKey(pinned: PinnedKeys, blob: Buffer): HostKeyVerdict {
  const presented = blob.toString('base64');
  const presentedType = keyBlobType(blob) ?? 'unknown';
  if (pinned.revoked.includes(presented)) return { ok: false, reason: 'revoked', presentedType, presented };
  if (pinned.keys.some((k) => k.key === presented)) return { ok: true };
  return { ok: false, reason: pinned.keys.length === 0 ? 'unknown' : 'changed', presentedType, presented };
}

/** A line to pin a key, in the format pgha writes. */
export function knownHostsLine(ip: string, port: number, type: string, key: string): string {
  return `${knownHostsName(ip, port)} ${type} ${key}`;
}

/** OpenSSH's fingerprint of a key blob (`SHA256:…`, as `ssh-keygen -lf` prints it). */
export function fingerprint(keyBase64: string): string {
  const digest = createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}
