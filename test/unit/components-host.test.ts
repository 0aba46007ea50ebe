/** Packages, services and the set of files per role. */
import { describe, expect, it } from 'vitest';
import {
  directoriesFor,
  isPreInstall,
  privateDirectoriesFor,
  packagesFor,
  renderCluster,
  renderHost,
  servicesFor,
} from '../../src/render/index.js';
import { fakeInputs, loadExample } from '../golden/inputs.js';

describe('packagesFor / servicesFor', () => {
  const pool = loadExample('m1-pgbouncer-bare', { postgres_package_version: '15.18-0+deb12u1', etcd_package_version: '3.4.23-4+b4' });
  const host = (name: string) => {
    const h = pool.hosts.find((x) => x.name === name);
    if (!h) throw new Error(name);
    return h;
  };

  it('installs and pins per role', () => {
    expect(packagesFor(pool, host('db1'))).toEqual([
      { name: 'patroni' },
      { name: 'postgresql-15', version: '15.18-0+deb12u1' },
      { name: 'postgresql-client-15', version: '15.18-0+deb12u1' },
      { name: 'pgbouncer' },
    ]);
    expect(packagesFor(pool, host('etcd1'))).toEqual([
      { name: 'etcd-server', version: '3.4.23-4+b4' },
      { name: 'etcd-client', version: '3.4.23-4+b4' },
    ]);
    const demo = loadExample('m1-haproxy-nspawn', { haproxy_package_version: '2.6.12-1+deb12u3', patroni_package_flavour: 'edb' });
    expect(
      packagesFor(
        demo,
        demo.hosts.find((h) => h.name === 'proxy1')!,
      ),
    ).toEqual([{ name: 'haproxy', version: '2.6.12-1+deb12u3' }]);
    expect(
      packagesFor(
        demo,
        demo.hosts.find((h) => h.name === 'pg1')!,
      ).map((p) => p.name),
    ).toEqual(['etcd-server', 'etcd-client', 'edb-patroni', 'postgresql-15', 'postgresql-client-15']);
  });

  it("keys packages on the host's Debian release: PostgreSQL 17 and python3-etcd beside Patroni on 13", () => {
    const on13 = loadExample('m1-haproxy-nspawn', { os_version: 13, postgres_version: null });
    const pg1 = on13.hosts.find((h) => h.name === 'pg1')!;
    expect(pg1.vars.postgres_version).toBe(17);
    expect(pg1.vars.postgres_bin_dir).toBe('/usr/lib/postgresql/17/bin');
    expect(packagesFor(on13, pg1).map((p) => p.name)).toEqual([
      'etcd-server',
      'etcd-client',
      'patroni',
      'python3-etcd',
      'postgresql-17',
      'postgresql-client-17',
    ]);
  });

  it('names the units pgha manages, in start order', () => {
    expect(servicesFor(pool, host('db2'))).toEqual([
      'patroni@pool.service',
      'pgha-postmaster-watch.service',
      'pgbouncer.service',
      'pgha-pgbouncer-follow.service',
    ]);
    expect(servicesFor(pool, host('etcd3'))).toEqual(['etcd.service']);
    const demo = loadExample('m1-haproxy-nspawn');
    expect(servicesFor(demo, demo.hosts[0]!)).toEqual(['etcd.service', 'patroni@demo.service', 'pgha-postmaster-watch.service']);
    expect(servicesFor(demo, demo.hosts[3]!)).toEqual(['haproxy.service']);
  });
});

