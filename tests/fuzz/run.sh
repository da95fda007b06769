#!/bin/sh
# Run the libFuzzer harnesses one after another (the machine's cores are
# shared: one harness at a time).
#
#   tests/fuzz/run.sh [seconds-per-harness] [harness...]
#
# seconds: default 120. harness: bootstrap conn_frame handle_env
# pool_protocol queue_shm dict_shm (default: all). The build directory is
# $FUZZ_BUILD (default build-fuzz, configured with
#   CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=enabled -Dtests=disabled -Dbench=disabled -Db_lundef=false).
# Seeds in tests/fuzz/corpus/<harness> are read, never written; new inputs
# go to $FUZZ_BUILD/fuzz-work/<harness>/corpus, crashes and hangs to
# $FUZZ_BUILD/fuzz-work/<harness>/artifacts, the log to .../log. Exit status
# 1 if any harness found a crash, a hang or a sanitizer report.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${FUZZ_BUILD:-build-fuzz}
seconds=${1:-120}
[ $# -gt 0 ] && shift
harnesses=${*:-bootstrap conn_frame handle_env pool_protocol queue_shm dict_shm}

status=0
printf '%-14s %10s %8s %6s %6s %7s %s\n' harness execs exec/s cov ft corpus result
for h in $harnesses; do
  exe=$build/tests/fuzz/fuzz_$h
  if [ ! -x "$exe" ]; then
    echo "run.sh: $exe not built (ninja -C $build)" >&2
    exit 2
  fi
  work=$build/fuzz-work/$h
  mkdir -p "$work/corpus" "$work/artifacts"
  dict=
  [ -f "$here/$h.dict" ] && dict=-dict=$here/$h.dict
  # -timeout: an input running 10 s is a hang (every call uses timeout 0).
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" $dict \
    "$work/corpus" "$here/corpus/$h" >"$work/log" 2>&1
  rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|pulse|NEW|REDUCE)' "$work/log" | tail -n 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
  cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$done_line" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
  if [ $rc -eq 0 ]; then
    result=ok
  else
    result="FAILED (rc $rc): see $work/log and $work/artifacts"
    status=1
    # Show the report where a test log will see it.
    grep -E 'ERROR|FUZZ_CHECK|SUMMARY|runtime error|Test unit written' "$work/log" | head -n 20 >&2
  fi
  printf '%-14s %10s %8s %6s %6s %7s %s\n' "$h" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$result"
done
exit $status
