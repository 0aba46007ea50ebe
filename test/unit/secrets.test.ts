import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  ensureSecrets,
  generatePassword,
  loadSecrets,
  PASSWORD_ALPHABET,
  readSecret,
  REDACTED,
  Redactor,
  userSecretName,
} from '../../src/secrets/index.js';

describe('generatePassword', () => {
  it('is 32 alphanumerics by default', () => {
    expect(generatePassword()).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('has the requested length and only safe characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 24, max: 200 }), (len) => {
        const p = generatePassword(len);
        expect(p).toHaveLength(len);
        expect(p).toMatch(/^[A-Za-z0-9]+$/);
      }),
    );
  });

  it('refuses short lengths', () => {
    expect(() => generatePassword(23)).toThrow(RangeError);
    expect(() => generatePassword(24.5)).toThrow(RangeError);
  });

  it('does not repeat itself', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => generatePassword()));
    expect(seen.size).toBe(2000);
  });

  it('uses every symbol and skips biased bytes', () => {
    // 248..255 would bias toward the first 8 symbols if taken modulo 62: they must be skipped
    // (0 -> A, 61 -> 9, 62 -> A, 247 -> 9).
    const biased = () => new Uint8Array([248, 249, 255, 0, 61, 62, 247]);
    expect(generatePassword(24, biased)).toBe('A9A9'.repeat(6));
    const all = new Set(Array.from({ length: 200 }, () => generatePassword()).join(''));
    expect([...all].sort().join('')).toBe([...PASSWORD_ALPHABET].sort().join(''));
  });
});

