/**
 * The postmaster watch: a python3 unit on every data node that wakes Patroni's HA loop the moment
 * PostgreSQL's postmaster exits, so that a crashed PostgreSQL is handled now instead of at the
 * next HA cycle (up to `loop_wait`, 10 s, later: most of a postmaster kill's write gap).
 *
 * How it wakes Patroni: `PATCH /config` with `{"pgha_postmaster_exited": null}`. Patroni (3.0.2
 * and 4.0.7 alike) applies the patch to a copy of the DCS configuration, which removing a key
 * that does not exist leaves unchanged, so nothing is written to the DCS; then the handler calls
 * `ha.wakeup()`, which sets the event the main loop sleeps on between cycles. pgha's deploy wakes
 * the leader the same way (../../app/deploy/patroni-waits.ts).
 *
 * Only a crash wakes Patroni: a postmaster that exits with its postmaster.pid still naming it
 * (kill -9, a fatal signal, the OOM killer). Every shutdown, in any mode, removes that file before
 * the process ends, so no exit Patroni itself causes (a demotion, a restart, a stop, pg_rewind's
 * single-user run) brings a cycle forward. One exception: a stop that outruns Patroni's timeout
 * (`primary_stop_timeout`, or `retry_timeout` for some immediate stops) ends in Patroni's own
 * SIGKILL, which leaves the file; the wake then only makes Patroni's next cycle follow the
 * current one at once. (Asking Patroni's state first was tried: GET /patroni queries the dead
 * PostgreSQL and took 1.3–1.6 s, most of the gain.) Before it wakes Patroni it waits (≤ 10 s, Patroni's loop_wait) for the dead postmaster's
 * leftover backends to exit: a new postmaster refuses to start while they hold its shared memory,
 * and Patroni would then give the leader key up. The first version woke Patroni on every exit, and in
 * one CI run of the frozen-leader case the resumed old leader, woken as its demotion stopped its
 * postmaster, took the leader key back (1059 acknowledged writes lost); `loop_wait: 1`, which
 * also runs that old leader's cycles sooner, had lost 1040 the same way. A frozen or partitioned
 * leader's postmaster is not crashed, so the watch leaves their paths exactly as Patroni runs them.
 *
 * The cycle a crash brings forward is the one Patroni runs every `loop_wait` anyway, by its one
 * main thread, so it never overlaps another cycle. `loop_wait`, `ttl` and `retry_timeout` are
 * unchanged.
 *
 * It authenticates like patronictl on the node: it reads Patroni's own configuration (the REST
 * API's address, CA, basic credentials or, under mtls, the node certificate) at every wake, so a
 * rotated password or certificate needs no restart of the watch. It is fixed text; the unit
 * passes the configuration's path.
 */
import type { DesiredFile, ResolvedCluster } from '../../model/types.js';
import { POSTMASTER_WATCH_SCRIPT, POSTMASTER_WATCH_UNIT } from '../paths.js';
import { patroniConfigPath, patroniUnit } from './config.js';

