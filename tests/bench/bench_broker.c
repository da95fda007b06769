/*
 * Broker benchmarks (issue 15): what a program that did not start the
 * owner pays to reach its objects by address. A program of tests/bench/run
 * like bench_process.c (same options, same method: bench_measure of
 * bench_common.c, implementations alternating batch by batch).
 *
 *   bench_broker [options] NAME...
 *     --time SEC     time budget per implementation and workload (default 1.5)
 *     --batches N    timed batches per implementation (default 5)
 *     --iters N      units per batch (default: calibrated to --time)
 *     --impl LIST    multiproc, multiproc_unrelated, multiproc_broker, all
 *     --quick        smoke mode: --time 0.05 --batches 3, rounds of 1000 tasks
 *     --list         print the workload names and units, one a line
 *   MP_BENCH_PEER    the program mp-rendezvous-peer (BUILD/tests/rendezvous/;
 *                    tests/bench/run sets it), for queue_64B_1to1_unrelated
 *
 * The program serves a broker at unix:@mp-bench-broker-<pid> (abstract
 * namespace, made at the first workload that needs it) publishing a queue
 * "q" (mp_queue_new(maxsize 0, default ring)) and a pool "p" (2 fork
 * workers, registered task bench_echo: returns its argument).
 *
 * Workloads:
 *   open_by_address   us: mp_queue_open("unix:@...#q") + mp_queue_free: a
 *                     connection to the broker, the request, the descriptor
 *                     over SCM_RIGHTS, the attach (this program is the
 *                     client; the broker's thread serves it) | no peer
 *   queue_64B_1to1_unrelated
 *                     msg/s of 64-byte messages from one producer to this
 *                     program, which gets them (mp_queue_get_into: a try,
 *                     then a wait when empty) and checks their length and
 *                     content. A batch starts the
 *                     producer (not timed) and times from the end of the
 *                     first get to the end of the last (the n - 1 messages
 *                     after the first), the same consumer for both impls:
 *                     multiproc            a forked child given the queue
 *                                          (mp_process_pass_fd): the
 *                                          parent->child figure
 *                     multiproc_unrelated  mp-rendezvous-peer bench_put, a
 *                                          program given no handle, that
 *                                          opens the queue by address
 *                     (Consumer-side timing: not comparable with
 *                     bench_ipc's queue_64B_1to1, only with each other.)
 *                     The target (issue 15) is unrelated / parent->child
 *                     >= 0.9 in the same run: no broker in the data path.
 *                     PLACE lines: every 16384 messages the consumer
 *                     compares its CPU with the producer's last one
 *                     (/proc/PID/stat), for both impls alike.
 *   broker_pool_apply_async
 *                     us/task: a round of N mp_pool_apply_async(bench_echo)
 *                     then mp_result_get + check + mp_result_free of each
 *                     (N = 10000, 1000 with --quick, bench_pool.c's
 *                     pool_apply_async):
 *                     multiproc         on the pool itself (in-process)
 *                     multiproc_broker  on the handle mp_pool_open("...#p")
 *                                       gives, opened in this program: each
 *                                       task and result crosses the socket
 *                                       to the broker's thread, which runs
 *                                       it on the same pool's workers
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_mp.h"

#define MSG_LEN 64
#define MSG_BYTE 'x' /* what both producers put: mp-rendezvous-peer's bench_put */
#define PUT_TARGET "bench_put"
#define ECHO_TASK "bench_echo"
#define POOL_WORKERS 2
#define POOL_TASKS 10000
#define POOL_TASKS_QUICK 1000
#define ARG_LEN 16
#define OPEN_MS 5000
#define PLACE_EVERY 16383 /* messages between two placement samples, minus 1 */
#define WAIT_MS ((int64_t)(BENCH_WATCHDOG_S * 1000)) /* a longer get is a hang */

/* ------------------------------------------------------------------------
 * The broker and what it publishes (made once, freed at exit)
 * ---------------------------------------------------------------------- */

static char g_addr[64], g_queue_addr[80], g_pool_addr[80];
static mp_broker_t *g_broker;
static mp_queue_t *g_queue;
static mp_pool_t *g_pool, *g_opened_pool;

