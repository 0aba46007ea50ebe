/**
 * The certificates' expiry as metrics, for the CertificateExpiringSoon rule: a node_exporter
 * textfile on the monitoring host, written by deploy from the cluster's PKI (the CA, every
 * host's node certificate, pgha's client certificates). Certificates change only when deploy
 * issues them, and deploy rewrites this file in the same run, so a file is as current as a
 * scraper would be; the metric is the expiry instant, so the alert counts the days itself.
 */
import { X509Certificate } from 'node:crypto';
import type { RenderInputs, ResolvedCluster } from '../../model/types.js';

export const CERT_EXPIRY_METRIC = 'pgha_certificate_expiry_timestamp_seconds';

/** The expiry instant, or undefined for text that is no certificate (the fixtures' stand-ins). */
function notAfter(pem: string): number | undefined {
  try {
    return Math.floor(new Date(new X509Certificate(pem).validTo).getTime() / 1000);
  } catch {
    return undefined;
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function certificateExpiryMetrics(cluster: ResolvedCluster, inputs: RenderInputs): string {
  const lines = [
    `# HELP ${CERT_EXPIRY_METRIC} When a certificate of the cluster's PKI expires (Unix time), as of pgha's last deploy.`,
    `# TYPE ${CERT_EXPIRY_METRIC} gauge`,
  ];
  const sample = (kind: string, name: string, pem: string) => {
    const at = notAfter(pem);
    const labels = `cluster="${escapeLabel(cluster.name)}",kind="${kind}",name="${escapeLabel(name)}"`;
    lines.push(at === undefined ? `# ${kind} ${name}: not a parsable certificate` : `${CERT_EXPIRY_METRIC}{${labels}} ${at}`);
  };
  sample('ca', 'ca', inputs.pki.caIssuer ?? inputs.pki.caCert);
  for (const h of cluster.hosts) {
    const node = inputs.pki.nodes[h.name];
    if (node) sample('node', h.name, node.cert);
  }
  for (const [name, client] of Object.entries(inputs.pki.clients).sort(([a], [b]) => a.localeCompare(b)))
    sample('client', name, client.cert);
  return `${lines.join('\n')}\n`;
}
