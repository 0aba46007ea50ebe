/**
 * `pgha rotate-certs`: the pure parts (the trust bundle, the journal's phases), the CA files in
 * DIR/ssl through each phase and a resume after an interrupted promotion, the CLI's bad input,
 * and the real command against the simulated cluster (./sim/cluster.ts): what each phase pushes,
 * that nothing but etcd (rolling) and the certificate-reading services restart, never PostgreSQL
 * or Patroni, and that a deploy afterwards has nothing left to do.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCluster, pkiWanted } from '../../src/app/cluster-dir.js';
import { renderFiles } from '../../src/app/render.js';
import { secretFiles } from '../../src/app/vault.js';
import { rotateCerts, journalPath } from '../../src/app/rotate-certs/index.js';
import { CA_PHASES, nextPhase, parseJournal, trustedIn, readJournal } from '../../src/app/rotate-certs/journal.js';
import { main } from '../../src/cli/main.js';
import { UsageError } from '../../src/errors.js';
import { issueCa } from '../../src/pki/certs.js';
import {
  dropPreviousCaCert,
  ETCD_PEER_CA,
  pemCertificates,
  promoteNextCa,
  readCaFiles,
  stageNextCa,
  trustBundle,
} from '../../src/pki/rotation.js';
import { ensureClusterPki, readClusterPki } from '../../src/pki/store.js';
import type { SimCluster } from './sim/cluster.js';
import { planLines, simulated } from './sim/setup.js';

const now = new Date('2026-01-01T00:00:00Z');
const caA = issueCa({ clusterName: 'a', now });
const caB = issueCa({ clusterName: 'b', now });
const subject = (pem: string) => new X509Certificate(pem).subject;

describe('the trust bundle', () => {
  it('is the current CA byte for byte when nothing rotates (hosts keep their ca.crt)', () => {
    expect(trustBundle({ current: caA.certPem })).toBe(caA.certPem);
  });
  it('holds previous, current and next once each, in that order', () => {
    const both = trustBundle({ current: caA.certPem, next: caB.certPem });
    expect(pemCertificates(both).map(subject)).toEqual([subject(caA.certPem), subject(caB.certPem)]);
    // Promoting the new CA leaves the same bundle: phase 2 changes the leaves only.
    expect(trustBundle({ previous: caA.certPem, current: caB.certPem })).toBe(both);
    expect(pemCertificates(trustBundle({ current: caA.certPem, next: caA.certPem }))).toHaveLength(1);
  });
});

describe('the CA rotation journal', () => {
  it('runs trust-both, issue-new, drop-old, then ends', () => {
    expect(CA_PHASES).toEqual(['trust-both', 'issue-new', 'drop-old']);
    expect(nextPhase('trust-both')).toBe('issue-new');
    expect(nextPhase('issue-new')).toBe('drop-old');
    expect(nextPhase('drop-old')).toBeUndefined();
  });
  it('trusts both CAs until every leaf comes from the new one', () => {
    expect(trustedIn('trust-both')).toEqual({ trusted: ['old', 'new'], issuer: 'old' });
    expect(trustedIn('issue-new')).toEqual({ trusted: ['old', 'new'], issuer: 'new' });
    expect(trustedIn('drop-old')).toEqual({ trusted: ['new'], issuer: 'new' });
  });
  it('reads only a journal it wrote, and refuses to guess a phase from a damaged one', () => {
    expect(parseJournal('{"phase":"issue-new","started":"x"}')).toEqual({ phase: 'issue-new', started: 'x' });
    expect(parseJournal('{"phase":"other","started":"x"}')).toBeUndefined();
    expect(parseJournal('nope')).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'pgha-journal-'));
    try {
      expect(readJournal(join(dir, 'absent.json'))).toBeUndefined();
      writeFileSync(join(dir, 'j.json'), '{');
      expect(() => readJournal(join(dir, 'j.json'))).toThrow(UsageError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the CA files in DIR/ssl through the phases', () => {
  let dir = '';
  const hosts = [
    { name: 'db1', ip: '10.0.0.1' },
    { name: 'proxy', ip: '10.0.0.9', serverOnly: true },
  ];
  const ssl = (f: string) => join(dir, 'ssl', f);
  const issuerOf = (pem: string) => new X509Certificate(pem).issuer;
  beforeAll(async () => {
    dir = join(mkdtempSync(join(tmpdir(), 'pgha-rotate-')), 'c');
    await ensureClusterPki(dir, hosts, { clients: ['pgha'], now });
  });
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('rotating the leaves reissues each from the same CA with its key kept', async () => {
    const before = await readClusterPki(dir);
    const r = await ensureClusterPki(dir, hosts, { clients: ['pgha'], now, reissueAll: true });
    expect(r.reissued.map((x) => x.path).sort()).toEqual(['ssl/clients/pgha.crt', 'ssl/db1/node.crt', 'ssl/proxy/node.crt']);
    const after = await readClusterPki(dir);
    expect(after.caCert).toBe(before.caCert);
    expect(after.nodes.db1!.key).toBe(before.nodes.db1!.key);
    expect(after.nodes.db1!.cert).not.toBe(before.nodes.db1!.cert);
  });

  it('trust-both: a new CA next to the old; the bundle holds both, the leaves stay', async () => {
    const old = readFileSync(ssl('ca.crt'), 'utf8');
    const leaf = readFileSync(ssl('db1/node.crt'), 'utf8');
    expect(await stageNextCa(dir, 'c', now)).toBe('created');
    expect(await stageNextCa(dir, 'c', now)).toBe('kept');
    // `pgha vault encrypt` seals the new CA's key as well.
    expect((await secretFiles(dir)).filter((f) => f.startsWith(join(dir, 'ssl', 'ca')))).toEqual([ssl('ca-next.key'), ssl('ca.key')]);
    const pki = await readClusterPki(dir);
    expect(pemCertificates(pki.caCert)).toHaveLength(2);
    expect(pki.caIssuer).toBe(old);
    await ensureClusterPki(dir, hosts, { clients: ['pgha'], now });
    expect(readFileSync(ssl('db1/node.crt'), 'utf8')).toBe(leaf);
  });

  it('issue-new, interrupted between two renames and resumed: the new CA issues, the bundle is unchanged', async () => {
    const bundle = (await readClusterPki(dir)).caCert;
    const next = readFileSync(ssl('ca-next.crt'), 'utf8');
    // The first rename happened, then the process died.
    renameSync(ssl('ca.key'), ssl('ca-previous.key'));
    await expect(ensureClusterPki(dir, hosts, { clients: ['pgha'], now })).rejects.toThrow(/cluster CA incomplete/);
    await promoteNextCa(dir);
    await promoteNextCa(dir);
    expect(readFileSync(ssl('ca.crt'), 'utf8')).toBe(next);
    expect(existsSync(ssl('ca-next.crt'))).toBe(false);
    expect((await readClusterPki(dir)).caCert).toBe(bundle);
    const r = await ensureClusterPki(dir, hosts, { clients: ['pgha'], now });
    expect(r.reissued.map((x) => x.reason)).toEqual(Array(3).fill('not signed by the current CA'));
    expect(issuerOf(readFileSync(ssl('db1/node.crt'), 'utf8'))).toBe(subject(next));
  });

  it('drop-old: the bundle is the new CA alone', async () => {
    await dropPreviousCaCert(dir);
    const files = await readCaFiles(dir);
    expect(files.previous).toBeUndefined();
    const pki = await readClusterPki(dir);
    expect(pemCertificates(pki.caCert)).toHaveLength(1);
    expect(pki.caIssuer).toBeUndefined();
  });
});

describe("etcd's peer CA, brought into a directory from before it existed by a CA rotation", () => {
  let dir = '';
  const hosts = [
    { name: 'db1', ip: '10.0.0.1' },
    { name: 'db2', ip: '10.0.0.2' },
  ];
  const opts = { clients: ['pgha'], etcdPeers: ['db1', 'db2'], now };
  const ssl = (f: string) => join(dir, 'ssl', f);
  /** What a member presents on the peer port, and what the port trusts, in one state of DIR. */
  type PeerState = { trust: string; presents: Record<string, string> };
  const peerState = async (): Promise<PeerState> => {
    const pki = await readClusterPki(dir);
    const presents = Object.fromEntries(hosts.map((h) => [h.name, (pki.etcdPeer?.nodes[h.name] ?? pki.nodes[h.name]!).cert]));
    return { trust: pki.etcdPeer?.caCert ?? pki.caCert, presents };
  };
  const accepted = (trust: string, cert: string) =>
    pemCertificates(trust).some((ca) => {
      const c = new X509Certificate(cert);
      const a = new X509Certificate(ca);
      return c.checkIssued(a) && c.verify(a.publicKey);
    });
  /**
   * During a rolling restart members of the state before and after meet: each must accept what
   * the other presents, or etcd loses the member (and with two, its quorum).
   */
  const meet = (a: PeerState, b: PeerState) => {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const cert of Object.values(x.presents)) expect(accepted(y.trust, cert)).toBe(true);
    }
  };
  beforeAll(async () => {
    dir = join(mkdtempSync(join(tmpdir(), 'pgha-peer-ca-')), 'c');
    await ensureClusterPki(dir, hosts, opts);
    // What an older pgha left: no peer CA, no peer certificates.
    for (const f of [
      'etcd-peer-ca.key',
      'etcd-peer-ca.crt',
      'db1/etcd-peer.key',
      'db1/etcd-peer.crt',
      'db2/etcd-peer.key',
      'db2/etcd-peer.crt',
    ]) {
      rmSync(ssl(f));
    }
  });
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('is not created for a directory that has a cluster CA: deploy warns and keeps the cluster CA for peers', async () => {
    const r = await ensureClusterPki(dir, hosts, opts);
    expect(r.created).toEqual([]);
    expect(r.warnings).toEqual([expect.stringMatching(/etcd has no peer CA of its own .*pgha rotate-certs DIR --ca/)]);
    expect(existsSync(ssl('etcd-peer-ca.crt'))).toBe(false);
    expect((await readClusterPki(dir)).etcdPeer).toBeUndefined();
  });

  it('comes in phase by phase, every member accepting every other at each step, and ends trusted alone', async () => {
    const legacy = await peerState();
    expect(accepted(legacy.trust, legacy.presents.db1!)).toBe(true);

    // trust-both: both new CAs staged; members still present node certificates.
    await stageNextCa(dir, 'c', now);
    expect(await stageNextCa(dir, 'c', now, ETCD_PEER_CA)).toBe('created');
    expect(existsSync(ssl('etcd-peer-ca.migrating'))).toBe(true);
    await ensureClusterPki(dir, hosts, { ...opts, reissueAll: true });
    expect(existsSync(ssl('db1/etcd-peer.crt'))).toBe(false);
    const trustBoth = await peerState();
    expect(pemCertificates(trustBoth.trust)).toHaveLength(3);
    meet(legacy, trustBoth);
    expect(new X509Certificate(readFileSync(ssl('etcd-peer-ca-next.crt'), 'utf8')).subject).toContain('etcd peer CA');
    expect((await secretFiles(dir)).filter((f) => f.includes('etcd-peer-ca'))).toEqual([ssl('etcd-peer-ca-next.key')]);

    // issue-new: the new peer CA issues each member's peer certificate; the trust is unchanged (no
    // etcd restart for it).
    await promoteNextCa(dir);
    await promoteNextCa(dir, ETCD_PEER_CA);
    const r = await ensureClusterPki(dir, hosts, { ...opts, reissueAll: true });
    expect(r.created.sort()).toEqual(['ssl/db1/etcd-peer.crt', 'ssl/db2/etcd-peer.crt']);
    const issueNew = await peerState();
    expect(issueNew.trust).toBe(trustBoth.trust);
    meet(trustBoth, issueNew);

    // drop-old: the peer port trusts etcd's peer CA alone: no certificate of the cluster CA passes.
    await dropPreviousCaCert(dir);
    await dropPreviousCaCert(dir, ETCD_PEER_CA);
    expect(existsSync(ssl('etcd-peer-ca.migrating'))).toBe(false);
    const dropOld = await peerState();
    meet(issueNew, dropOld);
    expect(pemCertificates(dropOld.trust)).toHaveLength(1);
    const pki = await readClusterPki(dir);
    for (const h of hosts) expect(accepted(dropOld.trust, pki.nodes[h.name]!.cert)).toBe(false);
    expect(accepted(dropOld.trust, pki.clients.pgha!.cert)).toBe(false);
    expect((await ensureClusterPki(dir, hosts, opts)).warnings).toEqual([]);
  });

  it('then rolls with the cluster CA like any CA: old and new peer CAs trusted together', async () => {
    const before = await peerState();
    await stageNextCa(dir, 'c', now, ETCD_PEER_CA);
    expect(existsSync(ssl('etcd-peer-ca.migrating'))).toBe(false);
    const trustBoth = await peerState();
    meet(before, trustBoth);
    await promoteNextCa(dir, ETCD_PEER_CA);
    await ensureClusterPki(dir, hosts, { ...opts, reissueAll: true });
    const issueNew = await peerState();
    expect(issueNew.trust).toBe(trustBoth.trust);
    meet(trustBoth, issueNew);
    await dropPreviousCaCert(dir, ETCD_PEER_CA);
    const dropOld = await peerState();
    meet(issueNew, dropOld);
    expect(accepted(dropOld.trust, before.presents.db1!)).toBe(false);
  });
});

