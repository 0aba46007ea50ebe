/** The pure parts of `pgha upgrade`: versions, health gate, per-host plan, ordering, repository index. */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterProblems, pickCandidate } from '../../src/patroni/judge.js';
import { restartOntoNewBinaryCommand, statusScript, upgradeInstallCommand } from '../../src/app/upgrade/commands.js';
import {
  componentPackages,
  componentUnit,
  hostStep,
  parseComponents,
  parseStatus,
  postgresVersionNumber,
  rollingOrder,
  type HostComponentState,
} from '../../src/app/upgrade/plan.js';
import { compareDebianVersions } from '../../src/model/debian-version.js';
import { parsePackagesIndex } from '../../src/platforms/nspawn/packages-index.js';
import { missingVersions } from '../../src/platforms/nspawn/repo-versions.js';
import type { ClusterInfo, ClusterMember } from '../../src/patroni/types.js';
import { loadExample } from '../golden/inputs.js';
import { tempDirs } from './tempdirs.js';

const tempDir = tempDirs();
const hasDpkg = spawnSync('sh', ['-c', 'command -v dpkg']).status === 0;

function dpkgCompare(a: string, b: string): number {
  const is = (op: string) => spawnSync('dpkg', ['--compare-versions', a, op, b]).status === 0;
  return is('lt') ? -1 : is('eq') ? 0 : 1;
}

describe('compareDebianVersions', () => {
  it.each([
    ['3.0.2-1', '3.0.2-1+pgha2', -1],
    ['3.0.2-1+pgha2', '3.0.2-1+pgha3', -1],
    ['15.18-0+deb12u1', '15.20-0+deb12u1', -1],
    ['2.6.12-1+deb12u3', '2.6.12-1+deb12u4', -1],
    ['1.0~rc1', '1.0', -1],
    ['1.0', '1.0+b1', -1],
    ['1:1.0', '2.0', 1],
    ['1.01', '1.1', 0],
    ['3.4.23-4+b4', '3.4.23-4', 1],
    ['1.0a', '1.0+', -1],
    ['1.0', '1.0', 0],
  ])('%s vs %s → %i', (a, b, want) => {
    expect(compareDebianVersions(a, b)).toBe(want);
    expect(compareDebianVersions(b, a)).toBe(-want || 0);
  });

  it.skipIf(!hasDpkg)('agrees with dpkg --compare-versions', () => {
    const part = fc.stringMatching(/^[0-9][0-9a-z.+~]{0,5}$/);
    const version = fc
      .tuple(
        fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
        part,
        fc.option(fc.stringMatching(/^[0-9a-z][0-9a-z.+~]{0,4}$/), { nil: undefined }),
      )
      .map(([e, u, r]) => `${e === undefined ? '' : `${e}:`}${u}${r === undefined ? '' : `-${r}`}`);
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(compareDebianVersions(a, b)).toBe(dpkgCompare(a, b));
      }),
      { numRuns: 150 },
    );
  });
});

describe('postgresVersionNumber', () => {
  it('reads server_version_num from a Debian version', () => {
    expect(postgresVersionNumber('15.20-0+deb12u1')).toBe(150020);
    expect(postgresVersionNumber('1:16.4-1.pgdg120+1')).toBe(160004);
    expect(postgresVersionNumber('garbage')).toBeUndefined();
  });
});

describe('parseComponents', () => {
  it('keeps rolling order whatever the order given', () => {
    expect(parseComponents('haproxy,patroni')).toEqual({ components: ['patroni', 'haproxy'], unknown: [] });
    expect(parseComponents('all').components).toEqual([
      'etcd',
      'patroni',
      'postgres',
      'pgbouncer',
      'haproxy',
      'node_exporter',
      'postgres_exporter',
      'pgbouncer_exporter',
      'prometheus',
    ]);
    expect(parseComponents('patroni,pgpool').unknown).toEqual(['pgpool']);
  });
});

