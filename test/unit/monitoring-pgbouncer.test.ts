/**
 * pgbouncer_exporter (issue 15's PgBouncer target): where it runs (PgBouncer hosts of a monitored
 * Debian 13 cluster, never Debian 12, whose package is another exporter without TLS), what it is
 * given (its listen address, TLS with the node certificate, a connection string with no
 * password, a unit drop-in running it as `prometheus`), how PgBouncer admits it (a stats user, by
 * peer on the Unix socket alone, other users authenticating as before), Prometheus' `pgbouncer`
 * job, and the config warning on Debian 12.
 */
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../src/components/registry.js';
import { PGBOUNCER_EXPORTER, PGBOUNCER_EXPORTER_DROP_IN } from '../../src/components/monitoring/exporters.js';
import { pgbouncerExporter } from '../../src/components/monitoring/index.js';
import { prometheusDocument } from '../../src/components/monitoring/prometheus.js';
import { defaultRules } from '../../src/components/monitoring/rules.js';
import { PGBOUNCER_EXPORTER_USER } from '../../src/components/monitoring/topology.js';
import { LOCKED_SCRAM_SECRET, PGBOUNCER_HBA, pgbouncerDocument } from '../../src/components/pgbouncer/config.js';
import { PGBOUNCER_USERLIST } from '../../src/components/paths.js';
import { buildConfig } from '../../src/config/configure.js';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import type { Plain } from '../../src/model/merge.js';
import type { ClusterConfig, DesiredFile, ResolvedCluster, ResolvedHost } from '../../src/model/types.js';
import { resolveCluster } from '../../src/model/resolve.js';
import { nspawnPlatform } from '../../src/platforms/nspawn/index.js';
import { renderCluster } from '../../src/render/index.js';
import { maskByShape } from '../../src/secrets/redact.js';
import { fakeInputs } from '../golden/inputs.js';
import { configureOptions } from './configure-options.js';

function config(osVersion: 12 | 13, monitoring = true): ClusterConfig {
  return buildConfig(configureOptions({ enablePgbouncer: true, enableMonitoring: monitoring, osVersion }), nspawnPlatform.configure);
}
const cluster = (osVersion: 12 | 13, monitoring = true): ResolvedCluster => resolveCluster(config(osVersion, monitoring));
const host = (c: ResolvedCluster, name: string): ResolvedHost => c.hosts.find((h) => h.name === name)!;
const runs = (c: ResolvedCluster, name: string) =>
  c.hosts.filter((h) => COMPONENTS.find((x) => x.name === name)!.runsOn(c, h)).map((h) => h.name);

const trixie = cluster(13);
const files = renderCluster(trixie, fakeInputs(trixie)).get('pg1')!;
const file = (path: string): DesiredFile => {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`pg1 renders no ${path}`);
  return f;
};

describe('who runs pgbouncer_exporter', () => {
  it('every PgBouncer host of a monitored Debian 13 cluster', () => {
    expect(runs(trixie, 'pgbouncer')).toEqual(['pg1', 'pg2', 'pg3']);
    expect(runs(trixie, 'pgbouncer_exporter')).toEqual(['pg1', 'pg2', 'pg3']);
  });

  it('no host on Debian 12 (its package is a Python exporter without TLS), nor without a monitoring host', () => {
    expect(runs(cluster(12), 'pgbouncer')).toEqual(['pg1', 'pg2', 'pg3']);
    expect(runs(cluster(12), 'pgbouncer_exporter')).toEqual([]);
    expect(runs(cluster(13, false), 'pgbouncer_exporter')).toEqual([]);
  });

  it('installs prometheus-pgbouncer-exporter, pinned when pgbouncer_exporter_package_version says so', () => {
    expect(pgbouncerExporter.packages(host(trixie, 'pg1'))).toEqual([expect.objectContaining({ name: 'prometheus-pgbouncer-exporter' })]);
    const pinned = resolveCluster(config(13), { pgbouncer_exporter_package_version: '1:0.10.2-2' });
    expect(JSON.stringify(pgbouncerExporter.packages(host(pinned, 'pg1')))).toContain('1:0.10.2-2');
  });
});

