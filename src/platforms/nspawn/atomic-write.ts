/**
 * Replace a file of the local repository or the package cache in one rename, so a reader (apt in
 * a container, a concurrent download-packages) sees the old file or the new one, never half of it.
 * Nothing here is secret: 0644 (secrets use pki/files.ts's writeFileAtomic instead).
 */
import { rename, writeFile } from 'node:fs/promises';

export async function atomicWrite(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode: 0o644 });
  await rename(tmp, path);
}
