import { describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../src/components/registry.js';
import type { ResolvedCluster } from '../../src/model/types.js';
import { needsDaemonReload } from '../../src/plan/cluster-plan.js';
import { installPackagesCommand, pgbouncerAuthUserCommand, scramVerifier } from '../../src/components/host-commands.js';
import { prefixRangeEnd } from '../../src/components/etcd/auth.js';

describe('commands keep secrets off the command line', () => {
  it('sends the PgBouncer auth user a SCRAM verifier on stdin only, never the password', () => {
    const cmd = pgbouncerAuthUserCommand('pgbouncer_auth_user', 'S3cretS3cretS3cretS3cret', 5432, ['SELECT 1']);
    const verifier = scramVerifier('pgbouncer_auth_user', 'S3cretS3cretS3cretS3cret');
    expect(cmd.script).not.toContain('S3cret');
    expect(cmd.script).not.toContain(verifier);
    expect(cmd.stdin).not.toContain('S3cret');
    expect(cmd.stdin).toContain(verifier);
    expect(cmd.secrets).toEqual(['S3cretS3cretS3cretS3cret', verifier]);
  });
  it('pins search_path and qualifies every name and operator in the SQL it runs as superuser', () => {
    const cmd = pgbouncerAuthUserCommand('pgbouncer_auth_user', 'S3cretS3cretS3cretS3cret', 5432, ['SELECT 1']);
    // Exported before the first psql, so every psql of the script starts with it.
    expect(cmd.script.indexOf("export PGOPTIONS='-c search_path=pg_catalog,pg_temp'")).toBeGreaterThan(-1);
    expect(cmd.script.indexOf('export PGOPTIONS')).toBeLessThan(cmd.script.indexOf('psql'));
    // The SQL: what goes on stdin, and the queries the script passes to psql -c.
    const sql = [cmd.stdin ?? '', ...cmd.script.split('\n').filter((l) => l.includes('SELECT'))].join('\n');
    expect(sql).not.toMatch(/\s(=|<>)[\s']/); // every comparison is OPERATOR(pg_catalog.…)
    expect(sql).not.toMatch(/IS DISTINCT FROM/);
    for (const name of ['pg_authid', 'pg_roles', 'pg_database', 'pg_proc', 'format(', 'count(', 'to_regnamespace(', 'encode(']) {
      for (const at of [...sql.matchAll(new RegExp(name.replace('(', '\\('), 'g'))].map((m) => m.index)) {
        expect(sql.slice(at - 'pg_catalog.'.length, at), name).toBe('pg_catalog.');
      }
    }
    // Database names never pass through word splitting or psql -d's connection-string expansion.
    expect(cmd.script).not.toMatch(/for db in/);
    expect(cmd.script).toContain('PGDATABASE="$db"');
  });
  it('computes the SCRAM verifier PostgreSQL would store, deterministically', () => {
    const v = scramVerifier('u', 'pw');
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    expect(scramVerifier('u', 'pw')).toBe(v);
    expect(scramVerifier('u', 'pw2')).not.toBe(v);
  });
  it('neutralises Debian install-time side effects before installing', () => {
    const { script } = installPackagesCommand(['postgresql-15', 'patroni=3.0.2-1']);
    expect(script.indexOf('policy-rc.d')).toBeLessThan(script.indexOf(' install -y'));
    expect(script).toContain('patroni=3.0.2-1');
  });
  it("touches only the units and data of the packages it installs (issue 12: an HAProxy host's etcd survives)", () => {
    const proxy = installPackagesCommand(['haproxy']).script;
    expect(proxy).not.toMatch(/patroni/);
    expect(proxy).not.toMatch(/etcd/);
    const data = installPackagesCommand(['postgresql-15', 'patroni=3.0.2-1']).script;
    expect(data).toContain('systemctl disable --now patroni.service');
    expect(data).toContain('rm -f /etc/patroni/dcs.yml');
    expect(data).not.toMatch(/etcd/);
    const etcd = installPackagesCommand(['etcd-server=3.4.23-4+b4', 'etcd-client']).script;
    expect(etcd).toContain('rm -rf /var/lib/etcd/default');
    expect(etcd).not.toMatch(/patroni/);
  });
});

describe('component reactions to a changed file', () => {
  const cluster = { name: 'main' } as ResolvedCluster;
  const reactionsTo = (path: string) => COMPONENTS.flatMap((c) => c.reactions(cluster, path));
  it.each([
    ['/etc/haproxy/haproxy.cfg', [{ unit: 'haproxy.service', how: 'reload' }], false],
    ['/etc/patroni/main.yml', [{ unit: 'patroni@main.service', how: 'reload' }], false],
    ['/etc/etcd/pgha.conf.yml', [{ unit: 'etcd.service', how: 'restart' }], false],
    ['/etc/default/etcd', [{ unit: 'etcd.service', how: 'restart' }], false],
    ['/etc/systemd/system/etcd.service.d/pgha.conf', [], true],
    ['/etc/systemd/system/pgha-pgbouncer-follow.service', [{ unit: 'pgha-pgbouncer-follow.service', how: 'restart' }], true],
    ['/usr/local/lib/pgha/pgbouncer-follow', [{ unit: 'pgha-pgbouncer-follow.service', how: 'restart' }], false],
    ['/etc/pgbouncer/pgbouncer.ini', [{ unit: 'pgbouncer.service', how: 'reload' }], false],
  ])('%s', (path, want, daemonReload) => {
    expect(reactionsTo(path)).toEqual(want);
    expect(needsDaemonReload([path])).toBe(daemonReload);
  });
});

describe('etcd prefix permission', () => {
  it('ends the range just past the trailing slash', () => {
    expect(prefixRangeEnd('/pgha/main/')).toBe('/pgha/main0');
  });
});
