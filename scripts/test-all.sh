#!/usr/bin/env bash
# Set up a fresh Debian 12 machine and run every test: the C suites, the Go
# and Ruby bindings (suites go, ruby) and the cross-language matrix
# (crosslang), in one meson build.
# Usage: scripts/test-all.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/setup-debian.sh
options=(-Dtests=enabled -Dgo=enabled -Druby=enabled)
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" "${options[@]}"
else
  meson configure "$build" "${options[@]}"
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
