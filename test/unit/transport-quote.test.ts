import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/transport/local.js';
import { MASK, maskSecrets, quote, raw, sh, withSecrets } from '../../src/transport/quote.js';

/** What bash really sees: each word printed between brackets. */
function bashWords(script: string): string {
  const r = spawnSync('bash', ['-c', `for w in ${script}; do printf '[%s]' "$w"; done`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

function bashEcho(word: string): string {
  const r = spawnSync('bash', ['-c', `printf '%s' ${word}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

const TRICKY = [
  '',
  ' ',
  "it's",
  "''",
  '"double" and \'single\'',
  'a\nb\n',
  '\n',
  '$(touch /tmp/pgha-pwned)',
  '`id`',
  '${HOME}',
  '$HOME',
  'a;b&&c||d|e>f<g',
  '*',
  '~',
  '-rf',
  '\\',
  "\\'",
  'tab\there',
  'ünïcødé ✓ 日本語 🐘',
  '!!',
  '#comment',
  '\r\n',
];

describe('quote', () => {
  it.each(TRICKY)('round-trips %j through bash', (s) => {
    expect(bashEcho(quote(s))).toBe(s);
  });

  it('never lets a command substitution run', () => {
    const marker = `/tmp/pgha-quote-${process.pid}`;
    bashEcho(quote(`$(touch ${marker})`));
    bashEcho(quote(`\`touch ${marker}\``));
    expect(spawnSync('test', ['-e', marker]).status).toBe(1);
  });

  it('round-trips arbitrary strings (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')),
        (s) => {
          // bash (in a UTF-8-less C locale or not) passes bytes through; compare as UTF-8.
          expect(bashEcho(quote(s))).toBe(Buffer.from(s, 'utf8').toString('utf8'));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('leaves plain words readable', () => {
    expect(quote('/etc/patroni/config.yml')).toBe('/etc/patroni/config.yml');
    expect(quote('postgresql-15=15.18-0+deb12u1')).toBe('postgresql-15=15.18-0+deb12u1');
    expect(quote(8008)).toBe('8008');
  });

  it('rejects NUL, which argv cannot carry', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });
});

describe('sh', () => {
  it('quotes every value as one word, arrays as one word each', () => {
    const files = ['a b', "c'd", '$(x)'];
    const script = sh`${'x y'} ${files} ${raw('"$HOME"')}`;
    expect(bashWords(script)).toBe(`[x y][a b][c'd][$(x)][${process.env['HOME'] ?? ''}]`);
  });
});

describe('maskSecrets', () => {
  it('masks every occurrence, longest secret first', () => {
    expect(maskSecrets('pw=abc abcdef abc', ['abc', 'abcdef'])).toBe(`pw=${MASK} ${MASK} ${MASK}`);
  });

  it('ignores empty secrets and returns text unchanged without secrets', () => {
    expect(maskSecrets('hello', ['', undefined as unknown as string].filter(Boolean))).toBe('hello');
    expect(maskSecrets('hello', undefined)).toBe('hello');
  });

  it('masks lines of a multi-line secret on their own', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAAAAsecondlineofkey\n-----END PRIVATE KEY-----\n';
    const out = maskSecrets('error near MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', [key]);
    expect(out).toBe(`error near ${MASK}`);
    // Armour lines are public and stay.
    expect(maskSecrets('-----BEGIN PRIVATE KEY-----', [key])).toBe('-----BEGIN PRIVATE KEY-----');
  });

  it('handles secrets with regex metacharacters literally', () => {
    expect(maskSecrets('x.*+?^$()[]{}|\\y', ['.*+?^$()[]{}|\\'])).toBe(`x${MASK}y`);
  });
});

describe('withSecrets', () => {
  const t = new LocalTransport();

  it('delivers secrets over stdin, never in the script', async () => {
    const pw = `p'w "$(id)" \`x\` ünï ${'$'}HOME`;
    const cmd = withSecrets({ PW: pw, OTHER: 'second' }, `printf '%s|%s|' "$PW" "$OTHER"; cat`, { stdin: 'rest\nof stdin' });
    expect(cmd.script).not.toContain(pw);
    expect(cmd.script).not.toContain('second');
    expect(cmd.secrets).toEqual([pw, 'second']);
    const r = await t.exec(cmd);
    expect(r).toEqual({ stdout: `${pw}|second|rest\nof stdin`, stderr: '', code: 0 });
  });

  it('fails before running anything when stdin is missing', async () => {
    const cmd = withSecrets({ PW: 'x' }, 'echo ran');
    const r = await t.exec({ script: cmd.script });
    expect(r.code).toBe(97);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('secret PW missing');
  });

  it('refuses secrets that cannot travel as one line, and bad names', () => {
    expect(() => withSecrets({ PW: 'a\nb' }, 'true')).toThrow(/newline/);
    expect(() => withSecrets({ 'P W': 'a' }, 'true')).toThrow(/variable name/);
  });
});
