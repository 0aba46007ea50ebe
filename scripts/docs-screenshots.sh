#!/usr/bin/env bash
# Screenshots of a running cluster's Prometheus for the README (issue 15):
#   npm run docs:screenshots -- DIR        (or DIR=clusters/main npm run docs:screenshots)
# DIR is a deployed pgha cluster directory with a monitoring-server host. Writes
# docs/img/prometheus-targets.png and docs/img/prometheus-alerts.png.
#
# Where Prometheus answers comes from pgha itself (`pgha status DIR -o json`, its `prometheus`
# entries), so run `npm run build` first. Debian's chromium takes the pictures headless; when it
# is missing the script installs it with apt-get, which needs root (run as root, or install
# chromium yourself first). Prometheus' pages are drawn partly by JavaScript, hence chromium's
# virtual time budget.
#
# Debian's prometheus package serves the classic UI under /classic/ (at the top, Debian 12 answers
# 404 and Debian 13 a page saying the React UI is not packaged), upstream's builds the newer one at
# the top: each page is looked for at both, and the script stops, non-zero
# and naming the URL, when neither answers with an HTML page, or when the picture is no bigger
# than a blank or error page's (PGHA_SCREENSHOT_MIN_BYTES, 20 KB: a 404 page is about 14 KB at
# this size). A failed picture never replaces a committed one.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-${DIR:-}}
OUT=${PGHA_SCREENSHOTS_OUT:-$ROOT/docs/img}
MIN_BYTES=${PGHA_SCREENSHOT_MIN_BYTES:-20000}

fail() {
  echo "docs-screenshots: $*" >&2
  exit 1
}

[ -n "$DIR" ] || {
  echo "usage: npm run docs:screenshots -- DIR   (a running pgha cluster directory with a monitoring-server host)" >&2
  exit 2
}
[ -f "$DIR/config.yml" ] || fail "$DIR/config.yml not found: DIR must be a pgha cluster directory"
[ -f "$ROOT/dist/bundle/main.js" ] || fail "pgha is not built: run npm run build first"

# Prometheus' URL as pgha status prints it (read from config.yml; status needs a member answering).
status=$(node "$ROOT/bin/pgha.js" status "$DIR" -o json) || fail "pgha status $DIR failed (is the cluster running?)"
PROMETHEUS=$(printf '%s' "$status" | node -e '
  let text = "";
  process.stdin.on("data", (b) => (text += b));
  process.stdin.on("end", () => {
    const url = (JSON.parse(text).prometheus ?? [])[0]?.prometheus;
    if (url) console.log(url.replace(/\/?$/, "/"));
  });
')
[ -n "$PROMETHEUS" ] || fail "pgha status $DIR lists no monitoring host: add an instance with role monitoring-server and deploy"
echo "Prometheus: $PROMETHEUS"

if ! command -v chromium >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "chromium is missing and installing it needs root: run this as root, or apt-get install chromium first"
  echo "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The first of the page's URLs that answers 200 with an HTML page that is neither "not found" nor
# Debian's "does not include the modern React web UI" placeholder.
page_url() {
  local url
  for url in "$@"; do
    if node --input-type=module -e '
      const res = await fetch(process.argv[1], { redirect: "follow", signal: AbortSignal.timeout(10000) }).catch(() => undefined);
      const body = res ? await res.text() : "";
      const html = res?.ok && /text\/html/.test(res.headers.get("content-type") ?? "") && /<html/i.test(body);
      process.exit(html && !/page not found|does not include the modern React web UI/i.test(body) ? 0 : 1);
    ' "$url"; then
      echo "$url"
      return 0
    fi
  done
  return 1
}

shoot() {
  local name=$1 url png
  shift
  url=$(page_url "$@") || fail "no Prometheus page for $name answers with HTML: tried $*"
  png="$WORK/prometheus-$name.png"
  echo "$url → $OUT/prometheus-$name.png"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/profile" \
    --window-size=1400,1800 --virtual-time-budget=15000 --screenshot="$png" "$url" >"$WORK/chromium.log" 2>&1 ||
    fail "chromium failed on $url: $(tail -n 5 "$WORK/chromium.log")"
  [ -s "$png" ] || fail "chromium wrote no picture of $url"
  local size
  size=$(stat -c %s "$png")
  [ "$size" -gt "$MIN_BYTES" ] ||
    fail "the picture of $url is $size bytes, no more than a blank or error page's ($MIN_BYTES): look at it in a browser"
  mkdir -p "$OUT"
  mv "$png" "$OUT/prometheus-$name.png"
}

shoot targets "${PROMETHEUS}targets" "${PROMETHEUS}classic/targets"
shoot alerts "${PROMETHEUS}alerts" "${PROMETHEUS}classic/alerts"
echo "done: $OUT/prometheus-targets.png, $OUT/prometheus-alerts.png"
