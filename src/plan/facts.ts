import { RuntimeError } from '../errors.js';
import { quote } from '../transport/quote.js';

/**
 * What is on a host now, gathered by ONE script per host (one SSH round trip), in a line format
 * that cannot be confused by what it reports: every free-form value is base64 ('.' stands for the
 * empty string, `=word` for a plain word of [A-Za-z0-9._-]), so names, contents and os-release
 * values with spaces or newlines are safe.
 *
 *   PGHA-FACTS 1
 *   H <hostname>
 *   O <ID> <VERSION_CODENAME>
 *   F <path> missing
 *   F <path> other <kind>                  (directory, symlink, unreadable, …)
 *   F <path> file <sha256> <owner> <group> <octal mode> <size> <content>
 *             (content: '-' when over 1 MiB, '~' when not asked for)
 *   P <name> unknown | absent | known <dpkg-query lines: "Status\tVersion">
 *   S <name> <is-active> <is-enabled>
 *   END <files> <packages> <services>
 */

/** Contents above this are not shipped back; the sha256 still decides whether to rewrite. */
export const FACTS_MAX_CONTENT = 1024 * 1024;

export type FileFact =
  | { path: string; state: 'missing' }
  | { path: string; state: 'other'; kind: string }
  | {
      path: string;
      state: 'file';
      sha256: string;
      owner: string;
      group: string;
      mode: number;
      size: number;
      /** UTF-8 decoded; undefined when omitted (see contentOmitted). */
      content: string | undefined;
      contentOmitted?: 'too-large' | 'hash-only';
    };

export interface PackageFact {
  name: string;
  installed: boolean;
  /** Installed version; for a package that is not installed, the version dpkg remembers, if any. */
  version: string | undefined;
  /** dpkg status, e.g. `install ok installed`, `deinstall ok config-files`; undefined when unknown. */
  status: string | undefined;
  /** No dpkg on the host: nothing can be said. */
  unknown?: true;
}

export interface ServiceFact {
  name: string;
  /** `systemctl is-active`: active, inactive, failed, activating, … ('unknown' without systemctl). */
  active: string;
  /** `systemctl is-enabled`: enabled, disabled, static, masked, … or 'not-found'. */
  enabled: string;
}

