/**
 * The desired state of every host (docs/architecture.md#data-flow, "desired"): files, packages and services, as pure
 * functions of the resolved cluster, the secrets and the PKI.
 */
import type { RenderOptions } from '../components/common.js';
import type { Formation, PackageSpec, RenderContext, UnitSpec } from '../components/component.js';
import { LOCAL_REPO_REMOTE_DIR, LOCAL_REPO_SOURCE_LIST } from '../components/paths.js';
import { COMPONENTS } from '../components/registry.js';
import type { DesiredDirectory, DesiredFile, RenderInputs, ResolvedCluster, ResolvedHost } from '../model/types.js';
import { dirname } from 'node:path/posix';
import { renderTemplate } from './templates.js';

export type { RenderOptions } from '../components/common.js';

export function renderHost(cluster: ResolvedCluster, host: ResolvedHost, inputs: RenderInputs, opts: RenderOptions = {}): DesiredFile[] {
  const ctx: RenderContext = { inputs, opts, template: renderTemplate };
  const files = COMPONENTS.filter((c) => c.runsOn(cluster, host)).flatMap((c) => c.files(cluster, host, ctx));
  if (opts.copiesLocalRepo?.(host)) files.push(localRepoSourceList());
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

export type { PackageSpec } from '../components/component.js';

/** Debian packages of every component the host runs, pinned by `<component>_package_version` where set. */
export function packagesFor(cluster: ResolvedCluster, host: ResolvedHost): PackageSpec[] {
  return COMPONENTS.filter((c) => c.runsOn(cluster, host)).flatMap((c) => c.packages(host));
}

/** The systemd units pgha manages on this host, in the order they should start, with their component's formation step and reactions. */
export function unitsFor(cluster: ResolvedCluster, host: ResolvedHost): UnitSpec[] {
  return COMPONENTS.filter((c) => c.runsOn(cluster, host)).flatMap((c) =>
    c.units(cluster, host).map((unit) => ({
      unit,
      component: c.name,
      formation: c.formation,
      reactions: (path, change) => c.reactions(cluster, path, change),
    })),
  );
}

/** What deploy retires on `host` of the components it does not run (Component.retired). */
export function retiredUnitsFor(
  cluster: ResolvedCluster,
  host: ResolvedHost,
): { unit: string; formation: Formation; managedFile: string }[] {
  return COMPONENTS.filter((c) => c.retired && !c.runsOn(cluster, host)).flatMap((c) =>
    c.retired!.units.map((unit) => ({ unit, formation: c.formation, managedFile: c.retired!.managedFile })),
  );
}

/** What deploy writes at `path` on `host`, given the host's copy (each component's `settle`, where it has one). */
export function settleFile(
  cluster: ResolvedCluster,
  host: ResolvedHost,
  path: string,
  desired: string,
  onHost: string,
  unitActive: (unit: string) => boolean,
): string {
  let content = desired;
  for (const c of COMPONENTS) if (c.settle && c.runsOn(cluster, host)) content = c.settle(path, content, onHost, unitActive);
  return content;
}

/** The names of unitsFor. */
export function servicesFor(cluster: ResolvedCluster, host: ResolvedHost): string[] {
  return unitsFor(cluster, host).map((u) => u.unit);
}

/**
 * Files to write before packages are installed, because installing would otherwise do harm:
 * postgresql-<ver> creating a `main` cluster, etcd starting a single-node cluster of its own
 * (with the drop-in in place it fails for want of its config file instead). All are root-owned,
 * so they can be written before the packages create their users. None is a dpkg conffile.
 */
export function isPreInstall(file: DesiredFile): boolean {
  return (
    file.path === LOCAL_REPO_SOURCE_LIST ||
    (file.path.startsWith('/etc/systemd/system/') && file.owner === 'root') ||
    COMPONENTS.some((c) => c.isPreInstall?.(file.path))
  );
}

export type { DesiredDirectory } from '../model/types.js';

/** Directories holding private keys: readable only by the service that uses them. */
const PRIVATE_DIRS: Readonly<Record<string, Omit<DesiredDirectory, 'path'>>> = Object.fromEntries(
  COMPONENTS.flatMap((c) => Object.entries(c.privateDirs ?? {})),
);

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

/** The key directories among `files`' directories: deploy creates or corrects these first. */
export function privateDirectoriesFor(files: readonly DesiredFile[]): DesiredDirectory[] {
  const dirs = new Set(files.map((f) => dirname(f.path)));
  return [...dirs].flatMap((path) => {
    const meta = PRIVATE_DIRS[path];
    return meta ? [{ path, ...meta }] : [];
  });
}
