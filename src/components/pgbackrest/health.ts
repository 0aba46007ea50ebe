/**
 * pgBackRest's health in `pgha test`: its TLS server accepts connections on every host that runs
 * it, dialled from a data node (where archive-push and restores dial the repository from); and,
 * on each repository host, `pgbackrest check`: the stanza exists, its configuration holds, and a
 * WAL segment the primary switches reaches the repository. The check runs on the repository host
 * rather than the leader: there it needs no knowledge of who leads (pgBackRest finds the primary
 * among the pgN hosts itself), as the stanza step that runs it at deploy does.
 */
import type { ResolvedHost } from '../../model/types.js';
import { num } from '../common.js';
import { firstLine, portAccepts, type CheckResult, type HealthCheck, type HealthProbe } from '../health.js';
import { checkCommand } from './commands.js';
import { stanzaHosts } from './stanza.js';

/** The last line pgBackRest printed (its ERROR line, when it failed). */
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)?.trim() ?? '';

async function stanzaCheck(probe: HealthProbe, h: ResolvedHost, stanza: string): Promise<CheckResult> {
  const name = `pgBackRest ${h.name}: stanza ${stanza} check`;
  try {
    const r = await probe.onHost(h, checkCommand(stanza));
    if (r.code === 0) return { name, ok: true, detail: 'pgbackrest check passed: WAL archiving reaches the repository' };
    const why = lastLine(r.stderr) || lastLine(r.stdout) || `exit code ${r.code}`;
    return { name, ok: false, detail: `pgbackrest check failed: ${why}` };
  } catch (e) {
    return { name, ok: false, detail: firstLine(e) };
  }
}

export const pgbackrestHealth: HealthCheck = async (probe, hosts) => {
  const repos = stanzaHosts(probe.cluster).filter((r) => hosts.some((h) => h.name === r.host.name));
  const [servers, checks] = await Promise.all([
    tlsServers(probe, hosts),
    Promise.all(repos.map((r) => stanzaCheck(probe, r.host, r.stanza))),
  ]);
  return [...servers, ...checks];
};

function tlsServers(probe: HealthProbe, hosts: readonly ResolvedHost[]): Promise<CheckResult[]> {
  return Promise.all(hosts.map((h) => portAccepts(probe, h, num(h.vars, 'pgbackrest_port'), `pgBackRest ${h.name}: TLS server`)));
}
