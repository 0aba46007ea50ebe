import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { FACTS_MAX_CONTENT, factsScript, parseFacts } from '../../src/plan/facts.js';
import { LocalTransport } from '../../src/transport/local.js';
import { tempDirs } from './tempdirs.js';

const tempDir = tempDirs();

const me = userInfo().username;
const myGroup = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
const hasDpkg = spawnSync('sh', ['-c', 'command -v dpkg-query']).status === 0;
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

async function gather(paths: string[], packages: string[] = [], services: string[] = []) {
  const r = await new LocalTransport().exec({ script: factsScript(paths, packages, services) });
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  return parseFacts(r.stdout, 'local');
}

describe('factsScript, run for real with bash', () => {
  const dir = tempDir('pgha-facts-');
  const weird = join(dir, 'it\'s a "file" $(x) ünï');
  writeFileSync(weird, 'line one\nligne deux ü 🐘\n');
  chmodSync(weird, 0o640);
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  chmodSync(empty, 0o600);
  const noEol = join(dir, 'noeol');
  writeFileSync(noEol, 'a\nb');
  const big = join(dir, 'big');
  writeFileSync(big, Buffer.alloc(FACTS_MAX_CONTENT + 1, 'x'));
  const atLimit = join(dir, 'limit');
  writeFileSync(atLimit, Buffer.alloc(FACTS_MAX_CONTENT, 'y'));
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  const link = join(dir, 'link');
  symlinkSync(weird, link);
  const newline = join(dir, 'new\nline');
  writeFileSync(newline, 'n\n');

  it('reports files: content, sha256, owner, group, mode; missing; others', async () => {
    const f = await gather([weird, empty, noEol, sub, link, join(dir, 'missing'), newline]);
    expect(f.files[weird]).toEqual({
      path: weird,
      state: 'file',
      sha256: sha('line one\nligne deux ü 🐘\n'),
      owner: me,
      group: myGroup,
      mode: 0o640,
      size: Buffer.byteLength('line one\nligne deux ü 🐘\n'),
      content: 'line one\nligne deux ü 🐘\n',
    });
    expect(f.files[empty]).toMatchObject({ state: 'file', content: '', size: 0, mode: 0o600, sha256: sha('') });
    expect(f.files[noEol]).toMatchObject({ content: 'a\nb' });
    expect(f.files[sub]).toEqual({ path: sub, state: 'other', kind: 'directory' });
    expect(f.files[link]).toEqual({ path: link, state: 'other', kind: 'symlink' });
    expect(f.files[join(dir, 'missing')]).toEqual({ path: join(dir, 'missing'), state: 'missing' });
    expect(f.files[newline]).toMatchObject({ state: 'file', content: 'n\n' });
  });

  it('skips the content of files over 1 MiB but still hashes them', async () => {
    const f = await gather([big, atLimit]);
    expect(f.files[big]).toMatchObject({ state: 'file', size: FACTS_MAX_CONTENT + 1, content: undefined, contentOmitted: 'too-large' });
    expect(f.files[big]).toHaveProperty('sha256', sha(Buffer.alloc(FACTS_MAX_CONTENT + 1, 'x')));
    expect(f.files[atLimit]).toMatchObject({ size: FACTS_MAX_CONTENT });
    expect((f.files[atLimit] as { content: string }).content).toHaveLength(FACTS_MAX_CONTENT);
  });

  it('reports only the hash of hash-only paths', async () => {
    const r = await new LocalTransport().exec({ script: factsScript([weird, noEol], [], [], { hashOnly: [weird] }) });
    expect(r.stdout).not.toContain(Buffer.from('line one').toString('base64').slice(0, 8));
    const f = parseFacts(r.stdout);
    expect(f.files[weird]).toMatchObject({
      state: 'file',
      content: undefined,
      contentOmitted: 'hash-only',
      sha256: sha('line one\nligne deux ü 🐘\n'),
    });
    expect(f.files[noEol]).toMatchObject({ content: 'a\nb' });
    expect(f.files[noEol]).not.toHaveProperty('contentOmitted');
  });

  it('reports hostname and os-release', async () => {
    const f = await gather([]);
    expect(f.hostname).toBe(spawnSync('uname', ['-n'], { encoding: 'utf8' }).stdout.trim());
    const osr = spawnSync('bash', ['-c', '. /etc/os-release; echo "$ID"'], { encoding: 'utf8' }).stdout.trim();
    expect(f.os.id).toBe(osr);
  });

  it.skipIf(!hasDpkg)('reports installed and absent packages from dpkg', async () => {
    const f = await gather([], ['bash', 'pgha-no-such-package']);
    const v = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'bash'], { encoding: 'utf8' }).stdout;
    expect(f.packages['bash']).toEqual({ name: 'bash', installed: true, version: v, status: 'install ok installed' });
    expect(f.packages['pgha-no-such-package']).toMatchObject({ installed: false, version: undefined });
  });

  it.skipIf(!hasDpkg)('keeps an architecture-qualified package name whole', async () => {
    const arch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
    const f = await gather([], [`bash:${arch}`]);
    expect(f.packages[`bash:${arch}`]).toMatchObject({ name: `bash:${arch}`, installed: true });
  });

  it('reports a state for every service asked about', async () => {
    const f = await gather([], [], ['pgha-no-such.service', 'ssh']);
    expect(Object.keys(f.services)).toEqual(['pgha-no-such.service', 'ssh']);
    for (const s of Object.values(f.services)) {
      expect(s.active).toMatch(/^[a-z-]+$/);
      expect(s.enabled).toMatch(/^[a-z-]+$/);
    }
  });

  it('keeps every name quoted in the script', () => {
    const s = factsScript([weird], [], []);
    const r = spawnSync('bash', ['-n', '-c', s]);
    expect(r.status).toBe(0);
    expect(() => factsScript(['relative/path'], [], [])).toThrow(/absolute/);
    expect(() => factsScript([], ['bash; rm -rf /'], [])).toThrow(/package name/);
    expect(() => factsScript([], [], ['a b'])).toThrow(/unit name/);
  });
});

