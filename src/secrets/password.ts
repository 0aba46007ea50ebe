import { randomBytes } from 'node:crypto';

/**
 * Alphanumerics only: a password ends up in YAML (patroni.yml), pgbouncer's userlist/ini files,
 * postgres:// URIs, etcd's and HAProxy's configs and shell environments. Any punctuation is special
 * in at least one of those, and each escaping rule is a bug waiting to happen. 62 symbols cost a
 * few extra characters for the same entropy: 32 of them carry ~190 bits.
 */
export const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const MIN_PASSWORD_LENGTH = 24;

export function generatePassword(len = 32, random: (n: number) => Uint8Array = randomBytes): string {
  if (!Number.isInteger(len) || len < MIN_PASSWORD_LENGTH) {
    throw new RangeError(`password length must be an integer of at least ${MIN_PASSWORD_LENGTH}, got ${len}`);
  }
  const n = PASSWORD_ALPHABET.length;
  // Bytes at or above the largest multiple of 62 are dropped so every symbol is equally likely.
  const limit = 256 - (256 % n);
  let out = '';
  while (out.length < len) {
    for (const b of random(len * 2)) {
      if (b < limit) out += PASSWORD_ALPHABET[b % n];
      if (out.length === len) break;
    }
  }
  return out;
}
