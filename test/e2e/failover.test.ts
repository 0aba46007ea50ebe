/**
 * The verbs that move or restart PostgreSQL on their own schedule: `failover` promoting a
 * candidate through Patroni (forced past a healthy leader, the only way to trigger it on demand),
 * and `restart --scheduled`, which Patroni carries out later by itself.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eSuiteCanRun, pgha, pghaOk, removeStaleCluster, sshOk, removeTestCluster } from './harness.js';

const canRun = e2eSuiteCanRun('failover');
const CLUSTER = 'e2efo';
const SUBNET = '10.236.1';
const IP: Record<string, string> = { pg1: `${SUBNET}.11`, pg2: `${SUBNET}.12`, pg3: `${SUBNET}.13` };

describe.skipIf(!canRun)('failover and scheduled restart on nspawn', () => {
  let root = '';
  let dir = '';

  const members = () =>
    JSON.parse(sshOk(dir, IP.pg1!, `patronictl -c /etc/patroni/${CLUSTER}.yml list -f json`)) as {
      Member: string;
      Role: string;
      State: string;
    }[];
  const leader = () => members().find((m) => m.Role === 'Leader' && m.State === 'running')?.Member;
  const startTime = (node: string) =>
    sshOk(
      dir,
      IP[node]!,
      'cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -c "select pg_postmaster_start_time()"',
    ).trim();
  const until = async (what: string, ok: () => boolean, seconds = 120) => {
    for (let i = 0; i < seconds; i++) {
      try {
        if (ok()) return;
      } catch {
        // A member in the middle of a restart: ask again.
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    await removeStaleCluster(CLUSTER);
    root = mkdtempSync(join(tmpdir(), 'pgha-e2e-'));
    dir = join(root, CLUSTER);
    await pghaOk(['configure', dir, '-a', 'M1', '--enable-patroni', '--subnet', `${SUBNET}.0/24`]);
    await pghaOk(['download-packages', dir]);
    await pghaOk(['provision', dir]);
    await pghaOk(['deploy', dir]);
  }, 30 * 60_000);

  afterAll(async () => {
    await removeTestCluster(dir, root);
  }, 5 * 60_000);

  it('failover --force promotes the candidate, and the old leader follows it', async () => {
    await until('a leader', () => leader() !== undefined);
    const from = leader()!;
    const to = from === 'pg3' ? 'pg2' : 'pg3';
    expect((await pgha(['failover', dir, '--candidate', to])).code).toBe(3);
    const r = await pghaOk(['failover', dir, '--candidate', to, '--force']);
    expect(r.stdout).toContain(`${to} leads after`);
    expect(leader()).toBe(to);
    await until(
      `${from} to stream from ${to}`,
      () =>
        members().find((m) => m.Member === from)?.State === 'running' || members().find((m) => m.Member === from)?.State === 'streaming',
    );
  });

  it('restart --scheduled leaves the restart to Patroni at the given time', async () => {
    const node = Object.keys(IP).find((n) => n !== leader())!;
    const before = startTime(node);
    const at = new Date(Date.now() + 15_000).toISOString();
    await pghaOk(['restart', dir, node, '--scheduled', at]);
    // Not yet: the restart is Patroni's to do, at its time.
    expect(startTime(node)).toBe(before);
    await until(`${node} to restart at ${at}`, () => startTime(node) !== before, 90);
  });
});
