/**
 * The exporter's single-file build (scripts/build-exporter.mjs) that a monitoring host runs with
 * Debian's nodejs: built afresh into a temporary directory (a few milliseconds, no `npm run build`
 * needed), then run as the service runs it. It must carry nothing node resolves at run time but
 * its own modules (no ssh2, no undici, no commander: the host has only the file), and parse
 * pgha exporter's options itself.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without declarations.
import { buildExporter } from '../../scripts/build-exporter.mjs';
import { issueCa } from '../../src/pki/certs.js';
import { fakePatroni, recorded } from './exporter-fake-patroni.js';
import { parseExposition, sampleOf } from './exporter-text.js';
import { tempDirs } from './tempdirs.js';

const tmp = tempDirs();

interface Metafile {
  inputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
}

describe('dist/exporter/pgha-exporter.mjs', () => {
  let file = '';
  let meta: Metafile;
  beforeAll(async () => {
    file = join(tmp('pgha-exporter-bundle-'), 'pgha-exporter.mjs');
    meta = (await buildExporter(file)) as Metafile;
  }, 60_000);

  const run = (args: string[]) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PATRONI_EXPORTER_')));
    const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', env, timeout: 15_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('holds no package: no ssh2, undici or commander, and imports only node: modules', () => {
    const inputs = Object.keys(meta.inputs);
    expect(inputs.filter((p) => p.includes('node_modules'))).toEqual([]);
    const external = Object.values(meta.inputs).flatMap((i) => i.imports.filter((x) => x.external).map((x) => x.path));
    expect(external.filter((p) => !p.startsWith('node:'))).toEqual([]);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/\bfrom\s*["']ssh2["']|require\(["']ssh2["']\)|import\(["']ssh2["']\)/);
    expect(text).not.toMatch(/["'](undici|commander)["']/);
    // --cluster DIR's code (config.yml, the schema, SSH) stays in pgha itself.
    expect(inputs).not.toContain('src/app/exporter/cluster.ts');
  });

  it('--help lists the exporter options with --cluster-file and without --cluster DIR', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pgha-exporter \[options\]/);
    expect(r.stdout).toContain('-p, --port <port>');
    expect(r.stdout).toContain('--cluster-file <file>');
    expect(r.stdout).not.toContain('--cluster <dir>');
  });

  it('refuses what it does not know, and bad values, with exit 2', () => {
    const unknown = run(['--cluster', 'clusters/main']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: .*--cluster/);
    const port = run(['--port', 'nope']);
    expect(port.code).toBe(2);
    expect(port.stderr).toBe('error: -p/--port: "nope" is not a port\n  fix: give a port number from 0 to 65535, e.g. 9547\n');
    const file = run(['--cluster-file', '/nonexistent/cluster.json']);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/^error: --cluster-file: cannot read the file \/nonexistent\/cluster\.json: ENOENT/);
  });

  it('serves a --cluster-file page as the service runs it, and stops on SIGTERM', async () => {
    const dir = tmp('pgha-exporter-bundle-run-');
    const member = await fakePatroni(recorded('get-patroni.leader'));
    const ca = join(dir, 'ca.crt');
    writeFileSync(ca, issueCa({ clusterName: 'main', now: new Date() }).certPem);
    const cluster = join(dir, 'cluster.json');
    const base = member.url.replace(/\/patroni$/, '');
    writeFileSync(cluster, JSON.stringify({ scope: 'main', tls: { ca }, patroni: [{ name: 'pg1', url: base }] }));
    const child = spawn(process.execPath, [file, '--cluster-file', cluster, '--bind', '127.0.0.1', '--port', '0']);
    try {
      let err = '';
      const address = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          const m = /listening on (\S+), scraping/.exec(err);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      const page = parseExposition(await (await fetch(`http://${address}/metrics`)).text());
      expect(sampleOf(page, 'patroni_patroni_info', { member: 'pg1' })?.labels.role).toBe('master');
      expect(sampleOf(page, 'patroni_exporter_scrape_success', { member: 'pg1', scope: 'main' })?.value).toBe(1);
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill();
      await member.close();
    }
  });
});
