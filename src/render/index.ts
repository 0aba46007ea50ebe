/**
 * The desired state of every host (DESIGN §4 `desired()`): files, packages and services, as pure
 * functions of the resolved cluster, the secrets and the PKI.
 */
import { etcdFiles } from '../components/etcd/config.js';
import { haproxyFiles } from '../components/haproxy/config.js';
import { hasRole, isDataNode, optStr, str, type RenderOptions } from '../components/common.js';
import { PGBOUNCER_FOLLOW_UNIT } from '../components/paths.js';
import { patroniFiles, patroniUnit } from '../components/patroni/config.js';
import { pgbouncerFiles } from '../components/pgbouncer/config.js';
import type { DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../model/types.js';
import { renderTemplate } from './templates.js';

export type { RenderOptions } from '../components/common.js';

export function renderHost(
  cluster: ResolvedCluster,
  host: ResolvedHost,
  inputs: RenderInputs,
  opts: RenderOptions = {},
): DesiredFile[] {
  const files: DesiredFile[] = [];
  if (hasRole(host, 'etcd')) files.push(...etcdFiles(cluster, host, inputs));
  if (isDataNode(host)) files.push(...patroniFiles(cluster, host, inputs));
  if (hasRole(host, 'pgbouncer')) {
    files.push(...pgbouncerFiles(cluster, host, inputs, (view) => renderTemplate('pgbouncer.ini.hbs', view), opts));
  }
  if (hasRole(host, 'haproxy')) {
    files.push(...haproxyFiles(cluster, host, inputs, (view) => renderTemplate('haproxy.cfg.hbs', view)));
  }
  return files;
}

export function renderCluster(
  cluster: ResolvedCluster,
  inputs: RenderInputs,
  opts: RenderOptions = {},
): Map<string, DesiredFile[]> {
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