static void start_broker(void) {
  if (g_broker) return;
  snprintf(g_addr, sizeof g_addr, "unix:@mp-bench-broker-%d", (int)getpid());
  snprintf(g_queue_addr, sizeof g_queue_addr, "%s#q", g_addr);
  snprintf(g_pool_addr, sizeof g_pool_addr, "%s#p", g_addr);
  check_mp(mp_broker_new(&g_broker, g_addr, NULL), "mp_broker_new");
  check_mp(mp_queue_new(&g_queue, 0, 0, 0), "mp_queue_new");
  check_mp(mp_broker_publish(g_broker, "q", mp_queue_fileno(g_queue)), "mp_broker_publish");
}

static void publish_pool(void) {
  mp_pool_opts_t *opts = NULL;
  start_broker();
  if (g_pool) return;
  check_mp(mp_pool_opts_new(&opts), "mp_pool_opts_new");
  check_mp(mp_pool_opts_set_workers(opts, POOL_WORKERS), "mp_pool_opts_set_workers");
  check_mp(mp_pool_opts_set_start_method(opts, MP_START_FORK),
           "mp_pool_opts_set_start_method");
  check_mp(mp_pool_new(&g_pool, opts), "mp_pool_new");
  mp_pool_opts_free(opts);
  check_mp(mp_broker_publish_pool(g_broker, "p", g_pool), "mp_broker_publish_pool");
  check_mp(mp_pool_open(&g_opened_pool, g_pool_addr, OPEN_MS), "mp_pool_open");
}

/* The opened pool before the broker (its requests end there), the broker
 * before the pool it borrows. */
static void stop_broker(void) {
  mp_pool_free(g_opened_pool);
  mp_broker_free(g_broker);
  if (g_pool) {
    check_mp(mp_pool_close(g_pool), "mp_pool_close");
    check_mp(mp_pool_join(g_pool, WAIT_MS), "mp_pool_join");
    mp_pool_free(g_pool);
  }
  mp_queue_free(g_queue);
}

/* ------------------------------------------------------------------------
 * open_by_address
 * ---------------------------------------------------------------------- */

static void open_once(void) {
  mp_queue_t *q = NULL;
  check_mp(mp_queue_open(&q, g_queue_addr, OPEN_MS), "open_by_address: mp_queue_open");
  mp_queue_free(q);
}

static void run_open_by_address(const char *name) {
  bench_calls_t it = {open_once};
  bench_impl_t impl = {"multiproc", bench_calls_batch, &it};
  bench_metric_t m = {.unit = "us", .first_n = 1, .per_batch = "opens"};
  start_broker();
  if (bench_want(0)) bench_measure(name, &m, &impl, 1);
}

/* ------------------------------------------------------------------------
 * queue_64B_1to1_unrelated
 * ---------------------------------------------------------------------- */

/* The forked producer: n messages as mp-rendezvous-peer's bench_put puts
 * them (the queue passed as descriptor 0 instead of opened). */
static int put_target(const void *arg, size_t len, void *payload) {
  (void)payload;
  long n;
  mp_queue_t *q = NULL;
  char msg[MSG_LEN];
  if (len != sizeof n) return 1;
  memcpy(&n, arg, sizeof n);
  memset(msg, MSG_BYTE, sizeof msg);
  if (mp_queue_from_fd(&q, mp_child_fd(0)) < 0) return 1;
  for (long i = 0; i < n; ++i)
    if (mp_queue_put(q, msg, sizeof msg, MP_FOREVER) < 0) return 1;
  mp_queue_free(q);
  return 0;
}

/* The slow path of a get (the queue was empty): wait in slices of a
 * second, and die at once if the producer ended (a peer that failed to
 * open the queue), or after BENCH_WATCHDOG_S. */
static void get_waiting(size_t *len, char *buf, mp_process_t *producer, long i,
                        const char *what) {
  int code = -1;
  for (int waited = 0; waited < (int)BENCH_WATCHDOG_S; ++waited) {
    int r = mp_queue_get_into(len, g_queue, buf, MSG_LEN, 1000);
    if (r != MP_ETIMEDOUT) {
      check_mp(r, what);
      return;
    }
    if (mp_process_join(producer, 0) == MP_OK) {
      mp_process_exitcode(&code, producer);
      die("%s: the producer ended (exit code %d) after %ld messages of the batch", what,
          code, i);
    }
  }
  mp_process_kill(producer);
  mp_process_join(producer, MP_FOREVER);
  die("%s: no message for %g s after %ld of the batch", what, BENCH_WATCHDOG_S, i);
}

