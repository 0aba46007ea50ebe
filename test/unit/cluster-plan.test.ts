/**
 * The whole plan (src/plan/cluster-plan.ts): unit actions from file changes, the rolling restart
 * a DCS patch causes, etcd's auth steps, the text `deploy --check` prints, and the property that
 * makes deploy converge: applying a plan to a host and planning again finds nothing to do.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planEtcdAuth, type EtcdAuthSpec, type EtcdAuthState, type EtcdAuthStep } from '../../src/components/etcd/auth.js';
import type { DesiredFile, ResolvedCluster } from '../../src/model/types.js';
import {
  formatWholePlan,
  hostActionLines,
  isEmptyPlan,
  planHostWhole,
  planRollingRestart,
  planUnits,
  retiredUnitAction,
  describeUnitAction,
  type HostWholePlan,
} from '../../src/plan/cluster-plan.js';
import type { FileFact, HostFacts, PackageFact } from '../../src/plan/facts.js';
import { planHost, sha256 } from '../../src/plan/plan.js';
import { packagesFor, renderHost, unitsFor } from '../../src/render/index.js';
import { fakeInputs, loadExample } from '../golden/inputs.js';

const demo = loadExample('m1-haproxy-nspawn');
const pool = loadExample('m1-pgbouncer-bare');
const host = (c: ResolvedCluster, name: string) => c.hosts.find((h) => h.name === name)!;

describe('planUnits', () => {
  const pg1 = unitsFor(demo, host(demo, 'pg1'));
  const db1 = unitsFor(pool, host(pool, 'db1'));

  it('starts every unit that does not run, in start order', () => {
    expect(planUnits(pg1, () => 'inactive', [])).toEqual([
      { unit: 'etcd.service', op: 'start', formation: 'etcd' },
      { unit: 'patroni@demo.service', op: 'start', formation: 'patroni' },
      { unit: 'pgha-postmaster-watch.service', op: 'start', formation: 'patroni' },
    ]);
    expect(planUnits(pg1, (u) => (u === 'etcd.service' ? 'failed' : 'active'), [])).toEqual([
      { unit: 'etcd.service', op: 'start', formation: 'etcd' },
    ]);
  });

  it('reloads or restarts running units by what the changed files need, restart winning', () => {
    expect(planUnits(pg1, () => 'active', ['/etc/patroni/demo.yml', '/etc/etcd/pgha.conf.yml'])).toEqual([
      { unit: 'etcd.service', op: 'restart', formation: 'etcd' },
      { unit: 'patroni@demo.service', op: 'reload', formation: 'patroni' },
    ]);
    expect(planUnits(db1, () => 'active', ['/etc/pgbouncer/pgbouncer.ini', '/etc/systemd/system/pgha-pgbouncer-follow.service'])).toEqual([
      { unit: 'pgbouncer.service', op: 'reload', formation: 'service' },
      { unit: 'pgha-pgbouncer-follow.service', op: 'restart', formation: 'service' },
    ]);
    expect(planUnits(pg1, () => 'active', [])).toEqual([]);
  });
});

describe('retiredUnitAction (etcd on a host that lost role etcd)', () => {
  it('stops and disables a unit still running or enabled, naming what it removes', () => {
    for (const fact of [
      { active: 'active', enabled: 'enabled' },
      { active: 'inactive', enabled: 'enabled' },
      { active: 'failed', enabled: 'enabled' },
      { active: 'active', enabled: 'disabled' },
    ]) {
      const a = retiredUnitAction('etcd.service', 'etcd', fact, ['/var/lib/etcd/demo']);
      expect(a).toEqual({ unit: 'etcd.service', op: 'disable', formation: 'etcd', removes: ['/var/lib/etcd/demo'] });
      expect(describeUnitAction(a!)).toBe('stop and disable etcd.service, remove /var/lib/etcd/demo');
    }
  });
  it('leaves alone a unit the host never had, or one already stopped and disabled (a converged re-run)', () => {
    expect(retiredUnitAction('etcd.service', 'etcd', undefined)).toBeUndefined();
    expect(retiredUnitAction('etcd.service', 'etcd', { active: 'inactive', enabled: 'not-found' })).toBeUndefined();
    expect(retiredUnitAction('etcd.service', 'etcd', { active: 'inactive', enabled: 'disabled' })).toBeUndefined();
  });
});

describe('planRollingRestart', () => {
  const members = ['pg1', 'pg2', 'pg3'];
  const postmaster = new Set(['max_connections', 'shared_buffers']);

  it('restarts every member, replicas first and the leader last, when the patch sets a start-only parameter', () => {
    const patch = { postgresql: { parameters: { work_mem: '8MB', max_connections: 150 } } };
    expect(planRollingRestart({ patch, postmasterParameters: postmaster, members, pending: [], leader: 'pg2' })).toEqual({
      kind: 'rolling-restart',
      replicas: ['pg1', 'pg3'],
      leader: 'pg2',
      parameters: ['max_connections'],
    });
  });

  it('counts a removed start-only parameter too', () => {
    const patch = { postgresql: { parameters: { shared_buffers: null } } };
    expect(planRollingRestart({ patch, postmasterParameters: postmaster, members, pending: [], leader: 'pg1' })?.parameters).toEqual([
      'shared_buffers',
    ]);
  });

  it('restarts nobody for reloadable parameters or other keys', () => {
    const patch = { loop_wait: 5, postgresql: { parameters: { work_mem: '8MB' } } };
    expect(planRollingRestart({ patch, postmasterParameters: postmaster, members, pending: [], leader: 'pg1' })).toBeUndefined();
    expect(planRollingRestart({ patch: undefined, postmasterParameters: postmaster, members, pending: [], leader: 'pg1' })).toBeUndefined();
  });

  it('finishes a restart an interrupted run left pending', () => {
    expect(planRollingRestart({ patch: undefined, postmasterParameters: postmaster, members, pending: ['pg3'], leader: 'pg1' })).toEqual({
      kind: 'rolling-restart',
      replicas: ['pg3'],
      leader: undefined,
      parameters: ['pending restart'],
    });
  });
});

// ── etcd auth as a tiny simulated etcd ──

const spec: EtcdAuthSpec = { rootPassword: 'r', patroniUser: 'patroni', patroniPassword: 'p', prefix: '/pgha/demo/', role: 'patroni_demo' };

function applyAuth(state: EtcdAuthState, steps: readonly EtcdAuthStep[]): EtcdAuthState {
  const s: EtcdAuthState = structuredClone(state);
  for (const step of steps) {
    if (step.kind === 'add-role') s.roles[step.role] = { perms: [] };
    if (step.kind === 'add-user') s.users[step.user] = { roles: [] };
    if (step.kind === 'grant-role') s.users[step.user]!.roles.push(step.role);
    if (step.kind === 'grant-prefix') {
      s.roles[step.role]!.perms.push({
        permType: 'READWRITE',
        key: Buffer.from(step.prefix).toString('base64'),
        range_end: Buffer.from('/pgha/demo0').toString('base64'),
      });
    }
    if (step.kind === 'enable') s.enabled = true;
    if (step.kind === 'set-password' || step.kind === 'enable' || step.kind === 'add-user') s.patroniLogin = true;
  }
  return s;
}

describe('planEtcdAuth', () => {
  it('sets everything up on an etcd never seen (or not running yet), auth enabled last', () => {
    const steps = planEtcdAuth(undefined, spec);
    expect(steps.map((s) => s.kind)).toEqual([
      'add-role',
      'add-user',
      'grant-role',
      'add-role',
      'grant-prefix',
      'add-user',
      'grant-role',
      'enable',
    ]);
  });

  it('converges from any partial state: the steps applied, a re-plan is empty', () => {
    const partial = fc.record({
      enabled: fc.boolean(),
      rootRole: fc.boolean(),
      patroniRole: fc.constantFrom('missing', 'no-perm', 'ok'),
      root: fc.constantFrom('missing', 'no-role', 'ok'),
      patroni: fc.constantFrom('missing', 'no-role', 'ok'),
      login: fc.boolean(),
    });
    fc.assert(
      fc.property(partial, (p) => {
        const perm = {
          permType: 'READWRITE',
          key: Buffer.from('/pgha/demo/').toString('base64'),
          range_end: Buffer.from('/pgha/demo0').toString('base64'),
        };
        const user = (x: string, role: string) => (x === 'missing' ? undefined : { roles: x === 'ok' ? [role] : [] });
        const state: EtcdAuthState = {
          enabled: p.enabled,
          roles: {
            root: p.rootRole ? { perms: [] } : undefined,
            patroni_demo: p.patroniRole === 'missing' ? undefined : { perms: p.patroniRole === 'ok' ? [perm] : [] },
          },
          users: { root: user(p.root, 'root'), patroni: user(p.patroni, 'patroni_demo') },
          patroniLogin: p.enabled ? p.login : undefined,
        };
        const after = applyAuth(state, planEtcdAuth(state, spec));
        expect(planEtcdAuth(after, spec)).toEqual([]);
      }),
    );
  });
});

// ── one host, simulated: the plan applied, the plan again is empty ──

interface SimHost {
  files: Map<string, { content: string; owner: string; group: string; mode: number }>;
  packages: Map<string, string>;
  active: Set<string>;
}

function factsOf(sim: SimHost, paths: string[], packages: string[]): HostFacts {
  const files: Record<string, FileFact> = {};
  for (const path of paths) {
    const f = sim.files.get(path);
    files[path] = f
      ? {
          path,
          state: 'file',
          sha256: sha256(f.content),
          owner: f.owner,
          group: f.group,
          mode: f.mode,
          size: f.content.length,
          content: f.content,
        }
      : { path, state: 'missing' };
  }
  const pkgs: Record<string, PackageFact> = {};
  for (const name of packages) {
    const v = sim.packages.get(name);
    pkgs[name] = { name, installed: v !== undefined, version: v, status: v ? 'install ok installed' : undefined };
  }
  return { hostname: 'h', os: { id: 'debian', codename: 'bookworm' }, files, packages: pkgs, services: {} };
}

function plan(cluster: ResolvedCluster, name: string, sim: SimHost): HostWholePlan {
  const h = host(cluster, name);
  const files = renderHost(cluster, h, fakeInputs(cluster));
  const packages = packagesFor(cluster, h);
  const facts = factsOf(
    sim,
    files.map((f) => f.path),
    packages.map((p) => p.name),
  );
  const filePlan = planHost({ files, packages }, facts);
  return planHostWhole(filePlan, unitsFor(cluster, h), (u) => (sim.active.has(u) ? 'active' : 'inactive'));
}

/** What deploy does to the host, by the plan alone: install, write, start. Reloads and restarts leave units running. */
function apply(sim: SimHost, p: HostWholePlan): void {
  for (const a of p.files.actions) {
    if (a.kind === 'install') sim.packages.set(a.package, a.version ?? 'candidate');
    else sim.files.set(a.path, { content: a.file.content, owner: a.file.owner, group: a.file.group, mode: a.file.mode });
  }
  for (const u of p.units) sim.active.add(u.unit);
}

