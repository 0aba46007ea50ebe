/**
 * The decisions of the patronictl verbs, as plain data in and out: restart order, the PATCH
 * /config document edit-config sends and the diff it shows, the failover refusal, tables.
 */
import { stringify } from 'yaml';
import { UsageError } from '../../errors.js';
import { isPlainObject, type Plain } from '../../model/merge.js';
import { isLeaderRole, type ClusterInfo } from '../../patroni/types.js';
import type { HistoryEntry } from '../../patroni/ops.js';
import { unifiedDiff } from '../../plan/diff.js';
import { parse as parseYaml } from 'yaml';

/**
 * Replicas first (by name), the leader last, so the cluster keeps a primary the longest and a
 * leader restart finds replicas that are already back. Members not in the cluster are left out.
 */
export function restartOrder(info: ClusterInfo, selected: readonly string[] | undefined): string[] {
  const names = info.members.map((m) => m.name);
  const chosen = selected?.length ? names.filter((n) => selected.includes(n)) : names;
  const leaders = new Set(info.members.filter((m) => isLeaderRole(m.role)).map((m) => m.name));
  const replicas = chosen.filter((n) => !leaders.has(n)).sort();
  return [...replicas, ...chosen.filter((n) => leaders.has(n))];
}

function setPath(doc: Plain, path: string[], value: unknown): void {
  const [key, ...rest] = path;
  if (key === undefined) return;
  if (!rest.length) {
    doc[key] = value;
    return;
  }
  const next = doc[key];
  const child: Plain = isPlainObject(next) ? next : {};
  doc[key] = child;
  setPath(child, rest, value);
}

function splitAssignment(flag: string, a: string): [string, string] {
  const i = a.indexOf('=');
  if (i <= 0) throw new UsageError(`${flag} ${a}: expected KEY=VALUE`);
  return [a.slice(0, i).trim(), a.slice(i + 1)];
}

/**
 * The PATCH /config body for `--set KEY=VALUE` (dotted path, VALUE parsed as YAML, empty or
 * `null` removes the key) and `-p NAME=VALUE` (a PostgreSQL parameter; GUC names may hold dots,
 * so NAME is one key under postgresql.parameters; VALUE kept as text unless empty or `null`).
 */
export function buildConfigPatch(sets: readonly string[], params: readonly string[]): Plain {
  const patch: Plain = {};
  for (const a of sets) {
    const [key, raw] = splitAssignment('--set', a);
    const path = key.split('.');
    if (path.some((p) => p === '')) throw new UsageError(`--set ${a}: empty key segment in ${key}`);
    let value: unknown;
    try {
      value = raw.trim() === '' ? null : (parseYaml(raw) as unknown);
    } catch (e) {
      throw new UsageError(`--set ${a}: VALUE is not valid YAML: ${(e as Error).message}`);
    }
    // A GUC under postgresql.parameters may hold dots: keep the rest of the path as one name.
    if (path[0] === 'postgresql' && path[1] === 'parameters' && path.length > 3) {
      setPath(patch, ['postgresql', 'parameters', path.slice(2).join('.')], value);
    } else {
      setPath(patch, path, value);
    }
  }
  for (const a of params) {
    const [name, raw] = splitAssignment('-p', a);
    const value = raw.trim() === '' || raw.trim() === 'null' ? null : raw;
    setPath(patch, ['postgresql', 'parameters', name], value);
  }
  return patch;
}

/** Patroni's patch_config: null deletes, maps merge, anything else replaces. Returns a new document. */
export function applyConfigPatch(doc: Plain, patch: Plain): Plain {
  const out: Plain = structuredClone(doc);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isPlainObject(v) && isPlainObject(out[k])) out[k] = applyConfigPatch(out[k], v);
    else out[k] = isPlainObject(v) ? applyConfigPatch({}, v) : v;
  }
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isPlainObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

/** The DCS document as YAML with sorted keys, so a diff shows only what changed. */
export function configYaml(doc: Plain): string {
  return stringify(sortKeys(doc));
}

export function configDiff(before: Plain, after: Plain): string {
  return unifiedDiff(configYaml(before), configYaml(after), '/config (DCS)');
}

/** Top-level and parameter keys of a patch, for the reminder about config.yml. */
export function patchedKeys(patch: Plain, prefix = ''): string[] {
  return Object.entries(patch).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return isPlainObject(v) && Object.keys(v).length ? patchedKeys(v, path) : [path];
  });
}

/**
 * POST /failover promotes the candidate whatever the leader's health; with a healthy leader
 * that is an unannounced switchover that skips its checks. Refuse it unless forced.
 */
export function failoverRefusal(info: ClusterInfo, candidate: string, force: boolean): string[] {
  const reasons: string[] = [];
  const member = info.members.find((m) => m.name === candidate);
  if (!member) reasons.push(`${candidate} is not a member of the cluster (members: ${info.members.map((m) => m.name).join(', ')})`);
  else if (isLeaderRole(member.role)) reasons.push(`${candidate} is the leader already`);
  const healthy = info.members.find((m) => isLeaderRole(m.role) && m.state === 'running');
  if (healthy && !force && member && !isLeaderRole(member.role)) {
    reasons.push(
      `${healthy.name} is a healthy leader: use \`pgha switchover DIR ${candidate}\`, which checks lag and waits for the old primary to rejoin; ` +
        'pass --force to fail over anyway',
    );
  }
  return reasons;
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function historyTable(entries: readonly HistoryEntry[]): string {
  if (!entries.length) return 'no failovers or switchovers yet (timeline 1)';
  return pad([
    ['TL', 'LSN', 'Reason', 'Timestamp', 'New Leader'],
    ...entries.map((e) => [String(e.timeline), String(e.lsn), e.reason, e.timestamp ?? '', e.newLeader ?? '']),
  ]);
}

/** A time Patroni accepts for a schedule: ISO 8601 with a zone, in the future. */
export function parseSchedule(value: string, now = Date.now()): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    throw new UsageError(`--scheduled ${value}: expected ISO 8601 with a time zone, e.g. 2026-05-01T02:00:00Z or 2026-05-01T04:00+02:00`);
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--scheduled ${value}: not a valid time`);
  if (t <= now) throw new UsageError(`--scheduled ${value}: that time is in the past`);
  return value;
}
