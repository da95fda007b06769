/* Pools (include/multiproc.h, "Pools"): apply, apply_async with callbacks,
 * map/map_async, imap ordered and unordered, results, close/join/terminate,
 * statistics, worker death and replacement, maxtasksperchild, initializers,
 * and that freeing a pool leaves no child, zombie or descriptor behind.
 *
 * Most bodies run for process pools started by fork and by spawn and for
 * thread pools (mp_pool_opts_set_threads): test_pool_<behaviour>_<mode>.
 *
 * Every task is registered before mp_main(), so that spawn-method workers
 * (re-executions of this program) find it. Tasks that need to report to the
 * test share one mp_value array: thread workers and forked workers use the
 * parent's handle; spawned workers open the parent's descriptor, which the
 * test keeps at a fixed number, through /proc/<parent>/fd.
 *
 * Everything the callbacks touch is static, and every pool a test creates
 * is tracked and freed by the teardown, so a failed test cannot leave a
 * pool whose callbacks write into a dead stack frame. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#define WAIT_MS 60000 /* "never" for a result that must come */

enum { MODE_FORK, MODE_SPAWN, MODE_THREADS };

static const char *mode_name(int mode) {
  return mode == MODE_FORK ? "fork" : mode == MODE_SPAWN ? "spawn" : "threads";
}

/* ------------------------------------------------------------------------
 * Utilities
 * ---------------------------------------------------------------------- */

static long parse_long(const void *arg, size_t len) {
  char buf[32];
  if (len >= sizeof buf) len = sizeof buf - 1;
  if (len) memcpy(buf, arg, len);
  buf[len] = '\0';
  return strtol(buf, NULL, 10);
}

static int arg_is(const void *arg, size_t len, const char *s) {
  return len == strlen(s) && memcmp(arg, s, len) == 0;
}

/* A task's reply: a malloc()ed string. Returns rc, for `return reply(...)`. */
static int reply(void **out, size_t *out_len, int rc, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  size_t n = strlen(buf);
  char *p = malloc(n + 1);
  if (!p) return 1;
  memcpy(p, buf, n + 1);
  *out = p;
  *out_len = n;
  return rc;
}

/* n decimal arguments "0", "1", …, or all equal to `fixed` if not NULL. */
typedef struct {
  size_t n;
  char (*buf)[24];
  const void **ptr;
  size_t *len;
} args_t;

static void args_make(args_t *a, size_t n, const char *fixed) {
  a->n = n;
  a->buf = calloc(n + 1, sizeof *a->buf);
  a->ptr = calloc(n + 1, sizeof *a->ptr);
  a->len = calloc(n + 1, sizeof *a->len);
  assert_non_null(a->buf);
  assert_non_null(a->ptr);
  assert_non_null(a->len);
  for (size_t i = 0; i < n; i++) {
    if (fixed)
      snprintf(a->buf[i], sizeof a->buf[i], "%s", fixed);
    else
      snprintf(a->buf[i], sizeof a->buf[i], "%zu", i);
    a->ptr[i] = a->buf[i];
    a->len[i] = strlen(a->buf[i]);
  }
}

static void args_set(args_t *a, size_t i, const char *s) {
  snprintf(a->buf[i], sizeof a->buf[i], "%s", s);
  a->len[i] = strlen(a->buf[i]);
}

static void args_free(args_t *a) {
  free(a->buf);
  free(a->ptr);
  free(a->len);
  memset(a, 0, sizeof *a);
}

/* Whether data/len is the decimal string of v. */
static int is_number(const void *data, size_t len, long v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%ld", v);
  return len == strlen(buf) && memcmp(data, buf, len) == 0;
}

/* ------------------------------------------------------------------------
 * State shared with workers: an int64 array
 * ---------------------------------------------------------------------- */

enum {
  S_STARTED = 0, /* tasks started */
  S_RUNNING = 1, /* tasks running now */
  S_MAXRUN = 2,  /* most tasks seen running at once */
  S_PID = 3,     /* a pid reported by a task */
  S_RDV = 4,     /* arrivals at the rendezvous */
  S_INIT = 5,    /* initializer runs */
  S_CRASHES = 6, /* workers a crashing task took down */
  S_NSLOTS = 8
};
#define SHARED_FD 900 /* where the parent keeps the array's descriptor */

static mp_value_t *g_shared;

/* The shared array in this process: the parent's handle (test process,
 * thread workers, forked workers) or, in a spawned worker, the parent's
 * descriptor opened through /proc. NULL if there is none. */
static mp_value_t *shared(void) {
  if (g_shared) return g_shared;
  if (!mp_is_child()) return NULL;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", mp_parent_pid(), SHARED_FD);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return NULL;
  mp_value_t *v = NULL;
  if (mp_value_from_fd(&v, fd) != MP_OK) return NULL;
  g_shared = v;
  return v;
}

static void shared_setup(void) {
  MP_ASSERT_OK(mp_value_new(&g_shared, MP_TYPE_INT64, S_NSLOTS, 0));
  assert_int_equal(dup3(mp_value_fileno(g_shared), SHARED_FD, O_CLOEXEC), SHARED_FD);
}

static void shared_teardown(void) {
  if (!g_shared) return;
  close(SHARED_FD);
  mp_value_free(g_shared);
  g_shared = NULL;
}

static int64_t shared_get(int slot) {
  int64_t v = -1;
  MP_ASSERT_OK(mp_value_get_i64(&v, g_shared, (size_t)slot));
  return v;
}

/* A slot once a task has set it (non-zero), or 0 after ms. */
static int64_t shared_wait_set(int slot, int64_t ms) {
  int64_t deadline = now_ms() + ms, v;
  while ((v = shared_get(slot)) == 0 && now_ms() < deadline) sleep_ms(2);
  return v;
}

static int64_t shared_add(int slot, int64_t delta) {
  mp_value_t *v = shared();
  int64_t now = 0;
  if (v) mp_value_add_i64(&now, v, (size_t)slot, delta);
  return now;
}

/* ------------------------------------------------------------------------
 * Tasks
 * ---------------------------------------------------------------------- */

static char g_init_value[64]; /* set by the initializer, in the worker */

static int t_echo(void **out, size_t *out_len, const void *arg, size_t arg_len,
                  void *payload) {
  (void)payload;
  if (arg_len == 0) return 0;
  void *p = malloc(arg_len);
  if (!p) return 1;
  memcpy(p, arg, arg_len);
  *out = p;
  *out_len = arg_len;
  return 0;
}

static int t_square(void **out, size_t *out_len, const void *arg, size_t arg_len,
                    void *payload) {
  (void)payload;
  long v = parse_long(arg, arg_len);
  return reply(out, out_len, 0, "%ld", v * v);
}

static int t_fail(void **out, size_t *out_len, const void *arg, size_t arg_len,
                  void *payload) {
  (void)payload;
  return reply(out, out_len, 1, "boom: %.*s", (int)arg_len, (const char *)arg);
}

static int t_fail_silent(void **out, size_t *out_len, const void *arg,
                         size_t arg_len, void *payload) {
  (void)out, (void)out_len, (void)arg, (void)arg_len, (void)payload;
  return 7;
}

/* Fails for i % 5 == 3 ("bad item i"), else returns i*i. */
static int t_mixed(void **out, size_t *out_len, const void *arg, size_t arg_len,
                   void *payload) {
  (void)payload;
  long v = parse_long(arg, arg_len);
  if (v % 5 == 3) return reply(out, out_len, 1, "bad item %ld", v);
  return reply(out, out_len, 0, "%ld", v * v);
}

/* Sleeps arg milliseconds, returns arg. */
static int t_sleep(void **out, size_t *out_len, const void *arg, size_t arg_len,
                   void *payload) {
  sleep_ms((int)parse_long(arg, arg_len));
  return t_echo(out, out_len, arg, arg_len, payload);
}

/* The worker dies: SIGKILL for "kill", a segfault for "segv"; otherwise
 * returns i*i. The segfault restores the default action first: a forked
 * worker inherits the test runner's handlers (CMocka catches SIGSEGV). */
static int t_crash(void **out, size_t *out_len, const void *arg, size_t arg_len,
                   void *payload) {
  if (arg_is(arg, arg_len, "kill") || arg_is(arg, arg_len, "segv")) shared_add(S_CRASHES, 1);
  if (arg_is(arg, arg_len, "kill")) {
    kill(getpid(), SIGKILL);
    pause();
  }
  if (arg_is(arg, arg_len, "segv")) {
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    pause();
  }
  return t_square(out, out_len, arg, arg_len, payload);
}

/* Returns getpid() after sleeping arg milliseconds. */
static int t_getpid(void **out, size_t *out_len, const void *arg, size_t arg_len,
                    void *payload) {
  (void)payload;
  sleep_ms((int)parse_long(arg, arg_len));
  return reply(out, out_len, 0, "%d", (int)getpid());
}

/* Reports getpid() in S_PID, then sleeps arg milliseconds. */
static int t_report_pid_sleep(void **out, size_t *out_len, const void *arg,
                              size_t arg_len, void *payload) {
  (void)payload;
  mp_value_t *v = shared();
  if (!v) return reply(out, out_len, 1, "no shared state");
  mp_value_set_i64(v, S_PID, getpid());
  sleep_ms((int)parse_long(arg, arg_len));
  return reply(out, out_len, 0, "survived");
}

/* Counts itself in S_STARTED, then sleeps arg milliseconds. */
static int t_count_sleep(void **out, size_t *out_len, const void *arg,
                         size_t arg_len, void *payload) {
  if (!shared()) return reply(out, out_len, 1, "no shared state");
  shared_add(S_STARTED, 1);
  return t_sleep(out, out_len, arg, arg_len, payload);
}

/* Tracks how many tasks run at once (S_RUNNING, S_MAXRUN) while it sleeps
 * arg milliseconds. */
static int t_conc(void **out, size_t *out_len, const void *arg, size_t arg_len,
                  void *payload) {
  mp_value_t *v = shared();
  if (!v) return reply(out, out_len, 1, "no shared state");
  int64_t now = shared_add(S_RUNNING, 1), max = 0;
  mp_value_get_i64(&max, v, S_MAXRUN);
  while (now > max) {
    int r = mp_value_cas_i64(v, S_MAXRUN, max, now, &max);
    if (r != 0) break;
  }
  sleep_ms((int)parse_long(arg, arg_len));
  shared_add(S_RUNNING, -1);
  return t_echo(out, out_len, arg, arg_len, payload);
}

/* Waits (up to 10 s) until arg tasks have arrived: succeeds only if that
 * many run at the same time. */
static int t_rendezvous(void **out, size_t *out_len, const void *arg,
                        size_t arg_len, void *payload) {
  (void)payload;
  mp_value_t *v = shared();
  if (!v) return reply(out, out_len, 1, "no shared state");
  long parties = parse_long(arg, arg_len);
  shared_add(S_RDV, 1);
  int64_t deadline = now_ms() + 10000;
  for (;;) {
    int64_t n = 0;
    mp_value_get_i64(&n, v, S_RDV);
    if (n >= parties) return reply(out, out_len, 0, "met");
    if (now_ms() > deadline) return reply(out, out_len, 1, "rendezvous timed out");
    sleep_ms(1);
  }
}

/* Reports that it runs (S_PID), then waits (up to 10 s) until the test
 * lets it go (S_RDV). */
static int t_hold(void **out, size_t *out_len, const void *arg, size_t arg_len,
                  void *payload) {
  (void)arg, (void)arg_len, (void)payload;
  mp_value_t *v = shared();
  if (!v) return reply(out, out_len, 1, "no shared state");
  mp_value_set_i64(v, S_PID, getpid());
  int64_t deadline = now_ms() + 10000, go = 0;
  while (mp_value_get_i64(&go, v, S_RDV) == MP_OK && go == 0 && now_ms() < deadline)
    sleep_ms(1);
  return reply(out, out_len, 0, "released");
}

static int t_init_set(void **out, size_t *out_len, const void *arg, size_t arg_len,
                      void *payload) {
  (void)out, (void)out_len, (void)payload;
  size_t n = arg_len < sizeof g_init_value - 1 ? arg_len : sizeof g_init_value - 1;
  memcpy(g_init_value, arg, n);
  g_init_value[n] = '\0';
  shared_add(S_INIT, 1);
  return 0;
}

static int t_init_fail(void **out, size_t *out_len, const void *arg,
                       size_t arg_len, void *payload) {
  (void)arg, (void)arg_len, (void)payload;
  return reply(out, out_len, 1, "initializer failed");
}

static int t_read_init(void **out, size_t *out_len, const void *arg,
                       size_t arg_len, void *payload) {
  (void)arg, (void)arg_len, (void)payload;
  return reply(out, out_len, 0, "%s", g_init_value[0] ? g_init_value : "(unset)");
}

static void register_tasks(void) {
  static const struct {
    const char *name;
    mp_task_fn fn;
  } tasks[] = {
      {"echo", t_echo},           {"square", t_square},
      {"fail", t_fail},           {"fail_silent", t_fail_silent},
      {"mixed", t_mixed},         {"sleep", t_sleep},
      {"crash", t_crash},         {"getpid", t_getpid},
      {"report_pid_sleep", t_report_pid_sleep},
      {"count_sleep", t_count_sleep},
      {"conc", t_conc},           {"rendezvous", t_rendezvous},
      {"hold", t_hold},
      {"init_set", t_init_set},   {"init_fail", t_init_fail},
      {"read_init", t_read_init},
  };
  for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
    if (mp_register_task(tasks[i].name, tasks[i].fn, NULL) != MP_OK) {
      fprintf(stderr, "mp_register_task %s: %s\n", tasks[i].name, mp_last_error());
      exit(99);
    }
}