describe('component packages and units', () => {
  const c = loadExample('m1-pgbouncer-bare', { postgres_package_version: '15.20-0+deb12u1', patroni_package_version: '3.0.2-1+pgha2' });
  const host = (n: string) => c.hosts.find((h) => h.name === n)!;
  it('maps components to their Debian packages and pins', () => {
    expect(componentPackages('postgres', c, host('db1'))).toEqual([
      { name: 'postgresql-15', version: '15.20-0+deb12u1' },
      { name: 'postgresql-client-15', version: '15.20-0+deb12u1' },
    ]);
    expect(componentPackages('patroni', c, host('db1'))).toEqual([{ name: 'patroni', version: '3.0.2-1+pgha2' }]);
    expect(componentPackages('pgbouncer', c, host('db1'))).toEqual([{ name: 'pgbouncer' }]);
    expect(componentPackages('patroni', c, host('etcd1'))).toEqual([]);
    expect(componentPackages('etcd', c, host('etcd1')).map((p) => p.name)).toEqual(['etcd-server', 'etcd-client']);
  });
  it('restarts Patroni by its template unit and PostgreSQL through Patroni', () => {
    expect(componentUnit('patroni', c, host('db1'))).toBe('patroni@pool.service');
    expect(componentUnit('postgres', c, host('db1'))).toBeUndefined();
  });
});

const member = (name: string, role: string, state = 'running', lag: number | string | undefined = 0): ClusterMember => ({
  name,
  role,
  state,
  ...(lag === undefined ? {} : { lag }),
});
const healthy: ClusterInfo = {
  members: [member('pg1', 'leader', 'running', undefined), member('pg2', 'replica', 'streaming'), member('pg3', 'replica')],
};
const etcdOk = [{ host: 'pg1', healthy: true }];

describe('clusterProblems (the upgrade gate)', () => {
  it('passes a healthy cluster', () => {
    expect(clusterProblems({ members: ['pg1', 'pg2', 'pg3'], info: healthy, etcd: etcdOk })).toEqual([]);
  });
  it('lists every reason at once', () => {
    const info: ClusterInfo = {
      pause: true,
      members: [
        member('pg1', 'master', 'running', undefined),
        member('pg2', 'leader', 'running', undefined),
        member('pg3', 'replica', 'starting'),
      ],
    };
    const p = clusterProblems({
      members: ['pg1', 'pg2', 'pg3', 'pg4'],
      info,
      etcd: [{ host: 'pg1', healthy: false, detail: 'GET /health: 503' }],
    });
    expect(p).toEqual([
      'etcd on pg1 is not healthy (GET /health: 503)',
      expect.stringMatching(/paused/),
      'the cluster has 2 leaders (wanted exactly one)',
      'pg3 is starting, not running/streaming',
      expect.stringMatching(/^pg4 is not a member/),
    ]);
  });
  it('wants a numeric lag from replicas (Patroni says "unknown" when not streaming)', () => {
    const info: ClusterInfo = { members: [member('pg1', 'leader', 'running', undefined), member('pg2', 'replica', 'running', 'unknown')] };
    expect(clusterProblems({ members: ['pg1', 'pg2'], info, etcd: [] })).toEqual(['pg2 reports lag "unknown": not streaming']);
  });
  it('refuses with no answer from Patroni', () => {
    expect(clusterProblems({ members: ['pg1'], info: undefined, etcd: [] })).toEqual(['no Patroni member answers GET /cluster']);
  });
});

