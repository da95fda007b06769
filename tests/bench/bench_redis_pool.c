/*
 * The multiproc side of remote_pool_apply_async (issue 16): tasks/s end to
 * end of a no-op task through a pool on a redis server, beside Sidekiq and
 * RQ (tests/bench/peers, run by tests/bench/run). Built only when
 * multiproc.h declares mp_pool_serve (tests/bench/meson.build); a program
 * of tests/bench/run like bench_broker.c (same options, same method).
 *
 *   bench_redis_pool [options] remote_pool_apply_async
 *     --time SEC, --batches N, --iters N, --quick, --list as bench_ipc.c
 *   MP_BENCH_REDIS   HOST:PORT of the redis-server (tests/bench/run sets it)
 *
 * The serving host is a forked child (before this process uses the
 * library): mp_pool_new (2 fork workers) + mp_pool_serve(pool,
 * "redis://HOST:PORT#bench_pool_<pid>"), serving in the background until
 * this program closes the pipe it waits on; then mp_pool_close +
 * mp_pool_join. This program is the client: mp_pool_open of the same
 * address; a batch of n tasks is n mp_pool_apply_async(bench_noop) and
 * then mp_result_get + mp_result_free of each, timed from the first submit
 * to the last result (the peers: from the first push to the end of the
 * last job). The task returns no bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_mp.h"

#define NAME "remote_pool_apply_async"
#define NOOP_TASK "bench_noop"
#define WORKERS 2
#define OPEN_MS 10000
#define WAIT_MS ((int64_t)(BENCH_WATCHDOG_S * 1000)) /* a longer wait is a hang */

static char g_addr[200];
static mp_pool_t *g_pool; /* the client's handle */
static mp_result_t **g_results;
static long g_cap;

static int noop_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                     void *payload) {
  (void)arg, (void)arg_len, (void)payload;
  *out = NULL;
  *out_len = 0;
  return 0;
}

/* The serving host: serve until the parent closes the pipe (arg: its two
 * ends; the write end is the parent's alone), then finish what it took and
 * stop. */
static int serve_host(void *arg) {
  int fd = ((int *)arg)[0], r;
  char c;
  mp_pool_opts_t *opts = NULL;
  mp_pool_t *pool = NULL;
  close(((int *)arg)[1]);
  if ((r = mp_pool_opts_new(&opts)) < 0 || (r = mp_pool_opts_set_workers(opts, WORKERS)) < 0 ||
      (r = mp_pool_opts_set_start_method(opts, MP_START_FORK)) < 0 ||
      (r = mp_pool_new(&pool, opts)) < 0)
    return child_mp_fail(r, "serving host: mp_pool_new");
  mp_pool_opts_free(opts);
  if ((r = mp_pool_serve(pool, g_addr, OPEN_MS)) < 0)
    return child_mp_fail(r, "serving host: mp_pool_serve");
  ctl_ready();
  while (read(fd, &c, 1) < 0 && errno == EINTR) {
  }
  if ((r = mp_pool_close(pool)) < 0 || (r = mp_pool_join(pool, WAIT_MS)) < 0)
    return child_mp_fail(r, "serving host: mp_pool_close/join");
  mp_pool_free(pool);
  return 0;
}

static double apply_async_batch(void *ctx, long n) {
  const void *data;
  size_t len;
  (void)ctx;
  if (n > g_cap) {
    free(g_results);
    g_results = calloc((size_t)n, sizeof *g_results);
    if (!g_results) die("out of memory");
    g_cap = n;
  }
  double t0 = now_s();
  for (long i = 0; i < n; ++i)
    check_mp(mp_pool_apply_async(&g_results[i], g_pool, NOOP_TASK, NULL, 0, NULL, NULL, NULL),
             NAME ": mp_pool_apply_async");
  for (long i = 0; i < n; ++i) {
    check_mp(mp_result_get(&data, &len, g_results[i], WAIT_MS), NAME ": mp_result_get");
    if (len != 0) die(NAME ": task %ld: %zu result bytes, 0 expected", i, len);
    mp_result_free(g_results[i]);
  }
  return now_s() - t0;
}

static void run_pool(const char *name) {
  bench_metric_t m = {.unit = "tasks/s", .rate = 1, .scale = 1.0, .first_n = 200,
                      .per_batch = "tasks"};
  bench_impl_t impl = {"multiproc", apply_async_batch, NULL};
  const char *s = getenv("MP_BENCH_REDIS");
  int stop[2];
  if (!s || !*s)
    die("set MP_BENCH_REDIS to HOST:PORT of a redis-server (tests/bench/run starts one "
        "and sets it)");
  snprintf(g_addr, sizeof g_addr, "redis://%s#bench_pool_%d", s, (int)getpid());
  if (pipe(stop) < 0) die("pipe: %s", strerror(errno));
  ctl_reset();
  pid_t host = fork_child(serve_host, stop);
  close(stop[0]);
  ctl_start(1, NAME " serving host");
  check_mp(mp_pool_open(&g_pool, g_addr, OPEN_MS), NAME ": mp_pool_open");
  printf("# %s: a serving host process with %d fork workers (mp_pool_serve), this "
         "program the client (mp_pool_open of %s); no-op task, apply_async then get\n",
         name, WORKERS, g_addr);
  bench_measure(name, &m, &impl, 1);
  mp_pool_free(g_pool);
  close(stop[1]);
  wait_children(&host, 1, BENCH_WATCHDOG_S, NAME " serving host");
  free(g_results);
}

static const bench_workload_t kWorkloads[] = {
    {NAME, "tasks/s", run_pool},
};

static const char *const kImpls[] = {"multiproc"};

int main(int argc, char **argv) {
  check_mp(mp_register_task(NOOP_TASK, noop_task, NULL), "mp_register_task");
  check_mp(mp_main(argc, argv), "mp_main");
  return bench_mp_main("bench_redis_pool", argc, argv, kWorkloads,
                       sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 1);
}