/* ------------------------------------------------------------------------
 * Pools, tracked so that the teardown frees what a failed test left
 * ---------------------------------------------------------------------- */

#define MAX_TRACKED 8
static mp_pool_t *g_tracked[MAX_TRACKED];

static mp_pool_opts_t *opts_for(int mode, unsigned workers) {
  mp_pool_opts_t *o = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_workers(o, workers));
  if (mode == MODE_THREADS)
    MP_ASSERT_OK(mp_pool_opts_set_threads(o, 1));
  else
    MP_ASSERT_OK(mp_pool_opts_set_start_method(
        o, mode == MODE_SPAWN ? MP_START_SPAWN : MP_START_FORK));
  return o;
}

/* Start a pool from opts (which this frees). */
static mp_pool_t *pool_from(mp_pool_opts_t *o) {
  mp_pool_t *p = NULL;
  int r = mp_pool_new(&p, o);
  mp_pool_opts_free(o);
  if (r != MP_OK) fail_msg("mp_pool_new = %s: %s", mp_err_name(r), mp_last_error());
  assert_non_null(p);
  for (int i = 0; i < MAX_TRACKED; i++)
    if (!g_tracked[i]) {
      g_tracked[i] = p;
      return p;
    }
  fail_msg("too many pools in one test");
  return NULL;
}

static mp_pool_t *new_pool(int mode, unsigned workers) {
  return pool_from(opts_for(mode, workers));
}

/* Wait (up to 20 s) until a counter reaches at least min: a worker's
 * death fails its task before the pool has counted the replacement, and a
 * spawned worker may take a while to start under a sanitizer. */
static int64_t stat_at_least(mp_pool_t *p, mp_pool_stat_t what, int64_t min) {
  int64_t deadline = now_ms() + 20000, v;
  while ((v = mp_pool_stat(p, what)) < min && now_ms() < deadline) sleep_ms(5);
  return v;
}

/* The test frees p itself (or hands it to a thread that does). */
static void untrack(mp_pool_t *p) {
  for (int i = 0; i < MAX_TRACKED; i++)
    if (g_tracked[i] == p) g_tracked[i] = NULL;
}

static void pool_done(mp_pool_t *p) {
  untrack(p);
  mp_pool_free(p);
}

/* Close p and wait until its work is done and its workers are gone. */
static void close_and_join(mp_pool_t *p) {
  MP_ASSERT_OK(mp_pool_close(p));
  MP_ASSERT_OK(mp_pool_join(p, WAIT_MS));
}

/* Terminate p, which must take less than max_ms. */
static void terminate_within(mp_pool_t *p, int mode, int64_t max_ms) {
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_pool_terminate(p));
  int64_t took = now_ms() - t0;
  if (took > max_ms) fail_msg("%s: terminate took %lld ms", mode_name(mode), (long long)took);
}

/* apply(task, arg) on p succeeds; with want, its result is want. */
static void apply_ok(mp_pool_t *p, const char *task, const char *arg, const char *want) {
  void *out = NULL;
  size_t len = 0;
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, task, arg, strlen(arg)));
  if (want) assert_string_equal(out, want);
  mp_free(out);
}

/* ------------------------------------------------------------------------
 * Callback recording
 * ---------------------------------------------------------------------- */

#define MAX_SLOTS 64
static pthread_mutex_t g_cb_mu = PTHREAD_MUTEX_INITIALIZER;
typedef struct {
  pthread_t caller;
  int ok, err;          /* on_success / on_error calls */
  int on_caller;        /* calls on the thread that submitted */
  int not_ready;        /* calls where mp_result_ready() was not 1 */
  int get_mismatch;     /* mp_result_get() disagreed with the callback kind */
  int slot_ok[MAX_SLOTS], slot_err[MAX_SLOTS];
  int slot_get[MAX_SLOTS]; /* mp_result_get()'s code in the last call */
} cb_counts_t;
static cb_counts_t g_cb;

static void cb_reset(void) {
  pthread_mutex_lock(&g_cb_mu);
  memset(&g_cb, 0, sizeof g_cb);
  g_cb.caller = pthread_self();
  pthread_mutex_unlock(&g_cb_mu);
}

static void cb_record(mp_result_t *r, void *payload, int success) {
  int ready = mp_result_ready(r);
  const void *data;
  size_t len;
  int rc = mp_result_get(&data, &len, r, 0);
  int slot = (int)(intptr_t)payload;
  pthread_mutex_lock(&g_cb_mu);
  if (success)
    g_cb.ok++;
  else
    g_cb.err++;
  if (slot >= 0 && slot < MAX_SLOTS) {
    if (success)
      g_cb.slot_ok[slot]++;
    else
      g_cb.slot_err[slot]++;
    g_cb.slot_get[slot] = rc;
  }
  if (pthread_equal(pthread_self(), g_cb.caller)) g_cb.on_caller++;
  if (ready != 1) g_cb.not_ready++;
  if (success ? rc != MP_OK : (rc == MP_OK || rc == MP_EINVAL)) g_cb.get_mismatch++;
  pthread_mutex_unlock(&g_cb_mu);
}

static void on_ok(mp_result_t *r, void *payload) { cb_record(r, payload, 1); }
static void on_err(mp_result_t *r, void *payload) { cb_record(r, payload, 0); }

/* A copy of the counts, taken under the lock (callbacks may still run). */
static cb_counts_t cb_snapshot(void) {
  pthread_mutex_lock(&g_cb_mu);
  cb_counts_t c = g_cb;
  pthread_mutex_unlock(&g_cb_mu);
  return c;
}

/* The callbacks of slot ran ok times on_success and err times on_error. */
static void assert_slot_calls(const cb_counts_t *c, int slot, int ok, int err) {
  assert_int_equal(c->slot_ok[slot], ok);
  assert_int_equal(c->slot_err[slot], err);
}

/* How many of slots 0..n-1 did not get exactly one callback. */
static int slots_not_called_once(const cb_counts_t *c, int n) {
  int bad = 0;
  for (int i = 0; i < n; i++)
    if (c->slot_ok[i] + c->slot_err[i] != 1) bad++;
  return bad;
}

static int cb_total(void) {
  pthread_mutex_lock(&g_cb_mu);
  int n = g_cb.ok + g_cb.err;
  pthread_mutex_unlock(&g_cb_mu);
  return n;
}

/* Wait until at least `total` callbacks ran (bounded), then a little more
 * so that a duplicate call would show. */
static void cb_wait(int total) {
  int64_t deadline = now_ms() + 5000;
  while (cb_total() < total && now_ms() < deadline) sleep_ms(2);
  if (cb_total() < total)
    fail_msg("only %d of %d callbacks ran within 5 s", cb_total(), total);
  sleep_ms(50);
}

/* ------------------------------------------------------------------------
 * Setup and teardown
 * ---------------------------------------------------------------------- */

static int teardown(void **state) {
  (void)state;
  for (int i = 0; i < MAX_TRACKED; i++)
    if (g_tracked[i]) {
      mp_pool_free(g_tracked[i]);
      g_tracked[i] = NULL;
    }
  shared_teardown();
  memset(g_init_value, 0, sizeof g_init_value);
  return 0;
}


/* ------------------------------------------------------------------------
 * apply
 * ---------------------------------------------------------------------- */

static void body_apply_returns_bytes(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  void *out = NULL;
  size_t len = 99;

  const unsigned char bin[] = {0x00, 0xff, 'a', 0x00, 'b', 0x7f};
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "echo", bin, sizeof bin));
  assert_int_equal(len, sizeof bin);
  assert_memory_equal(out, bin, sizeof bin);
  assert_int_equal(((unsigned char *)out)[len], 0); /* NUL-terminated */
  mp_free(out);

  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "square", "12", 2));
  assert_int_equal(len, 3);
  assert_string_equal(out, "144");
  mp_free(out);

  /* No argument, no result. */
  out = NULL;
  len = 99;
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "echo", NULL, 0));
  assert_int_equal(len, 0);
  if (out) assert_int_equal(((char *)out)[0], 0);
  mp_free(out);

  /* A large argument and result (256 KiB) arrive intact. */
  size_t big = 256 * 1024;
  unsigned char *in = malloc(big);
  assert_non_null(in);
  for (size_t i = 0; i < big; i++) in[i] = (unsigned char)(i * 7 + (i >> 9));
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "echo", in, big));
  assert_int_equal(len, big);
  assert_memory_equal(out, in, big);
  mp_free(out);
  free(in);

  assert_int_equal(mp_pool_stat(p, MP_POOL_WORKERS_REPLACED), 0);
  pool_done(p);
}

static void body_apply_task_error(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  void *out = NULL;
  size_t len = 0;

  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "fail", "x1", 2), MP_ETASKFAILED);
  assert_non_null(out);
  assert_string_equal(out, "boom: x1");
  assert_int_equal(len, strlen("boom: x1"));
  if (!strstr(mp_last_error(), "boom: x1"))
    fail_msg("mp_last_error() lacks the task's message: %s", mp_last_error());
  mp_free(out);

  /* A task that fails without a message. */
  out = NULL;
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "fail_silent", "", 0), MP_ETASKFAILED);
  assert_int_equal(len, 0);
  mp_free(out);

  /* The workers survived: the pool still works and replaced nobody. */
  for (int i = 0; i < 4; i++) apply_ok(p, "square", "9", "81");
  assert_int_equal(mp_pool_stat(p, MP_POOL_WORKERS_REPLACED), 0);
  assert_int_equal(mp_pool_stat(p, MP_POOL_WORKERS_STARTED), 2);
  assert_int_equal(mp_pool_stat(p, MP_POOL_FAILED), 2);
  assert_int_equal(mp_pool_stat(p, MP_POOL_DONE), 4);
  pool_done(p);
}

static void body_unknown_task(int mode) {
  mp_pool_t *p = new_pool(mode, 1);
  void *out = (void *)1;
  size_t len = 5;
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "no_such_task", "a", 1), MP_ENOENT);
  assert_null(out);

  mp_result_t *r = (mp_result_t *)1;
  MP_ASSERT_ERR(mp_pool_apply_async(&r, p, "no_such_task", "a", 1, NULL, NULL, NULL),
                MP_ENOENT);
  assert_null(r);

  args_t a;
  args_make(&a, 3, NULL);
  r = (mp_result_t *)1;
  MP_ASSERT_ERR(mp_pool_map_async(&r, p, "no_such_task", a.ptr, a.len, a.n, 0, NULL,
                                  NULL, NULL),
                MP_ENOENT);
  assert_null(r);
  r = (mp_result_t *)1;
  MP_ASSERT_ERR(mp_pool_map(&r, p, "no_such_task", a.ptr, a.len, a.n, 0), MP_ENOENT);
  assert_null(r);
  mp_iter_t *it = (mp_iter_t *)1;
  MP_ASSERT_ERR(mp_pool_imap(&it, p, "no_such_task", a.ptr, a.len, a.n, 1, 0), MP_ENOENT);
  assert_null(it);
  args_free(&a);

  /* A pool task is not a process target and the reverse. */
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "__multiproc_pool_worker", "", 0), MP_ENOENT);

  assert_int_equal(mp_pool_stat(p, MP_POOL_SUBMITTED), 0);
  apply_ok(p, "echo", "ok", "ok");
  pool_done(p);
}

