/** `pgha status`'s text: patronictl's member table, then etcd, HAProxy, PgBouncer and certificate lines. */
import { isLeaderRole } from '../../patroni/types.js';
import type { ClusterStatus, MemberStatus } from './read.js';

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

/** patronictl's table: `+ Cluster: name ---+`, one row per member, numbers right-aligned. */
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
  const title = `+ Cluster: ${s.cluster} `;
  const top = title.length < sep.length ? title + sep.slice(title.length) : `${title}+`;
  return [top, line(head), sep, ...rows.map(line), sep].join('\n');
}

export function formatStatusTable(s: ClusterStatus): string {
  const out = [memberTable(s)];
  if (s.pause) out.push(' Maintenance mode: on');
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
  for (const h of s.haproxy) {
    if (h.error) {
      out.push(`HAProxy ${h.host}: ${h.reachable ? '' : 'unreachable: '}${h.error}`);
      continue;
    }
    const backends = [...new Set(h.servers.map((x) => x.backend))];
    out.push(
      `HAProxy ${h.host}: ${backends
        .map(
          (b) =>
            `${b} ${h.servers
              .filter((x) => x.backend === b)
              .map((x) => `${x.server} ${x.state}`)
              .join(', ')}`,
        )
        .join('; ')}`,
    );
  }
  for (const p of s.pgbouncer) {
    if (p.error) {
      out.push(`PgBouncer ${p.host}: ${p.reachable ? '' : 'unreachable: '}${p.error}`);
      continue;
    }
    const who = p.targetMember ? ` (${p.targetMember}${p.pointsAtLeader ? ', the leader' : ', NOT the leader'})` : ' (not a member)';
    out.push(`PgBouncer ${p.host}: → ${p.target!.host}:${p.target!.port}${who}`);
  }
  if (s.certificates.length) {
    const soon = Math.min(...s.certificates.map((c) => c.daysLeft));
    out.push(
      `certificates: ${s.certificates.map((c) => `${c.host} ${c.daysLeft} d`).join(', ')}${soon < 30 ? '  (renew: pgha deploy)' : ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}
