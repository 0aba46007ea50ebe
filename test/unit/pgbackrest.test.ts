/**
 * pgBackRest's first slice (issue 13): what `configure --enable-pgbackrest` writes, what a
 * cluster with a backup host renders (both ends of the TLS transport, the unit, Patroni's
 * archiving) and that a cluster without one renders nothing of it. The whole files are in the
 * goldens (examples/m1-pgbackrest-debian12 and -debian13); these tests name the decisions.
 */
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { HealthProbe } from '../../src/components/health.js';
import { componentNamed } from '../../src/components/registry.js';
import { archivingDcs, replicaFromRepository } from '../../src/components/patroni/archiving.js';
import { desiredDcs } from '../../src/components/patroni/dcs.js';
import { patroniDocument } from '../../src/components/patroni/config.js';
import { pgbackrestHealth } from '../../src/components/pgbackrest/health.js';
import { pgbackrestDirs, pgbackrestDocument, pgbackrestIni } from '../../src/components/pgbackrest/config.js';
import { repositoryPath, stanzaCommand, stanzaHosts } from '../../src/components/pgbackrest/stanza.js';
import { backedUpBy, backupHostOf, runsPgbackrest } from '../../src/components/pgbackrest/topology.js';
import { buildConfig } from '../../src/config/configure.js';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { stripNulls, type Plain } from '../../src/model/merge.js';
import { resolveCluster } from '../../src/model/resolve.js';
import type { ClusterConfig, ResolvedCluster, ResolvedHost } from '../../src/model/types.js';
import { barePlatform } from '../../src/platforms/bare/index.js';
import { nspawnPlatform } from '../../src/platforms/nspawn/index.js';
import { renderCluster } from '../../src/render/index.js';
import type { Command } from '../../src/transport/quote.js';
import { fakeInputs, loadExample } from '../golden/inputs.js';
import { configureOptions } from './configure-options.js';

const host = (c: ResolvedCluster, name: string): ResolvedHost => {
  const h = c.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
};
const section = (doc: Plain, name: string): Plain => doc[name] as Plain;

describe('configure --enable-pgbackrest', () => {
  it('adds backup1 at the next free address and names it on every data node', () => {
    const cfg = buildConfig(configureOptions({ enableHaproxy: true, enablePgbackrest: true }), nspawnPlatform.configure);
    const names = cfg.instances.map((i) => [i.Name, i.role.join('+'), i.ip_address.split('.')[3], i.backup ?? '-']);
    expect(names).toEqual([
      ['pg1', 'primary+etcd', '11', 'backup1'],
      ['pg2', 'replica+etcd', '12', 'backup1'],
      ['pg3', 'replica+etcd', '13', 'backup1'],
      ['proxy1', 'haproxy', '14', '-'],
      ['backup1', 'pgbackrest', '15', '-'],
      ['proxy2', 'haproxy', '16', '-'],
    ]);
  });

  it('writes a config.yml that validates, and nothing of pgBackRest without the flag', () => {
    const cfg = buildConfig(configureOptions({ enablePgbackrest: true, osVersion: 13 }), nspawnPlatform.configure);
    const doc = parseConfigText(stringify(cfg), 'config.yml');
    expect(validateConfig(doc).warnings).toEqual([]);
    const plain = buildConfig(configureOptions(), nspawnPlatform.configure);
    expect(plain.instances.some((i) => i.backup !== undefined || i.role.includes('pgbackrest'))).toBe(false);
  });

  it('names the listed host that keeps backups on bare', () => {
    const hostnames = ['db1', 'db2', 'db3', 'vault'].map((name, i) => ({ name, ip: `192.168.1.${i + 1}` }));
    const cfg = buildConfig(configureOptions({ platform: 'bare', hostnames, enablePgbackrest: true }), barePlatform.configure);
    expect(cfg.instances.map((i) => i.backup ?? i.role.join('+'))).toEqual(['vault', 'vault', 'vault', 'pgbackrest']);
  });
});

