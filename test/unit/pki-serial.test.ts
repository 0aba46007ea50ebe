import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { certificateSerial, sameSerial } from '../../src/pki/serial.js';
import { issueCa, issueNodeCert } from '../../src/pki/index.js';
import { NodeHttpRequester } from '../../src/transport/https.js';

describe('certificate serials', () => {
  it('the serial a TLS server presents is the one read from its PEM, so deploy can tell a reloaded Patroni from one still serving the old certificate', async () => {
    const now = new Date();
    const ca = issueCa({ clusterName: 'serialtest', now });
    const host = { name: 'pg1', ip: '127.0.0.1' };
    const node = issueNodeCert({ ca, host, now });
    const other = issueNodeCert({ ca, host, now, keyPem: node.keyPem });
    const server = createServer({ cert: node.certPem, key: node.keyPem }, (_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const http = new NodeHttpRequester({ ip: '127.0.0.1', port, servername: 'pg1' }, { ca: ca.certPem });
      const res = await http.request({ method: 'GET', path: '/liveness' });
      expect(res.status).toBe(200);
      expect(res.peerCertificateSerial).toBeDefined();
      expect(sameSerial(res.peerCertificateSerial, certificateSerial(node.certPem))).toBe(true);
      expect(sameSerial(res.peerCertificateSerial, certificateSerial(other.certPem))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('compares regardless of case and leading zeros; an absent serial (plain HTTP) never matches', () => {
    expect(sameSerial('0a1B', 'A1b')).toBe(true);
    expect(sameSerial(undefined, 'A1')).toBe(false);
  });
});
