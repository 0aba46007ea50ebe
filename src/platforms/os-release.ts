/**
 * A host's operating system from os-release(5), read through its transport. Shared by the
 * platforms whose hosts are Linux machines reached over a transport (all of them today).
 */
import { run, type Transport } from '../transport/types.js';
import type { OsFacts } from './platform.js';

/** /etc/os-release, or the vendor copy the standard falls back to. */
export const OS_RELEASE_SCRIPT = 'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release';

/**
 * The variables of an os-release text: `KEY=value` lines, the value bare or in single or double
 * quotes (inside double quotes `\"`, `\\`, `\$` and `` \` `` are escapes). Comments and lines
 * that are not assignments are skipped; nothing is ever evaluated.
 */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    let v: string;
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      v = value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      v = value.slice(1, -1);
    } else {
      v = value;
    }
    out[key] = v;
  }
  return out;
}

/** The facts pgha uses, from an os-release text. */
export function osFactsOf(text: string): OsFacts {
  const vars = parseOsRelease(text);
  return {
    id: vars.ID ?? '',
    versionId: vars.VERSION_ID ?? '',
    codename: vars.VERSION_CODENAME ?? '',
    prettyName: vars.PRETTY_NAME ?? '',
  };
}

/** One exec on the host. */
export async function readOsFacts(t: Transport): Promise<OsFacts> {
  const r = await run(t, { script: OS_RELEASE_SCRIPT, timeoutSec: 10 }, 'read /etc/os-release');
  return osFactsOf(r.stdout);
}
