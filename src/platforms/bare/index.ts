/**
 * The bare platform: machines the operator already runs, reached over SSH as root with the
 * cluster's key. pgha never creates or removes them; `provision` only reaches each one and pins
 * its host key (host-keys.ts). Everything heavy is loaded when used.
 */
import { UsageError } from '../../errors.js';
import type { Platform } from '../platform.js';
import { readOsFacts } from '../os-release.js';
import { connectOverSsh } from '../ssh-connect.js';

export const barePlatform: Platform = {
  name: 'bare',
  configure: Object.freeze({
    // The operator names the hosts (`--hostnames-from FILE`); their own apt sources serve packages.
    hostAddresses: 'listed',
    clusterVars: Object.freeze({}),
  }),

  clusterDirProblem: () => undefined,

  async provision(req) {
    const { provisionBare } = await import('./host-keys.js');
    return provisionBare({
      hosts: req.hosts,
      knownHosts: req.access.knownHostsFile,
      privateKeyFile: req.access.privateKeyFile,
      acceptNewHostKeys: req.acceptNewHostKeys,
      ...(req.vouchedKnownHostsFile !== undefined ? { knownHostsFile: req.vouchedKnownHostsFile } : {}),
    });
  },

  deprovision() {
    return Promise.reject(
      new UsageError('deprovision is for nspawn clusters: pgha never removes hosts it did not create', {
        hint: 'decommission bare hosts yourself',
      }),
    );
  },

  removeHost(req) {
    return Promise.resolve(`${req.host}: a bare host is left as it is (its services stopped and disabled); decommission it yourself`);
  },

  hostDownRemedy: 'start the machine again',

  connect: connectOverSsh,

  osFacts: readOsFacts,

  // With use_local_repo_only, deploy copies DIR/local-repo to the host and makes it apt's only source.
  copiesLocalRepo: (host) => host.vars.use_local_repo_only === true,

  // The hosts' own apt sources serve the new versions; a copied local repository is refreshed by deploy.
  ensurePackageVersions: () => Promise.resolve(undefined),
};
