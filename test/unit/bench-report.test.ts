import { describe, expect, it } from 'vitest';
import { checkGoals, emptyFigures, FIGURE_KEYS, markdown, median, newestPerKey, type GoalCheck } from '../../bench/report.js';
import { PRIMARY_STRATEGIES as CLI_STRATEGIES } from '../../src/cli/upgrade.js';
import { PRIMARY_STRATEGIES } from '../../src/app/upgrade/plan.js';

describe('bench report', () => {
  it('has exactly the keys of issue 5 item 1', () => {
    expect(Object.keys(emptyFigures())).toEqual([...FIGURE_KEYS]);
    expect(FIGURE_KEYS).toHaveLength(42);
  });

  it('median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('checks every goal; unmeasured ones are neither pass nor miss', () => {
    const f = {
      ...emptyFigures(),
      cold_deploy_s: 60,
      deploy_floor_s: 37,
      noop_deploy_s: 1.8,
      ssh_roundtrips_per_host_noop: 3,
      status_ms: 300,
      patronictl_list_ms: 417,
    };
    const g = checkGoals(f);
    expect(g.map((x) => x.pass)).toEqual([false, true, true, false, ...Array<null>(g.length - 4).fill(null)]);
    expect(g[0]!.measured).toBe('60 s vs floor 37 s = 1.62 ×');
    expect(markdown('2026-12-02', f, {})).toMatch(/\| cold deploy ≤ 1\.3 × floor \| .* \| \*\*miss\*\* \|/);
  });
});

/** The goals from the first whose text starts with `prefix`, in order. */
const goalsFrom = (goals: GoalCheck[], prefix: string) => goals.slice(goals.findIndex((g) => g.goal.startsWith(prefix)));

describe('issue 17 figures', () => {
  it('a frozen leader must lose nothing and resume within ttl + 5 s; a partition is reported, not judged', () => {
    const judge = (frozen_leader_lost_writes: number, frozen_leader_gap_ms: number) =>
      goalsFrom(
        checkGoals({ ...emptyFigures(), frozen_leader_lost_writes, frozen_leader_gap_ms, partition_lost_writes: 12 }),
        'frozen leader loses',
      )
        .slice(0, 3)
        .map((g) => g.pass);
    expect(judge(0, 34_999)).toEqual([true, true, null]);
    expect(judge(0, 35_001)).toEqual([true, false, null]);
    expect(judge(3, 20_000)).toEqual([false, true, null]);
    const g = goalsFrom(checkGoals({ ...emptyFigures(), partition_lost_writes: 12 }), 'partitioned leader: lost');
    expect(g[0]!.measured).toBe('12 lost');
  });

  it('a postmaster kill -9 on the leader must cost at most 3 s of writes', () => {
    const pm = (ms: number | null) => goalsFrom(checkGoals({ ...emptyFigures(), postmaster_kill_gap_ms: ms }), 'postmaster kill')[0]!;
    expect(pm(3000)).toMatchObject({ measured: '3000 ms', pass: true });
    expect(pm(3001)).toMatchObject({ pass: false });
    expect(pm(null)).toMatchObject({ measured: 'not measured', pass: null });
  });

  it('a partition with synchronous_mode strict must lose nothing', () => {
    const strict = (n: number | null) =>
      goalsFrom(checkGoals({ ...emptyFigures(), sync_strict_lost_writes: n }), 'partitioned leader, synchronous')[0]!;
    expect(strict(0)).toMatchObject({ goal: 'partitioned leader, synchronous_mode strict: 0 lost writes', measured: '0 lost', pass: true });
    expect(strict(1)).toMatchObject({ measured: '1 lost', pass: false });
    expect(strict(null)).toMatchObject({ measured: 'not measured', pass: null });
  });
});

describe('issue 13 figures', () => {
  it('a backup within 1.3 × and a restore within 1.5 × their floors, no row wrong, archive lag within 5 s', () => {
    const g = goalsFrom(
      checkGoals({
        ...emptyFigures(),
        backup_full_s: 13,
        backup_floor_s: 10,
        restore_pitr_s: 16,
        restore_floor_s: 10,
        pitr_rows_wrong: 0,
        replica_from_repo_s: 20,
        replica_basebackup_s: 10,
        archive_lag_max_s: 5.1,
      }),
      'full backup',
    );
    expect(g.slice(0, 5).map((x) => x.pass)).toEqual([true, false, true, null, false]);
    expect(g[3]!.measured).toBe('20 s (whole reinit) vs 10 s = 2 ×');
    expect(goalsFrom(checkGoals({ ...emptyFigures(), pitr_rows_wrong: 1 }), 'point-in-time')[0]!.pass).toBe(false);
  });
});

