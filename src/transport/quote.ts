/**
 * The one place that turns data into shell text (docs/architecture.md#security-invariants), and the one place that keeps
 * secrets out of it. A remote command's script travels as an argument of `bash -c`, which any
 * user on the host can read with `ps`; so a script may hold paths, names and versions, never a
 * password or key. Secrets travel on the command's stdin instead, and every text that leaves a
 * transport (errors, logs) goes through `maskSecrets` first.
 */

/** A remote (or local) command as plain data: what to run, what to feed it, what to hide. */
export interface Command {
  /** bash source, run as `bash -c <script>`. Visible in `ps`: never put a secret here. */
  script: string;
  /** Fed to the script's stdin, then stdin is closed. The only channel for secrets. */
  stdin?: string;
  /** Strings to mask in any output that is shown or logged (stderr in errors, debug logs). */
  secrets?: string[];
  /** Kill the command after this many seconds (coreutils `timeout`; exit code 124). */
  timeoutSec?: number;
  /**
   * What the command does, as data: the script is how. Real transports run the script and
   * ignore this; a simulated host (the orchestration tests) acts on it instead.
   */
  intent?: CommandIntent;
}

/** The commands pgha runs on hosts (deploy, upgrade, the switchover's write probe), by what they do. */
export type CommandIntent =
  | { kind: 'gather-facts'; paths: readonly string[]; packages: readonly string[]; services: readonly string[] }
  | { kind: 'write-files'; files: readonly { path: string; content: string; owner: string; group: string; mode: number }[] }
  | { kind: 'install-packages'; packages: readonly string[] }
  | { kind: 'systemctl'; op: 'start' | 'restart' | 'reload' | 'daemon-reload'; units: readonly string[] }
  | { kind: 'pgbouncer-auth-user'; user: string; checkOnly: boolean }
  /** The passwords of Patroni's roles: read their verifiers' fingerprints (checkOnly) or set them. */
  | { kind: 'role-passwords'; users: readonly string[]; checkOnly: boolean }
  /** deploy: the users and databases config.yml declares: what is pending (checkOnly), or converge them (and drop what was pruned). */
  | { kind: 'declared-objects'; users: readonly string[]; databases: readonly string[]; checkOnly: boolean; prune: boolean }
  | { kind: 'read-postmaster-parameters' }
  /** upgrade: installed versions (with install times) and running units (start time, replaced binary). */
  | { kind: 'read-versions'; packages: readonly string[]; units: readonly string[] }
  /** upgrade: the unit is active and its port accepts connections. */
  | { kind: 'port-open'; unit: string; port: number }
  /** status, health: what each named component on the host reports about itself (its state script). */
  | { kind: 'read-state'; components: readonly string[] }
  /** deploy: the pgBackRest stanza on the repository host: is it there (checkOnly), or create it and check archiving. */
  | { kind: 'pgbackrest-stanza'; stanza: string; checkOnly: boolean }
  /** pgha backup, backups, test, status: on the repository host, a backup of a type, the repository's info, pgbackrest check. */
  | { kind: 'pgbackrest-backup'; stanza: string; type: 'full' | 'diff' | 'incr' }
  | { kind: 'pgbackrest-info'; stanza: string }
  | { kind: 'pgbackrest-check'; stanza: string }
  /** deploy: backup timers of entries pgbackrest_schedule no longer has, found (checkOnly) or stopped and removed. */
  | { kind: 'pgbackrest-unschedule'; keep: readonly string[]; checkOnly: boolean }
  /** deploy: postgres_exporter's role on the leader: is it there with pg_monitor (checkOnly), or create it. */
  | { kind: 'monitoring-role'; role: string; checkOnly: boolean }
  /** switchover: psql through a client endpoint (HAProxy, PgBouncer): does the server it reaches take writes, and its address. */
  | { kind: 'probe-writes'; ip: string; port: number }
  /** restore, remove-node: Patroni and its PostgreSQL stopped on a data node. */
  | { kind: 'stop-member'; unit: string }
  /** remove-node: units stopped and disabled on a host leaving the cluster; deploy: etcd on a host that lost role etcd. */
  | { kind: 'disable-units'; units: readonly string[]; removes?: readonly string[] }
  /** remove-node: does the leader still hold a member's replication slot. */
  | { kind: 'replication-slot-exists'; slot: string };

