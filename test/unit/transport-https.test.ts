import { describe, expect, it } from 'vitest';
import { issueCa, issueNodeCert } from '../../src/pki/certs.js';
import { secureContextOf } from '../../src/transport/https.js';

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
