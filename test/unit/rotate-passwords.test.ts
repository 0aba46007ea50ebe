/**
 * `pgha rotate-passwords` against the simulated cluster (./sim/cluster.ts), after the real deploy
 * formed it: etcd root's password in etcd before its file changes, each PostgreSQL role's before
 * Patroni reloads it, etcd Patroni user's after every Patroni reloaded; nothing restarts; a
 * second deploy has nothing left to do; bad names touch nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rotatePasswords } from '../../src/app/rotate-passwords.js';
import { UsageError } from '../../src/errors.js';
import type { SimCluster } from './sim/cluster.js';
import { index, lastIndex, simulated } from './sim/setup.js';

describe('rotate-passwords against a simulated cluster (M1 + PgBouncer, dedicated etcd)', () => {
  const c = simulated('m1-pgbouncer-bare', 'pool');
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });
  const secret = (n: string) => readFileSync(join(c.dir(), 'secrets', n), 'utf8').trim();

  it('refuses a name that is not a secret of the cluster, before touching anything (exit 2)', async () => {
    const mark = sim.log.length;
    const err = await rotatePasswords(c.dir(), { names: ['postgres', 'nobody'], concurrency: 4 }, 'silent', c.seams()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/'nobody' is not a secret of this cluster/);
    expect((err as UsageError).hint).toMatch(/etcd_root.*postgres.*replicator/);
    expect(existsSync(join(c.dir(), 'secrets', '.rotate'))).toBe(false);
    expect(sim.since(mark)).toEqual([]);
  });

  it('rolls every password out by reloads, in the order that keeps the cluster up', async () => {
    const before = new Map(
      ['postgres', 'replicator', 'etcd_root', 'etcd_patroni', 'pgbouncer_auth_user', 'patroni'].map((n) => [n, secret(n)]),
    );
    const mark = sim.log.length;
    const r = await rotatePasswords(c.dir(), { names: [], concurrency: 4 }, 'silent', c.seams());
    expect(r.exitCode).toBe(0);
    for (const [n, old] of before) expect(secret(n), n).not.toBe(old);
    const log = sim.since(mark);
    // Nothing restarts; Patroni and PgBouncer reload their files.
    expect(log.filter((l) => / restart /.test(l))).toEqual([]);
    const reloadPatroni = /: reload patroni@pool\.service$/;
    expect(index(log, /^etcd: set the password of root$/)).toBe(0);
    expect(index(log, /^db1: set the password of postgres, replicator$/)).toBeLessThan(index(log, reloadPatroni));
    expect(index(log, /^etcd: set the password of etcd_patroni$/)).toBeGreaterThan(lastIndex(log, reloadPatroni));
    expect(index(log, /^db1: pgbouncer auth user pgbouncer_auth_user$/)).toBeLessThan(index(log, /: reload pgbouncer\.service$/));
    expect(r.summary).toMatch(/^new passwords: etcd_patroni, etcd_root, patroni, pgbouncer_auth_user, postgres, replicator, rewind$/m);
    expect(r.summary).not.toContain(secret('postgres'));
    // Converged: the staged copies are gone and a deploy finds nothing to do.
    expect(existsSync(join(c.dir(), 'secrets', '.rotate'))).toBe(false);
    expect((await c.run({ check: true })).exitCode).toBe(0);
  });
});
