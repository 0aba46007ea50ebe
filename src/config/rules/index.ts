/**
 * Semantic rules of config.yml: what the JSON schema cannot say (cross-instance uniqueness,
 * role combinations, quorum) and what only shows after the layers are merged (mtls without
 * TLS, port clashes on one host, Patroni timing). Runs on a schema-valid config only.
 * Every problem is collected; none stops the others.
 *
 * The order of RULES is the order problems are reported in (the caller then sorts by line, so
 * it only decides between problems on one line, and among `-e` problems, which have none).
 */
import type { ClusterConfig, Vars } from '../../model/types.js';
import type { LoadedDocument } from '../load.js';
import { createContext, eachHost, eachInstance, type Rule, type SemanticResult } from './context.js';
import { declaredDatabases, declaredUsers, hbaSettings } from './declared.js';
import { etcdQuorum } from './etcd.js';
import { readOnlyWithoutReplicas, lagWithoutReadOnly, syncReadWithoutSynchronous } from './haproxy.js';
import { knownLocation, uniqueIp, uniqueLocations, uniqueName, uniqueNode, usableIp } from './instances.js';
import { pgbouncerNotScrapedOnDebian12, prometheusRulesValid } from './monitoring.js';
import { listenAddresses, ports } from './network.js';
import { patroniTiming } from './patroni-timing.js';
import { backupNamesRepository, oneBackupHost, pgbackrestOffDataNodes, unusedRepository } from './pgbackrest.js';
import { dataNodesOneRelease, postgresShippedByRelease } from './release.js';
import { haproxyOffDataNodes, haproxyOrPgbouncer, onePrimary, pgbouncerOnDataNodes, primaryAndReplica } from './roles.js';
import { haproxyConfSettings, lineSettingsControlCharacters } from './settings.js';
import { synchronousReplication } from './synchronous.js';
import { etcdBasicCleartext, mtlsNeedsTls } from './tls.js';
import { upstreamChainCanLead, upstreamNamesDataNode, upstreamNoCycle, someCandidateDirect } from './upstream.js';
import { userNames } from './users.js';
import { vipInterfaceSet, vipNeedsProxies, vipNotAHostAddress } from './vip.js';
import { clusterWideVariables, requiredVariables, unknownVariables } from './variables.js';

export type { Loc, Rule, RuleContext, SemanticResult } from './context.js';
export { didYouMean } from './suggest.js';
export { MAX_ETCD_MEMBERS } from './etcd.js';

export const RULES: readonly Rule[] = [
  unknownVariables,
  haproxyConfSettings,
  lineSettingsControlCharacters,
  uniqueLocations,
  eachInstance(
    uniqueName,
    uniqueIp,
    uniqueNode,
    knownLocation,
    usableIp,
    primaryAndReplica,
    haproxyOffDataNodes,
    pgbouncerOnDataNodes,
    pgbackrestOffDataNodes,
    upstreamNamesDataNode,
  ),
  onePrimary,
  upstreamNoCycle,
  eachInstance(upstreamChainCanLead),
  etcdQuorum,
  haproxyOrPgbouncer,
  vipNeedsProxies,
  vipNotAHostAddress,
  eachHost(vipInterfaceSet),
  clusterWideVariables,
  synchronousReplication,
  dataNodesOneRelease,
  oneBackupHost,
  eachHost(userNames, postgresShippedByRelease, backupNamesRepository, prometheusRulesValid, hbaSettings),
  declaredUsers,
  declaredDatabases,
  // Errors first, then the warnings, host by host: legal, but rarely what was meant.
  eachHost(mtlsNeedsTls, requiredVariables, listenAddresses, ports, patroniTiming, etcdBasicCleartext, lagWithoutReadOnly),
  eachHost(readOnlyWithoutReplicas, syncReadWithoutSynchronous, pgbouncerNotScrapedOnDebian12),
  someCandidateDirect,
  eachInstance(unusedRepository),
];

export function semanticProblems(config: ClusterConfig, doc: LoadedDocument, extraVars: Vars): SemanticResult {
  const ctx = createContext(config, doc, extraVars);
  for (const rule of RULES) rule(ctx);
  return ctx.result();
}
