/**
 * deploy's sequencing, without containers: the real deploy (facts, plan, executor) against a
 * simulated cluster (./sim/cluster.ts) whose hosts act on each command's intent and whose Patroni
 * answers in the shapes recorded from Patroni 3.0.2. What the e2e suites prove on real hosts,
 * this proves in seconds for every ordering rule: formation order, bootstrap first, the plan and
 * the run agreeing, no-op re-runs, reloads and rolling restarts (replicas first, leader last).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExtraVars } from '../../src/config/extra-vars.js';
import { RefusedError } from '../../src/errors.js';
import { loadCluster, pkiWanted } from '../../src/app/cluster-dir.js';
import { deploy } from '../../src/app/deploy/index.js';
import { PATRONI_CERT } from '../../src/components/paths.js';
import { ensureClusterPki } from '../../src/pki/store.js';
import type { SimCluster } from './sim/cluster.js';
import { index, lastIndex, planLines, request, simulated } from './sim/setup.js';

describe('deploy against a simulated cluster (M1 + HAProxy)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo');
  const run = c.run;
  let sim: SimCluster;
  beforeAll(() => (sim = c.sim()));

  it('plans a new cluster: every install, file and start, etcd auth, no DCS step before a leader exists', async () => {
    const r = await run({ check: true });
    expect(r.exitCode).toBe(10);
    const plan = planLines(r.summary, 'pending changes:');
    for (const h of ['pg1', 'pg2', 'pg3']) {
      const at = plan.findIndex((l) => l.startsWith(`${h}: `));
      const mine = plan.slice(
        at + 1,
        plan.findIndex((l, i) => i > at && !l.startsWith('  ')),
      );
      expect(mine).toContain('  start etcd.service');
      expect(mine).toContain('  start patroni@demo.service');
      expect(mine).toContain('  systemctl daemon-reload');
    }
    expect(plan).toContain('  start haproxy.service');
    expect(plan.filter((l) => l.startsWith('cluster: '))).toEqual([
      'cluster: etcd: add role root',
      'cluster: etcd: add user root',
      'cluster: etcd: grant role root to root',
      'cluster: etcd: add role patroni_demo',
      'cluster: etcd: let role patroni_demo read and write /pgha/demo/',
      'cluster: etcd: add user etcd_patroni',
      'cluster: etcd: grant role patroni_demo to etcd_patroni',
      'cluster: etcd: enable auth',
    ]);
    expect(sim.log).toEqual([]);
  });

  it('forms the cluster in order: files that defuse installs, packages, files, etcd, auth, the primary, the replicas, HAProxy', async () => {
    const r = await run();
    expect(r.exitCode).toBe(0);
    const log = sim.log;
    for (const h of ['pg1', 'pg2', 'pg3', 'proxy1']) {
      const install = index(log, new RegExp(`^${h}: install `));
      expect(index(log, new RegExp(`^${h}: write .*createcluster|^${h}: write /etc/systemd`))).toBeLessThanOrEqual(install);
      expect(install).toBeLessThan(lastIndex(log, new RegExp(`^${h}: write `)));
    }
    const lastEtcdStart = lastIndex(log, /: start etcd\.service$/);
    expect(lastEtcdStart).toBeLessThan(index(log, /^etcd: enable auth$/));
    expect(index(log, /^etcd: enable auth$/)).toBeLessThan(index(log, /: start patroni@demo\.service$/));
    // The configured primary bootstraps alone; the replicas start only once it leads.
    expect(index(log, /: start patroni@demo\.service$/)).toBe(index(log, /^pg1: start patroni@demo\.service$/));
    expect(index(log, /^pg1: start patroni/)).toBeLessThan(index(log, /^pg2: start patroni/));
    expect(index(log, /^pg1: start patroni/)).toBeLessThan(index(log, /^pg3: start patroni/));
    // The postmaster watch on every data node, the leader's too, once every member's Patroni runs.
    for (const h of ['pg1', 'pg2', 'pg3'])
      expect(index(log, new RegExp(`^${h}: start pgha-postmaster-watch\\.service$`))).toBeGreaterThan(
        lastIndex(log, /: start patroni@demo\.service$/),
      );
    expect(lastIndex(log, /: start patroni/)).toBeLessThan(index(log, /^proxy1: start haproxy\.service$/));
    expect(sim.leader()).toBe('pg1');
    expect(r.summary).toContain('patroni: pg1 bootstrapped the cluster');
  });

  it('changes nothing on a second run, and --check agrees', async () => {
    const mark = sim.log.length;
    const r = await run();
    expect(r.summary.split('\n')[0]).toBe('no changes');
    expect(sim.since(mark)).toEqual([]);
    // One exec per host (its facts); the leader one more: are Patroni's role passwords those in DIR/secrets?
    expect(r.roundTrips).toEqual({ pg1: 2, pg2: 1, pg3: 1, proxy1: 1 });
    expect((await run({ check: true })).exitCode).toBe(0);
  });

  it('reissued certificates: Patroni reloads, and deploy is done only once each REST API serves its new one (swapped at the next HA cycle)', async () => {
    const loaded = loadCluster(c.dir(), {});
    const wanted = pkiWanted(loaded.cluster);
    await ensureClusterPki(c.dir(), wanted.hosts, { clients: wanted.clients, now: new Date(), reissueAll: true });
    // Each Patroni answers eight more requests with its old certificate after the reload.
    sim.restSwapAfter = 8;
    try {
      const r = await run();
      expect(r.exitCode).toBe(0);
      expect(planLines(r.summary, 'applied:')).toContain('  reload patroni@demo.service');
      for (const h of ['pg1', 'pg2', 'pg3']) {
        const rest = sim.host(h).rest;
        expect(rest.next, h).toBeUndefined();
        const pushed = sim.host(h).files.get(PATRONI_CERT)!.content;
        expect(rest.serving, h).toBe(pushed);
        expect(pushed).toBe(readFileSync(join(c.dir(), 'ssl', h, 'node.crt'), 'utf8'));
      }
    } finally {
      sim.restSwapAfter = 0;
    }
  }, 60_000);

  it('no REST API answers while Patroni runs: deploy reads again and plans for the live leader, never taking the cluster for a new one', async () => {
    for (const h of ['pg1', 'pg2', 'pg3']) sim.host(h).rest.refusing = 1;
    const r = await run();
    expect(r.exitCode).toBe(0);
    expect(r.summary).not.toContain('bootstrapped');
    expect(r.summary.split('\n')[0]).toBe('no changes');
    for (const h of ['pg1', 'pg2', 'pg3']) expect(sim.host(h).rest.refusing).toBe(0);
  });

  it('…and refuses, changing nothing, when none answers for the whole wait', async () => {
    for (const h of ['pg1', 'pg2', 'pg3']) sim.host(h).rest.refusing = 1_000_000;
    const mark = sim.log.length;
    try {
      const err = await deploy(c.dir(), request({}), 'silent', { ...c.seams(), unansweredLiveWaitMs: 1500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as Error).message).toMatch(/patroni@demo\.service runs on pg1, pg2, pg3, but for 2 s no data node's REST API answered/);
      expect((err as Error).message).toContain('ECONNREFUSED');
      expect(sim.since(mark)).toEqual([]);
    } finally {
      for (const h of ['pg1', 'pg2', 'pg3']) sim.host(h).rest.refusing = 0;
    }
  });

  it('a changed password in DIR/secrets: the role on the leader first, then Patroni reloads it, then etcd (after every reload)', async () => {
    writeFileSync(join(c.dir(), 'secrets', 'replicator'), 'a-new-replication-password-0123456789');
    writeFileSync(join(c.dir(), 'secrets', 'etcd_patroni'), 'a-new-etcd-password-0123456789');
    {
      const plan = await run({ check: true });
      expect(plan.exitCode).toBe(10);
      const lines = planLines(plan.summary, 'pending changes:');
      expect(lines.filter((l) => l.startsWith('cluster:'))).toEqual([
        'cluster: postgres: set the password of replicator on the leader (as SCRAM verifiers)',
        'cluster: etcd: set the password of etcd_patroni',
      ]);
      const mark = sim.log.length;
      const r = await run();
      expect(planLines(r.summary, 'applied:')).toEqual(lines);
      const log = sim.since(mark);
      // ALTER ROLE before any Patroni reload; etcd's password after the last one.
      expect(index(log, /^pg1: set the password of replicator$/)).toBeLessThan(index(log, /: reload patroni@demo\.service$/));
      expect(index(log, /^etcd: set the password of etcd_patroni$/)).toBeGreaterThan(lastIndex(log, /: reload patroni@demo\.service$/));
      expect((await run({ check: true })).exitCode).toBe(0);
    }
  });

  it('does exactly what --check planned for a HAProxy setting: one file, one reload', async () => {
    const extraVars = parseExtraVars(["haproxy_conf_settings={defaults: {'timeout client': 31m}}"]);
    const plan = await run({ check: true, extraVars });
    expect(planLines(plan.summary, 'pending changes:')).toEqual([
      'proxy1: 2 changes',
      '  update /etc/haproxy/haproxy.cfg',
      '  reload haproxy.service',
    ]);
    const mark = sim.log.length;
    const r = await run({ extraVars });
    expect(planLines(r.summary, 'applied:')).toEqual(planLines(plan.summary, 'pending changes:'));
    expect(sim.since(mark)).toEqual(['proxy1: write /etc/haproxy/haproxy.cfg', 'proxy1: reload haproxy.service']);
  });

  it('turns synchronous replication on and off through PATCH /config alone: no PostgreSQL restart, as planned', async () => {
    const on = parseExtraVars(['patroni_synchronous_mode=on']);
    const plan = await run({ check: true, extraVars: on });
    const planned = planLines(plan.summary, 'pending changes:');
    expect(planned.filter((l) => l.startsWith('cluster: '))).toEqual([
      'cluster: patroni: PATCH /config {"synchronous_mode":true,"synchronous_node_count":1}',
    ]);
    let mark = sim.log.length;
    const r = await run({ extraVars: on });
    expect(planLines(r.summary, 'applied:')).toEqual(planned);
    expect(sim.since(mark).filter((l) => l.endsWith('restart PostgreSQL'))).toEqual([]);
    // Back to off: the keys pgha set are deleted (null), nothing else.
    const off = await run({ check: true });
    expect(planLines(off.summary, 'pending changes:').filter((l) => l.startsWith('cluster: '))).toEqual([
      'cluster: patroni: PATCH /config {"synchronous_mode":null,"synchronous_node_count":null}',
    ]);
    mark = sim.log.length;
    await run({});
    expect(sim.since(mark).filter((l) => l.endsWith('restart PostgreSQL'))).toEqual([]);
  }, 60_000);

  it('patches the DCS and restarts for a start-only parameter: replicas first, the leader last, as planned', async () => {
    const extraVars = parseExtraVars([
      "haproxy_conf_settings={defaults: {'timeout client': 31m}}",
      'patroni_dynamic_conf_settings={loop_wait: 2, postgresql: {parameters: {max_connections: 150, work_mem: 8MB}}}',
    ]);
    const plan = await run({ check: true, extraVars });
    const planned = planLines(plan.summary, 'pending changes:');
    expect(planned.filter((l) => l.startsWith('cluster: '))).toEqual([
      'cluster: patroni: PATCH /config {"loop_wait":2,"postgresql":{"parameters":{"max_connections":150,"work_mem":"8MB"}}}',
      'cluster: patroni: rolling restart of pg2, pg3, pg1 (leader, last) for max_connections',
    ]);
    const mark = sim.log.length;
    const r = await run({ extraVars });
    expect(planLines(r.summary, 'applied:')).toEqual(planned);
    const log = sim.since(mark);
    const reloads = log.filter((l) => l.endsWith('reload patroni@demo.service'));
    expect(reloads).toHaveLength(3);
    const patch = index(log, /PATCH \/config \{"loop_wait":2/);
    expect(lastIndex(log, /reload patroni@demo\.service$/)).toBeLessThan(patch);
    expect(log.filter((l) => l.endsWith('restart PostgreSQL'))).toEqual([
      'pg2: restart PostgreSQL',
      'pg3: restart PostgreSQL',
      'pg1: restart PostgreSQL',
    ]);
    expect(index(log, /restart PostgreSQL/)).toBeGreaterThan(patch);
    expect([...sim.members.values()].some((m) => m.pending)).toBe(false);
  }, 60_000);

  it('refuses, changing nothing, when the live leader is a member config.yml no longer names', async () => {
    const before = new Map(sim.members);
    const leader = sim.leader()!;
    // As if pg9 had been removed from config.yml while it kept leading.
    sim.members.delete(leader);
    sim.members.set('pg9', before.get(leader)!);
    const mark = sim.log.length;
    try {
      const err = await run({ check: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as Error).message).toContain('pg9 is the leader of the live cluster, but config.yml does not name it');
      expect((err as Error).message).not.toContain('bug');
      expect((err as RefusedError).hint).toMatch(/put pg9 back under instances in .*config\.yml, or remove it from the cluster/);
      await expect(run()).rejects.toThrow(/pg9 is the leader of the live cluster/);
      expect(sim.since(mark)).toEqual([]);
    } finally {
      sim.members.clear();
      for (const [n, m] of before) sim.members.set(n, m);
    }
  });
});

describe('deploy against a simulated cluster (M1 + PgBouncer, dedicated etcd)', () => {
  const c = simulated('m1-pgbouncer-bare', 'pool');
  const run = c.run;
  let sim: SimCluster;
  beforeAll(() => (sim = c.sim()));

  it('sets up the PgBouncer auth user once the leader accepts writes, before PgBouncer starts; plans it only while missing', async () => {
    const plan = await run({ check: true });
    expect(planLines(plan.summary, 'pending changes:')).toContain(
      'cluster: pgbouncer: set up auth user pgbouncer_auth_user and its auth_query function on the leader',
    );
    const r = await run();
    expect(r.exitCode).toBe(0);
    // PgBouncer's step, run as planned and reported in the plan's words.
    expect(planLines(r.summary, 'applied:')).toContain(
      'cluster: pgbouncer: set up auth user pgbouncer_auth_user and its auth_query function on the leader',
    );
    const log = sim.log;
    const auth = index(log, /^db1: pgbouncer auth user pgbouncer_auth_user$/);
    expect(auth).toBeGreaterThan(index(log, /^db1: start patroni@pool\.service$/));
    expect(auth).toBeLessThan(index(log, /: start pgbouncer\.service$/));
    // etcd on its own hosts forms before any data node starts Patroni.
    expect(lastIndex(log, /^etcd\d: start etcd\.service$/)).toBeLessThan(index(log, /: start patroni@pool\.service$/));
    expect(index(log, /^db1: start pgbouncer\.service$/)).toBeGreaterThan(lastIndex(log, /: start patroni@pool\.service$/));
    const again = await run({ check: true });
    expect(again.exitCode).toBe(0);
  });

  it('with --hosts, touches and reads only those hosts, and leaves the leader-side steps alone', async () => {
    const extraVars = parseExtraVars(['pgbouncer_conf_settings={pgbouncer: {max_client_conn: 300}}']);
    const plan = await run({ check: true, extraVars, hosts: ['db2'] });
    expect(Object.keys(plan.roundTrips)).toEqual(['db2']);
    expect(planLines(plan.summary, 'pending changes:')).toEqual([
      'db2: 2 changes',
      '  update /etc/pgbouncer/pgbouncer.ini',
      '  reload pgbouncer.service',
    ]);
    const mark = sim.log.length;
    const r = await run({ extraVars, hosts: ['db2'] });
    expect(sim.since(mark)).toEqual(['db2: write /etc/pgbouncer/pgbouncer.ini', 'db2: reload pgbouncer.service']);
    expect(planLines(r.summary, 'applied:')).toEqual(planLines(plan.summary, 'pending changes:'));
  });
});
