/**
 * Secrets never shown, whatever their characters: files that hold passwords (patroni.yml,
 * PgBouncer's userlist.txt) are rendered with generated passwords of every character class —
 * quotes, YAML indicators, backslashes, control characters, non-ASCII — and what `render` prints
 * and what `deploy --diff` prints must not hold them in any encoding. A host's copy holding an
 * old password (before a rotation reaches it) is masked by the shape of its lines, since pgha
 * no longer knows that value. Masked YAML still parses.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { shownContent } from '../../src/app/render.js';
import type { ClusterConfig, DesiredFile } from '../../src/model/types.js';
import { resolveCluster } from '../../src/model/resolve.js';
import type { FileFact, HostFacts } from '../../src/plan/facts.js';
import { planHost } from '../../src/plan/plan.js';
import { renderCluster } from '../../src/render/index.js';
import { encodedForms, Redactor } from '../../src/secrets/redact.js';
import { fakeExporterBundle, fakePki } from '../golden/inputs.js';

const config: ClusterConfig = {
  architecture: 'M1',
  cluster_name: 'c1',
  cluster_vars: { patroni_ssl_enabled: true, etcd_ssl_enabled: true, etcd_authentication_mode: 'basic' },
  locations: [{ Name: 'main' }],
  instance_defaults: { platform: 'bare', vars: {} },
  instances: [
    { Name: 'pg1', node: 1, location: 'main', role: ['primary', 'etcd', 'pgbouncer'], ip_address: '10.0.0.1' },
    { Name: 'pg2', node: 2, location: 'main', role: ['replica', 'etcd', 'pgbouncer'], ip_address: '10.0.0.2' },
    { Name: 'pg3', node: 3, location: 'main', role: ['replica', 'etcd', 'pgbouncer'], ip_address: '10.0.0.3' },
  ],
};
const cluster = resolveCluster(config);

/** pg1's files that hold a secret, rendered with `password` for every user. */
function secretFiles(password: string): DesiredFile[] {
  const files =
    renderCluster(cluster, {
      secret: () => password,
      pki: fakePki(cluster.hosts.map((h) => h.name)),
      exporterBundle: fakeExporterBundle,
    }).get('pg1') ?? [];
  return files.filter((f) => ['/etc/patroni/c1.yml', '/etc/pgbouncer/userlist.txt'].includes(f.path));
}

const TRICKY = ["'", '"', ':', ' ', '#', '\\', '*', '&', '!', '%', '@', '`', '{', '}', '[', ']', ',', '-', '?', '|', '>', '=', '$'];
const CONTROL = ['\t', '\x01', '\x07', '\x08', '\x0b', '\x0c', '\x1b', '\x7f', '\u0085', '\u2028', '\u2029', '\ufeff'];
const password = fc
  .oneof(
    fc.string({ unit: fc.constantFrom(...TRICKY, ...CONTROL, 'a', 'Z', '0', 'é', '\u{1F600}'), minLength: 12, maxLength: 32 }),
    fc.string({ unit: 'binary', minLength: 12, maxLength: 32 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 12, maxLength: 32 }),
  )
  .filter((p) => !/[\n\r\0\u0085\u2028\u2029]/.test(p) && p.trim() === p && p.length >= 12);

/** Every string in a parsed YAML document. */
function strings(doc: unknown): string[] {
  if (typeof doc === 'string') return [doc];
  if (Array.isArray(doc)) return doc.flatMap(strings);
  if (doc && typeof doc === 'object') return Object.values(doc).flatMap(strings);
  return [];
}

function leaks(text: string, secret: string): boolean {
  return encodedForms(secret).some((form) => text.includes(form));
}

describe('secrets are masked in every encoding pgha writes', () => {
  it('render: the shown files hold no password, and masked YAML parses', () => {
    fc.assert(
      fc.property(password, (pw) => {
        const files = secretFiles(pw);
        expect(files.map((f) => f.path).sort()).toEqual(['/etc/patroni/c1.yml', '/etc/pgbouncer/userlist.txt']);
        const store = new Redactor([pw]);
        for (const f of files) {
          const shown = shownContent(f, store);
          expect(leaks(shown, pw), f.path).toBe(false);
          if (f.path.endsWith('.yml')) {
            // The real file holds the password (the test tests something) ...
            expect(strings(parse(f.content, { version: '1.1' }))).toContain(pw);
            // ... the shown one parses and holds no trace of it.
            const masked = strings(parse(shown, { version: '1.1' }));
            expect(masked.some((s) => s.includes(pw))).toBe(false);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('deploy --diff: a host still holding an old password shows neither the old nor the new one', () => {
    fc.assert(
      fc.property(password, password, (oldPw, newPw) => {
        fc.pre(oldPw !== newPw && !newPw.includes(oldPw) && !oldPw.includes(newPw));
        const desired = secretFiles(newPw);
        const onHost = secretFiles(oldPw);
        const facts: HostFacts = {
          hostname: 'pg1',
          os: { id: 'debian', codename: 'bookworm' },
          packages: {},
          services: {},
          files: Object.fromEntries(
            onHost.map((f): [string, FileFact] => [
              f.path,
              {
                path: f.path,
                state: 'file',
                sha256: createHash('sha256').update(f.content, 'utf8').digest('hex'),
                owner: f.owner,
                group: f.group,
                mode: f.mode,
                size: Buffer.byteLength(f.content),
                content: f.content,
              },
            ]),
          ),
        };
        // pgha knows only the new password: the old one is masked by shape alone.
        const store = new Redactor([newPw]);
        const plan = planHost({ files: desired, packages: [] }, facts, { redact: (t) => store.redact(t) });
        const diffs = plan.actions.map((a) => ('diff' in a ? a.diff : '')).join('\n');
        expect(plan.actions.length).toBeGreaterThan(0);
        expect(leaks(diffs, oldPw)).toBe(false);
        expect(leaks(diffs, newPw)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});

describe('masking by value, checked against independent encoders', () => {
  // leaks() above looks for encodedForms' own spellings, so it cannot notice a spelling that
  // encodedForms forgets; here each encoding comes from its real writer (or the format's rule).
  const writers: [string, (pw: string) => string][] = [
    ['JSON', (pw) => JSON.stringify({ password: pw })],
    ['YAML double-quoted', (pw) => stringify({ password: pw }, { defaultStringType: 'QUOTE_DOUBLE', lineWidth: 0 })],
    ['YAML single-quoted', (pw) => stringify({ password: pw }, { defaultStringType: 'QUOTE_SINGLE', lineWidth: 0 })],
    ['userlist.txt', (pw) => `"pgbouncer" "${pw.replace(/"/g, '""')}"`],
    ['.pgpass', (pw) => `10.0.0.1:5432:*:postgres:${pw.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}`],
  ];
  it.each(writers)('%s: the password is masked whatever the encoding made of it', (_name, write) => {
    fc.assert(
      fc.property(password, (pw) => {
        const shown = new Redactor([pw]).redact(`before\n${write(pw)}\nafter`);
        // Whatever the writer made of the password is gone, and nothing else changed around it.
        expect(shown).not.toContain(write(pw));
        expect(shown.startsWith('before\n')).toBe(true);
        expect(shown.endsWith('\nafter')).toBe(true);
        if (/['"\\:]/.test(pw)) expect(shown).toContain('********');
      }),
      { numRuns: 200 },
    );
  });
});
