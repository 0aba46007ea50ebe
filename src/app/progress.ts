/**
 * Progress an operator can watch: listr2 on a terminal, plain lines when stdout is not a TTY or
 * CI is set (docs/architecture.md#progress-output). Phases run in order; a failing phase stops the run with its error.
 */
import { Listr, PRESET_TIMER } from 'listr2';

export interface Phase {
  title: string;
  run: () => Promise<unknown>;
}

export type Progress = 'fancy' | 'plain' | 'silent';

export function progressMode(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Progress {
  return stream.isTTY && !env.CI ? 'fancy' : 'plain';
}

export async function runPhases(phases: readonly Phase[], mode: Progress): Promise<void> {
  const renderer = mode === 'fancy' ? 'default' : mode === 'plain' ? 'simple' : 'silent';
  // The caller prints a failure in full (reasons, fix); the phase line gets only its first line,
  // so that a multi-line refusal is not printed twice.
  let failure: unknown;
  const list = new Listr(
    phases.map((p) => ({
      title: p.title,
      task: async () => {
        try {
          await p.run();
        } catch (e) {
          failure = e;
          throw new Error(headline(e), { cause: e });
        }
      },
    })),
    { renderer, exitOnError: true, rendererOptions: { timer: PRESET_TIMER } },
  );
  try {
    await list.run();
  } catch (e) {
    throw failure ?? e;
  }
}

/** An error's first line, without the colon that introduces its list of reasons. */
export function headline(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (message.split('\n')[0] ?? '').replace(/:\s*$/, '');
}
