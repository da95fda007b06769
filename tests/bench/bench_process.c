/*
 * Process benchmarks: multiproc against the raw system-call limit.
 *
 *   bench_process [options] NAME...
 *     --time SEC     time budget per implementation and workload (default 1.5)
 *     --batches N    timed batches per implementation (default 5)
 *     --iters N      iterations per batch (default: calibrated to --time)
 *     --impl WHICH   multiproc, raw or both (default both, batches alternate)
 *     --quick        smoke mode: --time 0.05 --batches 3, 64 MiB big heap
 *     --list         print the workload names and units, one a line
 *   MP_BENCH_BIGHEAP_MB  size of the touched heap of run_true_bigheap
 *                        (default 1024; 64 with --quick)
 *
 * For each NAME it prints `BENCH <name> multiproc <value> us` and
 * `BENCH <name> raw <value> us`, where value is the median of the batch
 * means (each batch: total time / iterations). The multiproc and raw
 * batches alternate, so drift of the machine hits both alike. Lines
 * starting with '#' are details; `EXTRA <name> <what> <value> <unit>` lines
 * carry figures for the human table only (fork_exec of run_true_bigheap).
 *
 * Workloads (a new one: a function pair and a row in kWorkloads):
 *   spawn_fork        mp_process_new/start/join/free, MP_START_FORK, no-op
 *                     target | raw: fork() + _exit(0) + waitpid
 *   spawn_spawn       the same with MP_START_SPAWN (this binary re-executes
 *                     itself, mp_main runs the target) | raw: posix_spawn of
 *                     this binary with EXIT_NOW_ARG (exits at the top of
 *                     main) + waitpid
 *   spawn_forkserver  the same with MP_START_FORKSERVER (the server, this
 *                     binary started once, forks the child) | raw: fork()
 *                     + _exit(0) + waitpid, as spawn_fork
 *   spawn_forkserver_bigheap  spawn_forkserver from a parent with a touched
 *                     heap (MP_BENCH_BIGHEAP_MB) and 8 idle threads | raw:
 *                     fork + waitpid from that parent; EXTRA spawn_fork and
 *                     spawn_spawn from that parent
 *   run_true          mp_process_spawn(/bin/true) + join + free
 *                     | raw: posix_spawn(/bin/true) + waitpid
 *   run_true_bigheap  run_true from a parent with a touched heap | raw: the
 *                     same posix_spawn; EXTRA fork_exec: fork + execve +
 *                     waitpid from that parent
 */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "multiproc.h"

extern char **environ;

#define EXIT_NOW_ARG "--bench-exit-now"
#define NOOP_TARGET "bench_noop"
#define TRUE_PATH "/bin/true"

/* ------------------------------------------------------------------------
 * Options and helpers
 * ---------------------------------------------------------------------- */

static double g_time_budget = 1.5; /* seconds per implementation */
static int g_batches = 5;
static long g_fixed_iters = 0; /* 0: calibrate */
static int g_quick = 0;
static int g_impls = 3; /* bit 0: multiproc, bit 1: raw */
static char g_self_exe[4096];

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench_process: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}

/* Abort the benchmark on a library error, with the library's message. */
static void check_mp(int r, const char *what) {
  if (r < 0)
    die("%s failed: %s (%s): %s", what, mp_err_name(r), mp_strerror(r),
        mp_last_error());
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void wait_ok(pid_t pid, const char *what) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("%s: waitpid: %s", what, strerror(errno));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("%s: child ended with wait status 0x%x", what, status);
}

static void join_ok(mp_process_t *p, const char *what) {
  int code = -1;
  check_mp(mp_process_join(p, MP_FOREVER), what);
  check_mp(mp_process_exitcode(&code, p), what);
  if (code != 0) die("%s: child exit code %d (expected 0)", what, code);
}

/* ------------------------------------------------------------------------
 * Workloads: one iteration each
 * ---------------------------------------------------------------------- */

static int noop_target(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  return 0;
}

static void mp_target_once(mp_start_method_t method, const char *what) {
  mp_process_t *p = NULL;
  check_mp(mp_process_new(&p, NOOP_TARGET, NULL, 0), what);
  if (method != MP_START_FORK)
    check_mp(mp_process_set_start_method(p, method), what);
  check_mp(mp_process_start(p), what);
  join_ok(p, what);
  mp_process_free(p);
}

