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
 * means (each batch: total time / iterations; bench_measure of
 * bench_common.c, a batch being that many calls of the workload's
 * iteration). The multiproc and raw batches alternate, so drift of the
 * machine hits both alike. Lines
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_mp.h"

extern char **environ;

#define EXIT_NOW_ARG "--bench-exit-now"
#define NOOP_TARGET "bench_noop"
#define TRUE_PATH "/bin/true"

static char g_self_exe[4096];

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
 * Measurement: a batch is n calls of an iteration
 * ---------------------------------------------------------------------- */

typedef void (*iter_fn)(void);

/* multiproc against raw, the common case: us per iteration. */
static void bench_pair(const char *name, iter_fn lib, iter_fn raw) {
  bench_calls_t it[2] = {{lib}, {raw}};
  bench_impl_t impls[2];
  bench_metric_t m = {.unit = "us", .first_n = 1};
  int n = 0;
  if (bench_want(0)) impls[n++] = (bench_impl_t){"multiproc", bench_calls_batch, &it[0]};
  if (bench_want(1)) impls[n++] = (bench_impl_t){"raw", bench_calls_batch, &it[1]};
  bench_measure(name, &m, impls, n);
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
  long mb = g_opts.quick ? 64 : 1024;
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

#define N_IDLE_THREADS 8

static void *idle_thread(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

/* One EXTRA figure (an implementation measured beside a row), on half the
 * time budget: the big parent makes every start slow. */
static void bench_extra(const char *name, const char *impl, iter_fn fn) {
  bench_calls_t it = {fn};
  bench_impl_t extra = {impl, bench_calls_batch, &it};
  bench_metric_t m = {.unit = "us", .first_n = 1, .kind = "EXTRA"};
  double budget = g_opts.time;
  g_opts.time *= 0.5;
  bench_measure(name, &m, &extra, 1);
  g_opts.time = budget;
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
  bench_extra(name, "spawn_fork", mp_spawn_fork);
  bench_extra(name, "spawn_spawn", mp_spawn_spawn);
}

static void run_run_true_bigheap(const char *name) {
  touch_big_heap(name);
  make_true_cmd();
  bench_pair(name, mp_run_true, raw_run_true);
  bench_extra(name, "fork_exec", fork_exec_true);
}

static const bench_workload_t kWorkloads[] = {
    {"spawn_fork", "us", run_spawn_fork},
    {"spawn_spawn", "us", run_spawn_spawn},
    {"spawn_forkserver", "us", run_spawn_forkserver},
    {"spawn_forkserver_bigheap", "us", run_spawn_forkserver_bigheap},
    {"run_true", "us", run_run_true},
    {"run_true_bigheap", "us", run_run_true_bigheap},
};

static const char *const kImpls[] = {"multiproc", "raw"};

int main(int argc, char **argv) {
  /* The raw limit of spawn_spawn: this program loaded, then gone. */
  if (argc == 2 && strcmp(argv[1], EXIT_NOW_ARG) == 0) _exit(0);

  check_mp(mp_register(NOOP_TARGET, noop_target, NULL), "mp_register");
  check_mp(mp_main(argc, argv), "mp_main"); /* a spawned child ends here */

  ssize_t len = readlink("/proc/self/exe", g_self_exe, sizeof g_self_exe - 1);
  if (len <= 0) die("readlink /proc/self/exe: %s", strerror(errno));
  g_self_exe[len] = '\0';

  int rc = bench_mp_main("bench_process", argc, argv, kWorkloads,
                         sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 2);
  mp_cmd_free(g_true_cmd);
  return rc;
}
