/*
 * What the benchmark programs share (bench_process.c, bench_ipc.c,
 * bench_sync.c, bench_pool.c, bench_boost.cpp): options, the measurement,
 * the control page of the multi-process workloads and the message format
 * of the queue ones. Plain C, usable from C++; bench_mp.h adds the helpers
 * that call multiproc.
 *
 * Measurement (the method of bench_process.c, in units of work): an
 * implementation is a batch function that does n units (n round trips, n
 * messages) and returns the seconds they took. A warm-up of about 10 % of
 * --time calibrates n so that --batches batches take --time in all; the
 * implementations' batches then alternate, and the figure is the median of
 * the batch means: us per unit (lower is better) or units per second times
 * a scale (higher is better).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Options and helpers
 * ---------------------------------------------------------------------- */

typedef struct bench_opts {
  double time;   /* seconds per implementation and workload */
  int batches;   /* timed batches per implementation */
  long iters;    /* fixed units per batch; 0 = calibrate */
  int quick;     /* smoke mode */
  unsigned impls; /* bit k: implementation k of the program's list */
  int no_warmup;  /* --no-warmup (with --iters): exactly --batches x --iters
                     units run, for counting system calls (tests/bench/syscalls) */
} bench_opts_t;

extern bench_opts_t g_opts;

/* Print "<program>: message" on stderr and exit 2. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
/* CLOCK_MONOTONIC in seconds (the same clock in every process). */
double now_s(void);
int64_t now_ns(void);
/* waitpid; die unless the child exited with status 0. */
void wait_ok(pid_t pid, const char *what);
/* Fork a child that runs fn(arg) and _exits with its result. */
pid_t fork_child(int (*fn)(void *arg), void *arg);
/* Wait for every pid (die on a failed child); after deadline_s seconds
 * kill them all and die with `what` and the control page's progress. */
void wait_children(const pid_t *pids, int n, double deadline_s, const char *what);

/* ------------------------------------------------------------------------
 * Measurement
 * ---------------------------------------------------------------------- */

/* Do n units of work; return the seconds they took. */
typedef double (*bench_batch_fn)(void *ctx, long n);

typedef struct bench_impl {
  const char *impl; /* multiproc, raw, boost */
  bench_batch_fn fn;
  void *ctx;
} bench_impl_t;

typedef struct bench_metric {
  const char *unit; /* us, msg/s, MB/s */
  int rate;         /* 0: time per unit; 1: units per second x scale */
  double scale;     /* rate only: e.g. 1.048576 for MB/s of 1 MiB units */
  long first_n;     /* units of the first warm-up batch */
  /* Optional (0/NULL: the default). */
  double time_scale;     /* not rate: seconds per unit x this (1e6: us) */
  const char *per_batch; /* the '#' line's units ("messages", "iterations") */
  const char *kind;      /* the figure's line: "BENCH", or "EXTRA" (human
                            table only) */
} bench_metric_t;

/* Measure impls[0..n) (alternating batches) and print, per impl, a
 * '#' detail line and `BENCH <name> <impl> <value> <unit>`; when the
 * batches sampled the placement of their processes (g_ctl mapped,
 * place_mark / place_check called), also `PLACE <name> <impl> <same>
 * <other>`: the samples that found both sides on one CPU, on two. */
void bench_measure(const char *name, const bench_metric_t *m,
                   const bench_impl_t *impls, int n);

/* A batch of n calls of a function that does one unit (a process
 * started and joined, a pool round): ctx is a bench_calls_t. */
typedef struct bench_calls {
  void (*fn)(void);
} bench_calls_t;
double bench_calls_batch(void *ctx, long n);

/* CPU-bound busy processes (the _loaded workloads): busy_start forks n
 * children that spin until busy_stop kills them. */
void busy_start(int n);
void busy_stop(void);

/* Pin this process (and the children it forks from now on) to the CPU it
 * runs on (the _samecpu workloads); return the CPU. pin_restore undoes it. */
int pin_here(void);
void pin_restore(void);

/* VmRSS of this process in KiB (/proc/self/status), -1 if unreadable. */
long vm_rss_kib(void);

/* The median of v[0..n) (sorts v). */
double bench_median(double *v, int n);

/* ------------------------------------------------------------------------
 * A program: its workloads, its implementations, main()
 * ---------------------------------------------------------------------- */

typedef struct bench_workload {
  const char *name;
  const char *unit;
  void (*run)(const char *name);
} bench_workload_t;

