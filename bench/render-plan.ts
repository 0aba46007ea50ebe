/**
 * render_plan_500_hosts_ms: a synthetic 500-host config.yml through the real load → validate →
 * resolve → render → plan functions (the ones `pgha deploy` calls), planned against empty facts
 * (nothing installed, no file present, which is the largest plan), with no network.
 *
 * Not timed: certificates. Issuing 500 RSA keys happens once per cluster (`configure`), and
 * rendering only copies PEMs, so every host gets the same node certificate here.
 */
import { performance } from 'node:perf_hooks';
import { parseConfigText } from '../src/config/load.js';
import { validateConfig } from '../src/config/validate.js';
import { resolveCluster } from '../src/model/resolve.js';
import { DEFAULT_OS_VERSION, RELEASES, type DebianRelease } from '../src/model/releases.js';
import type { ClusterPki } from '../src/model/types.js';
import { issueCa, issueNodeCert } from '../src/pki/certs.js';
import type { HostFacts } from '../src/plan/facts.js';
import { planHost } from '../src/plan/plan.js';
import { packagesFor, renderCluster } from '../src/render/index.js';

/** 500 hosts: 496 data nodes (etcd on the first 3), 4 HAProxy hosts, addresses in 10.240.0.0/16. */
export function syntheticConfig(hosts = 500, proxies = 4, release: DebianRelease = RELEASES[DEFAULT_OS_VERSION]): string {
  const lines = [
    'architecture: M1',
    'cluster_name: bench500',
    'cluster_vars:',
    '  patroni_ssl_enabled: true',
    '  etcd_ssl_enabled: true',
    '  etcd_authentication_mode: basic',
    '  patroni_authentication_mode: basic',
    `  os_version: ${release.version}`,
    `  postgres_version: ${release.postgresDefault}`,
    '  patroni_package_flavour: community',
    'locations:',
    '  - Name: main',
    'instance_defaults:',
    '  platform: bare',
    '  vars: {}',
    'instances:',
  ];
  const data = hosts - proxies;
  for (let i = 1; i <= hosts; i++) {
    const proxy = i > data;
    const name = proxy ? `proxy${i - data}` : `pg${i}`;
    const roles = proxy ? ['haproxy'] : [i === 1 ? 'primary' : 'replica', ...(i <= 3 ? ['etcd'] : [])];
    lines.push(
      `  - Name: ${name}`,
      `    node: ${i}`,
      '    location: main',
      '    role:',
      ...roles.map((r) => `      - ${r}`),
      `    ip_address: 10.240.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function emptyFacts(paths: string[], packages: string[]): HostFacts {
  return {
    hostname: 'host',
    os: { id: 'debian', codename: 'bookworm' },
    files: Object.fromEntries(paths.map((p) => [p, { path: p, state: 'missing' as const }])),
    packages: Object.fromEntries(packages.map((n) => [n, { name: n, installed: false, version: undefined, status: undefined }])),
    services: {},
  };
}

export interface RenderPlanFigures {
  medianMs: number;
  samplesMs: number[];
  hosts: number;
  files: number;
  actions: number;
}

export function measureRenderPlan(runs = 5, hosts = 500, release?: DebianRelease): RenderPlanFigures {
  const text = syntheticConfig(hosts, 4, release);
  const ca = issueCa({ clusterName: 'bench500', now: new Date() });
  const node = issueNodeCert({ ca, host: { name: 'pg1', ip: '10.240.0.2' }, now: new Date() });
  const samplesMs: number[] = [];
  let files = 0;
  let actions = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const doc = parseConfigText(text, 'config.yml');
    const { config } = validateConfig(doc);
    const cluster = resolveCluster(config);
    const pki: ClusterPki = {
      caCert: ca.certPem,
      nodes: Object.fromEntries(cluster.hosts.map((h) => [h.name, { cert: node.certPem, key: node.keyPem }])),
      clients: {},
    };
    const rendered = renderCluster(
      cluster,
      { secret: (n) => `secret-of-${n}`, pki, exporterBundle: () => '// stand-in for the exporter build\n' },
      { leader: 'pg1' },
    );
    files = 0;
    actions = 0;
    for (const h of cluster.hosts) {
      const f = rendered.get(h.name) ?? [];
      const pkgs = packagesFor(cluster, h);
      const plan = planHost(
        { files: f, packages: pkgs.map((p) => ({ name: p.name, ...(p.version ? { version: p.version } : {}) })) },
        emptyFacts(
          f.map((x) => x.path),
          pkgs.map((p) => p.name),
        ),
        { host: h.name },
      );
      files += f.length;
      actions += plan.actions.length;
    }
    samplesMs.push(performance.now() - t0);
  }
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return { medianMs: Math.round(sorted[Math.floor(sorted.length / 2)]!), samplesMs: samplesMs.map(Math.round), hosts, files, actions };
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(measureRenderPlan(Number(process.env.RUNS ?? 5))));
}
