#!/usr/bin/env bash
# The unit suites and a few integration suites under valgrind's memcheck:
# every test program runs under
#   valgrind --leak-check=full --error-exitcode=1 --trace-children=no
# so an invalid read or write, a use of uninitialised memory or a leak at
# exit fails the test. Children the tests fork stay under valgrind but are
# silent (--child-silent-after-fork): many of them end with _exit() or a
# SIGKILL on purpose, and ASan/LSan (scripts/test-sanitize.sh) checks them.
# Executed programs (commands, spawn-method children) run natively.
#
#   scripts/test-valgrind.sh            # build-valgrind, the suites below
#   MP_VALGRIND_BUILD_DIR=dir scripts/test-valgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
  echo "test-valgrind: valgrind is not installed (scripts/setup-debian.sh --ci installs it)" >&2
  exit 1
fi

build=${MP_VALGRIND_BUILD_DIR:-build-valgrind}
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Dtests=enabled -Dbench=disabled -Dbuildtype=debug
fi
tests="test_errors test_cmd test_badinput test_dict test_pool"
# Build only these tests and the helper they run (not the examples, fuzz
# replays and other suites), then run them without meson's full rebuild.
ninja -C "$build" tests/mp-test-helper $(printf 'tests/%s ' $tests)

# Exit code 97 for memcheck's errors: a forked child runs memcheck too and
# exits with it when it finds the parent's heap unreachable at its exit
# (see below); test_dict (MP_TEST_VALGRIND_EXIT) reads 97 from a child as
# that verdict, never as the child's own result.
wrapper="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
  --error-exitcode=97 --trace-children=no --child-silent-after-fork=yes --quiet"
export MP_TEST_VALGRIND_EXIT=97

# The unit suites, the dict and the pool. Left out on purpose:
# - suites that check the exit code of forked children (test_threads,
#   test_target, test_conn, test_queue, and the sync programs split from
#   test_sync: test_lock, test_cond, test_sema_event, test_barrier,
#   test_shm, test_value): under valgrind a forked child runs memcheck
#   too, finds the parent's heap unreachable at its exit and exits with
#   --error-exitcode, which the tests rightly report;
# - test_handles, whose test_sync_handles_freed calls functions on freed
#   handles on purpose (the library's magic word makes that harmless in
#   practice; memcheck rightly calls it a read of freed memory);
# - the 64 MiB and timing tests, 20-50x slower under valgrind.
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 10 \
  --wrapper "${wrapper//$'\n'/ }" \
  $tests
