/**
 * The cluster directory's layout (docs/architecture.md#the-cluster-directory). Kept apart from cluster-dir.ts, which brings the
 * schema, PKI and secrets code with it, so read-only commands like status can start fast.
 */
import { join, resolve as resolvePath } from 'node:path';

export interface ClusterPaths {
  dir: string;
  config: string;
  ssl: string;
  secrets: string;
  ssh: string;
  privateKey: string;
  knownHosts: string;
  localRepo: string;
}

export function clusterPaths(dir: string): ClusterPaths {
  const abs = resolvePath(dir);
  return {
    dir: abs,
    config: join(abs, 'config.yml'),
    ssl: join(abs, 'ssl'),
    secrets: join(abs, 'secrets'),
    ssh: join(abs, 'ssh'),
    privateKey: join(abs, 'ssh', 'id_pgha'),
    knownHosts: join(abs, 'ssh', 'known_hosts'),
    localRepo: join(abs, 'local-repo'),
  };
}
