/*
 * Pool benchmarks: multiproc pools. There is no raw figure: the peer is
 * CPython's multiprocessing.Pool (cpython_bench.py, the same workloads).
 *
 *   bench_pool [options] NAME...
 *     --time SEC     time budget per workload (default 1.5)
 *     --batches N    timed batches (default 5)
 *     --iters N      iterations per batch (default: calibrated to --time)
 *     --quick        smoke mode: --time 0.05 --batches 3, maps of 1000 tasks
 *     --list         print the workload names and units, one a line
 *
 * For each NAME it prints `BENCH <name> multiproc <value> <unit>`. The
 * method is bench_process.c's (bench_measure of bench_common.c): an
 * iteration is one call of the workload; a warm-up of about 10 % of --time
 * calibrates the iterations per batch so that --batches batches take --time
 * in all; the value is the median of the batch means. For us/task the mean
 * of a batch is its time / (iterations x tasks per iteration). Lines
 * starting with '#' are details.
 *
 * Every pool has POOL_WORKERS (2) worker processes started with
 * MP_START_FORK; but for pool_startup it is created once, outside the timed
 * part. The tasks are registered with mp_register_task: bench_echo returns
 * its argument (a copy), the arguments are N distinct 16-byte strings
 * (N = POOL_TASKS, 10000; 1000 with --quick, as the CPython side).
 *
 * Workloads:
 *   pool_map_chunk1   us/task: mp_pool_map(bench_echo, N args, chunksize 1)
 *                     (checks the count and the last item)
 *   pool_map_auto     the same with chunksize 0 (automatic: N / (4 x workers)
 *                     rounded up, as Python)
 *   pool_apply_async  us/task: N mp_pool_apply_async(bench_echo), then
 *                     mp_result_get + mp_result_free of each in order
 *   pool_startup      us: mp_pool_new (2 workers, fork), mp_pool_apply of
 *                     one bench_echo, mp_pool_close, mp_pool_join,
 *                     mp_pool_free
 *   pool_worker_rss   KiB: what an idle worker process costs beyond the
 *                     program itself (see measure_rss below)
 *   pool_map_chunk1_threads, pool_apply_async_threads
 *                     the same as pool_map_chunk1 / pool_apply_async on a
 *                     thread pool (mp_pool_opts_set_threads, 2 threads);
 *                     the CPython peer is multiprocessing.pool.ThreadPool
 *   pool_tasks_1w, pool_tasks_2w, pool_tasks_4w
 *                     tasks/s (higher is better): pool_map_chunk1 on a pool
 *                     of 1 / 2 / 4 fork workers (the scaling rows)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_mp.h"

#define POOL_WORKERS 2
#define POOL_TASKS 10000
#define POOL_TASKS_QUICK 1000
#define ARG_LEN 16
#define ECHO_TASK "bench_echo"
#define PID_TASK "bench_pid"
#define SLEEPER_TARGET "bench_sleeper"
#define WAIT_MS 60000 /* a get or join longer than this is a hang */

static size_t g_tasks = POOL_TASKS; /* tasks per map / apply_async round */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------
 * Tasks and targets
 * ---------------------------------------------------------------------- */

/* Return the argument (a malloc'd copy: the library frees it). */
static int echo_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                     void *payload) {
  (void)payload;
  void *b = malloc(arg_len ? arg_len : 1);
  if (!b) return 1;
  memcpy(b, arg, arg_len);
  *out = b;
  *out_len = arg_len;
  return 0;
}

/* Sleep 10 ms (so that a round of them reaches every worker), then return
 * the worker's pid as decimal text. */
static int pid_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                    void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  char *b = malloc(24);
  if (!b) return 1;
  sleep_ms(10);
  *out_len = (size_t)snprintf(b, 24, "%d", (int)getpid());
  *out = b;
  return 0;
}

/* The baseline child of pool_worker_rss: says it is running (one byte on
 * the descriptor passed), then sleeps until it is terminated. */
