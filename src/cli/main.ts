/**
 * pgha's entry point: commander wiring and the only top-level catch. Expected failures
 * (PghaError) print their location, message and hint with their exit code; anything else is a bug.
 * Command files import their use-cases inside their actions, so starting pgha costs only the
 * command that runs (status is measured against `patronictl list`).
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, PghaError } from '../errors.js';
import { registerBackup } from './backup.js';
import { registerConfigure } from './configure.js';
import { registerDeploy } from './deploy.js';
import { registerExplain } from './explain.js';
import { registerExporter } from './exporter.js';
import { formatError } from './format-error.js';
import { registerProvision } from './provision.js';
import { registerNodes } from './nodes.js';
import { registerRender } from './render.js';
import { registerRestore } from './restore.js';
import { registerRotateCerts } from './rotate-certs.js';
import { registerRotatePasswords } from './rotate-passwords.js';
import { registerShowPassword } from './show-password.js';
import { registerStatus } from './status.js';
import { registerTest } from './test.js';
import { registerSwitchover } from './switchover.js';
import { registerVerbs } from './verbs.js';
import { registerUpgrade } from './upgrade.js';
import { registerVault } from './vault.js';
import { setVaultPasswordSource, VAULT_PASSWORD_ENV } from '../pki/vault.js';

export type Register = (program: Command) => void;

const COMMANDS: Register[] = [
  registerConfigure,
  registerProvision,
  registerDeploy,
  registerRender,
  registerExplain,
  registerShowPassword,
  registerRotatePasswords,
  registerRotateCerts,
  registerUpgrade,
  registerSwitchover,
  registerNodes,
  registerVerbs,
  registerStatus,
  registerTest,
  registerBackup,
  registerExporter,
  registerVault,
  registerRestore,
];

export function buildProgram(): Command {
  const program = new Command('pgha')
    .description('Deploy and run highly available PostgreSQL clusters managed by Patroni')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    // A file, never the password itself: an argument would show in `ps` to every local user.
    .option('--vault-password-file <file>', `the vault password, on the first line of FILE (or set ${VAULT_PASSWORD_ENV})`)
    .hook('preAction', () => {
      const file = program.opts<{ vaultPasswordFile?: string }>().vaultPasswordFile;
      const env = process.env[VAULT_PASSWORD_ENV];
      // Taken out of the environment so no process pgha starts (ssh, systemd-nspawn, apt) inherits it.
      delete process.env[VAULT_PASSWORD_ENV];
      setVaultPasswordSource({ ...(file !== undefined ? { file } : {}), ...(env !== undefined ? { env } : {}) });
    });
  for (const register of COMMANDS) register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export { formatError };

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? ExitCode.ok : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (e instanceof PghaError) {
      process.stderr.write(formatError(e));
      return e.exitCode;
    }
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`pgha: internal error — this is a bug, please report it with the output below.\n${detail}\n`);
    return ExitCode.runtime;
  }
}