describe('topology', () => {
  const c = loadExample('m1-pgbackrest-debian13');

  it('runs pgBackRest on the repository host and the data nodes naming it, not on the proxy', () => {
    expect(c.hosts.filter((h) => runsPgbackrest(c, h)).map((h) => h.name)).toEqual(['pg1', 'pg2', 'pg3', 'backup1']);
    expect(backupHostOf(c, host(c, 'pg2'))?.name).toBe('backup1');
    expect(backedUpBy(c, host(c, 'backup1')).map((h) => h.name)).toEqual(['pg1', 'pg2', 'pg3']);
  });

  it('resolves the instance key as the variable backup, set by the instance layer', () => {
    expect(host(c, 'pg1').vars.backup).toBe('backup1');
    expect(host(c, 'pg1').provenance.get('backup')).toBe('instance');
    expect(host(c, 'proxy1').vars.backup).toBeUndefined();
  });

  it('is inert without a backup host: no host runs it, and Patroni gains nothing', () => {
    for (const example of ['m1-haproxy-nspawn', 'm1-overrides', 'm1-pgbouncer-bare']) {
      const plain = loadExample(example);
      expect(plain.hosts.some((h) => runsPgbackrest(plain, h))).toBe(false);
      for (const h of plain.hosts) {
        expect(archivingDcs(h.vars, plain.name)).toEqual({});
        expect(replicaFromRepository(h.vars, plain.name)).toEqual({});
      }
    }
  });
});

describe.each([12, 13])('rendered on Debian %i', (v) => {
  const c = loadExample(`m1-pgbackrest-debian${v}`);
  const rendered = renderCluster(c, fakeInputs(c));
  const files = (name: string) => rendered.get(name) ?? [];
  const repo = pgbackrestDocument(c, host(c, 'backup1'));
  const node = pgbackrestDocument(c, host(c, 'pg2'));
  const stanza = 'backed';
  const ip = (n: number) => `10.10.${v}.${n}`;

  it('lists every data node on the repository host as a TLS pg host, and admits their certificates', () => {
    const s = section(repo, stanza);
    for (const [i, n] of [11, 12, 13].entries()) {
      // By name: pgBackRest compares the dialled name with the certificate's DNS names only.
      expect(s).toMatchObject({ [`pg${i + 1}-host`]: `pg${n - 10}`, [`pg${i + 1}-host-type`]: 'tls', [`pg${i + 1}-host-port`]: 8432 });
      expect(s[`pg${i + 1}-path`]).toBe(`/var/lib/postgresql/${v === 12 ? 15 : 17}/backed`);
    }
    const g = section(repo, 'global');
    expect(g).toMatchObject({ 'repo1-path': '/var/lib/pgbackrest', 'tls-server-address': ip(31), 'tls-server-port': 8432 });
    expect(g['tls-server-auth']).toEqual(['pg1=backed', 'pg2=backed', 'pg3=backed']);
    expect(g['repo1-host']).toBeUndefined();
  });

  it('points each data node at the repository over TLS, admitting only the repository host', () => {
    const g = section(node, 'global');
    expect(g).toMatchObject({ 'repo1-host': 'backup1', 'repo1-host-type': 'tls', 'repo1-host-port': 8432, 'archive-async': true });
    expect(g['tls-server-auth']).toEqual(['backup1=backed']);
    // The repository's own defaults stay on the repository host (a setting in cluster_vars reaches both).
    expect(g['start-fast']).toBeUndefined();
    expect(g['repo1-path']).toBeUndefined();
    expect(section(node, stanza)['pg1-path']).toBe(`/var/lib/postgresql/${v === 12 ? 15 : 17}/backed`);
  });

  it('layers pgbackrest_conf_settings over the defaults, a null removing one', () => {
    expect(section(repo, 'global')['repo1-retention-full']).toBe(3);
    expect(section(repo, 'global')['compress-type']).toBe('zst');
    expect(section(repo, 'global')).not.toHaveProperty('log-level-file');
    expect(section(node, 'global')).not.toHaveProperty('log-level-file');
  });

  it('writes the ini with y/n and a repeated option per list item', () => {
    const ini = pgbackrestIni(repo);
    expect(ini).toContain('\n[global]\n');
    expect(ini).toContain('\nstart-fast=y\n');
    expect(ini.match(/^tls-server-auth=/gm)).toHaveLength(3);
    expect(ini).toContain(`\n[${stanza}]\npg1-host=pg1\n`);
  });

  it('installs the configuration, the key (private), the unit and its directories on each host', () => {
    for (const name of ['pg1', 'backup1']) {
      const byPath = new Map(files(name).map((f) => [f.path, f]));
      expect(byPath.get('/etc/pgbackrest/pgbackrest.conf')).toMatchObject({ owner: 'root', group: 'postgres', mode: 0o640 });
      expect(byPath.get('/etc/pgbackrest/ssl/node.key')).toMatchObject({ owner: 'postgres', mode: 0o600, sensitive: true });
      expect(byPath.get('/etc/systemd/system/pgha-pgbackrest.service')?.content).toContain('ExecStart=/usr/bin/pgbackrest');
    }
    expect(files('proxy1').some((f) => f.path.includes('pgbackrest'))).toBe(false);
    expect(pgbackrestDirs(c, host(c, 'backup1'))).toEqual(['/var/log/pgbackrest', '/var/lib/pgbackrest']);
    expect(pgbackrestDirs(c, host(c, 'pg1'))).toEqual(['/var/log/pgbackrest', '/var/spool/pgbackrest']);
  });

  it('archives through Patroni and builds replicas from the repository first', () => {
    const dcs = stripNulls(desiredDcs(host(c, 'pg1').vars, c.name));
    expect((dcs.postgresql as Plain).parameters).toMatchObject({
      archive_mode: 'on',
      archive_command: 'pgbackrest --stanza=backed archive-push %p',
      restore_command: 'pgbackrest --stanza=backed archive-get %f "%p"',
    });
    const doc = patroniDocument(c, host(c, 'pg3'), fakeInputs(c));
    const pg = doc.postgresql as Plain;
    expect(pg.create_replica_methods).toEqual(['pgbackrest', 'basebackup']);
    expect(pg.pgbackrest).toEqual({ command: 'pgbackrest --stanza=backed --delta restore', keep_data: true, no_params: true });
  });

  it('lets patroni_dynamic_conf_settings override the archiving parameters', () => {
    const vars = { ...host(c, 'pg1').vars, patroni_dynamic_conf_settings: { postgresql: { parameters: { restore_command: null } } } };
    const params = (desiredDcs(vars, c.name).postgresql as Plain).parameters as Plain;
    expect(params.restore_command).toBeNull();
    expect(params.archive_mode).toBe('on');
  });
});

