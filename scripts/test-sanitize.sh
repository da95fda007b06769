#!/usr/bin/env bash
# The C suites under AddressSanitizer + UndefinedBehaviorSanitizer, then
# under valgrind's memcheck (leaks of memory and descriptors are errors).
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

plain=build-valgrind
if [[ ! -f $plain/build.ninja ]]; then
  meson setup "$plain" -Dtests=enabled -Dbench=disabled -Dbuildtype=debug
fi
ninja -C "$plain"
meson test -C "$plain" --print-errorlogs --num-processes 2 --timeout-multiplier 6 \
  --suite unit --suite process \
  --wrapper 'valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no --trace-children=no -q'
