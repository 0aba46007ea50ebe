import type { Command } from 'commander';
import { loadCluster } from '../app/cluster-dir.js';
import { explainVariable } from '../app/explain.js';
import { parseExtraVars } from '../config/extra-vars.js';
import { collect } from './options.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('print the resolved value of a variable on a host and the layer that set it')
    .argument('<dir>', 'cluster directory')
    .argument('<host>', 'instance Name')
    .argument('<var>', 'variable, or a dotted path into one (patroni_conf_settings.log.level)')
    .option('-e, --extra-vars <KEY=VALUE>', 'top layer, VALUE parsed as YAML (repeatable)', collect, [])
    .action((dir: string, host: string, v: string, o: { extraVars: string[] }) => {
      const loaded = loadCluster(dir, parseExtraVars(o.extraVars));
      process.stdout.write(`${explainVariable(loaded.cluster, host, v)}\n`);
    });
}