static void test_pool_bad_args(void **state) {
  (void)state;
  /* Options. */
  MP_ASSERT_ERR(mp_pool_opts_new(NULL), MP_EINVAL);
  mp_pool_opts_t *o = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_ERR(mp_pool_opts_set_workers(NULL, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_workers(o, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_workers(o, 1025), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_start_method(NULL, MP_START_FORK), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_start_method(o, (mp_start_method_t)7), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_max_tasks_per_worker(NULL, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_threads(NULL, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_threads(o, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_initializer(NULL, "echo", NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_initializer(o, NULL, NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_initializer(o, "", NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_opts_set_initializer(o, "echo", NULL, 3), MP_EINVAL);
  mp_pool_opts_free(o);
  mp_pool_opts_free(NULL);
  MP_ASSERT_ERR(mp_pool_new(NULL, NULL), MP_EINVAL);

  /* Registration. */
  MP_ASSERT_ERR(mp_register_task(NULL, t_echo, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_register_task("", t_echo, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_register_task("no_fn", NULL, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_register_task("echo", t_echo, NULL), MP_EEXIST);
  char longname[300];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  MP_ASSERT_ERR(mp_register_task(longname, t_echo, NULL), MP_EINVAL);

  mp_pool_t *p = new_pool(MODE_FORK, 1);
  void *out = (void *)1;
  size_t len = 0;
  /* apply */
  MP_ASSERT_ERR(mp_pool_apply(NULL, &len, p, "echo", "a", 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_apply(&out, NULL, p, "echo", "a", 1), MP_EINVAL);
  out = (void *)1;
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, NULL, "echo", "a", 1), MP_EINVAL);
  assert_null(out);
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, NULL, "a", 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "echo", NULL, 3), MP_EINVAL);
  /* apply_async */
  mp_result_t *r = (mp_result_t *)1;
  MP_ASSERT_ERR(mp_pool_apply_async(NULL, p, "echo", "a", 1, NULL, NULL, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_apply_async(&r, NULL, "echo", "a", 1, NULL, NULL, NULL), MP_EINVAL);
  assert_null(r);
  MP_ASSERT_ERR(mp_pool_apply_async(&r, p, NULL, "a", 1, NULL, NULL, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_apply_async(&r, p, "echo", NULL, 2, NULL, NULL, NULL), MP_EINVAL);
  /* map / map_async / imap */
  args_t a;
  args_make(&a, 3, NULL);
  MP_ASSERT_ERR(mp_pool_map_async(NULL, p, "echo", a.ptr, a.len, 3, 0, NULL, NULL, NULL),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_map_async(&r, NULL, "echo", a.ptr, a.len, 3, 0, NULL, NULL, NULL),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_map_async(&r, p, NULL, a.ptr, a.len, 3, 0, NULL, NULL, NULL),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_map_async(&r, p, "echo", NULL, a.len, 3, 0, NULL, NULL, NULL),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_map_async(&r, p, "echo", a.ptr, NULL, 3, 0, NULL, NULL, NULL),
                MP_EINVAL);
  r = (mp_result_t *)1;
  MP_ASSERT_ERR(mp_pool_map(&r, p, "echo", NULL, NULL, 3, 0), MP_EINVAL);
  assert_null(r);
  a.ptr[1] = NULL; /* a NULL argument with a non-zero length */
  MP_ASSERT_ERR(mp_pool_map_async(&r, p, "echo", a.ptr, a.len, 3, 0, NULL, NULL, NULL),
                MP_EINVAL);
  a.ptr[1] = a.buf[1];
  mp_iter_t *it = (mp_iter_t *)1;
  MP_ASSERT_ERR(mp_pool_imap(NULL, p, "echo", a.ptr, a.len, 3, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_imap(&it, NULL, "echo", a.ptr, a.len, 3, 1, 0), MP_EINVAL);
  assert_null(it);
  MP_ASSERT_ERR(mp_pool_imap(&it, p, "echo", a.ptr, a.len, 3, 1, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_imap(&it, p, "echo", NULL, NULL, 3, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_imap(&it, p, NULL, a.ptr, a.len, 3, 1, 0), MP_EINVAL);

  /* Results. */
  const void *data;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "echo", "z", 1, NULL, NULL, NULL));
  MP_ASSERT_ERR(mp_result_get(NULL, &len, r, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_get(&data, NULL, r, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_get(&data, &len, NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_get(&data, &len, r, -5), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_wait(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_wait(r, -2), MP_EINVAL);
  MP_ASSERT_OK(mp_result_wait(r, WAIT_MS));
  MP_ASSERT_ERR(mp_result_ready(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_successful(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_count(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_item(&data, &len, NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_item(NULL, &len, r, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_result_item(&data, &len, r, 1), MP_EINVAL); /* index */
  MP_ASSERT_OK(mp_result_item(&data, &len, r, 0));
  assert_int_equal(len, 1);
  mp_result_free(r);
  mp_result_free(NULL);

  /* Iterators. */
  MP_ASSERT_OK(mp_pool_imap(&it, p, "echo", a.ptr, a.len, 3, 1, 0));
  size_t idx;
  MP_ASSERT_ERR(mp_iter_next(NULL, &data, &len, it, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_iter_next(&idx, NULL, &len, it, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_iter_next(&idx, &data, NULL, it, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, it, -7), MP_EINVAL);
  mp_iter_free(it);
  mp_iter_free(NULL);
  args_free(&a);

  /* The pool itself. */
  MP_ASSERT_ERR(mp_pool_close(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_join(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_join(p, -3), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_terminate(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_stat(NULL, MP_POOL_SUBMITTED), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_stat(p, (mp_pool_stat_t)99), MP_EINVAL);
  MP_ASSERT_ERR(mp_pool_stat(p, (mp_pool_stat_t)-1), MP_EINVAL);
  pool_done(p);
  mp_pool_free(NULL);
}

/* ------------------------------------------------------------------------
 * apply_async, results, callbacks
 * ---------------------------------------------------------------------- */

static void body_apply_async_callbacks(int mode) {
  cb_reset();
  mp_pool_t *p = new_pool(mode, 2);
  enum { N = 12 };
  mp_result_t *r[N];
  for (int i = 0; i < N; i++) {
    char arg[16];
    snprintf(arg, sizeof arg, "%d", i);
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, i % 3 == 1 ? "fail" : "square", arg,
                                     strlen(arg), on_ok, on_err, (void *)(intptr_t)i));
  }
  for (int i = 0; i < N; i++) {
    MP_ASSERT_OK(mp_result_wait(r[i], WAIT_MS));
    assert_int_equal(mp_result_ready(r[i]), 1);
    assert_int_equal(mp_result_count(r[i]), 1);
    const void *data;
    size_t len;
    if (i % 3 == 1) {
      char msg[32];
      snprintf(msg, sizeof msg, "boom: %d", i);
      MP_ASSERT_ERR(mp_result_get(&data, &len, r[i], 0), MP_ETASKFAILED);
      assert_int_equal(len, strlen(msg));
      assert_memory_equal(data, msg, len);
      assert_int_equal(mp_result_successful(r[i]), 0);
      MP_ASSERT_ERR(mp_result_item(&data, &len, r[i], 0), MP_ETASKFAILED);
    } else {
      MP_ASSERT_OK(mp_result_get(&data, &len, r[i], 0));
      assert_true(is_number(data, len, (long)i * i));
      assert_int_equal(mp_result_successful(r[i]), 1);
    }
  }
  cb_wait(N);
  cb_counts_t c = cb_snapshot();
  int per_slot_bad = 0;
  for (int i = 0; i < N; i++) {
    int want_ok = i % 3 != 1;
    if (c.slot_ok[i] != want_ok || c.slot_err[i] != !want_ok) per_slot_bad++;
  }
  assert_int_equal(c.ok, 8);
  assert_int_equal(c.err, 4);
  assert_int_equal(per_slot_bad, 0);
  assert_int_equal(c.on_caller, 0);
  assert_int_equal(c.not_ready, 0);
  assert_int_equal(c.get_mismatch, 0);
  for (int i = 0; i < N; i++) mp_result_free(r[i]);
  assert_int_equal(mp_pool_stat(p, MP_POOL_WORKERS_REPLACED), 0);
  pool_done(p);
}

static void body_result_timeout(int mode) {
  mp_pool_t *p = new_pool(mode, 1);
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep", "700", 3, NULL, NULL, NULL));
  const void *data = (const void *)1;
  size_t len = 9;
  MP_ASSERT_ERR(mp_result_successful(r), MP_ESTATE);
  assert_int_equal(mp_result_ready(r), 0);
  MP_ASSERT_ERR(mp_result_item(&data, &len, r, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_result_get(&data, &len, r, 0), MP_ETIMEDOUT);
  MP_ASSERT_ERR(mp_result_get(&data, &len, r, 50), MP_ETIMEDOUT);
  MP_ASSERT_ERR(mp_result_wait(r, 50), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_result_wait(r, WAIT_MS));
  assert_int_equal(mp_result_ready(r), 1);
  MP_ASSERT_OK(mp_result_get(&data, &len, r, MP_FOREVER));
  assert_int_equal(len, 3);
  assert_memory_equal(data, "700", 3);
  assert_int_equal(mp_result_successful(r), 1);
  /* Getting again gives the same bytes. */
  MP_ASSERT_OK(mp_result_get(&data, &len, r, 0));
  assert_memory_equal(data, "700", 3);
  mp_result_free(r);

  /* get with a timeout on a slow task, then success. */
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep", "400", 3, NULL, NULL, NULL));
  MP_ASSERT_ERR(mp_result_get(&data, &len, r, 20), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_result_get(&data, &len, r, WAIT_MS));
  assert_memory_equal(data, "400", 3);
  mp_result_free(r);
  pool_done(p);
}

static void body_result_free_before_done(int mode) {
  cb_reset();
  mp_pool_t *p = new_pool(mode, 1);
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep", "300", 3, on_ok, on_err, (void *)0));
  mp_result_free(r);
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "fail", "late", 4, on_ok, on_err, (void *)1));
  mp_result_free(r);
  /* Without callbacks: nobody ever looks at it again. */
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep", "200", 3, NULL, NULL, NULL));
  mp_result_free(r);
  args_t a;
  args_make(&a, 30, NULL);
  MP_ASSERT_OK(mp_pool_map_async(&r, p, "square", a.ptr, a.len, a.n, 1, on_ok, on_err,
                                 (void *)2));
  mp_result_free(r);
  args_free(&a);
  cb_wait(3);
  cb_counts_t c = cb_snapshot();
  assert_slot_calls(&c, 0, 1, 0);
  assert_slot_calls(&c, 1, 0, 1);
  assert_slot_calls(&c, 2, 1, 0);
  /* The pool goes on. */
  apply_ok(p, "echo", "on", "on");
  close_and_join(p);
  pool_done(p);
}

/* "The result stays valid during the call": also when the caller already
 * released its handle with mp_result_free(). */
static void body_callback_result_valid_after_free(int mode) {
  cb_reset();
  mp_pool_t *p = new_pool(mode, 1);
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep", "200", 3, on_ok, on_err, (void *)0));
  mp_result_free(r);
  cb_wait(1);
  cb_counts_t c = cb_snapshot();
  if (c.not_ready || c.get_mismatch)
    fail_msg("in the callback of a freed result: mp_result_ready() != 1 or "
             "mp_result_get() = %s",
             mp_err_name(c.slot_get[0]));
  pool_done(p);
}

/* Defect 4 of issue 20: Python runs a result's callback before its waiters
 * wake (AsyncResult._set calls the callback, then sets the event). A
 * callback that writes a global must be seen by whoever returns from
 * wait/get, or sees ready() == 1, on every run. The callback sleeps a
 * little so that a wrong order shows every time. */
static volatile int g_written; /* written by the callback only */

static void write_global(mp_result_t *r, void *payload) {
  (void)r;
  sleep_ms(20);
  __atomic_store_n(&g_written, (int)(intptr_t)payload, __ATOMIC_SEQ_CST);
}

static int written(void) { return __atomic_load_n(&g_written, __ATOMIC_SEQ_CST); }

static void body_callback_runs_before_wait(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  args_t a;
  args_make(&a, 20, NULL);
  for (int run = 1; run <= 8; run++) {
    mp_result_t *r = NULL;
    const void *data;
    size_t len;
    MP_ASSERT_OK(mp_pool_map_async(&r, p, "square", a.ptr, a.len, a.n, 0, write_global, NULL,
                                   (void *)(intptr_t)(4 * run)));
    MP_ASSERT_OK(mp_result_wait(r, WAIT_MS));
    if (written() != 4 * run) fail_msg("run %d: wait returned before the map callback ran", run);
    mp_result_free(r);
    MP_ASSERT_OK(mp_pool_apply_async(&r, p, "fail", "x", 1, NULL, write_global,
                                     (void *)(intptr_t)(4 * run + 1)));
    MP_ASSERT_ERR(mp_result_get(&data, &len, r, WAIT_MS), MP_ETASKFAILED);
    if (written() != 4 * run + 1)
      fail_msg("run %d: get returned before the error callback ran", run);
    mp_result_free(r);
    MP_ASSERT_OK(mp_pool_apply_async(&r, p, "square", "3", 1, write_global, NULL,
                                     (void *)(intptr_t)(4 * run + 2)));
    int64_t deadline = now_ms() + WAIT_MS;
    while (mp_result_ready(r) != 1 && now_ms() < deadline) sleep_ms(1);
    if (written() != 4 * run + 2) fail_msg("run %d: ready() was 1 before the callback ran", run);
    assert_int_equal(mp_result_successful(r), 1);
    mp_result_free(r);
  }
  /* An empty map is done at once, but still only after its callback. */
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_map_async(&r, p, "square", NULL, NULL, 0, 0, write_global, NULL,
                                 (void *)(intptr_t)99));
  MP_ASSERT_OK(mp_result_wait(r, WAIT_MS));
  assert_int_equal(written(), 99);
  mp_result_free(r);
  args_free(&a);
  pool_done(p);
}

/* ------------------------------------------------------------------------
 * map, map_async
 * ---------------------------------------------------------------------- */

static void check_squares(mp_result_t *r, size_t n) {
  assert_int_equal(mp_result_count(r), (int)n);
  assert_int_equal(mp_result_ready(r), 1);
  assert_int_equal(mp_result_successful(r), 1);
  for (size_t i = 0; i < n; i++) {
    const void *data;
    size_t len;
    int rc = mp_result_item(&data, &len, r, i);
    if (rc != MP_OK) fail_msg("item %zu: %s: %s", i, mp_err_name(rc), mp_last_error());
    if (!is_number(data, len, (long)(i * i)))
      fail_msg("item %zu is '%.*s', expected %zu", i, (int)len, (const char *)data, i * i);
  }
}

/* Item i of a "mixed" task: "bad item i" (MP_ETASKFAILED) for i % 5 == 3,
 * else i*i with the call's success code ok_rc. */
static void check_mixed_item(size_t i, int rc, int ok_rc, const void *data, size_t len) {
  if (i % 5 == 3) {
    char msg[32];
    snprintf(msg, sizeof msg, "bad item %zu", i);
    if (rc != MP_ETASKFAILED) fail_msg("item %zu: %s", i, mp_err_name(rc));
    assert_int_equal(len, strlen(msg));
    assert_memory_equal(data, msg, len);
  } else {
    if (rc != ok_rc) fail_msg("item %zu: %d %s: %s", i, rc, mp_err_name(rc), mp_last_error());
    assert_true(is_number(data, len, (long)(i * i)));
  }
}

static void body_map_order(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  static const size_t sizes[] = {0, 1, 1000};
  static const size_t chunks[] = {1, 7, 0};
  for (size_t s = 0; s < 3; s++)
    for (size_t c = 0; c < 3; c++) {
      args_t a;
      args_make(&a, sizes[s], NULL);
      mp_result_t *r = NULL;
      int rc = mp_pool_map(&r, p, "square", a.ptr, a.len, a.n, chunks[c]);
      if (rc != MP_OK)
        fail_msg("%s: map n=%zu chunksize=%zu: %s: %s", mode_name(mode), sizes[s],
                 chunks[c], mp_err_name(rc), mp_last_error());
      check_squares(r, sizes[s]);
      const void *data;
      size_t len;
      MP_ASSERT_OK(mp_result_get(&data, &len, r, 0));
      mp_result_free(r);
      args_free(&a);
    }
  assert_int_equal(mp_pool_stat(p, MP_POOL_DONE), 3 * 1001);
  assert_int_equal(mp_pool_stat(p, MP_POOL_FAILED), 0);
  pool_done(p);
}

static void body_map_item_failure(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  static const size_t chunks[] = {1, 7, 0};
  for (size_t c = 0; c < 3; c++) {
    args_t a;
    args_make(&a, 50, NULL);
    mp_result_t *r = NULL;
    MP_ASSERT_ERR(mp_pool_map(&r, p, "mixed", a.ptr, a.len, a.n, chunks[c]), MP_ETASKFAILED);
    assert_non_null(r);
    assert_int_equal(mp_result_ready(r), 1);
    assert_int_equal(mp_result_successful(r), 0);
    assert_int_equal(mp_result_count(r), 50);
    const void *data;
    size_t len;
    /* get() reports the first failure (item 3) with its message. */
    MP_ASSERT_ERR(mp_result_get(&data, &len, r, 0), MP_ETASKFAILED);
    assert_int_equal(len, strlen("bad item 3"));
    assert_memory_equal(data, "bad item 3", len);
    for (size_t i = 0; i < 50; i++) {
      int rc = mp_result_item(&data, &len, r, i);
      check_mixed_item(i, rc, MP_OK, data, len);
    }
    mp_result_free(r);
    args_free(&a);
  }
  assert_int_equal(mp_pool_stat(p, MP_POOL_FAILED), 3 * 10);
  assert_int_equal(mp_pool_stat(p, MP_POOL_DONE), 3 * 40);
  assert_int_equal(mp_pool_stat(p, MP_POOL_WORKERS_REPLACED), 0);
  pool_done(p);
}

static void body_map_async_callbacks(int mode) {
  cb_reset();
  mp_pool_t *p = new_pool(mode, 2);
  args_t a;
  args_make(&a, 100, NULL);
  mp_result_t *ok = NULL, *bad = NULL, *empty = NULL;
  MP_ASSERT_OK(mp_pool_map_async(&ok, p, "square", a.ptr, a.len, a.n, 0, on_ok, on_err,
                                 (void *)0));
  MP_ASSERT_OK(mp_pool_map_async(&bad, p, "mixed", a.ptr, a.len, a.n, 3, on_ok, on_err,
                                 (void *)1));
  MP_ASSERT_OK(mp_pool_map_async(&empty, p, "square", a.ptr, a.len, 0, 0, on_ok, on_err,
                                 (void *)2));
  MP_ASSERT_OK(mp_result_wait(ok, WAIT_MS));
  MP_ASSERT_OK(mp_result_wait(bad, WAIT_MS));
  MP_ASSERT_OK(mp_result_wait(empty, WAIT_MS));
  check_squares(ok, 100);
  assert_int_equal(mp_result_successful(bad), 0);
  assert_int_equal(mp_result_count(empty), 0);
  assert_int_equal(mp_result_successful(empty), 1);
  cb_wait(3);
  cb_counts_t c = cb_snapshot();
  assert_slot_calls(&c, 0, 1, 0);
  assert_slot_calls(&c, 1, 0, 1);
  assert_slot_calls(&c, 2, 1, 0);
  assert_int_equal(c.on_caller, 0);
  assert_int_equal(c.not_ready, 0);
  mp_result_free(ok);
  mp_result_free(bad);
  mp_result_free(empty);
  args_free(&a);
  pool_done(p);
}

/* ------------------------------------------------------------------------
 * imap
 * ---------------------------------------------------------------------- */

/* Uses the 0.3 iterator calls (mp_pool_iter_next: 1 per result, 0 at the
 * end); body_imap_unordered and body_imap_timeout keep the deprecated
 * mp_iter_next, which ends with MP_ECLOSED, covered. */
static void body_imap_ordered(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  static const size_t chunks[] = {1, 5, 0};
  for (size_t c = 0; c < 3; c++) {
    args_t a;
    args_make(&a, 200, NULL);
    mp_pool_iter_t *it = NULL;
    MP_ASSERT_OK(mp_pool_imap(&it, p, "mixed", a.ptr, a.len, a.n, chunks[c], 0));
    for (size_t i = 0; i < 200; i++) {
      size_t idx = 999;
      const void *data;
      size_t len;
      int rc = mp_pool_iter_next(&idx, &data, &len, it, WAIT_MS);
      assert_int_equal(idx, i);
      check_mixed_item(i, rc, 1, data, len);
    }
    size_t idx;
    const void *data;
    size_t len;
    assert_int_equal(mp_pool_iter_next(&idx, &data, &len, it, WAIT_MS), 0);
    assert_int_equal(mp_pool_iter_next(&idx, &data, &len, it, 0), 0);
    assert_null(data);
    assert_int_equal(len, 0);
    mp_pool_iter_free(it);
    args_free(&a);
  }
  /* Nothing to iterate. */
  mp_pool_iter_t *it = NULL;
  MP_ASSERT_OK(mp_pool_imap(&it, p, "square", NULL, NULL, 0, 1, 0));
  size_t idx;
  const void *data;
  size_t len;
  assert_int_equal(mp_pool_iter_next(&idx, &data, &len, it, WAIT_MS), 0);
  mp_pool_iter_free(it);
  pool_done(p);
}

static void body_imap_unordered(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  static const size_t chunks[] = {1, 4};
  for (size_t c = 0; c < 2; c++) {
    enum { N = 300 };
    args_t a;
    args_make(&a, N, NULL);
    mp_iter_t *it = NULL;
    MP_ASSERT_OK(mp_pool_imap(&it, p, "square", a.ptr, a.len, a.n, chunks[c],
                              MP_IMAP_UNORDERED));
    int seen[N] = {0};
    for (size_t i = 0; i < N; i++) {
      size_t idx = 999;
      const void *data;
      size_t len;
      MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
      assert_true(idx < N);
      seen[idx]++;
      assert_true(is_number(data, len, (long)(idx * idx)));
    }
    for (size_t i = 0; i < N; i++)
      if (seen[i] != 1) fail_msg("index %zu seen %d times", i, seen[i]);
    size_t idx;
    const void *data;
    size_t len;
    MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, it, WAIT_MS), MP_ECLOSED);
    mp_iter_free(it);
    args_free(&a);
  }
  pool_done(p);
}

static void body_imap_timeout(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  args_t a;
  args_make(&a, 4, "1");
  args_set(&a, 0, "700");
  size_t idx;
  const void *data;
  size_t len;

  /* Ordered: item 0 is slow, so next times out first, then goes on. */
  mp_iter_t *it = NULL;
  MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a.ptr, a.len, a.n, 1, 0));
  MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, it, 50), MP_ETIMEDOUT);
  MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, it, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
  assert_int_equal(idx, 0);
  assert_int_equal(len, 3);
  assert_memory_equal(data, "700", 3);
  for (size_t i = 1; i < 4; i++) {
    MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
    assert_int_equal(idx, i);
    assert_memory_equal(data, "1", 1);
  }
  MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, it, 0), MP_ECLOSED);
  mp_iter_free(it);

  /* Unordered with only a slow item. */
  MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a.ptr, a.len, 1, 1, MP_IMAP_UNORDERED));
  MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, it, 50), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
  assert_int_equal(idx, 0);
  MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, it, WAIT_MS), MP_ECLOSED);
  mp_iter_free(it);
  args_free(&a);
  pool_done(p);
}

static void body_imap_free_early(int mode) {
  mp_pool_t *p = new_pool(mode, 1);
  args_t a;
  args_make(&a, 400, "2");
  mp_iter_t *it = NULL;
  size_t idx;
  const void *data;
  size_t len;
  /* Freed after a few results, ordered and unordered, and before any. */
  MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a.ptr, a.len, a.n, 1, 0));
  for (int i = 0; i < 3; i++) MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
  mp_iter_free(it);
  MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a.ptr, a.len, a.n, 2, MP_IMAP_UNORDERED));
  MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
  mp_iter_free(it);
  MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a.ptr, a.len, a.n, 1, 0));
  mp_iter_free(it);
  args_free(&a);
  /* The pool still works, and its remaining work is bounded. */
  apply_ok(p, "echo", "still", "still");
  close_and_join(p);
  pool_done(p);
}

static void body_imap_backpressure(int mode) {
  shared_setup();
  mp_pool_t *p = new_pool(mode, 2);
  enum { N = 2000 };
  args_t a;
  args_make(&a, N, "5");
  mp_iter_t *it = NULL;
  MP_ASSERT_OK(mp_pool_imap(&it, p, "count_sleep", a.ptr, a.len, a.n, 1, 0));
  size_t idx;
  const void *data;
  size_t len;
  MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
  assert_int_equal(idx, 0);
  int64_t started = shared_get(S_STARTED);
  /* Give an unbounded feeder time to show itself. */
  sleep_ms(200);
  int64_t started_later = shared_get(S_STARTED);
  MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
  print_message("# %s: %lld tasks started at the first result, %lld 200 ms later; "
                "%lld submitted\n",
                mode_name(mode), (long long)started, (long long)started_later,
                (long long)mp_pool_stat(p, MP_POOL_SUBMITTED));
  assert_true(started >= 1);
  if (started > 100)
    fail_msg("%lld of %d tasks started by the first result: no back-pressure",
             (long long)started, N);
  /* 200 ms of 5 ms tasks on 2 workers run at most ~80 more, plus the window. */
  if (started_later > 300)
    fail_msg("%lld of %d tasks started: no back-pressure", (long long)started_later, N);
  mp_iter_free(it);
  args_free(&a);
  MP_ASSERT_OK(mp_pool_terminate(p));
  pool_done(p);
}

/* ------------------------------------------------------------------------
 * Worker death (process pools)
 * ---------------------------------------------------------------------- */

/* The items of r whose status is not the expected one (OK with i*i, or
 * MP_EWORKERDIED for item k), as a list for a failure message. */
/* Append " i:CODE" to the list in buf (used: its length so far), while
 * it fits. */
static void note_wrong(char *buf, size_t cap, size_t *used, size_t i, int rc) {
  if (*used + 40 < cap)
    *used += (size_t)snprintf(buf + *used, cap - *used, " %zu:%s", i, mp_err_name(rc));
}

static int wrong_items(char *buf, size_t cap, mp_result_t *r, size_t n, size_t k) {
  int wrong = 0;
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const void *data;
    size_t len;
    int rc = mp_result_item(&data, &len, r, i);
    int good = i == k ? rc == MP_EWORKERDIED : rc == MP_OK && is_number(data, len, (long)(i * i));
    if (good) continue;
    wrong++;
    note_wrong(buf, cap, &used, i, rc);
  }
  return wrong;
}

static void map_with_crash(int mode, const char *how) {
  shared_setup();
  mp_pool_t *p = new_pool(mode, 2);
  enum { N = 200, K = 57 };
  args_t a;
  args_make(&a, N, NULL);
  args_set(&a, K, how);
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_map_async(&r, p, "crash", a.ptr, a.len, a.n, 1, NULL, NULL, NULL));
  int w = mp_result_wait(r, WAIT_MS);
  if (w != MP_OK) fail_msg("%s: map with a '%s' item hangs", mode_name(mode), how);
  const void *data;
  size_t len;
  MP_ASSERT_ERR(mp_result_get(&data, &len, r, 0), MP_EWORKERDIED);
  assert_int_equal(mp_result_successful(r), 0);
  char wrong[400];
  if (wrong_items(wrong, sizeof wrong, r, N, K))
    fail_msg("%s: map of %d items, item %d '%s' (ran %lld times): wrong items:%s",
             mode_name(mode), N, K, how, (long long)shared_get(S_CRASHES), wrong);
  assert_int_equal(shared_get(S_CRASHES), 1);
  mp_result_free(r);
  /* mp_pool_map itself reports it too. */
  MP_ASSERT_ERR(mp_pool_map(&r, p, "crash", a.ptr, a.len, 60, 1), MP_EWORKERDIED);
  if (wrong_items(wrong, sizeof wrong, r, 60, K))
    fail_msg("%s: mp_pool_map of 60 items, item %d '%s': wrong items:%s", mode_name(mode), K,
             how, wrong);
  mp_result_free(r);
  args_free(&a);

  assert_true(stat_at_least(p, MP_POOL_WORKERS_REPLACED, 2) >= 2);
  assert_int_equal(mp_pool_stat(p, MP_POOL_FAILED), 2);
  assert_int_equal(mp_pool_stat(p, MP_POOL_DONE), N - 1 + 59);
  /* The replacements work. */
  for (int i = 0; i < 4; i++) apply_ok(p, "square", "5", "25");
  pool_done(p);
}

