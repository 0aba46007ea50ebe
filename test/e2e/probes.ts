/**
 * Probes shared by the e2e suites and the benchmark: a writer that inserts through HAProxy and
 * reports what was acknowledged, patronictl on a node, and rebuilt packages with a higher version.
 * All of them go around pgha (OpenSSH, psql, Patroni's own CLI) so that they can judge it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { psql, sshOk, type Ran } from './harness.js';

export const DEB_CACHE = '/var/cache/pgha/debs';

/**
 * pgha's own patroni build of Debian's `base` (packaging/patroni/README.md: 3.0.2-1 → +pgha2,
 * 4.0.7-3~deb13u1 → +pgha1), built from Debian's .deb in the package cache as download-packages
 * builds it; tests rebuild higher versions from it, so what they upgrade to still carries its fixes.
 */
export async function fixedPatroniDeb(base: '3.0.2-1' | '4.0.7-3~deb13u1' = '3.0.2-1'): Promise<string> {
  const { ensurePatroniBuild, patroniBuildOf } = await import('../../src/platforms/nspawn/patroni-fix.js');
  const build = patroniBuildOf(base);
  if (!build) throw new Error(`pgha makes no patroni build of ${base}`);
  return ensurePatroniBuild(build, join(DEB_CACHE, `patroni_${base}_all.deb`));
}

/**
 * A .deb with only its version changed: `cached` is a file name in the package cache or an
 * absolute path; a `+pghaN` suffix of its version is replaced by `+suffix`, anything else gets
 * `+suffix` appended (3.0.2-1 → 3.0.2-1+pgha3, pgha's 3.0.2-1+pgha2 → 3.0.2-1+pgha3).
 */
