/**
 * HAProxy's servers keep their health across a reload (and a restart).
 *
 * A reload starts new workers, and a new worker's servers start UP until their first failed
 * check: for about one `inter`, pgha_rw sends new connections to every member, replicas included,
 * and their writes fail (read-only). The security e2e saw it during `rotate-certs --ca`: 79 of
 * 2977 writes failed in a 2.2 s gap, each reload of HAProxy (a changed certificate) one burst.
 * HAProxy's remedy: the old process's `show servers state` written to a file just before the
 * new one starts, which loads it (`server-state-file` + `load-server-state-from-file`). Debian's
 * unit has no such step, so a drop-in replaces its ExecReload with the same two commands and the
 * save between them, and saves on stop too (a restart for a package upgrade starts from it).
 *
 * A stale file is never worse than none: HAProxy applies a saved state only to the server of the
 * same name and address, and the next checks correct it, as they would correct "all UP".
 */
import type { DesiredFile } from '../../model/types.js';
import { haproxyStateScript } from './live.js';

export const HAPROXY_SERVER_STATE_FILE = '/var/lib/haproxy/server-state';
const SAVE_SCRIPT = '/usr/local/lib/pgha/haproxy-save-state';
export const HAPROXY_DROP_IN = '/etc/systemd/system/haproxy.service.d/pgha.conf';

const SAVE = `#!/bin/sh
# pgha: HAProxy's servers' states, for the next process to load (see its haproxy.cfg:
# server-state-file). Written to a temporary file first, so a failed read never leaves half a file.
set -e
${haproxyStateScript()} > ${HAPROXY_SERVER_STATE_FILE}.new
mv -f ${HAPROXY_SERVER_STATE_FILE}.new ${HAPROXY_SERVER_STATE_FILE}
`;

/** A state file with no server in it: only its format's version line. Without a file at all HAProxy warns on every start and `haproxy -c`. */
export const EMPTY_SERVER_STATE = '1\n';

// Debian's own two ExecReload lines (12 and 13 differ only in -q) around the save; a save that
// fails (HAProxy not answering on its socket) must not stop the reload: `-` ignores its status.
const DROP_IN = `# pgha: keep the servers' health across reloads and restarts (${SAVE_SCRIPT})
[Service]
ExecStartPre=/bin/sh -c '[ -e ${HAPROXY_SERVER_STATE_FILE} ] || printf "${EMPTY_SERVER_STATE.replace('\n', '\\n')}" > ${HAPROXY_SERVER_STATE_FILE}'
ExecReload=
ExecReload=/usr/sbin/haproxy -Ws -f $CONFIG -c -q $EXTRAOPTS
ExecReload=-${SAVE_SCRIPT}
ExecReload=/bin/kill -USR2 $MAINPID
ExecStop=-${SAVE_SCRIPT}
`;

export function serverStateFiles(): DesiredFile[] {
  return [
    { path: SAVE_SCRIPT, content: SAVE, owner: 'root', group: 'root', mode: 0o755 },
    { path: HAPROXY_DROP_IN, content: DROP_IN, owner: 'root', group: 'root', mode: 0o644 },
  ];
}
