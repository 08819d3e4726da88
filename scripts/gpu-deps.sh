#!/usr/bin/env bash
# For a GPU machine that cannot install packages (no network): unpacks Debian 12's header-only and
# small dependencies into .deps/root, to be copied along with the tree; scripts/gpu-check.sh finds
# them there. Run on Debian 12 (amd64), with network.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps && mkdir -p .deps/debs .deps/root
(cd .deps/debs && apt-get download libeigen3-dev nlohmann-json3-dev libfmt-dev libfmt9 catch2 libcli11-dev libstb-dev zlib1g-dev libgloo-dev)
for f in .deps/debs/*.deb; do dpkg -x "$f" .deps/root; done
rm -rf .deps/root/usr/share/doc .deps/root/usr/share/man
# Absolute links into the host's /lib would dangle there; the static archives are used instead.
rm -f .deps/root/usr/lib/x86_64-linux-gnu/libz.so .deps/root/usr/lib/x86_64-linux-gnu/libstb.so
grep -qx '/.deps/' .git/info/exclude 2> /dev/null || echo '/.deps/' >> .git/info/exclude
du -sh .deps/root
