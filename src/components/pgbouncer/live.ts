/** Where PgBouncer sends clients: the `[databases]` file pgha's follower writes, and how to read it. */

import { PGBOUNCER_DATABASES } from '../paths.js';

/** PgBouncer's `[databases]` file as the follower writes it: `* = host=H port=P`. */
export function parseDatabasesIni(text: string): { host: string; port: number } | null {
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!.trim();
      continue;
    }
    if (section !== 'databases') continue;
    const host = /\bhost=(\S+)/.exec(line)?.[1];
    const port = /\bport=(\d+)/.exec(line)?.[1];
    if (host) return { host, port: port ? Number(port) : 5432 };
  }
  return null;
}

/** Prints the `[databases]` file (its exit code says whether it exists). */
export function pgbouncerStateScript(): string {
  return `cat ${PGBOUNCER_DATABASES}`;
}
