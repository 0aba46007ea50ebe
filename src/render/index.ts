/**
 * The desired state of every host (docs/architecture.md#data-flow, "desired"): files, packages and services, as pure
 * functions of the resolved cluster, the secrets and the PKI.
 */
import { etcdFiles } from '../components/etcd/config.js';
import { haproxyFiles } from '../components/haproxy/config.js';
import { hasRole, isDataNode, optStr, str, type RenderOptions } from '../components/common.js';
import {
  ETCD_SSL_DIR,
  HAPROXY_SSL_DIR,
  LOCAL_REPO_REMOTE_DIR,
  LOCAL_REPO_SOURCE_LIST,
  PATRONI_SSL_DIR,
  PG_CREATECLUSTER_DROP_IN,
  PGBOUNCER_FOLLOW_UNIT,
} from '../components/paths.js';
import { patroniFiles, patroniUnit } from '../components/patroni/config.js';
import { pgbouncerFiles } from '../components/pgbouncer/config.js';
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../model/types.js';
import { dirname } from 'node:path/posix';
import { renderTemplate } from './templates.js';

export type { RenderOptions } from '../components/common.js';

export function renderHost(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs, opts: RenderOptions = {}): DesiredFile[] {
  const files: DesiredFile[] = [];
  if (hasRole(host, 'etcd')) files.push(...etcdFiles(cluster, host, inputs));
  if (isDataNode(host)) files.push(...patroniFiles(cluster, host, inputs));
  if (hasRole(host, 'pgbouncer')) {
    files.push(...pgbouncerFiles(cluster, host, inputs, (view) => renderTemplate('pgbouncer.ini.hbs', view), opts));
  }
  if (hasRole(host, 'haproxy')) {
    files.push(...haproxyFiles(cluster, host, inputs, (view) => renderTemplate('haproxy.cfg.hbs', view)));
  }
  if (cluster.platform === 'bare' && host.vars.use_local_repo_only === true) files.push(localRepoSourceList());
  return files;
}

/**
 * bare hosts with `use_local_repo_only` install from the copy of DIR/local-repo that deploy puts
 * in REMOTE_REPO_DIR; apt is pointed at this list alone, so the host's own sources stay untouched.
 */
export function localRepoSourceList(): DesiredFile {
  return {
    path: LOCAL_REPO_SOURCE_LIST,
    content: `# Managed by pgha: the cluster's local package repository, copied by \`pgha deploy\`.\ndeb [trusted=yes] file:${LOCAL_REPO_REMOTE_DIR} ./\n`,
    owner: 'root',
    group: 'root',
    mode: 0o644,
  };
}

export function renderCluster(cluster: ResolvedCluster, inputs: RenderInputs, opts: RenderOptions = {}): Map<string, DesiredFile[]> {
  return new Map(cluster.hosts.map((h) => [h.name, renderHost(cluster, h, inputs, opts)]));
}

export interface PackageSpec {
  name: string;
  version?: string;
}

function pkg(name: string, version: string | undefined): PackageSpec {
  return version === undefined ? { name } : { name, version };
}

/** Debian packages per role, pinned by `<component>_package_version` where set. */
export function packagesFor(host: ResolvedHost): PackageSpec[] {
  const v = host.vars;
  const out: PackageSpec[] = [];
  if (hasRole(host, 'etcd')) {
    const ver = optStr(v, 'etcd_package_version');
    out.push(pkg('etcd-server', ver), pkg('etcd-client', ver));
  }
  if (isDataNode(host)) {
    const major = str(v, 'postgres_version');
    const pgVer = optStr(v, 'postgres_package_version');
    out.push(pkg(`postgresql-${major}`, pgVer), pkg(`postgresql-client-${major}`, pgVer));
    const flavour = optStr(v, 'patroni_package_flavour') ?? 'community';
    out.push(pkg(flavour === 'edb' ? 'edb-patroni' : 'patroni', optStr(v, 'patroni_package_version')));
  }
  if (hasRole(host, 'pgbouncer')) out.push(pkg('pgbouncer', optStr(v, 'pgbouncer_package_version')));
  if (hasRole(host, 'haproxy')) out.push(pkg('haproxy', optStr(v, 'haproxy_package_version')));
  return out;
}

/** The systemd units pgha manages on this host, in the order they should start. */
export function servicesFor(cluster: ResolvedCluster, host: ResolvedHost): string[] {
  const out: string[] = [];
  if (hasRole(host, 'etcd')) out.push('etcd.service');
  if (isDataNode(host)) out.push(patroniUnit(cluster));
  if (hasRole(host, 'pgbouncer')) out.push('pgbouncer.service', PGBOUNCER_FOLLOW_UNIT);
  if (hasRole(host, 'haproxy')) out.push('haproxy.service');
  return out;
}

/**
 * Files to write before packages are installed, because installing would otherwise do harm:
 * postgresql-<ver> creating a `main` cluster, etcd starting a single-node cluster of its own
 * (with the drop-in in place it fails for want of its config file instead). All are root-owned,
 * so they can be written before the packages create their users. None is a dpkg conffile.
 */
export function isPreInstall(file: DesiredFile): boolean {
  return (
    file.path === PG_CREATECLUSTER_DROP_IN ||
    file.path === LOCAL_REPO_SOURCE_LIST ||
    (file.path.startsWith('/etc/systemd/system/') && file.owner === 'root')
  );
}

export interface DesiredDirectory {
  path: string;
  owner: string;
  group: string;
  mode: number;
}

/** Directories holding private keys: readable only by the service that uses them. */
const PRIVATE_DIRS: Readonly<Record<string, Omit<DesiredDirectory, 'path'>>> = {
  [PATRONI_SSL_DIR]: { owner: 'postgres', group: 'postgres', mode: 0o750 },
  [ETCD_SSL_DIR]: { owner: 'etcd', group: 'etcd', mode: 0o750 },
  [HAPROXY_SSL_DIR]: { owner: 'root', group: 'haproxy', mode: 0o750 },
};

/**
 * The directories `files` are written to (create with parents; parents get the usual root:root
 * 0755), shallowest first. Key directories are private to their service; the rest root:root 0755.
 */
export function directoriesFor(files: DesiredFile[]): DesiredDirectory[] {
  const dirs = new Set(files.map((f) => dirname(f.path)));
  return [...dirs]
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))
    .map((path) => ({ path, ...(PRIVATE_DIRS[path] ?? { owner: 'root', group: 'root', mode: 0o755 }) }));
}