export function rebuiltDeb(workDir: string, cached: string, suffix: string): { file: string; version: string } {
  const src = isAbsolute(cached) ? cached : join(DEB_CACHE, cached);
  const tree = join(workDir, `${basename(cached)}-${suffix}`);
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  run('dpkg-deb', ['-R', src, tree]);
  const control = join(tree, 'DEBIAN', 'control');
  const text = readFileSync(control, 'utf8');
  const [, name, old] = /^Package: (\S+)$[\s\S]*^Version: (\S+)$/m.exec(text) ?? [];
  const version = `${old!.replace(/\+pgha\d+$/, '')}+${suffix}`;
  writeFileSync(control, text.replace(/^Version: .*$/m, `Version: ${version}`));
  const file = join(workDir, `${name}_${version}_${/_all\.deb$/.test(cached) ? 'all' : 'amd64'}.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '-b', tree, file]);
  return { file, version };
}

export interface PatronictlMember {
  Member: string;
  Host?: string;
  Role: string;
  State: string;
  TL?: number;
  'Lag in MB'?: number | string;
  'Pending restart'?: string;
}

/** `patronictl list` on a node, with the config pgha rendered there. */
export function patronictl(dir: string, ip: string, cluster: string): PatronictlMember[] {
  return JSON.parse(sshOk(dir, ip, `patronictl -c /etc/patroni/${cluster}.yml list -f json`)) as PatronictlMember[];
}

/** Wait until `members` members run: one leader, the others streaming with a lag of 0. */
export async function waitHealthy(
  dir: string,
  ip: string,
  cluster: string,
  members: number,
  timeoutMs = 120_000,
): Promise<PatronictlMember[]> {
  const deadline = Date.now() + timeoutMs;
  let last: PatronictlMember[] = [];
  let error = '';
  while (Date.now() < deadline) {
    try {
      last = patronictl(dir, ip, cluster);
      const leaders = last.filter((m) => m.Role === 'Leader' && m.State === 'running');
      const replicas = last.filter((m) => m.Role !== 'Leader' && ['running', 'streaming'].includes(m.State) && m['Lag in MB'] === 0);
      if (last.length === members && leaders.length === 1 && replicas.length === members - 1) return last;
    } catch (e) {
      error = (e as Error).message; // a member in the middle of a restart: ask again
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`cluster not healthy after ${timeoutMs / 1000} s: ${JSON.stringify(last)} ${error}`);
}

/**
 * Inserts ids 1, 2, … through HAProxy (or a data node's PgBouncer: the port) every 10 ms, on a
 * fresh connection after any error (250 ms to connect, 2 s per insert), and prints `A id time` for
 * each acknowledged one. It runs on the proxy's host, in python3 with psycopg2 (both come with
 * Debian's patroni dependencies), so that the controller's load does not shape the figures.
 */
const WRITER = `import os, select, sys, time
import psycopg2, psycopg2.extensions as ext
host, table, stop, port = sys.argv[1], sys.argv[2], sys.argv[3], (sys.argv[4:] or ["5432"])[0]
dsn = "host=" + host + " port=" + port + " user=postgres dbname=postgres sslmode=require password=" + open('/root/.writer-pw').read().strip()
def wait(conn, deadline):
    while True:
        st = conn.poll()
        if st == ext.POLL_OK:
            return
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError('timeout')
        if st == ext.POLL_READ:
            select.select([conn.fileno()], [], [], left)
        else:
            select.select([], [conn.fileno()], [], left)
conn = None
i = 0
while not os.path.exists(stop):
    t = time.time()
    try:
        if conn is None:
            conn = psycopg2.connect(dsn, async_=1)
            wait(conn, t + 0.25)
        i += 1
        cur = conn.cursor()
        cur.execute("insert into " + table + "(id) values (%s)", (i,))
        wait(conn, time.time() + 2)
        print("A", i, "%.3f" % time.time(), flush=True)
    except Exception as e:
        try:
            conn.close()
        except Exception:
            pass
        conn = None
        print("E", i, "%.3f" % time.time(), (str(e).splitlines() or [type(e).__name__])[0], flush=True)
    time.sleep(max(0.0, 0.01 - (time.time() - t)))
print("S", i, "%.3f" % time.time(), flush=True)
`;

export interface WriterReport {
  acked: number;
  lost: number;
  /**
   * The longest time without an acknowledged write, the end of the window included: writes
   * that never came back count until the writer was stopped, not as no gap at all.
   */
  longestGapMs: number;
  errors: number;
  /** The last failed attempt's error, when the window ended in failures. */
  lastError?: string;
  /** How long after the writer stopped HAProxy still led to no writable primary. */
  settleMs: number;
  /** When each acknowledged write came back (seconds since the epoch, the hosts' shared clock). */
  ackedAt: number[];
  /** When each acknowledged write the primary does not have came back (as ackedAt). */
  lostAckedAt: number[];
}

/** Milliseconds from `t` (ms since the epoch) to the first write acknowledged after it; undefined when none was. */
export function firstAckAfterMs(report: WriterReport, t: number): number | undefined {
  const at = report.ackedAt.find((s) => s * 1000 > t);
  return at === undefined ? undefined : Math.round(at * 1000 - t);
}

/** Writes acknowledged after `t` (ms since the epoch). */
export function ackedAfter(report: WriterReport, t: number): number {
  return report.ackedAt.filter((s) => s * 1000 > t).length;
}

/**
 * Writes acknowledged after `t` (ms since the epoch) that the primary does not have afterwards.
 * With `t` the moment a fault stopped the old leader (frozen, cut off), those were accepted by a
 * node that is not in the primary's history: writes a second primary took, split brain.
 */
export function lostAckedAfter(report: WriterReport, t: number): number {
  return report.lostAckedAt.filter((s) => s * 1000 > t).length;
}

/**
 * A writer on the HAProxy host of a deployed cluster (or on a data node, through its PgBouncer:
 * port 6432); install once, then start per table. `runOn` runs it on another host than the one
 * it writes to: writes to a VIP come from a host that keeps running when the VIP's holder dies.
 */
export class ProxyWriter {
  constructor(
    private readonly dir: string,
    private readonly proxyIp: string,
    private readonly port = 5432,
    private readonly runOn = proxyIp,
  ) {}

  private password(): string {
    return readFileSync(join(this.dir, 'secrets', 'postgres'), 'utf8').trim();
  }

  sql(statement: string): Ran {
    return psql(`host=${this.proxyIp} port=${this.port} user=postgres dbname=postgres sslmode=require`, statement, this.password());
  }

  install(): void {
    sshOk(this.dir, this.runOn, 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-psycopg2 >/dev/null');
    sshOk(this.dir, this.runOn, 'cat > /root/writer.py', WRITER);
    sshOk(this.dir, this.runOn, 'umask 077 && cat > /root/.writer-pw', this.password());
  }

  /**
   * Waits until HAProxy's read-write port leads to a primary (not a node in recovery) and
   * returns how long that took. Patroni's /primary can answer 200 for a leader that restarted
   * read-only after a crash, before it promotes itself again.
   */
  async waitWritable(timeoutMs = 120_000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const r = this.sql('select pg_is_in_recovery()');
      if (r.code === 0 && r.stdout.trim() === 'f') return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`HAProxy on ${this.proxyIp} led to no primary within ${timeoutMs / 1000} s: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  /**
   * Start writing into a fresh table; the returned function stops the writer and reports. It
   * writes through the proxy (HAProxy, or PgBouncer with its port), or with `host` straight to
   * that node's PostgreSQL (port 5432), from the proxy's host all the same.
   */
  start(table: string, host = this.proxyIp): () => Promise<WriterReport> {
    const created = this.sql(`create table ${table}(id int primary key, at timestamptz default now())`);
    if (created.code !== 0) throw new Error(created.stderr);
    const stopFile = `/tmp/${table}.stop`;
    const child = spawn(
      'ssh',
      [
        '-i',
        join(this.dir, 'ssh', 'id_pgha'),
        '-o',
        `UserKnownHostsFile=${join(this.dir, 'ssh', 'known_hosts')}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        `root@${this.runOn}`,
        `python3 /root/writer.py ${host} ${table} ${stopFile} ${host === this.proxyIp ? this.port : 5432}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const closed = new Promise<void>((r) => child.on('close', () => r()));
    return async () => {
      sshOk(this.dir, this.runOn, `touch ${stopFile}`);
      await closed;
      const acked: number[] = [];
      const times: number[] = [];
      let errors = 0;
      let stoppedAt: number | undefined;
      let lastError: string | undefined;
      for (const line of out.split('\n')) {
        const f = line.split(' ');
        if (f[0] === 'A') {
          acked.push(Number(f[1]));
          times.push(Number(f[2]));
          lastError = undefined;
        } else if (f[0] === 'E') {
          errors++;
          lastError = f.slice(3).join(' ');
        } else if (f[0] === 'S') stoppedAt = Number(f[2]);
      }
      if (!acked.length) throw new Error(`writer acknowledged nothing:\n${out.slice(-2000)}\n${err}`);
      if (stoppedAt === undefined) throw new Error(`writer did not stop cleanly:\n${out.slice(-2000)}\n${err}`);
      let gap = stoppedAt - times[times.length - 1]!;
      for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
      // Counted on the primary: through HAProxy a node still in recovery could answer, and a
      // replica that has not replayed the last writes would make them look lost.
      const settleMs = await this.waitWritable();
      const present = new Set(this.sql(`select id from ${table}`).stdout.split('\n').filter(Boolean).map(Number));
      const lostAckedAt = times.filter((_, i) => !present.has(acked[i]!));
      return {
        acked: acked.length,
        lost: lostAckedAt.length,
        longestGapMs: Math.round(gap * 1000),
        errors,
        settleMs,
        ackedAt: times,
        lostAckedAt,
        ...(lastError ? { lastError } : {}),
      };
    };
  }
}

/** Every process of a container, found from the machine: all pids in the pid namespace of its init. */
export function pidsInContainer(init: number): number[] {
  const ns = readlinkSync(`/proc/${init}/ns/pid`);
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/pid`) === ns) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The pid of a container's init: the only child of its systemd-nspawn, whose pid is in `pidFile`. */
export function containerInitPid(pidFile: string): number {
  const nspawn = Number(readFileSync(pidFile, 'utf8').trim());
  const children = readFileSync(`/proc/${nspawn}/task/${nspawn}/children`, 'utf8').trim().split(/\s+/).map(Number);
  if (children.length !== 1) throw new Error(`systemd-nspawn ${nspawn} has ${children.length} children, not 1`);
  return children[0]!;
}

/**
 * A clean stop of a whole container, as `poweroff` would: SIGTERM to its systemd-nspawn (whose
 * pid is in `pidFile`), which shuts the container's systemd down; waits until it has exited.
 * Returns the seconds it took. `pgha provision` boots it again on its kept state.
 */
export async function stopContainerCleanly(pidFile: string, timeoutMs = 120_000): Promise<number> {
  const t0 = Date.now();
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  while (existsSync(`/proc/${pid}`)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`systemd-nspawn ${pid} still runs ${timeoutMs / 1000} s after SIGTERM`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return (Date.now() - t0) / 1000;
}

/** A process's state letter (T: stopped), or undefined when it is gone. */
export function procState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * SIGSTOP to every process of a container, as a stalled VM or a hung host would be: passes until
 * no process of its pid namespace is left unstopped (one forked between passes is caught next).
 * Returns the pids stopped; resume them with thawContainer, in a finally block.
 */
export function freezeContainer(init: number): number[] {
  const stopped = new Set<number>();
  for (let pass = 0; pass < 10; pass++) {
    const fresh = pidsInContainer(init).filter((p) => !stopped.has(p));
    if (!fresh.length) break;
    for (const p of fresh) {
      try {
        process.kill(p, 'SIGSTOP');
        stopped.add(p);
      } catch {
        // exited meanwhile
      }
    }
  }
  return [...stopped];
}

/** SIGCONT to what freezeContainer stopped and to anything else of the container (init undefined: gone). */
export function thawContainer(init: number | undefined, pids: readonly number[]): void {
  const all = new Set(pids);
  if (init !== undefined) {
    try {
      for (const p of pidsInContainer(init)) all.add(p);
    } catch {
      // the container is gone
    }
  }
  for (const p of all) {
    try {
      process.kill(p, 'SIGCONT');
    } catch {
      // exited
    }
  }
}

/**
 * A host crash: SIGKILL to every process of a container at once (its init last), so that none of
 * them gets to hand anything over. Returns how many processes were signalled.
 */
export function crashContainer(init: number): number {
  const pids = pidsInContainer(init).filter((p) => p !== init);
  for (const p of [...pids, init]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  return pids.length + 1;
}

/**
 * What the owner of a database can plant to hijack SQL a superuser runs there unqualified: an
 * exact-match `=` for (oid, regnamespace) whose function makes the owner superuser when a
 * superuser calls it, and a `get_auth` named like PgBouncer's. Run in that database as a superuser.
 */
export const PLANTED_BY_DATABASE_OWNER = `SET ROLE app_owner;
CREATE FUNCTION public.pgha_trap(oid, regnamespace) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user) THEN
    EXECUTE 'ALTER ROLE app_owner SUPERUSER';
  END IF;
  RETURN $1 OPERATOR(pg_catalog.=) $2::oid;
END $f$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regnamespace, FUNCTION = public.pgha_trap);
CREATE FUNCTION public.get_auth(text) RETURNS TABLE(usename name, passwd text) LANGUAGE sql AS $f$ SELECT NULL::name, NULL::text $f$;`;

/** How many `pgbouncer.get_auth` functions a database holds: 1 once deploy set up PgBouncer's auth_query there. */
export const GET_AUTH_COUNT_SQL = `SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc WHERE proname = 'get_auth' AND pronamespace = 'pgbouncer'::regnamespace`;

/**
 * A request to an etcd member's peer port (`GET /version`, which any admitted peer may make),
 * sent from host `fromIp` with a certificate and key already there: what someone holding that
 * host's key could try. With `ca` the member's own certificate is verified against it (a positive
 * control); without, it is not (an intruder would not care), so a refusal is etcd's verdict on
 * the client certificate. Returns `ACCEPTED <body>` or `refused <why>`.
 */
export function etcdPeerProbe(dir: string, fromIp: string, memberIp: string, files: { ca?: string; cert: string; key: string }): string {
  const context = files.ca
    ? `ctx=ssl.create_default_context(cafile=${JSON.stringify(files.ca)})`
    : 'ctx=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\nctx.check_hostname=False\nctx.verify_mode=ssl.CERT_NONE';
  const script = `import ssl,urllib.request
${context}
ctx.load_cert_chain(${JSON.stringify(files.cert)},${JSON.stringify(files.key)})
try:
    print('ACCEPTED', urllib.request.urlopen('https://${memberIp}:2380/version',context=ctx,timeout=10).read().decode())
except Exception as e:
    print('refused', e)
`;
  return sshOk(dir, fromIp, 'python3 -', script).trim();
}

/** The peer TLS files on an etcd member with its own peer CA (src/components/etcd/config.ts). */
export const ETCD_PEER_FILES = { ca: '/etc/etcd/ssl/peer-ca.crt', cert: '/etc/etcd/ssl/peer.crt', key: '/etc/etcd/ssl/peer.key' };
/** The node certificate on an etcd member: the cluster CA's, allowed for client use. */
export const ETCD_NODE_FILES = { cert: '/etc/etcd/ssl/node.crt', key: '/etc/etcd/ssl/node.key' };
