/** Certificate serial numbers, compared the way a TLS peer reports them. */
import { X509Certificate } from 'node:crypto';

/** The serial number of a PEM certificate, upper-case hex as node's TLS sockets report it. */
export function certificateSerial(pem: string): string {
  return new X509Certificate(pem).serialNumber;
}

/** Equal serials, whatever the case or leading zeros of either spelling. */
export function sameSerial(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const norm = (s: string) => s.toUpperCase().replace(/^0+/, '');
  return norm(a) === norm(b);
}
