import { describe, expect, it } from 'vitest';
import {
  deriveKey,
  isSealed,
  newDescriptor,
  newKdfParams,
  openSealed,
  parseDescriptor,
  formatDescriptor,
  parseSealed,
  seal,
  VaultCryptoError,
  verifyDescriptor,
  type KdfParams,
} from '../../src/pki/vault-crypto.js';

// A cheap KDF keeps these tests fast; the format and the checks are the same at any cost.
const kdf: KdfParams = { N: 1024, r: 8, p: 1, salt: Buffer.from('0123456789abcdef') };
const key = deriveKey('correct horse', kdf);
const keyOf = (password: string) => (k: KdfParams) => deriveKey(password, k);

function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VaultCryptoError) return e.reason;
    throw e;
  }
  return 'none';
}

/** `text` with one character of line `line` (0 header, 1 body) at `at` replaced by another of the same alphabet. */
function flip(text: string, line: number, at: number): string {
  const lines = text.split('\n');
  const l = lines[line]!;
  const i = at < 0 ? l.length + at : at;
  lines[line] = l.slice(0, i) + (l[i] === 'A' ? 'B' : 'A') + l.slice(i + 1);
  return lines.join('\n');
}

describe('vault format', () => {
  it('round-trips any text, a PEM and a password alike', () => {
    for (const plain of [
      'lhcUzpFP8suMCkAt86GWwRL9I76JUPrL',
      '-----BEGIN PRIVATE KEY-----\nMII…\n-----END PRIVATE KEY-----\n',
      'x\'y"z: w#q é 😀',
      '',
    ]) {
      const sealed = seal(plain, key, kdf);
      expect(isSealed(sealed)).toBe(true);
      expect(sealed).not.toContain(plain || '\u0000');
      expect(openSealed(sealed, keyOf('correct horse'))).toBe(plain);
    }
  });

  it('writes a header naming the cipher, the KDF and its parameters, then one base64 line', () => {
    const sealed = seal('secret value here', key, kdf);
    expect(sealed).toMatch(
      /^\$PGHA_VAULT;1;AES256GCM;scrypt;N=1024;r=8;p=1;salt=[A-Za-z0-9+/=]+;iv=[A-Za-z0-9+/=]{16}\n[A-Za-z0-9+/=]+\n$/,
    );
    // A fresh IV each time: the same secret sealed twice gives two different files.
    expect(seal('secret value here', key, kdf)).not.toBe(sealed);
  });

  it('refuses a wrong password as an authentication failure', () => {
    expect(failure(() => openSealed(seal('pw', key, kdf), keyOf('wrong horse')))).toBe('auth');
  });

  it('refuses a tampered ciphertext or tag', () => {
    const sealed = seal('a password of thirty-two chars..', key, kdf);
    expect(failure(() => openSealed(flip(sealed, 1, 2), keyOf('correct horse')))).toBe('auth');
    expect(failure(() => openSealed(flip(sealed, 1, -4), keyOf('correct horse')))).toBe('auth');
  });

  it('authenticates the header: a changed IV, salt or cost fails the tag check', () => {
    const sealed = seal('a password of thirty-two chars..', key, kdf);
    const header = sealed.split('\n')[0]!;
    const ivAt = header.indexOf(';iv=') + 5;
    expect(failure(() => openSealed(flip(sealed, 0, ivAt), keyOf('correct horse')))).toBe('auth');
    const saltAt = header.indexOf(';salt=') + 7;
    expect(failure(() => openSealed(flip(sealed, 0, saltAt), keyOf('correct horse')))).toBe('auth');
    // The same key handed in whatever the header says: only the AAD can notice the edit.
    expect(failure(() => openSealed(sealed.replace(';N=1024;', ';N=2048;'), () => key))).toBe('auth');
    expect(failure(() => openSealed(sealed.replace(';p=1;', ';p=2;'), () => key))).toBe('auth');
  });

  it('refuses costs an altered header could use to exhaust memory, before deriving anything', () => {
    const sealed = seal('pw', key, kdf);
    let derived = false;
    const spy = () => {
      derived = true;
      return key;
    };
    expect(failure(() => openSealed(sealed.replace(';N=1024;', `;N=${2 ** 24};`), spy))).toBe('unsupported');
    expect(failure(() => openSealed(sealed.replace(';N=1024;', ';N=1000;'), spy))).toBe('unsupported');
    expect(failure(() => openSealed(sealed.replace(';r=8;', ';r=4096;'), spy))).toBe('unsupported');
    expect(derived).toBe(false);
  });

  it('refuses damaged files and another format version', () => {
    const sealed = seal('pw', key, kdf);
    expect(failure(() => parseSealed(sealed.split('\n')[0]!))).toBe('malformed');
    expect(failure(() => parseSealed(`${sealed}extra\n`))).toBe('malformed');
    expect(failure(() => parseSealed(sealed.replace('$PGHA_VAULT;1;', '$PGHA_VAULT;2;')))).toBe('unsupported');
    expect(failure(() => parseSealed('plain text'))).toBe('malformed');
  });

  it('derives a fresh salt per vault and a different key per password', () => {
    expect(newKdfParams().salt.equals(newKdfParams().salt)).toBe(false);
    expect(deriveKey('a', kdf).equals(deriveKey('b', kdf))).toBe(false);
    expect(deriveKey('a', kdf)).toHaveLength(32);
  });

  it('a descriptor checks the password before anything is sealed with it', () => {
    const { descriptor, key: k } = newDescriptor('vault pass');
    const parsed = parseDescriptor(formatDescriptor(descriptor));
    expect(parsed.kdf.salt.equals(descriptor.kdf.salt)).toBe(true);
    expect(verifyDescriptor(parsed, keyOf('vault pass')).equals(k)).toBe(true);
    expect(failure(() => verifyDescriptor(parsed, keyOf('other pass')))).toBe('auth');
  });
});
