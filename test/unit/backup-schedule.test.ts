/**
 * Scheduled backups (issue 13): pgbackrest_schedule's entries become a oneshot service and a
 * timer per backup type on the repository host, only the timers are units deploy starts, a null
 * removes an entry, the schema refuses what systemd would not read, and a removed entry's timer is
 * found and removed by the component's step. backup-standby follows the stanza's replicas.
 */
import { describe, expect, it } from 'vitest';
import { componentNamed } from '../../src/components/registry.js';
import { pgbackrestDocument } from '../../src/components/pgbackrest/config.js';
import { backupSchedule, backupScheduleFiles, backupTimers, unscheduleCommand } from '../../src/components/pgbackrest/schedule.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateConfig } from '../../src/config/validate.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import type { Plain } from '../../src/model/merge.js';
import { resolveCluster } from '../../src/model/resolve.js';
import type { ClusterConfig, ResolvedCluster, ResolvedHost } from '../../src/model/types.js';
import { loadExample, ROOT } from '../golden/inputs.js';

const host = (c: ResolvedCluster, name: string): ResolvedHost => c.hosts.find((h) => h.name === name)!;

const EXAMPLE = 'm1-pgbackrest-debian12';

/** The example with `vars` over its cluster_vars (as -e would), its instances changed by `edit`. */
function withVars(vars: Plain, edit?: (c: ClusterConfig) => void): ResolvedCluster {
  const config = parse(readFileSync(join(ROOT, 'examples', EXAMPLE, 'config.yml'), 'utf8')) as ClusterConfig;
  edit?.(config);
  return resolveCluster(config, vars);
}

describe('pgbackrest_schedule', () => {
  it('defaults to a weekly full backup and a differential one on the other nights', () => {
    const c = loadExample(EXAMPLE);
    expect(backupSchedule(host(c, 'backup1'))).toEqual([
      { type: 'full', calendar: 'Sun *-*-* 01:00:00' },
      { type: 'diff', calendar: 'Mon..Sat *-*-* 01:00:00' },
    ]);
    expect(backupTimers(c, host(c, 'backup1'))).toEqual(['pgha-pgbackrest-backup-full.timer', 'pgha-pgbackrest-backup-diff.timer']);
  });

  it('renders the units on the repository host only, and starts only the timers', () => {
    const c = loadExample(EXAMPLE);
    const pgbackrest = componentNamed('pgbackrest')!;
    expect(pgbackrest.units(c, host(c, 'backup1'))).toEqual([
      'pgha-pgbackrest.service',
      'pgha-pgbackrest-backup-full.timer',
      'pgha-pgbackrest-backup-diff.timer',
    ]);
    expect(pgbackrest.units(c, host(c, 'pg1'))).toEqual(['pgha-pgbackrest.service']);
    expect(backupScheduleFiles(c, host(c, 'pg1'))).toEqual([]);
    const files = backupScheduleFiles(c, host(c, 'backup1'));
    const service = files.find((f) => f.path.endsWith('-full.service'))!.content;
    expect(service).toContain('Type=oneshot\nUser=postgres\nGroup=postgres\n');
    expect(service).toContain('ExecStart=/usr/bin/pgbackrest --stanza=backed --type=full backup\n');
    expect(service).not.toContain('[Install]');
    const timer = files.find((f) => f.path.endsWith('-diff.timer'))!.content;
    expect(timer).toContain('OnCalendar=Mon..Sat *-*-* 01:00:00\nPersistent=true\nUnit=pgha-pgbackrest-backup-diff.service\n');
    expect(timer).toContain('WantedBy=timers.target');
  });

  it('layers: a null removes an entry, a new one adds its type, the variable null removes them all', () => {
    const c = withVars({ pgbackrest_schedule: { diff: null, incr: '*-*-* 0/4:00:00' } });
    expect(backupSchedule(host(c, 'backup1')).map((s) => s.type)).toEqual(['full', 'incr']);
    const none = withVars({ pgbackrest_schedule: null });
    expect(backupTimers(none, host(none, 'backup1'))).toEqual([]);
    expect(backupScheduleFiles(none, host(none, 'backup1'))).toEqual([]);
  });

  it('restarts a timer whose file changes; a backup service needs only the daemon-reload', () => {
    const c = loadExample(EXAMPLE);
    const react = (p: string) => componentNamed('pgbackrest')!.reactions(c, p);
    expect(react('/etc/systemd/system/pgha-pgbackrest-backup-full.timer')).toEqual([
      { unit: 'pgha-pgbackrest-backup-full.timer', how: 'restart' },
    ]);
    expect(react('/etc/systemd/system/pgha-pgbackrest-backup-full.service')).toEqual([]);
  });

  it('is refused by the schema for an unknown type or a value systemd would not read as one line', () => {
    const problems = (schedule: string) => {
      const text = readFileSync(join(ROOT, 'examples', EXAMPLE, 'config.yml'), 'utf8').replace(
        /^cluster_vars:\n/m,
        `cluster_vars:\n  pgbackrest_schedule: ${schedule}\n`,
      );
      try {
        validateConfig(parseConfigText(text, 'config.yml'));
        return '';
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        return e.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
      }
    };
    expect(problems('{full: "Sun *-*-* 01:00:00", diff: null}')).toBe('');
    expect(problems('{weekly: "Sun"}')).toMatch(/pgbackrest_schedule.*must be one of full, diff, incr/);
    expect(problems('{full: "Sun\\nExecStart=/bin/sh"}')).toMatch(/pgbackrest_schedule\.full: must be a systemd OnCalendar expression/);
  });

  it('removes the timers of a repository host no data node names any more: no stanza step, the unschedule step stays', () => {
    const orphan = withVars({ backup: null });
    expect(backupTimers(orphan, host(orphan, 'backup1'))).toEqual([]);
    expect(componentNamed('pgbackrest')!.clusterSteps!(orphan).map((s) => s.name)).toEqual(['unschedule']);
  });

  it('removes only the timers it no longer keeps, and only reports when checking', () => {
    const check = unscheduleCommand(['pgha-pgbackrest-backup-full.timer'], { checkOnly: true });
    expect(check.intent).toEqual({ kind: 'pgbackrest-unschedule', keep: ['pgha-pgbackrest-backup-full.timer'], checkOnly: true });
    expect(check.script).not.toMatch(/disable|rm -f/);
    expect(check.script).toContain("keep=' pgha-pgbackrest-backup-full.timer '");
    const apply = unscheduleCommand([]);
    expect(apply.script).toContain('systemctl disable --now -q "$unit"');
    expect(apply.script).toContain('rm -f "$f" "${f%.timer}.service"');
    expect(apply.script).toContain('systemctl daemon-reload');
  });
});

describe('backup-standby', () => {
  it('reads backups from a standby where the stanza has a replica, overridable', () => {
    const c = loadExample(EXAMPLE);
    const global = (cl: ResolvedCluster) => pgbackrestDocument(cl, host(cl, 'backup1')).global as Plain;
    expect(global(c)['backup-standby']).toBe(true);
    const off = withVars({ pgbackrest_conf_settings: { global: { 'backup-standby': false } } });
    expect(global(off)['backup-standby']).toBe(false);
  });

  it('is left out for a stanza of one data node: there is no standby to read from', () => {
    const single = withVars({}, (config) => {
      // backup is set in cluster_vars: only pg1 keeps it.
      for (const inst of config.instances) if (inst.Name !== 'pg1') inst.vars = { ...inst.vars, backup: null };
    });
    expect(pgbackrestDocument(single, host(single, 'backup1')).global).not.toHaveProperty('backup-standby');
  });
});