describe('the registry entry', () => {
  const component = componentNamed('pgbackrest');
  const c = loadExample('m1-pgbackrest-debian12');

  it('installs Debian’s pgbackrest, pinned by pgbackrest_package_version', () => {
    expect(component?.packages(host(c, 'pg1'))).toEqual([{ name: 'pgbackrest' }]);
    const pinned = resolveCluster(configForPin(), { pgbackrest_package_version: '2.45-1' });
    expect(component?.packages(pinned.hosts[0]!)).toEqual([{ name: 'pgbackrest', version: '2.45-1' }]);
  });

  it('restarts its server when its configuration, certificates, unit or directories change', () => {
    for (const path of [
      '/etc/pgbackrest/pgbackrest.conf',
      '/etc/pgbackrest/ssl/node.crt',
      '/etc/systemd/system/pgha-pgbackrest.service',
      '/etc/tmpfiles.d/pgha-pgbackrest.conf',
    ]) {
      expect(component?.reactions(c, path)).toEqual([{ unit: 'pgha-pgbackrest.service', how: 'restart' }]);
    }
    expect(component?.reactions(c, '/etc/patroni/backed.yml')).toEqual([]);
  });

  it('declares its port for the clash checks', () => {
    expect(component?.ports?.(c, host(c, 'pg1'))).toEqual([expect.objectContaining({ variable: 'pgbackrest_port' })]);
  });
});

/** The smallest config with one data node: enough to resolve a pin. */
function configForPin(): ClusterConfig {
  return {
    architecture: 'M1',
    cluster_name: 'c',
    cluster_vars: {},
    locations: [{ Name: 'main' }],
    instance_defaults: { platform: 'nspawn' },
    instances: [{ Name: 'pg1', node: 1, location: 'main', role: ['primary'], ip_address: '10.0.0.1' }],
  };
}