static void body_map_worker_killed(int mode) { map_with_crash(mode, "kill"); }

static void body_map_worker_segfault(int mode) { map_with_crash(mode, "segv"); }

static void body_apply_async_worker_killed(int mode) {
  shared_setup();
  cb_reset();
  mp_pool_t *p = new_pool(mode, 2);
  enum { N = 20, K = 6 };
  mp_result_t *r[N];
  for (int i = 0; i < N; i++) {
    char arg[16];
    snprintf(arg, sizeof arg, "%d", i);
    const char *use = i == K ? "kill" : i == K + 7 ? "segv" : arg;
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "crash", use, strlen(use), on_ok, on_err,
                                     (void *)(intptr_t)i));
  }
  char wrong[400];
  size_t used = 0;
  wrong[0] = '\0';
  for (int i = 0; i < N; i++) {
    int w = mp_result_wait(r[i], WAIT_MS);
    if (w != MP_OK) fail_msg("%s: result %d never came", mode_name(mode), i);
    const void *data;
    size_t len;
    int rc = mp_result_get(&data, &len, r[i], 0);
    int good = i == K || i == K + 7 ? rc == MP_EWORKERDIED
                                    : rc == MP_OK && is_number(data, len, (long)i * i);
    if (!good) note_wrong(wrong, sizeof wrong, &used, (size_t)i, rc);
  }
  if (used)
    fail_msg("%s: %d tasks, %d 'kill' and %d 'segv' (crashes: %lld): wrong results:%s",
             mode_name(mode), N, K, K + 7, (long long)shared_get(S_CRASHES), wrong);
  assert_int_equal(shared_get(S_CRASHES), 2);
  cb_wait(N);
  cb_counts_t c = cb_snapshot();
  assert_int_equal(c.ok, N - 2);
  assert_int_equal(c.err, 2);
  assert_int_equal(c.slot_err[K], 1);
  assert_int_equal(c.slot_err[K + 7], 1);
  for (int i = 0; i < N; i++) mp_result_free(r[i]);
  assert_true(stat_at_least(p, MP_POOL_WORKERS_REPLACED, 2) >= 2);
  apply_ok(p, "echo", "alive", "alive");
  /* A plain apply of a crashing task. */
  void *out = NULL;
  size_t len;
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "crash", "segv", 4), MP_EWORKERDIED);
  mp_free(out);
  pool_done(p);
}