describe('issue 15 figures', () => {
  it('the exporter scrapes within 0.3 × patronictl list and 80 MB; the alert fires within 2 minutes', () => {
    const judge = (scrape: number, ctl: number, rss: number, fire: number) =>
      goalsFrom(
        checkGoals({
          ...emptyFigures(),
          exporter_scrape_ms: scrape,
          monitoring_patronictl_list_ms: ctl,
          exporter_rss_mb: rss,
          alert_fire_s: fire,
        }),
        'exporter --cluster',
      ).map((x) => x.pass);
    expect(judge(30, 100, 80, 120)).toEqual([true, true, true]);
    expect(judge(31, 100, 80.1, 121)).toEqual([false, false, false]);
    expect(goalsFrom(checkGoals(emptyFigures()), 'exporter --cluster')[0]!.measured).toBe('not measured');
  });
});

describe('issue 14 figures', () => {
  it('a leader host crash resumes writes within ttl + 5 s; neither a resumed frozen leader nor a partitioned one accepts a write; remove-node fails none', () => {
    const judge = (crash: number, frozen: number, partition: number, removed: number) =>
      goalsFrom(
        checkGoals({
          ...emptyFigures(),
          leader_crash_gap_ms: crash,
          frozen_leader_split_brain_writes: frozen,
          partition_split_brain_writes: partition,
          add_node_s: 30,
          basebackup_floor_s: 2,
          remove_node_failed_writes: removed,
        }),
        'leader host crash',
      )
        .slice(0, 5)
        .map((x) => x.pass);
    expect(judge(35_000, 0, 0, 0)).toEqual([true, true, true, null, true]);
    expect(judge(35_001, 1, 2, 3)).toEqual([false, false, false, null, false]);
    const g = goalsFrom(checkGoals({ ...emptyFigures(), add_node_s: 30, basebackup_floor_s: 2 }), 'add a data node')[0]!;
    expect(g.measured).toBe('30 s vs floor 2 s = 15 ×');
    expect(goalsFrom(checkGoals(emptyFigures()), 'leader host crash')[0]!.measured).toBe('not measured');
  });
});

describe("the other release's column", () => {
  it('takes the newest measured value of each key, whatever the order of the files', () => {
    const v = newestPerKey([
      { date: '2026-12-04', figures: { status_ms: 236, cold_deploy_s: null } },
      { date: '2026-12-03', figures: { status_ms: 241, cold_deploy_s: 99.9 } },
    ]);
    expect(v).toEqual({ status_ms: { value: 236, date: '2026-12-04' }, cold_deploy_s: { value: 99.9, date: '2026-12-03' } });
  });

  it('reads a renamed key under its former name in older files', () => {
    const v = newestPerKey([
      { date: '2026-12-05', figures: { partition_strict_lost_writes: 0 } },
      { date: '2026-12-04', figures: { partition_strict_lost_writes: 3 } },
    ]);
    expect(v).toEqual({ sync_strict_lost_writes: { value: 0, date: '2026-12-05' } });
    // A newer file under the new name wins over an older one under the former.
    const w = newestPerKey([
      { date: '2026-12-05', figures: { partition_strict_lost_writes: 2 } },
      { date: '2026-12-07', figures: { sync_strict_lost_writes: 0 } },
    ]);
    expect(w.sync_strict_lost_writes).toEqual({ value: 0, date: '2026-12-07' });
  });

  it('is a third column of the figures table, dated; without one the table has two', () => {
    const f = { ...emptyFigures(), status_ms: 210 };
    const md = markdown(
      '2026-12-05',
      f,
      { release: 'Debian 13 (trixie)' },
      {
        label: 'Debian 12 (bookworm) (newest committed run)',
        values: { status_ms: { value: 236, date: '2026-12-04' } },
      },
    );
    expect(md).toContain('| key | Debian 13 (trixie) | Debian 12 (bookworm) (newest committed run) |');
    expect(md).toContain('| `status_ms` | 210 | 236 (2026-12-04) |');
    expect(md).toContain('| `cold_deploy_s` | not measured | not measured |');
    expect(markdown('2026-12-05', f, {})).toContain('| `status_ms` | 210 |\n');
  });
});

describe('issue 12 figures', () => {
  it('rotate-passwords must fail no write', () => {
    const last = (n: number | null) =>
      goalsFrom(checkGoals({ ...emptyFigures(), rotate_passwords_failed_writes: n }), 'rotate-passwords')[0]!;
    expect(last(0)).toMatchObject({ goal: 'rotate-passwords: failed writes = 0', measured: '0 failed', pass: true });
    expect(last(2)).toMatchObject({ measured: '2 failed', pass: false });
    expect(last(null)).toMatchObject({ measured: 'not measured', pass: null });
  });
  it('rotate-certs --ca must fail no write', () => {
    const last = (n: number | null) => goalsFrom(checkGoals({ ...emptyFigures(), rotate_ca_failed_writes: n }), 'rotate-certs')[0]!;
    expect(last(0)).toMatchObject({ goal: 'rotate-certs --ca: failed writes = 0', measured: '0 failed', pass: true });
    expect(last(1)).toMatchObject({ measured: '1 failed', pass: false });
    expect(last(null)).toMatchObject({ measured: 'not measured', pass: null });
  });
});

describe('pgha upgrade --primary-strategy', () => {
  it('offers the planner’s strategies (repeated in the CLI to keep startup light)', () => {
    expect([...CLI_STRATEGIES]).toEqual([...PRIMARY_STRATEGIES]);
  });
});