static void mp_spawn_fork(void) { mp_target_once(MP_START_FORK, "spawn_fork"); }
static void mp_spawn_spawn(void) { mp_target_once(MP_START_SPAWN, "spawn_spawn"); }
static void mp_spawn_forkserver(void) {
  mp_target_once(MP_START_FORKSERVER, "spawn_forkserver");
}

static void raw_fork(void) {
  pid_t pid = fork();
  if (pid < 0) die("spawn_fork raw: fork: %s", strerror(errno));
  if (pid == 0) _exit(0);
  wait_ok(pid, "spawn_fork raw");
}

static void raw_posix_spawn(const char *path, char *const argv[],
                            const char *what) {
  pid_t pid;
  int r = posix_spawn(&pid, path, NULL, NULL, argv, environ);
  if (r != 0) die("%s: posix_spawn %s: %s", what, path, strerror(r));
  wait_ok(pid, what);
}

static void raw_spawn_self(void) {
  char *argv[] = {g_self_exe, (char *)EXIT_NOW_ARG, NULL};
  raw_posix_spawn(g_self_exe, argv, "spawn_spawn raw");
}

static mp_cmd_t *g_true_cmd;

static void mp_run_true(void) {
  mp_process_t *p = NULL;
  check_mp(mp_process_spawn(&p, g_true_cmd), "run_true: mp_process_spawn");
  join_ok(p, "run_true");
  mp_process_free(p);
}

static void raw_run_true(void) {
  char *argv[] = {(char *)TRUE_PATH, NULL};
  raw_posix_spawn(TRUE_PATH, argv, "run_true raw");
}

static void fork_exec_true(void) {
  pid_t pid = fork();
  if (pid < 0) die("fork_exec: fork: %s", strerror(errno));
  if (pid == 0) {
    char *argv[] = {(char *)TRUE_PATH, NULL};
    execve(TRUE_PATH, argv, environ);
    _exit(127);
  }
  wait_ok(pid, "fork_exec");
}

/* ------------------------------------------------------------------------
 * Measurement
 * ---------------------------------------------------------------------- */

typedef void (*iter_fn)(void);

typedef struct stats {
  double median_us, min_us, max_us;
  long iters; /* per batch */
} stats_t;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Run fn until at least min_iters iterations and budget seconds have
 * passed; return the mean time per iteration in seconds. */
static double warm_up(iter_fn fn, double budget, long min_iters) {
  double t0 = now_s(), t;
  long n = 0;
  do {
    fn();
    ++n;
    t = now_s();
  } while (n < min_iters || t - t0 < budget);
  return (t - t0) / (double)n;
}

static long iters_for(double per_iter_s, double budget, int batches) {
  if (g_fixed_iters > 0) return g_fixed_iters;
  double n = budget / ((double)batches * per_iter_s);
  if (n < 1) return 1;
  if (n > 1e7) return 10000000;
  return (long)n;
}

static double time_batch(iter_fn fn, long iters) {
  double t0 = now_s();
  for (long i = 0; i < iters; ++i) fn();
  return (now_s() - t0) / (double)iters * 1e6;
}

static void summarise(stats_t *s, double *batch_us, int n, long iters) {
  qsort(batch_us, (size_t)n, sizeof *batch_us, cmp_double);
  s->median_us = n % 2 ? batch_us[n / 2]
                       : (batch_us[n / 2 - 1] + batch_us[n / 2]) / 2;
  s->min_us = batch_us[0];
  s->max_us = batch_us[n - 1];
  s->iters = iters;
}

/* Measure fns[0..n) with alternating batches; each gets `budget` seconds. */
static void measure(stats_t *out, iter_fn *fns, int n, double budget) {
  long iters[4];
  double *batch_us[4];
  for (int k = 0; k < n; ++k) {
    double per = warm_up(fns[k], budget * 0.1, g_quick ? 1 : 3);
    iters[k] = iters_for(per, budget, g_batches);
    batch_us[k] = calloc((size_t)g_batches, sizeof(double));
    if (!batch_us[k]) die("out of memory");
  }
  for (int b = 0; b < g_batches; ++b)
    for (int k = 0; k < n; ++k) batch_us[k][b] = time_batch(fns[k], iters[k]);
  for (int k = 0; k < n; ++k) {
    summarise(&out[k], batch_us[k], g_batches, iters[k]);
    free(batch_us[k]);
  }
}

