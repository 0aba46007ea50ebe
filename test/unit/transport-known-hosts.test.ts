import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  hostKeyAlgorithms,
  keyBlobType,
  knownHostsLine,
  parseKnownHosts,
  pinnedKeys,
} from '../../src/transport/known-hosts.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const b = Buffer.from(body);
  const len = (n: number) => {
    const x = Buffer.alloc(4);
    x.writeUInt32BE(n);
    return x;
  };
  return Buffer.concat([len(t.length), t, len(b.length), b]);
}

const K1 = blob('ssh-ed25519', 'key-one-32-bytes-xxxxxxxxxxxxxxx');
const K2 = blob('ssh-ed25519', 'key-two-32-bytes-xxxxxxxxxxxxxxx');
const R1 = blob('ssh-rsa', 'rsa-key');

function hashed(name: string): string {
  const salt = Buffer.from('0123456789abcdefghij');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  const text = [
    '# pinned by pgha provision',
    '',
    knownHostsLine('10.0.0.1', 22, 'ssh-ed25519', K1.toString('base64')),
    `10.0.0.2,pg2 ssh-rsa ${R1.toString('base64')} comment here`,
    `[10.0.0.3]:2222 ssh-ed25519 ${K1.toString('base64')}`,
    `${hashed('10.0.0.4')} ssh-ed25519 ${K2.toString('base64')}`,
    `@revoked 10.0.0.5 ssh-ed25519 ${K1.toString('base64')}`,
    `10.0.0.5 ssh-ed25519 ${K1.toString('base64')}`,
    `10.0.1.* ssh-ed25519 ${K2.toString('base64')}`,
    `10.0.2.*,!10.0.2.9 ssh-ed25519 ${K2.toString('base64')}`,
    `@cert-authority * ssh-ed25519 ${K2.toString('base64')}`,
    'garbage-line-with-one-field',
  ].join('\n');
  const entries = parseKnownHosts(text);

  it('parses entries and skips comments and malformed lines', () => {
    expect(entries).toHaveLength(9);
    expect(entries[0]).toMatchObject({ line: 3, patterns: ['10.0.0.1'], type: 'ssh-ed25519', marker: undefined });
    expect(entries[1]?.patterns).toEqual(['10.0.0.2', 'pg2']);
  });

  it('accepts the pinned key and refuses another (changed) or none (unknown)', () => {
    const p = pinnedKeys(entries, '10.0.0.1');
    expect(checkHostKey(p, K1)).toEqual({ ok: true });
    expect(checkHostKey(p, K2)).toMatchObject({ ok: false, reason: 'changed', presentedType: 'ssh-ed25519' });
    expect(checkHostKey(pinnedKeys(entries, '10.9.9.9'), K1)).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it('matches a host by address or by name', () => {
    expect(pinnedKeys(entries, ['10.9.9.9', 'pg2']).keys).toEqual([{ type: 'ssh-rsa', key: R1.toString('base64') }]);
  });

  it('matches ports the way OpenSSH writes them', () => {
    expect(pinnedKeys(entries, '10.0.0.3', 2222).keys).toHaveLength(1);
    expect(pinnedKeys(entries, '10.0.0.3').keys).toHaveLength(0);
    expect(pinnedKeys(entries, '10.0.0.1', 2222).keys).toHaveLength(0);
  });

  it('matches hashed names, wildcards and negations', () => {
    expect(checkHostKey(pinnedKeys(entries, '10.0.0.4'), K2)).toEqual({ ok: true });
    expect(checkHostKey(pinnedKeys(entries, '10.0.1.7'), K2)).toEqual({ ok: true });
    expect(pinnedKeys(entries, '10.0.2.9').keys).toHaveLength(0);
    expect(pinnedKeys(entries, '10.0.2.8').keys).toHaveLength(1);
  });

  it('refuses a revoked key even if it is also pinned', () => {
    expect(checkHostKey(pinnedKeys(entries, '10.0.0.5'), K1)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('ignores @cert-authority lines', () => {
    expect(pinnedKeys(entries, '10.7.7.7').keys).toHaveLength(0);
  });

  it('offers only the pinned key types', () => {
    expect(hostKeyAlgorithms(['ssh-ed25519'])).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com'])).toEqual([]);
    expect(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519', 'ssh-rsa'])).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
  });

  it('reads the type from a key blob', () => {
    expect(keyBlobType(R1)).toBe('ssh-rsa');
    expect(keyBlobType(Buffer.from([0, 0]))).toBeUndefined();
  });
});
