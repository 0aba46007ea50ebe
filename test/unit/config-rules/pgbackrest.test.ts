import { describe, expect, it } from 'vitest';
import { eachHost, eachInstance } from '../../../src/config/rules/context.js';
import { backupNamesRepository, oneBackupHost, pgbackrestOffDataNodes, unusedRepository } from '../../../src/config/rules/pgbackrest.js';
import type { ClusterConfig } from '../../../src/model/types.js';
import { baseConfig, problems, run, withInstanceVars } from './helpers.js';

/** The base cluster plus a repository host, named by every data node's instance key. */
function backedUp(): ClusterConfig {
  const c = baseConfig();
  c.instances.push({ Name: 'backup1', node: 5, location: 'main', role: ['pgbackrest'], ip_address: '10.33.0.15' });
  for (const inst of c.instances.slice(0, 3)) inst.backup = 'backup1';
  return c;
}

describe('backupNamesRepository', () => {
  const rule = eachHost(backupNamesRepository);

  it('is quiet when backup names a pgbackrest host, by instance key or in cluster_vars, and without backups', () => {
    expect(problems(rule, backedUp())).toEqual([]);
    const c = backedUp();
    for (const inst of c.instances) delete inst.backup;
    c.cluster_vars.backup = 'backup1';
    expect(problems(rule, c)).toEqual([]);
    expect(problems(rule, baseConfig())).toEqual([]);
  });

  it('refuses a name no instance has, at the instance key, with its line', () => {
    const c = backedUp();
    c.instances[1]!.backup = 'backup2';
    const { errors } = run(rule, c);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^config\.yml:\d+: instances\[1\]\.backup: backup "backup2" of pg2 names no instance of this config\.yml; add an instance "backup2" with role \[pgbackrest\]/,
    );
  });

  it('refuses a host without role pgbackrest, once for every data node that names it in cluster_vars', () => {
    const c = baseConfig();
    c.cluster_vars.backup = 'proxy1';
    expect(problems(rule, c)).toEqual([
      'E cluster_vars.backup: backup "proxy1" of pg1, pg2, pg3 names instances[3] "proxy1", which has no role pgbackrest; add pgbackrest to its roles, or name the host that has it',
    ]);
  });

  it('blames the instance vars that set it', () => {
    const c = withInstanceVars(backedUp(), 2, { backup: 'pg1' });
    delete c.instances[2]!.backup;
    expect(problems(rule, c)).toEqual([
      'E instances[2].vars.backup: backup "pg1" of pg3 names instances[0] "pg1", which has no role pgbackrest; add pgbackrest to its roles, or name the host that has it',
    ]);
  });
});

describe('pgbackrestOffDataNodes', () => {
  const rule = eachInstance(pgbackrestOffDataNodes);

  it('is quiet for a repository host of its own', () => {
    expect(problems(rule, backedUp())).toEqual([]);
  });

  it('refuses role pgbackrest on a data node', () => {
    const c = backedUp();
    c.instances[2]!.role = ['replica', 'pgbackrest'];
    expect(problems(rule, c)).toEqual([
      'E instances[2].role[1]: pgbackrest cannot share an instance with primary or replica: the repository must survive the data nodes; give it an instance of its own',
    ]);
  });
});

describe('oneBackupHost', () => {
  it('is quiet when every data node names the same host, or none does', () => {
    expect(problems(oneBackupHost, backedUp())).toEqual([]);
    expect(problems(oneBackupHost, baseConfig())).toEqual([]);
  });

  it('refuses a data node without backup when the others have one', () => {
    const c = backedUp();
    delete c.instances[2]!.backup;
    expect(problems(oneBackupHost, c)).toEqual([
      'E instances[2]: pg3 has no backup host but pg1 has backup "backup1": every data node must name the same backup host (archiving is cluster-wide); set backup once in cluster_vars',
    ]);
  });

  it('refuses two different backup hosts', () => {
    const c = backedUp();
    c.instances.push({ Name: 'backup2', node: 6, location: 'main', role: ['pgbackrest'], ip_address: '10.33.0.16' });
    c.instances[1]!.backup = 'backup2';
    expect(problems(oneBackupHost, c)).toEqual([
      'E instances[1].backup: pg2 has backup "backup2" but pg1 has backup "backup1": every data node must name the same backup host (archiving is cluster-wide); set backup once in cluster_vars',
    ]);
  });
});

describe('unusedRepository', () => {
  const rule = eachInstance(unusedRepository);

  it('is quiet when a data node names it', () => {
    expect(problems(rule, backedUp())).toEqual([]);
  });

  it('warns about a repository host nobody names', () => {
    const c = backedUp();
    for (const inst of c.instances) delete inst.backup;
    expect(problems(rule, c)).toEqual([
      'W instances[4].role[0]: no data node names "backup1" with backup:, so it keeps no backups; add backup: backup1 to cluster_vars',
    ]);
  });
});
