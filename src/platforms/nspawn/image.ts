/**
 * The cached container images: one Debian rootfs per release (bookworm, trixie), each built once
 * with debootstrap and shared, read-only, as the lower layer of the overlayfs root of every
 * container of that release.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RuntimeError } from '../../errors.js';
import { APT_NO_RECOMMENDS } from './apt.js';
import { RESOLV_CONF, SSHD_CONFIG_DROPIN } from './container-config.js';
import { debianMirrors } from './mirrors.js';
import { IMAGE_PACKAGES, imageDir } from './paths.js';
import { acquireLock, exists, noLog, pidAlive, removeTreeSafely, run, type Log } from './sys.js';

/**
 * Units masked in the image. In a container without a console tty the gettys only spin;
 * networkd-wait-online would hold boot; timers that do apt/disk housekeeping make noise and
 * load on a machine that runs several containers. systemd-resolved/timesyncd are not installed
 * by minbase; masking them anyway keeps a later install from starting them.
 */
export const MASKED_UNITS = [
  'console-getty.service',
  'getty.target',
  'systemd-networkd-wait-online.service',
  'systemd-resolved.service',
  'systemd-timesyncd.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
  'systemd-tmpfiles-clean.timer',
];

export interface ImageInfo {
  dir: string;
  built: boolean;
  seconds: number;
}

/** Marker written last into a complete image (the atomic rename is what publishes it). */
export const IMAGE_STAMP = 'etc/pgha-image';

/**
 * Build the image once and cache it. The build goes into `<dir>.tmp-<pid>` and is renamed into
 * place only when complete, so an interrupted build never looks like an image; leftovers of dead
 * builders are removed on the next call. A lock serializes concurrent builders.
 */
export async function ensureImage(codename: string, log: Log = noLog, env: NodeJS.ProcessEnv = process.env): Promise<ImageInfo> {
  const dir = imageDir(codename, env);
  if (await exists(join(dir, IMAGE_STAMP))) return { dir, built: false, seconds: 0 };
  const release = await acquireLock(`${dir}.lock`, 'the image build', log);
  try {
    if (await exists(join(dir, IMAGE_STAMP))) return { dir, built: false, seconds: 0 };
    await removeStaleBuilds(dir);
    if (await exists(dir)) {
      // A directory without the stamp is not ours to trust (e.g. made by hand): refuse to guess.
      throw new RuntimeError(`${dir} exists but is not a complete pgha image`, {
        where: 'image',
        hint: `remove it (rm -rf ${dir}) and run provision again`,
      });
    }
    const tmp = `${dir}.tmp-${process.pid}`;
    await mkdir(dirname(dir), { recursive: true });
    const start = Date.now();
    log(`building the ${codename} image with debootstrap (about a minute; cached in ${dir})`);
    try {
      await run(
        'debootstrap',
        ['--variant=minbase', `--include=${IMAGE_PACKAGES.join(',')}`, codename, tmp, debianMirrors(codename, env).main],
        {
          where: 'image: debootstrap',
        },
      );
      const debootstrapSeconds = (Date.now() - start) / 1000;
      log(`debootstrap done in ${debootstrapSeconds.toFixed(1)} s; preparing the image`);
      await customizeImage(tmp);
      await writeFile(
        join(tmp, IMAGE_STAMP),
        JSON.stringify({ suite: codename, built: new Date().toISOString(), debootstrapSeconds }) + '\n',
      );
      await rename(tmp, dir);
    } catch (e) {
      await removeTreeSafely(tmp);
      throw e;
    }
    const seconds = (Date.now() - start) / 1000;
    log(`image ready in ${seconds.toFixed(1)} s`);
    return { dir, built: true, seconds };
  } finally {
    await release();
  }
}

async function removeStaleBuilds(dir: string): Promise<void> {
  const parent = dirname(dir);
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return;
  }
  const prefix = `${basename(dir)}.tmp-`;
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(e.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) continue;
    await removeTreeSafely(join(parent, e)); // best effort: a name of its own is used below anyway
  }
}

/** Everything done to the debootstrapped tree before it becomes the image. */
async function customizeImage(root: string): Promise<void> {
  const where = 'image: prepare';
  await run('chroot', [root, 'systemctl', 'enable', 'systemd-networkd.service', 'ssh.service'], { where });
  await run('chroot', [root, 'systemctl', 'mask', ...MASKED_UNITS], { where });
  // Each container gets its own host keys and machine id.
  for (const f of await readdir(join(root, 'etc/ssh'))) {
    if (f.startsWith('ssh_host_')) await rm(join(root, 'etc/ssh', f), { force: true });
  }
  await writeFile(join(root, 'etc/machine-id'), '');
  await rm(join(root, 'var/lib/dbus/machine-id'), { force: true });
  await mkdir(join(root, 'etc/ssh/sshd_config.d'), { recursive: true });
  await writeFile(join(root, 'etc/ssh/sshd_config.d/pgha.conf'), `${SSHD_CONFIG_DROPIN}HostKey /etc/ssh/ssh_host_ed25519_key\n`);
  await writeFile(join(root, 'etc/apt/apt.conf.d/99pgha-no-recommends'), APT_NO_RECOMMENDS);
  // Containers have no route out: no internet apt source may stay in the image.
  await writeFile(
    join(root, 'etc/apt/sources.list'),
    '# pgha: containers use the local repository only (see /etc/apt/sources.list on each host)\n',
  );
  for (const f of await readdir(join(root, 'etc/apt/sources.list.d')).catch(() => [] as string[])) {
    await rm(join(root, 'etc/apt/sources.list.d', f), { force: true });
  }
  await rm(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  await mkdir(join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  for (const f of await readdir(join(root, 'var/cache/apt/archives')).catch(() => [] as string[])) {
    if (f.endsWith('.deb')) await rm(join(root, 'var/cache/apt/archives', f), { force: true });
  }
  await rm(join(root, 'var/cache/apt/pkgcache.bin'), { force: true });
  await rm(join(root, 'var/cache/apt/srcpkgcache.bin'), { force: true });
  await writeFile(join(root, 'etc/hostname'), 'localhost\n');
  // debootstrap copies the build machine's resolv.conf: not for containers without a route out.
  await rm(join(root, 'etc/resolv.conf'), { force: true });
  await writeFile(join(root, 'etc/resolv.conf'), RESOLV_CONF, { mode: 0o644 });
  // The mount point of the local repository.
  await mkdir(join(root, 'srv/pgha-repo'), { recursive: true });
}
