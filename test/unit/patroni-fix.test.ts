/**
 * pgha's patroni build (packaging/patroni/README.md): the patch applies exactly or fails loudly,
 * Patroni's own _update_leader stops taking a key another member holds, a replica's timeline in
 * GET /metrics is a number, the build is versioned above every earlier one, the repository
 * resolves its version through Debian's, and status/test/deploy's judgement.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEADER_KEY_FIX, leaderKeyBug, leaderKeyFix } from '../../src/patroni/known-bugs.js';
import { PATRONI_BUILDS, applyPatroniPatch, patroniBuildOf, type PatroniBuild } from '../../src/platforms/nspawn/patroni-fix.js';
import { fixToBase } from '../../src/platforms/nspawn/repo.js';
import { tempDirs } from './tempdirs.js';

const tmp = tempDirs();
const BUILD_302 = patroniBuildOf('3.0.2-1')!;
const BUILD_407 = patroniBuildOf('4.0.7-3~deb13u1')!;
const applyPatroniFix = (d: string) => applyPatroniPatch(BUILD_302, d);
const FIXTURES = resolve(import.meta.dirname, '../fixtures/patroni-fix');
const SCENARIOS = join(FIXTURES, 'leader_key_scenarios.py');

function excerptCopy(): string {
  const d = tmp('pgha-pfix-');
  cpSync(join(FIXTURES, 'excerpt'), d, { recursive: true });
  return d;
}

describe('the patch on an excerpt of Debian 3.0.2-1 (test/fixtures/patroni-fix/excerpt)', () => {
  it('applies: _update_leader writes through the conditional helper and fails when the key is not ours', async () => {
    const d = excerptCopy();
    await applyPatroniFix(d);
    const etcd3 = readFileSync(join(d, 'patroni/dcs/etcd3.py'), 'utf8');
    expect(etcd3).toContain('def put_if_owned_or_absent(self, key, value, owner, lease, retry=None):');
    expect(etcd3).toContain("'target': 'VALUE'");
    expect(etcd3).toContain("'target': 'CREATE'");
    expect(etcd3).not.toMatch(/_run_and_handle_exceptions\(self\._client\.put, self\.leader_path/);
    const update = etcd3.slice(etcd3.indexOf('def _update_leader'));
    expect(update).toMatch(/except ReturnFalseException:\n\s+return False/);
    expect(readFileSync(join(d, 'patroni/api.py'), 'utf8')).toContain(`'pgha_fixes': ['${LEADER_KEY_FIX}']`);
  });

  it('applies: the timeline metric reads `or 0`, so a None timeline prints 0', async () => {
    const d = excerptCopy();
    await applyPatroniFix(d);
    const api = readFileSync(join(d, 'patroni/api.py'), 'utf8');
    expect(api).toContain(`.format(scope_label, postgres.get('timeline') or 0))`);
    expect(api).not.toContain(`postgres.get('timeline', 0)`);
  });

  it('fails loudly, changing nothing, when the original text is not there', async () => {
    const d = excerptCopy();
    const f = join(d, 'patroni/dcs/etcd3.py');
    const changed = readFileSync(f, 'utf8').replace('                except ReturnFalseException:\n                    pass\n', '');
    writeFileSync(f, changed);
    await expect(applyPatroniFix(d)).rejects.toThrow(/Patroni patch does not apply/);
    expect(readFileSync(f, 'utf8')).toBe(changed);
    expect(readFileSync(join(d, 'patroni/api.py'), 'utf8')).not.toContain('pgha_fixes');
  });

  it('refuses a tree it was already applied to', async () => {
    const d = excerptCopy();
    await applyPatroniFix(d);
    await expect(applyPatroniFix(d)).rejects.toThrow(/does not apply/);
  });
});

const EXCERPT_407 = join(FIXTURES, 'excerpt-4.0.7');

/**
 * The on_shutdown callback of a patched ha.py, run by python3 against a stand-in `self` whose
 * is_failover_possible answers `answers` in turn: how often it was asked, and whether the key
 * was released. Real time passes (the callback sleeps between asks).
 */