static int sleeper_target(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  int fd = mp_child_fd(0);
  if (fd < 0 || write(fd, "r", 1) != 1) return 1;
  close(fd);
  for (;;) pause();
}

/* ------------------------------------------------------------------------
 * Pools and arguments
 * ---------------------------------------------------------------------- */

static mp_pool_t *new_pool_of(int workers, int threads) {
  mp_pool_opts_t *opts = NULL;
  mp_pool_t *pool = NULL;
  check_mp(mp_pool_opts_new(&opts), "mp_pool_opts_new");
  check_mp(mp_pool_opts_set_workers(opts, workers), "mp_pool_opts_set_workers");
  check_mp(mp_pool_opts_set_start_method(opts, MP_START_FORK),
           "mp_pool_opts_set_start_method");
  if (threads) check_mp(mp_pool_opts_set_threads(opts, 1), "mp_pool_opts_set_threads");
  check_mp(mp_pool_new(&pool, opts), "mp_pool_new");
  mp_pool_opts_free(opts);
  return pool;
}

static mp_pool_t *new_pool(int threads) { return new_pool_of(POOL_WORKERS, threads); }

static void close_pool(mp_pool_t *pool, const char *what) {
  check_mp(mp_pool_close(pool), what);
  check_mp(mp_pool_join(pool, WAIT_MS), what);
  mp_pool_free(pool);
}

static char (*g_arg_buf)[ARG_LEN];
static const void **g_args;
static size_t *g_arg_lens;
static mp_result_t **g_results;

/* g_tasks distinct 16-byte arguments "task000000000042". */
static void make_args(void) {
  if (g_args) return;
  if (g_opts.quick) g_tasks = POOL_TASKS_QUICK;
  g_arg_buf = malloc(g_tasks * sizeof *g_arg_buf);
  g_args = malloc(g_tasks * sizeof *g_args);
  g_arg_lens = malloc(g_tasks * sizeof *g_arg_lens);
  g_results = calloc(g_tasks, sizeof *g_results);
  if (!g_arg_buf || !g_args || !g_arg_lens || !g_results) die("out of memory");
  for (size_t i = 0; i < g_tasks; ++i) {
    char tmp[32]; /* "task" + 12 digits: i < 10^12 */
    snprintf(tmp, sizeof tmp, "task%012zu", i);
    memcpy(g_arg_buf[i], tmp, ARG_LEN);
    g_args[i] = g_arg_buf[i];
    g_arg_lens[i] = ARG_LEN;
  }
}

static void check_echo(const void *data, size_t len, size_t i, const char *what) {
  if (len != ARG_LEN || memcmp(data, g_args[i], ARG_LEN) != 0)
    die("%s: item %zu: wrong result (%zu bytes)", what, i, len);
}

/* ------------------------------------------------------------------------
 * Workloads: one iteration each
 * ---------------------------------------------------------------------- */

static mp_pool_t *g_pool; /* the pool of the running workload */

static void map_once(size_t chunksize, const char *what) {
  mp_result_t *res = NULL;
  const void *data;
  size_t len;
  int r = mp_pool_map(&res, g_pool, ECHO_TASK, g_args, g_arg_lens, g_tasks, chunksize);
  check_mp(r, what);
  if (mp_result_count(res) != (int)g_tasks)
    die("%s: %d items, %zu expected", what, mp_result_count(res), g_tasks);
  check_mp(mp_result_item(&data, &len, res, g_tasks - 1), what);
  check_echo(data, len, g_tasks - 1, what);
  mp_result_free(res);
}

static void map_chunk1(void) { map_once(1, "pool_map_chunk1"); }
static void map_auto(void) { map_once(0, "pool_map_auto"); }

