import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/configure.js';
import { keepalivedConf } from '../../src/components/keepalived/config.js';
import { readVipState, keepalivedStateScript } from '../../src/components/keepalived/live.js';
import { virtualRouterId } from '../../src/components/keepalived/vip.js';
import { clusterEntryPoints, componentNamed } from '../../src/components/registry.js';
import { resolveCluster } from '../../src/model/resolve.js';
import { barePlatform } from '../../src/platforms/bare/index.js';
import { nspawnPlatform } from '../../src/platforms/nspawn/index.js';
import { configureOptions } from './configure-options.js';

const config = () =>
  buildConfig(configureOptions({ clusterName: 'main', enableHaproxy: true, subnet: '10.40.1.0/24' }), nspawnPlatform.configure);

describe('keepalived: the VIP on the HAProxy hosts', () => {
  it('configure --enable-haproxy on nspawn: two proxies, the second last (no other address moves), and a VIP on host0', () => {
    const c = config();
    expect(c.instances.map((i) => `${i.Name} ${i.ip_address}`)).toEqual([
      'pg1 10.40.1.11',
      'pg2 10.40.1.12',
      'pg3 10.40.1.13',
      'proxy1 10.40.1.14',
      'proxy2 10.40.1.15',
    ]);
    expect(c.cluster_vars).toMatchObject({ vip_address: '10.40.1.250', vip_interface: 'host0' });
  });

  it('configure on listed hosts gives two proxies but no VIP: only the operator knows a free address and the interface', () => {
    const hostnames = ['pg1', 'pg2', 'pg3', 'px1', 'px2'].map((name, i) => ({ name, ip: `192.168.7.${i + 1}` }));
    const c = buildConfig(configureOptions({ platform: 'bare', hostnames, enableHaproxy: true }), barePlatform.configure);
    expect(c.instances.filter((i) => i.role.includes('haproxy')).map((i) => i.Name)).toEqual(['px1', 'px2']);
    expect(c.cluster_vars).not.toHaveProperty('vip_address');
  });

  it('runs on the proxies only, and only with a VIP', () => {
    const cluster = resolveCluster(config());
    const k = componentNamed('keepalived')!;
    expect(cluster.hosts.filter((h) => k.runsOn(cluster, h)).map((h) => h.name)).toEqual(['proxy1', 'proxy2']);
    const without = resolveCluster(config(), { vip_address: null });
    expect(without.hosts.filter((h) => k.runsOn(without, h))).toEqual([]);
    expect(clusterEntryPoints(without)).toEqual([]);
  });

  it('renders one VRRP instance per proxy: both BACKUP with nopreempt, the first preferred, each naming the other as its unicast peer', () => {
    const cluster = resolveCluster(config());
    const [p1, p2] = cluster.hosts.filter((h) => h.name.startsWith('proxy'));
    const one = keepalivedConf(cluster, p1!);
    const two = keepalivedConf(cluster, p2!);
    const id = virtualRouterId(cluster, p1!);
    expect(id).toBeGreaterThanOrEqual(1);
    expect(id).toBeLessThanOrEqual(255);
    for (const conf of [one, two]) {
      expect(conf).toContain('    state BACKUP\n    nopreempt\n    interface host0\n');
      expect(conf).toContain(`    virtual_router_id ${id}\n`);
      expect(conf).toContain('        10.40.1.250/32 dev host0\n');
      expect(conf).toContain('script "/usr/bin/systemctl is-active --quiet haproxy.service"');
      expect(conf).toContain('    track_script {\n        pgha_haproxy\n    }');
    }
    expect(one).toContain('    priority 150\n');
    expect(two).toContain('    priority 140\n');
    expect(one).toContain('    unicast_src_ip 10.40.1.14\n    unicast_peer {\n        10.40.1.15\n    }');
    expect(two).toContain('    unicast_src_ip 10.40.1.15\n    unicast_peer {\n        10.40.1.14\n    }');
  });

  it('keeps a prefix length written with the address, and an explicit router id', () => {
    const cluster = resolveCluster(config(), { vip_address: '10.40.1.250/24', keepalived_virtual_router_id: 42 });
    const conf = keepalivedConf(
      cluster,
      cluster.hosts.find((h) => h.name === 'proxy1')!,
    );
    expect(conf).toContain('        10.40.1.250/24 dev host0\n');
    expect(conf).toContain('    virtual_router_id 42\n');
  });

  it('the VIP is an entry point of its own, read-write first, with HAProxy’s certificate rule, served by the proxies', () => {
    const cluster = resolveCluster(config(), { haproxy_read_only_load_balancer_enabled: true, patroni_ssl_enabled: true });
    const servedBy = ['proxy1', 'proxy2'];
    expect(clusterEntryPoints(cluster)).toEqual([
      {
        kind: 'read-write',
        ip: '10.40.1.250',
        port: 5432,
        label: 'HAProxy',
        via: 'VIP, keepalived on proxy1, proxy2',
        servedBy,
        tls: 'verify-ca',
      },
      {
        kind: 'read-only',
        ip: '10.40.1.250',
        port: 5433,
        label: 'HAProxy',
        via: 'VIP, keepalived on proxy1, proxy2',
        servedBy,
        tls: 'verify-ca',
      },
    ]);
  });

  it("reads a host's report: keepalived's state and whether the address is here", () => {
    const cluster = resolveCluster(config());
    const host = cluster.hosts.find((h) => h.name === 'proxy2')!;
    expect(keepalivedStateScript(cluster, host)).toContain('ip -o -4 addr show to 10.40.1.250/32');
    const parts = new Map([['keepalived', { text: 'active=active\nholds=yes\n', rc: 0 }]]);
    expect(readVipState({ host, parts })).toEqual({
      host: 'proxy2',
      address: '10.40.1.250',
      reachable: true,
      keepalived: 'active',
      holdsVip: true,
    });
    expect(readVipState({ host, error: 'ssh: timed out' })).toMatchObject({ reachable: false, holdsVip: false, error: 'ssh: timed out' });
  });
});
