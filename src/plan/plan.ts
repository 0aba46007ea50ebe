import { createHash } from 'node:crypto';
import { RuntimeError } from '../errors.js';
import type { DesiredFile } from '../model/types.js';
import { maskByShape } from '../secrets/redact.js';
import { unifiedDiff } from './diff.js';
import type { FileFact, HostFacts, PackageFact } from './facts.js';

export { applyFilesScript, parseApplyOutput, type ApplyFilesResult } from './apply-files.js';

/**
 * desired × facts → actions, as plain data (docs/architecture.md#data-flow): no I/O, so `deploy --check` and
 * `--diff` show exactly what `deploy` would do, and tests need no host.
 */

export interface DesiredPackage {
  name: string;
  /** Exact Debian version, or a prefix ending in `*` (as apt's `pkg=1.2*`). Absent: any version. */
  version?: string;
}

export interface HostDesired {
  files: DesiredFile[];
  packages: DesiredPackage[];
}

export type PlanAction =
  | {
      kind: 'install';
      package: string;
      /** The pinned version to install; undefined means the candidate apt picks. */
      version: string | undefined;
      /** Installed version now, if any. */
      current: string | undefined;
      reason: 'missing' | 'version';
    }
  | {
      kind: 'write-file';
      path: string;
      file: DesiredFile;
      create: boolean;
      /** Unified diff, or a one-line note where a diff must not or cannot be shown. */
      diff: string;
      /** Owner/group/mode changes that come with the rewrite, e.g. `mode 0644 → 0600`. */
      meta: string[];
    }
  | { kind: 'fix-meta'; path: string; file: DesiredFile; meta: string[] };

export interface HostPlan {
  actions: PlanAction[];
  /** Packages to hand to one `apt-get install`, as `name` or `name=version`. */
  installs: string[];
  /** Files to hand to `applyFilesScript` (content and meta changes alike). */
  files: DesiredFile[];
  /** Paths whose content changes: the services reading them need a reload or restart. */
  changedPaths: string[];
  /** Paths whose owner/group/mode alone change. */
  metaChangedPaths: string[];
  hasChanges: boolean;
}

export interface PlanOptions {
  /** Inventory name for messages (defaults to the hostname the host reported). */
  host?: string;
  /** Masks secrets in file text before it is diffed; applied to old and new alike. */
  redact?: (text: string) => string;
  /** Lines of context in diffs (3). */
  context?: number;
}

export const SENSITIVE_NOTE = '(sensitive content changed)';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** Whether an installed version satisfies a pin (exact, or `prefix*`). */
export function versionMatches(installed: string, pin: string | undefined): boolean {
  if (pin === undefined || pin === '') return true;
  if (pin.endsWith('*')) return installed.startsWith(pin.slice(0, -1));
  return installed === pin;
}

function planPackage(p: DesiredPackage, fact: PackageFact | undefined): PlanAction | undefined {
  if (!fact) throw new Error(`bug: no facts gathered for package ${p.name}`);
  if (!fact.installed || fact.version === undefined) {
    return { kind: 'install', package: p.name, version: p.version, current: undefined, reason: 'missing' };
  }
  if (!versionMatches(fact.version, p.version)) {
    return { kind: 'install', package: p.name, version: p.version, current: fact.version, reason: 'version' };
  }
  return undefined;
}

function metaChanges(f: DesiredFile, fact: Extract<FileFact, { state: 'file' }>): string[] {
  const out: string[] = [];
  if (fact.owner !== f.owner) out.push(`owner ${fact.owner} → ${f.owner}`);
  if (fact.group !== f.group) out.push(`group ${fact.group} → ${f.group}`);
  if (fact.mode !== f.mode) out.push(`mode ${octal(fact.mode)} → ${octal(f.mode)}`);
  return out;
}

function fileDiff(f: DesiredFile, old: string | undefined, create: boolean, opts: PlanOptions): string {
  if (f.sensitive) return create ? '(sensitive file created)' : SENSITIVE_NOTE;
  // By shape first (a host's copy may hold an old password pgha no longer knows), then by value.
  const byValue = opts.redact ?? ((t: string) => t);
  const redact = (t: string) => byValue(maskByShape(t, f.masks));
  const ctx = opts.context !== undefined ? { context: opts.context } : {};
  const d = unifiedDiff(old === undefined ? undefined : redact(old), redact(f.content), f.path, ctx);
  // Content differs but not once redacted: only a secret changed, and that is all we may say.
  return d === '' ? '(only redacted values changed)' : d;
}

