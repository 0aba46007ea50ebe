/** The Debian mirrors to build the image and the repository from: the machine's own (see helpers). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { RELEASES } from '../../model/releases.js';
import { mirrorsFromAptSources, type DebianMirrors } from './apt.js';

/** The mirrors serving Debian `codename` (bookworm, trixie). */
export function debianMirrors(codename: string, env: NodeJS.ProcessEnv = process.env): DebianMirrors {
  if (env.PGHA_DEBIAN_MIRROR) return { main: env.PGHA_DEBIAN_MIRROR, security: env.PGHA_DEBIAN_SECURITY_MIRROR || undefined };
  const texts: string[] = [];
  const read = (p: string) => {
    try {
      texts.push(readFileSync(p, 'utf8'));
    } catch {
      // Absent lists are normal.
    }
  };
  read('/etc/apt/sources.list');
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d')) if (/\.(list|sources)$/.test(f)) read(join('/etc/apt/sources.list.d', f));
  } catch {
    // No sources.list.d.
  }
  const found = mirrorsFromAptSources(
    texts,
    codename,
    Object.values(RELEASES).map((r) => r.codename),
  );
  if (!found) {
    throw new UsageError(`this machine's apt sources name no Debian mirror to build the ${codename} container image from`, {
      hint: 'set PGHA_DEBIAN_MIRROR to the URL of a Debian mirror (and PGHA_DEBIAN_SECURITY_MIRROR for security updates)',
    });
  }
  return found;
}
