/** How an expected failure reads on stderr, for pgha and for the exporter's standalone bundle alike. */
import type { PghaError } from '../errors.js';

export function formatError(e: PghaError): string {
  const where = e.where ? `[${e.where}] ` : '';
  const hint = e.hint ? `\n  fix: ${e.hint}` : '';
  return `error: ${where}${e.message}${hint}\n`;
}