function planFile(f: DesiredFile, fact: FileFact | undefined, host: string, opts: PlanOptions): PlanAction | undefined {
  if (!fact) throw new Error(`bug: no facts gathered for ${f.path}`);
  switch (fact.state) {
    case 'missing':
      return { kind: 'write-file', path: f.path, file: f, create: true, diff: fileDiff(f, undefined, true, opts), meta: [] };
    case 'other':
      if (fact.kind === 'directory') {
        throw new RuntimeError(`${f.path} is a directory on ${host}, where pgha must write a file`, {
          where: `${host}: plan`,
          hint: `move it out of the way on ${host}, then re-run deploy`,
        });
      }
      return {
        kind: 'write-file',
        path: f.path,
        file: f,
        create: false,
        diff: `(replaces a ${fact.kind} at ${f.path})`,
        meta: [],
      };
    case 'file': {
      const meta = metaChanges(f, fact);
      if (fact.sha256 !== sha256(f.content)) {
        let diff: string;
        if (f.sensitive || fact.content !== undefined) diff = fileDiff(f, fact.content, false, opts);
        else if (fact.contentOmitted === 'too-large') diff = '(content differs; not shown: the file on the host is larger than 1 MiB)';
        else diff = '(content differs; not shown: only its hash was gathered)';
        return { kind: 'write-file', path: f.path, file: f, create: false, diff, meta };
      }
      return meta.length ? { kind: 'fix-meta', path: f.path, file: f, meta } : undefined;
    }
  }
}

/** The actions that bring one host from `facts` to `desired`. Packages first, then files. */
export function planHost(desired: HostDesired, facts: HostFacts, opts: PlanOptions = {}): HostPlan {
  const host = opts.host ?? (facts.hostname || 'host');
  const seen = new Set<string>();
  for (const f of desired.files) {
    if (seen.has(f.path)) throw new Error(`bug: two desired files for ${f.path}`);
    seen.add(f.path);
  }
  const actions: PlanAction[] = [];
  for (const p of desired.packages) {
    const a = planPackage(p, facts.packages[p.name]);
    if (a) actions.push(a);
  }
  for (const f of desired.files) {
    const a = planFile(f, facts.files[f.path], host, opts);
    if (a) actions.push(a);
  }
  const installs: string[] = [];
  const files: DesiredFile[] = [];
  const changedPaths: string[] = [];
  const metaChangedPaths: string[] = [];
  for (const a of actions) {
    if (a.kind === 'install') installs.push(a.version ? `${a.package}=${a.version}` : a.package);
    else {
      files.push(a.file);
      (a.kind === 'write-file' ? changedPaths : metaChangedPaths).push(a.path);
    }
  }
  return { actions, installs, files, changedPaths, metaChangedPaths, hasChanges: actions.length > 0 };
}

/** One line per action, as `deploy --check` prints them. */
export function describeAction(a: PlanAction): string {
  switch (a.kind) {
    case 'install':
      return a.reason === 'missing'
        ? `install ${a.package}${a.version ? ` ${a.version}` : ''}`
        : `install ${a.package} ${a.version ?? '(latest)'} (now ${a.current ?? '?'})`;
    case 'write-file':
      return `${a.create ? 'create' : 'update'} ${a.path}${a.meta.length ? ` (${a.meta.join(', ')})` : ''}`;
    case 'fix-meta':
      return `fix ${a.path}: ${a.meta.join(', ')}`;
  }
}

/** The plan of one host as text: action lines, and with `diff` each file's diff under its line. */
export function formatHostPlan(host: string, plan: HostPlan, opts: { diff?: boolean } = {}): string {
  if (!plan.hasChanges) return `${host}: no changes\n`;
  const lines = [`${host}: ${plan.actions.length} change${plan.actions.length === 1 ? '' : 's'}`];
  for (const a of plan.actions) {
    lines.push(`  ${describeAction(a)}`);
    if (opts.diff && a.kind === 'write-file') {
      lines.push(
        ...a.diff
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `    ${l}`),
      );
    }
  }
  return lines.join('\n') + '\n';
}
