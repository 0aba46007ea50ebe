import { formatProblem, type ConfigProblem } from '../errors.js';

export function printWarnings(warnings: readonly ConfigProblem[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
}