describe("pgbouncer_exporter's files", () => {
  it('listens on the host address with TLS, reading the console over the socket with no password', () => {
    const defaults = file(PGBOUNCER_EXPORTER.defaults).content;
    const ip = host(trixie, 'pg1').ip;
    expect(defaults).toContain(`--web.listen-address=${ip}:9127`);
    expect(defaults).toContain(`--web.config.file=${PGBOUNCER_EXPORTER.webConfig}`);
    expect(defaults).toContain(
      `PGBOUNCER_EXPORTER_CONNECTION_STRING="host=/var/run/postgresql port=6432 user=${PGBOUNCER_EXPORTER_USER} dbname=pgbouncer sslmode=disable"`,
    );
    expect(defaults).not.toMatch(/password/i);
    expect(file(PGBOUNCER_EXPORTER.defaults)).toMatchObject({ owner: 'root', mode: 0o644 });
    const web = file(PGBOUNCER_EXPORTER.webConfig).content;
    expect(web).toContain('client_auth_type: RequireAndVerifyClientCert');
    expect(web).toContain(`cert_file: ${PGBOUNCER_EXPORTER.sslDir}/node.crt`);
    expect(file(`${PGBOUNCER_EXPORTER.sslDir}/node.key`)).toMatchObject({ owner: 'prometheus', mode: 0o600 });
  });

  it('moves pgbouncer_exporter_port', () => {
    const moved = resolveCluster(config(13), { pgbouncer_exporter_port: 9999 });
    const f = renderCluster(moved, fakeInputs(moved))
      .get('pg2')!
      .find((x) => x.path === PGBOUNCER_EXPORTER.defaults)!;
    expect(f.content).toContain(`--web.listen-address=${host(moved, 'pg2').ip}:9999`);
  });

  it("runs as prometheus, not Debian's postgres (whom PgBouncer admits on its socket as admin)", () => {
    expect(file(PGBOUNCER_EXPORTER_DROP_IN).content).toMatch(/^User=prometheus$/m);
    expect(file(PGBOUNCER_EXPORTER_DROP_IN).content).toMatch(/^Group=prometheus$/m);
  });

  it('restarts the exporter when its command line, unit drop-in, web config or certificates change', () => {
    for (const path of [
      PGBOUNCER_EXPORTER.defaults,
      PGBOUNCER_EXPORTER_DROP_IN,
      PGBOUNCER_EXPORTER.webConfig,
      `${PGBOUNCER_EXPORTER.sslDir}/node.crt`,
    ]) {
      expect(pgbouncerExporter.reactions(trixie, path)).toEqual([{ unit: PGBOUNCER_EXPORTER.unit, how: 'restart' }]);
    }
    expect(pgbouncerExporter.reactions(trixie, '/etc/pgbouncer/pgbouncer.ini')).toEqual([]);
  });
});

