#!/usr/bin/env bash
# One command from a fresh checkout (after `npm ci`) to a working local cluster:
# 3 PostgreSQL nodes managed by Patroni with etcd on them, plus 1 HAProxy, in nspawn containers
# (Debian 13 and PostgreSQL 17; PGHA_DEMO_OS_VERSION=12 for Debian 12 and PostgreSQL 15).
set -euo pipefail
cd "$(dirname "$0")/.."
# Containers need root: a user with sudo gets it asked for here; root on a minimal Debian has no sudo and needs none.
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then exec sudo --preserve-env=PGHA_DEMO_DIR,PGHA_DEMO_OS_VERSION bash "$0" "$@"; fi
  echo "the demo builds containers: run it as root (there is no sudo here)" >&2
  exit 2
fi
DIR=${PGHA_DEMO_DIR:-clusters/demo}
pgha() { node bin/pgha.js "$@"; }

./scripts/install-prereqs.sh
[ -f dist/cli/main.js ] || npm run build
if [ ! -f "$DIR/config.yml" ]; then
  pgha configure "$DIR" -a M1 --enable-patroni --enable-haproxy --platform nspawn --os-version "${PGHA_DEMO_OS_VERSION:-13}"
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