describe('Redactor', () => {
  it('masks every occurrence of every value', () => {
    const r = new Redactor(['s3cret', 'hunter2']);
    expect(r.redact('a=s3cret b=hunter2 c=s3cret')).toBe(`a=${REDACTED} b=${REDACTED} c=${REDACTED}`);
    expect(r.redact('nothing here')).toBe('nothing here');
  });

  it('masks the longer of nested values whole', () => {
    const r = new Redactor(['abc', 'abcdef']);
    expect(r.redact('x abcdef y abc z')).toBe(`x ${REDACTED} y ${REDACTED} z`);
  });

  it('leaves no fragment of overlapping values', () => {
    const r = new Redactor(['abcdef', 'defghi']);
    expect(r.redact('<abcdefghi>')).toBe(`<${REDACTED}>`);
    expect(new Redactor(['aba']).redact('ababa')).toBe(REDACTED);
  });

  it('ignores empty values', () => {
    expect(new Redactor(['', 'x1']).redact('ax1b')).toBe(`a${REDACTED}b`);
    expect(new Redactor([]).redact('abc')).toBe('abc');
  });

  it('never lets a secret through, whatever surrounds it', () => {
    const secret = fc.string({ minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(fc.array(secret, { minLength: 1, maxLength: 4 }), fc.array(fc.string({ maxLength: 10 })), (secrets, filler) => {
        fc.pre(secrets.every((s) => !REDACTED.includes(s) && !s.includes('*')));
        const text = filler.flatMap((f, i) => [f, secrets[i % secrets.length]!]).join('') + secrets.join('|');
        const out = new Redactor(secrets).redact(text);
        for (const s of secrets) expect(out).not.toContain(s);
      }),
    );
  });
});

describe('userSecretName', () => {
  const vars = { patroni_super_user: 'dba', patroni_etcd_user: 42 };

  it('names the file after the user the variable names', () => {
    expect(userSecretName(vars, 'patroni_super_user')).toBe('dba');
  });

  it('rejects user names that are not safe file names, naming the variable', () => {
    expect(() => userSecretName({ patroni_super_user: '../x' }, 'patroni_super_user')).toThrow(UsageError);
    expect(() => userSecretName(vars, 'patroni_etcd_user')).toThrow(/patroni_etcd_user/);
    expect(() => userSecretName(vars, 'pgbouncer_auth_user')).toThrow(/pgbouncer_auth_user must be a user name, got nothing/);
  });
});

describe('ensureSecrets / readSecret', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgha-secrets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const mode = async (p: string) => (await stat(join(dir, p))).mode & 0o777;

  it('creates one private file per name, whatever the umask', async () => {
    const old = process.umask(0);
    let store;
    try {
      store = await ensureSecrets(dir, ['postgres', 'replicator', 'etcd_root']);
    } finally {
      process.umask(old);
    }
    expect(store.names()).toEqual(['etcd_root', 'postgres', 'replicator']);
    expect(await mode('secrets')).toBe(0o700);
    for (const n of store.names()) {
      expect(await mode(`secrets/${n}`)).toBe(0o600);
      expect(await readFile(join(dir, 'secrets', n), 'utf8')).toBe(store.get(n));
      expect(store.get(n)).toMatch(/^[A-Za-z0-9]{32}$/);
    }
    expect(new Set(store.names().map((n) => store.get(n))).size).toBe(3);
    expect(store.redact(`pw=${store.get('postgres')}`)).toBe(`pw=${REDACTED}`);
  });

  it('keeps existing secrets, including hand-written ones with a trailing newline', async () => {
    const first = await ensureSecrets(dir, ['postgres']);
    await writeFile(join(dir, 'secrets', 'rewind'), 'my own password\n');
    await chmod(join(dir, 'secrets', 'rewind'), 0o644);
    const second = await ensureSecrets(dir, ['postgres', 'rewind', 'patroni']);
    expect(second.get('postgres')).toBe(first.get('postgres'));
    expect(second.get('rewind')).toBe('my own password');
    expect(await mode('secrets/rewind')).toBe(0o600);
    expect(await readSecret(dir, 'rewind')).toBe('my own password');
    expect(second.redact('x my own password y')).toBe(`x ${REDACTED} y`);
  });

  it('redacts secrets of users no longer asked for', async () => {
    const old = await ensureSecrets(dir, ['olduser']);
    const store = await ensureSecrets(dir, ['postgres']);
    expect(store.redact(old.get('olduser'))).toBe(REDACTED);
    expect((await loadSecrets(dir)).names()).toEqual(['olduser', 'postgres']);
  });

  it('names the file and the alternatives when a secret is missing', async () => {
    await ensureSecrets(dir, ['postgres', 'replicator']);
    const err = await readSecret(dir, 'patroni').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toContain(join(dir, 'secrets', 'patroni'));
    expect((err as Error).message).toContain('available: postgres, replicator');
    const store = await loadSecrets(dir);
    expect(() => store.get('patroni')).toThrow(/available: postgres, replicator/);
    await expect(readSecret(join(dir, 'none'), 'postgres')).rejects.toThrow(/available: none/);
  });

  it('rejects traversal, empty and multi-line secrets', async () => {
    await expect(ensureSecrets(dir, ['../etc/passwd'])).rejects.toThrow(UsageError);
    await expect(readSecret(dir, '../x')).rejects.toThrow(UsageError);
    await ensureSecrets(dir, []);
    await writeFile(join(dir, 'secrets', 'postgres'), '');
    await expect(readSecret(dir, 'postgres')).rejects.toThrow(/is empty/);
    await writeFile(join(dir, 'secrets', 'postgres'), 'a\nb\n');
    await expect(ensureSecrets(dir, ['postgres'])).rejects.toThrow(/more than one line/);
    await writeFile(join(dir, 'secrets', 'postgres'), 'abc\u2028defghijklmn\n');
    await expect(ensureSecrets(dir, ['postgres'])).rejects.toThrow(/line or paragraph separator/);
    // A one-character password is weak, and masking it by value would blank that character everywhere.
    await writeFile(join(dir, 'secrets', 'postgres'), 'x\n');
    await expect(readSecret(dir, 'postgres')).rejects.toThrow(/password of 1 characters; pgha needs at least 12/);
  });
});