/* Parse the options (see bench_ipc.c), print a '#' header with banner,
 * then run the workloads named (all by default). impl_names: the
 * implementations --impl may choose from. */
int bench_main(const char *prog, const char *banner, int argc, char **argv,
               const bench_workload_t *workloads, size_t n_workloads,
               const char *const *impl_names, int n_impl_names);

/* Whether --impl asked for implementation k of the program's list. */
int bench_want(int k);

/* ------------------------------------------------------------------------
 * The queue workloads: configuration, control page, messages
 * ---------------------------------------------------------------------- */

/* Seconds a batch may take before the children are killed as hung. */
#define BENCH_WATCHDOG_S 30.0

typedef struct qcfg {
  int producers, consumers; /* equal counts: one pill per consumer */
  size_t msg_size;          /* bytes per message, >= 16 */
  long n;                   /* data messages in all (the batch's units) */
} qcfg_t;

/* Data messages producer idx of cfg sends. */
long q_share(const qcfg_t *cfg, int idx);

/* Shared (MAP_SHARED anonymous) between the parent and the children. */
typedef struct ipc_ctl {
  int ready;           /* children set up */
  int go;              /* producers may start */
  int64_t t_first_ns;  /* earliest first put (CLOCK_MONOTONIC) */
  int64_t t_last_ns;   /* latest end of a last get */
  int64_t got;         /* data messages received, all consumers */
  int64_t put_progress, got_progress; /* for a hang report: per 1024 */
  pid_t pid[16];       /* the children in ready order, and their roles */
  char role[16];       /* 'P' producer, 'C' consumer */
  int failed;
  char err[512];
  /* Placement (place_mark / place_check): the CPU the marking side last
   * ran on, and the checks that found the checking side on the same CPU
   * or another one. bench_measure zeroes them before each timed batch. */
  int place_cpu;
  int64_t place_same, place_other;
} ipc_ctl_t;

extern ipc_ctl_t *g_ctl; /* mapped by ctl_reset(), inherited through fork */

void ctl_reset(void);
/* A child: report a failure (the first one is kept), return 1. */
__attribute__((format(printf, 1, 2))) int ctl_fail(const char *fmt, ...);
/* A child is set up. */
void ctl_ready(void);
/* A producer: ctl_ready(), then wait for go. */
void ctl_wait_go(void);
/* Placement of a pair of processes (one CPU or two?): one side marks the
 * CPU it runs on (place_mark), the other, soon after in the same exchange
 * (the reply of a ping-pong, the messages of a queue), compares its own
 * (place_check) and counts same / other in the control page. sched_getcpu
 * is a read of the rseq area or a vDSO call: tens of ns. */
void place_mark(void);
void place_check(void);
/* A producer after its put number i (counts progress for a hang report,
 * marks its CPU every 256 puts). */
static inline void ctl_put_progress(long i) {
  if ((i & 255) == 255) place_mark();
  if ((i & 1023) == 1023)
    __atomic_add_fetch(&g_ctl->put_progress, 1024, __ATOMIC_RELAXED);
}
/* Into buf: how far the batch got and the state of each child. */
void ctl_hang_report(char *buf, size_t cap);
/* A producer before its first put / a consumer after its last get. */
void ctl_first_put(void);
void ctl_last_get(long got);
/* The parent: wait until n children are ready, then let them go. */
void ctl_start(int n, const char *what);
/* The parent, after the children ended: the batch's seconds; dies if a
 * child failed or the count is not cfg->n. */
double ctl_elapsed(const qcfg_t *cfg, const char *what);

/* Messages: 8-byte sequence number, producer id, a pattern, the sequence
 * number again in the last 8 bytes. A pill has the sequence UINT64_MAX. */
#define Q_PILL UINT64_MAX
void q_fill(void *buf, size_t len, int producer);    /* once per buffer */
void q_stamp(void *buf, size_t len, uint64_t seq);    /* per message */

/* A consumer's check of each message: per-producer FIFO, no duplicate. */
typedef struct qcheck {
  uint64_t next[8]; /* the lowest sequence still acceptable per producer */
  long got;
} qcheck_t;
/* Returns 1 for a data message, 0 for a pill, -1 after ctl_fail(). */
int q_check(qcheck_t *c, const void *buf, size_t len, size_t want_len);

#ifdef __cplusplus
}
#endif
#endif