describe('pgbackrestHealth', () => {
  const c = loadExample('m1-pgbackrest-debian13');
  const onHost: string[] = [];
  const probeAnswering = (refused: string, check = { code: 0, stdout: '', stderr: '' }): HealthProbe =>
    ({
      cluster: c,
      onDataNode: (cmd: Command) =>
        Promise.resolve({ host: host(c, 'pg2'), result: { code: cmd.script.includes(refused) ? 1 : 0, stdout: '', stderr: '' } }),
      onHost: (h: ResolvedHost, cmd: Command) => {
        onHost.push(`${h.name}: ${cmd.intent?.kind ?? '?'}`);
        return Promise.resolve(check);
      },
    }) as unknown as HealthProbe;

  it('dials each host’s TLS server from a data node, and runs pgbackrest check on the repository host', async () => {
    const hosts = [host(c, 'backup1'), host(c, 'pg1')];
    expect(await pgbackrestHealth(probeAnswering('10.10.13.11/'), hosts)).toEqual([
      { name: 'pgBackRest backup1: TLS server', ok: true, detail: '10.10.13.31:8432 accepts connections (from pg2)' },
      { name: 'pgBackRest pg1: TLS server', ok: false, detail: '10.10.13.11:8432 refuses connections (from pg2)' },
      {
        name: 'pgBackRest backup1: stanza backed check',
        ok: true,
        detail: 'pgbackrest check passed: WAL archiving reaches the repository',
      },
    ]);
    expect(onHost).toEqual(['backup1: pgbackrest-check']);
  });

  it('reports pgbackrest check’s error line when it fails, and checks no repository it was not given', async () => {
    const failing = {
      code: 82,
      stdout: '',
      stderr:
        'P00   INFO: check command begin\nP00  ERROR: [082]: WAL segment 000000010000000000000005 was not archived before the 60000ms timeout\n',
    };
    const [, check] = await pgbackrestHealth(probeAnswering('none', failing), [host(c, 'backup1')]);
    expect(check).toEqual({
      name: 'pgBackRest backup1: stanza backed check',
      ok: false,
      detail:
        'pgbackrest check failed: P00  ERROR: [082]: WAL segment 000000010000000000000005 was not archived before the 60000ms timeout',
    });
    expect((await pgbackrestHealth(probeAnswering('none'), [host(c, 'pg1')])).map((r) => r.name)).toEqual(['pgBackRest pg1: TLS server']);
  });
});

describe('stanzaCommand', () => {
  it('plans with a file test only, and creates with retries then checks, pgBackRest’s output kept off stdout', () => {
    const check = stanzaCommand('backed', '/var/lib/pgbackrest', { checkOnly: true });
    expect(check.script).toBe(
      'test -s /var/lib/pgbackrest/backup/backed/backup.info && test -s /var/lib/pgbackrest/archive/backed/archive.info || echo changed',
    );
    expect(check.intent).toEqual({ kind: 'pgbackrest-stanza', stanza: 'backed', checkOnly: true });
    const create = stanzaCommand('backed', '/srv/repo').script;
    expect(create).toContain('runuser -u postgres -- pgbackrest --stanza=backed "$@" >&2');
    expect(create).toMatch(/until pgbr stanza-create; do[\s\S]*done\nfi\npgbr check\n$/);
    expect(create).toContain('test -s /srv/repo/backup/backed/backup.info');
  });

  it('finds the repository host and its path (repo1-path as configured)', () => {
    const c = loadExample('m1-pgbackrest-debian12');
    expect(stanzaHosts(c).map((s) => [s.host.name, s.stanza])).toEqual([['backup1', 'backed']]);
    expect(repositoryPath(c, host(c, 'backup1'))).toBe('/var/lib/pgbackrest');
    expect(stanzaHosts(loadExample('m1-haproxy-nspawn'))).toEqual([]);
  });

  it('is the component’s cluster step on the repository hosts, and none without one', () => {
    const c = loadExample('m1-pgbackrest-debian12');
    const [step, ...rest] = componentNamed('pgbackrest')!.clusterSteps!(c);
    // Then the removal of backup timers the schedule dropped (backup-schedule.test.ts).
    expect(rest.map((s) => s.name)).toEqual(['unschedule']);
    expect(step).toMatchObject({ name: 'stanza', on: { kind: 'role', role: 'pgbackrest' }, title: 'pgBackRest stanza' });
    expect(step!.describe(host(c, 'backup1'))).toBe('create stanza backed on backup1, then check archiving');
    expect(step!.check(host(c, 'backup1'), { secret: () => '' }).intent).toEqual({
      kind: 'pgbackrest-stanza',
      stanza: 'backed',
      checkOnly: true,
    });
    expect(componentNamed('pgbackrest')!.clusterSteps!(loadExample('m1-haproxy-nspawn'))).toEqual([]);
  });
});
