import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import type { DesiredFile } from '../../src/model/types.js';
import type { FileFact, HostFacts, PackageFact } from '../../src/plan/facts.js';
import { describeAction, formatHostPlan, planHost, SENSITIVE_NOTE, versionMatches } from '../../src/plan/plan.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function file(path: string, content: string, extra: Partial<DesiredFile> = {}): DesiredFile {
  return { path, content, owner: 'postgres', group: 'postgres', mode: 0o600, ...extra };
}

function onHost(
  path: string,
  content: string,
  meta: { owner?: string; group?: string; mode?: number } = {},
): Extract<FileFact, { state: 'file' }> {
  return {
    path,
    state: 'file',
    sha256: sha(content),
    owner: meta.owner ?? 'postgres',
    group: meta.group ?? 'postgres',
    mode: meta.mode ?? 0o600,
    size: Buffer.byteLength(content),
    content,
  };
}

function facts(files: FileFact[], packages: PackageFact[] = []): HostFacts {
  return {
    hostname: 'pg1',
    os: { id: 'debian', codename: 'bookworm' },
    files: Object.fromEntries(files.map((f) => [f.path, f])),
    packages: Object.fromEntries(packages.map((p) => [p.name, p])),
    services: {},
  };
}

const installed = (name: string, version: string): PackageFact => ({ name, installed: true, version, status: 'install ok installed' });
const absent = (name: string): PackageFact => ({ name, installed: false, version: undefined, status: undefined });

describe('planHost: packages', () => {
  it('installs missing packages and those at another pinned version, leaves the rest', () => {
    const plan = planHost(
      {
        files: [],
        packages: [
          { name: 'patroni', version: '3.0.2-1' },
          { name: 'haproxy' },
          { name: 'pgbouncer' },
          { name: 'etcd-server', version: '3.4.*' },
        ],
      },
      facts(
        [],
        [installed('patroni', '3.0.1-1'), absent('haproxy'), installed('pgbouncer', '1.18.0-1'), installed('etcd-server', '3.4.23-1')],
      ),
    );
    expect(plan.actions).toEqual([
      { kind: 'install', package: 'patroni', version: '3.0.2-1', current: '3.0.1-1', reason: 'version' },
      { kind: 'install', package: 'haproxy', version: undefined, current: undefined, reason: 'missing' },
    ]);
    expect(plan.installs).toEqual(['patroni=3.0.2-1', 'haproxy']);
    expect(plan.changedPaths).toEqual([]);
    expect(plan.hasChanges).toBe(true);
  });

  it('treats a removed-but-configured package as missing', () => {
    const plan = planHost(
      { files: [], packages: [{ name: 'haproxy' }] },
      facts([], [{ name: 'haproxy', installed: false, version: '2.6.12-1', status: 'deinstall ok config-files' }]),
    );
    expect(plan.installs).toEqual(['haproxy']);
  });

  it('matches pins exactly or by prefix', () => {
    expect(versionMatches('3.0.2-1', '3.0.2-1')).toBe(true);
    expect(versionMatches('3.0.2-1', '3.0.2')).toBe(false);
    expect(versionMatches('3.0.2-1', '3.0*')).toBe(true);
    expect(versionMatches('3.1.0-1', '3.0*')).toBe(false);
    expect(versionMatches('anything', undefined)).toBe(true);
  });

  it('says it is a bug when facts were not gathered for a package', () => {
    expect(() => planHost({ files: [], packages: [{ name: 'x' }] }, facts([]))).toThrow(/bug: no facts gathered for package x/);
  });
});

