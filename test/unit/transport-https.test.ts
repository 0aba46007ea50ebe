import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import type { ClusterMaterial } from '../../src/app/cluster-dir.js';
import { clusterPaths } from '../../src/app/cluster-paths.js';
import { ClusterSession } from '../../src/app/session.js';
import { issueCa, issueClientCert, issueNodeCert } from '../../src/pki/certs.js';
import { loadExample } from '../golden/inputs.js';
import { NodeHttpRequester, secureContextOf } from '../../src/transport/https.js';

describe('secureContextOf', () => {
  const now = new Date();
  const ca = issueCa({ clusterName: 'ctx', now });
  const node = issueNodeCert({ ca, host: { name: 'pg1', ip: '10.0.0.1' }, now });

  it('shares one TLS context among equal certificate sets, built afresh or not', () => {
    const a = secureContextOf({ ca: ca.certPem, cert: node.certPem, key: node.keyPem });
    expect(secureContextOf({ ca: ca.certPem, cert: node.certPem, key: node.keyPem })).toBe(a);
    expect(secureContextOf({ ca: ca.certPem })).not.toBe(a);
    expect(secureContextOf({ ca: ca.certPem })).toBe(secureContextOf({ ca: ca.certPem, cert: undefined, key: undefined }));
  });
});

describe('NodeHttpRequester: server identity on direct connections', () => {
  const now = new Date();
  const ca = issueCa({ clusterName: 'ident', now });
  const other = issueCa({ clusterName: 'other', now });
  const pg1 = issueNodeCert({ ca, host: { name: 'pg1', ip: '127.0.0.1' }, now });
  const foreign = issueNodeCert({ ca: other, host: { name: 'pg1', ip: '127.0.0.1' }, now });

  /** An HTTPS server on `ip` presenting `cert`; returns its port and a closer. */
  async function serve(ip: string, cert: { keyPem: string; certPem: string }): Promise<{ port: number; close: () => Promise<void> }> {
    const s = createServer({ key: cert.keyPem, cert: cert.certPem }, (_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((r) => s.listen(0, ip, () => r()));
    return { port: (s.address() as AddressInfo).port, close: () => new Promise<void>((r) => s.close(() => r())) };
  }
  const get = (ip: string, port: number) =>
    new NodeHttpRequester({ ip, port, servername: 'pg1' }, { ca: ca.certPem }).request({ method: 'GET', path: '/', timeoutMs: 5000 });

  it('accepts the certificate that carries the dialled address', async () => {
    const srv = await serve('127.0.0.1', pg1);
    try {
      expect((await get('127.0.0.1', srv.port)).body).toEqual({ ok: true });
    } finally {
      await srv.close();
    }
  });

  it("refuses another host's certificate, even one naming the expected host", async () => {
    // pg1's certificate (name pg1, IP 127.0.0.1) answering on 127.0.0.2: the address is checked.
    const srv = await serve('127.0.0.2', pg1);
    try {
      await expect(get('127.0.0.2', srv.port)).rejects.toThrow(/IP: 127\.0\.0\.2 is not in the cert's list/);
    } finally {
      await srv.close();
    }
  });

  it('refuses a certificate from another CA', async () => {
    const srv = await serve('127.0.0.1', foreign);
    try {
      await expect(get('127.0.0.1', srv.port)).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
    } finally {
      await srv.close();
    }
  });
});

describe('NodeHttpRequester: kept connections', () => {
  const now = new Date();
  const ca = issueCa({ clusterName: 'keep', now });
  const etcd1 = issueNodeCert({ ca, host: { name: 'etcd1', ip: '127.0.0.1' }, now });

  async function countingServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
    let connections = 0;
    const s = createServer({ key: etcd1.keyPem, cert: etcd1.certPem }, (req, res) => res.end(JSON.stringify({ path: req.url })));
    s.on('secureConnection', () => connections++);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return {
      port: (s.address() as AddressInfo).port,
      connections: () => connections,
      close: () => new Promise<void>((r) => s.close(() => r())),
    };
  }

  it('with keepAlive, concurrent requests share one TLS connection until close()', async () => {
    const srv = await countingServer();
    const http = new NodeHttpRequester(
      { ip: '127.0.0.1', port: srv.port, servername: 'etcd1' },
      { ca: ca.certPem },
      undefined,
      'https',
      true,
    );
    try {
      const [a, b] = await Promise.all([
        http.request({ method: 'GET', path: '/health', timeoutMs: 5000 }),
        http.request({ method: 'POST', path: '/v3/maintenance/status', body: {}, timeoutMs: 5000 }),
      ]);
      expect([a.body, b.body]).toEqual([{ path: '/health' }, { path: '/v3/maintenance/status' }]);
      expect(srv.connections()).toBe(1);
    } finally {
      await http.close();
      // close() let the connection go: the server can shut down (it waits for open ones).
      await srv.close();
    }
  });

  it('without keepAlive, each request has its own connection', async () => {
    const srv = await countingServer();
    const http = new NodeHttpRequester({ ip: '127.0.0.1', port: srv.port, servername: 'etcd1' }, { ca: ca.certPem });
    try {
      await Promise.all([
        http.request({ method: 'GET', path: '/a', timeoutMs: 5000 }),
        http.request({ method: 'GET', path: '/b', timeoutMs: 5000 }),
      ]);
      expect(srv.connections()).toBe(2);
    } finally {
      await srv.close();
    }
  });
});

describe("pgha's etcd client", () => {
  const now = new Date();
  const ca = issueCa({ clusterName: 'etcdc', now });
  const server = issueNodeCert({ ca, host: { name: 'pg1', ip: '127.0.0.1' }, now });
  const pgha = issueClientCert({ ca, commonName: 'pgha', now });

  it("presents pgha's client certificate, which etcd without RBAC (client-cert-auth) demands: membership reads work there too", async () => {
    // What etcd's client port is with etcd_authentication_mode: none: a client certificate of the cluster CA or no TLS session.
    const s = createServer(
      { key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(JSON.stringify({ members: [{ name: 'pg1' }], client: peer.subject.CN }));
      },
    );
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    try {
      const example = loadExample('m1-haproxy-nspawn', { etcd_client_port: port, etcd_authentication_mode: 'none' });
      const cluster = { ...example, hosts: example.hosts.map((h) => (h.name === 'pg1' ? { ...h, ip: '127.0.0.1' } : h)) };
      const material = {
        secrets: { get: () => '', names: () => [] } as unknown as ClusterMaterial['secrets'],
        pki: { caCert: ca.certPem, nodes: {}, clients: { pgha: { cert: pgha.certPem, key: pgha.keyPem } } },
        sshPublicKey: '',
      };
      const session = new ClusterSession(cluster, clusterPaths('/nonexistent/etcdc'), material);
      try {
        const r = await session.etcdHttp('pg1').request({ method: 'POST', path: '/v3/cluster/member/list', body: {}, timeoutMs: 5000 });
        expect(r.body).toEqual({ members: [{ name: 'pg1' }], client: 'pgha' });
      } finally {
        await session.close();
      }
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});
