/**
 * A cluster that changes shape, against the simulated cluster (./sim/cluster.ts): a data node
 * added to config.yml joins etcd (member add first, then `initial-cluster-state: existing`) and
 * Patroni as a replica, and one dropped from config.yml leaves etcd (member remove) — etcd
 * restarted nowhere, PostgreSQL on the leader never restarted, every other host reloaded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureClusterMaterial, loadCluster } from '../../src/app/cluster-dir.js';
import { RefusedError } from '../../src/errors.js';
import { ETCD_CONFIG } from '../../src/components/paths.js';
import { onlyInitialSettingsDiffer, withInitialSettingsOf } from '../../src/components/etcd/config.js';
import type { SimCluster } from './sim/cluster.js';
import { lineAt, PG4_INSTANCE, planLines, simulated } from './sim/setup.js';

describe('deploy changes the shape of a running cluster (simulated, M1 + HAProxy)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo');
  let sim: SimCluster;
  let original = '';
  const config = () => join(c.dir(), 'config.yml');
  const etcdNames = () => sim.etcdMembers.map((m) => m.name).sort();
  /** config.yml's text with role etcd taken off data node `name`. */
  const withoutEtcd = (text: string, name: string) => {
    const at = text.indexOf(`- Name: ${name}\n`);
    return text.slice(0, at) + text.slice(at).replace('role: [replica, etcd]', 'role: [replica]');
  };
  beforeAll(async () => {
    sim = c.sim();
    original = readFileSync(config(), 'utf8');
    expect((await c.run()).exitCode).toBe(0);
  });

  it('forms etcd from the three data nodes', () => {
    expect(etcdNames()).toEqual(['pg1', 'pg2', 'pg3']);
  });

  it('adds a data node: etcd member add, then it joins as an existing member; a replica; nothing else restarts', async () => {
    writeFileSync(config(), original.replace('  - Name: proxy1', `${PG4_INSTANCE}  - Name: proxy1`));
    sim.addHost('pg4', { os_version: 12 });
    // As `pgha provision` leaves DIR: the new host's key and certificate made.
    await ensureClusterMaterial(loadCluster(c.dir(), {}));
    const leaderStart = sim.host('pg1').startedAt.get('patroni@demo.service');
    const check = await c.run({ check: true });
    expect(check.exitCode).toBe(10);
    const plan = planLines(check.summary, 'pending changes:');
    expect(plan).toContain('cluster: etcd: add member pg4 (https://10.10.0.14:2380)');
    expect(plan.filter((l) => /restart etcd/.test(l))).toEqual([]);
    expect(sim.etcdMembers).toHaveLength(3);

    const mark = sim.log.length;
    const r = await c.run();
    expect(r.exitCode).toBe(0);
    const log = sim.since(mark);
    expect(planLines(r.summary, 'applied:')).toContain('cluster: etcd: add member pg4 (https://10.10.0.14:2380)');
    // Announced before it first starts, which it does with `existing`.
    expect(log.indexOf('etcd: member add https://10.10.0.14:2380')).toBeLessThan(log.indexOf('pg4: start etcd.service'));
    const pg4etcd = parse(sim.host('pg4').files.get(ETCD_CONFIG)!.content) as Record<string, string>;
    expect(pg4etcd['initial-cluster-state']).toBe('existing');
    expect(pg4etcd['initial-cluster']).toBe(
      'pg1=https://10.10.0.11:2380,pg2=https://10.10.0.12:2380,pg3=https://10.10.0.13:2380,pg4=https://10.10.0.14:2380',
    );
    expect(etcdNames()).toEqual(['pg1', 'pg2', 'pg3', 'pg4']);
    // The running members keep their files' initial-* settings (read only at first start): not
    // rewritten, not restarted.
    expect(log.filter((l) => /restart etcd/.test(l))).toEqual([]);
    expect(log).toContain('pg1: write /etc/patroni/demo.yml');
    expect(log).toContain('pg1: reload patroni@demo.service');
    expect(log).toContain('proxy1: reload haproxy.service');
    expect(sim.members.get('pg4')?.role).toBe('replica');
    expect(sim.host('pg1').startedAt.get('patroni@demo.service')).toBe(leaderStart);
    expect(log.filter((l) => /restart PostgreSQL/.test(l))).toEqual([]);
    // pg4 keeps `existing` in its file now that it runs: the next deploy has nothing to do.
    const again = await c.run({ check: true });
    expect(again.exitCode, again.summary).toBe(0);
  });

  it('removes it again: etcd member remove; the others reload, etcd restarts nowhere', async () => {
    writeFileSync(config(), original);
    const check = await c.run({ check: true });
    expect(planLines(check.summary, 'pending changes:')).toContain('cluster: etcd: remove member pg4 (https://10.10.0.14:2380)');
    const mark = sim.log.length;
    const r = await c.run();
    expect(r.exitCode).toBe(0);
    expect(etcdNames()).toEqual(['pg1', 'pg2', 'pg3']);
    const log = sim.since(mark);
    expect(log).toContain('etcd: member remove pg4');
    expect(log.filter((l) => /restart etcd|restart PostgreSQL/.test(l))).toEqual([]);
    expect(log).toContain('proxy1: reload haproxy.service');
  });

  it('takes etcd off a data node: member remove, then its etcd stopped and disabled and its data deleted; Patroni reloads; given back, it joins anew', async () => {
    writeFileSync(config(), withoutEtcd(original, 'pg3'));
    const check = await c.run({ check: true });
    expect(check.exitCode).toBe(10);
    const plan = planLines(check.summary, 'pending changes:');
    expect(plan).toContain('cluster: etcd: remove member pg3 (https://10.10.0.13:2380)');
    expect(plan).toContain('  stop and disable etcd.service, remove /var/lib/etcd/demo');
    expect(plan.filter((l) => /restart/.test(l))).toEqual([]);
    const mark = sim.log.length;
    const r = await c.run();
    expect(r.exitCode, r.summary).toBe(0);
    const log = sim.since(mark);
    expect(planLines(r.summary, 'applied:')).toEqual(plan);
    expect(etcdNames()).toEqual(['pg1', 'pg2']);
    expect(lineAt(log, 'etcd: member remove pg3')).toBeLessThan(lineAt(log, 'pg3: disable etcd.service, remove /var/lib/etcd/demo'));
    expect(sim.host('pg3').active.has('etcd.service')).toBe(false);
    expect(log).toContain('pg3: reload patroni@demo.service');
    expect(log.filter((l) => /restart etcd|restart PostgreSQL/.test(l))).toEqual([]);
    // Done: the next run finds etcd disabled there and has nothing to do.
    expect((await c.run({ check: true })).exitCode).toBe(0);

    // The role given back: a new member (its old data is gone), announced first, joining as `existing`.
    writeFileSync(config(), original);
    const back = await c.run();
    expect(back.exitCode, back.summary).toBe(0);
    expect(planLines(back.summary, 'applied:')).toContain('cluster: etcd: add member pg3 (https://10.10.0.13:2380)');
    expect(etcdNames()).toEqual(['pg1', 'pg2', 'pg3']);
    expect((parse(sim.host('pg3').files.get(ETCD_CONFIG)!.content) as Record<string, string>)['initial-cluster-state']).toBe('existing');
  });

  it('refuses, changing nothing, two membership changes at once, or one that would lose quorum', async () => {
    const two = original.replace(
      '  - Name: proxy1',
      `${PG4_INSTANCE}${PG4_INSTANCE.replace(/pg4/g, 'pg5').replace('.14', '.15').replace('node: 5', 'node: 6')}  - Name: proxy1`,
    );
    writeFileSync(config(), two);
    sim.addHost('pg5', { os_version: 12 });
    await ensureClusterMaterial(loadCluster(c.dir(), {}));
    const mark = sim.log.length;
    try {
      const err = await c.run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as Error).message).toMatch(
        /changes etcd's membership by 2 members .*add member pg4.*add member pg5.*one member at a time/,
      );
      // With pg3's etcd down, a fourth member would need 3 of 4 healthy: refused, naming the member down.
      writeFileSync(config(), original.replace('  - Name: proxy1', `${PG4_INSTANCE}  - Name: proxy1`));
      sim.host('pg3').active.delete('etcd.service');
      const quorum = await c.run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(quorum).toBeInstanceOf(RefusedError);
      expect((quorum as Error).message).toMatch(
        /etcd would lose its quorum: after add member pg4 \(https:\/\/10\.10\.0\.14:2380\) it has 4 members, needing 3 healthy, and only 2 \(pg1, pg2\) are; down: pg3/,
      );
      // Two members removed at once (etcd taken off pg2 and pg3): refused, naming both.
      sim.host('pg3').active.add('etcd.service');
      writeFileSync(config(), withoutEtcd(withoutEtcd(original, 'pg3'), 'pg2'));
      const both = await c.run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(both).toBeInstanceOf(RefusedError);
      expect((both as Error).message).toMatch(/changes etcd's membership by 2 members \(remove member pg2 .*; remove member pg3 /);
      expect(sim.since(mark)).toEqual([]);
    } finally {
      sim.host('pg3').active.add('etcd.service');
      writeFileSync(config(), original);
    }
  });
});

describe("etcd's initial-* settings on a member that runs", () => {
  const onHost = 'name: pg4\ninitial-cluster: a=x,pg4=y\ninitial-cluster-state: existing\nlogger: zap\n';
  it('are kept from the host copy: a file differing only there is the host copy byte for byte', () => {
    const desired = 'name: pg4\ninitial-cluster: a=x,b=z,pg4=y\ninitial-cluster-state: new\nlogger: zap\n';
    expect(onlyInitialSettingsDiffer(onHost, desired)).toBe(true);
    expect(withInitialSettingsOf(desired, onHost)).toBe(onHost);
  });
  it('…while any other change goes through, and restarts the member', () => {
    const desired = 'name: pg4\ninitial-cluster: a=x,b=z,pg4=y\ninitial-cluster-state: new\nlogger: capnslog\n';
    const settled = withInitialSettingsOf(desired, onHost);
    expect(parse(settled)).toEqual({
      name: 'pg4',
      'initial-cluster': 'a=x,pg4=y',
      'initial-cluster-state': 'existing',
      logger: 'capnslog',
    });
    expect(onlyInitialSettingsDiffer(onHost, settled)).toBe(false);
  });
});
