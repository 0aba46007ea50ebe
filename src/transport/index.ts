export { LocalTransport } from './local.js';
export { MASK, maskSecrets, quote, raw, sh, withSecrets, type Command, type RawShell, type ShellArg } from './quote.js';
export { scanHostKey, SshTransport, type SshConnectOptions } from './ssh.js';
export { fingerprint, knownHostsLine, knownHostsName } from './known-hosts.js';
export { argv, run, type ExecResult, type Transport } from './types.js';
export { TransportPool } from './pool.js';
