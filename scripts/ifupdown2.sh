#!/usr/bin/env bash
# Unpacks Debian's ifupdown2 into .tools/ifupdown2 — not installed: installing it would take over
# the machine's /etc/network — so the tests can run its own parser (`ifup -a -s`, syntax check
# only) on the interfaces files Bulkhead renders for Cumulus. Its configuration goes where
# ifupdown2 looks beside its package when /etc/network/ifupdown2 is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.tools/ifupdown2
[ -f "$target/usr/share/ifupdown2/__main__.py" ] && exit 0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && apt-get download ifupdown2 >/dev/null 2>&1) || { echo "ifupdown2: apt-get download failed (is a Debian package source configured?)" >&2; exit 1; }
mkdir -p "$target"
dpkg -x "$scratch"/ifupdown2_*.deb "$target"
mkdir -p "$target/usr/share/ifupdown2/etc/network"
cp -r "$target/etc/network/ifupdown2" "$target/usr/share/ifupdown2/etc/network/"
echo "ifupdown2 unpacked into $target"
