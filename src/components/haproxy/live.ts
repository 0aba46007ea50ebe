/**
 * What HAProxy says about where it sends clients, as pure parsers: `show servers state` (stats
 * socket, read over SSH) and the stats page's CSV; and the script that reads the socket on a host.
 */

export const HAPROXY_SOCKET = '/run/haproxy/admin.sock';

export interface HaproxyServer {
  backend: string;
  server: string;
  address: string;
  /** UP, DOWN, MAINT, DRAIN, STARTING, STOPPING. */
  state: string;
}

/** HAProxy's tables: a `#` header naming the columns, then rows; columns are found by name. */
function table(text: string, sep: RegExp | string): { rows: string[][]; col: (name: string) => number } | undefined {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const header = lines.find((l) => l.startsWith('#'));
  if (!header) return undefined;
  const cols = header.replace(/^#\s*/, '').split(sep);
  const rows = lines.filter((l) => !l.startsWith('#') && l.split(sep).length > 1).map((l) => l.split(sep));
  return { rows, col: (name: string) => cols.indexOf(name) };
}

/**
 * `show servers state` (HAProxy 2.x): a version line, a `#` header naming the columns, then one
 * line per server. Columns are found by name so a version that adds some still parses.
 */
export function parseServersState(text: string): HaproxyServer[] {
  const t = table(text, /\s+/);
  if (!t) return [];
  const { rows, col } = t;
  const out: HaproxyServer[] = [];
  for (const f of rows) {
    const op = Number(f[col('srv_op_state')]);
    const admin = Number(f[col('srv_admin_state')]);
    // srv_admin_state bits: FMAINT 0x01, IMAINT 0x02, CMAINT 0x04, FDRAIN 0x08, IDRAIN 0x10, RMAINT 0x20, HMAINT 0x40.
    let state = ['DOWN', 'STARTING', 'UP', 'STOPPING'][op] ?? `op${op}`;
    if (admin & 0x67) state = 'MAINT';
    else if (admin & 0x18) state = 'DRAIN';
    out.push({ backend: f[col('be_name')] ?? '?', server: f[col('srv_name')] ?? '?', address: f[col('srv_addr')] ?? '?', state });
  }
  return out;
}

/**
 * The CSV of HAProxy's stats page (`<stats uri>;csv`): a `# pxname,svname,…` header, then one line
 * per frontend, backend and server. Columns are found by name. `status` reads UP, DOWN, `UP 1/2`
 * (going down, still up), `DOWN 1/2` (going up, still down), NOLB, DRAIN, `MAINT (via …)`,
 * `no check`; they map onto the states `show servers state` gives.
 */
export function parseStatsCsv(text: string): HaproxyServer[] {
  const t = table(text, ',');
  if (!t) return [];
  const { rows, col } = t;
  const out: HaproxyServer[] = [];
  for (const f of rows) {
    const server = f[col('svname')] ?? '?';
    if (server === 'FRONTEND' || server === 'BACKEND') continue;
    const raw = (f[col('status')] ?? '').toUpperCase();
    let state: string;
    if (raw.startsWith('MAINT')) state = 'MAINT';
    else if (raw.startsWith('DRAIN') || raw.startsWith('NOLB')) state = 'DRAIN';
    else if (raw.startsWith('UP') || raw === 'NO CHECK') state = 'UP';
    else if (raw.startsWith('DOWN')) state = 'DOWN';
    else state = raw || '?';
    const addr = col('addr') >= 0 ? f[col('addr')] : undefined;
    out.push({
      backend: f[col('pxname')] ?? '?',
      server,
      address: addr ? addr.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') : '?',
      state,
    });
  }
  return out;
}

/**
 * Reads `show servers state` from the stats socket. socat is not on the hosts but python3 is
 * (Patroni needs it, and a proxy-only host gets it as a dependency of the probe), so the socket is
 * read with a python one-liner.
 */
export function haproxyStateScript(): string {
  const py = [
    'import socket,sys',
    's=socket.socket(socket.AF_UNIX)',
    's.settimeout(2)',
    `s.connect(${JSON.stringify(HAPROXY_SOCKET)})`,
    's.sendall(b"show servers state\\n")',
    'sys.stdout.write(s.makefile().read())',
  ].join('; ');
  return `python3 -I -S -c '${py}'`;
}
