import type { Command } from 'commander';
import { collect } from './options.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('print the resolved value of a variable on a host and the layer that set it')
    .argument('<dir>', 'cluster directory')
    .argument('<host>', 'instance Name')
    .argument('<var>', 'variable, or a dotted path into one (patroni_conf_settings.log.level)')
    .option('-e, --extra-vars <KEY=VALUE>', 'top layer, VALUE parsed as YAML (repeatable)', collect, [])
    .action(async (dir: string, host: string, v: string, o: { extraVars: string[] }) => {
      const [{ loadCluster }, { explainVariable }, { parseExtraVars }] = await Promise.all([
        import('../app/cluster-dir.js'),
        import('../app/explain.js'),
        import('../config/extra-vars.js'),
      ]);
      const loaded = loadCluster(dir, parseExtraVars(o.extraVars));
      process.stdout.write(`${explainVariable(loaded.cluster, host, v)}\n`);
    });
}
