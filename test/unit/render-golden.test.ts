/**
 * Every file every example renders, compared with test/golden/<example>/<host>/<remote path>.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 npx vitest run test/unit/render-golden.test.ts`
 * and review the diff like code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCluster } from '../../src/render/index.js';
import { exampleNames, fakeInputs, GOLDEN_DIR, loadExample } from '../golden/inputs.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

describe('golden files', () => {
  for (const example of exampleNames()) {
    describe(example, () => {
      const cluster = loadExample(example);
      const rendered = renderCluster(cluster, fakeInputs(cluster));
      const root = join(GOLDEN_DIR, example);
      const manifestPath = join(GOLDEN_DIR, `${example}.manifest`);
      const expected = new Map<string, string>();
      const manifest: string[] = [];
      for (const [host, files] of rendered) {
        for (const f of files) {
          expected.set(join(host, f.path.slice(1)), f.content);
          const mode = f.mode.toString(8).padStart(4, '0');
          manifest.push(`${host} ${f.path} ${f.owner}:${f.group} ${mode}${f.sensitive ? ' sensitive' : ''}`);
        }
      }
      const manifestText = `${manifest.join('\n')}\n`;

      if (UPDATE) {
        rmSync(root, { recursive: true, force: true });
        for (const [rel, content] of expected) {
          mkdirSync(dirname(join(root, rel)), { recursive: true });
          writeFileSync(join(root, rel), content);
        }
        writeFileSync(manifestPath, manifestText);
      }

      it('gives every file the owner, group, mode and sensitivity on record', () => {
        expect(manifestText).toBe(readFileSync(manifestPath, 'utf8'));
      });

      it('renders exactly the files on record', () => {
        expect([...expected.keys()].sort()).toEqual(listFiles(root));
      });

      for (const [rel, content] of expected) {
        it(rel, () => {
          expect(content).toBe(readFileSync(join(root, rel), 'utf8'));
        });
      }
    });
  }
});
