/**
 * What a host's components report about themselves, read over SSH in one exec: each component
 * that declares a `stateScript` (src/components/component.ts) runs in turn, its output framed by
 * marker lines, so adding a component adds its part without another round trip.
 */
import type { HostState } from '../../components/health.js';
import { COMPONENTS } from '../../components/registry.js';
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import type { Command } from '../../transport/quote.js';
import type { Transport } from '../../transport/types.js';

/** Marker lines separating the parts of the single exec on a host. */
const MARK = '@@pgha:';

/** The parts to read on `host`: its components' state scripts, by component name. */
export function stateParts(cluster: ResolvedCluster, host: ResolvedHost): { name: string; script: string }[] {
  return COMPONENTS.flatMap((c) =>
    c.stateScript && c.runsOn(cluster, host) ? [{ name: c.name, script: c.stateScript(cluster, host) }] : [],
  );
}

/** One script printing every part, each followed by its exit code; a failing part does not stop the rest. */
export function hostStateScript(parts: readonly { name: string; script: string }[]): string {
  return parts.map((p) => `echo '${MARK}${p.name}'\n{ ${p.script}; } 2>&1; echo "${MARK}rc=$?"`).join('\n');
}

/** The one exec reading every part of a host. */
export function hostStateCommand(parts: readonly { name: string; script: string }[]): Command {
  return { script: hostStateScript(parts), timeoutSec: 5, intent: { kind: 'read-state', components: parts.map((p) => p.name) } };
}

/**
 * Reads the host's components' state over an open transport (which stays open; an error is
 * returned, not thrown), plus the `extra` parts a caller reads in the same exec (status: the
 * host's release and daemon versions, ./host-release.ts).
 */
export async function readHostState(
  t: Transport,
  cluster: ResolvedCluster,
  h: ResolvedHost,
  extra: readonly { name: string; script: string }[] = [],
): Promise<HostState> {
  const parts = [...stateParts(cluster, h), ...extra];
  if (!parts.length) return { host: h, parts: new Map() };
  try {
    const r = await t.exec(hostStateCommand(parts));
    return { host: h, parts: splitHostState(r.stdout) };
  } catch (e) {
    return { host: h, error: (e instanceof Error ? e.message : String(e)).split('\n')[0]! };
  }
}

export function splitHostState(out: string): Map<string, { text: string; rc: number }> {
  const parts = new Map<string, { text: string; rc: number }>();
  let name: string | undefined;
  let buf: string[] = [];
  for (let line of out.split('\n')) {
    // A part whose output does not end in a newline (`pgbackrest --output=json info`) puts the
    // closing marker at the end of its last line: split it off there.
    const at = line.indexOf(MARK);
    if (at > 0 && name) {
      buf.push(line.slice(0, at));
      line = line.slice(at);
    }
    if (line.startsWith(MARK)) {
      const tag = line.slice(MARK.length);
      if (tag.startsWith('rc=')) {
        if (name) parts.set(name, { text: buf.join('\n'), rc: Number(tag.slice(3)) });
        name = undefined;
      } else {
        name = tag;
      }
      buf = [];
    } else if (name) {
      buf.push(line);
    }
  }
  return parts;
}
