/**
 * The platforms pgha knows, by the name config.yml gives them (`instance_defaults.platform`).
 * The one place a platform name becomes behaviour: code outside src/platforms/ calls
 * `platformFor(cluster.platform)` and the Platform interface (platform.ts), never compares names.
 * This module loads nothing heavy; each platform imports its machinery when a method runs.
 */
import { UsageError } from '../errors.js';
import { PLATFORMS, type Vars } from '../model/types.js';
import { barePlatform } from './bare/index.js';
import { nspawnPlatform } from './nspawn/index.js';
import type { HostAccess, HostAddr, HostTransport, Platform, PlatformName } from './platform.js';

export type * from './platform.js';

const REGISTRY: Readonly<Record<PlatformName, Platform>> = Object.freeze({
  nspawn: nspawnPlatform,
  bare: barePlatform,
});

/** The platform called `name`; a name pgha does not know is a usage error listing those it does. */
export function platformFor(name: string): Platform {
  const p = Object.hasOwn(REGISTRY, name) ? REGISTRY[name as PlatformName] : undefined;
  if (!p) {
    throw new UsageError(`unknown platform ${JSON.stringify(name)}: pgha knows ${PLATFORMS.join(', ')}`, {
      hint: 'set instance_defaults.platform in config.yml (or --platform) to one of them',
    });
  }
  return p;
}

/** Every registered platform, in PLATFORMS order. */
export function allPlatforms(): Platform[] {
  return PLATFORMS.map((n) => REGISTRY[n]);
}

/** How the hosts of a cluster on `platform` are reached: a connector to hand to whoever opens transports. */
export function hostConnector(platform: string, access: HostAccess): (host: HostAddr) => Promise<HostTransport> {
  const p = platformFor(platform);
  return (host) => p.connect(host, access);
}

/**
 * Whether deploy copies DIR/local-repo onto `host` and makes it apt's only source (bare hosts
 * with `use_local_repo_only`; nspawn containers have it bind-mounted). For src/app/deploy.ts and
 * the render input it prepares.
 */
export function copiesLocalRepo(cluster: { platform: string }, host: { vars: Vars }): boolean {
  return platformFor(cluster.platform).copiesLocalRepo(host);
}
