/**
 * A VIP on two proxies against the simulated cluster (./sim/cluster.ts): deploy starts keepalived
 * on both and waits until one holds the address; taking vip_address out of config.yml stops and
 * disables keepalived on both (Component.retiredUnits), and a run after that has nothing to do.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from './sim/cluster.js';
import { planLines, simulated } from './sim/setup.js';

const PROXY2 = `  - Name: proxy2
    node: 5
    location: main
    role: [haproxy]
    ip_address: 10.10.0.22
`;
const VIP_VARS = `  vip_address: 10.10.0.250\n  vip_interface: host0\n`;

/** Two proxies and a VIP: proxy2 after proxy1, the VIP among the cluster's variables. */
const withVip = (text: string) => text.replace('cluster_vars:\n', `cluster_vars:\n${VIP_VARS}`) + PROXY2;

describe('keepalived on two proxies (simulated, M1 + HAProxy)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo', { editConfig: withVip });
  let sim: SimCluster;
  const config = () => join(c.dir(), 'config.yml');
  const keepalivedOn = () => ['proxy1', 'proxy2'].filter((p) => sim.host(p).active.has('keepalived.service'));
  beforeAll(() => {
    sim = c.sim();
  });

  it('deploy starts keepalived on both proxies, and the first holds the VIP', async () => {
    const r = await c.run();
    expect(r.exitCode, r.summary).toBe(0);
    expect(keepalivedOn()).toEqual(['proxy1', 'proxy2']);
    expect(sim.answering('10.10.0.250')).toBe('proxy1');
  });

  it('without vip_address, deploy stops and disables keepalived on both proxies; then it has nothing to do', async () => {
    const text = readFileSync(config(), 'utf8');
    expect(text).toContain(VIP_VARS);
    writeFileSync(config(), text.replace(VIP_VARS, ''));
    const check = await c.run({ check: true });
    expect(check.exitCode).toBe(10);
    const plan = planLines(check.summary, 'pending changes:');
    expect(plan.filter((l) => /keepalived/.test(l))).toEqual([
      '  stop and disable keepalived.service',
      '  stop and disable keepalived.service',
    ]);
    expect(keepalivedOn()).toEqual(['proxy1', 'proxy2']);

    const mark = sim.log.length;
    const r = await c.run();
    expect(r.exitCode, r.summary).toBe(0);
    const log = sim.since(mark);
    expect(log).toContain('proxy1: disable keepalived.service');
    expect(log).toContain('proxy2: disable keepalived.service');
    expect(keepalivedOn()).toEqual([]);
    expect(log.filter((l) => /^pg\d: disable/.test(l))).toEqual([]);
    expect((await c.run({ check: true })).exitCode).toBe(0);
  });

  it('given back, vip_address starts keepalived again', async () => {
    writeFileSync(config(), readFileSync(config(), 'utf8').replace('cluster_vars:\n', `cluster_vars:\n${VIP_VARS}`));
    const r = await c.run();
    expect(r.exitCode, r.summary).toBe(0);
    expect(keepalivedOn()).toEqual(['proxy1', 'proxy2']);
  });
});

describe('a keepalived that is not pgha’s (simulated, M1 + HAProxy, no VIP)', () => {
  const c = simulated('m1-haproxy-nspawn', 'demo');
  const OWN = '/etc/keepalived/keepalived.conf';

  it('is never stopped: only a keepalived.conf that pgha wrote makes keepalived pgha’s to retire', async () => {
    const sim = c.sim();
    // An operator's keepalived on proxy1, for an address of their own.
    const proxy1 = sim.host('proxy1');
    proxy1.files.set(OWN, { content: 'vrrp_instance theirs {\n}\n', owner: 'root', group: 'root', mode: 0o644 });
    proxy1.active.add('keepalived.service');
    proxy1.startedAt.set('keepalived.service', Date.now());
    const first = await c.run();
    expect(first.exitCode, first.summary).toBe(0);
    expect(planLines(first.summary, 'applied:').filter((l) => /keepalived/.test(l))).toEqual([]);
    expect(proxy1.active.has('keepalived.service')).toBe(true);
    // The same keepalived with pgha's file: retired.
    proxy1.files.set(OWN, {
      content: '# Managed by pgha: changes here are overwritten by `pgha deploy`.\n',
      owner: 'root',
      group: 'root',
      mode: 0o644,
    });
    const check = await c.run({ check: true });
    expect(planLines(check.summary, 'pending changes:')).toContain('  stop and disable keepalived.service');
  });
});