static void apply_async_round(void) {
  const void *data;
  size_t len;
  for (size_t i = 0; i < g_tasks; ++i)
    check_mp(mp_pool_apply_async(&g_results[i], g_pool, ECHO_TASK, g_args[i],
                                 g_arg_lens[i], NULL, NULL, NULL),
             "pool_apply_async: mp_pool_apply_async");
  for (size_t i = 0; i < g_tasks; ++i) {
    check_mp(mp_result_get(&data, &len, g_results[i], WAIT_MS),
             "pool_apply_async: mp_result_get");
    check_echo(data, len, i, "pool_apply_async");
    mp_result_free(g_results[i]);
    g_results[i] = NULL;
  }
}

static void startup_once(void) {
  void *out = NULL;
  size_t len = 0;
  mp_pool_t *pool = new_pool(0);
  check_mp(mp_pool_apply(&out, &len, pool, ECHO_TASK, g_args[0], g_arg_lens[0]),
           "pool_startup: mp_pool_apply");
  check_echo(out, len, 0, "pool_startup");
  mp_free(out);
  close_pool(pool, "pool_startup: close/join");
}

/* ------------------------------------------------------------------------
 * Measurement (bench_process.c's): a batch is n calls of an iteration
 * ---------------------------------------------------------------------- */

typedef void (*iter_fn)(void);

/* Measure fn; print the '#' detail and the BENCH line. tasks: tasks per
 * iteration (the value is us per task), 0 for us per iteration. */
static void measure(const char *name, iter_fn fn, size_t tasks) {
  bench_calls_t it = {fn};
  bench_impl_t impl = {"multiproc", bench_calls_batch, &it};
  char per_batch[64];
  snprintf(per_batch, sizeof per_batch, "iterations of %zu tasks", tasks);
  bench_metric_t m = {.unit = tasks ? "us/task" : "us",
                      .first_n = 1,
                      .time_scale = 1e6 / (double)(tasks ? tasks : 1),
                      .per_batch = tasks ? per_batch : NULL};
  bench_measure(name, &m, &impl, 1);
}

/* ------------------------------------------------------------------------
 * pool_worker_rss
 * ---------------------------------------------------------------------- */

typedef struct rss {
  long vm, anon, file, shmem; /* KiB, from /proc/<pid>/status */
} rss_t;

static rss_t read_rss(int pid) {
  char path[64], line[256];
  rss_t r = {-1, -1, -1, -1};
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) die("pool_worker_rss: %s: %s", path, strerror(errno));
  while (fgets(line, sizeof line, f)) {
    sscanf(line, "VmRSS: %ld", &r.vm);
    sscanf(line, "RssAnon: %ld", &r.anon);
    sscanf(line, "RssFile: %ld", &r.file);
    sscanf(line, "RssShmem: %ld", &r.shmem);
  }
  fclose(f);
  if (r.vm < 0) die("pool_worker_rss: no VmRSS in %s", path);
  return r;
}

/* The baseline: a child of this program, started with mp_process_start
 * (fork, daemon like a pool worker), running a no-op target that sleeps. */
static mp_process_t *start_sleeper(void) {
  int fds[2];
  char c;
  mp_process_t *p = NULL;
  if (pipe(fds) != 0) die("pipe: %s", strerror(errno));
  check_mp(mp_process_new(&p, SLEEPER_TARGET, NULL, 0), "pool_worker_rss: mp_process_new");
  check_mp(mp_process_set_daemon(p, 1), "pool_worker_rss: mp_process_set_daemon");
  check_mp(mp_process_pass_fd(p, fds[1]), "pool_worker_rss: mp_process_pass_fd");
  check_mp(mp_process_start(p), "pool_worker_rss: mp_process_start");
  close(fds[1]);
  struct pollfd pfd = {fds[0], POLLIN, 0};
  if (poll(&pfd, 1, WAIT_MS) != 1 || read(fds[0], &c, 1) != 1)
    die("pool_worker_rss: the baseline child did not start");
  close(fds[0]);
  return p;
}

/* The pids of the pool's workers: rounds of 4 x workers bench_pid tasks
 * (chunksize 1, 10 ms each) until every worker answered. */
