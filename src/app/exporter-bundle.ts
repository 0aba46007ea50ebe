/**
 * The exporter's single-file build (dist/exporter/pgha-exporter.mjs, scripts/build-exporter.mjs),
 * which deploy installs on a monitoring host. Found from this module as the templates are: src/app/,
 * dist/app/ and dist/bundle/ are all two levels below the package root. Read once per process, and
 * only when a monitoring host is rendered.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '../errors.js';

const BUNDLE = fileURLToPath(new URL('../../dist/exporter/pgha-exporter.mjs', import.meta.url));

let cached: string | undefined;

export function readExporterBundle(): string {
  if (cached !== undefined) return cached;
  try {
    cached = readFileSync(BUNDLE, 'utf8');
  } catch (e) {
    throw new RuntimeError(`cannot read the exporter a monitoring host runs, ${BUNDLE}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'run `npm run build` in pgha’s directory (it builds dist/exporter/ with the rest), then run this again',
    });
  }
  return cached;
}
