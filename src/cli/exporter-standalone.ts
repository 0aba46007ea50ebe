/**
 * `pgha exporter` as the single file a monitoring host runs (scripts/build-exporter.mjs bundles
 * ./exporter-bin.ts into dist/exporter/pgha-exporter.mjs): the same options, environment and
 * behaviour as `pgha exporter`, minus `--cluster DIR` (an operator's directory is not on that
 * host). Parsed with node:util's parseArgs rather than commander, which needs node 20: Debian
 * 12's nodejs is 18.
 */
import { parseArgs } from 'node:util';
import { ExitCode, PghaError } from '../errors.js';
import type { ExporterFlags } from '../app/exporter/options.js';
import { runExporterWith, type ExporterIo } from '../app/exporter/run.js';
import { EXPORTER_OPTIONS, type ExporterOptionSpec } from './exporter-options.js';
import { formatError } from './format-error.js';

const OPTIONS = EXPORTER_OPTIONS.filter((o) => !o.operatorOnly);

interface Parsed {
  short: string | undefined;
  long: string;
  takesValue: boolean;
}

function spelling(o: ExporterOptionSpec): Parsed {
  const m = /^(?:-(\w), )?--([\w-]+)( <[^>]+>)?$/.exec(o.flags);
  if (!m) throw new Error(`bug: option spelling ${o.flags}`);
  return { short: m[1], long: m[2]!, takesValue: m[3] !== undefined };
}

export function usage(): string {
  const rows = OPTIONS.map((o) => [o.flags, o.description] as const);
  const width = Math.max(...rows.map(([f]) => f.length), '-h, --help'.length) + 2;
  return [
    'Usage: pgha-exporter [options]',
    '',
    "Serve Patroni's state as Prometheus metrics (pgha exporter, as a monitoring host runs it).",
    '',
    'Options:',
    ...rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`),
    `  ${'-h, --help'.padEnd(width)}display help for command`,
    '',
  ].join('\n');
}

/** argv → ExporterFlags (strings, as commander gives them to pgha exporter), or help. */
export function parseStandaloneArgs(args: readonly string[]): { help: true } | { help: false; flags: ExporterFlags } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  const keyOf = new Map<string, keyof ExporterFlags>();
  for (const o of OPTIONS) {
    const s = spelling(o);
    options[s.long] = { type: s.takesValue ? 'string' : 'boolean', ...(s.short ? { short: s.short } : {}) };
    keyOf.set(s.long, o.key);
  }
  const { values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  if (values.help === true) return { help: true };
  const flags: Record<string, string | boolean> = {};
  for (const [long, v] of Object.entries(values)) {
    const key = keyOf.get(long);
    if (key !== undefined && v !== undefined) flags[key] = v;
  }
  return { help: false, flags };
}

export async function exporterMain(argv: readonly string[], io: ExporterIo & { stdout: NodeJS.WritableStream }): Promise<number> {
  let parsed: ReturnType<typeof parseStandaloneArgs>;
  try {
    parsed = parseStandaloneArgs(argv.slice(2));
  } catch (e) {
    // parseArgs' own messages name the option (unknown, or missing its value).
    io.stderr.write(`error: ${(e as Error).message}\n(run with --help for usage)\n`);
    return ExitCode.usage;
  }
  if (parsed.help) {
    io.stdout.write(usage());
    return ExitCode.ok;
  }
  try {
    return await runExporterWith(parsed.flags, io, {});
  } catch (e) {
    if (e instanceof PghaError) {
      io.stderr.write(formatError(e));
      return e.exitCode;
    }
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    io.stderr.write(`pgha-exporter: internal error — this is a bug, please report it with the output below.\n${detail}\n`);
    return ExitCode.runtime;
  }
}