export interface HostFacts {
  hostname: string;
  os: { id: string; codename: string };
  files: Record<string, FileFact>;
  packages: Record<string, PackageFact>;
  services: Record<string, ServiceFact>;
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$/;
const UNIT_NAME = /^[A-Za-z0-9:_.@\\-]+$/;

/**
 * One bash script that reports the given paths, packages and services; see the format above.
 * Paths in `hashOnly` (private keys, files full of passwords) report their sha256 but not their
 * content, so secrets never cross the wire for a diff nobody may see.
 */
export function factsScript(paths: string[], packages: string[], services: string[], opts: { hashOnly?: readonly string[] } = {}): string {
  const hashOnly = new Set(opts.hashOnly ?? []);
  for (const p of paths) {
    if (!p.startsWith('/')) throw new Error(`bug: facts path ${JSON.stringify(p)} is not absolute`);
  }
  for (const n of packages) {
    if (!PACKAGE_NAME.test(n)) throw new Error(`bug: ${JSON.stringify(n)} is not a Debian package name`);
  }
  for (const s of services) {
    if (!UNIT_NAME.test(s)) throw new Error(`bug: ${JSON.stringify(s)} is not a systemd unit name`);
  }
  // The script forks as little as it can: on a container host a fork costs milliseconds, and
  // four hosts gathering at once on two cores made a no-op deploy CPU-bound. So names pgha
  // chose (paths, packages, units) arrive already base64-encoded, and values read on the host
  // (owner, group, states) are encoded once each through a cache (`enc` sets REPLY, no subshell).
  const b64 = (x: string) => (x === '' ? '.' : Buffer.from(x, 'utf8').toString('base64'));
  const loop = (list: readonly string[], v: string, body: string) =>
    // Each item is name/base64 (no package or unit name holds a slash). An empty `for x in ; do`
    // is a bash syntax error, hence the guard.
    list.length === 0
      ? ''
      : `for ${v} in ${list.map((x) => `${quote(x)}/${b64(x)}`).join(' ')}; do\n  ${v}b=\${${v}#*/}; ${v}=\${${v}%%/*}\n${body}\ndone\n`;

  return [
    'export LC_ALL=C',
    'declare -A B64',
    // A plain word goes as `=word` (no fork at all); anything else as base64, once per value.
    `enc() { if [ -z "$1" ]; then REPLY=.; elif [[ $1 =~ ^[A-Za-z0-9._-]+$ ]]; then REPLY="=$1"; elif [ -n "\${B64[$1]+x}" ]; then REPLY=\${B64[$1]}; else REPLY=$(printf '%s' "$1" | base64 -w0); B64[$1]=$REPLY; fi; }`,
    `first() { REPLY="\${1%%$'\\n'*}"; }`,
    `echo 'PGHA-FACTS 1'`,
    `enc "$(uname -n)"; printf 'H %s\\n' "$REPLY"`,
    'osid=; oscode=',
    // A subshell, so whatever os-release defines stays out of this script.
    `if [ -r /etc/os-release ]; then`,
    `  osid=$( . /etc/os-release >/dev/null 2>&1; printf '%s' "\${ID-}")`,
    `  oscode=$( . /etc/os-release >/dev/null 2>&1; printf '%s' "\${VERSION_CODENAME-}")`,
    `fi`,
    `enc "$osid"; osb=$REPLY; enc "$oscode"; printf 'O %s %s\\n' "$osb" "$REPLY"`,
    // Paths are sorted with builtins only; regular files then get ONE stat and ONE sha256sum
    // for all of them. Content is encoded per file, and only where it may travel back.
    'R=(); RB=(); RW=()',
    'ff() {',
    '  local p=$1 pb=$2 want=$3',
    // A symlink is reported as such: writing a file over it replaces the link, not its target.
    `  if [ -L "$p" ]; then enc symlink; printf 'F %s other %s\\n' "$pb" "$REPLY"`,
    `  elif [ ! -e "$p" ]; then printf 'F %s missing\\n' "$pb"`,
    `  elif [ ! -f "$p" ]; then enc "$(stat -c %F -- "$p" 2>/dev/null)"; printf 'F %s other %s\\n' "$pb" "$REPLY"`,
    `  elif [ ! -r "$p" ]; then enc unreadable; printf 'F %s other %s\\n' "$pb" "$REPLY"`,
    '  else R+=("$p"); RB+=("$pb"); RW+=("$want"); fi',
    '}',
    ...paths.map((p) => `ff ${quote(p)} ${b64(p)} ${hashOnly.has(p) ? 0 : 1}`),
    'if [ ${#R[@]} -gt 0 ]; then',
    `  mapfile -t ST < <(stat -c '%U %G %a %s' -- "\${R[@]}" 2>/dev/null)`,
    // One line per file whatever its name: stat's format prints no name, and sha256sum escapes
    // an odd name (a backslash before the hash, \n inside the name).
    `  mapfile -t SU < <(sha256sum -- "\${R[@]}" 2>/dev/null)`,
    // A file that vanished in between shifts the lines: then one file at a time, as a fallback.
    '  if [ ${#ST[@]} -ne ${#R[@]} ] || [ ${#SU[@]} -ne ${#R[@]} ]; then',
    `    for i in "\${!R[@]}"; do ST[$i]=$(stat -c '%U %G %a %s' -- "\${R[$i]}" 2>/dev/null); SU[$i]=$(sha256sum < "\${R[$i]}" 2>/dev/null); done`,
    '  fi',
    '  for i in "${!R[@]}"; do',
    '    p=${R[$i]}; pb=${RB[$i]}',
    `    if [ -z "\${ST[$i]}" ]; then printf 'F %s missing\\n' "$pb"; continue; fi`,
    `    read -r owner group mode size <<< "\${ST[$i]}"`,
    `    sum=\${SU[$i]%% *}; sum=\${sum#\\\\}`,
    `    if [ "\${RW[$i]}" = 0 ]; then c='~'`,
    `    elif [ "\${size:-0}" -le ${FACTS_MAX_CONTENT} ]; then c=$(base64 -w0 < "$p"); c=\${c:-.}`,
    `    else c=-; fi`,
    `    enc "$owner"; ob=$REPLY; enc "$group"`,
    `    printf 'F %s file %s %s %s %s %s %s\\n' "$pb" "$sum" "$ob" "$REPLY" "$mode" "$size" "$c"`,
    '  done',
    'fi',
    `if command -v dpkg-query >/dev/null 2>&1; then dpkg=1; else dpkg=0; fi`,
    loop(
      packages,
      'n',
      [
        `  if [ $dpkg = 0 ]; then printf 'P %s unknown\\n' "$nb"`,
        // Multi-arch packages can print one line per architecture: keep them apart.
        `  elif st=$(dpkg-query -W -f='\${Status}\\t\${Version}\\n' "$n" 2>/dev/null); then enc "$st"; printf 'P %s known %s\\n' "$nb" "$REPLY"`,
        `  else printf 'P %s absent\\n' "$nb"; fi`,
      ].join('\n'),
    ),
    `if command -v systemctl >/dev/null 2>&1; then sd=1; else sd=0; fi`,
    loop(
      services,
      's',
      [
        `  if [ $sd = 0 ]; then a=unknown; e=unknown`,
        // One exec for both: ActiveState is what is-active prints, UnitFileState what is-enabled
        // prints, empty for a unit systemd does not know (is-enabled: not-found).
        `  else { read -r a; read -r e; } < <(systemctl show -p ActiveState -p UnitFileState --value -- "$s" 2>/dev/null); fi`,
        `  first "\${a:-unknown}"; enc "$REPLY"; ab=$REPLY; first "\${e:-not-found}"; enc "$REPLY"`,
        `  printf 'S %s %s %s\\n' "$sb" "$ab" "$REPLY"`,
      ].join('\n'),
    ),
    `printf 'END %s %s %s\\n' ${paths.length} ${packages.length} ${services.length}`,
    '',
  ].join('\n');
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Values the script may send without base64 (see `enc`): user names, unit states, host names. */
const PLAIN_WORD = /^[A-Za-z0-9._-]+$/;

class Malformed extends Error {}

function dec(field: string | undefined, what: string): string {
  if (field === undefined) throw new Malformed(`missing ${what}`);
  if (field === '.') return '';
  // `=word`: a plain word sent as is (base64 never starts with '=').
  if (field.startsWith('=')) {
    if (!PLAIN_WORD.test(field.slice(1))) throw new Malformed(`${what} is not a plain word`);
    return field.slice(1);
  }
  if (!B64.test(field) || field.length % 4 !== 0) throw new Malformed(`${what} is not base64`);
  return Buffer.from(field, 'base64').toString('utf8');
}

function int(field: string | undefined, what: string, radix: number): number {
  const re = radix === 8 ? /^[0-7]{1,5}$/ : /^[0-9]+$/;
  if (field === undefined || !re.test(field)) throw new Malformed(`${what} ${JSON.stringify(field ?? '')} is not a number`);
  return parseInt(field, radix);
}

function parsePackage(name: string, fields: string[]): PackageFact {
  const kind = fields[0];
  if (kind === 'unknown') return { name, installed: false, version: undefined, status: undefined, unknown: true };
  if (kind === 'absent') return { name, installed: false, version: undefined, status: undefined };
  if (kind !== 'known') throw new Malformed(`unknown package state ${JSON.stringify(kind ?? '')}`);
  const rows = dec(fields[1], 'dpkg status')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [status = '', version = ''] = l.split('\t');
      return { status, version };
    });
  // dpkg's status is "want error state"; only the state word says it is installed.
  const inst = rows.find((r) => r.status.split(' ')[2] === 'installed');
  const row = inst ?? rows[0];
  return {
    name,
    installed: inst !== undefined,
    version: row?.version || undefined,
    status: row?.status || undefined,
  };
}