/* Placement: the CPU the producer last ran on (field 39 of
 * /proc/PID/stat) against this consumer's, counted in the control page
 * (bench_measure prints the PLACE line). The producer may be a program
 * that shares no memory with this one, hence /proc and not place_mark. */
static void place_sample(int pid) {
  char path[64], stat[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return;
  char *p = fgets(stat, sizeof stat, f) ? strrchr(stat, ')') : NULL;
  fclose(f);
  int field = 2, cpu = -1; /* p: the end of field 2, the command */
  for (; p && field < 39; ++field) p = strchr(p + 1, ' ');
  if (!p || sscanf(p, "%d", &cpu) != 1 || cpu < 0) return;
  __atomic_add_fetch(cpu == sched_getcpu() ? &g_ctl->place_same : &g_ctl->place_other, 1,
                     __ATOMIC_RELAXED);
}

/* Get n messages; the seconds from the end of the first get to the end
 * of the last, scaled to n messages. A try first: no clock read while
 * messages are there (a get with a timeout reads the clock). */
static double drain(mp_process_t *producer, long n, const char *what) {
  char buf[MSG_LEN];
  size_t len = 0;
  double t0 = 0;
  for (long i = 0; i < n; ++i) {
    int r = mp_queue_get_into(&len, g_queue, buf, sizeof buf, 0);
    if (r == MP_EEMPTY) get_waiting(&len, buf, producer, i, what);
    else check_mp(r, what);
    if (len != MSG_LEN || buf[0] != MSG_BYTE || buf[MSG_LEN - 1] != MSG_BYTE)
      die("%s: message %ld: %zu bytes, not %d of '%c'", what, i, len, MSG_LEN, MSG_BYTE);
    if (i == 0) t0 = now_s();
    if ((i & PLACE_EVERY) == PLACE_EVERY) place_sample(mp_process_pid(producer));
  }
  double secs = now_s() - t0;
  return n > 1 ? secs * (double)n / (double)(n - 1) : secs;
}

static double child_batch(void *ctx, long n) {
  (void)ctx;
  mp_process_t *p = NULL;
  check_mp(mp_process_new(&p, PUT_TARGET, &n, sizeof n), "mp_process_new");
  check_mp(mp_process_pass_fd(p, mp_queue_fileno(g_queue)), "mp_process_pass_fd");
  check_mp(mp_process_start(p), "mp_process_start");
  double secs = drain(p, n, "queue_64B_1to1_unrelated multiproc");
  join_ok(p, "queue_64B_1to1_unrelated multiproc");
  mp_process_free(p);
  return secs;
}

static double unrelated_batch(void *ctx, long n) {
  const char *peer = ctx;
  char count[32];
  mp_cmd_t *cmd = NULL;
  mp_process_t *p = NULL;
  snprintf(count, sizeof count, "%ld", n);
  check_mp(mp_cmd_new(&cmd, peer), "mp_cmd_new");
  check_mp(mp_cmd_add_arg(cmd, "bench_put"), "mp_cmd_add_arg");
  check_mp(mp_cmd_add_arg(cmd, g_queue_addr), "mp_cmd_add_arg");
  check_mp(mp_cmd_add_arg(cmd, count), "mp_cmd_add_arg");
  check_mp(mp_process_spawn(&p, cmd), "mp_process_spawn");
  mp_cmd_free(cmd);
  double secs = drain(p, n, "queue_64B_1to1_unrelated multiproc_unrelated");
  join_ok(p, "queue_64B_1to1_unrelated multiproc_unrelated (mp-rendezvous-peer)");
  mp_process_free(p);
  return secs;
}

static void run_queue_unrelated(const char *name) {
  const char *peer = getenv("MP_BENCH_PEER");
  bench_metric_t m = {.unit = "msg/s", .rate = 1, .scale = 1, .first_n = 1000};
  bench_impl_t impls[2];
  int n = 0;
  if (!peer || !*peer)
    die("%s: set MP_BENCH_PEER to the mp-rendezvous-peer program "
        "(BUILD/tests/rendezvous/mp-rendezvous-peer; tests/bench/run sets it)", name);
  if (access(peer, X_OK) != 0) die("%s: MP_BENCH_PEER=%s is not an executable", name, peer);
  start_broker();
  ctl_reset(); /* the control page: placement counts only */
  printf("# %s: consumer = this program; producer: multiproc a forked child, "
         "multiproc_unrelated %s bench_put\n", name, peer);
  if (bench_want(0)) impls[n++] = (bench_impl_t){"multiproc", child_batch, NULL};
  if (bench_want(1)) impls[n++] = (bench_impl_t){"multiproc_unrelated", unrelated_batch,
                                                 (void *)peer};
  bench_measure(name, &m, impls, n);
}

/* ------------------------------------------------------------------------
 * broker_pool_apply_async
 * ---------------------------------------------------------------------- */

static size_t g_tasks = POOL_TASKS;
static char (*g_args)[ARG_LEN];
static mp_result_t **g_results;

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

/* g_tasks distinct 16-byte arguments "task000000000042". */
static void make_args(void) {
  if (g_args) return;
  if (g_opts.quick) g_tasks = POOL_TASKS_QUICK;
  g_args = malloc(g_tasks * sizeof *g_args);
  g_results = calloc(g_tasks, sizeof *g_results);
  if (!g_args || !g_results) die("out of memory");
  for (size_t i = 0; i < g_tasks; ++i) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "task%012zu", i);
    memcpy(g_args[i], tmp, ARG_LEN);
  }
}

