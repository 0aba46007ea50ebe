#!/usr/bin/env bash
# One command from a fresh checkout (after `npm ci`) to a working local cluster:
# 3 PostgreSQL 15 nodes managed by Patroni with etcd on them, plus 1 HAProxy, in nspawn containers.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "the demo builds containers: run it as root (sudo npm run demo)" >&2; exit 2; fi
DIR=${PGHA_DEMO_DIR:-clusters/demo}
pgha() { node bin/pgha.js "$@"; }

./scripts/install-prereqs.sh
[ -f dist/cli/main.js ] || npm run build
if [ ! -f "$DIR/config.yml" ]; then
  pgha configure "$DIR" -a M1 --enable-patroni --enable-haproxy --platform nspawn
fi
pgha download-packages "$DIR"
pgha provision "$DIR"
pgha deploy "$DIR"
pgha status "$DIR"

cat <<MSG

Cluster "$(basename "$DIR")" is up (deploy printed where clients connect).
  password:  node bin/pgha.js show-password $DIR postgres
  inspect:   node bin/pgha.js render $DIR --host pg1 --file patroni.yml
  remove:    node bin/pgha.js deprovision $DIR
MSG
