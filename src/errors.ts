/**
 * One error hierarchy; each class carries the process exit code docs/architecture.md#errors-and-exit-codes assigns to it.
 * Only src/cli/main.ts catches these. Anything else reaching it is a bug and is reported as one.
 */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  refused: 3,
  pendingChanges: 10,
} as const;

export class PghaError extends Error {
  readonly exitCode: number = ExitCode.runtime;
  /** Where it happened (host, step); printed before the message. */
  readonly where: string | undefined;
  /** What the operator should do about it. */
  readonly hint: string | undefined;
  constructor(message: string, opts: { where?: string; hint?: string } = {}) {
    super(message);
    this.name = new.target.name;
    this.where = opts.where;
    this.hint = opts.hint;
  }
}

/** Invalid config.yml or command line: exit 2, nothing on any host touched. */
export class UsageError extends PghaError {
  override readonly exitCode: number = ExitCode.usage;
}

/** One problem found in a config file, located by file, line and path. */
export interface ConfigProblem {
  file: string;
  line: number | undefined;
  path: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const at = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return p.path ? `${at}: ${p.path}: ${p.message}` : `${at}: ${p.message}`;
}

/** Every problem of a config at once (exit 2). */
export class ConfigError extends UsageError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

/** A precondition refused the operation (e.g. switchover to an unhealthy node): exit 3. */
export class RefusedError extends PghaError {
  override readonly exitCode: number = ExitCode.refused;
  readonly reasons: string[];
  constructor(message: string, reasons: string[], opts: { where?: string; hint?: string } = {}) {
    super(reasons.length ? `${message}\n${reasons.map((r) => `  - ${r}`).join('\n')}` : message, opts);
    this.reasons = reasons;
  }
}

/** A failure on a host or service at run time: exit 1. */
export class RuntimeError extends PghaError {}
