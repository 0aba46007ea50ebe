/** Patroni on every data node: it runs PostgreSQL (../postgres/) and holds the leader key in etcd. */
import type { OsVersion } from '../../model/releases.js';
import { releaseOf } from '../../model/releases.js';
import { isDataNode, optStr, userSecrets } from '../common.js';
import { companion, pinned, portOf, unitOfSystemdPath, type Component } from '../component.js';
import { PATRONI_SSL_DIR, PG_CREATECLUSTER_DROP_IN, POSTMASTER_WATCH_SCRIPT, POSTMASTER_WATCH_UNIT } from '../paths.js';
import { patroniFiles, patroniUnit } from './config.js';
import { patroniHealth } from './health.js';
import { postmasterWatchFiles } from './postmaster-watch.js';

/**
 * Packages Patroni needs beside its own, per Debian release. On 13, patroni 4.0.7 names
 * python3-etcd only as one alternative of a dependency that python3-consul (pulled in by another
 * one) already satisfies, so apt leaves it out and Patroni finds no etcd implementation.
 */
const WITH_PATRONI: Readonly<Record<OsVersion, readonly string[]>> = { 12: [], 13: ['python3-etcd'] };

export const patroni: Component = {
  name: 'patroni',
  runsOn: (_cluster, host) => isDataNode(host),
  packages: (host) => {
    const flavour = optStr(host.vars, 'patroni_package_flavour') ?? 'community';
    const extra = WITH_PATRONI[releaseOf(host.vars).version].map(companion);
    return [pinned(flavour === 'edb' ? 'edb-patroni' : 'patroni', optStr(host.vars, 'patroni_package_version')), ...extra];
  },
  files: (cluster, host, ctx) => [...patroniFiles(cluster, host, ctx.inputs), ...postmasterWatchFiles(cluster)],
  // Patroni's unit first: deploy's Patroni phase bootstraps and joins members with it, and
  // starts the postmaster watch (./postmaster-watch.ts) after them. Upgrade restarts the first.
  units: (cluster) => [patroniUnit(cluster), POSTMASTER_WATCH_UNIT],
  // Patroni re-reads its file on reload (SIGHUP) and applies what changed itself, restarting
  // PostgreSQL only where a parameter needs it (then shown as pending restart).
  // A reload (SIGHUP) reloads PostgreSQL too, which re-reads its ssl_* files; the REST API builds
  // a new TLS context (reading its CA file again) when its configuration or its certificate's
  // serial number changed, so rotate-certs always pushes new leaves with a new bundle.
  reactions: (cluster, path) => {
    if (path.startsWith('/etc/patroni/')) return [{ unit: patroniUnit(cluster), how: 'reload' }];
    // The watch reads Patroni's file at every wake; only its own script or unit needs a restart.
    if (path === POSTMASTER_WATCH_SCRIPT || unitOfSystemdPath(path) === POSTMASTER_WATCH_UNIT)
      return [{ unit: POSTMASTER_WATCH_UNIT, how: 'restart' }];
    return [];
  },
  formation: 'patroni',
  ports: () => [portOf('patroni_listen_port', 'the Patroni REST API')],
  privateDirs: { [PATRONI_SSL_DIR]: { owner: 'postgres', group: 'postgres', mode: 0o750 } },
  // Installing postgresql-<ver> would otherwise create and start a `main` cluster on Patroni's port.
  isPreInstall: (path) => path === PG_CREATECLUSTER_DROP_IN,
  upgrade: { kind: 'data-node', restart: 'patroni-unit' },
  health: patroniHealth,
  // The PostgreSQL users patroni.yml names (Patroni creates them at bootstrap and connects as
  // them), and its REST API's user.
  secretNames: (cluster) =>
    userSecrets(cluster.hosts, 'patroni_super_user', 'patroni_replication_user', 'patroni_rewind_user', 'patroni_restapi_user'),
  // Under mtls a member (and patronictl on it) calls the REST APIs with its node certificate, and
  // without etcd RBAC it logs into etcd with it.
  dialsWithHostCert: () => true,
};
