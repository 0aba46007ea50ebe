/**
 * Second half of `npm run build`: bundles tsc's output (dist/cli/main.js and everything it
 * imports, node_modules included) into dist/bundle/, which bin/pgha.js runs.
 *
 * Why: `pgha status` is measured against `patronictl list`, and resolving and loading ~150
 * separate files (yaml alone is ~60 CommonJS files, commander a dozen) cost more than the
 * status code itself. Code splitting keeps each command's lazy `import()` lazy, so a command
 * still loads only its own chunks.
 *
 * The input is tsc's JavaScript, not src/, so there is one compiler of record and stack traces
 * map back to src/ through the chained source maps (with --enable-source-maps).
 * dist/bundle/ is two levels below the package root like src/render/ and dist/render/, so the
 * `new URL('../../templates/', import.meta.url)` lookups keep working from the chunks.
 */
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;

/**
 * Left to node at run time: ssh2 loads native addons (sshcrypto.node, cpu-features) by paths
 * relative to its own files, which a bundle would break.
 */
export const EXTERNAL = ['ssh2'];

/** CommonJS packages inside an ES module bundle still call require() for node's built-ins. */
const REQUIRE_SHIM =
  "import { createRequire as __pghaCreateRequire } from 'node:module'; const require = __pghaCreateRequire(import.meta.url);";

/**
 * commander requires node:child_process when it loads, for git-style executable subcommands,
 * which pgha does not have. Loading child_process (and the dgram and socket modules it pulls
 * in) is ~7 ms of every pgha process, `status` included; here it is required on first use.
 * The build fails if a commander release changes the line, rather than silently losing this.
 */
const lazyChildProcessInCommander = {
  name: 'lazy-child-process-in-commander',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const eager = "const childProcess = require('node:child_process');";
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(eager))
        throw new Error(`${args.path}: expected \`${eager}\`; update lazyChildProcessInCommander in scripts/build-bundle.mjs`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: source.replace(eager, lazy), loader: 'js' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'dist/cli/main.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  banner: { js: REQUIRE_SHIM },
  sourcemap: 'linked',
  metafile: true,
  plugins: [lazyChildProcessInCommander],
  logLevel: 'warning',
  // A require() or import esbuild cannot resolve statically would fail only at run time.
  logOverride: { 'unsupported-require-call': 'error', 'unsupported-dynamic-import': 'error' },
});
if (result.errors.length) process.exit(1);

// `await import('pkg')` of a CommonJS package becomes a chunk whose only export is `default`, so
// `const { name } = await import('pkg')` works under tsc and vitest but is undefined here. Refuse
// it: import such a package statically from a small module and import() that module instead.
const cjsDefaultOnly = /^export default require_\w+\(\);$/m;
const offenders = Object.entries(result.metafile.outputs)
  .filter(([file, out]) => file.endsWith('.js') && out.entryPoint && cjsDefaultOnly.test(readFileSync(`${root}${file}`, 'utf8')))
  .map(([, out]) => out.entryPoint);
if (offenders.length) {
  console.error(
    `build-bundle: dynamic import() of CommonJS package(s) ${offenders.join(', ')}: named exports would be undefined in the bundle;`,
  );
  console.error('  import the package statically in a module of ours (see src/app/yaml-output.ts) and import() that module instead.');
  process.exit(1);
}
