/**
 * Session settings for SQL that carries SCRAM verifiers (as good as a password to whoever can
 * log in with SCRAM): whatever log_statement, the duration and sampling settings or an error
 * say, these statements stay out of PostgreSQL's log; IF NOT EXISTS notices are not news.
 * Superuser only (log_min_error_statement), which is who runs them.
 */
export const QUIET_SESSION_SQL = [
  "SET log_statement TO 'none';",
  'SET log_min_duration_statement TO -1;',
  'SET log_min_error_statement TO panic;',
  'SET log_min_duration_sample TO -1;',
  'SET log_transaction_sample_rate TO 0;',
  'SET client_min_messages TO warning;',
].join('\n');
