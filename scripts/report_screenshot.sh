#!/usr/bin/env bash
# Renders an `fptq report` HTML page in headless Chromium (Debian's
# `chromium`, installed with apt if missing), fails when the browser logs a
# console message or a failed load (the page has no scripts and fetches
# nothing, so it must log none), and writes PNG screenshots:
#   OUT_DIR/page.png           the top of the page (1280 wide)
#   OUT_DIR/<id>.png           one per element id given (e.g. overview-chart,
#                              blk.3.ffn_down_in), the element cut out of the
#                              page into a page of its own with the same CSS
# Usage: scripts/report_screenshot.sh REPORT.html OUT_DIR [ELEMENT_ID...]
# Not run by CI (it needs a browser); a manual check of the report.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT.html OUT_DIR [ELEMENT_ID...]" >&2
  exit 2
fi
report=$(realpath "$1")
out=$2
shift 2
mkdir -p "$out"
out=$(realpath "$out")

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "report_screenshot: installing chromium (apt)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  browser=$(command -v chromium)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shot PAGE.html OUT.png WIDTH HEIGHT: screenshot + console check.
shot() {
  local page=$1 png=$2 w=$3 h=$4 log="$work/log.txt"
  "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$work/profile" --no-first-run --disable-extensions \
    --enable-logging=stderr --v=0 --virtual-time-budget=2000 \
    --window-size="$w,$h" --screenshot="$png" "file://$page" >"$log" 2>&1 || {
    cat "$log" >&2
    echo "report_screenshot: chromium failed on $page" >&2
    exit 1
  }
  if grep -E 'CONSOLE|Uncaught|Failed to load resource|net::ERR_|Refused to' "$log" >&2; then
    echo "report_screenshot: console messages while rendering $page (above)" >&2
    exit 1
  fi
  [ -s "$png" ] || { echo "report_screenshot: no screenshot for $page" >&2; exit 1; }
  echo "report_screenshot: $png"
}

shot "$report" "$out/page.png" 1280 2400

for id in "$@"; do
  python3 - "$report" "$id" "$work/$id.html" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
ident = sys.argv[2]
css = re.search(r"<style>.*?</style>", html, re.S).group(0)
start = html.find('id="%s"' % ident)
if start < 0:
    sys.exit("report_screenshot: no element with id %r in the report" % ident)
start = html.rfind("<", 0, start)
tag = re.match(r"<(\w+)", html[start:]).group(1)
# The element ends where its tag's nesting depth returns to zero.
depth, i = 0, start
pat = re.compile(r"<(/?)%s\b[^>]*>" % tag)
for m in pat.finditer(html, start):
    depth += -1 if m.group(1) else 1
    if depth == 0:
        i = m.end()
        break
page = '<!DOCTYPE html><html><head><meta charset="utf-8">%s</head><body style="margin:8px">%s</body></html>' % (css, html[start:i])
open(sys.argv[3], "w", encoding="utf-8").write(page)
PY
  h=900
  case "$id" in
    *-chart) h=420 ;;
    blk.*) h=1250 ;;
  esac
  shot "$work/$id.html" "$out/$id.png" 1200 "$h"
done
