#!/usr/bin/env bash
# The C suites under AddressSanitizer + UndefinedBehaviorSanitizer, then
# again with the portable exit watch. LeakSanitizer (part of ASan) checks
# leaks at the exit of every test process.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh

asan=build-asan
if [[ ! -f $asan/build.ninja ]]; then
  meson setup "$asan" -Dtests=enabled -Dbench=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
fi
ninja -C "$asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C "$asan" --print-errorlogs --num-processes 2 --timeout-multiplier 3

# The same suites with the portable exit watch (SIGCHLD + waitpid(pid))
# that old kernels get instead of pidfds.
MULTIPROC_DISABLE_PIDFD=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C "$asan" --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
  --suite process
