/** Remote paths pgha writes, in one place so components can refer to each other's files. */

export const PATRONI_SSL_DIR = '/etc/patroni/ssl';
export const PATRONI_CA = `${PATRONI_SSL_DIR}/ca.crt`;
export const PATRONI_CERT = `${PATRONI_SSL_DIR}/node.crt`;
export const PATRONI_KEY = `${PATRONI_SSL_DIR}/node.key`;
export const PG_SOCKET_DIR = '/var/run/postgresql';
/** ./patroni/postmaster-watch.ts: wakes Patroni's HA loop when the postmaster exits. */
export const POSTMASTER_WATCH_SCRIPT = '/usr/local/lib/pgha/postmaster-watch';
export const POSTMASTER_WATCH_UNIT = 'pgha-postmaster-watch.service';
/** Read by postgresql-common through createcluster.conf's include_dir, so no conffile is touched. */
export const PG_CREATECLUSTER_DROP_IN = '/etc/postgresql-common/createcluster.d/pgha.conf';

export const ETCD_SSL_DIR = '/etc/etcd/ssl';
export const ETCD_CONFIG = '/etc/etcd/pgha.conf.yml';
export const ETCD_DEFAULTS = '/etc/default/etcd';
export const ETCD_DROP_IN = '/etc/systemd/system/etcd.service.d/pgha.conf';

export const HAPROXY_CONFIG = '/etc/haproxy/haproxy.cfg';
export const HAPROXY_SSL_DIR = '/etc/haproxy/ssl';
export const HAPROXY_CA = `${HAPROXY_SSL_DIR}/ca.crt`;
export const HAPROXY_CLIENT_PEM = `${HAPROXY_SSL_DIR}/haproxy.pem`;
export const HAPROXY_ADMIN_SOCKET = '/run/haproxy/admin.sock';

export const KEEPALIVED_CONFIG = '/etc/keepalived/keepalived.conf';

export const PGBOUNCER_INI = '/etc/pgbouncer/pgbouncer.ini';
export const PGBOUNCER_DATABASES = '/etc/pgbouncer/pgha-databases.ini';
export const PGBOUNCER_USERLIST = '/etc/pgbouncer/userlist.txt';
export const PGBOUNCER_PIDFILE = '/var/run/postgresql/pgbouncer.pid';
export const PGBOUNCER_FOLLOW_SCRIPT = '/usr/local/lib/pgha/pgbouncer-follow';
export const PGBOUNCER_FOLLOW_CONFIG = '/etc/pgbouncer/pgha-follow.json';
export const PGBOUNCER_FOLLOW_UNIT = 'pgha-pgbouncer-follow.service';

/** bare + use_local_repo_only: where deploy copies DIR/local-repo, and the apt list naming it. */
export const LOCAL_REPO_REMOTE_DIR = '/var/lib/pgha/repo';
export const LOCAL_REPO_SOURCE_LIST = '/etc/apt/pgha-local-repo.list';
