/**
 * Config warnings (unknown variables, with "did you mean") on stderr, for every command that
 * reads config.yml: loadCluster calls this, and so does status's cached read, which skips
 * loadCluster. A warning is printed once per process, however often the file is read.
 * Kept apart from cluster-dir.ts so status's fast path loads only this.
 */
import { formatProblem, type ConfigProblem } from '../errors.js';

const printed = new Set<string>();

export function printConfigWarnings(warnings: readonly ConfigProblem[], err: NodeJS.WritableStream = process.stderr): void {
  for (const w of warnings) {
    const line = `warning: ${formatProblem(w)}\n`;
    if (printed.has(line)) continue;
    printed.add(line);
    err.write(line);
  }
}

/** What ensureClusterPki found an operator should act on (a CA close to expiry, etcd without its peer CA), once per process. */
export function printPkiWarnings(warnings: readonly string[], err: NodeJS.WritableStream = process.stderr): void {
  for (const w of warnings) {
    const line = `warning: ${w}\n`;
    if (printed.has(line)) continue;
    printed.add(line);
    err.write(line);
  }
}
