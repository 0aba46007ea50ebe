/**
 * pgha's own builds of Debian's patroni packages, each carrying one patch of packaging/patroni/
 * (why: packaging/patroni/README.md). Built from Debian's .deb in the package cache, with only the
 * patched files, md5sums and Version changed, and cached under PGHA_CACHE_DIR/built/ keyed by the
 * patch's hash, so a changed patch is a new build and an unchanged one is built once per machine.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '../../errors.js';
import { cacheDir } from './paths.js';
import { run, exists, type Log, noLog } from './sys.js';

/** One pgha build of one Debian patroni version. */
export interface PatroniBuild {
  /** Debian's version the patch is written against. */
  readonly base: string;
  /**
   * The build's version: base + `+pghaN`, above Debian's base and below Debian's next upload. A
   * changed patch takes the next N, so that hosts running the previous build are offered it
   * (upgrade compares package versions).
   */
  readonly version: string;
  /** pgha's earlier builds of the same base, no longer made: a pin of one is refused with the remedy. */
  readonly earlier: readonly string[];
  /** The patch, relative to the package root. */
  readonly patch: string;
}

export const PATRONI_BUILDS: readonly PatroniBuild[] = [
  // Debian 12: the etcd3 leader key (writes lost after a stalled leader resumes) and a replica's
  // timeline in GET /metrics. +pgha1 had only the first.
  { base: '3.0.2-1', version: '3.0.2-1+pgha2', earlier: ['3.0.2-1+pgha1'], patch: 'packaging/patroni/3.0.2-pgha.patch' },
  // Debian 13: a switchover's leader key released as soon as the old leader has stopped, not a
  // second or two later.
  { base: '4.0.7-3~deb13u1', version: '4.0.7-3~deb13u1+pgha1', earlier: [], patch: 'packaging/patroni/4.0.7-pgha.patch' },
];

/** The build of Debian's `base`, if pgha makes one. */
export function patroniBuildOf(base: string): PatroniBuild | undefined {
  return PATRONI_BUILDS.find((b) => b.base === base);
}

/** The build whose version is `version`, if it is one of pgha's current builds. */
export function patroniBuildNamed(version: string): PatroniBuild | undefined {
  return PATRONI_BUILDS.find((b) => b.version === version);
}

/** The build an earlier pgha build of the same base was replaced by. */
export function patroniBuildReplacing(version: string): PatroniBuild | undefined {
  return PATRONI_BUILDS.find((b) => b.earlier.includes(version));
}

export const patroniBuildFile = (b: PatroniBuild): string => `patroni_${b.version}_all.deb`;

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

export function patroniPatchPath(b: PatroniBuild): string {
  return join(packageRoot(), b.patch);
}

function patchHash(b: PatroniBuild): string {
  return createHash('sha256')
    .update(readFileSync(patroniPatchPath(b)))
    .digest('hex')
    .slice(0, 16);
}

/** One hash of every build's patch: a local repository built with other patches is stale. */
export function patroniPatchesHash(): string {
  return createHash('sha256')
    .update(PATRONI_BUILDS.map((b) => `${b.version} ${patchHash(b)}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
}

/** Where a build is cached (it may not exist yet). */
export function patroniBuildCachePath(b: PatroniBuild, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'built', `patroni-fix-${patchHash(b)}`, patroniBuildFile(b));
}

/**
 * Apply a build's patch to an unpacked tree's dist-packages. `patch` with no fuzz and --forward:
 * a hunk whose context is not found exactly fails the build rather than landing elsewhere.
 */
export async function applyPatroniPatch(b: PatroniBuild, distPackages: string): Promise<void> {
  const args = ['--forward', '--batch', '--fuzz=0', '--no-backup-if-mismatch', '-p1', '-d', distPackages, '-i', patroniPatchPath(b)];
  for (const dry of [true, false]) {
    const r = await run('patch', dry ? ['--dry-run', ...args] : args, { allowFail: true });
    if (r.code !== 0) {
      throw new RuntimeError(`pgha's Patroni patch does not apply to ${distPackages}:\n${(r.stdout + r.stderr).trim()}`, {
        where: 'download-packages: patroni fix',
        hint: `${b.patch} is written against Debian's patroni ${b.base}`,
      });
    }
  }
}

/**
 * The build `b` from Debian's `original` .deb (which must be patroni b.base), built once into
 * the cache; returns its path.
 */
export async function ensurePatroniBuild(
  b: PatroniBuild,
  original: string,
  opts: { log?: Log; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const log = opts.log ?? noLog;
  const out = patroniBuildCachePath(b, opts.env);
  if (await exists(out)) return out;
  const where = 'download-packages: patroni fix';
  const { stdout: version } = await run('dpkg-deb', ['-f', original, 'Version'], { where });
  if (version.trim() !== b.base) {
    throw new RuntimeError(`${original} is patroni ${version.trim()}, not ${b.base}`, { where });
  }
  log(`building patroni ${b.version} (Debian's ${b.base} with ${b.patch})`);
  const work = join(dirname(out), `.build-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const tree = join(work, 'tree');
    await run('dpkg-deb', ['-R', original, tree], { where });
    const dist = join(tree, 'usr/lib/python3/dist-packages');
    await applyPatroniPatch(b, dist);
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
    if (/^Version: (.*)$/m.exec(text)?.[1] !== b.base)
      throw new RuntimeError(`unexpected Version in ${original}'s control file`, { where });
    await writeFile(control, text.replace(/^Version: .*$/m, `Version: ${b.version}`));
    const tmp = join(work, patroniBuildFile(b));
    await run('dpkg-deb', ['--root-owner-group', '-Zxz', '-b', tree, tmp], { where });
    await rename(tmp, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return out;
}
