import type { Command } from 'commander';
import type { PrimaryStrategy } from '../app/upgrade/plan.js';
import { UsageError } from '../errors.js';
import { choice, collect, intOption } from './options.js';

/**
 * app/upgrade/plan.ts's PRIMARY_STRATEGIES, repeated so that registering the command does not load
 * the upgrade planner (and with it the renderer and handlebars) for every pgha command; a unit
 * test keeps the two equal.
 */
export const PRIMARY_STRATEGIES = ['switchover', 'pause'] as const satisfies readonly PrimaryStrategy[];

export function registerUpgrade(program: Command): void {
  program
    .command('upgrade')
    .description('rolling package upgrade, one host at a time, replicas before the leader (safe to re-run after an interruption)')
    .argument('<dir>', 'cluster directory')
    .requiredOption('--components <list>', 'patroni,postgres,etcd,haproxy,pgbouncer or all')
    .option('-e, --extra-vars <KEY=VALUE>', 'e.g. -e patroni_package_version=3.0.2-1 (repeatable)', collect, [])
    .option(
      '--primary-strategy <how>',
      'Patroni on the leader: pause (restart Patroni paused, PostgreSQL left running) or switchover',
      choice('--primary-strategy', PRIMARY_STRATEGIES),
      'pause',
    )
    .option(
      '--health-grace <seconds>',
      'how long an unhealthy cluster may take to recover before the upgrade is refused',
      intOption('--health-grace', 0, 3600),
      30,
    )
    .action(async (dir: string, o: { components: string; extraVars: string[]; primaryStrategy: PrimaryStrategy; healthGrace: number }) => {
      const [{ parseComponents }, { upgrade }, { progressMode }, { parseExtraVars }] = await Promise.all([
        import('../app/upgrade/plan.js'),
        import('../app/upgrade.js'),
        import('../app/progress.js'),
        import('../config/extra-vars.js'),
      ]);
      const { components, unknown } = parseComponents(o.components);
      if (unknown.length)
        throw new UsageError(`--components: unknown ${unknown.join(', ')} (known: etcd, patroni, postgres, pgbouncer, haproxy, all)`);
      const result = await upgrade(
        dir,
        {
          components,
          extraVars: parseExtraVars(o.extraVars),
          primaryStrategy: o.primaryStrategy,
          healthGraceSec: o.healthGrace,
          log: (line) => process.stderr.write(`${line}\n`),
        },
        progressMode(),
      );
      process.stdout.write(`${result.summary}\n`);
    });
}