describe('hostStep (resume planning from facts)', () => {
  const pkg = (name: string, version: string, installedAt = 100) => ({ name, version, installed: true, installedAt });
  const unit = (startedAt: number, exeReplaced = false, active = true) => ({
    name: 'patroni@main.service',
    active,
    startedAt,
    exeReplaced,
  });
  const targets = { patroni: '3.0.2-1+pgha2' };

  it('installs when the version differs', () => {
    expect(hostStep('patroni', { host: 'pg1', packages: [pkg('patroni', '3.0.2-1')], unit: unit(200) }, targets)).toBe('install');
  });
  it('restarts when installed but the process predates the install (interrupted between the two)', () => {
    expect(hostStep('patroni', { host: 'pg1', packages: [pkg('patroni', '3.0.2-1+pgha2', 300)], unit: unit(200) }, targets)).toBe(
      'restart',
    );
    expect(hostStep('patroni', { host: 'pg1', packages: [pkg('patroni', '3.0.2-1+pgha2', 300)], unit: unit(300) }, targets)).toBe('done');
    expect(
      hostStep('patroni', { host: 'pg1', packages: [pkg('patroni', '3.0.2-1+pgha2', 300)], unit: unit(400, false, false) }, targets),
    ).toBe('restart');
  });
  it('restarts a daemon still running a deleted binary', () => {
    const s: HostComponentState = {
      host: 'p',
      packages: [pkg('haproxy', '2.6.12-1+deb12u4', 300)],
      unit: { ...unit(400, true), name: 'haproxy.service' },
    };
    expect(hostStep('haproxy', s, { haproxy: '2.6.12-1+deb12u4' })).toBe('restart');
    // After a reload the master runs the new binary but keeps its start time.
    expect(hostStep('haproxy', { ...s, unit: { ...s.unit!, exeReplaced: false, startedAt: 100 } }, { haproxy: '2.6.12-1+deb12u4' })).toBe(
      'done',
    );
  });
  it('judges PostgreSQL by the version the server reports', () => {
    const t = { 'postgresql-15': '15.20-0+deb12u1', 'postgresql-client-15': '15.20-0+deb12u1' };
    const pkgs = [pkg('postgresql-15', '15.20-0+deb12u1'), pkg('postgresql-client-15', '15.20-0+deb12u1')];
    expect(hostStep('postgres', { host: 'pg1', packages: pkgs, serverVersion: 150018 }, t)).toBe('restart');
    expect(hostStep('postgres', { host: 'pg1', packages: pkgs, serverVersion: 150020 }, t)).toBe('done');
    expect(
      hostStep('postgres', { host: 'pg1', packages: [pkg('postgresql-15', '15.18-0+deb12u1'), pkgs[1]!], serverVersion: 150018 }, t),
    ).toBe('install');
  });
  it('restarts PostgreSQL rebuilt at the same version when the postmaster predates the install', () => {
    const t = { 'postgresql-17': '17.12-0+deb13u1+pgha1', 'postgresql-client-17': '17.12-0+deb13u1+pgha1' };
    const pkgs = [pkg('postgresql-17', '17.12-0+deb13u1+pgha1', 300), pkg('postgresql-client-17', '17.12-0+deb13u1+pgha1', 300)];
    const s = { host: 'pg2', packages: pkgs, serverVersion: 170012 };
    expect(hostStep('postgres', { ...s, postmasterStartedAt: 250.5 }, t)).toBe('restart');
    expect(hostStep('postgres', { ...s, postmasterStartedAt: 300.2 }, t)).toBe('done');
    // No start time known (Patroni did not say): the version alone decides, as before.
    expect(hostStep('postgres', s, t)).toBe('done');
  });
  it('installs a package that is not installed at all', () => {
    expect(
      hostStep(
        'patroni',
        { host: 'pg1', packages: [{ name: 'patroni', version: undefined, installed: false, installedAt: 0 }], unit: unit(1) },
        targets,
      ),
    ).toBe('install');
  });
});

describe('rollingOrder and pickCandidate', () => {
  it('puts the leader last, replicas by name', () => {
    expect(rollingOrder(['pg1', 'pg3', 'pg2'], 'pg1')).toEqual(['pg2', 'pg3', 'pg1']);
    expect(rollingOrder(['pg1', 'pg2'], undefined)).toEqual(['pg1', 'pg2']);
  });
  it('never has more than one data node between leader moves', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^pg[0-9]{1,2}$/), { minLength: 1, maxLength: 9 }), fc.nat(), (hosts, i) => {
        const leader = hosts[i % hosts.length]!;
        const order = rollingOrder(hosts, leader);
        expect(order.length).toBe(hosts.length);
        expect(new Set(order)).toEqual(new Set(hosts));
        expect(order.at(-1)).toBe(leader);
      }),
    );
  });
  it('prefers an upgraded, healthy, least-lagging replica; never a nofailover one', () => {
    const info: ClusterInfo = {
      members: [
        member('pg1', 'leader', 'running', undefined),
        member('pg2', 'replica', 'streaming', 0),
        member('pg3', 'replica', 'streaming', 5),
        { ...member('pg4', 'replica', 'streaming', 0), tags: { nofailover: true } },
        member('pg5', 'replica', 'starting', 0),
      ],
    };
    expect(pickCandidate(info, 'pg1', new Set(['pg3']))).toBe('pg3');
    expect(pickCandidate(info, 'pg1', new Set())).toBe('pg2');
    expect(pickCandidate({ members: [member('pg1', 'leader')] }, 'pg1', new Set())).toBeUndefined();
  });
});

