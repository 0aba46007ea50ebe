#!/usr/bin/env bash
# Host prerequisites for pgha's nspawn platform and its tests (Debian/Ubuntu, as root).
# - systemd-container, debootstrap, dpkg-dev: build the image, boot containers, index the local repo
# - patroni, haproxy, postgresql-15: real validators for rendered files (patroni --validate-config
#   checks bin_dir, so it needs PostgreSQL's binaries)
# - openssh-client, iproute2: reach and wire the containers
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(systemd-container debootstrap dpkg-dev patroni haproxy postgresql-15 openssh-client openssl iproute2 ca-certificates)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  # Never let the host package create and start a PostgreSQL cluster of its own.
  mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf ||
    echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "prerequisites present: ${pkgs[*]}"