/* kind: "BENCH" (impl multiproc or raw) or "EXTRA" (human table only). */
static void report(const char *kind, const char *name, const char *impl,
                   const stats_t *s) {
  printf("# %s %s: median of %d batch means, %ld iterations/batch, "
         "batch means %.2f..%.2f us\n",
         name, impl, g_batches, s->iters, s->min_us, s->max_us);
  printf("%s %s %s %.2f us\n", kind, name, impl, s->median_us);
  fflush(stdout);
}

/* multiproc against raw, the common case. */
static void bench_pair(const char *name, iter_fn lib, iter_fn raw) {
  iter_fn fns[2];
  const char *impls[2];
  stats_t s[2];
  int n = 0;
  if (g_impls & 1) fns[n] = lib, impls[n++] = "multiproc";
  if (g_impls & 2) fns[n] = raw, impls[n++] = "raw";
  measure(s, fns, n, g_time_budget);
  for (int k = 0; k < n; ++k) report("BENCH", name, impls[k], &s[k]);
}

/* ------------------------------------------------------------------------
 * The workloads
 * ---------------------------------------------------------------------- */

static void run_spawn_fork(const char *name) {
  bench_pair(name, mp_spawn_fork, raw_fork);
}

static void run_spawn_spawn(const char *name) {
  bench_pair(name, mp_spawn_spawn, raw_spawn_self);
}

static void run_spawn_forkserver(const char *name) {
  bench_pair(name, mp_spawn_forkserver, raw_fork);
}

static void make_true_cmd(void) {
  if (!g_true_cmd) check_mp(mp_cmd_new(&g_true_cmd, TRUE_PATH), "mp_cmd_new");
}

static void run_run_true(const char *name) {
  make_true_cmd();
  bench_pair(name, mp_run_true, raw_run_true);
}

static size_t bigheap_bytes(void) {
  const char *env = getenv("MP_BENCH_BIGHEAP_MB");
  long mb = g_quick ? 64 : 1024;
  if (env && *env) {
    char *end;
    mb = strtol(env, &end, 10);
    if (*end || mb < 0) die("MP_BENCH_BIGHEAP_MB=%s: not a size in MiB", env);
  }
  return (size_t)mb << 20;
}

/* The big parent of the *_bigheap workloads: a touched heap, made once. */
static void touch_big_heap(const char *name) {
  static char *heap;
  size_t size = bigheap_bytes();
  if (!heap && size) {
    heap = malloc(size);
    if (!heap) die("%s: cannot allocate %zu MiB", name, size >> 20);
    memset(heap, 0x5a, size); /* touch every page */
  }
  printf("# %s: parent heap %zu MiB touched\n", name, size >> 20);
}

static void run_run_true_bigheap(const char *name) {
  touch_big_heap(name);
  make_true_cmd();
  bench_pair(name, mp_run_true, raw_run_true);
  /* fork+exec copies the page tables: slow, so a smaller budget. */
  stats_t fe;
  iter_fn fn = fork_exec_true;
  measure(&fe, &fn, 1, g_time_budget * 0.5);
  report("EXTRA", name, "fork_exec", &fe);
}

#define N_IDLE_THREADS 8

static void *idle_thread(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

/* The parent forkserver is for: big and threaded. The server was started
 * before (by spawn_forkserver, or here before the heap is touched), as a
 * program starts it at its first child. */
static void run_spawn_forkserver_bigheap(const char *name) {
  mp_spawn_forkserver();
  touch_big_heap(name);
  static int threads_started;
  for (; threads_started < N_IDLE_THREADS; ++threads_started) {
    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) != 0) die("%s: pthread_create", name);
  }
  printf("# %s: %d idle threads\n", name, N_IDLE_THREADS);
  bench_pair(name, mp_spawn_forkserver, raw_fork);
  stats_t s;
  iter_fn fn = mp_spawn_fork;
  measure(&s, &fn, 1, g_time_budget * 0.5);
  report("EXTRA", name, "spawn_fork", &s);
  fn = mp_spawn_spawn;
  measure(&s, &fn, 1, g_time_budget * 0.5);
  report("EXTRA", name, "spawn_spawn", &s);
}

