/**
 * pgha's exporter as a service on the monitoring host (src/components/monitoring/pgha-exporter.ts):
 * what deploy writes there is what the exporter's --cluster-file reads back, the unit runs the
 * single-file build with Debian's node as `prometheus` on the loopback, and any of its files
 * changing restarts it. The whole page is tested in test/unit/exporter-cluster-file.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseClusterFile } from '../../src/app/exporter/cluster-file.js';
import { exporterHealthDetail } from '../../src/components/monitoring/health.js';
import { prometheus } from '../../src/components/monitoring/index.js';
import {
  PGHA_EXPORTER_BUNDLE,
  PGHA_EXPORTER_CLUSTER_FILE,
  PGHA_EXPORTER_UNIT,
  PGHA_EXPORTER_UNIT_FILE,
  exporterClusterFile,
} from '../../src/components/monitoring/pgha-exporter.js';
import { packagesFor, renderCluster } from '../../src/render/index.js';
import { fakeExporterBundle, fakeInputs, loadExample } from '../golden/inputs.js';

const watched = loadExample('m1-monitoring-debian13');
const monitor = watched.hosts.find((h) => h.name === 'monitor1')!;
const files = renderCluster(watched, fakeInputs(watched)).get('monitor1')!;
const file = (path: string) => files.find((f) => f.path === path)!;

describe('pgha exporter on the monitoring host', () => {
  it('installs nodejs and the built file, and runs it as a unit after Prometheus', () => {
    expect(packagesFor(watched, monitor).map((p) => p.name)).toContain('nodejs');
    expect(file(PGHA_EXPORTER_BUNDLE)).toMatchObject({ content: fakeExporterBundle(), owner: 'root', mode: 0o644 });
    expect(prometheus.units(watched, monitor)).toEqual(['prometheus-alertmanager.service', 'prometheus.service', PGHA_EXPORTER_UNIT]);
  });

  it('writes a cluster file the exporter reads back: every member by address, TLS paths, no secret', () => {
    const f = file(PGHA_EXPORTER_CLUSTER_FILE);
    const parsed = parseClusterFile(f.path, f.content);
    expect(parsed.scope).toBe('watched');
    expect(parsed.patroni.map((e) => `${e.name} ${e.url.href}`)).toEqual([
      'pg1 https://10.10.15.11:8008/',
      'pg2 https://10.10.15.12:8008/',
      'pg3 https://10.10.15.13:8008/',
    ]);
    expect(parsed.etcd.map((e) => e.url.host)).toEqual(['10.10.15.11:2379', '10.10.15.12:2379', '10.10.15.13:2379']);
    expect(parsed.haproxy.map((e) => `${e.name} ${e.url.href}`)).toEqual(['proxy1 https://10.10.15.21:8404/stats;csv']);
    expect(parsed.tls).toEqual({
      ca: '/etc/pgha-exporter/ssl/ca.crt',
      cert: '/etc/pgha-exporter/ssl/node.crt',
      key: '/etc/pgha-exporter/ssl/node.key',
    });
    expect(f.content).not.toMatch(/secret-of-|PRIVATE KEY/);
    expect(file('/etc/pgha-exporter/ssl/node.key')).toMatchObject({ owner: 'prometheus', mode: 0o600, sensitive: true });
  });

  it('plain http where the REST API and etcd speak it, and no HAProxy without its TLS stats listener', () => {
    const plain = loadExample('m1-monitoring-debian13', { patroni_ssl_enabled: false, etcd_ssl_enabled: false });
    const doc = exporterClusterFile(plain) as { patroni: { url: string }[]; etcd: { url: string }[]; haproxy: unknown[] };
    expect(doc.patroni[0]!.url).toBe('http://10.10.15.11:8008');
    expect(doc.etcd[0]!.url).toBe('http://10.10.15.11:2379');
    expect(doc.haproxy).toEqual([]);
  });

  it('the unit: Debian node, prometheus user, loopback, pgha_exporter_port', () => {
    const unit = file(PGHA_EXPORTER_UNIT_FILE).content;
    expect(unit).toContain(
      'ExecStart=/usr/bin/node /usr/local/lib/pgha/pgha-exporter.mjs --cluster-file /etc/pgha-exporter/cluster.json --bind 127.0.0.1 --port 9547',
    );
    expect(unit).toMatch(/^User=prometheus$/m);
    expect(unit).toMatch(/^InaccessiblePaths=-\/var\/lib\/prometheus /m);
    const moved = loadExample('m1-monitoring-debian13', { pgha_exporter_port: 9999 });
    const movedUnit = renderCluster(moved, fakeInputs(moved))
      .get('monitor1')!
      .find((f) => f.path === PGHA_EXPORTER_UNIT_FILE)!.content;
    expect(movedUnit).toContain('--port 9999');
  });

  it('restarts on its bundle, unit, cluster file or certificates; Prometheus keeps its own reactions', () => {
    for (const path of [PGHA_EXPORTER_BUNDLE, PGHA_EXPORTER_UNIT_FILE, PGHA_EXPORTER_CLUSTER_FILE, '/etc/pgha-exporter/ssl/node.key']) {
      expect(prometheus.reactions(watched, path)).toEqual([{ unit: PGHA_EXPORTER_UNIT, how: 'restart' }]);
    }
    expect(prometheus.reactions(watched, '/etc/prometheus/prometheus.yml')).toEqual([{ unit: 'prometheus.service', how: 'reload' }]);
  });

  it("declares its port for config's clash rules", () => {
    expect(prometheus.ports!(watched, monitor).map((p) => p.variable)).toContain('pgha_exporter_port');
  });

  it('health: serving on 200 and 503 (with the reason), failing when it does not answer', () => {
    const ok = exporterHealthDetail(200, JSON.stringify({ status: 'ok', members: { pg1: { role: 'master' }, pg2: { role: 'replica' } } }));
    expect(ok).toEqual({ ok: true, detail: 'serving; read pg1 master, pg2 replica' });
    expect(exporterHealthDetail(503, '{"status":"failing","reason":"pg3: refused"}')).toEqual({
      ok: true,
      detail: 'serving; last round: pg3: refused',
    });
    expect(exporterHealthDetail(undefined, '')).toEqual({ ok: false, detail: 'does not answer' });
    expect(exporterHealthDetail(200, 'html')).toMatchObject({ ok: false });
  });
});