/* mp_pool_set_retries on a local pool: a task whose worker died runs
 * again on the replacement worker, up to the retries; then it fails with
 * MP_EWORKERDIED. Without retries it ran once (map_with_crash). */
static void body_retries_after_worker_death(int mode) {
  shared_setup();
  mp_pool_t *p = new_pool(mode, 2);
  MP_ASSERT_OK(mp_pool_set_retries(p, 2));
  void *out = NULL;
  size_t len;
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "crash", "kill", 4), MP_EWORKERDIED);
  mp_free(out);
  assert_int_equal(shared_get(S_CRASHES), 3); /* the first run and two retries */
  apply_ok(p, "echo", "alive", "alive");
  MP_ASSERT_ERR(mp_pool_set_retries(p, 1001), MP_EINVAL);
  pool_done(p);
}

static void body_worker_killed_from_outside(int mode) {
  shared_setup();
  mp_pool_t *p = new_pool(mode, 2);
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "report_pid_sleep", "20000", 5, NULL, NULL, NULL));
  int64_t pid = shared_wait_set(S_PID, 20000);
  if (pid <= 0) fail_msg("the task never reported its pid");
  assert_int_not_equal(pid, getpid());
  assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
  const void *data;
  size_t len;
  int64_t t0 = now_ms();
  int rc = mp_result_get(&data, &len, r, 15000);
  if (rc == MP_ETIMEDOUT) fail_msg("the killed worker's task never finished");
  assert_int_equal(rc, MP_EWORKERDIED);
  assert_true(mp_last_error()[0] != '\0');
  assert_true(now_ms() - t0 < 15000);
  mp_result_free(r);
  assert_true(stat_at_least(p, MP_POOL_WORKERS_REPLACED, 1) >= 1);
  void *out;
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "getpid", "0", 1));
  assert_false(is_number(out, len, (long)pid));
  mp_free(out);
  pool_done(p);
}

/* ------------------------------------------------------------------------
 * maxtasksperchild, initializer
 * ---------------------------------------------------------------------- */

/* Add pid to pids[0..*n) unless it is there already (or cap is reached). */
static void add_distinct(long *pids, size_t *n, size_t cap, long pid) {
  for (size_t j = 0; j < *n; j++)
    if (pids[j] == pid) return;
  if (*n < cap) pids[(*n)++] = pid;
}

static void body_maxtasks(int mode) {
  mp_pool_opts_t *o = opts_for(mode, 2);
  MP_ASSERT_OK(mp_pool_opts_set_max_tasks_per_worker(o, 2));
  mp_pool_t *p = pool_from(o);
  size_t n = mode == MODE_SPAWN ? 20 : 50;
  args_t a;
  args_make(&a, n, "0");
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_map_async(&r, p, "getpid", a.ptr, a.len, a.n, 1, NULL, NULL, NULL));
  if (mp_result_wait(r, WAIT_MS) != MP_OK) fail_msg("map with maxtasksperchild hangs");
  const void *data;
  size_t len;
  MP_ASSERT_OK(mp_result_get(&data, &len, r, 0));
  long pids[64];
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = mp_result_item(&data, &len, r, i);
    if (rc != MP_OK) fail_msg("item %zu: %s", i, mp_err_name(rc));
    long pid = parse_long(data, len);
    assert_true(pid > 0);
    assert_int_not_equal(pid, getpid());
    add_distinct(pids, &distinct, sizeof pids / sizeof pids[0], pid);
  }
  mp_result_free(r);
  args_free(&a);
  if (distinct < n / 2)
    fail_msg("%zu distinct worker pids for %zu tasks at 2 tasks per worker", distinct, n);
  assert_true(stat_at_least(p, MP_POOL_WORKERS_REPLACED, 1) >= 1);
  assert_true(mp_pool_stat(p, MP_POOL_WORKERS_STARTED) >= (int64_t)distinct);
  assert_int_equal(mp_pool_stat(p, MP_POOL_DONE), (int64_t)n);
  close_and_join(p);
  pool_done(p);
}

static void body_initializer(int mode) {
  shared_setup();
  mp_pool_opts_t *o = opts_for(mode, 2);
  MP_ASSERT_OK(mp_pool_opts_set_initializer(o, "init_set", "hello-init", 10));
  mp_pool_t *p = pool_from(o);
  args_t a;
  args_make(&a, 20, NULL);
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_map(&r, p, "read_init", a.ptr, a.len, a.n, 1));
  for (size_t i = 0; i < 20; i++) {
    const void *data;
    size_t len;
    MP_ASSERT_OK(mp_result_item(&data, &len, r, i));
    if (len != 10 || memcmp(data, "hello-init", 10) != 0)
      fail_msg("%s: item %zu saw '%.*s', not the initializer's value", mode_name(mode), i,
               (int)len, (const char *)data);
  }
  mp_result_free(r);
  args_free(&a);
  int64_t inits = shared_get(S_INIT);
  assert_true(inits >= 1);
  assert_true(inits <= mp_pool_stat(p, MP_POOL_WORKERS_STARTED));
  /* Worker processes ran it, not this one. */
  if (mode != MODE_THREADS) assert_int_equal(g_init_value[0], 0);
  pool_done(p);
}

static void body_initializer_fails(int mode) {
  mp_pool_opts_t *o = opts_for(mode, 2);
  MP_ASSERT_OK(mp_pool_opts_set_initializer(o, "init_fail", NULL, 0));
  mp_pool_t *p = pool_from(o);
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "echo", "x", 1, NULL, NULL, NULL));
  const void *data;
  size_t len;
  int rc = mp_result_get(&data, &len, r, 1500);
  /* No worker ever becomes ready: the task cannot succeed; it waits or
   * fails with its worker. */
  if (rc != MP_ETIMEDOUT && rc != MP_EWORKERDIED)
    fail_msg("%s: a task in a pool whose initializer fails: %s", mode_name(mode),
             mp_err_name(rc));
  /* Workers keep failing and being replaced. */
  assert_true(stat_at_least(p, MP_POOL_WORKERS_REPLACED, 2) >= 2);
  terminate_within(p, mode, 10000);
  assert_int_equal(mp_result_ready(r), 1);
  rc = mp_result_get(&data, &len, r, 0);
  assert_true(rc == MP_ECANCELED || rc == MP_EWORKERDIED);
  mp_result_free(r);
  MP_ASSERT_OK(mp_pool_join(p, WAIT_MS));
  pool_done(p);
}

/* ------------------------------------------------------------------------
 * close, join, terminate, free
 * ---------------------------------------------------------------------- */

static void body_use_after_close(int mode) {
  mp_pool_t *p = new_pool(mode, 1);
  MP_ASSERT_OK(mp_pool_close(p));
  void *out = (void *)1;
  size_t len;
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "echo", "a", 1), MP_ESTATE);
  assert_null(out);
  mp_result_t *r = (mp_result_t *)1;
  MP_ASSERT_ERR(mp_pool_apply_async(&r, p, "echo", "a", 1, NULL, NULL, NULL), MP_ESTATE);
  assert_null(r);
  args_t a;
  args_make(&a, 3, NULL);
  MP_ASSERT_ERR(mp_pool_map_async(&r, p, "square", a.ptr, a.len, a.n, 0, NULL, NULL, NULL),
                MP_ESTATE);
  MP_ASSERT_ERR(mp_pool_map(&r, p, "square", a.ptr, a.len, a.n, 0), MP_ESTATE);
  mp_iter_t *it = (mp_iter_t *)1;
  MP_ASSERT_ERR(mp_pool_imap(&it, p, "square", a.ptr, a.len, a.n, 1, 0), MP_ESTATE);
  assert_null(it);
  args_free(&a);
  MP_ASSERT_OK(mp_pool_close(p)); /* again: no-op */
  MP_ASSERT_OK(mp_pool_join(p, WAIT_MS));
  MP_ASSERT_OK(mp_pool_join(p, 0)); /* again */
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "echo", "a", 1), MP_ESTATE);
  pool_done(p);
}

static void body_join_before_close(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  MP_ASSERT_ERR(mp_pool_join(p, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_pool_join(p, 100), MP_ESTATE);
  MP_ASSERT_ERR(mp_pool_join(p, MP_FOREVER), MP_ESTATE);
  apply_ok(p, "echo", "fine", "fine");
  pool_done(p);
}

/* An idle pool's workers exit as soon as it is closed: join returns well
 * within a generous bound (5 s for 4 idle workers). */
static void body_join_idle(int mode) {
  mp_pool_t *p = new_pool(mode, 4);
  apply_ok(p, "echo", "x", "x");
  MP_ASSERT_OK(mp_pool_close(p));
  int64_t t0 = now_ms();
  int rc = mp_pool_join(p, 5000);
  int64_t took = now_ms() - t0;
  if (rc != MP_OK)
    fail_msg("%s: join of a closed idle pool of 4 workers: %s after %lld ms: %s",
             mode_name(mode), mp_err_name(rc), (long long)took, mp_last_error());
  pool_done(p);
}

/* Work submitted before close still runs: an imap consumed after close. */
static void body_imap_after_close(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  args_t a;
  args_make(&a, 100, NULL);
  mp_iter_t *it = NULL;
  MP_ASSERT_OK(mp_pool_imap(&it, p, "square", a.ptr, a.len, a.n, 1, 0));
  MP_ASSERT_OK(mp_pool_close(p));
  for (size_t i = 0; i < a.n; i++) {
    size_t idx;
    const void *data;
    size_t len;
    int rc = mp_iter_next(&idx, &data, &len, it, WAIT_MS);
    if (rc != MP_OK) fail_msg("%s: item %zu after close: %s", mode_name(mode), i, mp_err_name(rc));
    assert_int_equal(idx, i);
    assert_true(is_number(data, len, (long)(i * i)));
  }
  mp_iter_free(it);
  args_free(&a);
  MP_ASSERT_OK(mp_pool_join(p, WAIT_MS));
  pool_done(p);
}

static void body_close_join_waits(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  enum { N = 6 };
  mp_result_t *r[N], *m = NULL;
  for (int i = 0; i < N; i++)
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "sleep", "150", 3, NULL, NULL, NULL));
  args_t a;
  args_make(&a, 40, "5");
  MP_ASSERT_OK(mp_pool_map_async(&m, p, "sleep", a.ptr, a.len, a.n, 0, NULL, NULL, NULL));
  args_free(&a);
  MP_ASSERT_OK(mp_pool_close(p));
  /* At least 450 ms of work is left for 2 workers. */
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_pool_join(p, 0), MP_ETIMEDOUT);
  MP_ASSERT_ERR(mp_pool_join(p, 10), MP_ETIMEDOUT);
  int64_t took = now_ms() - t0;
  if (took > 2000) fail_msg("join with a timeout of 10 ms took %lld ms", (long long)took);
  MP_ASSERT_OK(mp_pool_join(p, WAIT_MS));
  /* Everything finished, nobody waited on a result. */
  for (int i = 0; i < N; i++) {
    assert_int_equal(mp_result_ready(r[i]), 1);
    assert_int_equal(mp_result_successful(r[i]), 1);
    mp_result_free(r[i]);
  }
  assert_int_equal(mp_result_ready(m), 1);
  assert_int_equal(mp_result_successful(m), 1);
  mp_result_free(m);
  assert_int_equal(mp_pool_stat(p, MP_POOL_DONE), N + 40);
  pool_done(p);
}

