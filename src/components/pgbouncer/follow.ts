/**
 * The PgBouncer follower : a python3 script (python3 is on every host) that asks
 * Patroni for the leader and points PgBouncer's `*` database at it. It is fixed text; everything
 * host-specific is in the JSON file deploy writes next to it.
 *
 * The leader's address comes from the DCS, which anyone holding etcd write access (or a
 * misconfigured member) can fill with anything. Written unchecked it would send every client,
 * with its password, wherever the DCS says, and a crafted value could add lines to the ini. So
 * the follower writes only an address:port that config.yml names as a data node
 * (`allowed_targets`, rendered by deploy) and logs anything else once, leaving the file as it is.
 */

export const FOLLOW_SCRIPT = String.raw`#!/usr/bin/python3
# Managed by pgha: changes here are overwritten by pgha deploy.
"""Point PgBouncer's [databases] at the current Patroni leader.

Run by Patroni's on_role_change callback (argv: action role scope) on the nodes whose role
changed, and with --watch by pgha-pgbouncer-follow.service on every PgBouncer host: a callback
never fires on the nodes whose role did not change, yet their PgBouncer must follow too.
"""
import fcntl
import json
import os
import signal
import ssl
import sys
import time
import urllib.request

CONFIG = os.environ.get('PGHA_FOLLOW_CONFIG', '/etc/pgbouncer/pgha-follow.json')  # tests point it elsewhere
LEADER_ROLES = ('leader', 'master', 'primary')


def log(msg):
    print('pgbouncer-follow: ' + msg, file=sys.stderr, flush=True)


def load_config():
    with open(CONFIG) as f:
        return json.load(f)


def tls_context(cfg):
    if not cfg.get('cafile'):
        return None
    ctx = ssl.create_default_context(cafile=cfg['cafile'])
    if cfg.get('certfile'):
        ctx.load_cert_chain(cfg['certfile'], cfg['keyfile'])
    return ctx


# The last target refused, so the watcher logs a refusal once rather than every interval.
refused = {'last': None}


def allowed(cfg, leader):
    """Whether (host, port) is a data node's PostgreSQL as config.yml names it."""
    return any(a.get('host') == leader[0] and a.get('port') == leader[1] for a in cfg.get('allowed_targets', []))


def find_leader(cfg, ctx):
    """(host, port) of the running leader; None while there is none (failover in progress).

    The local member is asked first; the others only when it does not answer, since all of
    them read the same DCS."""
    for api in cfg['apis']:
        try:
            with urllib.request.urlopen(api + '/cluster', timeout=cfg.get('timeout', 2), context=ctx) as r:
                doc = json.load(r)
        except Exception as e:  # noqa: BLE001 - any failure means: ask the next member
            log('%s/cluster: %s' % (api, e))
            continue
        for m in doc.get('members', []):
            if m.get('role') in LEADER_ROLES and m.get('state') == 'running' and m.get('host'):
                port = m.get('port') or cfg['default_port']
                # Anything but a plain string and a number is refused by allowed() below, not converted.
                return m['host'], port if isinstance(port, int) and not isinstance(port, bool) else str(port)
        return None
    return None


def reload_pgbouncer(cfg):
    try:
        with open(cfg['pidfile']) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as e:
        log('PgBouncer not reloaded (%s); it reads the new target when it starts' % e)


def follow_once(cfg, ctx):
    leader = find_leader(cfg, ctx)
    if leader is None:
        return None
    if not allowed(cfg, leader):
        if refused['last'] != leader:
            refused['last'] = leader
            log('ignoring leader %r:%r from the DCS: not a data node in config.yml (allowed: %s); PgBouncer left as it is'
                % (leader[0], leader[1], ', '.join('%s:%s' % (a.get('host'), a.get('port')) for a in cfg.get('allowed_targets', []))))
        return None
    refused['last'] = None
    content = cfg['databases_template'].replace('{host}', leader[0]).replace('{port}', str(leader[1]))
    path = cfg['databases_file']
    try:
        with open(path) as f:
            current = f.read()
    except FileNotFoundError:
        current = None
    if current != content:
        # Rewritten in place: the directory is root's, the file is ours; PgBouncer only reads
        # it on the SIGHUP that follows the write.
        with open(path, 'w') as f:
            f.write(content)
        log('leader is %s:%d, PgBouncer now points there' % leader)
        reload_pgbouncer(cfg)
    return leader


def locked(cfg, fn):
    # The callback and the watcher may run at once; one writer at a time.
    with open(cfg['lockfile'], 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return fn()


def main(argv):
    if '--watch' in argv:
        while True:
            cfg = load_config()
            try:
                locked(cfg, lambda: follow_once(cfg, tls_context(cfg)))
            except Exception as e:  # noqa: BLE001 - keep watching; systemd restarts us otherwise
                log('error: %s' % e)
            time.sleep(cfg.get('interval', 2))
    cfg = load_config()
    deadline = time.monotonic() + cfg.get('callback_wait', 30)
    # Called on role change the new leader may not hold the leader key yet: wait a little.
    while locked(cfg, lambda: follow_once(cfg, tls_context(cfg))) is None:
        if time.monotonic() > deadline:
            log('no running leader yet; the watcher will catch up')
            return 0
        time.sleep(1)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
`;
