/**
 * The vault on a cluster directory: encrypt and decrypt convert every secret file and nothing
 * else, byte for byte; re-runs change nothing; a run stopped half way leaves each file whole in
 * its old or new form and a re-run converges; commands read sealed files and write new ones
 * sealed. Built by hand rather than by configure: only the files matter here.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { vaultDecrypt, vaultEncrypt, vaultStatus } from '../../src/app/vault.js';
import { ensureSshKey, readSshKey } from '../../src/pki/sshkey.js';
import { ensureClusterPki, readClusterPki } from '../../src/pki/store.js';
import { decodePrivate, isSealed, setVaultPasswordSource, VaultError } from '../../src/pki/vault.js';
import { ensureSecrets, loadSecrets, readSecret } from '../../src/secrets/index.js';
import { commitStagedSecret, stageSecret } from '../../src/secrets/store.js';
import { tempDirs } from './tempdirs.js';

const temp = tempDirs();
const PASSWORD = 'a vault password';

const SECRET_FILES = ['secrets/postgres', 'secrets/replicator', 'ssl/ca.key', 'ssl/pg1/node.key', 'ssl/clients/pgha.key', 'ssh/id_pgha'];
const PUBLIC_FILES = ['config.yml', 'ssl/ca.crt', 'ssl/pg1/node.crt', 'ssl/clients/pgha.crt', 'ssh/id_pgha.pub', 'ssh/known_hosts'];

function makeDir(): string {
  const dir = join(temp('pgha-vault-'), 'c');
  for (const f of [...SECRET_FILES, ...PUBLIC_FILES]) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), `content of ${f}\n${'x'.repeat(40)}\n`, { mode: 0o600 });
  }
  writeFileSync(join(dir, 'secrets/postgres'), 'lhcUzpFP8suMCkAt86GWwRL9I76JUPrL', { mode: 0o600 });
  writeFileSync(join(dir, 'secrets/replicator'), 'Qm4bT0yA9uQxW2eR7tY1uI3oP5aS8dF6\n', { mode: 0o600 });
  return dir;
}

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

function thrown(f: () => Promise<unknown>): Promise<unknown> {
  return f().then(
    () => undefined,
    (e: unknown) => e,
  );
}

beforeEach(() => setVaultPasswordSource({ env: PASSWORD }));

describe('pgha vault encrypt / decrypt', () => {
  it('seals exactly the secret files, and decrypt restores every byte', async () => {
    const dir = makeDir();
    const before = snapshot(dir);
    const run = await vaultEncrypt(dir);
    expect(run.changed).toEqual([...SECRET_FILES].sort());
    const sealed = snapshot(dir);
    for (const f of SECRET_FILES) {
      expect(isSealed(sealed.get(f)!), f).toBe(true);
      expect(sealed.get(f)).not.toContain(before.get(f)!.slice(0, 20));
      expect((statSync(join(dir, f)).mode & 0o777).toString(8)).toBe('600');
    }
    for (const f of PUBLIC_FILES) expect(sealed.get(f), f).toBe(before.get(f));
    expect(existsSync(join(dir, 'vault'))).toBe(true);
    expect(await vaultStatus(dir)).toMatch(/^vault: on[^\n]*\nencrypted {2}secrets\/postgres/m);

    await vaultDecrypt(dir);
    const after = snapshot(dir);
    expect(after).toEqual(before);
    expect(await vaultStatus(dir)).toMatch(/^vault: off\n/);
  });

  it('is idempotent: a second encrypt or decrypt changes nothing', async () => {
    const dir = makeDir();
    await vaultEncrypt(dir);
    const once = snapshot(dir);
    const again = await vaultEncrypt(dir);
    expect(again.changed).toEqual([]);
    expect(again.unchanged).toHaveLength(SECRET_FILES.length);
    expect(snapshot(dir)).toEqual(once);
    await vaultDecrypt(dir);
    const plain = snapshot(dir);
    expect((await vaultDecrypt(dir)).changed).toEqual([]);
    expect(snapshot(dir)).toEqual(plain);
  });

  it('a run stopped half way leaves each file whole, readable, and a re-run converges', async () => {
    const dir = makeDir();
    const before = snapshot(dir);
    let n = 0;
    const stopAfter = (k: number) => () => {
      if (++n === k) throw new Error('killed');
    };
    await expect(vaultEncrypt(dir, stopAfter(3))).rejects.toThrow('killed');
    const half = snapshot(dir);
    const states = SECRET_FILES.map((f) => isSealed(half.get(f)!));
    expect(states.filter(Boolean)).toHaveLength(3);
    // Every file reads as it was, sealed or not; no temporary file is left as a secret.
    for (const f of SECRET_FILES) expect(decodePrivate(f, half.get(f)!)).toBe(before.get(f));
    expect([...half.keys()].filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect((await vaultEncrypt(dir)).changed).toHaveLength(SECRET_FILES.length - 3);

    n = 0;
    await expect(vaultDecrypt(dir, stopAfter(2))).rejects.toThrow('killed');
    // Still in vault mode until the last file is opened.
    expect(existsSync(join(dir, 'vault'))).toBe(true);
    await vaultDecrypt(dir);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a wrong password against the vault before converting anything', async () => {
    const dir = makeDir();
    await vaultEncrypt(dir);
    const sealed = snapshot(dir);
    setVaultPasswordSource({ env: 'not the password' });
    const e = await thrown(() => vaultDecrypt(dir));
    expect(e).toBeInstanceOf(VaultError);
    expect((e as VaultError).message).toMatch(/vault: cannot be decrypted .*PGHA_VAULT_PASSWORD: wrong password/);
    expect((e as VaultError).exitCode).toBe(2);
    expect(await thrown(() => vaultEncrypt(dir))).toBeInstanceOf(VaultError);
    expect(snapshot(dir)).toEqual(sealed);
  });

  it('without a password: names the file and both sources', async () => {
    const dir = makeDir();
    await vaultEncrypt(dir);
    setVaultPasswordSource({});
    const e = (await thrown(() => readSecret(dir, 'postgres'))) as VaultError;
    expect(e).toBeInstanceOf(VaultError);
    expect(e.message).toContain(`${join(dir, 'secrets', 'postgres')} is encrypted and no vault password was given`);
    expect(e.hint).toMatch(/--vault-password-file FILE.*PGHA_VAULT_PASSWORD/);
    expect(((await thrown(() => vaultEncrypt(makeDir()))) as VaultError).message).toMatch(/encrypting .* needs a vault password/);
  });

  it('reads the password from --vault-password-file (first line), and names an unreadable file', async () => {
    const dir = makeDir();
    await vaultEncrypt(dir);
    const pw = join(dir, '..', 'pw');
    writeFileSync(pw, `${PASSWORD}\nsecond line ignored\n`);
    setVaultPasswordSource({ file: pw, env: 'the file wins' });
    expect(await readSecret(dir, 'postgres')).toBe('lhcUzpFP8suMCkAt86GWwRL9I76JUPrL');
    setVaultPasswordSource({ file: join(dir, 'nope') });
    expect(((await thrown(() => readSecret(dir, 'postgres'))) as VaultError).message).toMatch(
      /--vault-password-file .*nope: cannot be read/,
    );
  });
});

describe('commands on a directory in vault mode', () => {
  it('read sealed passwords (show-password, loadSecrets) and write new ones sealed (deploy, rotate-passwords)', async () => {
    const dir = makeDir();
    await vaultEncrypt(dir);
    expect(await readSecret(dir, 'postgres')).toBe('lhcUzpFP8suMCkAt86GWwRL9I76JUPrL');
    // A generated password (a new user), sealed on disk, plain to its readers.
    const store = await ensureSecrets(dir, ['postgres', 'rewind']);
    expect(isSealed(readFileSync(join(dir, 'secrets', 'rewind'), 'utf8'))).toBe(true);
    expect(store.get('rewind')).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await loadSecrets(dir)).get('postgres')).toBe('lhcUzpFP8suMCkAt86GWwRL9I76JUPrL');
    // rotate-passwords stages, then renames: sealed both while staged and once committed.
    const fresh = await stageSecret(dir, 'replicator');
    expect(isSealed(readFileSync(join(dir, 'secrets', '.rotate', 'replicator'), 'utf8'))).toBe(true);
    await commitStagedSecret(dir, 'replicator');
    expect(isSealed(readFileSync(join(dir, 'secrets', 'replicator'), 'utf8'))).toBe(true);
    expect(await readSecret(dir, 'replicator')).toBe(fresh);
    // Masking works on the plaintext, never on the sealed text.
    expect(store.redact(`password: ${store.get('rewind')}`)).toBe('password: ********');
  });

  it('a new SSH key is written sealed and read back', async () => {
    const dir = join(temp('pgha-vault-ssh-'), 'c');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.yml'), 'x');
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets', 'postgres'), 'lhcUzpFP8suMCkAt86GWwRL9I76JUPrL');
    await vaultEncrypt(dir);
    const made = await ensureSshKey(dir);
    expect(isSealed(readFileSync(join(dir, 'ssh', 'id_pgha'), 'utf8'))).toBe(true);
    expect(readFileSync(join(dir, 'ssh', 'id_pgha.pub'), 'utf8')).toMatch(/^ssh-ed25519 /);
    expect((await readSshKey(dir))?.publicKeyLine).toBe(made.publicKeyLine);
  });

  it('new keys and certificates (deploy, configure) are written with the keys sealed, and read back plain', async () => {
    const dir = makeDir();
    for (const f of ['ssl/ca.key', 'ssl/ca.crt', 'ssl/pg1/node.key', 'ssl/pg1/node.crt', 'ssl/clients/pgha.key', 'ssl/clients/pgha.crt']) {
      rmSync(join(dir, f));
    }
    await vaultEncrypt(dir);
    await ensureClusterPki(dir, [{ name: 'pg1', ip: '10.0.0.1' }], { clients: ['pgha'] });
    for (const f of ['ssl/ca.key', 'ssl/pg1/node.key', 'ssl/clients/pgha.key'])
      expect(isSealed(readFileSync(join(dir, f), 'utf8')), f).toBe(true);
    expect(readFileSync(join(dir, 'ssl/pg1/node.crt'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const pki = await readClusterPki(dir);
    expect(pki.nodes['pg1']?.key).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----/);
    expect(pki.clients['pgha']?.key).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----/);
    // A second run keeps every key: opening the sealed CA key and node key works.
    const again = await ensureClusterPki(dir, [{ name: 'pg1', ip: '10.0.0.1' }], { clients: ['pgha'] });
    expect(again.created).toEqual([]);
    expect(again.reissued).toEqual([]);
  });

  it('plain mode, the default, writes plain files and needs no password', async () => {
    setVaultPasswordSource({});
    const dir = makeDir();
    await ensureSecrets(dir, ['rewind']);
    expect(readFileSync(join(dir, 'secrets', 'rewind'), 'utf8')).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(await readSecret(dir, 'postgres')).toBe('lhcUzpFP8suMCkAt86GWwRL9I76JUPrL');
  });
});
