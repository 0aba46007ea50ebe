import type { DesiredDirectory, DesiredFile } from '../model/types.js';
import type { Command } from '../transport/quote.js';

/**
 * Writing files: ONE script per host, whatever the number of files. The script text holds no
 * content, only the program; contents travel on stdin, framed as
 *
 *   D 0 <octal mode> <owner> <group> <base64 path>\n
 *   ...
 *   F <bytes> <octal mode> <owner> <group> <base64 path>\n<exactly <bytes> raw bytes>
 *   ...
 *   END <number of files>\n
 *
 * Each file goes to a temporary file in its own directory and is renamed over the target, so a
 * reader (Patroni reloading, say) sees the old or the new file, never half of one. A file whose
 * bytes already match is left alone (only owner/group/mode fixed if needed). The script prints
 * `changed <base64 path>` or `meta <base64 path>` for every file it touched.
 *
 * `D` frames come first: directories holding private keys, created (or corrected) with their
 * service's owner and mode before any key lands in them. Without them `mkdir -p` would leave a
 * key directory root:root 0755, and a directory that already exists keeps whatever mode it has.
 */

/** Names as `stat -c %U` prints them: numeric ids would never compare equal and rewrite forever. */
const ACCOUNT = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;

function checkMeta(path: string, m: { owner: string; group: string; mode: number }): void {
  if (!path.startsWith('/')) throw new Error(`bug: path ${JSON.stringify(path)} is not absolute`);
  for (const [what, v] of [
    ['owner', m.owner],
    ['group', m.group],
  ] as const) {
    if (!ACCOUNT.test(v)) throw new Error(`bug: ${path}: ${what} ${JSON.stringify(v)} is not a user/group name`);
  }
  if (!Number.isInteger(m.mode) || m.mode < 0 || m.mode > 0o7777) {
    throw new Error(`bug: ${path}: mode ${m.mode} is not a file mode`);
  }
}

const SCRIPT = `set -u
export LC_ALL=C
tmp=
trap 'if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi' EXIT
fail() { printf 'pgha: %s\\n' "$1" >&2; exit 1; }
n=0
while IFS=' ' read -r tag size mode owner group pb; do
  case $tag in
    END) [ "$size" = "$n" ] || fail "expected $size files on stdin, got $n"; exit 0 ;;
    F|D) ;;
    *) fail "malformed input (frame $n)" ;;
  esac
  path=$(printf '%s' "$pb" | base64 -d) || fail "malformed path in frame $n"
  case $path in /*) ;; *) fail "not an absolute path: $path" ;; esac
  if [ "$tag" = D ]; then
    # A link there would point chown and chmod at whatever it names: refuse it.
    [ ! -L "$path" ] || fail "$path: is a symbolic link, expected a directory"
    if [ ! -d "$path" ]; then (umask 022 && mkdir -p -- "$path") || fail "$path: cannot create directory"; fi
    if [ "$(stat -c '%U:%G %a' -- "$path")" != "$owner:$group $mode" ]; then
      chown -- "$owner:$group" "$path" || fail "$path: cannot chown to $owner:$group"
      chmod -- "$mode" "$path" || fail "$path: cannot chmod $mode"
    fi
    continue
  fi
  dir=\${path%/*}; dir=\${dir:-/}
  if [ ! -d "$dir" ]; then (umask 022 && mkdir -p -- "$dir") || fail "$path: cannot create directory $dir"; fi
  tmp=$(umask 077 && mktemp -- "$dir/.pgha.XXXXXX") || fail "$path: cannot create a temporary file in $dir"
  # GNU head -c reads exactly that many bytes from a pipe, leaving the next frame in place.
  head -c "$size" > "$tmp" || fail "$path: cannot write $tmp"
  got=$(stat -c %s -- "$tmp")
  [ "$got" = "$size" ] || fail "$path: received $got of $size bytes (input truncated)"
  if [ -f "$path" ] && [ ! -L "$path" ] && cmp -s -- "$tmp" "$path"; then
    rm -f -- "$tmp"; tmp=
    if [ "$(stat -c '%U:%G %a' -- "$path")" != "$owner:$group $mode" ]; then
      chown -- "$owner:$group" "$path" || fail "$path: cannot chown to $owner:$group"
      # chmod after chown: chown clears setuid/setgid bits.
      chmod -- "$mode" "$path" || fail "$path: cannot chmod $mode"
      printf 'meta %s\\n' "$pb"
    fi
  else
    chown -- "$owner:$group" "$tmp" || fail "$path: cannot chown to $owner:$group (does the user exist yet?)"
    chmod -- "$mode" "$tmp" || fail "$path: cannot chmod $mode"
    # Data on disk before the rename makes it visible: a crash leaves the old or the new file.
    sync -- "$tmp" 2>/dev/null || true
    mv -fT -- "$tmp" "$path" || fail "$path: cannot replace it"
    tmp=
    printf 'changed %s\\n' "$pb"
  fi
  n=$((n+1))
done
fail "input ended after $n files, before END"
`;

/**
 * The command that writes `files` on a host. Contents of files flagged `sensitive`, and any
 * `extraSecrets` (passwords inside otherwise shown files), are masked in error output.
 */
export function applyFilesScript(
  files: readonly DesiredFile[],
  extraSecrets: readonly string[] = [],
  privateDirs: readonly DesiredDirectory[] = [],
): Command {
  const seen = new Set<string>();
  let stdin = '';
  for (const d of privateDirs) {
    checkMeta(d.path, d);
    stdin += `D 0 ${d.mode.toString(8)} ${d.owner} ${d.group} ${Buffer.from(d.path, 'utf8').toString('base64')}\n`;
  }
  for (const f of files) {
    if (!f.path.startsWith('/')) throw new Error(`bug: file path ${JSON.stringify(f.path)} is not absolute`);
    if (f.path.endsWith('/')) throw new Error(`bug: file path ${JSON.stringify(f.path)} names a directory`);
    if (seen.has(f.path)) throw new Error(`bug: ${f.path} is written twice in one apply`);
    seen.add(f.path);
    checkMeta(f.path, f);
    const path64 = Buffer.from(f.path, 'utf8').toString('base64');
    stdin += `F ${Buffer.byteLength(f.content, 'utf8')} ${f.mode.toString(8)} ${f.owner} ${f.group} ${path64}\n${f.content}`;
  }
  stdin += `END ${files.length}\n`;
  return {
    script: SCRIPT,
    stdin,
    secrets: [...files.filter((f) => f.sensitive).map((f) => f.content), ...extraSecrets],
    intent: { kind: 'write-files', files: files.map(({ path, content, owner, group, mode }) => ({ path, content, owner, group, mode })) },
  };
}

export interface ApplyFilesResult {
  /** Content replaced (or created): services reading these need a reload or restart. */
  changed: string[];
  /** Only owner, group or mode fixed. */
  metaChanged: string[];
}

/** Reads what the apply script reports; other lines (a chatty profile) are ignored. */
export function parseApplyOutput(stdout: string): ApplyFilesResult {
  const res: ApplyFilesResult = { changed: [], metaChanged: [] };
  for (const line of stdout.split('\n')) {
    const m = /^(changed|meta) ([A-Za-z0-9+/]+=*)$/.exec(line);
    if (!m?.[2]) continue;
    const path = Buffer.from(m[2], 'base64').toString('utf8');
    (m[1] === 'changed' ? res.changed : res.metaChanged).push(path);
  }
  return res;
}
