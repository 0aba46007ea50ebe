/**
 * Progress an operator can watch: listr2 on a terminal, plain lines when stdout is not a TTY or
 * CI is set (DESIGN §1). Phases run in order; a failing phase stops the run with its error.
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
  const list = new Listr(
    phases.map((p) => ({ title: p.title, task: async () => void (await p.run()) })),
    { renderer, exitOnError: true, rendererOptions: { timer: PRESET_TIMER } },
  );
  await list.run();
}