function runOnShutdown(haPy: string, answers: boolean[]): { asked: number; released: boolean; role: string | null } {
  const script = String.raw`
import json, sys, textwrap, time
src = open(sys.argv[1]).read()
start = src.index('        def on_shutdown(')
body = textwrap.dedent(src[start:src.index('        def before_shutdown(')])
answers = json.loads(sys.argv[2])
class Executor:
    def __enter__(self): return self
    def __exit__(self, *a): return False
class Handler:
    role = None
    def set_role(self, r): Handler.role = r
class Self:
    asked = 0
    state_handler = Handler()
    _async_executor = Executor()
    def is_failover_possible(self, cluster_lsn=0):
        Self.asked += 1
        return answers[min(Self.asked, len(answers)) - 1]
    def release_leader_key_voluntarily(self, lsn):
        pass
g = {'time': time, 'self': Self(), 'status': {'released': False}}
exec(body, g)
g['on_shutdown'](200, 100)
print(json.dumps({'asked': Self.asked, 'released': g['status']['released'], 'role': Handler.role}))
`;
  const r = spawnSync('python3', ['-c', script, haPy, JSON.stringify(answers)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { asked: number; released: boolean; role: string | null };
}

describe('the 4.0.7 patch on an excerpt of Debian 4.0.7-3~deb13u1 (test/fixtures/patroni-fix/excerpt-4.0.7)', () => {
  const patched = async (): Promise<string> => {
    const d = tmp('pgha-pfix407-');
    cpSync(EXCERPT_407, d, { recursive: true });
    await applyPatroniPatch(BUILD_407, d);
    return d;
  };

  it('polls a stopping postmaster every 0.1 s instead of every second', async () => {
    const d = await patched();
    const init = readFileSync(join(d, 'patroni/postgresql/__init__.py'), 'utf8');
    expect(init).toMatch(/^STOP_POLLING_INTERVAL = 0\.1$/m);
    expect(init).not.toMatch(/^STOP_POLLING_INTERVAL = 1$/m);
  });

  it('unpatched: on_shutdown sleeps a whole second before it asks whether a replica has the checkpoint', () => {
    const t0 = Date.now();
    expect(runOnShutdown(join(EXCERPT_407, 'patroni/ha.py'), [true])).toEqual({ asked: 1, released: true, role: 'demoted' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('patched: on_shutdown releases the key as soon as a replica has the checkpoint', async () => {
    const d = await patched();
    expect(runOnShutdown(join(d, 'patroni/ha.py'), [true])).toEqual({ asked: 1, released: true, role: 'demoted' });
    expect(runOnShutdown(join(d, 'patroni/ha.py'), [false, false, true])).toEqual({ asked: 3, released: true, role: 'demoted' });
  });

  it('patched: still gives replicas the whole second, and keeps the key when none catches up (the stop then releases it)', async () => {
    const d = await patched();
    const t0 = Date.now();
    const r = runOnShutdown(join(d, 'patroni/ha.py'), [false]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(r.released).toBe(false);
    expect(r.role).toBeNull();
    expect(r.asked).toBeGreaterThanOrEqual(5);
    expect(r.asked).toBeLessThanOrEqual(12);
  });

  it('fails loudly on a tree it was already applied to', async () => {
    const d = await patched();
    await expect(applyPatroniPatch(BUILD_407, d)).rejects.toThrow(/does not apply/);
  });
});

/**
 * Debian's own 3.0.2-1 code: the host's installed patroni (scripts/install-prereqs.sh installs it,
 * with python3-etcd), run with /usr/bin/python3 against an in-memory etcd.
 */
const HOST_PATRONI = '/usr/lib/python3/dist-packages/patroni';
const hostVersion = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'patroni'], { encoding: 'utf8' }).stdout;
const realCode = existsSync(join(HOST_PATRONI, 'dcs/etcd3.py')) && hostVersion === '3.0.2-1' && existsSync('/usr/bin/python3');

describe.skipIf(!realCode)("Patroni's own _update_leader (Debian 3.0.2-1 installed on this machine)", () => {
  type Outcome = { returned: boolean; holder: string | null; lease: string | null };
  const scenarios = (tree: string): Record<string, Outcome> => {
    const r = spawnSync('/usr/bin/python3', [SCENARIOS], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: tree }, cwd: tree });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, Outcome>;
  };
  const copy = (): string => {
    const d = tmp('pgha-pfix-real-');
    cpSync(HOST_PATRONI, join(d, 'patroni'), { recursive: true });
    return d;
  };

  it('unpatched: a resumed leader overwrites the key another member holds (the bug this fixes)', () => {
    const out = scenarios(copy());
    expect(out.taken_by_pg3).toEqual({ returned: true, holder: 'pg1', lease: 'new' });
  });

  it('patched: it leaves the other member’s key alone and returns False (Patroni demotes); its own or a missing key it still writes', async () => {
    const d = copy();
    await applyPatroniFix(d);
    const compiled = spawnSync('/usr/bin/python3', ['-m', 'py_compile', join(d, 'patroni/dcs/etcd3.py'), join(d, 'patroni/api.py')], {
      encoding: 'utf8',
    });
    expect(compiled.status, compiled.stderr).toBe(0);
    const out = scenarios(d);
    expect(out.taken_by_pg3).toEqual({ returned: false, holder: 'pg3', lease: 'pg3-lease' });
    expect(out.absent).toEqual({ returned: true, holder: 'pg1', lease: 'new' });
    expect(out.still_ours).toEqual({ returned: true, holder: 'pg1', lease: 'new' });
  });

  /**
   * The timeline line of Patroni's own api.py, evaluated by python3 as get_metrics does, for a
   * replica's status (timeline None), a leader's (3) and one without the key.
   */
  const timelineLines = (tree: string): string[] => {
    const api = readFileSync(join(tree, 'patroni/api.py'), 'utf8');
    const line = api.split('\n').filter((l) => l.includes('"patroni_postgres_timeline{0} {1}"'));
    expect(line).toHaveLength(1);
    const expr = line[0]!.trim().replace(/^metrics\.append\((.*)\)$/, '$1');
    const script = [`scope_label = '{scope="x"}'`, `for postgres in ({'timeline': None}, {'timeline': 3}, {}):`, `    print(${expr})`].join(
      '\n',
    );
    const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim().split('\n');
  };

  it('unpatched: a replica’s timeline prints as None (the scrape Prometheus rejects)', () => {
    expect(timelineLines(copy())).toEqual([
      'patroni_postgres_timeline{scope="x"} None',
      'patroni_postgres_timeline{scope="x"} 3',
      'patroni_postgres_timeline{scope="x"} 0',
    ]);
  });

  it('patched: a replica’s timeline prints as 0, a leader’s as it is', async () => {
    const d = copy();
    await applyPatroniFix(d);
    expect(timelineLines(d)).toEqual([
      'patroni_postgres_timeline{scope="x"} 0',
      'patroni_postgres_timeline{scope="x"} 3',
      'patroni_postgres_timeline{scope="x"} 0',
    ]);
  });
});

describe('the builds’ versions', () => {
  const newer = (a: string, b: string) => spawnSync('dpkg', ['--compare-versions', a, 'gt', b]).status === 0;
  it.each(PATRONI_BUILDS.map((b) => [b.version, b] as [string, PatroniBuild]))(
    '%s sorts above Debian’s and every earlier pgha build, and below Debian’s next upload',
    (_, b) => {
      for (const v of [b.base, ...b.earlier]) expect(newer(b.version, v), v).toBe(true);
      expect(
        newer(
          b.base.replace(/(\d+)$/, (n) => String(Number(n) + 1)),
          b.version,
        ),
      ).toBe(true);
      expect(b.version.startsWith(`${b.base}+pgha`)).toBe(true);
    },
  );
  it('are 3.0.2-1+pgha2 (replacing +pgha1) and 4.0.7-3~deb13u1+pgha1', () => {
    expect(PATRONI_BUILDS.map((b) => [b.version, b.earlier])).toEqual([
      ['3.0.2-1+pgha2', ['3.0.2-1+pgha1']],
      ['4.0.7-3~deb13u1+pgha1', []],
    ]);
  });
});

describe('the local repository resolves the fixed build through Debian’s version', () => {
  it('maps pins and extra versions of pgha’s patroni build to 3.0.2-1 and leaves the rest alone', () => {
    const spec = fixToBase({
      clusterDir: '/x',
      codename: 'bookworm',
      packages: ['patroni', 'etcd-server'],
      pins: { patroni: BUILD_302.version, 'etcd-server': '3.4.23-4+b4' },
      extraVersions: { patroni: ['3.0.2-1', BUILD_302.version, '3.0.2-1+pgha3'], 'postgresql-15': ['15.18-0+deb12u1'] },
    });
    expect(spec.pins).toEqual({ patroni: '3.0.2-1', 'etcd-server': '3.4.23-4+b4' });
    expect(spec.extraVersions).toEqual({ patroni: ['3.0.2-1', '3.0.2-1+pgha3'], 'postgresql-15': ['15.18-0+deb12u1'] });
  });

  it('maps a pin of the 4.0.7 build to Debian’s 4.0.7-3~deb13u1', () => {
    const spec = fixToBase({ clusterDir: '/x', codename: 'trixie', packages: ['patroni'], pins: { patroni: BUILD_407.version } });
    expect(spec.pins).toEqual({ patroni: '4.0.7-3~deb13u1' });
  });

  it('refuses a pin of an earlier pgha build, which is no longer made, unless its .deb is added', () => {
    const spec = { clusterDir: '/x', codename: 'bookworm', packages: ['patroni'], pins: { patroni: '3.0.2-1+pgha1' } };
    expect(() => fixToBase(spec)).toThrow(/patroni 3\.0\.2-1\+pgha1 is an earlier build of pgha's/);
    const added = fixToBase({ ...spec, extraDebs: ['/keep/patroni_3.0.2-1+pgha1_all.deb'] });
    expect(added.pins).toEqual({ patroni: '3.0.2-1+pgha1' });
  });
});

describe('which running Patroni builds are flagged (GET /patroni)', () => {
  it.each([
    [{ version: '3.0.2' }, true],
    [{ version: '3.0.2', pgha_fixes: [] }, true],
    [{ version: '3.0.2', pgha_fixes: ['something-else'] }, true],
    [{ version: '2.1.4' }, true],
    [{ version: '3.0.1' }, true],
    [{ version: '3.0.2', pgha_fixes: [LEADER_KEY_FIX] }, false],
    [{ version: '3.0.3' }, false],
    [{ version: '3.1.0' }, false],
    [{ version: '4.0.7' }, false],
    [{}, false],
    [undefined, false],
  ] as const)('%j → flagged %s', (build, flagged) => {
    expect(leaderKeyBug(build) !== undefined).toBe(flagged);
  });

  it('says what is at risk and the fix for the cluster directory', () => {
    expect(leaderKeyBug({ version: '3.0.2' })).toMatch(/^Patroni 3\.0\.2 without the leader key fix: .*writes are lost/);
    expect(leaderKeyFix('clusters/main')).toBe(
      'pgha download-packages clusters/main, then pgha upgrade clusters/main --components=patroni',
    );
  });
});
