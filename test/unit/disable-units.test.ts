/**
 * disableUnitsCommand's script, run for real by sh against a fake systemctl: an etcd data
 * directory is deleted only once the units are down, and only where it holds etcd's `member`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { disableUnitsCommand } from '../../src/components/host-commands.js';

let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Runs the script with a systemctl that logs its calls and answers is-active with `active`'s exit code. */
function runWith(active: boolean, removes: string[]): { code: number | null; calls: string[] } {
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const log = join(root, 'calls');
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> ${log}\ncase "$1" in is-active) exit ${active ? 0 : 3};; esac\nexit 0\n`);
  chmodSync(join(bin, 'systemctl'), 0o755);
  const r = spawnSync('sh', ['-c', disableUnitsCommand(['etcd.service'], removes).script], {
    env: { PATH: `${bin}:/usr/bin:/bin` },
  });
  return { code: r.status, calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
}

describe('disableUnitsCommand', () => {
  it("stops and disables the unit, then deletes an etcd data directory (one holding etcd's member directory)", () => {
    root = mkdtempSync(join(tmpdir(), 'pgha-disable-'));
    const data = join(root, 'etcd', 'demo');
    mkdirSync(join(data, 'member', 'wal'), { recursive: true });
    const r = runWith(false, [data]);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([
      'cat -- etcd.service',
      'disable --now -- etcd.service',
      'reset-failed -- etcd.service',
      'is-active --quiet -- etcd.service',
    ]);
    expect(existsSync(data)).toBe(false);
  });

  it('deletes nothing while the unit is still active, nor a directory that is not etcd data (a mistyped /var/lib)', () => {
    root = mkdtempSync(join(tmpdir(), 'pgha-disable-'));
    const data = join(root, 'etcd', 'demo');
    mkdirSync(join(data, 'member'), { recursive: true });
    expect(runWith(true, [data]).code).toBe(0);
    expect(existsSync(join(data, 'member'))).toBe(true);

    rmSync(join(root, 'bin'), { recursive: true });
    rmSync(join(root, 'calls'));
    const notEtcd = join(root, 'var-lib');
    mkdirSync(join(notEtcd, 'postgresql'), { recursive: true });
    expect(runWith(false, [notEtcd]).code).toBe(0);
    expect(existsSync(join(notEtcd, 'postgresql'))).toBe(true);
  });
});
