#!/bin/sh
# Screenshot of `density report` on the demo run, taken with headless Chromium.
#
#   scripts/screenshot-report.sh [OUT.png]       (default: docs/report.png)
#
# Builds `density`, records `density demo` in a temporary folder, writes `density report demo`,
# and takes a 1000-pixel-wide screenshot of the whole page. Installs Debian's chromium when it is
# missing (needs root). SCRATCH_PATH picks SwiftPM's build folder (default: .build); WIDTH the
# page width in pixels (default: 1000). Keeps the HTML next to the PNG only with KEEP_HTML=1.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/docs/report.png"}
case $out in /*) ;; *) out="$PWD/$out" ;; esac
scratch=${SCRATCH_PATH:-.build}
width=${WIDTH:-1000}

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing chromium (Debian package)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cd "$root"
swift build --scratch-path "$scratch" --product density >&2
density="$root/$scratch/debug/density"
case $scratch in /*) density="$scratch/debug/density" ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$density" demo >/dev/null 2>&1
"$density" report demo --out report.html >&2

# Chromium's --screenshot captures the window, not the page: measure the page's height at this
# width first, on a copy with one line of script added (the report itself has none).
chrome() {
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
        --window-size="$width,$1" "$2" "$3" 2>/dev/null
}
sed 's#</body>#<script>document.body.setAttribute("data-height", document.documentElement.scrollHeight)</script></body>#' \
    report.html > measure.html
height=$(chrome 1000 --dump-dom "file://$work/measure.html" | grep -o 'data-height="[0-9]*"' | grep -o '[0-9][0-9]*' || true)
[ -n "$height" ] || { echo "could not measure the page's height" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
chrome "$height" --screenshot="$work/report.png" "file://$work/report.html" >/dev/null
[ -s "$work/report.png" ] || { echo "chromium wrote no screenshot" >&2; exit 1; }
cp "$work/report.png" "$out"
[ -z "${KEEP_HTML:-}" ] || cp "$work/report.html" "${out%.png}.html"
echo "wrote $out (${width}x${height})" >&2
