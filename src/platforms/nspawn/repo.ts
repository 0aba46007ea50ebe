/**
 * The local package repository (DIR/local-repo): a flat apt repository holding the dependency
 * closure of the cluster's packages, as resolved inside the container image, so what it holds is
 * exactly what the hosts (overlays of that image) will need.
 *
 * Resolution and download run in a throwaway container: an overlay of the image, run with
 * systemd-nspawn (not booted, host network) with the Debian mirror as its apt source and the
 * host's .deb cache (PGHA_CACHE_DIR/debs) bind-mounted as /var/cache/apt/archives, so a second
 * build downloads nothing. The repository itself is updated in place (containers may have it
 * bind-mounted): new .debs are linked in, stale ones removed, indexes replaced atomically.
 */
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, readFile, readdir, rm, rmdir, stat, writeFile, chown } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RuntimeError, UsageError } from '../../errors.js';
import { assertHostPrereqs } from './prereqs.js';
import { aptInstallArgs, aptPinText, debFileName, mirrorSourcesList, parseAptSimulation, releaseFileText, type AptPackage } from './apt.js';
import { atomicWrite } from './atomic-write.js';
import { IMAGE_STAMP, ensureImage } from './image.js';
import { recordResolved } from './resolved-store.js';
import { debianMirrors } from './mirrors.js';
import { aptListsDir, cacheDir, debCacheDir } from './paths.js';
import {
  ensurePatroniBuild,
  patroniBuildFile,
  patroniBuildNamed,
  patroniBuildOf,
  patroniBuildReplacing,
  patroniPatchesHash,
} from './patroni-fix.js';
import { CGROUP_WRAPPER, cgroupRoots, removeCgroupTree } from './cgroups.js';
import { acquireLock, exists, isMounted, noLog, removeTreeSafely, run, type Log } from './sys.js';

export interface LocalRepoSpec {
  clusterDir: string;
  /** The Debian release the hosts run (bookworm, trixie): its image resolves, its suites serve. */
  codename: string;
  /** e.g. ['postgresql-15', 'patroni', 'etcd-server', 'etcd-client', 'haproxy', 'pgbouncer', 'postgresql-client-15'] */
  packages: string[];
  /** package → exact version. */
  pins: Record<string, string>;
  /** Extra .deb files put in the repository as they are (e.g. a rebuilt patroni). */
  extraDebs?: string[];
  /**
   * Other versions to carry as well, with what they need, for upgrade paths, e.g.
   * `{ 'postgresql-15': ['15.18-0+deb12u1'] }`. Hosts still install the pinned (or newest)
   * version unless told `pkg=version`.
   */
  extraVersions?: Record<string, string[]>;
}

export interface LocalRepoResult {
  dir: string;
  /** True when nothing had to be done (same inputs as the last build). */
  reused: boolean;
  /** Packages of the closure (not counting extraDebs). */
  packages: AptPackage[];
  /** .deb files in the repository. */
  debs: number;
  /** Seconds spent: total, and resolving (apt-get update + simulate), downloading, indexing. */
  seconds: number;
  resolveSeconds: number;
  downloadSeconds: number;
  indexSeconds: number;
}

interface RepoManifest {
  key: string;
  /** The release it was resolved for (provision refuses containers of another). */
  codename?: string;
  packages: AptPackage[];
  files: string[];
}

const MANIFEST = '.pgha-repo.json';
const PKG_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const PKG_VERSION = /^[A-Za-z0-9.+~:-]+$/;

