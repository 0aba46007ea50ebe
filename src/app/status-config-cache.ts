/**
 * config.yml as `status` (and `test`) last resolved it, kept in `DIR/.status-cache.json` (0600)
 * so that the next run skips loading yaml and parsing and resolving the file: ~50 ms of a
 * ~320 ms `status`, whose goal is half the time of `patronictl list`.
 *
 * The entry is keyed by the bytes of config.yml and by the pgha build that resolved it (this
 * module's mtime and size: a rebuild or an upgrade rewrites it), so an edited config or a pgha
 * with other defaults never reads a stale entry. It holds what config.yml holds, resolved —
 * never a secret, which lives in DIR/secrets. Anything unreadable is a miss; a cache that
 * cannot be written (read-only DIR) only costs the next run the parse.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigProblem } from '../errors.js';
import type { Layer, ResolvedCluster, ResolvedHost } from '../model/types.js';

export const STATUS_CACHE_FILE = '.status-cache.json';

/** ResolvedHost with its provenance Map as entries, which JSON keeps. */
type StoredHost = Omit<ResolvedHost, 'provenance'> & { provenance: [string, Layer][] };
interface Entry {
  key: string;
  cluster: Omit<ResolvedCluster, 'hosts'> & { hosts: StoredHost[] };
  /** The config warnings, printed again on every read as loadCluster would. */
  warnings: ConfigProblem[];
}

export interface CachedConfig {
  cluster: ResolvedCluster;
  warnings: ConfigProblem[];
}

function buildId(): string {
  try {
    const st = statSync(fileURLToPath(import.meta.url));
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return 'unknown';
  }
}

export function statusCacheKey(configText: string): string {
  return createHash('sha256').update(buildId()).update('\0').update(configText).digest('hex');
}

export function readStatusCache(dir: string, key: string): CachedConfig | undefined {
  try {
    const entry = JSON.parse(readFileSync(join(dir, STATUS_CACHE_FILE), 'utf8')) as Entry;
    if (entry.key !== key || !Array.isArray(entry.warnings)) return undefined;
    return {
      cluster: { ...entry.cluster, hosts: entry.cluster.hosts.map((h) => ({ ...h, provenance: new Map(h.provenance) })) },
      warnings: entry.warnings,
    };
  } catch {
    return undefined;
  }
}

export function writeStatusCache(dir: string, key: string, { cluster, warnings }: CachedConfig): void {
  const file = join(dir, STATUS_CACHE_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  const entry: Entry = {
    key,
    cluster: { ...cluster, hosts: cluster.hosts.map((h) => ({ ...h, provenance: [...h.provenance] })) },
    warnings,
  };
  try {
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // Best effort, see above.
  }
}