describe('parseFacts', () => {
  const b = (s: string) => Buffer.from(s).toString('base64');
  const ok = [
    'PGHA-FACTS 1',
    `H ${b('pg1')}`,
    `O ${b('debian')} ${b('bookworm')}`,
    `F ${b('/etc/a')} file ${'a'.repeat(64)} ${b('root')} ${b('postgres')} 640 3 ${b('hi\n')}`,
    `F ${b('/etc/b')} missing`,
    `P ${b('patroni')} known ${b('install ok installed\t3.0.2-1\n')}`,
    `P ${b('haproxy')} known ${b('deinstall ok config-files\t2.6.12-1\n')}`,
    `P ${b('etcd-server')} absent`,
    `S ${b('patroni.service')} ${b('active')} ${b('enabled')}`,
    'END 2 3 1',
    '',
  ];

  it('parses a well-formed report, after any banner noise', () => {
    const f = parseFacts(['Welcome to pg1!', ...ok].join('\n'));
    expect(f.hostname).toBe('pg1');
    expect(f.os).toEqual({ id: 'debian', codename: 'bookworm' });
    expect(f.files['/etc/a']).toMatchObject({ owner: 'root', group: 'postgres', mode: 0o640, content: 'hi\n' });
    expect(f.packages['patroni']).toMatchObject({ installed: true, version: '3.0.2-1' });
    expect(f.packages['haproxy']).toMatchObject({ installed: false, version: '2.6.12-1', status: 'deinstall ok config-files' });
    expect(f.packages['etcd-server']).toMatchObject({ installed: false });
    expect(f.services['patroni.service']).toEqual({ name: 'patroni.service', active: 'active', enabled: 'enabled' });
  });

  it('takes plain words as `=word`, and refuses anything else after the `=`', () => {
    const plain = ok.map((l) =>
      l
        .replace(`S ${b('patroni.service')} ${b('active')} ${b('enabled')}`, `S ${b('patroni.service')} =active =enabled`)
        .replace(`${b('root')} ${b('postgres')}`, '=root =postgres'),
    );
    const f = parseFacts(plain.join('\n'));
    expect(f.services['patroni.service']).toEqual({ name: 'patroni.service', active: 'active', enabled: 'enabled' });
    expect(f.files['/etc/a']).toMatchObject({ owner: 'root', group: 'postgres' });
    expect(() => parseFacts(plain.map((l) => l.replace('=root', '=ro ot')).join('\n'))).toThrow();
    expect(() => parseFacts(plain.map((l) => l.replace('=root', '=ro/ot')).join('\n'))).toThrow(/plain word/);
  });

  const broken: [string, string[], RegExp][] = [
    ['no header', ok.slice(1), /no "PGHA-FACTS 1" header/],
    ['truncated', ok.slice(0, 6), /ended before its END line/],
    ['count mismatch', [...ok.slice(0, 4), ...ok.slice(5)], /expected 2 files.*got 1/],
    ['bad base64', ok.map((l) => (l.startsWith('H ') ? 'H !!notbase64' : l)), /line 2: hostname is not base64/],
    ['bad sha', ok.map((l) => l.replace('a'.repeat(64), 'zz')), /line 4: sha256/],
    ['bad mode', ok.map((l) => l.replace(' 640 ', ' 9x9 ')), /line 4: mode "9x9" is not a number/],
    ['unknown record', [...ok.slice(0, 3), 'Q what', ...ok.slice(3)], /line 4: unknown record "Q"/],
    ['unknown file state', ok.map((l) => l.replace(' missing', ' vanished')), /unknown file state "vanished"/],
    ['garbage after END', [...ok, 'trailing junk'], /output after END/],
  ];
  it.each(broken)('rejects garbled output: %s', (_name, lines, re) => {
    let err: unknown;
    try {
      parseFacts(lines.join('\n'), 'pg1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).message).toMatch(re);
    expect((err as RuntimeError).where).toBe('pg1: gather facts');
  });
});
