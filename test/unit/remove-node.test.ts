/**
 * `pgha remove-node` against the simulated cluster (./sim/cluster.ts, bare hosts): what it
 * refuses with nothing changed, and the order of a removal — Patroni stopped on the node, its
 * member key deleted, config.yml without it, deploy (etcd member remove, the others reloaded),
 * its units disabled.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureClusterMaterial, loadCluster } from '../../src/app/cluster-dir.js';
import { removeNode } from '../../src/app/nodes/remove.js';
import { replaceNode } from '../../src/app/nodes/replace.js';
import { withoutInstance, withoutKnownHosts } from '../../src/app/nodes/config-edit.js';
import { RefusedError, UsageError } from '../../src/errors.js';
import type { SimCluster } from './sim/cluster.js';
import { lineAt, PG4_INSTANCE, planLines, simulated } from './sim/setup.js';

describe('pgha remove-node (simulated, bare M1 + HAProxy)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { bare: true });
  let sim: SimCluster;
  const config = () => join(c.dir(), 'config.yml');
  const logged: string[] = [];
  const remove = (name: string) => removeNode(c.dir(), name, { concurrency: 4, log: (l) => logged.push(l) }, 'silent', c.seams());
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );

  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
    writeFileSync(config(), readFileSync(config(), 'utf8').replace('  - Name: proxy1', `${PG4_INSTANCE}  - Name: proxy1`));
    sim.addHost('pg4', { os_version: 12 });
    await ensureClusterMaterial(loadCluster(c.dir(), {}));
    expect((await c.run()).exitCode).toBe(0);
    expect(sim.etcdMembers.map((m) => m.name)).toEqual(['pg1', 'pg2', 'pg3', 'pg4']);
  });

  it('refuses, changing nothing: a name not in config.yml, the configured primary (exit 2), the leader (exit 3)', async () => {
    const before = readFileSync(config(), 'utf8');
    const mark = sim.log.length;
    const unknown = await refusal(remove('pg9'));
    expect(unknown).toBeInstanceOf(UsageError);
    expect((unknown as Error).message).toMatch(/pg9 is not an instance of .*config\.yml \(instances: pg1, pg2, pg3, pg4, proxy1\)/);
    const primary = await refusal(remove('pg1'));
    expect(primary).toBeInstanceOf(UsageError);
    expect((primary as UsageError).hint).toMatch(/give role primary to another data node/);
    // pg4 leads (a switchover happened): switch over first.
    sim.members.get('pg1')!.role = 'replica';
    sim.members.get('pg4')!.role = 'leader';
    try {
      const leader = await refusal(remove('pg4'));
      expect(leader).toBeInstanceOf(RefusedError);
      expect((leader as RefusedError).exitCode).toBe(3);
      expect((leader as Error).message).toContain('pg4 is the leader');
      expect((leader as RefusedError).hint).toMatch(/pgha switchover/);
    } finally {
      sim.members.get('pg4')!.role = 'replica';
      sim.members.get('pg1')!.role = 'leader';
    }
    expect(sim.since(mark)).toEqual([]);
    expect(readFileSync(config(), 'utf8')).toBe(before);
  });

  it('removes a replica that runs etcd: stopped and forgotten first, then config.yml, etcd member remove and reloads, then its units disabled', async () => {
    const mark = sim.log.length;
    const r = await remove('pg4');
    expect(r.exitCode).toBe(0);
    const log = sim.since(mark);
    const at = (line: string) => lineAt(log, line);
    const stop = at('pg4: stop Patroni and PostgreSQL');
    const forget = at('etcd: delete /pgha/demo/members/pg4');
    const memberRemove = at('etcd: member remove pg4');
    const disable = at('pg4: disable etcd.service patroni@demo.service pgha-postmaster-watch.service');
    expect(stop).toBeLessThan(forget);
    expect(forget).toBeLessThan(memberRemove);
    expect(memberRemove).toBeLessThan(disable);
    expect(at('proxy1: reload haproxy.service')).toBeLessThan(disable);
    expect(log.filter((l) => /restart (etcd|PostgreSQL)/.test(l))).toEqual([]);
    expect(planLines(r.summary, 'applied:')).toContain('cluster: etcd: remove member pg4 (https://10.10.0.14:2380)');
    expect(r.summary).toMatch(/pg4: a bare host is left as it is/);
    expect((parse(readFileSync(config(), 'utf8')) as { instances: { Name: string }[] }).instances.map((i) => i.Name)).toEqual([
      'pg1',
      'pg2',
      'pg3',
      'proxy1',
    ]);
    expect(sim.etcdMembers.map((m) => m.name)).toEqual(['pg1', 'pg2', 'pg3']);
    expect([...sim.members.keys()].sort()).toEqual(['pg1', 'pg2', 'pg3']);
    expect((await c.run({ check: true })).exitCode).toBe(0);
  });
});

describe('pgha replace-node (simulated, bare M1 + HAProxy)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { bare: true });
  let sim: SimCluster;
  const logged: string[] = [];
  const replace = (name: string) =>
    replaceNode(c.dir(), name, { concurrency: 4, log: (l) => logged.push(l) }, 'silent', { ...c.seams(), skipProvision: true });

  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });

  it('refuses the leader (exit 3), changing nothing', async () => {
    const mark = sim.log.length;
    const err = await replace('pg1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toContain('pg1 is the leader');
    expect(sim.since(mark)).toEqual([]);
  });

  it('rebuilds a replica that came back empty: its old etcd member and DCS key go, it joins as a new member and a new replica; nothing else restarts', async () => {
    const oldId = sim.etcdMembers.find((m) => m.name === 'pg3')!.id;
    // The host as a reinstall leaves it: no file, no package, nothing running.
    sim.addHost('pg3');
    sim.members.delete('pg3');
    const mark = sim.log.length;
    const r = await replace('pg3');
    expect(r.exitCode).toBe(0);
    const log = sim.since(mark);
    const at = (line: string) => lineAt(log, line);
    expect(at('etcd: member remove pg3')).toBeLessThan(at('etcd: member add https://10.10.0.13:2380'));
    expect(at('etcd: delete /pgha/demo/members/pg3')).toBeLessThan(at('pg3: start etcd.service'));
    expect(at('etcd: member add https://10.10.0.13:2380')).toBeLessThan(at('pg3: start etcd.service'));
    expect(sim.etcdMembers.map((m) => m.name).sort()).toEqual(['pg1', 'pg2', 'pg3']);
    expect(sim.etcdMembers.find((m) => m.name === 'pg3')!.id).not.toBe(oldId);
    expect(sim.members.get('pg3')?.role).toBe('replica');
    expect(log.filter((l) => /restart (etcd|PostgreSQL)|^pg[12]: (start|restart) /.test(l))).toEqual([]);
    expect(r.summary).toMatch(/etcd: member pg3 removed; it joins again as a new member/);
    expect((await c.run({ check: true })).exitCode).toBe(0);
  });
});

describe('remove-node edits', () => {
  it('drops one instance from config.yml, with the comment above it; keeps the other comments and instances as written', () => {
    const text = '# my cluster\ninstances:\n  - Name: a # first\n    x: 1\n  # the second\n  - Name: b\n    x: 2\n  - Name: c\n';
    expect(withoutInstance(text, 'b', 'config.yml')).toBe('# my cluster\ninstances:\n  - Name: a # first\n    x: 1\n  - Name: c\n');
    expect(() => withoutInstance(text, 'z', 'config.yml')).toThrow(/no instance is named z/);
  });
  it("drops a host's known_hosts lines, by name or address, markers included; keeps the rest", () => {
    const text = [
      'pg4 ssh-ed25519 AAA',
      '10.0.0.14 ssh-ed25519 AAA',
      'pg1,10.0.0.11 ssh-ed25519 BBB',
      '@revoked pg4 ssh-rsa CCC',
      '# note',
      '',
    ].join('\n');
    expect(withoutKnownHosts(text, (p) => p === 'pg4' || p === '10.0.0.14')).toBe(
      ['pg1,10.0.0.11 ssh-ed25519 BBB', '# note', ''].join('\n'),
    );
  });
});
