#!/usr/bin/env bash
# ThreadSanitizer over the multi-threaded paths: the runtime's loop thread
# (reaping, communicate), pool result handling and callbacks, and queues,
# connections, locks, values and the dict used from several threads of one
# process (tests/integration/test_threads.c), plus the unit suites (every
# bad-input call runs on its own thread) and the suites whose parent side is
# threaded: pools and the dict. (test_conn is left out: its 64 MiB transfer
# outlasts its timeout under TSan; test_threads covers a connection shared
# by threads.)
#
# TSan sees one process: it cannot model memory shared between processes,
# so the suites that are about other processes (spawn, signals, queue
# crashes) are left to scripts/test-sanitize.sh. GCC's TSan is used (clang
# 14's shared runtime crashes at start-up on this kernel, and its static one
# cannot link into libmultiproc.so, which is linked with --no-undefined).
# Neither has an interceptor for pthread_mutex_clocklock; TSan builds of the
# library wait with pthread_mutex_timedlock instead (src/core/robust_mutex.cpp),
# so no suppression is needed for it. Suppressions, each with its reason,
# live in scripts/tsan.supp.
#
#   scripts/test-tsan.sh                  # build-tsan
#   MP_TSAN_BUILD_DIR=dir scripts/test-tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build=${MP_TSAN_BUILD_DIR:-build-tsan}
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Dtests=enabled -Dbench=disabled \
    -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized
fi
tests="test_errors test_cmd test_badinput test_threads test_pool test_dict"
# Build only these tests and the helper they run (not the examples, fuzz
# replays and other suites), then run them without meson's full rebuild.
ninja -C "$build" tests/mp-test-helper $(printf 'tests/%s ' $tests)

TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
  meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 4 \
  $tests
