/**
 * The bare platform against real SSH hosts. nspawn containers stand in for the operator's
 * machines: a second cluster directory with `--platform bare` names their addresses, pins their
 * host keys on first contact, refuses a changed key, copies the local repository over SSH
 * (`use_local_repo_only`) and deploys a working cluster from it.
 *
 * On Debian 12 with PgBouncer on the data nodes: with the security suite and faults-debian12 it
 * keeps every component proven on Debian 12 (PgBouncer 1.18 here, and a `pgha switchover` it
 * follows), while the other suites run on 13.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { e2eSuiteCanRun, pgha, pghaOk, psql, removeStaleCluster, sshOk, removeTestCluster } from './harness.js';

const canRun = e2eSuiteCanRun('bare');

const SUBNET = '10.232.3';
const HOSTS = [`pg1 ${SUBNET}.11`, `pg2 ${SUBNET}.12`, `pg3 ${SUBNET}.13`];

describe.skipIf(!canRun)('bare platform on real SSH hosts', () => {
  let root = '';
  let machines = '';
  let dir = '';

  beforeAll(async () => {
    await removeStaleCluster('e2ebhost');
    root = mkdtempSync(join(tmpdir(), 'pgha-e2e-'));
    // The "machines": three containers, provisioned through an nspawn cluster directory.
    machines = join(root, 'e2ebhost');
    await pghaOk(['configure', machines, '-a', 'M1', '--enable-patroni', '--os-version', '12', '--subnet', `${SUBNET}.0/24`]);
    await pghaOk(['download-packages', machines]);
    await pghaOk(['provision', machines]);

    dir = join(root, 'e2ebare');
    writeFileSync(join(root, 'hosts.txt'), `${HOSTS.join('\n')}\n`);
    await pghaOk([
      'configure',
      dir,
      '-a',
      'M1',
      '--enable-patroni',
      '--enable-pgbouncer',
      '--os-version',
      '12',
      '--platform',
      'bare',
      '--hostnames-from',
      join(root, 'hosts.txt'),
    ]);
    // The operator puts pgha's key on their machines; here the machines already trust this one.
    for (const f of ['id_pgha', 'id_pgha.pub']) copyFileSync(join(machines, 'ssh', f), join(dir, 'ssh', f));
    const cfg = parse(readFileSync(join(dir, 'config.yml'), 'utf8')) as { cluster_vars: Record<string, unknown> };
    cfg.cluster_vars.use_local_repo_only = true;
    writeFileSync(join(dir, 'config.yml'), stringify(cfg));
    await pghaOk(['download-packages', dir]);
  }, 20 * 60_000);

  afterAll(async () => {
    await removeTestCluster(machines, root);
  }, 5 * 60_000);

  it('refuses to deploy before the host keys are pinned', async () => {
    const r = await pgha(['deploy', dir, '--check']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/known_hosts[\s\S]*run `pgha provision/);
  });

  it('pins a host key only once vouched for: a trusted known_hosts file or an explicit --accept-new-host-keys', async () => {
    const knownHosts = join(dir, 'ssh', 'known_hosts');
    const pinned = () => (existsSync(knownHosts) ? readFileSync(knownHosts, 'utf8') : '');
    // Unvouched: every fingerprint printed, exit 3, nothing pinned.
    const refused = await pgha(['provision', dir]);
    expect(refused.code).toBe(3);
    expect(refused.stderr.match(/pg[123] \(10\.232\.3\.1[123]\): ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}/g)).toHaveLength(3);
    expect(refused.stderr).toContain('--accept-new-host-keys');
    expect(pinned()).not.toContain(SUBNET);
    // A file that lists another key for pg2 (pg1's): refused as a possible interception.
    const trusted = readFileSync(join(machines, 'ssh', 'known_hosts'), 'utf8');
    const pg1Key = trusted
      .split('\n')
      .find((l) => l.startsWith(`${SUBNET}.11 `))!
      .split(' ')
      .slice(1)
      .join(' ');
    const wrong = join(root, 'wrong_known_hosts');
    writeFileSync(
      wrong,
      trusted
        .split('\n')
        .map((l) => (l.startsWith(`${SUBNET}.12 `) ? `${SUBNET}.12 ${pg1Key}` : l))
        .join('\n'),
    );
    const mismatch = await pgha(['provision', dir, '--known-hosts', wrong]);
    expect(mismatch.code).toBe(3);
    expect(mismatch.stderr).toMatch(/pg2 \(10\.232\.3\.12\).*does not list/);
    expect(pinned()).not.toContain(SUBNET);
    // The machines' own keys, as their owner knows them: pinned, fingerprints shown.
    const first = await pghaOk(['provision', dir, '--known-hosts', join(machines, 'ssh', 'known_hosts')]);
    expect(first.stdout.match(/host key pinned \(ssh-ed25519 SHA256:/g)).toHaveLength(3);
    const second = await pghaOk(['provision', dir]);
    expect(second.stdout.match(/matches the pinned one/g)).toHaveLength(3);
  });

  it(
    'deploys from the local repository copied over SSH',
    async () => {
      const r = await pghaOk(['deploy', dir]);
      expect(r.stdout).toContain('bootstrapped');
      expect(sshOk(dir, `${SUBNET}.12`, 'cat /etc/apt/pgha-local-repo.list')).toContain('file:/var/lib/pgha/repo');
      expect(sshOk(dir, `${SUBNET}.12`, 'test -f /var/lib/pgha/repo/Packages && echo yes').trim()).toBe('yes');
      const members = JSON.parse(sshOk(dir, `${SUBNET}.11`, 'patronictl -c /etc/patroni/e2ebare.yml list -f json')) as { Role: string }[];
      expect(members.filter((m) => m.Role === 'Leader')).toHaveLength(1);
      expect(members).toHaveLength(3);
      // pgha's own Patroni build for Debian 12 (the leader key fix) comes with the repository.
      for (const n of [11, 12, 13]) {
        expect(sshOk(dir, `${SUBNET}.${n}`, "dpkg-query -W -f='${Version}' patroni").trim()).toBe('3.0.2-1+pgha2');
        expect(sshOk(dir, `${SUBNET}.${n}`, "dpkg-query -W -f='${Version}' pgbouncer").trim()).toMatch(/^1\.18\./);
      }
      expect(r.stdout).not.toContain('leader key fix');
    },
    10 * 60_000,
  );

  it(
    'PgBouncer on every data node leads to the leader, and follows it after pgha switchover',
    async () => {
      const leaderNow = () =>
        (
          JSON.parse(sshOk(dir, `${SUBNET}.11`, 'patronictl -c /etc/patroni/e2ebare.yml list -f json')) as {
            Member: string;
            Role: string;
          }[]
        ).find((m) => m.Role === 'Leader')!.Member;
      const ipOf = (name: string) => `${SUBNET}.${10 + Number(name.slice(2))}`;
      const password = readFileSync(join(dir, 'secrets', 'postgres'), 'utf8').trim();
      const viaPgbouncer = (n: number) =>
        psql(
          `host=${SUBNET}.${n} port=6432 user=postgres dbname=postgres sslmode=require`,
          'select host(inet_server_addr()), pg_is_in_recovery()',
          password,
        );
      /** Every PgBouncer leads to `leader` (its follower rewrites the target within a few seconds). */
      const allLeadTo = async (leader: string) => {
        for (let i = 0; i < 60; i++) {
          if ([11, 12, 13].every((n) => viaPgbouncer(n).stdout === `${ipOf(leader)}|f`)) return true;
          await new Promise((r) => setTimeout(r, 1000));
        }
        return false;
      };
      const from = leaderNow();
      expect(await allLeadTo(from)).toBe(true);
      const to = from === 'pg2' ? 'pg3' : 'pg2';
      const sw = await pghaOk(['switchover', dir, to, '--force']);
      expect(sw.stdout).toContain(to);
      expect(leaderNow()).toBe(to);
      expect(await allLeadTo(to)).toBe(true);
    },
    5 * 60_000,
  );

  it('refuses a host whose key changed, naming the host and known_hosts', async () => {
    const kh = join(dir, 'ssh', 'known_hosts');
    const original = readFileSync(kh, 'utf8');
    try {
      const pg1Key = original
        .split('\n')
        .find((l) => l.startsWith(`${SUBNET}.11 `))!
        .split(' ')
        .slice(1)
        .join(' ');
      writeFileSync(
        kh,
        original
          .split('\n')
          .map((l) => (l.startsWith(`${SUBNET}.12 `) ? `${SUBNET}.12 ${pg1Key}` : l))
          .join('\n'),
      );
      for (const args of [
        ['provision', dir],
        ['deploy', dir, '--check'],
      ]) {
        const r = await pgha(args);
        expect(r.code).toBe(3);
        expect(r.stderr).toContain('pg2');
        expect(r.stderr).toContain(kh);
      }
    } finally {
      writeFileSync(kh, original);
    }
  }, 60_000);
});