describe('pgha rotate-certs: bad input touches nothing (exit 2)', () => {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pgha-rotate-cli-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  it('an unknown flag', async () => {
    expect(await main(['node', 'pgha', 'rotate-certs', root, '--cas'])).toBe(2);
    expect(existsSync(join(root, 'ssl'))).toBe(false);
  });
  it('a directory without a cluster', async () => {
    expect(await main(['node', 'pgha', 'rotate-certs', root, '--ca'])).toBe(2);
    expect(existsSync(join(root, 'ssl'))).toBe(false);
    expect(existsSync(journalPath(root))).toBe(false);
  });
});

describe('rotate-certs against a simulated cluster (M1 + PgBouncer, dedicated etcd)', () => {
  const c = simulated('m1-pgbouncer-bare', 'pool');
  let sim: SimCluster;
  beforeAll(async () => {
    sim = c.sim();
    expect((await c.run()).exitCode).toBe(0);
  });
  const hostFile = (host: string, path: string) => sim.host(host).files.get(path)?.content ?? '';
  const restarts = (log: string[]) => log.filter((l) => /: restart /.test(l));
  /** Every path written in `log`. */
  const written = (log: string[]) => log.flatMap((l) => /^\S+: write (.*)$/.exec(l)?.[1]?.split(' ') ?? []);

  it("deploy's plan after new leaves in DIR: certificate files, Patroni and PgBouncer reloaded, etcd restarted (rolling); nothing else", async () => {
    const w = pkiWanted(loadCluster(c.dir(), {}).cluster);
    await ensureClusterPki(c.dir(), w.hosts, { clients: w.clients, reissueAll: true });
    const r = await c.run({ check: true });
    expect(r.exitCode).toBe(10);
    const actions = planLines(r.summary, 'pending changes:').filter((l) => l.startsWith('  '));
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) expect(a).toMatch(/^ {2}(update \/etc\/\S+\/ssl\/\S+\.(crt|key)|reload \S+|restart etcd\.service)$/);
    expect(actions).toContain('  reload patroni@pool.service');
    // PgBouncer reads Patroni's certificate files: it reloads too.
    expect(actions).toContain('  reload pgbouncer.service');
  });

  it('renews the leaves: only certificate files change; Patroni and PgBouncer reload, etcd restarts member by member', async () => {
    const mark = sim.log.length;
    const r = await rotateCerts(c.dir(), { ca: false, concurrency: 4 }, 'silent', c.seams());
    expect(r.exitCode).toBe(0);
    expect(r.summary).toMatch(/^reissued \d+ certificates from the current CA \(keys kept\)$/m);
    const log = sim.since(mark);
    expect(
      written(log).every((p) => /\/node\.(crt|key)$|\/clients?\/|\.crt$/.test(p)),
      written(log).join(' '),
    ).toBe(true);
    expect(log.some((l) => /: reload patroni@pool\.service$/.test(l))).toBe(true);
    // Never Patroni or PostgreSQL; etcd only, which reads its certificates at start.
    expect(restarts(log).filter((l) => !/: restart etcd\.service$/.test(l))).toEqual([]);
    expect((await c.run({ check: true })).exitCode).toBe(0);
  });

  it('--ca, phase by phase: both CAs trusted, every leaf from the new one, then the new one alone', async () => {
    const dir = c.dir();
    const oldCa = readFileSync(join(dir, 'ssl', 'ca.crt'), 'utf8');
    const bundleOn = (host: string) => pemCertificates(hostFile(host, '/etc/patroni/ssl/ca.crt')).map(subject);

    const leafBefore = hostFile('db1', '/etc/patroni/ssl/node.crt');
    let mark = sim.log.length;
    let r = await rotateCerts(dir, { ca: true, concurrency: 4, stopAfter: 'trust-both' }, 'silent', c.seams());
    expect(r.exitCode).toBe(0);
    expect(readJournal(journalPath(dir))?.phase).toBe('issue-new');
    const newCa = readFileSync(join(dir, 'ssl', 'ca-next.crt'), 'utf8');
    expect(bundleOn('db1')).toEqual([subject(oldCa), subject(newCa)]);
    // New leaves from the old CA with the new bundle: Patroni's REST API re-reads its CA file only for a new certificate.
    const leafTrustBoth = hostFile('db1', '/etc/patroni/ssl/node.crt');
    expect(leafTrustBoth).not.toBe(leafBefore);
    expect(new X509Certificate(leafTrustBoth).issuer).toBe(subject(oldCa));
    expect(restarts(sim.since(mark)).filter((l) => !/: restart etcd\.service$/.test(l))).toEqual([]);
    // The CA's key is never printed.
    expect(r.summary).not.toMatch(/PRIVATE KEY/);

    // Resumed: phase issue-new. The bundle is the same, so etcd does not restart for it, only for its leaves.
    mark = sim.log.length;
    r = await rotateCerts(dir, { ca: true, concurrency: 4, stopAfter: 'issue-new' }, 'silent', c.seams());
    expect(r.exitCode).toBe(0);
    expect(r.summary).toMatch(/^resuming the CA rotation started .* at phase issue-new$/m);
    expect(readJournal(journalPath(dir))?.phase).toBe('drop-old');
    expect(written(sim.since(mark)).filter((p) => p.endsWith('/ca.crt'))).toEqual([]);
    expect(new X509Certificate(hostFile('db1', '/etc/patroni/ssl/node.crt')).issuer).toBe(subject(newCa));
    expect(bundleOn('db1')).toEqual([subject(oldCa), subject(newCa)]);
    expect(restarts(sim.since(mark)).filter((l) => !/: restart etcd\.service$/.test(l))).toEqual([]);

    mark = sim.log.length;
    r = await rotateCerts(dir, { ca: true, concurrency: 4 }, 'silent', c.seams());
    expect(r.exitCode).toBe(0);
    expect(bundleOn('db1')).toEqual([subject(newCa)]);
    expect(existsSync(journalPath(dir))).toBe(false);
    expect(existsSync(join(dir, 'ssl', 'ca-previous.key'))).toBe(false);
    expect(existsSync(join(dir, 'ssl', 'ca-previous.crt'))).toBe(false);
    expect(restarts(sim.since(mark)).filter((l) => !/: restart etcd\.service$/.test(l))).toEqual([]);
    expect((await c.run({ check: true })).exitCode).toBe(0);
  });

  it('refuses a leaf rotation while a CA rotation is under way (exit 2), touching nothing', async () => {
    writeFileSync(journalPath(c.dir()), '{"phase":"drop-old","started":"x"}\n');
    const mark = sim.log.length;
    const err = await rotateCerts(c.dir(), { ca: false, concurrency: 4 }, 'silent', c.seams()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(sim.since(mark)).toEqual([]);
    rmSync(journalPath(c.dir()));
  });

  it('render shows a bundle with two CAs and no key of either', async () => {
    const dir = c.dir();
    await stageNextCa(dir, 'pool', now);
    const out = await renderFiles(loadCluster(dir, {}), { host: 'db1', file: '/etc/patroni/ssl/ca.crt' });
    expect(pemCertificates(out)).toHaveLength(2);
    expect(out).not.toMatch(/PRIVATE KEY/);
    rmSync(join(dir, 'ssl', 'ca-next.crt'));
    rmSync(join(dir, 'ssl', 'ca-next.key'));
  });
});
