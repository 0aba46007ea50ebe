/**
 * Whether a host runs the Debian release its `os_version` names, judged from the facts one SSH
 * exec already read (os-release's ID and VERSION_CODENAME). A host of another release would get
 * packages resolved for the wrong one, so deploy refuses it before changing anything. Pure.
 */
import { releaseByCodename, releaseName, releaseOf } from '../model/releases.js';
import type { Vars } from '../model/types.js';

export interface OsSeen {
  id: string;
  codename: string;
}

/** What os-release says, in words: `Debian 12 (bookworm)`, `ubuntu noble`, `an OS without /etc/os-release`. */
export function describeOs(os: OsSeen): string {
  const known = os.id === 'debian' ? releaseByCodename(os.codename) : undefined;
  if (known) return releaseName(known);
  if (!os.id && !os.codename) return 'an OS without ID or VERSION_CODENAME in /etc/os-release';
  return [os.id === 'debian' ? 'Debian' : os.id || 'an unknown OS', os.codename || '(no VERSION_CODENAME)'].join(' ');
}

/** Why `host` cannot be deployed as configured, or undefined when its release is the one expected. */
export function osReleaseProblem(host: { name: string; vars: Vars }, os: OsSeen): string | undefined {
  const want = releaseOf(host.vars);
  if (os.id === 'debian' && os.codename === want.codename) return undefined;
  return `${host.name}: found ${describeOs(os)}, expected ${releaseName(want)} (os_version ${want.version})`;
}