static void body_terminate_pending(int mode) {
  cb_reset();
  mp_pool_t *p = new_pool(mode, 2);
  enum { N = 10 };
  mp_result_t *r[N];
  for (int i = 0; i < N; i++)
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "sleep", "1500", 4, on_ok, on_err,
                                     (void *)(intptr_t)i));
  sleep_ms(100);
  terminate_within(p, mode, 10000);
  int canceled = 0, succeeded = 0;
  for (int i = 0; i < N; i++) {
    assert_int_equal(mp_result_ready(r[i]), 1);
    const void *data;
    size_t len;
    int rc = mp_result_get(&data, &len, r[i], 0);
    if (rc == MP_ECANCELED)
      canceled++;
    else if (rc == MP_OK && mode == MODE_THREADS) /* a thread cannot be killed */
      succeeded++;
    else
      fail_msg("%s: task %d after terminate: %s", mode_name(mode), i, mp_err_name(rc));
  }
  if (mode == MODE_THREADS)
    assert_true(canceled >= N - 2);
  else
    assert_int_equal(canceled, N);
  cb_wait(N);
  cb_counts_t c = cb_snapshot();
  assert_int_equal(c.ok, succeeded);
  assert_int_equal(c.err, canceled);
  assert_int_equal(slots_not_called_once(&c, N), 0);
  for (int i = 0; i < N; i++) mp_result_free(r[i]);
  /* After terminate: join works, new work is refused. */
  MP_ASSERT_OK(mp_pool_join(p, WAIT_MS));
  MP_ASSERT_OK(mp_pool_terminate(p));
  void *out = NULL;
  size_t len;
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "echo", "a", 1), MP_ESTATE);
  pool_done(p);
}

/* Terminate while results are still coming in: every callback runs once,
 * also for tasks that were running on a thread when terminate came. */
static void body_terminate_callbacks_race(int mode) {
  cb_reset();
  mp_pool_t *p = new_pool(mode, 2);
  enum { N = 40 };
  mp_result_t *r[N];
  for (int i = 0; i < N; i++)
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "sleep", "30", 2, on_ok, on_err,
                                     (void *)(intptr_t)i));
  sleep_ms(100);
  MP_ASSERT_OK(mp_pool_terminate(p));
  int done = 0;
  for (int i = 0; i < N; i++) {
    assert_int_equal(mp_result_ready(r[i]), 1);
    if (mp_result_successful(r[i]) == 1) done++;
  }
  cb_wait(N);
  cb_counts_t c = cb_snapshot();
  assert_int_equal(slots_not_called_once(&c, N), 0);
  assert_int_equal(c.ok, done);
  for (int i = 0; i < N; i++) mp_result_free(r[i]);
  pool_done(p);
}

static void body_free_without_close(int mode) {
  /* An idle pool. */
  mp_pool_t *p = new_pool(mode, 2);
  pool_done(p);

  /* A busy pool: the results held stay valid and are finished. */
  p = new_pool(mode, 2);
  enum { N = 4 };
  mp_result_t *r[N], *m = NULL;
  for (int i = 0; i < N; i++)
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "sleep", "1500", 4, NULL, NULL, NULL));
  args_t a;
  args_make(&a, 10, "1500");
  MP_ASSERT_OK(mp_pool_map_async(&m, p, "sleep", a.ptr, a.len, a.n, 1, NULL, NULL, NULL));
  mp_iter_t *it = NULL;
  MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a.ptr, a.len, a.n, 1, 0));
  mp_iter_free(it); /* before the pool */
  args_free(&a);
  sleep_ms(50);
  int64_t t0 = now_ms();
  pool_done(p);
  int64_t took = now_ms() - t0;
  if (took > 10000) fail_msg("mp_pool_free took %lld ms", (long long)took);
  for (int i = 0; i < N; i++) {
    assert_int_equal(mp_result_ready(r[i]), 1);
    const void *data;
    size_t len;
    int rc = mp_result_get(&data, &len, r[i], 0);
    if (!(rc == MP_ECANCELED || (rc == MP_OK && mode == MODE_THREADS)))
      fail_msg("%s: result %d after mp_pool_free: %s", mode_name(mode), i, mp_err_name(rc));
    mp_result_free(r[i]);
  }
  assert_int_equal(mp_result_ready(m), 1);
  assert_int_equal(mp_result_successful(m), 0);
  mp_result_free(m);
}

/* ------------------------------------------------------------------------
 * Callbacks that use the pool, several calling threads
 * ---------------------------------------------------------------------- */

static mp_pool_t *g_cb_pool;
static int g_chain_rc = 1;
static char g_chain_out[32];

/* A callback may call any function but join/terminate/free on its pool. */
static void on_ok_chain(mp_result_t *r, void *payload) {
  void *out = NULL;
  size_t len = 0;
  int rc = mp_pool_apply(&out, &len, g_cb_pool, "square", "11", 2);
  mp_result_t *more = NULL;
  if (rc == MP_OK)
    rc = mp_pool_apply_async(&more, g_cb_pool, "echo", "m", 1, on_ok, on_err, (void *)1);
  pthread_mutex_lock(&g_cb_mu);
  g_chain_rc = rc;
  snprintf(g_chain_out, sizeof g_chain_out, "%s", out ? (const char *)out : "");
  pthread_mutex_unlock(&g_cb_mu);
  mp_free(out);
  mp_result_free(more); /* before it is done: its callback still runs */
  cb_record(r, payload, 1);
}

static void body_callback_uses_pool(int mode) {
  cb_reset();
  mp_pool_t *p = new_pool(mode, 2);
  g_cb_pool = p;
  g_chain_rc = 1;
  mp_result_t *r = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "echo", "c", 1, on_ok_chain, on_err, (void *)0));
  MP_ASSERT_OK(mp_result_wait(r, WAIT_MS));
  cb_wait(2);
  pthread_mutex_lock(&g_cb_mu);
  int rc = g_chain_rc, s0 = g_cb.slot_ok[0], s1 = g_cb.slot_ok[1];
  char got[32];
  memcpy(got, g_chain_out, sizeof got);
  pthread_mutex_unlock(&g_cb_mu);
  if (rc != MP_OK) fail_msg("%s: mp_pool_apply in a callback: %s", mode_name(mode), mp_err_name(rc));
  assert_string_equal(got, "121");
  assert_int_equal(s0, 1);
  assert_int_equal(s1, 1);
  mp_result_free(r);
  g_cb_pool = NULL;
  pool_done(p);
}

typedef struct {
  mp_pool_t *pool;
  int base;
  int bad;
} caller_t;

static void *caller_main(void *arg) {
  caller_t *c = arg;
  for (int i = 0; i < 40; i++) {
    char in[16];
    int v = c->base + i;
    snprintf(in, sizeof in, "%d", v);
    void *out = NULL;
    size_t len = 0;
    if (i % 2 == 0) {
      if (mp_pool_apply(&out, &len, c->pool, "square", in, strlen(in)) != MP_OK ||
          !is_number(out, len, (long)v * v))
        c->bad++;
      mp_free(out);
    } else {
      mp_result_t *r = NULL;
      const void *data;
      if (mp_pool_apply_async(&r, c->pool, "square", in, strlen(in), NULL, NULL, NULL) != MP_OK ||
          mp_result_get(&data, &len, r, WAIT_MS) != MP_OK || !is_number(data, len, (long)v * v))
        c->bad++;
      mp_result_free(r);
    }
  }
  return NULL;
}

static void body_concurrent_callers(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  enum { T = 4 };
  pthread_t th[T];
  caller_t c[T];
  for (int i = 0; i < T; i++) {
    c[i] = (caller_t){p, 1000 * (i + 1), 0};
    assert_int_equal(pthread_create(&th[i], NULL, caller_main, &c[i]), 0);
  }
  int bad = 0;
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    bad += c[i].bad;
  }
  assert_int_equal(bad, 0);
  assert_int_equal(mp_pool_stat(p, MP_POOL_DONE), T * 40);
  pool_done(p);
}

/* ------------------------------------------------------------------------
 * Statistics
 * ---------------------------------------------------------------------- */

static void body_stats(int mode) {
  shared_setup();
  mp_pool_t *p = new_pool(mode, 2);
  assert_int_equal(mp_pool_stat(p, MP_POOL_SUBMITTED), 0);
  assert_int_equal(mp_pool_stat(p, MP_POOL_RUNNING), 0);
  assert_int_equal(mp_pool_stat(p, MP_POOL_WORKERS_STARTED), 2);
  for (int i = 0; i < 5; i++) apply_ok(p, "echo", "e", "e");
  void *out;
  size_t len;
  for (int i = 0; i < 3; i++) {
    out = NULL;
    MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "fail", "f", 1), MP_ETASKFAILED);
    mp_free(out);
  }
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, p, "no_such_task", "f", 1), MP_ENOENT);
  args_t a;
  args_make(&a, 20, NULL); /* 4 failures: 3, 8, 13, 18 */
  mp_result_t *m = NULL, *r[5];
  MP_ASSERT_ERR(mp_pool_map(&m, p, "mixed", a.ptr, a.len, a.n, 3), MP_ETASKFAILED);
  mp_result_free(m);
  args_free(&a);
  for (int i = 0; i < 5; i++)
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "square", "4", 1, NULL, NULL, NULL));
  for (int i = 0; i < 5; i++) {
    MP_ASSERT_OK(mp_result_wait(r[i], WAIT_MS));
    mp_result_free(r[i]);
  }
  int64_t sub = mp_pool_stat(p, MP_POOL_SUBMITTED);
  int64_t done = mp_pool_stat(p, MP_POOL_DONE);
  int64_t failed = mp_pool_stat(p, MP_POOL_FAILED);
  assert_int_equal(sub, 5 + 3 + 20 + 5);
  assert_int_equal(done, 5 + 16 + 5);
  assert_int_equal(failed, 3 + 4);
  assert_int_equal(done + failed, sub);
  assert_int_equal(mp_pool_stat(p, MP_POOL_RUNNING), 0);
  assert_int_equal(mp_pool_stat(p, MP_POOL_WORKERS_STARTED), 2);
  assert_int_equal(mp_pool_stat(p, MP_POOL_WORKERS_REPLACED), 0);

  /* RUNNING counts a task while it runs. */
  mp_result_t *slow = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&slow, p, "hold", "", 0, NULL, NULL, NULL));
  assert_int_not_equal(shared_wait_set(S_PID, 20000), 0);
  assert_int_equal(mp_pool_stat(p, MP_POOL_RUNNING), 1);
  assert_int_equal(mp_result_ready(slow), 0);
  MP_ASSERT_OK(mp_value_set_i64(g_shared, S_RDV, 1));
  MP_ASSERT_OK(mp_result_wait(slow, WAIT_MS));
  assert_int_equal(mp_result_successful(slow), 1);
  mp_result_free(slow);
  assert_int_equal(mp_pool_stat(p, MP_POOL_RUNNING), 0);
  pool_done(p);
}

/* A submission never waits for the dispatcher's socket calls: with the
 * only worker held in a task, a chunk of 8 MiB fills its socket and the
 * dispatcher blocks sending it; another submission still returns at once
 * (before the held task is let go, which the old dispatcher, sending
 * under the pool's lock, made it wait for), and every result comes right
 * once the worker reads again. */
static void body_submit_while_dispatcher_sends(int mode) {
  shared_setup();
  mp_pool_t *p = new_pool(mode, 1);
  mp_result_t *held = NULL, *big = NULL, *small = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&held, p, "hold", "", 0, NULL, NULL, NULL));
  assert_int_not_equal(shared_wait_set(S_PID, 20000), 0);
  enum { BIG = 8 << 20 };
  char *arg = malloc(BIG);
  assert_non_null(arg);
  memset(arg, 'b', BIG);
  MP_ASSERT_OK(mp_pool_apply_async(&big, p, "echo", arg, BIG, NULL, NULL, NULL));
  sleep_ms(200); /* let the dispatcher start the send that blocks */
  MP_ASSERT_OK(mp_pool_apply_async(&small, p, "echo", "s", 1, NULL, NULL, NULL));
  assert_int_equal(mp_result_ready(held), 0);
  MP_ASSERT_OK(mp_value_set_i64(g_shared, S_RDV, 1));
  const void *data;
  size_t len;
  MP_ASSERT_OK(mp_result_get(&data, &len, held, WAIT_MS));
  MP_ASSERT_OK(mp_result_get(&data, &len, big, WAIT_MS));
  assert_int_equal(len, BIG);
  assert_memory_equal(data, arg, BIG);
  MP_ASSERT_OK(mp_result_get(&data, &len, small, WAIT_MS));
  assert_int_equal(len, 1);
  assert_memory_equal(data, "s", 1);
  mp_result_free(held);
  mp_result_free(big);
  mp_result_free(small);
  free(arg);
  pool_done(p);
}

/* ------------------------------------------------------------------------
 * Resources
 * ---------------------------------------------------------------------- */