describe('planHost: files', () => {
  const old = 'scope: main\nttl: 30\nloop_wait: 10\n';
  const nu = 'scope: main\nttl: 20\nloop_wait: 10\n';

  it('does nothing when content and meta match', () => {
    const plan = planHost({ files: [file('/etc/a', old)], packages: [] }, facts([onHost('/etc/a', old)]));
    expect(plan).toMatchObject({ actions: [], hasChanges: false, files: [], changedPaths: [] });
    expect(formatHostPlan('pg1', plan)).toBe('pg1: no changes\n');
  });

  it('writes a changed file with a unified diff and the meta changes that come with it', () => {
    const plan = planHost({ files: [file('/etc/a', nu)], packages: [] }, facts([onHost('/etc/a', old, { mode: 0o644 })]));
    expect(plan.actions).toHaveLength(1);
    const a = plan.actions[0];
    expect(a).toMatchObject({ kind: 'write-file', path: '/etc/a', create: false, meta: ['mode 0644 → 0600'] });
    expect(a?.kind === 'write-file' && a.diff).toBe(
      '--- a/etc/a\n+++ b/etc/a\n@@ -1,3 +1,3 @@\n scope: main\n-ttl: 30\n+ttl: 20\n loop_wait: 10\n',
    );
    expect(plan.changedPaths).toEqual(['/etc/a']);
    expect(plan.files.map((f) => f.path)).toEqual(['/etc/a']);
  });

  it('creates a missing file', () => {
    const plan = planHost({ files: [file('/etc/new', 'x\n')], packages: [] }, facts([{ path: '/etc/new', state: 'missing' }]));
    expect(plan.actions[0]).toMatchObject({ kind: 'write-file', create: true });
    expect(describeAction(plan.actions[0]!)).toBe('create /etc/new');
  });

  it('only fixes owner, group and mode when the content matches', () => {
    const plan = planHost(
      { files: [file('/etc/a', old)], packages: [] },
      facts([onHost('/etc/a', old, { owner: 'root', group: 'root', mode: 0o644 })]),
    );
    expect(plan.actions).toEqual([
      {
        kind: 'fix-meta',
        path: '/etc/a',
        file: file('/etc/a', old),
        meta: ['owner root → postgres', 'group root → postgres', 'mode 0644 → 0600'],
      },
    ]);
    expect(plan.changedPaths).toEqual([]);
    expect(plan.metaChangedPaths).toEqual(['/etc/a']);
    expect(plan.files).toHaveLength(1);
  });

  it('never shows the content of a sensitive file', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n';
    const plan = planHost(
      { files: [file('/etc/k', key, { sensitive: true }), file('/etc/k2', key, { sensitive: true })], packages: [] },
      facts([onHost('/etc/k', 'old key\n'), { path: '/etc/k2', state: 'missing' }]),
    );
    const text = formatHostPlan('pg1', plan, { diff: true });
    expect(text).not.toContain('SECRETKEYMATERIAL');
    expect(text).not.toContain('old key');
    expect(text).toContain(SENSITIVE_NOTE);
    expect(text).toContain('(sensitive file created)');
  });

  it('redacts secrets on both sides of a diff', () => {
    const redact = (t: string) => t.replace(/password: .*/g, 'password: ********');
    const plan = planHost(
      { files: [file('/etc/p.yml', 'password: new-secret\nttl: 20\n')], packages: [] },
      facts([onHost('/etc/p.yml', 'password: old-secret\nttl: 30\n')]),
      { redact },
    );
    const a = plan.actions[0];
    const diff = a?.kind === 'write-file' ? a.diff : '';
    expect(diff).not.toMatch(/old-secret|new-secret/);
    expect(diff).toContain('-ttl: 30');
  });

  it('says only that a redacted value changed when nothing else did', () => {
    const redact = (t: string) => t.replace(/password: .*/g, 'password: ********');
    const plan = planHost(
      { files: [file('/etc/p.yml', 'password: new\n')], packages: [] },
      facts([onHost('/etc/p.yml', 'password: old\n')]),
      { redact },
    );
    expect(plan.actions[0]).toMatchObject({ kind: 'write-file', diff: '(only redacted values changed)' });
    expect(plan.changedPaths).toEqual(['/etc/p.yml']);
  });

  it('decides by hash when the host file was too large to ship', () => {
    const big: FileFact = {
      path: '/etc/big',
      state: 'file',
      sha256: sha('other'),
      owner: 'postgres',
      group: 'postgres',
      mode: 0o600,
      size: 2e6,
      content: undefined,
      contentOmitted: 'too-large',
    };
    const plan = planHost({ files: [file('/etc/big', 'new')], packages: [] }, facts([big]));
    expect(plan.actions[0]).toMatchObject({ kind: 'write-file', diff: expect.stringMatching(/larger than 1 MiB/) });
    const same = planHost({ files: [file('/etc/big', 'other')], packages: [] }, facts([big]));
    expect(same.hasChanges).toBe(false);
  });

  it('says so when only the hash was gathered', () => {
    const h: FileFact = { ...onHost('/etc/h', 'old'), content: undefined, contentOmitted: 'hash-only' };
    expect(planHost({ files: [file('/etc/h', 'new')], packages: [] }, facts([h])).actions[0]).toMatchObject({
      diff: '(content differs; not shown: only its hash was gathered)',
    });
    const k = planHost({ files: [file('/etc/h', 'new', { sensitive: true })], packages: [] }, facts([h]));
    expect(k.actions[0]).toMatchObject({ diff: SENSITIVE_NOTE });
  });

  it('replaces a symlink, refuses to write over a directory', () => {
    const plan = planHost({ files: [file('/etc/l', 'x')], packages: [] }, facts([{ path: '/etc/l', state: 'other', kind: 'symlink' }]));
    expect(plan.actions[0]).toMatchObject({ kind: 'write-file', diff: '(replaces a symlink at /etc/l)' });
    let err: unknown;
    try {
      planHost({ files: [file('/etc/d', 'x')], packages: [] }, facts([{ path: '/etc/d', state: 'other', kind: 'directory' }]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).message).toContain('/etc/d is a directory on pg1');
    expect((err as RuntimeError).where).toBe('pg1: plan');
  });

  it('rejects two desired files at one path and facts that were not gathered', () => {
    expect(() => planHost({ files: [file('/a', '1'), file('/a', '2')], packages: [] }, facts([]))).toThrow(/two desired files/);
    expect(() => planHost({ files: [file('/a', '1')], packages: [] }, facts([]))).toThrow(/no facts gathered for \/a/);
  });

  it('formats the plan with diffs indented under each file', () => {
    const plan = planHost(
      { files: [file('/etc/a', nu)], packages: [{ name: 'patroni', version: '3.0.2-1' }] },
      facts([onHost('/etc/a', old)], [absent('patroni')]),
    );
    expect(formatHostPlan('pg1', plan, { diff: true })).toBe(
      [
        'pg1: 2 changes',
        '  install patroni 3.0.2-1',
        '  update /etc/a',
        '    --- a/etc/a',
        '    +++ b/etc/a',
        '    @@ -1,3 +1,3 @@',
        '     scope: main',
        '    -ttl: 30',
        '    +ttl: 20',
        '     loop_wait: 10',
        '',
      ].join('\n'),
    );
    expect(formatHostPlan('pg1', plan)).toBe('pg1: 2 changes\n  install patroni 3.0.2-1\n  update /etc/a\n');
  });
});