static int worker_pids(int *pids, mp_pool_t *pool) {
  int n = 0;
  const void *args[4 * POOL_WORKERS];
  size_t lens[4 * POOL_WORKERS];
  for (int i = 0; i < 4 * POOL_WORKERS; ++i) args[i] = "", lens[i] = 0;
  for (int round = 0; round < 20 && n < POOL_WORKERS; ++round) {
    mp_result_t *res = NULL;
    check_mp(mp_pool_map(&res, pool, PID_TASK, args, lens, 4 * POOL_WORKERS, 1),
             "pool_worker_rss: mp_pool_map");
    for (int i = 0; i < 4 * POOL_WORKERS; ++i) {
      const void *data;
      size_t len;
      char buf[24];
      check_mp(mp_result_item(&data, &len, res, (size_t)i), "pool_worker_rss: item");
      if (len == 0 || len >= sizeof buf) die("pool_worker_rss: bad pid result");
      memcpy(buf, data, len);
      buf[len] = '\0';
      int pid = atoi(buf), k = 0;
      while (k < n && pids[k] != pid) ++k;
      if (k == n && n < POOL_WORKERS) pids[n++] = pid;
    }
    mp_result_free(res);
  }
  return n;
}

/*
 * The method: the memory an idle worker costs beyond the program itself.
 * Both a pool worker and a plain child started with mp_process_start are
 * fork()ed copies of this program; their VmRSS counts the pages they have
 * mapped, shared (copy-on-write) or not. A batch starts the baseline (the
 * sleeper target, forked just before the pool so that both copy the same
 * parent), then a fresh pool of 2 workers, makes every worker run a task
 * (bench_pid, which also yields its pid), lets it go idle (50 ms), and
 * reads VmRSS of every worker and of the baseline from /proc/<pid>/status.
 * The batch's figure is the largest worker VmRSS minus the baseline's
 * VmRSS: what the pool machinery (worker loop, connection, decoding,
 * buffers) adds to a forked child. The value is the median over --batches
 * batches; the '#' line gives the median batch's parts.
 */
static void run_worker_rss(const char *name) {
  int batches = g_opts.batches;
  double *v = calloc((size_t)batches, sizeof *v);
  char (*detail)[256] = calloc((size_t)batches, sizeof *detail);
  if (!v || !detail) die("out of memory");
  for (int b = 0; b < batches; ++b) {
    int pids[POOL_WORKERS];
    mp_process_t *base = start_sleeper();
    mp_pool_t *pool = new_pool(0);
    if (worker_pids(pids, pool) != POOL_WORKERS)
      die("%s: not every worker answered", name);
    sleep_ms(50);
    rss_t br = read_rss(mp_process_pid(base)), wr = {-1, 0, 0, 0};
    for (int k = 0; k < POOL_WORKERS; ++k) {
      rss_t r = read_rss(pids[k]);
      if (r.vm > wr.vm) wr = r;
    }
    v[b] = (double)(wr.vm - br.vm);
    snprintf(detail[b], sizeof detail[b],
               "worker VmRSS %ld KiB (anon %ld, file %ld, shmem %ld), baseline "
               "child VmRSS %ld KiB (anon %ld, file %ld, shmem %ld)",
               wr.vm, wr.anon, wr.file, wr.shmem, br.vm, br.anon, br.file, br.shmem);
    close_pool(pool, "pool_worker_rss: close/join");
    check_mp(mp_process_terminate(base), "pool_worker_rss: mp_process_terminate");
    check_mp(mp_process_join(base, WAIT_MS), "pool_worker_rss: mp_process_join");
    mp_process_free(base);
  }
  double *sorted = malloc((size_t)batches * sizeof *sorted);
  if (!sorted) die("out of memory");
  memcpy(sorted, v, (size_t)batches * sizeof *v);
  double med = bench_median(sorted, batches);
  int mid = 0; /* the first batch nearest the median */
  for (int b = 1; b < batches; ++b)
    if ((v[b] > med ? v[b] - med : med - v[b]) < (v[mid] > med ? v[mid] - med : med - v[mid]))
      mid = b;
  printf("# %s multiproc: median of %d batches, %d fork workers, worker - "
         "baseline %.0f..%.0f KiB; batch %d: %s\n",
         name, batches, POOL_WORKERS, sorted[0], sorted[batches - 1], mid + 1,
         detail[mid]);
  printf("BENCH %s multiproc %.2f KiB\n", name, med);
  fflush(stdout);
  free(sorted);
  free(detail);
  free(v);
}

