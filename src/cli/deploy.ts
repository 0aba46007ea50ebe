import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { collect, intOption } from './options.js';

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('turn the hosts into a working cluster (safe to run again at any time)')
    .argument('<dir>', 'cluster directory')
    .option('--check', 'only show what would change; exit 10 when something would', false)
    .option('--diff', 'show unified diffs of changed files (secrets masked)', false)
    .option('-e, --extra-vars <KEY=VALUE>', 'top layer, VALUE parsed as YAML (repeatable)', collect, [])
    .option('--prune', 'drop the roles and databases pgha created that config.yml no longer declares (without it they are reported)', false)
    .option('--hosts <a,b>', 'only these hosts (comma-separated)')
    .option('--concurrency <n>', 'hosts worked on at once', intOption('--concurrency', 1, 256), 16)
    .action(
      async (
        dir: string,
        o: { check: boolean; diff: boolean; prune: boolean; extraVars: string[]; hosts?: string; concurrency: number },
      ) => {
        const [{ deploy }, { progressMode }, { parseExtraVars }] = await Promise.all([
          import('../app/deploy/index.js'),
          import('../app/progress.js'),
          import('../config/extra-vars.js'),
        ]);
        // An empty list would read as "no filter" and deploy to every host: the opposite of intent.
        const hosts = o.hosts
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (hosts !== undefined && hosts.length === 0) {
          throw new UsageError(
            `--hosts ${JSON.stringify(o.hosts)}: names no host; give instance Names (e.g. --hosts pg1,pg2), or leave --hosts out for all hosts`,
          );
        }
        const result = await deploy(
          dir,
          {
            check: o.check,
            diff: o.diff,
            prune: o.prune,
            extraVars: parseExtraVars(o.extraVars),
            hosts,
            concurrency: o.concurrency,
          },
          progressMode(),
        );
        process.stdout.write(`${result.summary}\n`);
        if (process.env.PGHA_REPORT_ROUNDTRIPS) process.stdout.write(`ssh round trips: ${JSON.stringify(result.roundTrips)}\n`);
        process.exitCode = result.exitCode;
      },
    );
}