function validate(spec: LocalRepoSpec): void {
  const problems: string[] = [];
  if (!spec.packages.length) problems.push('no packages given');
  for (const p of spec.packages) if (!PKG_NAME.test(p)) problems.push(`not a package name: ${JSON.stringify(p)}`);
  for (const [p, v] of Object.entries(spec.pins)) {
    if (!PKG_NAME.test(p)) problems.push(`pin: not a package name: ${JSON.stringify(p)}`);
    if (!PKG_VERSION.test(v)) problems.push(`pin ${p}: not a version: ${JSON.stringify(v)}`);
  }
  for (const [p, vs] of Object.entries(spec.extraVersions ?? {})) {
    if (!PKG_NAME.test(p)) problems.push(`extra version: not a package name: ${JSON.stringify(p)}`);
    for (const v of vs) if (!PKG_VERSION.test(v)) problems.push(`extra version of ${p}: not a version: ${JSON.stringify(v)}`);
  }
  for (const d of spec.extraDebs ?? []) if (!d.endsWith('.deb')) problems.push(`extra package ${d} is not a .deb file`);
  if (problems.length) throw new UsageError(`cannot build the local repository:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Build or update DIR/local-repo. */
export async function buildLocalRepo(spec: LocalRepoSpec, opts: { log?: Log; env?: NodeJS.ProcessEnv } = {}): Promise<LocalRepoResult> {
  const log = opts.log ?? noLog;
  const env = opts.env ?? process.env;
  const start = Date.now();
  validate(spec);
  if (process.getuid?.() !== 0) {
    throw new RuntimeError('building the local repository needs root (it runs a container)', {
      where: 'download-packages',
      hint: 'run pgha as root',
    });
  }
  await assertHostPrereqs();
  const repoDir = join(resolve(spec.clusterDir), 'local-repo');
  const extraDebs = (spec.extraDebs ?? []).map((d) => resolve(d));
  for (const d of extraDebs) {
    if (!(await exists(d))) throw new UsageError(`extra package ${d} does not exist`, { where: 'download-packages' });
  }

  const image = await ensureImage(spec.codename, log, env);
  const imageStamp = await readFile(join(image.dir, IMAGE_STAMP), 'utf8');
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        codename: spec.codename,
        packages: [...spec.packages].sort(),
        pins: Object.entries(spec.pins).sort(([a], [b]) => a.localeCompare(b)),
        extraVersions: Object.entries(spec.extraVersions ?? {})
          .map(([p, vs]) => [p, [...vs].sort()] as const)
          .sort(([a], [b]) => a.localeCompare(b)),
        extra: await Promise.all(extraDebs.map(async (d) => [basename(d), await sha256File(d)])),
        imageStamp,
        patroniFix: patroniPatchesHash(),
      }),
    )
    .digest('hex');

  const previous = await readManifest(repoDir);
  if (previous?.key === key && (await exists(join(repoDir, 'Packages')))) {
    const all = await Promise.all(previous.files.map((f) => exists(join(repoDir, f))));
    if (all.every(Boolean)) {
      await recordResolved(repoDir, spec, env);
      log(`local repository ${repoDir} is up to date (${previous.files.length} packages)`);
      return {
        dir: repoDir,
        reused: true,
        packages: previous.packages,
        debs: previous.files.length,
        seconds: (Date.now() - start) / 1000,
        resolveSeconds: 0,
        downloadSeconds: 0,
        indexSeconds: 0,
      };
    }
  }

  const debs = debCacheDir(env);
  const lists = aptListsDir(spec.codename, env);
  // pgha's patroni build is on no mirror: resolve Debian's version it is built from instead.
  const mirrorSpec = fixToBase(spec);
  const release = await acquireLock(`${debs}.lock`, 'the package cache', log);
  let resolved: AptPackage[];
  let resolveSeconds: number;
  let downloadSeconds: number;
  try {
    const r = await resolveAndDownload({ image: image.dir, debs, lists, spec: mirrorSpec, log, env });
    resolved = r.packages;
    resolveSeconds = r.resolveSeconds;
    downloadSeconds = r.downloadSeconds;
  } finally {
    await release();
  }

  // Assemble in place.
  const i0 = Date.now();
  await mkdir(repoDir, { recursive: true, mode: 0o755 });
  const wanted = new Map<string, string>(); // file name in repo -> source path
  for (const p of resolved) wanted.set(debFileName(p), join(debs, debFileName(p)));
  for (const d of extraDebs) wanted.set(basename(d), d);
  // pgha's patroni builds (packaging/patroni/README.md): carried beside Debian's version they are
  // built from, versioned above it, so hosts install them unless a pin says otherwise.
  for (const p of resolved) {
    const build = p.name === 'patroni' ? patroniBuildOf(p.version) : undefined;
    if (!build) continue;
    const fixed = await ensurePatroniBuild(build, join(debs, debFileName(p)), { log, env });
    const file = patroniBuildFile(build);
    const given = wanted.get(file);
    if (given && !(await sameFile(given, fixed))) {
      throw new UsageError(`${given} is not pgha's own patroni ${build.version} build, and would replace it`, {
        where: 'download-packages',
        hint: `give a rebuilt patroni another version (e.g. ${build.version}+local1)`,
      });
    }
    wanted.set(file, fixed);
  }
  for (const [name, src] of wanted) {
    if (!(await exists(src))) throw new RuntimeError(`apt did not leave ${name} in ${debs}`, { where: 'download-packages' });
    const dst = join(repoDir, name);
    if (await sameFile(src, dst)) continue;
    await rm(dst, { force: true });
    try {
      await link(src, dst);
    } catch {
      await copyFile(src, dst);
    }
  }
  for (const f of await readdir(repoDir)) {
    if (f.endsWith('.deb') && !wanted.has(f)) await rm(join(repoDir, f), { force: true });
  }
  const { stdout: packagesText } = await run('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], {
    cwd: repoDir,
    where: 'download-packages: index',
  });
  const gz = gzipSync(Buffer.from(packagesText));
  await atomicWrite(join(repoDir, 'Packages'), packagesText);
  await atomicWrite(join(repoDir, 'Packages.gz'), gz);
  const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
  await atomicWrite(
    join(repoDir, 'Release'),
    releaseFileText(
      [
        { name: 'Packages', size: Buffer.byteLength(packagesText), sha256: sha(packagesText) },
        { name: 'Packages.gz', size: gz.length, sha256: sha(gz) },
      ],
      new Date(),
    ),
  );
  const manifest: RepoManifest = { key, codename: spec.codename, packages: resolved, files: [...wanted.keys()].sort() };
  await atomicWrite(join(repoDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  await recordResolved(repoDir, spec, env);
  const indexSeconds = (Date.now() - i0) / 1000;
  const seconds = (Date.now() - start) / 1000;
  log(`local repository ${repoDir}: ${wanted.size} packages in ${seconds.toFixed(1)} s`);
  return { dir: repoDir, reused: false, packages: resolved, debs: wanted.size, seconds, resolveSeconds, downloadSeconds, indexSeconds };
}

/** The spec as the mirror can resolve it: pins and extra versions of pgha's patroni build become Debian's. */
export function fixToBase(spec: LocalRepoSpec): LocalRepoSpec {
  // An earlier pgha build is no longer made and is on no mirror: say so rather than let apt fail
  // to find it, unless it was handed over as a .deb.
  const pin = spec.pins.patroni;
  const added = new Set((spec.extraDebs ?? []).map((d) => basename(d)));
  const replacing = pin === undefined ? undefined : patroniBuildReplacing(pin);
  if (replacing && !added.has(`patroni_${pin}_all.deb`)) {
    throw new UsageError(`patroni ${pin} is an earlier build of pgha's, which it no longer makes`, {
      where: 'download-packages',
      hint: `pin patroni_package_version ${replacing.version} (the same fixes and more), or add the old .deb with --add-deb`,
    });
  }
  const swap = (v: string) => patroniBuildNamed(v)?.base ?? v;
  const pins = Object.fromEntries(Object.entries(spec.pins).map(([p, v]) => [p, p === 'patroni' ? swap(v) : v]));
  const extraVersions = Object.fromEntries(
    Object.entries(spec.extraVersions ?? {}).map(([p, vs]) => [p, p === 'patroni' ? [...new Set(vs.map(swap))] : vs]),
  );
  return { ...spec, pins, extraVersions };
}

async function readManifest(repoDir: string): Promise<RepoManifest | undefined> {
  try {
    const m = JSON.parse(await readFile(join(repoDir, MANIFEST), 'utf8')) as RepoManifest;
    return typeof m.key === 'string' && Array.isArray(m.files) && Array.isArray(m.packages) ? m : undefined;
  } catch {
    return undefined;
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return (x.ino === y.ino && x.dev === y.dev) || (x.size === y.size && (await sha256File(a)) === (await sha256File(b)));
  } catch {
    return false;
  }
}

/** uid/gid of `_apt` in the image, so apt can download into our bind mounts sandboxed. */
async function aptUser(image: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const line = (await readFile(join(image, 'etc/passwd'), 'utf8')).split('\n').find((l) => l.startsWith('_apt:'));
    const f = line?.split(':');
    return f && f[2] && f[3] ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
  } catch {
    return undefined;
  }
}

