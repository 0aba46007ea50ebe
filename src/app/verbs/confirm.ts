/** Interactive confirmation for commands that change a running cluster. */
import { createInterface } from 'node:readline/promises';
import { RefusedError } from '../../errors.js';

/**
 * Ask on the terminal; without one (a script, CI) there is nobody to ask, so refuse and name
 * the flag rather than go ahead silently.
 */
export async function confirmOrRefuse(question: string, force: boolean, what: string): Promise<void> {
  if (force) return;
  if (!process.stdin.isTTY) {
    throw new RefusedError(`${what}: no terminal to confirm on`, [], { hint: 'review the plan above and run again with --force' });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new RefusedError(`${what}: not confirmed, nothing changed`, []);
  } finally {
    rl.close();
  }
}
