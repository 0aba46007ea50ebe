/**
 * `pgha status`'s text: patronictl's member table (failsafe mode in its title), then etcd, each
 * component's section (HAProxy's, PgBouncer's: src/components/status.ts), each host's release
 * and daemon versions, and certificate lines.
 */
import { statusSectionLines } from '../../components/status.js';
import { isLeaderRole } from '../../patroni/types.js';
import type { ClusterStatus, HostRelease, HostStatus, MemberStatus } from './read.js';

function roleTitle(role: string | null): string {
  if (role === null) return '';
  if (isLeaderRole(role) && role !== 'standby_leader') return 'Leader';
  return role
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(' ');
}

function lagMb(m: MemberStatus): string {
  if (m.lagUnknown) return 'unknown';
  if (m.lag === null) return '';
  return String(Math.round(m.lag / 1048576));
}

function tagsText(tags: Record<string, unknown>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

/** On, off, or unknown when no member answered GET /config. */
function failsafeText(on: boolean | null): string {
  return `failsafe mode: ${on === null ? 'unknown' : on ? 'on' : 'off'}`;
}

/**
 * patronictl's table: `+ Cluster: name (failsafe mode: off) ---+`, one row per member, numbers
 * right-aligned. Failsafe mode sits in the title because, like the cluster's name, it is one
 * value for the whole cluster (the DCS configuration's), not a member's.
 */
export function memberTable(s: ClusterStatus): string {
  const head = ['Member', 'Host', 'Role', 'State', 'TL', 'Lag in MB'];
  const anyPending = s.members.some((m) => m.pendingRestart || m.scheduledRestart);
  const anyTags = s.members.some((m) => Object.keys(m.tags).length);
  if (anyPending) head.push('Pending restart');
  if (anyTags) head.push('Tags');
  const right = new Set([4, 5]);
  const rows = s.members.map((m) => {
    const r = [m.name, m.host, roleTitle(m.role), m.state, m.timeline === null ? '' : String(m.timeline), lagMb(m)];
    if (anyPending) r.push([m.pendingRestart ? '*' : '', m.scheduledRestart ? `at ${m.scheduledRestart}` : ''].filter(Boolean).join(' '));
    if (anyTags) r.push(tagsText(m.tags));
    return r;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const title = `+ Cluster: ${s.cluster} (${failsafeText(s.failsafeMode)}) `;
  const top = title.length < sep.length ? title + sep.slice(title.length) : `${title}+`;
  return [top, line(head), sep, ...rows.map(line), sep].join('\n');
}

/**
 * ` Synchronous mode: on, synchronous standby: pg2` under the table, like patronictl's maintenance
 * line, only when the DCS has synchronous replication on (off is the default and says nothing;
 * `-o json` always has `synchronousMode`). With no synchronous standby it says what that means.
 */
export function synchronousLine(s: Pick<ClusterStatus, 'synchronousMode' | 'syncStandbys'>): string | undefined {
  const mode = s.synchronousMode;
  if (mode === null || mode === 'off') return undefined;
  const n = s.syncStandbys.length;
  if (n === 0) {
    const effect = mode === 'strict' ? 'commits wait until one is back' : 'commits are not waiting for any replica';
    return ` Synchronous mode: ${mode}, no synchronous standby (${effect})`;
  }
  return ` Synchronous mode: ${mode}, synchronous standby${n === 1 ? '' : 's'}: ${s.syncStandbys.join(', ')}`;
}

export function formatStatusTable(s: ClusterStatus): string {
  const out = [memberTable(s)];
  if (s.pause) out.push(' Maintenance mode: on');
  const sync = synchronousLine(s);
  if (sync) out.push(sync);
  if (s.scheduledSwitchover) {
    const sw = s.scheduledSwitchover;
    out.push(
      ` Switchover scheduled at: ${sw.at ?? '?'}${sw.from ? `\n                    from: ${sw.from}` : ''}${sw.to ? `\n                      to: ${sw.to}` : ''}`,
    );
  }
  for (const m of s.members.filter((x) => x.error)) out.push(` ${m.name}: ${m.error}`);
  for (const m of s.members.filter((x) => x.knownBug)) out.push(`warning: ${m.name}: ${m.knownBug}`);
  for (const m of s.members.filter((x) => x.notInConfig)) out.push(`warning: ${m.notInConfig}`);
  if (s.etcd.length) {
    const healthy = s.etcd.filter((e) => e.healthy).length;
    const leader = s.etcd.find((e) => e.leader)?.name;
    out.push(`etcd: ${healthy}/${s.etcd.length} healthy${leader ? `, leader ${leader}` : ''}`);
    for (const e of s.etcd) {
      const st = !e.reachable ? `unreachable: ${e.error ?? ''}` : e.healthy ? 'healthy' : 'UNHEALTHY';
      out.push(`  ${e.name.padEnd(8)} ${e.endpoint.padEnd(26)} ${st}${e.leader ? ' (leader)' : ''}${e.version ? `  ${e.version}` : ''}`);
    }
  }
  out.push(...statusSectionLines(s));
  out.push(...hostLines(s.hosts));
  if (s.certificates.length) {
    const soon = Math.min(...s.certificates.map((c) => c.daysLeft));
    out.push(
      `certificates: ${s.certificates.map((c) => `${c.host} ${c.daysLeft} d`).join(', ')}${soon < 30 ? '  (renew: pgha deploy)' : ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** `Debian 13 (trixie)`: os-release's ID (Debian's capitalised), VERSION_ID and codename. */
export function releaseText(r: HostRelease): string {
  const name = r.id === 'debian' ? 'Debian' : r.id;
  const ver = r.version ? ` ${r.version}` : '';
  return r.codename ? `${name}${ver} (${r.codename})` : `${name}${ver}`;
}

/**
 * One line per host: `pg1      Debian 13 (trixie)  postgresql-17 17.12-0+deb13u1, patroni …`,
 * the daemons in registry order, only those installed; the release column aligned.
 */
export function hostLines(hosts: readonly HostStatus[]): string[] {
  if (!hosts.length) return [];
  const nameWidth = Math.max(8, ...hosts.map((h) => h.name.length));
  const rel = (h: HostStatus) => (h.release ? releaseText(h.release) : 'release unknown');
  const relWidth = Math.max(...hosts.filter((h) => h.reachable).map((h) => rel(h).length), 0);
  const lines = hosts.map((h) => {
    if (!h.reachable) return `  ${h.name.padEnd(nameWidth)} unreachable: ${h.error ?? ''}`;
    const pkgs =
      h.packages === null
        ? ''
        : Object.entries(h.packages)
            .map(([p, v]) => `${p} ${v}`)
            .join(', ') || 'no daemon installed';
    return `  ${h.name.padEnd(nameWidth)} ${pkgs ? `${rel(h).padEnd(relWidth)}  ${pkgs}` : rel(h)}`;
  });
  return ['hosts:', ...lines];
}