/* One round of g_tasks tasks on pool; returns its seconds. */
static double apply_async_round(mp_pool_t *pool, const char *what) {
  const void *data;
  size_t len;
  double t0 = now_s();
  for (size_t i = 0; i < g_tasks; ++i)
    check_mp(mp_pool_apply_async(&g_results[i], pool, ECHO_TASK, g_args[i], ARG_LEN,
                                 NULL, NULL, NULL), what);
  for (size_t i = 0; i < g_tasks; ++i) {
    check_mp(mp_result_get(&data, &len, g_results[i], WAIT_MS), what);
    if (len != ARG_LEN || memcmp(data, g_args[i], ARG_LEN) != 0)
      die("%s: task %zu: wrong result (%zu bytes)", what, i, len);
    mp_result_free(g_results[i]);
    g_results[i] = NULL;
  }
  return now_s() - t0;
}

static double pool_batch(void *ctx, long n) {
  mp_pool_t *pool = *(mp_pool_t **)ctx;
  const char *what = pool == g_pool ? "broker_pool_apply_async multiproc"
                                    : "broker_pool_apply_async multiproc_broker";
  double secs = 0;
  for (long i = 0; i < n; ++i) secs += apply_async_round(pool, what);
  return secs;
}

static void run_broker_pool(const char *name) {
  char per_batch[64];
  bench_impl_t impls[2];
  int n = 0;
  make_args();
  publish_pool();
  snprintf(per_batch, sizeof per_batch, "rounds of %zu tasks", g_tasks);
  bench_metric_t m = {.unit = "us/task", .first_n = 1,
                      .time_scale = 1e6 / (double)g_tasks, .per_batch = per_batch};
  printf("# %s: %d fork workers, rounds of %zu apply_async + get\n", name,
         POOL_WORKERS, g_tasks);
  if (bench_want(0)) impls[n++] = (bench_impl_t){"multiproc", pool_batch, &g_pool};
  if (bench_want(2))
    impls[n++] = (bench_impl_t){"multiproc_broker", pool_batch, &g_opened_pool};
  bench_measure(name, &m, impls, n);
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

static const bench_workload_t kWorkloads[] = {
    {"open_by_address", "us", run_open_by_address},
    {"queue_64B_1to1_unrelated", "msg/s", run_queue_unrelated},
    {"broker_pool_apply_async", "us/task", run_broker_pool},
};

static const char *const kImpls[] = {"multiproc", "multiproc_unrelated", "multiproc_broker"};

int main(int argc, char **argv) {
  check_mp(mp_register_task(ECHO_TASK, echo_task, NULL), "mp_register_task");
  check_mp(mp_register(PUT_TARGET, put_target, NULL), "mp_register");
  check_mp(mp_main(argc, argv), "mp_main"); /* a spawned child ends here */
  int rc = bench_mp_main("bench_broker", argc, argv, kWorkloads,
                         sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 3);
  stop_broker();
  return rc;
}