static void body_resources(int mode) {
  /* Warm up whatever the library creates once per process. */
  mp_pool_t *p = new_pool(mode, 2);
  apply_ok(p, "echo", "w", "w");
  pool_done(p);

  int fds0 = count_open_fds();
  assert_true(fds0 > 0);
  long pids[5 * 8];
  size_t npids = 0;
  for (int round = 0; round < 5; round++) {
    p = new_pool(mode, 2);
    args_t a;
    args_make(&a, 6, "30");
    mp_result_t *r = NULL;
    MP_ASSERT_OK(mp_pool_map(&r, p, "getpid", a.ptr, a.len, a.n, 1));
    for (size_t i = 0; i < a.n; i++) {
      const void *data;
      size_t len;
      MP_ASSERT_OK(mp_result_item(&data, &len, r, i));
      add_distinct(pids, &npids, sizeof pids / sizeof pids[0], parse_long(data, len));
    }
    mp_result_free(r);
    args_free(&a);
    if (round == 1) { /* freed busy, with a result still held */
      MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep", "3000", 4, NULL, NULL, NULL));
      pool_done(p);
      mp_result_free(r);
    } else if (round == 2) { /* closed and joined */
      close_and_join(p);
      pool_done(p);
    } else if (round == 3) { /* terminated */
      MP_ASSERT_OK(mp_pool_terminate(p));
      pool_done(p);
    } else {
      pool_done(p);
    }
  }
  if (mode != MODE_THREADS) assert_true(npids >= 5);

  int64_t deadline = now_ms() + 5000;
  int fds = 0, zombies = 0, alive = 0;
  for (;;) {
    fds = count_open_fds();
    zombies = count_zombie_children();
    alive = 0;
    for (size_t i = 0; i < npids; i++)
      if (pids[i] != getpid() && pid_running((int)pids[i])) alive++;
    if ((fds <= fds0 && zombies == 0 && alive == 0) || now_ms() > deadline) break;
    sleep_ms(20);
  }
  /* Fewer is fine: the warm-up pool's last pidfds may have still been
   * closing (on the runtime thread) when fds0 was counted. */
  if (fds > fds0) fail_msg("%s: %d descriptors open, %d before", mode_name(mode), fds, fds0);
  assert_int_equal(zombies, 0);
  if (alive) fail_msg("%s: %d worker processes still run after mp_pool_free", mode_name(mode),
                      alive);
}

/* ------------------------------------------------------------------------
 * The seeds' "apply vs apply_async"
 * ---------------------------------------------------------------------- */

static void body_apply_vs_apply_async(int mode) {
  shared_setup();
  mp_pool_t *p = new_pool(mode, 2);
  void *out;
  size_t len;
  /* apply: one task after another, results in call order. */
  for (int i = 0; i < 4; i++) {
    char arg[16];
    snprintf(arg, sizeof arg, "%d", 40 + i);
    MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "conc", arg, strlen(arg)));
    assert_string_equal(out, arg);
    mp_free(out);
    assert_int_equal(shared_get(S_RUNNING), 0);
  }
  assert_int_equal(shared_get(S_MAXRUN), 1);

  /* apply_async: two tasks that only finish if they run at the same time. */
  mp_result_t *r[2];
  for (int i = 0; i < 2; i++)
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "rendezvous", "2", 1, NULL, NULL, NULL));
  for (int i = 0; i < 2; i++) {
    const void *data;
    int rc = mp_result_get(&data, &len, r[i], WAIT_MS);
    if (rc != MP_OK)
      fail_msg("%s: apply_async task %d: %s: %.*s", mode_name(mode), i, mp_err_name(rc),
               (int)len, (const char *)data);
    mp_result_free(r[i]);
  }
  /* And many: all complete, each result belongs to its own call. */
  enum { N = 8 };
  mp_result_t *rs[N];
  for (int i = 0; i < N; i++) {
    char arg[16];
    snprintf(arg, sizeof arg, "%d", 20 + i);
    MP_ASSERT_OK(mp_pool_apply_async(&rs[i], p, "conc", arg, strlen(arg), NULL, NULL, NULL));
  }
  for (int i = 0; i < N; i++) {
    const void *data;
    char arg[16];
    snprintf(arg, sizeof arg, "%d", 20 + i);
    MP_ASSERT_OK(mp_result_get(&data, &len, rs[i], WAIT_MS));
    assert_int_equal(len, strlen(arg));
    assert_memory_equal(data, arg, len);
    mp_result_free(rs[i]);
  }
  assert_true(shared_get(S_MAXRUN) <= 2);
  pool_done(p);
}

/* ------------------------------------------------------------------------
 * Lifetimes: any order of terminate/close/free of a pool and of its
 * iterators and results, from any thread, with a callback running. Each
 * order runs many times: a use-after-free in the dispatcher shows in some
 * runs only.
 * ---------------------------------------------------------------------- */

enum {
  ORDER_TERMINATE_ITER_OPEN,  /* terminate, then drain and free the iterator */
  ORDER_CLOSE_FREE_THEN_ITER, /* close + free the pool, then the iterator */
  ORDER_FREE_ITER_SENDING,    /* free iterators while their chunks go out */
  ORDER_RESULTS_AFTER_POOL,   /* free the pool, then use and free the results */
  ORDER_CALLBACK_RUNNING,     /* terminate while a callback runs */
  ORDER_OTHER_THREAD,         /* another thread terminates and frees the pool */
};

static atomic_int g_slow_cb_running, g_slow_cb_calls;

/* A callback that takes a while and uses its result meanwhile. */
static void on_slow(mp_result_t *r, void *payload) {
  (void)payload;
  atomic_store(&g_slow_cb_running, 1);
  sleep_ms(30);
  const void *data;
  size_t len;
  mp_result_get(&data, &len, r, 0);
  atomic_fetch_add(&g_slow_cb_calls, 1);
  atomic_store(&g_slow_cb_running, 0);
}

/* Every item an iterator still gives is a result or a cancellation, and
 * the end comes without waiting for work that nobody runs any more. */
static void drain_iter(mp_iter_t *it, size_t n) {
  size_t idx, got = 0;
  const void *data;
  size_t len;
  int rc;
  while ((rc = mp_iter_next(&idx, &data, &len, it, 10000)) != MP_ECLOSED) {
    if (rc != MP_OK && rc != MP_ECANCELED)
      fail_msg("iterator item %zu after terminate: %s", got, mp_err_name(rc));
    got++;
  }
  assert_int_equal(got, n);
}

/* A finished result: its task's value or MP_ECANCELED (a thread pool
 * cannot cancel a task that already runs). */
static void check_freed_result(mp_result_t *r) {
  assert_int_equal(mp_result_ready(r), 1);
  const void *data;
  size_t len;
  int rc = mp_result_get(&data, &len, r, 0);
  if (rc != MP_OK && rc != MP_ECANCELED) fail_msg("result after terminate: %s", mp_err_name(rc));
  mp_result_free(r);
}

static void *terminate_and_free(void *arg) {
  mp_pool_t *p = arg;
  mp_pool_terminate(p);
  mp_pool_free(p);
  return NULL;
}

static void lifetime_round(int mode, int order, const args_t *a) {
  mp_pool_t *p = new_pool(mode, 2);
  mp_iter_t *it = NULL;
  mp_result_t *one = NULL, *many = NULL;
  size_t idx, len;
  const void *data;
  atomic_store(&g_slow_cb_calls, 0);
  MP_ASSERT_OK(mp_pool_map_async(&many, p, "sleep", a->ptr, a->len, a->n, 1, NULL, NULL, NULL));
  /* 64 one-item chunks: most wait in the iterator's feed, some are out. */
  MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a->ptr, a->len, a->n, 1, 0));
  MP_ASSERT_OK(mp_pool_apply_async(&one, p, "sleep", "1", 1, on_slow, on_slow, NULL));
  switch (order) {
    case ORDER_TERMINATE_ITER_OPEN:
      /* Only the iterator's chunks left, all of its window sent out. */
      MP_ASSERT_OK(mp_result_wait(one, WAIT_MS));
      MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
      MP_ASSERT_OK(mp_pool_terminate(p));
      drain_iter(it, a->n - 1);
      mp_iter_free(it);
      it = NULL;
      pool_done(p);
      break;
    case ORDER_CLOSE_FREE_THEN_ITER:
      MP_ASSERT_OK(mp_pool_close(p));
      pool_done(p);
      drain_iter(it, a->n);
      mp_iter_free(it);
      it = NULL;
      break;
    case ORDER_FREE_ITER_SENDING:
      mp_iter_free(it);
      it = NULL;
      for (int i = 0; i < 4; i++) {
        MP_ASSERT_OK(mp_pool_imap(&it, p, "echo", a->ptr, a->len, a->n, 1, MP_IMAP_UNORDERED));
        if (i % 2) MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
        mp_iter_free(it);
        it = NULL;
      }
      MP_ASSERT_OK(mp_result_get(&data, &len, one, WAIT_MS));
      MP_ASSERT_OK(mp_pool_terminate(p));
      pool_done(p);
      break;
    case ORDER_RESULTS_AFTER_POOL:
      pool_done(p);
      drain_iter(it, a->n);
      break;
    case ORDER_CALLBACK_RUNNING: {
      int64_t deadline = now_ms() + 10000;
      while (!atomic_load(&g_slow_cb_running) && atomic_load(&g_slow_cb_calls) == 0 &&
             now_ms() < deadline)
        sleep_ms(1);
      MP_ASSERT_OK(mp_pool_terminate(p));
      assert_int_equal(atomic_load(&g_slow_cb_calls), 1);
      drain_iter(it, a->n);
      pool_done(p);
      break;
    }
    case ORDER_OTHER_THREAD: {
      pthread_t th;
      untrack(p);
      MP_ASSERT_OK(mp_iter_next(&idx, &data, &len, it, WAIT_MS));
      assert_int_equal(pthread_create(&th, NULL, terminate_and_free, p), 0);
      drain_iter(it, a->n - 1); /* blocks while the other thread terminates */
      pthread_join(th, NULL);
      break;
    }
  }
  mp_iter_free(it); /* if the order left it open (after the pool) */
  check_freed_result(one);
  check_freed_result(many);
  assert_int_equal(atomic_load(&g_slow_cb_calls), 1);
}

/* Rounds of a use-after-free hunt: spawned workers start slowly. */
static int lifetime_rounds(int mode) { return mode == MODE_SPAWN ? 5 : 50; }

static void lifetime_orders(int mode, int order) {
  int rounds = lifetime_rounds(mode);
  args_t a;
  args_make(&a, 64, "1");
  for (int i = 0; i < rounds; i++) lifetime_round(mode, order, &a);
  args_free(&a);
}

#define DEF_ORDER(name, order)                                   \
  static void body_##name(int mode) { lifetime_orders(mode, order); }
DEF_ORDER(lifetime_terminate_iter_open, ORDER_TERMINATE_ITER_OPEN)
DEF_ORDER(lifetime_close_free_then_iter, ORDER_CLOSE_FREE_THEN_ITER)
DEF_ORDER(lifetime_free_iter_sending, ORDER_FREE_ITER_SENDING)
DEF_ORDER(lifetime_results_after_pool, ORDER_RESULTS_AFTER_POOL)
DEF_ORDER(lifetime_callback_running, ORDER_CALLBACK_RUNNING)
DEF_ORDER(lifetime_other_thread, ORDER_OTHER_THREAD)

/* Two threads terminate the same pool at once: both return when the
 * workers are reaped, neither crashes. */
static void *terminate_only(void *arg) {
  mp_pool_terminate(arg);
  return NULL;
}

static void body_terminate_concurrently(int mode) {
  args_t a;
  args_make(&a, 64, "1");
  for (int i = 0; i < lifetime_rounds(mode); i++) {
    mp_pool_t *p = new_pool(mode, 2);
    mp_iter_t *it = NULL;
    MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a.ptr, a.len, a.n, 1, 0));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, terminate_only, p), 0);
    MP_ASSERT_OK(mp_pool_terminate(p));
    MP_ASSERT_OK(mp_pool_join(p, 0)); /* reaped: nothing left to wait for */
    pthread_join(th, NULL);
    drain_iter(it, a.n);
    pool_done(p);
    mp_iter_free(it);
  }
  args_free(&a);
}

/* The lowest descriptor number free now: a descriptor limit of it leaves
 * no descriptor to open. */
static int lowest_free_fd(void) {
  int fd = dup(0);
  assert_true(fd >= 0);
  close(fd);
  return fd;
}

/* Set the soft descriptor limit to cur (old: the limits to restore). */
static void set_fd_limit(const struct rlimit *old, int cur) {
  struct rlimit lim = *old;
  lim.rlim_cur = (rlim_t)cur;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
}

/* A worker dies and no replacement can start (no descriptor left for its
 * pipe): every queued item of an imap fails, also the ones its feed
 * queues while the pool fails the others; the iterator never hangs. */
static void body_imap_no_replacement(int mode) {
  mp_pool_t *p = new_pool(mode, 1);
  args_t a;
  args_make(&a, 40, "1");
  args_set(&a, 0, "kill");
  mp_result_t *busy = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&busy, p, "sleep", "300", 3, NULL, NULL, NULL));
  mp_iter_t *it = NULL;
  MP_ASSERT_OK(mp_pool_imap(&it, p, "crash", a.ptr, a.len, a.n, 1, MP_IMAP_UNORDERED));
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  set_fd_limit(&old, lowest_free_fd());
  size_t idx, len, died = 0, got = 0;
  const void *data;
  int rc;
  while ((rc = mp_iter_next(&idx, &data, &len, it, 10000)) != MP_ECLOSED && rc != MP_ETIMEDOUT) {
    got++;
    if (rc == MP_EWORKERDIED) died++;
  }
  setrlimit(RLIMIT_NOFILE, &old);
  if (rc == MP_ETIMEDOUT) fail_msg("%s: %zu of %zu imap items came, then none", mode_name(mode), got, a.n);
  assert_int_equal(got, a.n);
  assert_true(died >= 1);
  mp_iter_free(it);
  mp_result_free(busy);
  args_free(&a);
  pool_done(p);
}

