/** nspawn platform: local containers as cluster hosts, and the local package repository. */
export { ensureImage, MASKED_UNITS, type ImageInfo } from './image.js';
export {
  provisionNspawn,
  deprovisionNspawn,
  type NspawnClusterSpec,
  type NspawnOptions,
  type HostTiming,
  type ProvisionResult,
  type HostStop,
  type DeprovisionResult,
} from './provision.js';
export { buildLocalRepo, type LocalRepoSpec, type LocalRepoResult } from './repo.js';
export { bridgeName, machineName, type HostAddr } from './helpers.js';
export { cacheDir, imageDir, debCacheDir, stateDir, hostPaths, clusterStateDir } from './paths.js';
export type { Log } from './sys.js';
