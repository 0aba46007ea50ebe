/** `pgha configure DIR`: write config.yml and create the cluster's key material. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { buildConfig, parseHostnamesFile, type ConfigureOptions } from '../config/configure.js';
import { parseConfigText } from '../config/load.js';
import { validateConfig } from '../config/validate.js';
import { UsageError } from '../errors.js';
import { ensurePrivateDir } from '../pki/files.js';
import { platformFor } from '../platforms/index.js';
import { clusterNameOf, clusterPaths, ensureClusterMaterial, loadCluster } from './cluster-dir.js';

export type ConfigureRequest = Omit<ConfigureOptions, 'clusterName' | 'hostnames'> & {
  hostnamesFrom?: string | undefined;
  force: boolean;
};

export const CLUSTER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;

export async function configureCluster(dir: string, req: ConfigureRequest): Promise<{ summary: string }> {
  const paths = clusterPaths(dir);
  const clusterName = clusterNameOf(dir);
  if (!CLUSTER_NAME_PATTERN.test(clusterName)) {
    throw new UsageError(
      `cluster directory ${paths.dir}: its name "${clusterName}" is the cluster name and must match ${CLUSTER_NAME_PATTERN} (lower-case letters, digits, "-")`,
    );
  }
  if (existsSync(paths.config) && !req.force) {
    throw new UsageError(`${paths.config} already exists`, {
      hint: 'edit it, or pass --force to overwrite it (certificates and passwords are kept)',
    });
  }
  const platform = platformFor(req.platform);
  const rules = platform.configure;
  if (rules.hostAddresses === 'listed' && !req.hostnamesFrom) {
    throw new UsageError(`--platform ${platform.name} needs --hostnames-from FILE (lines "name ip")`);
  }
  if (rules.hostAddresses === 'assigned' && req.hostnamesFrom) {
    throw new UsageError(
      `--hostnames-from is for platforms whose hosts exist already (--platform bare); ${platform.name} assigns addresses in --subnet`,
    );
  }
  let hostnames: { name: string; ip: string }[] | undefined;
  if (req.hostnamesFrom) {
    let text: string;
    try {
      text = readFileSync(req.hostnamesFrom, 'utf8');
    } catch (e) {
      throw new UsageError(`--hostnames-from ${req.hostnamesFrom}: cannot be read (${(e as NodeJS.ErrnoException).code})`);
    }
    hostnames = parseHostnamesFile(text, req.hostnamesFrom);
  }
  const config = buildConfig({ ...req, clusterName, hostnames }, rules);
  const unbindable = platform.clusterDirProblem(paths.dir);
  if (unbindable) throw new UsageError(`cluster directory ${unbindable}`);

  // Validate what would be written before writing anything: an invalid config.yml left behind
  // (in a new directory) is worse than none.
  const header = `# pgha cluster "${clusterName}" — the source of truth; edit, then run \`pgha deploy ${dir}\`.\n`;
  const text = header + stringify(config, { lineWidth: 0 });
  validateConfig(parseConfigText(text, 'config.yml'));

  // DIR holds the CA key, passwords and the SSH key: private whatever the umask.
  await ensurePrivateDir(paths.dir);
  writeFileSync(paths.config, text, { mode: 0o644 });

  const loaded = loadCluster(paths.dir);
  await ensureClusterMaterial(loaded);
  const rows = loaded.cluster.hosts.map((h) => `  ${h.name.padEnd(10)} ${h.ip.padEnd(15)} ${h.roles.join(', ')}`);
  return {
    summary: [
      `wrote ${paths.config} (${config.instance_defaults.platform}, ${rows.length} hosts):`,
      ...rows,
      `next: pgha provision ${dir}`,
    ].join('\n'),
  };
}