async function resolveAndDownload(o: {
  image: string;
  debs: string;
  lists: string;
  spec: LocalRepoSpec;
  log: Log;
  env: NodeJS.ProcessEnv;
}): Promise<{ packages: AptPackage[]; resolveSeconds: number; downloadSeconds: number }> {
  const scratch = join(cacheDir(o.env), `build-${process.pid}`);
  const upper = join(scratch, 'upper');
  const work = join(scratch, 'work');
  const merged = join(scratch, 'merged');
  // Scratch trees of builds that died (we hold the package cache lock: no other build is running).
  for (const e of await readdir(cacheDir(o.env)).catch(() => [] as string[])) {
    if (/^build-\d+$/.test(e) && e !== basename(scratch)) await removeTreeSafely(join(cacheDir(o.env), e));
  }
  if (!(await removeTreeSafely(scratch))) {
    throw new RuntimeError(`cannot clear ${scratch} (still mounted?)`, { where: 'download-packages', hint: `unmount it and remove it` });
  }
  for (const d of [upper, work, merged, join(o.debs, 'partial'), join(o.lists, 'partial')]) await mkdir(d, { recursive: true });
  const apt = await aptUser(o.image);
  if (apt) {
    for (const d of [join(o.debs, 'partial'), join(o.lists, 'partial')]) await chown(d, apt.uid, apt.gid).catch(() => {});
  }
  const roots = await cgroupRoots();
  const cgroups = roots.map((r) => join(r, 'pgha', `_repo-build-${process.pid}`));
  for (const cg of cgroups) await mkdir(cg, { recursive: true }).catch(() => {});
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${o.image},upperdir=${upper},workdir=${work}`, merged], {
    where: 'download-packages: overlay',
  });
  try {
    const codename = o.spec.codename;
    await writeFile(join(merged, 'etc/apt/sources.list'), mirrorSourcesList(debianMirrors(codename, o.env), codename));
    await mkdir(join(merged, 'etc/apt/preferences.d'), { recursive: true });
    await writeFile(join(merged, 'etc/apt/preferences.d/pgha-pins'), aptPinText(o.spec.pins));
    // Debian's postinst scripts are not run (download only), so nothing starts in there.
    const inContainer = (args: string[], where: string, allowFail = false) =>
      run(
        '/bin/sh',
        [
          '-c',
          CGROUP_WRAPPER,
          'sh',
          ...cgroups,
          '--',
          'systemd-nspawn',
          '-q',
          '-D',
          merged,
          '--register=no',
          '--keep-unit',
          '--pipe',
          '--resolv-conf=copy-host',
          '--timezone=off',
          `--bind=${o.debs}:/var/cache/apt/archives`,
          `--bind=${o.lists}:/var/lib/apt/lists`,
          '-E',
          'DEBIAN_FRONTEND=noninteractive',
          '--',
          ...args,
        ],
        { where, allowFail },
      );
    const r0 = Date.now();
    o.log('resolving packages in the image (apt-get update)');
    await inContainer(['apt-get', 'update', '-q'], 'download-packages: apt-get update');
    // One pass for the set as pinned, one per extra version (the set with that version instead).
    const passes: string[][] = [aptInstallArgs(o.spec.packages, o.spec.pins)];
    for (const [pkg, versions] of Object.entries(o.spec.extraVersions ?? {})) {
      const pkgs = o.spec.packages.includes(pkg) ? o.spec.packages : [...o.spec.packages, pkg];
      for (const v of versions) passes.push(aptInstallArgs(pkgs, { ...o.spec.pins, [pkg]: v }));
    }
    const byFile = new Map<string, AptPackage>();
    for (const installArgs of passes) {
      const sim = await inContainer(
        ['apt-get', 'install', '-s', '-y', '--no-install-recommends', ...installArgs],
        'download-packages: resolve',
        true,
      );
      if (sim.code !== 0) {
        throw new RuntimeError(
          `apt cannot resolve ${installArgs.join(' ')}:\n${(sim.stderr || sim.stdout).trim().split('\n').slice(-10).join('\n')}`,
          {
            where: 'download-packages: resolve',
            hint: 'check the package names and pinned versions (`*_package_version`) against the Debian archive',
          },
        );
      }
      for (const p of parseAptSimulation(sim.stdout)) byFile.set(debFileName(p), p);
    }
    const packages = [...byFile.values()];
    const resolveSeconds = (Date.now() - r0) / 1000;
    const d0 = Date.now();
    o.log(`downloading ${packages.length} packages (cached in ${o.debs})`);
    for (const installArgs of passes) {
      await inContainer(
        ['apt-get', 'install', '-y', '-q', '--download-only', '--no-install-recommends', ...installArgs],
        'download-packages: download',
      );
    }
    const downloadSeconds = (Date.now() - d0) / 1000;
    return { packages, resolveSeconds, downloadSeconds };
  } finally {
    if (await isMounted(merged)) await run('umount', [merged], { allowFail: true });
    await removeTreeSafely(scratch);
    for (const cg of cgroups) await removeCgroupTree(cg);
    for (const r of roots) await rmdir(join(r, 'pgha')).catch(() => {}); // only if no cluster uses it
  }
}
