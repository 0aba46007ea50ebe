/**
 * pgha's own build of Debian 12's patroni 3.0.2-1, carrying the fixes of
 * packaging/patroni/3.0.2-pgha.patch (why: packaging/patroni/README.md). Built from
 * Debian's .deb in the package cache, with only the patched files, md5sums and Version changed,
 * and cached under PGHA_CACHE_DIR/built/ keyed by the patch's hash, so a changed patch is a new
 * build and an unchanged one is built once per machine.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '../../errors.js';
import { cacheDir } from './paths.js';
import { run, exists, type Log, noLog } from './sys.js';

/**
 * Debian's version the patch is written against, and the version of the build carrying it. A
 * changed patch takes the next +pghaN, so that hosts running the previous build are offered it
 * (upgrade compares package versions; PATRONI_FIX_EARLIER are the builds it replaces).
 */
export const PATRONI_FIX_BASE = '3.0.2-1';
export const PATRONI_FIX_VERSION = '3.0.2-1+pgha2';
/** pgha's earlier builds: +pgha1 had the leader key fix but printed a replica's timeline as "None" in GET /metrics. */
export const PATRONI_FIX_EARLIER: readonly string[] = ['3.0.2-1+pgha1'];
export const PATRONI_FIX_FILE = `patroni_${PATRONI_FIX_VERSION}_all.deb`;
export const PATRONI_FIX_PATCH = 'packaging/patroni/3.0.2-pgha.patch';

/** The package root (where package.json names pgha), from src/…, dist/… or dist/bundle/…. */
function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(d, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'pgha') return d;
    const up = dirname(d);
    if (up === d) throw new RuntimeError('cannot find pgha’s package root (for packaging/patroni)');
    d = up;
  }
}

export function patroniFixPatchPath(): string {
  return join(packageRoot(), PATRONI_FIX_PATCH);
}

export function patroniFixPatchHash(): string {
  return createHash('sha256').update(readFileSync(patroniFixPatchPath())).digest('hex').slice(0, 16);
}

/** Where the build is cached (it may not exist yet). */
export function patroniFixCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'built', `patroni-fix-${patroniFixPatchHash()}`, PATRONI_FIX_FILE);
}

/**
 * Apply the patch to an unpacked tree's dist-packages. `patch` with no fuzz and --forward: a
 * hunk whose context is not found exactly fails the build rather than landing elsewhere.
 */
export async function applyPatroniFix(distPackages: string): Promise<void> {
  const args = ['--forward', '--batch', '--fuzz=0', '--no-backup-if-mismatch', '-p1', '-d', distPackages, '-i', patroniFixPatchPath()];
  for (const dry of [true, false]) {
    const r = await run('patch', dry ? ['--dry-run', ...args] : args, { allowFail: true });
    if (r.code !== 0) {
      throw new RuntimeError(`pgha's Patroni patch does not apply to ${distPackages}:\n${(r.stdout + r.stderr).trim()}`, {
        where: 'download-packages: patroni fix',
        hint: `${PATRONI_FIX_PATCH} is written against Debian's patroni ${PATRONI_FIX_BASE}`,
      });
    }
  }
}

/**
 * The fixed build from Debian's `original` .deb (which must be patroni ${PATRONI_FIX_BASE}),
 * built once into the cache; returns its path.
 */
export async function ensurePatroniFix(original: string, opts: { log?: Log; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const log = opts.log ?? noLog;
  const out = patroniFixCachePath(opts.env);
  if (await exists(out)) return out;
  const where = 'download-packages: patroni fix';
  const { stdout: version } = await run('dpkg-deb', ['-f', original, 'Version'], { where });
  if (version.trim() !== PATRONI_FIX_BASE) {
    throw new RuntimeError(`${original} is patroni ${version.trim()}, not ${PATRONI_FIX_BASE}`, { where });
  }
  log(`building patroni ${PATRONI_FIX_VERSION} (Debian's ${PATRONI_FIX_BASE} with ${PATRONI_FIX_PATCH})`);
  const work = join(dirname(out), `.build-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const tree = join(work, 'tree');
    await run('dpkg-deb', ['-R', original, tree], { where });
    const dist = join(tree, 'usr/lib/python3/dist-packages');
    await applyPatroniFix(dist);
    // md5sums of the files the patch changed, so debsums and dpkg --verify agree with the build.
    const md5 = join(tree, 'DEBIAN/md5sums');
    const lines = (await readFile(md5, 'utf8')).split('\n');
    const fixed = await Promise.all(
      lines.map(async (l) => {
        const m = /^([0-9a-f]{32}) {2}(.+)$/.exec(l);
        if (!m || !m[2]!.startsWith('usr/lib/python3/dist-packages/patroni/')) return l;
        return `${createHash('md5')
          .update(await readFile(join(tree, m[2]!)))
          .digest('hex')}  ${m[2]}`;
      }),
    );
    await writeFile(md5, fixed.join('\n'));
    const control = join(tree, 'DEBIAN/control');
    const text = await readFile(control, 'utf8');
    if (!/^Version: 3\.0\.2-1$/m.test(text)) throw new RuntimeError(`unexpected Version in ${original}'s control file`, { where });
    await writeFile(control, text.replace(/^Version: .*$/m, `Version: ${PATRONI_FIX_VERSION}`));
    const tmp = join(work, PATRONI_FIX_FILE);
    await run('dpkg-deb', ['--root-owner-group', '-Zxz', '-b', tree, tmp], { where });
    await rename(tmp, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return out;
}