describe('the whole plan applied converges (property)', () => {
  const cases = [...demo.hosts.map((h) => [demo, h.name] as const), ...pool.hosts.map((h) => [pool, h.name] as const)];

  it('for any starting state of files, packages and units, apply then re-plan is empty', () => {
    const drift = fc.record({
      fileState: fc.array(fc.constantFrom('missing', 'same', 'other-content', 'other-mode', 'other-owner'), {
        minLength: 12,
        maxLength: 12,
      }),
      pkgState: fc.array(fc.constantFrom('missing', 'same', 'old'), { minLength: 6, maxLength: 6 }),
      active: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      which: fc.nat({ max: cases.length - 1 }),
    });
    fc.assert(
      fc.property(drift, (d) => {
        const [cluster, name] = cases[d.which]!;
        const h = host(cluster, name);
        const desired: DesiredFile[] = renderHost(cluster, h, fakeInputs(cluster));
        const sim: SimHost = { files: new Map(), packages: new Map(), active: new Set() };
        desired.forEach((f, i) => {
          const s = d.fileState[i % d.fileState.length];
          if (s === 'missing') return;
          sim.files.set(f.path, {
            content: s === 'other-content' ? `${f.content}# drift\n` : f.content,
            owner: s === 'other-owner' ? 'nobody' : f.owner,
            group: f.group,
            mode: s === 'other-mode' ? 0o666 : f.mode,
          });
        });
        packagesFor(cluster, h).forEach((p, i) => {
          const s = d.pkgState[i % d.pkgState.length];
          if (s === 'same') sim.packages.set(p.name, p.version ?? 'candidate');
          if (s === 'old') sim.packages.set(p.name, p.version ? '0.1-1' : 'candidate');
        });
        unitsFor(cluster, h).forEach((u, i) => (d.active[i % d.active.length] ? sim.active.add(u.unit) : undefined));

        const first = plan(cluster, name, sim);
        apply(sim, first);
        const again = plan(cluster, name, sim);
        expect(hostActionLines(again)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('a file change plans the daemon-reload and the unit reactions; the text lists them in execution order', () => {
    const sim: SimHost = { files: new Map(), packages: new Map(), active: new Set() };
    apply(sim, plan(pool, 'db1', sim));
    const ini = [...sim.files.keys()].find((p) => p === '/etc/pgbouncer/pgbouncer.ini')!;
    const unitFile = '/etc/systemd/system/pgha-pgbouncer-follow.service';
    sim.files.set(ini, { ...sim.files.get(ini)!, content: 'changed\n' });
    sim.files.set(unitFile, { ...sim.files.get(unitFile)!, content: 'changed\n' });
    const p = plan(pool, 'db1', sim);
    const whole = { hosts: new Map([['db1', p]]), cluster: [{ kind: 'dcs-patch' as const, patch: { loop_wait: 5 } }] };
    expect(isEmptyPlan(whole)).toBe(false);
    expect(formatWholePlan(whole)).toEqual([
      'db1: 5 changes',
      '  update /etc/pgbouncer/pgbouncer.ini',
      '  update /etc/systemd/system/pgha-pgbouncer-follow.service',
      '  systemctl daemon-reload',
      '  reload pgbouncer.service',
      '  restart pgha-pgbouncer-follow.service',
      'cluster: patroni: PATCH /config {"loop_wait":5}',
    ]);
  });
});