typedef struct workload {
  const char *name;
  const char *unit;
  void (*run)(const char *name);
} workload_t;

static const workload_t kWorkloads[] = {
    {"spawn_fork", "us", run_spawn_fork},
    {"spawn_spawn", "us", run_spawn_spawn},
    {"spawn_forkserver", "us", run_spawn_forkserver},
    {"spawn_forkserver_bigheap", "us", run_spawn_forkserver_bigheap},
    {"run_true", "us", run_run_true},
    {"run_true_bigheap", "us", run_run_true_bigheap},
};
#define N_WORKLOADS (sizeof kWorkloads / sizeof kWorkloads[0])

static const workload_t *find_workload(const char *name) {
  for (size_t i = 0; i < N_WORKLOADS; ++i)
    if (strcmp(kWorkloads[i].name, name) == 0) return &kWorkloads[i];
  return NULL;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_process [--time SEC] [--batches N] [--iters N] "
          "[--impl multiproc|raw|both] [--quick] [--list] NAME...\nnames:");
  for (size_t i = 0; i < N_WORKLOADS; ++i) fprintf(f, " %s", kWorkloads[i].name);
  fputc('\n', f);
}

static double parse_num(const char *opt, const char *s, double min) {
  char *end;
  double v;
  if (!s) die("%s needs a value", opt);
  v = strtod(s, &end);
  if (*end || !(v >= min)) die("%s %s: expected a number >= %g", opt, s, min);
  return v;
}

int main(int argc, char **argv) {
  /* The raw limit of spawn_spawn: this program loaded, then gone. */
  if (argc == 2 && strcmp(argv[1], EXIT_NOW_ARG) == 0) _exit(0);

  check_mp(mp_register(NOOP_TARGET, noop_target, NULL), "mp_register");
  check_mp(mp_main(argc, argv), "mp_main"); /* a spawned child ends here */

  const char *names[64];
  int n_names = 0;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (strcmp(a, "--time") == 0) {
      g_time_budget = parse_num(a, argv[++i], 0.001);
    } else if (strcmp(a, "--batches") == 0) {
      g_batches = (int)parse_num(a, argv[++i], 1);
    } else if (strcmp(a, "--iters") == 0) {
      g_fixed_iters = (long)parse_num(a, argv[++i], 1);
    } else if (strcmp(a, "--impl") == 0) {
      const char *v = argv[++i];
      if (v && strcmp(v, "multiproc") == 0) g_impls = 1;
      else if (v && strcmp(v, "raw") == 0) g_impls = 2;
      else if (v && strcmp(v, "both") == 0) g_impls = 3;
      else die("--impl: expected multiproc, raw or both");
    } else if (strcmp(a, "--quick") == 0) {
      g_quick = 1;
      g_time_budget = 0.05;
      g_batches = 3;
    } else if (strcmp(a, "--list") == 0) {
      for (size_t k = 0; k < N_WORKLOADS; ++k)
        printf("%s %s\n", kWorkloads[k].name, kWorkloads[k].unit);
      return 0;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (a[0] == '-') {
      usage(stderr);
      die("unknown option %s", a);
    } else if (!find_workload(a)) {
      usage(stderr);
      die("unknown workload %s", a);
    } else if (n_names < 64) {
      names[n_names++] = a;
    }
  }
  if (n_names == 0)
    for (size_t k = 0; k < N_WORKLOADS; ++k) names[n_names++] = kWorkloads[k].name;

  ssize_t len = readlink("/proc/self/exe", g_self_exe, sizeof g_self_exe - 1);
  if (len <= 0) die("readlink /proc/self/exe: %s", strerror(errno));
  g_self_exe[len] = '\0';

  printf("# bench_process: multiproc %s, time budget %.3g s per "
         "implementation, %d batches, value = median of batch means\n",
         mp_version(), g_time_budget, g_batches);
  for (int i = 0; i < n_names; ++i) find_workload(names[i])->run(names[i]);
  mp_cmd_free(g_true_cmd);
  return 0;
}
