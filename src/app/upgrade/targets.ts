/** The versions `pgha upgrade` installs: every host's pin per package of a component, from config.yml and -e. */
import { UsageError } from '../../errors.js';
import type { LoadedCluster } from '../cluster-dir.js';
import { componentPackages, versionVariable, type Component } from './plan.js';

/** Every host's target per package of a component; a missing pin is a usage error. */
export function upgradeTargets(loaded: LoadedCluster, c: Component): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const unpinned: string[] = [];
  for (const h of loaded.cluster.hosts) {
    const pkgs = componentPackages(c, loaded.cluster, h);
    if (!pkgs.length) continue;
    const t: Record<string, string> = {};
    for (const p of pkgs) {
      if (p.version === undefined) unpinned.push(`${h.name}: ${p.name}`);
      else t[p.name] = p.version;
    }
    out.set(h.name, t);
  }
  if (unpinned.length) {
    throw new UsageError(`upgrade ${c}: no target version for ${unpinned.join(', ')}`, {
      hint: `give one with -e ${versionVariable(c)}=VERSION (or set it in config.yml cluster_vars)`,
    });
  }
  return out;
}

/** Every package version any host is to get, for the platform to make available first. */
export function wantedVersions(targets: ReadonlyMap<Component, ReadonlyMap<string, Record<string, string>>>): Record<string, string> {
  const wanted: Record<string, string> = {};
  for (const perHost of targets.values()) for (const t of perHost.values()) Object.assign(wanted, t);
  return wanted;
}

/** `etcd_package_version: 3.4.23-5, …`: what config.yml should pin so a later deploy keeps these versions. */
export function pinsText(targets: ReadonlyMap<Component, ReadonlyMap<string, Record<string, string>>>): string {
  return [...targets].map(([c, perHost]) => `${versionVariable(c)}: ${Object.values([...perHost.values()][0] ?? {})[0] ?? '?'}`).join(', ');
}
