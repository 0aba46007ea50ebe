/** Rules about each host's Debian release (`os`, `os_version`) and what that release ships. */
import { releaseName, releaseOf } from '../../model/releases.js';
import { isDataNode, type HostRule, type Rule } from './context.js';

/**
 * PostgreSQL comes from the release's own archive: a data node's `postgres_version` must be a
 * major its release ships, or apt finds no `postgresql-<major>` and deploy fails half-way.
 * Reported once where the version (else the release) is set, naming the majors that exist.
 */
export const postgresShippedByRelease: HostRule = (ctx, host, i) => {
  if (!isDataNode(host.roles)) return;
  const release = releaseOf(host.vars);
  const major = Number(host.vars.postgres_version);
  if (release.postgresShipped.includes(major)) return;
  const shipped = release.postgresShipped.join(', ');
  ctx.perHost(
    'error',
    ctx.sourceOf(i, ['postgres_version']) ?? ctx.blame(i, ['os_version']),
    `postgres ${major} on ${release.version}`,
    host.name,
    (hosts) =>
      `PostgreSQL ${major} is not shipped by ${releaseName(release)}, which ${hosts} run: it ships PostgreSQL ${shipped}; set postgres_version to ${release.postgresShipped.length > 1 ? 'one of them' : shipped}, or remove it for the release's default`,
  );
};

/**
 * The data nodes replicate one PostgreSQL cluster, so they need one major, and with it (each
 * release shipping its own) one release. A data node whose own vars choose another release than
 * the others is blamed at that line.
 */
export const dataNodesOneRelease: Rule = (ctx) => {
  const data = ctx.resolved.hosts.map((h, i) => ({ h, i })).filter(({ h }) => isDataNode(h.roles));
  const version = (i: number) => String(releaseOf(ctx.resolved.hosts[i]!.vars).version);
  const counts = new Map<string, number>();
  for (const { i } of data) counts.set(version(i), (counts.get(version(i)) ?? 0) + 1);
  if (counts.size < 2) return;
  // The release most data nodes run is the cluster's; the others are the odd ones out.
  const [usual] = [...counts.entries()].sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0]))[0]!;
  for (const { h, i } of data) {
    if (version(i) === usual) continue;
    ctx.report(
      'error',
      ctx.blame(i, ['os_version']),
      `${h.name} runs Debian ${version(i)} but the other data nodes run Debian ${usual}: the data nodes replicate one PostgreSQL cluster, so they need one PostgreSQL major and one release; set os_version once for all of them`,
    );
  }
};
