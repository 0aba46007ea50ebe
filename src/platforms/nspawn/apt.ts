/**
 * apt's texts on the nspawn platform: Debian mirror lists, version pins, what `apt-get install
 * -s` says it would install, and the index files of the flat local repository. Pure.
 */

export interface DebianMirrors {
  /** Serves `<suite>` and `<suite>-updates`. */
  main: string;
  /** Serves `<suite>-security`, when the machine has one. */
  security: string | undefined;
}

export function mirrorSourcesList(mirrors: DebianMirrors, suite: string): string {
  return [
    `deb ${mirrors.main} ${suite} main`,
    `deb ${mirrors.main} ${suite}-updates main`,
    ...(mirrors.security ? [`deb ${mirrors.security} ${suite}-security main`] : []),
    '',
  ].join('\n');
}

/**
 * The Debian mirrors this machine's apt already uses (one-line `deb` lists and deb822
 * `.sources` alike), so the image and the repository come from where the operator's own
 * packages come from, and pgha names no mirror of its own. A mirror serves every release, so
 * when no list names `suite` itself, the one naming another Debian release (`releases`, e.g.
 * this machine's own bookworm) serves it too, and likewise for the security mirror.
 */
export function mirrorsFromAptSources(
  texts: readonly string[],
  suite: string,
  releases: readonly string[] = [suite],
): DebianMirrors | undefined {
  const entries: { uri: string; suites: string[] }[] = [];
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (m) entries.push({ uri: m[1]!, suites: [m[2]!] });
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (!field('Types').includes('deb')) continue;
      for (const uri of field('URIs')) entries.push({ uri, suites: field('Suites') });
    }
  }
  const web = entries.filter((e) => /^https?:/.test(e.uri));
  const serving = (names: string[]) => names.map((n) => web.find((e) => e.suites.includes(n))?.uri).find((u) => u !== undefined);
  const others = releases.filter((r) => r !== suite);
  const main = serving([suite, ...others]);
  if (!main) return undefined;
  const security = serving([`${suite}-security`, ...others.map((r) => `${r}-security`)]);
  return { main: main.replace(/\/$/, ''), security: security?.replace(/\/$/, '') };
}

/** apt preferences pinning each package to a version (priority 1001 allows downgrades). */
export function aptPinText(pins: Record<string, string>): string {
  return Object.keys(pins)
    .sort()
    .map((pkg) => `Package: ${pkg}\nPin: version ${pins[pkg] ?? ''}\nPin-Priority: 1001\n`)
    .join('\n');
}

/** Package arguments for apt-get install: `pkg=version` when pinned. */
export function aptInstallArgs(packages: string[], pins: Record<string, string>): string[] {
  return packages.map((p) => (pins[p] ? `${p}=${pins[p]}` : p));
}

export const APT_NO_RECOMMENDS = 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n';

export interface AptPackage {
  name: string;
  version: string;
  arch: string;
}

/**
 * Packages apt would install, from `apt-get install -s` output:
 * `Inst libpq5 (15.14-0+deb12u1 Debian:12.12/stable [amd64])` or, for an upgrade,
 * `Inst libssl3 [3.0.11-1~deb12u2] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])`.
 */
export function parseAptSimulation(output: string): AptPackage[] {
  const out: AptPackage[] = [];
  for (const line of output.split('\n')) {
    const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]\s]+)\]\)/.exec(line.trim());
    if (m && m[1] && m[2] && m[3]) out.push({ name: m[1], version: m[2], arch: m[3] });
  }
  return out;
}

/** File name apt gives a downloaded package in /var/cache/apt/archives (epoch `:` as `%3a`). */
export function debFileName(p: AptPackage): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

/** A minimal Release file for a flat repository, so apt doesn't warn about a missing one. */
export function releaseFileText(files: { name: string; size: number; sha256: string }[], date: Date): string {
  return [
    'Origin: pgha',
    'Label: pgha local repository',
    `Date: ${date.toUTCString()}`,
    'SHA256:',
    ...files.map((f) => ` ${f.sha256} ${f.size} ${f.name}`),
    '',
  ].join('\n');
}