/* A pool whose workers cannot all start (too few descriptors, at every
 * limit from "none left" up to "enough") fails mp_pool_new with an error,
 * or succeeds: it never hangs (the cleanup waited for a dispatcher that
 * had not been started), and leaves no descriptor behind. */
static void test_pool_new_fails_cleanly_when_workers_cannot_start(void **state) {
  (void)state;
  /* The runtime thread's descriptors live as long as the process: start
   * it before the baseline (run alone, this test is the first user). */
  pool_done(new_pool(MODE_FORK, 1));
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  int lowest_free = lowest_free_fd();
  int fds_before = count_open_fds(), failed = 0, started = 0;
  for (int extra = 0; extra <= 40 && !started; extra += 2) {
    set_fd_limit(&old, lowest_free + extra);
    mp_pool_opts_t *o = NULL;
    int rc = mp_pool_opts_new(&o);
    if (rc == MP_OK) rc = mp_pool_opts_set_workers(o, 4);
    mp_pool_t *p = NULL;
    if (rc == MP_OK) rc = mp_pool_new(&p, o);
    setrlimit(RLIMIT_NOFILE, &old);
    mp_pool_opts_free(o);
    if (rc == MP_OK) {
      started = 1;
      pool_done(p);
    } else {
      assert_null(p);
      failed++;
    }
  }
  assert_true(failed > 0);
  /* settled: the last pool's workers' pidfds close on the runtime thread a
   * moment after pool_done (one was still open once, on a loaded machine) */
  int fds_after = settled_open_fds(fds_before);
  if (fds_after > fds_before)
    fail_msg("%d descriptors open after the failed starts, %d before", fds_after, fds_before);
}

/* Run as a fresh program (MP_TEST_FIRST_CALL_AT_LIMIT set): pools are
 * made with the descriptor limit raised step by step from "none free",
 * before anything else has started the library's runtime thread. libuv
 * abort()s when its first loop cannot make its signal pipe; at one of
 * these limits the runtime starts exactly there, and the library must fail
 * that pool instead. Exit 0 once a pool started, every failure before it
 * MP_ENOSPC. */
static int first_calls_at_limit(void) {
  struct rlimit old, lim;
  if (getrlimit(RLIMIT_NOFILE, &old) != 0) return 10;
  int fd = dup(0);
  if (fd < 0) return 11;
  close(fd);
  for (int extra = 0; extra <= 40; extra++) {
    lim = old;
    lim.rlim_cur = (rlim_t)(fd + extra);
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return 12;
    mp_pool_opts_t *o = NULL;
    mp_pool_t *p = NULL;
    int rc = mp_pool_opts_new(&o);
    if (rc == MP_OK) rc = mp_pool_opts_set_workers(o, 4);
    if (rc == MP_OK) rc = mp_pool_new(&p, o);
    setrlimit(RLIMIT_NOFILE, &old);
    mp_pool_opts_free(o);
    if (rc == MP_OK) {
      mp_pool_free(p);
      return 0;
    }
    printf("# %d free: %s (%s)\n", extra, mp_err_name(rc), mp_last_error());
    if (rc != MP_ENOSPC) return 14; /* the documented error of a full table */
  }
  return 13;
}

static void test_pool_first_call_at_descriptor_limit(void **state) {
  (void)state;
  /* The program's path, read here: under valgrind /proc/self/exe is
   * valgrind's own binary for exec, while readlink names the program. */
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(n > 0);
  self[n] = '\0';
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setenv("MP_TEST_FIRST_CALL_AT_LIMIT", "1", 1);
    execl(self, "test_pool", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (WIFSIGNALED(st))
    fail_msg("the program was killed by signal %d (libuv's abort)", WTERMSIG(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

/* ------------------------------------------------------------------------
 * Head-of-line blocking: one task hangs (60 s, far beyond the test's
 * bound), the short ones submitted with it or after it all finish on the
 * other worker within a few seconds, then terminate ends the hung one.
 * ---------------------------------------------------------------------- */

#define HUNG_MS "60000"
#define PROMPT_MS 5000 /* generous: the short tasks take ~10 ms each */

static void terminate_hung(mp_pool_t *p, int mode) { terminate_within(p, mode, 5000); }

/* Milliseconds from now to deadline, 0 if it has passed. */
static int64_t ms_left(int64_t deadline) {
  int64_t left = deadline - now_ms();
  return left > 0 ? left : 0;
}

/* All but the hung one of n items finish promptly (within 20 s). */
static void assert_short_items_done(mp_pool_t *p, int mode, size_t n, const char *call) {
  int64_t done = stat_at_least(p, MP_POOL_DONE, (int64_t)n - 1);
  if (done < (int64_t)n - 1)
    fail_msg("%s: %lld of %zu short %s items finished behind a hung one", mode_name(mode),
             (long long)done, n - 1, call);
}

static void body_hol_apply_async(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  enum { N = 6 };
  mp_result_t *hung = NULL, *r[N];
  for (int round = 0; round < 2; round++) { /* short ones with, then after it */
    if (round == 0)
      MP_ASSERT_OK(mp_pool_apply_async(&hung, p, "sleep", HUNG_MS, 5, NULL, NULL, NULL));
    else
      sleep_ms(100);
    for (int i = 0; i < N; i++)
      MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "sleep", "10", 2, NULL, NULL, NULL));
    int64_t deadline = now_ms() + PROMPT_MS;
    for (int i = 0; i < N; i++) {
      const void *data;
      size_t len;
      int rc = mp_result_get(&data, &len, r[i], ms_left(deadline));
      if (rc != MP_OK)
        fail_msg("%s: short task %d of %d behind a hung one: %s", mode_name(mode), i, N,
                 mp_err_name(rc));
      mp_result_free(r[i]);
    }
  }
  assert_int_equal(mp_result_ready(hung), 0);
  terminate_hung(p, mode);
  const void *data;
  size_t len;
  MP_ASSERT_ERR(mp_result_get(&data, &len, hung, 0), MP_ECANCELED);
  mp_result_free(hung);
  pool_done(p);
}

/* 13 one-item chunks, the first hangs: the other 12 finish promptly. */
static void body_hol_map(int mode) {
  mp_pool_t *p = new_pool(mode, 2);
  args_t a;
  args_make(&a, 13, "10");
  args_set(&a, 0, HUNG_MS);
  mp_result_t *m = NULL;
  MP_ASSERT_OK(mp_pool_map_async(&m, p, "sleep", a.ptr, a.len, a.n, 1, NULL, NULL, NULL));
  assert_short_items_done(p, mode, a.n, "map");
  assert_int_equal(mp_result_ready(m), 0);
  terminate_hung(p, mode);
  assert_int_equal(mp_result_successful(m), 0);
  mp_result_free(m);
  args_free(&a);
  pool_done(p);
}

/* imap, ordered and unordered: the first item hangs, the others come. */
static void body_hol_imap(int mode) {
  for (int flags = 0; flags <= MP_IMAP_UNORDERED; flags++) {
    mp_pool_t *p = new_pool(mode, 2);
    args_t a;
    args_make(&a, 20, "10");
    args_set(&a, 0, HUNG_MS);
    mp_iter_t *it = NULL;
    MP_ASSERT_OK(mp_pool_imap(&it, p, "sleep", a.ptr, a.len, a.n, 1, flags));
    size_t idx, len;
    const void *data;
    if (flags == MP_IMAP_UNORDERED) {
      int64_t deadline = now_ms() + PROMPT_MS;
      for (size_t i = 1; i < a.n; i++) {
        int rc = mp_iter_next(&idx, &data, &len, it, ms_left(deadline));
        if (rc != MP_OK)
          fail_msg("%s: imap_unordered item %zu of %zu behind a hung one: %s",
                   mode_name(mode), i, a.n - 1, mp_err_name(rc));
        assert_int_not_equal(idx, 0);
      }
    } else {
      /* In order the first item blocks the caller, but the work must not. */
      assert_short_items_done(p, mode, a.n, "imap");
    }
    terminate_hung(p, mode);
    MP_ASSERT_ERR(mp_iter_next(&idx, &data, &len, it, 0), MP_ECANCELED);
    mp_iter_free(it);
    args_free(&a);
    pool_done(p);
  }
}

/* ------------------------------------------------------------------------
 * The tests, in the order they run: each behaviour with the modes its
 * body_<behaviour>(mode) runs in (test_pool_<behaviour>_<mode>), or OWN
 * for a test_pool_<name> function of its own. One table defines the mode
 * functions and lists every test, so a behaviour's modes are named once.
 * ---------------------------------------------------------------------- */

#define POOL_TESTS(X)                                         \
  X(OWN, bad_args)                                      \
  X(FORK_SPAWN_THREADS, apply_returns_bytes)            \
  X(FORK_SPAWN_THREADS, apply_task_error)               \
  X(FORK_THREADS, unknown_task)                         \
  X(FORK_SPAWN_THREADS, apply_async_callbacks)          \
  X(FORK_THREADS, result_timeout)                       \
  X(FORK_THREADS, result_free_before_done)              \
  X(FORK_THREADS, callback_result_valid_after_free)     \
  X(FORK_THREADS, callback_runs_before_wait)            \
  X(FORK_SPAWN_THREADS, map_order)                      \
  X(FORK_THREADS, map_item_failure)                     \
  X(FORK_THREADS, map_async_callbacks)                  \
  X(FORK_SPAWN_THREADS, imap_ordered)                   \
  X(FORK_THREADS, imap_unordered)                       \
  X(FORK_THREADS, imap_timeout)                         \
  X(FORK_THREADS, imap_free_early)                      \
  X(FORK_THREADS, imap_backpressure)                    \
  X(FORK_SPAWN, map_worker_killed)                      \
  X(FORK_SPAWN, map_worker_segfault)                    \
  X(FORK_SPAWN, apply_async_worker_killed)              \
  X(FORK_SPAWN, worker_killed_from_outside)             \
  X(FORK, retries_after_worker_death)                   \
  X(FORK_SPAWN, maxtasks)                               \
  X(FORK_SPAWN_THREADS, initializer)                    \
  X(FORK_SPAWN, initializer_fails)                      \
  X(FORK_THREADS, use_after_close)                      \
  X(FORK_THREADS, join_before_close)                    \
  X(FORK_SPAWN_THREADS, join_idle)                      \
  X(FORK_THREADS, imap_after_close)                     \
  X(FORK_SPAWN_THREADS, close_join_waits)               \
  X(FORK_SPAWN_THREADS, terminate_pending)              \
  X(FORK_THREADS, terminate_callbacks_race)             \
  X(FORK_SPAWN_THREADS, free_without_close)             \
  X(FORK_THREADS, callback_uses_pool)                   \
  X(FORK_THREADS, concurrent_callers)                   \
  X(FORK_THREADS, stats)                                \
  X(FORK_SPAWN, submit_while_dispatcher_sends)          \
  X(FORK_SPAWN_THREADS, resources)                      \
  X(FORK_THREADS, apply_vs_apply_async)                 \
  X(FORK_SPAWN_THREADS, lifetime_terminate_iter_open)   \
  X(FORK_SPAWN_THREADS, lifetime_close_free_then_iter)  \
  X(FORK_SPAWN_THREADS, lifetime_free_iter_sending)     \
  X(FORK_SPAWN_THREADS, lifetime_results_after_pool)    \
  X(FORK_SPAWN_THREADS, lifetime_callback_running)      \
  X(FORK_SPAWN_THREADS, lifetime_other_thread)          \
  X(FORK_SPAWN_THREADS, terminate_concurrently)         \
  X(FORK, imap_no_replacement)                          \
  X(OWN, new_fails_cleanly_when_workers_cannot_start)   \
  X(OWN, first_call_at_descriptor_limit)                \
  X(FORK_SPAWN, hol_apply_async)                        \
  X(FORK_SPAWN, hol_map)                                \
  X(FORK_SPAWN, hol_imap)

#define FORK_SPAWN_THREADS(b, M, O) \
  M(b, MODE_FORK, fork) M(b, MODE_SPAWN, spawn) M(b, MODE_THREADS, threads)
#define FORK_THREADS(b, M, O) M(b, MODE_FORK, fork) M(b, MODE_THREADS, threads)
#define FORK_SPAWN(b, M, O) M(b, MODE_FORK, fork) M(b, MODE_SPAWN, spawn)
#define FORK(b, M, O) M(b, MODE_FORK, fork)
#define OWN(b, M, O) O(b)

#define MODE_TEST(b, mode, suffix)                                          \
  static void test_pool_##b##_##suffix(void **state) {                      \
    (void)state;                                                            \
    body_##b(mode);                                                         \
  }
#define NOTHING(b)
#define DEFINE_TESTS(modes, b) modes(b, MODE_TEST, NOTHING)
POOL_TESTS(DEFINE_TESTS)

#define T(f) cmocka_unit_test_teardown(f, teardown)
#define MODE_ENTRY(b, mode, suffix) T(test_pool_##b##_##suffix),
#define OWN_ENTRY(b) T(test_pool_##b),
#define LIST_TESTS(modes, b) modes(b, MODE_ENTRY, OWN_ENTRY)

int main(int argc, char **argv) {
  if (getenv("MP_TEST_FIRST_CALL_AT_LIMIT")) return first_calls_at_limit();
  register_tasks();
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 99;
  }
  const struct CMUnitTest tests[] = {POOL_TESTS(LIST_TESTS)};
  return MP_RUN_TESTS(tests);
}
