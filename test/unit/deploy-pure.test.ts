import { describe, expect, it } from 'vitest';
import { reactionsTo } from '../../src/app/deploy.js';
import { nspawnSubnet } from '../../src/app/provision.js';
import { installPackagesCommand, pgbouncerAuthUserCommand } from '../../src/components/host-commands.js';
import { prefixRangeEnd } from '../../src/components/etcd/auth.js';
import { UsageError } from '../../src/errors.js';
import type { ResolvedCluster } from '../../src/model/types.js';

describe('commands keep secrets off the command line', () => {
  it('sends the PgBouncer auth user password on stdin only', () => {
    const cmd = pgbouncerAuthUserCommand('pgbouncer_auth_user', 'S3cretS3cretS3cretS3cret', 5432, ['SELECT 1']);
    expect(cmd.script).not.toContain('S3cret');
    expect(cmd.stdin).toContain("PASSWORD 'S3cretS3cretS3cretS3cret'");
    expect(cmd.secrets).toEqual(['S3cretS3cretS3cretS3cret']);
  });
  it('neutralises Debian install-time side effects before installing', () => {
    const { script } = installPackagesCommand(['postgresql-15', 'patroni=3.0.2-1']);
    expect(script.indexOf('policy-rc.d')).toBeLessThan(script.indexOf('apt-get install'));
    expect(script).toContain('patroni=3.0.2-1');
  });
});

describe('reactionsTo', () => {
  it.each([
    ['/etc/haproxy/haproxy.cfg', [{ unit: 'haproxy.service', how: 'reload' }]],
    ['/etc/patroni/main.yml', [{ unit: 'patroni@main.service', how: 'reload' }]],
    ['/etc/etcd/pgha.conf.yml', [{ unit: 'etcd.service', how: 'restart' }]],
    ['/etc/systemd/system/etcd.service.d/pgha.conf', ['daemon-reload']],
    ['/etc/systemd/system/pgha-pgbouncer-follow.service', ['daemon-reload', { unit: 'pgha-pgbouncer-follow.service', how: 'restart' }]],
    ['/usr/local/lib/pgha/pgbouncer-follow', [{ unit: 'pgha-pgbouncer-follow.service', how: 'restart' }]],
    ['/etc/pgbouncer/pgbouncer.ini', [{ unit: 'pgbouncer.service', how: 'reload' }]],
  ])('%s', (path, want) => {
    expect(reactionsTo(path, 'main')).toEqual(want);
  });
});

describe('etcd prefix permission', () => {
  it('ends the range just past the trailing slash', () => {
    expect(prefixRangeEnd('/pgha/main/')).toBe('/pgha/main0');
  });
});

describe('nspawnSubnet', () => {
  const cluster = (ips: string[]) => ({ hosts: ips.map((ip) => ({ ip })) }) as unknown as ResolvedCluster;
  it('is the /24 shared by every host', () => {
    expect(nspawnSubnet(cluster(['10.1.2.11', '10.1.2.12']))).toBe('10.1.2.0/24');
  });
  it('refuses hosts spread over several /24s', () => {
    expect(() => nspawnSubnet(cluster(['10.1.2.11', '10.1.3.12']))).toThrow(UsageError);
  });
});
