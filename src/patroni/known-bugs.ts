/**
 * Patroni builds known to lose acknowledged writes, judged from the running process's own REST
 * status (`GET /patroni`), so a member upgraded on disk but not restarted is still flagged.
 *
 * The etcd3 leader key bug (issue 17, packaging/patroni/README.md): up to 3.0.2, a leader that
 * stalls past the ttl takes the leader key back with an unconditional put when it resumes, and the
 * writes the member that had promoted meanwhile acknowledged are lost. Upstream changed it after
 * 3.0.2; pgha's own builds (3.0.2-1+pgha1 and later) carry its fix and say so in `patroni.pgha_fixes`.
 * Debian 13's 4.0.7 carries upstream's: its `_update_leader` writes the key in one etcd
 * transaction that compares the key's value with the member's own name, and otherwise creates
 * it only when absent (create_revision 0), so a key another member took is never overwritten.
 * It is not flagged, and download-packages builds nothing for Debian 13.
 */
export const LEADER_KEY_FIX = 'etcd3-leader-key';

export interface PatroniBuild {
  version?: string;
  pgha_fixes?: unknown;
}

/** [major, minor, patch] of "3.0.2"; undefined when it is not such a version. */
function parse(version: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Why this build has the leader key bug, or undefined when it is not known to. */
export function leaderKeyBug(build: PatroniBuild | undefined): string | undefined {
  const v = build?.version ? parse(build.version) : undefined;
  if (!v) return undefined;
  const [a, b, c] = v;
  const affected = a < 3 || (a === 3 && b === 0 && c <= 2);
  if (!affected) return undefined;
  if (Array.isArray(build!.pgha_fixes) && build!.pgha_fixes.includes(LEADER_KEY_FIX)) return undefined;
  return `Patroni ${build!.version} without the leader key fix: a leader that stalls past the ttl takes the leader key back when it resumes, and the new leader's acknowledged writes are lost`;
}

/** The fix, for a cluster directory. */
export function leaderKeyFix(dir: string): string {
  return `pgha download-packages ${dir}, then pgha upgrade ${dir} --components=patroni`;
}