describe('renderHost', () => {
  it('keeps private keys 0600, sensitive, owned by the service user', () => {
    const demo = loadExample('m1-haproxy-nspawn');
    const files = renderHost(demo, demo.hosts[0]!, fakeInputs(demo));
    const keys = files.filter((f) => f.path.endsWith('.key'));
    expect(keys.map((f) => [f.path, f.owner, f.mode, f.sensitive])).toEqual([
      ['/etc/etcd/ssl/node.key', 'etcd', 0o600, true],
      ['/etc/etcd/ssl/peer.key', 'etcd', 0o600, true],
      ['/etc/patroni/ssl/node.key', 'postgres', 0o600, true],
    ]);
    expect(files.find((f) => f.path === '/etc/patroni/demo.yml')).toMatchObject({ owner: 'postgres', group: 'postgres', mode: 0o600 });
  });

  it('writes nothing TLS where TLS is off', () => {
    const demo = loadExample('m1-haproxy-nspawn', { patroni_ssl_enabled: false, etcd_ssl_enabled: false });
    for (const h of demo.hosts) {
      expect(renderHost(demo, h, fakeInputs(demo)).filter((f) => f.path.includes('/ssl/'))).toEqual([]);
    }
  });

  it('is deterministic', () => {
    const demo = loadExample('m1-overrides');
    expect(renderHost(demo, demo.hosts[1]!, fakeInputs(demo))).toEqual(renderHost(demo, demo.hosts[1]!, fakeInputs(demo)));
  });
});

describe('directoriesFor / isPreInstall', () => {
  it('keeps key directories private to their service', () => {
    const demo = loadExample('m1-overrides');
    const dirs = directoriesFor([...renderCluster(demo, fakeInputs(demo)).values()].flat());
    expect(dirs.find((d) => d.path === '/etc/patroni/ssl')).toEqual({
      path: '/etc/patroni/ssl',
      owner: 'postgres',
      group: 'postgres',
      mode: 0o750,
    });
    expect(dirs.find((d) => d.path === '/etc/etcd/ssl')).toMatchObject({ owner: 'etcd', mode: 0o750 });
    expect(dirs.find((d) => d.path === '/etc/haproxy/ssl')).toMatchObject({ owner: 'root', group: 'haproxy', mode: 0o750 });
    expect(dirs.find((d) => d.path === '/etc/patroni')).toMatchObject({ owner: 'root', mode: 0o755 });
    expect(dirs.findIndex((d) => d.path === '/etc/patroni')).toBeLessThan(dirs.findIndex((d) => d.path === '/etc/patroni/ssl'));
  });

  it('privateDirectoriesFor: only the key directories of the files given, with their service owner and 0750', () => {
    const demo = loadExample('m1-overrides');
    const files = renderHost(demo, demo.hosts[0]!, fakeInputs(demo));
    const dirs = privateDirectoriesFor(files);
    expect(dirs.map((d) => d.path).sort()).toEqual(['/etc/etcd/ssl', '/etc/patroni/ssl']);
    for (const d of dirs) expect(d.mode).toBe(0o750);
    expect(privateDirectoriesFor(files.filter((f) => !f.path.includes('/ssl/')))).toEqual([]);
  });

  it('writes the files that defuse package installation first', () => {
    const demo = loadExample('m1-haproxy-nspawn');
    const pre = renderHost(demo, demo.hosts[0]!, fakeInputs(demo))
      .filter(isPreInstall)
      .map((f) => f.path);
    expect(pre).toEqual([
      '/etc/systemd/system/etcd.service.d/pgha.conf',
      '/etc/postgresql-common/createcluster.d/pgha.conf',
      '/etc/systemd/system/patroni@demo.service.d/pgha.conf',
      '/etc/systemd/system/pgha-postmaster-watch.service',
    ]);
  });
});

describe('the copied local repository', () => {
  it('points apt at DIR/local-repo alone exactly on the hosts the platform copies it to', () => {
    const pool = loadExample('m1-pgbouncer-bare', { use_local_repo_only: true });
    const list = (opts: Parameters<typeof renderHost>[3]) =>
      renderHost(pool, pool.hosts[0]!, fakeInputs(pool), opts).filter((f) => f.path === '/etc/apt/pgha-local-repo.list');
    expect(list({ copiesLocalRepo: () => true })).toHaveLength(1);
    expect(list({ copiesLocalRepo: () => true })[0]!.content).toContain('deb [trusted=yes] file:/var/lib/pgha/repo ./');
    expect(list({ copiesLocalRepo: () => false })).toEqual([]);
    expect(list({})).toEqual([]);
    expect(isPreInstall(list({ copiesLocalRepo: () => true })[0]!)).toBe(true);
  });
});
