/**
 * A merge once left `<<<<<<< HEAD … >>>>>>>` in docs/architecture.md and nothing failed: every
 * text file git tracks is checked for the three markers at the start of a line.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEXT = /\.(ts|mts|mjs|cjs|js|json|md|yml|yaml|hbs|sh|patch|py|toml|txt|cfg|conf)$/;
const MARKER = /^(<{7} |={7}$|>{7} )/m;

describe('tracked files', () => {
  it('hold no merge conflict markers', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => TEXT.test(f));
    expect(files.length).toBeGreaterThan(100);
    const marked = files.filter((f) => {
      try {
        return MARKER.test(readFileSync(`${ROOT}${f}`, 'utf8'));
      } catch {
        return false; // listed but deleted in the working tree
      }
    });
    expect(marked).toEqual([]);
  });
});