export const POSTMASTER_WATCH = String.raw`#!/usr/bin/python3
# Managed by pgha: changes here are overwritten by pgha deploy.
"""Wake Patroni's HA loop when the postmaster exits (see pgha's src/components/patroni/postmaster-watch.ts).

argv: the path of Patroni's configuration file.
"""
import base64
import json
import os
import select
import ssl
import sys
import time
import urllib.request

import yaml

# Removing a key the DCS configuration does not have changes nothing; the request only wakes the loop.
WAKE_BODY = json.dumps({'pgha_postmaster_exited': None}).encode()
POLL = float(os.environ.get('PGHA_WATCH_POLL', '0.5'))  # tests shorten it
LEFTOVER_WAIT = float(os.environ.get('PGHA_WATCH_LEFTOVER_WAIT', '10'))  # Patroni's loop_wait


def log(msg):
    print('postmaster-watch: ' + msg, file=sys.stderr, flush=True)


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def postmaster_pid(data_dir):
    try:
        with open(os.path.join(data_dir, 'postmaster.pid')) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def is_postgres(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip() == 'postgres'
    except OSError:
        return False


def wait_exit(pid):
    """Blocks until process pid exits (a pidfd is readable then); polls where pidfds are missing."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        while os.path.exists('/proc/%d' % pid) and is_postgres(pid):
            time.sleep(0.1)
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def leftover_backends():
    """This user's postgres processes: a crashed postmaster's children that have not noticed yet."""
    me = os.getuid()
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            if os.stat('/proc/' + entry).st_uid != me:
                continue
        except OSError:
            continue
        if is_postgres(int(entry)):
            found.append(int(entry))
    return found


def api_request(cfg, method, path, body):
    """Patroni's own REST API, as patronictl on this node reaches it (address, CA, credentials)."""
    api = cfg.get('restapi') or {}
    tls = bool(api.get('certfile'))
    url = ('https' if tls else 'http') + '://' + api['connect_address'] + path
    req = urllib.request.Request(url, data=body, method=method, headers={'Content-Type': 'application/json'})
    auth = api.get('authentication')
    if auth:
        token = base64.b64encode((auth['username'] + ':' + auth['password']).encode()).decode()
        req.add_header('Authorization', 'Basic ' + token)
    ctx = None
    if tls:
        ctx = ssl.create_default_context(cafile=api.get('cafile'))
        if api.get('verify_client') in ('required', 'optional'):
            ctx.load_cert_chain(api['certfile'], api.get('keyfile'))
    with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
        return r.read()


def main(path):
    data_dir = load(path)['postgresql']['data_dir']
    while True:
        pid = postmaster_pid(data_dir)
        # A stale postmaster.pid (PostgreSQL down) names a dead or unrelated process: wait for a new one.
        if not pid or not is_postgres(pid):
            time.sleep(POLL)
            continue
        log('watching postmaster %d' % pid)
        wait_exit(pid)
        # A postmaster that stops (any shutdown mode, Patroni's demotions included) removes its
        # postmaster.pid before it exits; one that crashed (kill -9, a fatal signal) leaves it
        # naming itself. Only a crash wakes Patroni: every exit Patroni causes stays on its timing.
        if postmaster_pid(data_dir) != pid:
            log('postmaster %d stopped (postmaster.pid removed): nothing to do' % pid)
            time.sleep(POLL)
            continue
        t = time.time()
        # A backend busy in a statement notices its postmaster's death only at its next wait; until
        # it exits, a new postmaster refuses to start (its shared memory is still in use) and
        # Patroni would give the leader key up. Wake Patroni once they are gone (they usually are
        # within milliseconds), or after LEFTOVER_WAIT: no later than Patroni's own cycle would come.
        while leftover_backends() and time.time() - t < LEFTOVER_WAIT:
            time.sleep(0.05)
        try:
            cfg = load(path)
            data_dir = cfg['postgresql']['data_dir']
            api_request(cfg, 'PATCH', '/config', WAKE_BODY)
            log('postmaster %d exited; woke Patroni in %.0f ms' % (pid, (time.time() - t) * 1000))
        except Exception as e:  # Patroni down or restarting: its own loop finds PostgreSQL gone
            log('postmaster %d exited; could not wake Patroni: %s' % (pid, e))
        time.sleep(POLL)


if __name__ == '__main__':
    main(sys.argv[1])
`;

/**
 * The unit: as postgres (it reads Patroni's configuration, mode 0600, and watches postgres's
 * process). After Patroni's unit only so a boot starts them in a sensible order; it needs nothing
 * from Patroni until a postmaster exits.
 */
export function postmasterWatchUnit(cluster: ResolvedCluster): string {
  return `# Managed by pgha: changes here are overwritten by \`pgha deploy\`.
[Unit]
Description=pgha: wake Patroni when PostgreSQL's postmaster exits
After=${patroniUnit(cluster)}

[Service]
Type=simple
User=postgres
Group=postgres
ExecStart=/usr/bin/python3 ${POSTMASTER_WATCH_SCRIPT} ${patroniConfigPath(cluster)}
Restart=always
RestartSec=2s

[Install]
WantedBy=multi-user.target
`;
}

export function postmasterWatchFiles(cluster: ResolvedCluster): DesiredFile[] {
  return [
    { path: POSTMASTER_WATCH_SCRIPT, content: POSTMASTER_WATCH, owner: 'root', group: 'root', mode: 0o755 },
    {
      path: `/etc/systemd/system/${POSTMASTER_WATCH_UNIT}`,
      content: postmasterWatchUnit(cluster),
      owner: 'root',
      group: 'root',
      mode: 0o644,
    },
  ];
}
