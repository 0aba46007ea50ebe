import type { Command } from 'commander';
import { collect } from './options.js';

export function registerRender(program: Command): void {
  program
    .command('render')
    .description('offline: print (or write under --out) every file deploy would write, secrets masked')
    .argument('<dir>', 'cluster directory')
    .option('--host <name>', 'only this host')
    .option('--file <name>', 'only files with this basename (patroni.yml, haproxy.cfg, pgbouncer.ini, …)')
    .option('--out <dir>', 'mirror the remote paths under DIR/<host>/ instead of printing')
    .option('-e, --extra-vars <KEY=VALUE>', 'top layer, VALUE parsed as YAML (repeatable)', collect, [])
    .action(async (dir: string, o: { host?: string; file?: string; out?: string; extraVars: string[] }) => {
      const [{ loadCluster }, { renderFiles }, { parseExtraVars }] = await Promise.all([
        import('../app/cluster-dir.js'),
        import('../app/render.js'),
        import('../config/extra-vars.js'),
      ]);
      const loaded = loadCluster(dir, parseExtraVars(o.extraVars));
      process.stdout.write(`${await renderFiles(loaded, o)}\n`);
    });
}
