/**
 * The nspawn platform: systemd-nspawn containers on this machine as the cluster's hosts, on one
 * bridge with no route out, with DIR/local-repo bind-mounted as their only apt source.
 * provision.ts and deprovision.ts do the work; this file is the Platform they stand behind.
 * Everything heavy is loaded when used, so naming the platform costs nothing.
 */
import type { Platform } from '../platform.js';
import { readOsFacts } from '../os-release.js';
import { connectOverSsh } from '../ssh-connect.js';
import { bindMountProblem } from './paths.js';

export const nspawnPlatform: Platform = {
  name: 'nspawn',
  configure: Object.freeze({
    hostAddresses: 'assigned',
    // The containers have no route out: packages come from DIR/local-repo only.
    clusterVars: Object.freeze({ use_local_repo_only: true }),
    // A container's end of its veth (./container-config.ts), where keepalived puts the VIP.
    vipInterface: 'host0',
  }),

  clusterDirProblem: bindMountProblem,

  async provision(req) {
    const { assertHostPrereqs, installHostPrereqs, requireRoot } = await import('./prereqs.js');
    const { provisionNspawn } = await import('./provision.js');
    const { clusterSubnet } = await import('./addressing.js');
    const { oneRelease } = await import('./release.js');
    requireRoot('provision');
    const release = oneRelease(req.hosts);
    if (req.installPrereqs) await installHostPrereqs(req.log);
    await assertHostPrereqs();
    const result = await provisionNspawn(
      {
        clusterDir: req.clusterDir,
        clusterName: req.clusterName,
        subnet: clusterSubnet(req.hosts),
        hosts: req.hosts.map(({ name, ip }) => ({ name, ip })),
        codename: release.codename,
        authorizedKey: req.sshPublicKey,
        localRepoDir: req.localRepoDir,
        knownHostsFile: req.access.knownHostsFile,
      },
      { log: req.log },
    );
    const rows = result.hosts.map(
      (h) => `  ${h.host.padEnd(10)} ${h.ip.padEnd(15)} ${h.action.padEnd(8)} pid ${h.pid}  ${h.seconds.toFixed(1)} s`,
    );
    return [
      `provisioned ${rows.length} containers on bridge ${result.bridge} (${result.bridgeAddress}) in ${result.seconds.toFixed(1)} s:`,
      ...rows,
      `host keys pinned in ${result.knownHostsFile}`,
    ].join('\n');
  },

  async deprovision(req) {
    const { requireRoot } = await import('./prereqs.js');
    const { deprovisionNspawn } = await import('./deprovision.js');
    requireRoot('deprovision');
    const result = await deprovisionNspawn({ clusterName: req.clusterName, hosts: req.hosts }, { log: req.log });
    const rows = result.hosts.map((h) => `  ${h.host.padEnd(10)} ${h.stopped}`);
    return [`removed ${rows.length} containers and bridge ${result.bridge} in ${result.seconds.toFixed(1)} s:`, ...rows].join('\n');
  },

  async removeHost(req) {
    const { requireRoot } = await import('./prereqs.js');
    const { removeNspawnHost } = await import('./deprovision.js');
    requireRoot('remove-node');
    const r = await removeNspawnHost({ clusterName: req.clusterName, host: req.host }, { log: req.log });
    return `${req.host}: container removed (${r.stopped}, ${r.seconds.toFixed(1)} s)`;
  },

  // provision boots the containers that are not running, a crashed one included, and leaves the rest.
  hostDownRemedy: 'boot its container with `pgha provision DIR`',

  // The containers run sshd; pgha reaches them like any host (the bridge address is routable here).
  connect: connectOverSsh,

  osFacts: readOsFacts,

  // DIR/local-repo is bind-mounted into every container: nothing to copy.
  copiesLocalRepo: () => false,

  async ensurePackageVersions(req) {
    const { ensureRepoVersions } = await import('./repo-versions.js');
    return ensureRepoVersions(req);
  },
};
