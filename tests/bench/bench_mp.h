/*
 * What the benchmark programs that call multiproc share (bench_process.c,
 * bench_ipc.c, bench_sync.c, bench_pool.c): aborting on a library error,
 * in the parent and in a child, and joining children. Header-only, so
 * that bench_common (also linked by the Boost peer) stays free of
 * multiproc.
 */
#ifndef BENCH_MP_H
#define BENCH_MP_H

#include <stdio.h>
#include <string.h>

#include "bench_common.h"
#include "multiproc.h"

/* Abort the benchmark on a library error, with the library's message. */
static inline void check_mp(int r, const char *what) {
  if (r < 0)
    die("%s failed: %s (%s): %s", what, mp_err_name(r), mp_strerror(r),
        mp_last_error());
}

/* In a child: record a library error, return 1 (the exit status). */
static inline int child_mp_fail(int r, const char *what) {
  return ctl_fail("%s failed: %s (%s): %s", what, mp_err_name(r),
                  mp_strerror(r), mp_last_error());
}

/* Join p (no time limit); die unless it exited with code 0. */
static inline void join_ok(mp_process_t *p, const char *what) {
  int code = -1;
  check_mp(mp_process_join(p, MP_FOREVER), what);
  check_mp(mp_process_exitcode(&code, p), what);
  if (code != 0) die("%s: child exit code %d (expected 0)", what, code);
}

/* Join every child of a batch; kill them all if it hangs for
 * BENCH_WATCHDOG_S and die with the control page's report (and, with q,
 * the batch's queue size). */
static inline void join_all(mp_process_t **p, int n, mp_queue_t *q, const char *what) {
  double end = now_s() + BENCH_WATCHDOG_S;
  for (int i = 0; i < n; ++i) {
    double left = end - now_s();
    int code = -1, r = mp_process_join(p[i], left > 0 ? (int64_t)(left * 1000) : 0);
    if (r == MP_ETIMEDOUT) {
      char report[1024];
      size_t len;
      ctl_hang_report(report, sizeof report);
      len = strlen(report);
      if (q) snprintf(report + len, sizeof report - len, "; qsize now %d", mp_queue_qsize(q));
      for (int j = 0; j < n; ++j) { /* the exit codes of those that ended */
        int c = -999;
        len = strlen(report);
        if (mp_process_join(p[j], 0) == MP_OK && mp_process_exitcode(&c, p[j]) == MP_OK)
          snprintf(report + len, sizeof report - len, "; pid %d ended, exit code %d",
                   mp_process_pid(p[j]), c);
      }
      for (int j = 0; j < n; ++j) {
        mp_process_kill(p[j]);
        mp_process_join(p[j], MP_FOREVER);
      }
      die("%s: hung for %g s: %s", what, BENCH_WATCHDOG_S, report);
    }
    check_mp(r, "mp_process_join");
    check_mp(mp_process_exitcode(&code, p[i]), "mp_process_exitcode");
    if (code != 0) {
      if (g_ctl->failed) die("%s: %s", what, g_ctl->err);
      die("%s: child exit code %d", what, code);
    }
  }
}

/* bench_main with the banner "multiproc <version>". */
static inline int bench_mp_main(const char *prog, int argc, char **argv,
                                const bench_workload_t *workloads, size_t n_workloads,
                                const char *const *impl_names, int n_impl_names) {
  char banner[64];
  snprintf(banner, sizeof banner, "multiproc %s", mp_version());
  return bench_main(prog, banner, argc, argv, workloads, n_workloads, impl_names,
                    n_impl_names);
}

#endif
