#!/usr/bin/env bash
# The installed program: `cmake --install --component program` puts bin/faunae and its report assets
# (share/faunae/report: page.css, page.js, chart.umd.min.js) under a prefix, and the installed program
# finds those assets (not the source tree's) when it writes a report. A missing assets folder named by
# FAUNAE_REPORT_ASSETS is an error naming it, and no page is written.
#   installed.sh CMAKE BUILD_DIR WORK_DIR
set -euo pipefail
cmake=$1
build=$2
work=$3
source "$(dirname "${BASH_SOURCE[0]}")/tiny_config.sh"
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
prefix=$work/prefix
"$cmake" --install "$build" --prefix "$prefix" --component program > "$work/install.out" 2>&1 || { cat "$work/install.out"; fail "cmake --install"; }
for f in bin/faunae share/faunae/report/page.css share/faunae/report/page.js share/faunae/report/chart.umd.min.js; do
  [ -f "$prefix/$f" ] || fail "cmake --install did not install $f"
done
# A marker only the installed copy has: the page must come from it.
echo "/* faunae-installed-assets-marker */" >> "$prefix/share/faunae/report/page.css"
write_tiny_config "$work/tiny.json"
env -u FAUNAE_REPORT_ASSETS "$prefix/bin/faunae" search --run "$work/run" --config "$work/tiny.json" -q > "$work/search.out" 2>&1 \
  || { cat "$work/search.out"; fail "the installed faunae search"; }
env -u FAUNAE_REPORT_ASSETS "$prefix/bin/faunae" report --run "$work/run" > "$work/report.out" 2>&1 \
  || { cat "$work/report.out"; fail "the installed faunae report"; }
grep -qF "faunae-installed-assets-marker" "$work/run/report.html" || fail "the report did not use the installed page.css"
grep -qF "Chart.js v4" "$work/run/report.html" || fail "the report does not inline the installed Chart.js"
rm "$work/run/report.html"
if FAUNAE_REPORT_ASSETS="$work/no-such-folder" "$prefix/bin/faunae" report --run "$work/run" > "$work/missing.out" 2>&1; then
  fail "a missing assets folder was accepted"
fi
grep -qF "$work/no-such-folder/page.css" "$work/missing.out" || { cat "$work/missing.out"; fail "the error does not name the missing asset"; }
[ ! -e "$work/run/report.html" ] || fail "a report was written without its assets"
echo "installed program: ok"
