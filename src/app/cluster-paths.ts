/**
 * The cluster directory's layout (docs/architecture.md#the-cluster-directory). Kept apart from cluster-dir.ts, which brings the
 * schema, PKI and secrets code with it, so read-only commands like status can start fast.
 */
import { join, resolve as resolvePath } from 'node:path';
import { UsageError } from '../errors.js';

export interface ClusterPaths {
  dir: string;
  config: string;
  ssl: string;
  secrets: string;
  ssh: string;
  privateKey: string;
  knownHosts: string;
  localRepo: string;
  /** A restore under way: what it recovers to and along which timeline (src/app/restore/journal.ts). */
  restoreJournal: string;
}

// A control character is no part of a sane path, and the directory's name travels into files
// written line by line (the SSH key comment in authorized_keys, config headers).
// Refusing it here covers every command.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

export function clusterPaths(dir: string): ClusterPaths {
  const abs = resolvePath(dir);
  if (CONTROL_CHARACTER.test(abs)) {
    throw new UsageError(
      `cluster directory ${JSON.stringify(abs)}: the path contains a control character (e.g. a newline); rename the directory`,
    );
  }
  return {
    dir: abs,
    config: join(abs, 'config.yml'),
    ssl: join(abs, 'ssl'),
    secrets: join(abs, 'secrets'),
    ssh: join(abs, 'ssh'),
    privateKey: join(abs, 'ssh', 'id_pgha'),
    knownHosts: join(abs, 'ssh', 'known_hosts'),
    localRepo: join(abs, 'local-repo'),
    restoreJournal: join(abs, 'restore-in-progress.json'),
  };
}
