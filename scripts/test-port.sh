#!/usr/bin/env bash
# The build a port makes (issue 18): the Linux-specific mechanisms compiled
# out (-Dlinux_mechanisms=disabled: no memfd, futexes or pthread robust
# mutexes; only the portable backend), with -Werror, then the suites the
# portable backend carries (docs/guide.md, "Platforms"), the process layer
# (uv_spawn, fork + SIGCHLD, the parent pipe of daemons) and pools included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh

port=build-port
if [[ ! -f $port/build.ninja ]]; then
  meson setup "$port" -Dtests=enabled -Dbench=disabled \
    -Dlinux_mechanisms=disabled -Dwerror=true
fi
ninja -C "$port"
meson test -C "$port" --print-errorlogs --num-processes 2 \
  --suite unit --suite sync --suite ipc --suite process --suite pool --suite portable
