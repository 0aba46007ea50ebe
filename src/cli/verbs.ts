/** patronictl's verbs: restart, reload, reinit, pause, resume, failover, history, show-config, edit-config. */
import type { Command } from 'commander';
import { choice, collect } from './options.js';

/** The use-cases load when a verb runs, not when pgha starts. */
const app = () => import('../app/verbs/index.js');
const pure = () => import('../app/verbs/pure.js');

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerVerbs(program: Command): void {
  program
    .command('restart')
    .description('restart PostgreSQL through Patroni: replicas first, the leader last, one at a time, each back before the next')
    .argument('<dir>', 'cluster directory')
    .argument('[members...]', 'only these members (default: all)')
    .option('--pending', 'only members with a pending restart (parameters that need one)', false)
    .option('--scheduled <ISO8601>', 'let Patroni restart each member at this time (with a time zone)')
    .action(async (dir: string, members: string[], o: { pending: boolean; scheduled?: string }) => {
      await (
        await app()
      ).restart(
        dir,
        { members, pending: o.pending, scheduled: o.scheduled === undefined ? undefined : (await pure()).parseSchedule(o.scheduled) },
        out,
      );
    });

  program
    .command('reload')
    .description("make Patroni re-read its configuration and reload PostgreSQL's (POST /reload)")
    .argument('<dir>', 'cluster directory')
    .argument('[members...]', 'only these members (default: all)')
    .action(async (dir: string, members: string[]) => (await app()).reload(dir, members, out));

  program
    .command('reinit')
    .description('rebuild a replica from the leader (its data directory is removed)')
    .argument('<dir>', 'cluster directory')
    .argument('<member>', 'the replica to rebuild')
    .option('--force', 'do not ask for confirmation, and cancel any action Patroni is running on it', false)
    .action(async (dir: string, member: string, o: { force: boolean }) => (await app()).reinit(dir, member, o.force, out));

  program
    .command('pause')
    .description('maintenance mode: Patroni stops failing over and managing PostgreSQL (PATCH /config {"pause": true})')
    .argument('<dir>', 'cluster directory')
    .option('--wait', 'wait until every member reports it', false)
    .action(async (dir: string, o: { wait: boolean }) => (await app()).setPause(dir, true, o.wait, out));

  program
    .command('resume')
    .description('leave maintenance mode (PATCH /config {"pause": false})')
    .argument('<dir>', 'cluster directory')
    .option('--wait', 'wait until every member reports it', false)
    .action(async (dir: string, o: { wait: boolean }) => (await app()).setPause(dir, false, o.wait, out));

  program
    .command('failover')
    .description('promote a member when the leader is gone (POST /failover); with a healthy leader, use switchover')
    .argument('<dir>', 'cluster directory')
    .requiredOption('--candidate <member>', 'the member to promote')
    .option('--force', 'fail over even though a healthy leader exists (skips the switchover checks)', false)
    .action(async (dir: string, o: { candidate: string; force: boolean }) => (await app()).failover(dir, o.candidate, o.force, out));

  program
    .command('history')
    .description('failovers and switchovers of the cluster, one line per timeline (GET /history)')
    .argument('<dir>', 'cluster directory')
    .option('-o, --output <format>', 'table or json', choice('--output', ['table', 'json'] as const), 'table')
    .action(async (dir: string, o: { output: 'table' | 'json' }) => {
      const entries = await (await app()).history(dir);
      out(o.output === 'json' ? JSON.stringify(entries, null, 2) : (await pure()).historyTable(entries));
    });

  program
    .command('show-config')
    .description('the dynamic configuration Patroni keeps in etcd (GET /config)')
    .argument('<dir>', 'cluster directory')
    .option('-o, --output <format>', 'yaml or json', choice('--output', ['yaml', 'json'] as const), 'yaml')
    .action(async (dir: string, o: { output: 'yaml' | 'json' }) => {
      const config = await (await app()).showConfig(dir);
      process.stdout.write(await (await import('../app/output.js')).dataText(config, o.output));
    });

  program
    .command('edit-config')
    .description('change the dynamic configuration: shows a diff, asks, then PATCH /config')
    .argument('<dir>', 'cluster directory')
    .option('-s, --set <KEY=VALUE>', 'dotted key, VALUE parsed as YAML; empty or null removes the key (repeatable)', collect, [])
    .option('-p, --pg <PARAM=VALUE>', 'a postgresql.parameters entry; empty or null removes it (repeatable)', collect, [])
    .option('--force', 'apply without asking (needed when there is no terminal)', false)
    .addHelpText(
      'after',
      "\nconfig.yml stays the source of truth: `pgha deploy` sets the keys its patroni_dynamic_conf_settings (and pgha's defaults) name back to their values.",
    )
    .action(async (dir: string, o: { set: string[]; pg: string[]; force: boolean }) =>
      (await app()).editConfig(dir, { sets: o.set, params: o.pg, force: o.force }, out),
    );
}