/** Parses the output of `factsScript`. Anything unexpected is an error naming the line. */
export function parseFacts(stdout: string, host?: string): HostFacts {
  const lines = stdout.split('\n');
  // A chatty login profile may print before the script does: start at our header.
  const start = lines.indexOf('PGHA-FACTS 1');
  const where = host ? `${host}: gather facts` : 'gather facts';
  const fail = (msg: string) =>
    new RuntimeError(`could not read the facts reported by the host: ${msg}`, {
      where,
      hint: 'the host may have run out of disk or memory, or a tool printed something unexpected; re-run, and report a bug if it persists',
    });
  if (start < 0) {
    throw fail(`no "PGHA-FACTS 1" header in the output (got ${JSON.stringify(stdout.slice(0, 200))})`);
  }
  const facts: HostFacts = { hostname: '', os: { id: '', codename: '' }, files: {}, packages: {}, services: {} };
  let ended = false;
  const counts = { files: 0, packages: 0, services: 0 };
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (ended) {
      if (line.trim() !== '') throw fail(`line ${i + 1}: output after END`);
      continue;
    }
    if (line === '') continue;
    const [tag, ...f] = line.split(' ');
    try {
      switch (tag) {
        case 'H':
          facts.hostname = dec(f[0], 'hostname');
          break;
        case 'O':
          facts.os = { id: dec(f[0], 'os id'), codename: dec(f[1], 'os codename') };
          break;
        case 'F': {
          const path = dec(f[0], 'path');
          const state = f[1];
          if (state === 'missing') facts.files[path] = { path, state };
          else if (state === 'other') facts.files[path] = { path, state, kind: dec(f[2], 'file kind') };
          else if (state === 'file') {
            const [, , sha256, owner, group, mode, size, content] = f;
            if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new Malformed('sha256 is not 64 hex digits');
            facts.files[path] = {
              path,
              state,
              sha256,
              owner: dec(owner, 'owner'),
              group: dec(group, 'group'),
              mode: int(mode, 'mode', 8),
              size: int(size, 'size', 10),
              content: content === '-' || content === '~' ? undefined : dec(content, 'content'),
              ...(content === '-' ? { contentOmitted: 'too-large' as const } : {}),
              ...(content === '~' ? { contentOmitted: 'hash-only' as const } : {}),
            };
          } else throw new Malformed(`unknown file state ${JSON.stringify(state ?? '')}`);
          counts.files++;
          break;
        }
        case 'P': {
          const name = dec(f[0], 'package name');
          facts.packages[name] = parsePackage(name, f.slice(1));
          counts.packages++;
          break;
        }
        case 'S': {
          const name = dec(f[0], 'service name');
          facts.services[name] = { name, active: dec(f[1], 'is-active') || 'unknown', enabled: dec(f[2], 'is-enabled') || 'not-found' };
          counts.services++;
          break;
        }
        case 'END': {
          const want = {
            files: int(f[0], 'file count', 10),
            packages: int(f[1], 'package count', 10),
            services: int(f[2], 'service count', 10),
          };
          if (want.files !== counts.files || want.packages !== counts.packages || want.services !== counts.services) {
            throw new Malformed(
              `expected ${want.files} files, ${want.packages} packages, ${want.services} services; got ${counts.files}, ${counts.packages}, ${counts.services}`,
            );
          }
          ended = true;
          break;
        }
        default:
          throw new Malformed(`unknown record ${JSON.stringify((tag ?? '').slice(0, 20))}`);
      }
    } catch (e) {
      if (e instanceof Malformed) throw fail(`line ${i + 1}: ${e.message}`);
      throw e;
    }
  }
  if (!ended) throw fail('the output ended before its END line (truncated)');
  return facts;
}