describe("PgBouncer admits the exporter's stats user", () => {
  const ini = (c: ResolvedCluster) => pgbouncerDocument(c, host(c, 'pg1')).pgbouncer as Plain;

  it('as a stats user only, through the HBA file', () => {
    expect(ini(trixie)).toMatchObject({
      auth_type: 'hba',
      auth_hba_file: PGBOUNCER_HBA,
      admin_users: 'postgres',
      stats_users: ['postgres', PGBOUNCER_EXPORTER_USER],
      auth_query: expect.any(String),
    });
    const rendered = file('/etc/pgbouncer/pgbouncer.ini').content;
    expect(rendered).toMatch(/^stats_users = postgres,prometheus$/m);
    expect(rendered).toMatch(/^admin_users = postgres$/m);
    expect(file(PGBOUNCER_HBA)).toMatchObject({ owner: 'root', group: 'postgres', mode: 0o640 });
  });

  it('by peer to the console over the socket, rejected anywhere else; everyone else by SCRAM as before', () => {
    const lines = file(PGBOUNCER_HBA)
      .content.split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(lines).toEqual([
      'local pgbouncer prometheus peer',
      'local all prometheus reject',
      'host all prometheus 0.0.0.0/0 reject',
      'host all prometheus ::/0 reject',
      'local all all scram-sha-256',
      'host all all 0.0.0.0/0 scram-sha-256',
      'host all all ::/0 scram-sha-256',
    ]);
  });

  it('is in userlist.txt with a secret no password matches, masked like the auth user', () => {
    const userlist = file(PGBOUNCER_USERLIST);
    expect(userlist.content).toContain(`"prometheus" "${LOCKED_SCRAM_SECRET}"`);
    expect(LOCKED_SCRAM_SECRET).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    const shown = maskByShape(userlist.content, userlist.masks);
    expect(shown).not.toContain(LOCKED_SCRAM_SECRET);
    expect(shown).not.toContain('secret-of-');
    expect(shown).toContain('"prometheus" "********"');
  });

  it('changes nothing on Debian 12 or without a monitoring host', () => {
    for (const c of [cluster(12), cluster(13, false)]) {
      expect(ini(c)).toMatchObject({ auth_type: 'scram-sha-256', stats_users: 'postgres' });
      expect(ini(c).auth_hba_file).toBeUndefined();
      const pg1 = renderCluster(c, fakeInputs(c)).get('pg1')!;
      expect(pg1.map((f) => f.path)).not.toContain(PGBOUNCER_HBA);
      expect(pg1.find((f) => f.path === PGBOUNCER_USERLIST)!.content).not.toContain('prometheus');
    }
  });

  it('needs no new secret', () => {
    expect('secretNames' in pgbouncerExporter).toBe(false);
  });
});

describe("Prometheus' pgbouncer job", () => {
  const jobs = (c: ResolvedCluster) => prometheusDocument(c, host(c, 'monitor1')).scrape_configs as Plain[];

  it('scrapes every PgBouncer host over TLS with the cluster CA, labelled with its host', () => {
    const job = jobs(trixie).find((j) => j.job_name === 'pgbouncer');
    expect(job).toMatchObject({
      scheme: 'https',
      tls_config: {
        ca_file: '/etc/prometheus/ssl/ca.crt',
        cert_file: '/etc/prometheus/ssl/node.crt',
        key_file: '/etc/prometheus/ssl/node.key',
      },
    });
    expect((job!.static_configs as Plain[]).map((s) => [(s.labels as Plain).host, (s.targets as string[])[0]])).toEqual(
      ['pg1', 'pg2', 'pg3'].map((n) => [n, `${host(trixie, n).ip}:9127`]),
    );
  });

  it('has no pgbouncer job on Debian 12', () => {
    const c = cluster(12);
    expect(jobs(c).map((j) => j.job_name)).not.toContain('pgbouncer');
  });

  it('alerts PgBouncerDown when the exporter or PgBouncer behind it does not answer for 2m', () => {
    expect(defaultRules(trixie).PgBouncerDown).toMatchObject({
      expr: 'up{job="pgbouncer"} == 0 or pgbouncer_up == 0',
      for: '2m',
      labels: { severity: 'warning' },
    });
  });
});

describe('config warning', () => {
  const warnings = (cfg: ClusterConfig) => validateConfig(parseConfigText(stringify(cfg), 'config.yml')).warnings.map((w) => w.message);

  it('says on Debian 12 that PgBouncer is not scraped, and why', () => {
    const w = warnings(config(12));
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/PgBouncer on pg1, pg2(,| and) pg3 is not scraped/);
    expect(w[0]).toContain('without TLS');
  });

  it('says nothing on Debian 13, nor on Debian 12 without a monitoring host', () => {
    expect(warnings(config(13))).toEqual([]);
    expect(warnings(config(12, false))).toEqual([]);
  });
});
