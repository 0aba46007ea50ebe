/**
 * Reading an apt `Packages` index (the local repository's, or a mirror's as apt keeps it under
 * /var/lib/apt/lists), pure: which versions it holds, and which one apt installs.
 */
import { basename } from 'node:path';
import { compareDebianVersions } from '../../model/debian-version.js';

export interface IndexEntry {
  name: string;
  version: string;
  file: string;
}

/** Stanzas of a `Packages` file, every version of a package side by side. */
export function parsePackagesIndex(text: string): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (k: string) => new RegExp(`^${k}: *(.+)$`, 'm').exec(stanza)?.[1]?.trim();
    const name = field('Package');
    const version = field('Version');
    const file = field('Filename');
    if (name && version) out.push({ name, version, file: basename(file ?? '') });
  }
  return out;
}

/**
 * The version of each named package apt installs from these entries when nothing pins one: the
 * highest by Debian's ordering (the suites of one release, and the local repository, have one
 * priority, so apt takes the newest). A package the entries lack is left out.
 */
export function newestVersions(entries: readonly IndexEntry[], names: readonly string[]): Record<string, string> {
  const wanted = new Set(names);
  const out: Record<string, string> = {};
  for (const e of entries) {
    if (!wanted.has(e.name)) continue;
    const seen = out[e.name];
    if (seen === undefined || compareDebianVersions(e.version, seen) > 0) out[e.name] = e.version;
  }
  return out;
}