/** Text spliced into a `sh` template verbatim. Only for fragments pgha itself wrote. */
export interface RawShell {
  readonly __rawShell: string;
}

export type ShellArg = string | number | bigint | RawShell | readonly (string | number)[];

/** Marks a trusted, pgha-authored fragment (e.g. a generated script) to splice into `sh` unquoted. */
export function raw(text: string): RawShell {
  return { __rawShell: text };
}

function isRaw(v: unknown): v is RawShell {
  return typeof v === 'object' && v !== null && '__rawShell' in v;
}

/**
 * One word for bash, whatever the string holds. Single quotes stop every expansion; the only
 * character they cannot contain is `'` itself, written as `'\''` (close, escaped quote, reopen).
 */
export function quote(value: string | number | bigint): string {
  const s = String(value);
  // argv strings are C strings: a NUL would silently truncate the word on the far side.
  if (s.includes('\0')) throw new Error('bug: a shell argument cannot contain a NUL byte');
  // Plain words stay readable in --check output and error messages.
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Tagged template: every interpolated value becomes one quoted word (arrays: one word each,
 * space separated); `raw()` values are spliced as they are.
 *
 *   sh`install -d -m 0700 ${dir} && systemctl restart ${units}`
 */
export function sh(strings: TemplateStringsArray, ...values: ShellArg[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    if (isRaw(v)) out += v.__rawShell;
    // typeof, not Array.isArray: isArray does not narrow a readonly array, and the only object
    // left once RawShell is ruled out is the list.
    else if (typeof v === 'object') out += v.map((x) => quote(x)).join(' ');
    else out += quote(v);
    out += strings[i + 1] ?? '';
  });
  return out;
}

export const MASK = '********';

/**
 * Replaces every occurrence of every secret by `********`. Longest first, so a secret that
 * contains another is masked whole. A multi-line secret (a key) is also masked line by line,
 * because tools that echo input tend to re-wrap it.
 */
export function maskSecrets(text: string, secrets: readonly string[] | undefined): string {
  if (!secrets || secrets.length === 0 || text === '') return text;
  const pieces = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    pieces.add(s);
    if (s.includes('\n')) {
      for (const line of s.split('\n')) {
        // PEM armour lines and short fragments are not secret and would mask noise everywhere.
        const t = line.trim();
        if (t.length >= 8 && !t.startsWith('-----')) pieces.add(t);
      }
    }
  }
  let out = text;
  for (const p of [...pieces].sort((a, b) => b.length - a.length)) {
    out = out.split(p).join(MASK);
  }
  return out;
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A command whose script starts with its secrets already in shell variables, read from stdin
 * (`IFS= read -r NAME`) so they never appear in argv. Whatever `opts.stdin` holds follows the
 * secrets on the same stream and is what the rest of the script reads.
 *
 * The variables are neither exported nor passed to anything by pgha; use them only with
 * builtins, for instance `printf '%s\n' "$PW" | etcdctl user add root --interactive=false`.
 * Passing "$PW" as an argument to a program would put it back in argv.
 */
export function withSecrets(vars: Record<string, string>, script: string, opts: { stdin?: string; secrets?: string[] } = {}): Command {
  const names = Object.keys(vars);
  let prelude = '';
  let stdin = '';
  for (const name of names) {
    if (!VAR_NAME.test(name)) throw new Error(`bug: ${JSON.stringify(name)} is not a shell variable name`);
    const value = vars[name] ?? '';
    // One line per secret: a newline would split it and shift every later value.
    if (/[\n\r\0]/.test(value)) throw new Error(`bug: secret ${name} contains a newline or NUL; write it as a file instead`);
    // `read` fails only at EOF, i.e. when stdin did not arrive: stop before running half a script.
    prelude += `IFS= read -r ${name} || { echo 'pgha: secret ${name} missing on stdin' >&2; exit 97; }\n`;
    stdin += `${value}\n`;
  }
  return {
    script: prelude + script,
    stdin: stdin + (opts.stdin ?? ''),
    secrets: [...names.map((n) => vars[n] ?? '').filter((s) => s !== ''), ...(opts.secrets ?? [])],
  };
}