describe('status script', () => {
  it('parses what it prints', () => {
    const out = 'PKG\tpatroni\t3.0.2-1\tii \t1700000000\nPKG\tnope\t\t\t0\nUNIT\tpatroni@main.service\tactive\t1700000100\t0\n';
    const s = parseStatus('pg1', out);
    expect(s.packages).toEqual([
      { name: 'patroni', version: '3.0.2-1', installed: true, installedAt: 1700000000 },
      { name: 'nope', version: undefined, installed: false, installedAt: 0 },
    ]);
    expect(s.units.get('patroni@main.service')).toEqual({
      name: 'patroni@main.service',
      active: true,
      startedAt: 1700000100,
      exeReplaced: false,
    });
  });
  it.skipIf(!hasDpkg)('runs under bash on a Debian-like host', () => {
    const r = spawnSync('bash', ['-c', statusScript(['dpkg', 'no-such-package-pgha'], ['no-such-unit-pgha.service'])], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const s = parseStatus('local', r.stdout);
    expect(s.packages[0]).toMatchObject({ name: 'dpkg', installed: true });
    expect(s.packages[0]!.installedAt).toBeGreaterThan(0);
    expect(s.packages[1]).toMatchObject({ name: 'no-such-package-pgha', installed: false });
    expect(s.units.get('no-such-unit-pgha.service')?.active).toBe(false);
  });
  describe('restarting onto the new binary', () => {
    /** A host whose systemctl and readlink are stubs: the master re-executes after `deletedFor` looks. */
    function fakeHost(deletedFor: number, reloadExit = 0): { run: (script: string) => ReturnType<typeof spawnSync>; log: () => string[] } {
      const dir = tempDir('pgha-reexec-');
      const log = join(dir, 'log');
      const stub = (name: string, body: string) => {
        writeFileSync(join(dir, name), `#!/bin/bash\n${body}\n`);
        chmodSync(join(dir, name), 0o755);
      };
      stub('systemctl', `echo "systemctl $*" >> ${log}; [ "$1" = show ] && echo 4242; [ "$1" = show ] || exit ${reloadExit}`);
      stub(
        'readlink',
        `n=$(grep -c readlink ${log} || true); echo "readlink $*" >> ${log}; if [ "$n" -lt ${deletedFor} ]; then echo '/usr/sbin/haproxy (deleted)'; else echo /usr/sbin/haproxy; fi`,
      );
      writeFileSync(log, '');
      return {
        run: (script) =>
          spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } }),
        log: () => readFileSync(log, 'utf8').trim().split('\n'),
      };
    }
    it('waits, after a reload returns, until the master runs the new binary', () => {
      const host = fakeHost(3);
      const r = host.run(restartOntoNewBinaryCommand('haproxy.service', 'reload-or-restart').script);
      expect(r.status).toBe(0);
      expect(host.log()).toEqual([
        'systemctl reload-or-restart haproxy.service',
        'systemctl show -p MainPID --value haproxy.service',
        ...Array(4).fill('readlink /proc/4242/exe'),
      ]);
    });
    it('fails when systemctl does, without waiting', () => {
      const host = fakeHost(3, 1);
      expect(host.run(restartOntoNewBinaryCommand('etcd.service', 'restart').script).status).toBe(1);
      expect(host.log()).toEqual(['systemctl restart etcd.service']);
    });
  });
  it('installs exact versions behind the policy-rc.d guard, finishing an interrupted dpkg first', () => {
    const { script } = upgradeInstallCommand([{ name: 'patroni', version: '3.0.2-1+pgha2' }]);
    expect(script).toContain('patroni=3.0.2-1+pgha2');
    expect(script.indexOf('policy-rc.d')).toBeLessThan(script.indexOf('dpkg --configure -a'));
    expect(script.indexOf('dpkg --configure -a')).toBeLessThan(script.indexOf('patroni=3.0.2-1+pgha2'));
  });
});

describe('local repository index', () => {
  const index = parsePackagesIndex(
    'Package: patroni\nVersion: 3.0.2-1\nFilename: ./patroni_3.0.2-1_all.deb\n\nPackage: patroni\nVersion: 3.0.2-1+pgha2\nFilename: ./patroni_3.0.2-1+pgha2_all.deb\n\nPackage: postgresql-15\nVersion: 15.18-0+deb12u1\nFilename: ./postgresql-15_15.18-0+deb12u1_amd64.deb\n',
  );
  it('reads every version side by side', () => {
    expect(index.map((e) => `${e.name}=${e.version}`)).toEqual([
      'patroni=3.0.2-1',
      'patroni=3.0.2-1+pgha2',
      'postgresql-15=15.18-0+deb12u1',
    ]);
    expect(index[1]!.file).toBe('patroni_3.0.2-1+pgha2_all.deb');
  });
  it('names what is missing', () => {
    expect(missingVersions(index, { patroni: '3.0.2-1+pgha2', 'postgresql-15': '15.20-0+deb12u1' })).toEqual([
      'postgresql-15=15.20-0+deb12u1',
    ]);
  });
});
