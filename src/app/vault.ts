/**
 * `pgha vault encrypt|decrypt|status DIR`: turns the vault mode of a cluster directory on or off
 * (docs/architecture.md#the-cluster-directory). Which files of DIR are secret is decided here; how
 * one file is sealed or opened, in src/pki/vault.ts.
 *
 * Each file is converted on its own by a temporary file and a rename, so a run stopped half way
 * leaves every file either in its old or its new form, both of which every command reads; running
 * the command again converges. DIR/vault is written before the first file is sealed (files written
 * meanwhile by other commands are sealed too) and removed only after the last is opened.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { UsageError } from '../errors.js';
import { readIfExists } from '../pki/files.js';
import { convertPrivate, descriptorPath, enableVault, isSealed, vaultWriteKey } from '../pki/vault.js';
import { SECRET_NAME_RE } from '../secrets/store.js';
import { clusterPaths } from './cluster-paths.js';

async function entries(path: string): Promise<{ name: string; file: boolean; dir: boolean }[]> {
  try {
    return (await readdir(path, { withFileTypes: true })).map((e) => ({ name: e.name, file: e.isFile(), dir: e.isDirectory() }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Every secret file of DIR, sorted: the passwords (and staged ones of an interrupted rotation),
 * the CA's (both CAs' during a CA rotation), nodes' and clients' private keys, and the SSH private key. Certificates and public
 * keys stay plain: hosts and operators read them, and they tell nothing.
 */
export async function secretFiles(dir: string): Promise<string[]> {
  const p = clusterPaths(dir);
  const files: string[] = [];
  const secretsIn = async (d: string) => {
    for (const e of await entries(d)) if (e.file && SECRET_NAME_RE.test(e.name)) files.push(join(d, e.name));
  };
  await secretsIn(p.secrets);
  await secretsIn(join(p.secrets, '.rotate'));
  for (const e of await entries(p.ssl)) {
    // The CA's key, and during `rotate-certs --ca` the new or the old one's (src/pki/rotation.ts).
    if (e.file && /^(etcd-peer-)?ca(-next|-previous)?\.key$/.test(e.name)) files.push(join(p.ssl, e.name));
    if (!e.dir) continue;
    for (const f of await entries(join(p.ssl, e.name))) if (f.file && f.name.endsWith('.key')) files.push(join(p.ssl, e.name, f.name));
  }
  if ((await readIfExists(p.privateKey)) !== undefined) files.push(p.privateKey);
  return files.sort();
}

export interface VaultRun {
  changed: string[];
  unchanged: string[];
}

/** Test seam: called after each file is converted (a test stops a run half way with it). */
export type AfterFile = (path: string) => void;

function requireDir(dir: string): string {
  const p = clusterPaths(dir);
  if (!existsSync(p.config)) {
    throw new UsageError(`${p.config} does not exist: ${p.dir} is not a cluster directory`, {
      hint: 'give the directory `pgha configure` created',
    });
  }
  return p.dir;
}

export async function vaultEncrypt(dir: string, afterFile: AfterFile = () => undefined): Promise<VaultRun> {
  const abs = requireDir(dir);
  const files = await secretFiles(abs);
  if (files.length === 0) {
    throw new UsageError(`${abs} holds no secret files (secrets/, ssl/*.key, ssh/id_pgha)`, {
      hint: 'run `pgha configure` first, or check the directory',
    });
  }
  const vault = await enableVault(abs);
  return convertAll(abs, files, { seal: vault }, afterFile);
}

export async function vaultDecrypt(dir: string, afterFile: AfterFile = () => undefined): Promise<VaultRun> {
  const abs = requireDir(dir);
  // Checks the password against DIR/vault first, when it is still there (a re-run after an
  // interrupted decrypt may find it gone only if every file was opened already).
  await vaultWriteKey(abs);
  const files = await secretFiles(abs);
  const run = await convertAll(abs, files, 'plain', afterFile);
  await rm(descriptorPath(abs), { force: true });
  return run;
}

async function convertAll(dir: string, files: string[], to: Parameters<typeof convertPrivate>[1], afterFile: AfterFile): Promise<VaultRun> {
  const run: VaultRun = { changed: [], unchanged: [] };
  for (const f of files) {
    const changed = await convertPrivate(f, to);
    (changed ? run.changed : run.unchanged).push(relative(dir, f));
    afterFile(f);
  }
  return run;
}

/** One line per secret file: sealed or plain, and whether the directory is in vault mode. */
export async function vaultStatus(dir: string): Promise<string> {
  const abs = requireDir(dir);
  const on = (await readIfExists(descriptorPath(abs))) !== undefined;
  const lines = [`vault: ${on ? 'on (DIR/vault present: new secret files are written encrypted)' : 'off'}`];
  for (const f of await secretFiles(abs)) {
    const text = (await readIfExists(f)) ?? '';
    lines.push(`${isSealed(text) ? 'encrypted' : 'plain    '}  ${relative(abs, f)}`);
  }
  return lines.join('\n');
}

export function formatRun(verb: 'encrypted' | 'decrypted', run: VaultRun): string {
  const n = run.changed.length;
  const head = `${verb} ${n} file${n === 1 ? '' : 's'}${run.unchanged.length ? `, ${run.unchanged.length} already ${verb}` : ''}`;
  return [head, ...run.changed.map((f) => `  ${f}`)].join('\n');
}
