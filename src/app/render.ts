/** `pgha render`: every file deploy would write, per host, with secrets masked. */
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import type { DesiredFile } from '../model/types.js';
import { copiesLocalRepo } from '../platforms/index.js';
import { renderCluster } from '../render/index.js';
import type { SecretStore } from '../secrets/store.js';
import { maskByShape } from '../secrets/redact.js';
import { readClusterMaterial, type LoadedCluster } from './cluster-dir.js';
import { readExporterBundle } from './exporter-bundle.js';
import { type OutFile, writeRenderedTree } from './render-out.js';

export interface RenderRequest {
  host?: string | undefined;
  file?: string | undefined;
  out?: string | undefined;
}

export function fileMatches(path: string, wanted: string): boolean {
  if (path === wanted || basename(path) === wanted) return true;
  // `patroni.yml` names /etc/patroni/<cluster>.yml, whatever the cluster is called.
  return wanted === 'patroni.yml' && /^\/etc\/patroni\/[^/]+\.yml$/.test(path);
}

/** What a reader may see of a file: private keys never, secrets masked. */
export function shownContent(f: DesiredFile, secrets: Pick<SecretStore, 'redact'>): string {
  return f.sensitive
    ? `# (sensitive: ${Buffer.byteLength(f.content)} bytes, not shown)\n`
    : secrets.redact(maskByShape(f.content, f.masks));
}

export async function renderFiles(loaded: LoadedCluster, req: RenderRequest): Promise<string> {
  const { cluster } = loaded;
  if (req.host && !cluster.hosts.some((h) => h.name === req.host)) {
    throw new UsageError(`--host ${req.host}: not in this cluster (hosts: ${cluster.hosts.map((h) => h.name).join(', ')})`);
  }
  const material = await readClusterMaterial(loaded, 'pgha render');
  const byHost = renderCluster(
    cluster,
    { secret: (n) => material.secrets.get(n), pki: material.pki, exporterBundle: readExporterBundle },
    { copiesLocalRepo: (h) => copiesLocalRepo(cluster, h) },
  );
  const chunks: string[] = [];
  const outFiles: OutFile[] = [];
  let matched = 0;
  for (const [host, files] of byHost) {
    if (req.host && host !== req.host) continue;
    for (const f of files) {
      if (req.file && !fileMatches(f.path, req.file)) continue;
      matched++;
      const content = shownContent(f, material.secrets);
      if (req.out) {
        outFiles.push({ rel: `${host}/${f.path}`, content });
      } else {
        chunks.push(
          `==> ${host}:${f.path} (${f.owner}:${f.group} ${f.mode.toString(8).padStart(4, '0')})\n${content}${content.endsWith('\n') ? '' : '\n'}`,
        );
      }
    }
  }
  if (req.file && matched === 0) {
    throw new UsageError(`--file ${req.file}: no rendered file has that name${req.host ? ` on ${req.host}` : ''}`, {
      hint: 'use a basename such as patroni.yml, haproxy.cfg, pgbouncer.ini, pgha.conf.yml',
    });
  }
  if (req.out) writeRenderedTree(req.out, outFiles);
  return req.out ? `wrote ${matched} files under ${req.out}` : chunks.join('\n');
}
