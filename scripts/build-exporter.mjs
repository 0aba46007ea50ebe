/**
 * Third part of `npm run build`: `pgha exporter` as one self-contained file,
 * dist/exporter/pgha-exporter.mjs, which deploy installs on a monitoring host and runs with
 * Debian's nodejs (src/components/monitoring/pgha-exporter.ts).
 *
 * Why a file of its own rather than dist/bundle/: that bundle is many chunks, templates and
 * ssh2's native addons, and needs node 20.18 (undici, commander); Debian 12's nodejs is 18.20.
 * This one is only the exporter's code (src/cli/exporter-bin.ts and what it imports), with no
 * package that needs more than node 18, so the same file runs on Debian 12 and 13.
 *
 * The input is src/ rather than tsc's output, so a test can build it in a few milliseconds
 * without compiling the whole program first (test/unit/exporter-bundle.test.ts); tsc still
 * checks the same files as part of the build and of `npm run typecheck`.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export const EXPORTER_ENTRY = 'src/cli/exporter-bin.ts';
export const EXPORTER_OUTFILE = `${root}dist/exporter/pgha-exporter.mjs`;

/** Builds the bundle into `outfile`; resolves to its metafile (which inputs went in). */
export async function buildExporter(outfile = EXPORTER_OUTFILE) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [EXPORTER_ENTRY],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    // Debian 12's nodejs: syntax newer than node 18 fails the build rather than the service.
    target: 'node18',
    // Nothing left to node at run time but its own modules: the file is all the host gets.
    external: [],
    banner: { js: "// pgha exporter, built by scripts/build-exporter.mjs: a monitoring host runs it with Debian's nodejs." },
    metafile: true,
    logLevel: 'warning',
    logOverride: { 'unsupported-require-call': 'error', 'unsupported-dynamic-import': 'error' },
  });
  if (result.errors.length) throw new Error('build-exporter: esbuild failed');
  return result.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildExporter();
