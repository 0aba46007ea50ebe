/**
 * Resolve every host's variables through the layers of docs/architecture.md#variables-and-layers, recording which layer set
 * each leaf. Pure: plain config in, plain data out.
 */
import { ARCHITECTURE_DEFAULTS, BUILTIN_DEFAULTS, derivedDefaults } from './defaults.js';
import { deepMerge, recordProvenance } from './merge.js';
import type { ClusterConfig, InstanceConfig, Layer, Provenance, ResolvedCluster, ResolvedHost, Vars } from './types.js';

export function layersFor(config: ClusterConfig, instanceVars: Vars | undefined, extraVars: Vars): [Layer, Vars][] {
  return [
    ['builtin', BUILTIN_DEFAULTS],
    ['architecture', ARCHITECTURE_DEFAULTS[config.architecture] ?? {}],
    ['cluster_vars', config.cluster_vars ?? {}],
    ['instance_defaults', config.instance_defaults?.vars ?? {}],
    ['instance', instanceVars ?? {}],
    ['-e', extraVars],
  ];
}

/** Merge the layers variable by variable. A top-level null unsets the variable. */
export function mergeLayers(layers: [Layer, Vars][]): { vars: Vars; provenance: Provenance } {
  let vars: Vars = {};
  const provenance: Provenance = new Map();
  for (const [layer, layerVars] of layers) {
    vars = deepMerge(vars, layerVars) as Vars;
    for (const [k, v] of Object.entries(layerVars)) recordProvenance(provenance, [k], v, layer);
  }
  for (const [k, v] of Object.entries(vars)) {
    if (v === null) delete vars[k];
  }
  return { vars, provenance };
}

/** An instance's own variables: its `vars`, plus the TPA instance keys that act as variables (`backup`). */
export function instanceLayer(inst: InstanceConfig): Vars | undefined {
  if (inst.backup === undefined) return inst.vars;
  return { ...inst.vars, backup: inst.backup };
}

export function resolveCluster(config: ClusterConfig, extraVars: Vars = {}): ResolvedCluster {
  const hosts: ResolvedHost[] = config.instances.map((inst) => {
    const { vars, provenance } = mergeLayers(layersFor(config, instanceLayer(inst), extraVars));
    for (const [k, v] of Object.entries(derivedDefaults(vars, config.cluster_name))) {
      if (!(k in vars)) {
        vars[k] = v;
        provenance.set(k, 'builtin');
      }
    }
    return {
      name: inst.Name,
      node: inst.node,
      location: inst.location,
      roles: [...inst.role],
      ip: inst.ip_address,
      ...(inst.upstream === undefined ? {} : { upstream: inst.upstream }),
      vars,
      provenance,
    };
  });
  return {
    name: config.cluster_name,
    platform: config.instance_defaults.platform,
    architecture: config.architecture,
    hosts,
  };
}
