/**
 * The bytes of config.yml, read safely: only a regular file (a FIFO would block forever, a
 * device like /dev/urandom never ends), no larger than any real config, and strict UTF-8 (a
 * replacement character silently standing in for a byte would change a value). No dependencies,
 * so status can use it without loading yaml's parser first.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/** Far above any real config.yml (a few KiB), far below what would strain memory. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export type ConfigText = { text: string } | { line?: number; message: string };

/** The 1-based line of the first byte that is not valid UTF-8, or undefined when all are. */
export function invalidUtf8Line(bytes: Uint8Array): number | undefined {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    fatal.decode(bytes);
    return undefined;
  } catch {
    // The longest valid prefix (stream mode tolerates a sequence cut at the end): its length is
    // where the first bad byte is. Validity of prefixes is monotone, so bisect.
  }
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  let line = 1;
  for (let i = 0; i < lo; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

export function readConfigText(path: string): ConfigText {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { message: code === 'ENOENT' ? 'not found (run `pgha configure DIR` first, or check the path)' : `cannot be read (${code})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const what = st.isFIFO()
        ? 'a FIFO'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : st.isDirectory()
            ? 'a directory'
            : 'not a file';
      return { message: `is ${what}, not a regular file; config.yml must be a regular file (replace it with the cluster's config)` };
    }
    if (st.size > MAX_CONFIG_BYTES) {
      return { message: `is ${st.size} bytes, more than the ${MAX_CONFIG_BYTES} a config.yml may have; is this the right file?` };
    }
    const bytes = readFileSync(fd);
    const bad = invalidUtf8Line(bytes);
    if (bad !== undefined) return { line: bad, message: 'not valid UTF-8; save the file as UTF-8 (pgha does not guess encodings)' };
    return { text: new TextDecoder('utf-8').decode(bytes) };
  } catch (e) {
    return { message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  } finally {
    closeSync(fd);
  }
}
