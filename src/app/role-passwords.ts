/**
 * The passwords of the roles Patroni logs in with, brought to DIR/secrets on a running leader:
 * which differ (read by fingerprint: nothing secret crosses the wire), and setting those. Deploy
 * runs it on every run; a restore runs it once the restored leader leads, since the backup may
 * hold older passwords, or another cluster's.
 */
import {
  patroniRolePasswords,
  readRolePasswordsCommand,
  rolesToUpdate,
  setRolePasswordsCommand,
} from '../components/postgres/role-passwords.js';
import { run, type Transport } from '../transport/types.js';

type Vars = Record<string, unknown>;

/** Patroni's roles whose password in PostgreSQL is not the one in DIR/secrets. */
export async function stalePatroniRoles(t: Transport, vars: Vars, secret: (name: string) => string): Promise<string[]> {
  const passwords = patroniRolePasswords(vars, secret);
  const r = await run(t, readRolePasswordsCommand([...passwords.keys()], Number(vars.postgres_port)), 'read role passwords');
  return rolesToUpdate(r.stdout, passwords);
}

/** Sets the passwords of `users` (Patroni's roles) from DIR/secrets. */
export async function setPatroniRoles(t: Transport, vars: Vars, secret: (name: string) => string, users: readonly string[]): Promise<void> {
  const all = patroniRolePasswords(vars, secret);
  const passwords = new Map(users.map((u) => [u, all.get(u)!] as const));
  await run(t, setRolePasswordsCommand(passwords, Number(vars.postgres_port)), 'set role passwords');
}
