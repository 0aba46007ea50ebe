/**
 * `pgha restore DIR --clone NEWDIR` (issue 13): what makes NEWDIR unfit (exit 2, nothing
 * touched), the repository copy's scripts run for real on this machine (an interrupted copy
 * leaves the repository as it was), and the pipe between two hosts' commands (bytes carried,
 * either side's failure named, no hang when the reader dies first). The clone itself runs on
 * real hosts in the PgBouncer e2e suite.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { refuseCloneConfig } from '../../src/app/restore/clone.js';
import { readJournal, writeJournal } from '../../src/app/restore/journal.js';
import { clusterPaths } from '../../src/app/cluster-paths.js';
import type { LoadedCluster } from '../../src/app/cluster-dir.js';
import { exportStanzaScript, importStanzaScript } from '../../src/components/pgbackrest/clone.js';
import { RuntimeError, UsageError } from '../../src/errors.js';
import type { ClusterConfig } from '../../src/model/types.js';
import { LocalTransport } from '../../src/transport/local.js';
import { pipeBetween } from '../../src/transport/pipe.js';
import { loadExample } from '../golden/inputs.js';

const scratch: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'pgha-clone-'));
  scratch.push(d);
  return d;
};
afterEach(() => {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

function loaded(dir: string, edit: (c: ReturnType<typeof loadExample>) => void = () => undefined): LoadedCluster {
  const cluster = loadExample('m1-pgbackrest-debian13');
  edit(cluster);
  return { paths: clusterPaths(dir), config: {} as ClusterConfig, cluster, warnings: [] };
}
const elsewhere = (c: ReturnType<typeof loadExample>) => {
  c.hosts.forEach((h) => (h.ip = h.ip.replace(/\.\d+$/, (n) => `.${Number(n.slice(1)) + 100}`)));
};
const usage = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return `${(e as Error).message}\n${(e as UsageError).hint ?? ''}`;
  }
  throw new Error('expected a UsageError');
};

describe('what makes NEWDIR unfit to be a clone (exit 2)', () => {
  it('the directory being restored itself', () => {
    const d = tmp();
    expect(usage(() => refuseCloneConfig(loaded(d), loaded(d, elsewhere)))).toMatch(
      /is the cluster directory being restored[^]*leave out --clone/,
    );
  });

  it("a host at one of DIR's addresses, named with both names", () => {
    const msg = usage(() => refuseCloneConfig(loaded(tmp()), loaded(tmp())));
    expect(msg).toMatch(/config\.yml: hosts of the clone have addresses of the cluster it clones/);
    expect(msg).toMatch(/pg1 \(\d+\.\d+\.\d+\.\d+, pg1 in .*config\.yml\)/);
  });

  it('another PostgreSQL major, with the fix', () => {
    const clone = loaded(tmp(), (c) => {
      elsewhere(c);
      c.hosts.forEach((h) => (h.vars.postgres_version = 15));
    });
    expect(usage(() => refuseCloneConfig(loaded(tmp()), clone))).toMatch(
      /postgres_version 15 cannot restore a backup of PostgreSQL 17[^]*set postgres_version: 17/,
    );
  });

  it('a clone of its own hosts and the same major passes', () => {
    expect(() => refuseCloneConfig(loaded(tmp()), loaded(tmp(), elsewhere))).not.toThrow();
  });
});

describe("the repository copy's scripts", () => {
  const local = new LocalTransport();
  function repo(stanza: string, files: Record<string, string>): string {
    const r = tmp();
    for (const [path, content] of Object.entries(files)) {
      const full = join(r, path.replace('STANZA', stanza));
      mkdirSync(join(full, '..'), { recursive: true });
      writeFileSync(full, content);
    }
    return r;
  }

  it("puts the source stanza in place of the clone's, under the clone's name, and nothing beside it", async () => {
    const src = repo('app', {
      'backup/STANZA/backup.info': 'source backup.info',
      'backup/STANZA/20261206-010101F/backup.manifest': 'm',
      'archive/STANZA/archive.info': 'source archive.info',
      'archive/STANZA/17-1/0000000100000000/000000010000000000000003-abc.zst': 'wal',
      'backup/other/backup.info': 'another stanza, not copied',
    });
    const dst = repo('copy', {
      'backup/STANZA/backup.info': 'fresh cluster',
      'backup/STANZA/20261206-020202F/backup.manifest': 'fresh backup',
      'archive/STANZA/archive.info': 'fresh archive',
    });
    const { bytes } = await pipeBetween(
      { t: local, cmd: { script: exportStanzaScript(src, 'app') }, step: 'read stanza app' },
      { t: local, cmd: { script: importStanzaScript(dst, 'app', 'copy') }, step: 'write stanza copy' },
    );
    expect(bytes).toBeGreaterThan(0);
    expect(readFileSync(join(dst, 'backup/copy/backup.info'), 'utf8')).toBe('source backup.info');
    expect(readdirSync(join(dst, 'backup/copy')).sort()).toEqual(['20261206-010101F', 'backup.info']);
    expect(readFileSync(join(dst, 'archive/copy/archive.info'), 'utf8')).toBe('source archive.info');
    expect(existsSync(join(dst, 'archive/copy/17-1/0000000100000000/000000010000000000000003-abc.zst'))).toBe(true);
    expect(readdirSync(dst).sort()).toEqual(['archive', 'backup']);
    expect(readdirSync(join(dst, 'backup'))).toEqual(['copy']);
  });

  it('a source without the stanza fails on its side, naming it, and the clone keeps what it had', async () => {
    const src = repo('app', { 'backup/app/backup.info': 'no archive dir' });
    const dst = repo('copy', { 'backup/STANZA/backup.info': 'fresh cluster', 'archive/STANZA/archive.info': 'fresh archive' });
    const err = await pipeBetween(
      { t: new LocalTransport({ host: 'backup1' }), cmd: { script: exportStanzaScript(src, 'app') }, step: 'read stanza app' },
      { t: new LocalTransport({ host: 'backup9' }), cmd: { script: importStanzaScript(dst, 'app', 'copy') }, step: 'write stanza copy' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).where).toBe('backup1: read stanza app');
    expect((err as Error).message).toMatch(/archive\/app does not exist/);
    expect(readFileSync(join(dst, 'backup/copy/backup.info'), 'utf8')).toBe('fresh cluster');
    expect(readFileSync(join(dst, 'archive/copy/archive.info'), 'utf8')).toBe('fresh archive');
  });

  it('a copy cut short (the writer dies mid-stream) leaves the repository as it was', async () => {
    const dst = repo('copy', { 'backup/STANZA/backup.info': 'fresh cluster', 'archive/STANZA/archive.info': 'fresh archive' });
    const src = repo('app', { 'backup/STANZA/backup.info': 'x'.repeat(200_000), 'archive/STANZA/archive.info': 'a' });
    // The first 10 KiB of a real tar, then death: the reader sees a truncated archive.
    const cut = `set -o pipefail; ${exportStanzaScript(src, 'app').replace('exec tar -cf -', 'tar -cf -')} | head -c 10240; exit 1`;
    const err = await pipeBetween(
      { t: local, cmd: { script: cut }, step: 'read stanza app' },
      { t: local, cmd: { script: importStanzaScript(dst, 'app', 'copy') }, step: 'write stanza copy' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(readFileSync(join(dst, 'backup/copy/backup.info'), 'utf8')).toBe('fresh cluster');
  });
});

describe('pipeBetween', () => {
  it('carries every byte, with backpressure', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r = await pipeBetween(
      { t: new LocalTransport(), cmd: { script: 'head -c 20000000 /dev/zero' }, step: 'write' },
      { t: new LocalTransport(), cmd: { script: `cat > ${out}` }, step: 'read' },
    );
    expect(r.bytes).toBe(20_000_000);
    expect(readFileSync(out).length).toBe(20_000_000);
  });

  it('a reader that dies first stops the writer and is named, instead of hanging', async () => {
    const err = await pipeBetween(
      { t: new LocalTransport({ host: 'a' }), cmd: { script: 'cat /dev/zero' }, step: 'write forever' },
      { t: new LocalTransport({ host: 'b' }), cmd: { script: 'head -c 1000 >/dev/null; echo "disk full" >&2; exit 3' }, step: 'read' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    // The writer dies of the closed pipe, but the reader's failure is the cause.
    expect((err as RuntimeError).where).toBe('b: read');
    expect((err as Error).message).toMatch(/exit code 3[^]*disk full/);
  });
});

describe("a clone's journal", () => {
  it('keeps the source it clones from, and a restore in place has none', async () => {
    const p = join(tmp(), 'restore-in-progress.json');
    await writeJournal(p, { target: 'latest', timeline: 4, started: '2026-12-06T05:00:00Z', source: 'e2epgb' });
    expect(readJournal(p)?.source).toBe('e2epgb');
    await writeJournal(p, { target: 'latest', timeline: 4, started: '2026-12-06T05:00:00Z' });
    expect(readJournal(p)).not.toHaveProperty('source');
  });
});