/* ------------------------------------------------------------------------
 * The workloads
 * ---------------------------------------------------------------------- */

static void with_pool(const char *name, int threads, iter_fn fn) {
  make_args();
  g_pool = new_pool(threads);
  measure(name, fn, g_tasks);
  close_pool(g_pool, name);
  g_pool = NULL;
}

static void run_map_chunk1(const char *name) { with_pool(name, 0, map_chunk1); }
static void run_map_auto(const char *name) { with_pool(name, 0, map_auto); }
static void run_apply_async(const char *name) { with_pool(name, 0, apply_async_round); }
static void run_map_chunk1_threads(const char *name) { with_pool(name, 1, map_chunk1); }
static void run_apply_async_threads(const char *name) {
  with_pool(name, 1, apply_async_round);
}

/* pool_tasks_<w>w: tasks per second of pool_map_chunk1 on w workers. */
static void run_tasks_scaling(const char *name, int workers) {
  bench_calls_t it = {map_chunk1};
  bench_impl_t impl = {"multiproc", bench_calls_batch, &it};
  bench_metric_t m = {.unit = "tasks/s", .rate = 1, .first_n = 1,
                      .per_batch = "maps of the task round"};
  make_args();
  m.scale = (double)g_tasks;
  g_pool = new_pool_of(workers, 0);
  printf("# %s: %d fork workers, maps of %zu tasks (chunksize 1)\n", name, workers, g_tasks);
  bench_measure(name, &m, &impl, 1);
  close_pool(g_pool, name);
  g_pool = NULL;
}

static void run_tasks_1w(const char *name) { run_tasks_scaling(name, 1); }
static void run_tasks_2w(const char *name) { run_tasks_scaling(name, 2); }
static void run_tasks_4w(const char *name) { run_tasks_scaling(name, 4); }

static void run_startup(const char *name) {
  make_args();
  measure(name, startup_once, 0);
}

static const bench_workload_t kWorkloads[] = {
    {"pool_map_chunk1", "us/task", run_map_chunk1},
    {"pool_map_auto", "us/task", run_map_auto},
    {"pool_apply_async", "us/task", run_apply_async},
    {"pool_startup", "us", run_startup},
    {"pool_worker_rss", "KiB", run_worker_rss},
    {"pool_map_chunk1_threads", "us/task", run_map_chunk1_threads},
    {"pool_apply_async_threads", "us/task", run_apply_async_threads},
    {"pool_tasks_1w", "tasks/s", run_tasks_1w},
    {"pool_tasks_2w", "tasks/s", run_tasks_2w},
    {"pool_tasks_4w", "tasks/s", run_tasks_4w},
};

static const char *const kImpls[] = {"multiproc"};

int main(int argc, char **argv) {
  check_mp(mp_register_task(ECHO_TASK, echo_task, NULL), "mp_register_task");
  check_mp(mp_register_task(PID_TASK, pid_task, NULL), "mp_register_task");
  check_mp(mp_register(SLEEPER_TARGET, sleeper_target, NULL), "mp_register");
  check_mp(mp_main(argc, argv), "mp_main"); /* a spawned child ends here */

  char banner[128];
  snprintf(banner, sizeof banner,
           "multiproc %s, %d fork workers (%d CPUs), %d tasks per map/apply_async round "
           "(%d with --quick)",
           mp_version(), POOL_WORKERS, mp_cpu_count(), POOL_TASKS, POOL_TASKS_QUICK);
  return bench_main("bench_pool", banner, argc, argv, kWorkloads,
                    sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 1);
}
