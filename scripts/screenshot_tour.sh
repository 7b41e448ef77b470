#!/usr/bin/env bash
# Open a tour's index.html in headless Chromium and save a full-page screenshot, to look
# at what a newcomer sees (issue 11). Needs Debian's `chromium` package:
#   apt-get install chromium
# Usage: scripts/screenshot_tour.sh TOUR_DIR [OUT.png] [HEIGHT]
set -euo pipefail
dir=$(cd "${1:?usage: scripts/screenshot_tour.sh TOUR_DIR [OUT.png] [HEIGHT]}" && pwd)
out=${2:-$dir/screenshot.png}
height=${3:-4000}
[ -f "$dir/index.html" ] || { echo "no index.html in $dir" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1280,"$height" \
  --screenshot="$out" "file://$dir/index.html" 2>/dev/null
echo "$out"
