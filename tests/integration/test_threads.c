/* One process, many threads (docs/reliability.md, "Blocking calls on
 * several threads": the runtime thread, pool callbacks, objects shared by
 * threads): the paths where the library's own
 * threads meet the caller's, written for ThreadSanitizer
 * (scripts/test-tsan.sh) and as ordinary tests:
 *  - processes started, joined and communicated with from several threads
 *    (the runtime's loop thread reaps and wakes them);
 *  - pool results and callbacks (the pool's callback thread) for thread and
 *    process pools, fed from several threads;
 *  - a queue, a connection, a lock, a value and a dict shared by threads;
 *  - a cancel token fired from another thread.
 * Every check is on results, never on timing (beyond generous bounds). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define THREADS 4
#define WAIT_MS 60000

/* Run fn on THREADS threads with their index, and join them. */
static void run_threads(void *(*fn)(void *)) {
  pthread_t t[THREADS];
  for (intptr_t i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, fn, (void *)i), 0);
  for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
}

static int exit_code_target(const void *arg, size_t len, void *payload) {
  (void)payload;
  return len == 1 ? *(const unsigned char *)arg : 0;
}

static int double_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                       void *payload) {
  (void)payload;
  int64_t v;
  if (arg_len != sizeof v) return 1;
  memcpy(&v, arg, sizeof v);
  v *= 2;
  *out = malloc(sizeof v);
  if (!*out) return 1;
  memcpy(*out, &v, sizeof v);
  *out_len = sizeof v;
  return 0;
}

/* ---- processes from several threads ---- */

static atomic_int g_bad;

static void *start_join_many(void *arg) {
  unsigned char code = (unsigned char)(10 + (intptr_t)arg);
  for (int i = 0; i < 5; i++) {
    mp_process_t *p = NULL;
    int ec = -1;
    if (mp_process_new(&p, "thr_exit", &code, 1) != MP_OK || mp_process_start(p) != MP_OK ||
        mp_process_join(p, WAIT_MS) != MP_OK || mp_process_exitcode(&ec, p) != MP_OK ||
        ec != code)
      atomic_fetch_add(&g_bad, 1);
    mp_process_free(p);
  }
  /* A command through communicate (the stdio pipes and the exit watch). */
  mp_cmd_t *cmd = helper_cmd("cat", NULL);
  mp_cmd_stdio(cmd, MP_STDIN, MP_STDIO_PIPE);
  mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE);
  void *out = NULL;
  size_t out_len = 0;
  int ec = -1;
  if (mp_run(&ec, &out, &out_len, NULL, NULL, cmd, "hello", 5, WAIT_MS) != MP_OK || ec != 0 ||
      out_len != 5 || memcmp(out, "hello", 5) != 0)
    atomic_fetch_add(&g_bad, 1);
  mp_free(out);
  mp_cmd_free(cmd);
  return NULL;
}

static void test_threads_processes_from_many_threads(void **state) {
  (void)state;
  atomic_store(&g_bad, 0);
  run_threads(start_join_many);
  assert_int_equal(atomic_load(&g_bad), 0);
  assert_int_equal(count_zombie_children(), 0);
}

/* Several threads join one process while another kills it. */
static mp_process_t *g_shared_proc;

static void *join_shared(void *arg) {
  (void)arg;
  if (mp_process_join(g_shared_proc, WAIT_MS) != MP_OK) atomic_fetch_add(&g_bad, 1);
  return NULL;
}

static void test_threads_many_joiners_one_process(void **state) {
  (void)state;
  atomic_store(&g_bad, 0);
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  MP_ASSERT_OK(mp_process_spawn(&g_shared_proc, cmd));
  mp_cmd_free(cmd);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, join_shared, NULL), 0);
  sleep_ms(50);
  MP_ASSERT_OK(mp_process_kill(g_shared_proc));
  for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  int ec;
  MP_ASSERT_OK(mp_process_exitcode(&ec, g_shared_proc));
  assert_int_equal(ec, -9);
  mp_process_free(g_shared_proc);
  assert_int_equal(atomic_load(&g_bad), 0);
}

/* ---- pools: results and callbacks ---- */

static mp_pool_t *g_pool;
static atomic_long g_cb_sum, g_cb_count;

static void on_success(mp_result_t *r, void *payload) {
  (void)payload;
  const void *data;
  size_t len;
  int64_t v;
  if (mp_result_get(&data, &len, r, 0) == MP_OK && len == sizeof v) {
    memcpy(&v, data, sizeof v);
    atomic_fetch_add(&g_cb_sum, (long)v);
  }
  atomic_fetch_add(&g_cb_count, 1);
}

#define PER_THREAD 40

static void *feed_pool(void *arg) {
  intptr_t id = (intptr_t)arg;
  mp_result_t *res[PER_THREAD];
  int64_t args[PER_THREAD];
  for (int i = 0; i < PER_THREAD; i++) {
    args[i] = id * 1000 + i;
    if (mp_pool_apply_async(&res[i], g_pool, "thr_double", &args[i], sizeof args[i], on_success,
                            NULL, NULL) != MP_OK) {
      atomic_fetch_add(&g_bad, 1);
      res[i] = NULL;
    }
  }
  /* Half the results are waited for here, half freed unread: the
   * callback thread and the pool still finish them. */
  for (int i = 0; i < PER_THREAD; i++) {
    const void *data;
    size_t len;
    if (i % 2 == 0 && res[i]) {
      int64_t v = 0;
      if (mp_result_get(&data, &len, res[i], WAIT_MS) != MP_OK || len != sizeof v ||
          (memcpy(&v, data, sizeof v), v != 2 * args[i]))
        atomic_fetch_add(&g_bad, 1);
    }
    mp_result_free(res[i]);
  }
  /* And a map from each thread. */
  const void *argv[8];
  size_t lens[8];
  int64_t margs[8];
  for (int i = 0; i < 8; i++) {
    margs[i] = i;
    argv[i] = &margs[i];
    lens[i] = sizeof margs[i];
  }
  mp_result_t *m = NULL;
  if (mp_pool_map(&m, g_pool, "thr_double", argv, lens, 8, 2) != MP_OK ||
      mp_result_count(m) != 8)
    atomic_fetch_add(&g_bad, 1);
  mp_result_free(m);
  return NULL;
}

static void pool_from_threads(int threads) {
  atomic_store(&g_bad, 0);
  atomic_store(&g_cb_sum, 0);
  atomic_store(&g_cb_count, 0);
  mp_pool_opts_t *o = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_workers(o, 2));
  MP_ASSERT_OK(mp_pool_opts_set_threads(o, threads));
  MP_ASSERT_OK(mp_pool_new(&g_pool, o));
  mp_pool_opts_free(o);
  run_threads(feed_pool);
  MP_ASSERT_OK(mp_pool_close(g_pool));
  MP_ASSERT_OK(mp_pool_join(g_pool, WAIT_MS));
  mp_pool_free(g_pool);
  g_pool = NULL;
  long expect = 0;
  for (long id = 0; id < THREADS; id++)
    for (long i = 0; i < PER_THREAD; i++) expect += 2 * (id * 1000 + i);
  assert_int_equal(atomic_load(&g_bad), 0);
  assert_int_equal(atomic_load(&g_cb_count), THREADS * PER_THREAD);
  assert_int_equal(atomic_load(&g_cb_sum), expect);
}

static void test_threads_thread_pool_fed_by_threads(void **state) {
  (void)state;
  pool_from_threads(1);
}

static void test_threads_process_pool_fed_by_threads(void **state) {
  (void)state;
  pool_from_threads(0);
}

/* ---- a queue, a connection, a lock, a value, a dict shared by threads ---- */

#define MSGS 2000
static mp_queue_t *g_queue;
static atomic_long g_got_sum, g_got_count;

static void *queue_worker(void *arg) {
  intptr_t id = (intptr_t)arg;
  if (id % 2 == 0) { /* producer */
    for (int32_t i = 0; i < MSGS; i++) {
      int32_t v = (int32_t)id * MSGS + i;
      if (mp_queue_put(g_queue, &v, sizeof v, WAIT_MS) != MP_OK) atomic_fetch_add(&g_bad, 1);
    }
    return NULL;
  }
  for (;;) { /* consumer */
    int32_t v;
    size_t len;
    int r = mp_queue_get_into(&len, g_queue, &v, sizeof v, WAIT_MS);
    if (r == MP_ECLOSED) break;
    if (r != MP_OK || len != sizeof v) {
      atomic_fetch_add(&g_bad, 1);
      break;
    }
    atomic_fetch_add(&g_got_sum, v);
    atomic_fetch_add(&g_got_count, 1);
  }
  return NULL;
}

static void *queue_closer(void *arg) {
  (void)arg;
  while (atomic_load(&g_got_count) < (THREADS / 2) * MSGS) sleep_ms(5);
  mp_queue_close(g_queue);
  return NULL;
}

static void test_threads_queue_shared_by_threads(void **state) {
  (void)state;
  atomic_store(&g_bad, 0);
  atomic_store(&g_got_sum, 0);
  atomic_store(&g_got_count, 0);
  MP_ASSERT_OK(mp_queue_new(&g_queue, 64, 4096, 0));
  pthread_t closer;
  assert_int_equal(pthread_create(&closer, NULL, queue_closer, NULL), 0);
  run_threads(queue_worker);
  assert_int_equal(pthread_join(closer, NULL), 0);
  long expect = 0;
  for (long id = 0; id < THREADS; id += 2)
    for (long i = 0; i < MSGS; i++) expect += id * MSGS + i;
  assert_int_equal(atomic_load(&g_bad), 0);
  assert_int_equal(atomic_load(&g_got_sum), expect);
  mp_queue_free(g_queue);
}

static mp_conn_t *g_a, *g_b;

static void *conn_sender(void *arg) {
  int32_t v = (int32_t)(intptr_t)arg;
  for (int i = 0; i < 200; i++)
    if (mp_conn_send(g_a, &v, sizeof v, WAIT_MS) != MP_OK) atomic_fetch_add(&g_bad, 1);
  return NULL;
}

static void test_threads_connection_concurrent_senders(void **state) {
  (void)state;
  atomic_store(&g_bad, 0);
  MP_ASSERT_OK(mp_pipe(&g_a, &g_b, 1));
  pthread_t t[THREADS];
  for (intptr_t i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, conn_sender, (void *)i), 0);
  int counts[THREADS] = {0};
  for (int n = 0; n < THREADS * 200; n++) {
    int32_t v = -1;
    size_t len;
    MP_ASSERT_OK(mp_conn_recv_into(&len, g_b, &v, sizeof v, WAIT_MS));
    assert_int_equal(len, sizeof v); /* whole messages, never interleaved */
    assert_true(v >= 0 && v < THREADS);
    counts[v]++;
  }
  for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  for (int i = 0; i < THREADS; i++) assert_int_equal(counts[i], 200);
  assert_int_equal(atomic_load(&g_bad), 0);
  mp_conn_free(g_a);
  mp_conn_free(g_b);
}

static mp_lock_t *g_lock;
static mp_value_t *g_value;
static mp_dict_t *g_dict;
static long g_plain_counter; /* protected by g_lock only */

static void *sync_worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 300; i++) {
    if (mp_lock_acquire(g_lock, WAIT_MS) != MP_OK) {
      atomic_fetch_add(&g_bad, 1);
      continue;
    }
    g_plain_counter++;
    mp_lock_release(g_lock);
    int64_t now;
    if (mp_value_add_i64(&now, g_value, 0, 1) != MP_OK) atomic_fetch_add(&g_bad, 1);
    if (mp_value_acquire(g_value, WAIT_MS) != MP_OK) atomic_fetch_add(&g_bad, 1);
    int64_t v = 0;
    mp_value_get_i64(&v, g_value, 1);
    mp_value_set_i64(g_value, 1, v + 1);
    mp_value_release(g_value);
    if (mp_dict_incr(&now, g_dict, "n", 1, 1) != MP_OK) atomic_fetch_add(&g_bad, 1);
    char key[16];
    snprintf(key, sizeof key, "k%d", i % 10);
    mp_dict_set(g_dict, key, strlen(key), &i, sizeof i);
  }
  return NULL;
}

static void test_threads_lock_value_dict_shared_by_threads(void **state) {
  (void)state;
  atomic_store(&g_bad, 0);
  g_plain_counter = 0;
  MP_ASSERT_OK(mp_lock_new(&g_lock, 0));
  MP_ASSERT_OK(mp_value_new(&g_value, MP_TYPE_INT64, 2, MP_VALUE_LOCK));
  MP_ASSERT_OK(mp_dict_new(&g_dict, 64, 8192));
  run_threads(sync_worker);
  assert_int_equal(atomic_load(&g_bad), 0);
  assert_int_equal(g_plain_counter, THREADS * 300);
  int64_t v;
  MP_ASSERT_OK(mp_value_get_i64(&v, g_value, 0));
  assert_int_equal(v, THREADS * 300);
  MP_ASSERT_OK(mp_value_get_i64(&v, g_value, 1));
  assert_int_equal(v, THREADS * 300);
  MP_ASSERT_OK(mp_dict_incr(&v, g_dict, "n", 1, 0));
  assert_int_equal(v, THREADS * 300);
  assert_int_equal(mp_dict_len(g_dict), 11);
  mp_dict_free(g_dict);
  mp_value_free(g_value);
  mp_lock_free(g_lock);
}

/* ---- cancel from another thread ---- */

static mp_cancel_t *g_cancel;
static mp_queue_t *g_empty;
static atomic_int g_cancel_result;

static void *blocked_get(void *arg) {
  (void)arg;
  mp_cancel_t *prev = mp_cancel_bind(g_cancel);
  void *out;
  size_t len;
  atomic_store(&g_cancel_result, mp_queue_get(&out, &len, g_empty, WAIT_MS));
  mp_cancel_bind(prev);
  return NULL;
}

static void test_threads_cancel_from_another_thread(void **state) {
  (void)state;
  MP_ASSERT_OK(mp_cancel_new(&g_cancel));
  MP_ASSERT_OK(mp_queue_new(&g_empty, 0, 0, 0));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, blocked_get, NULL), 0);
  sleep_ms(50);
  MP_ASSERT_OK(mp_cancel_fire(g_cancel));
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(atomic_load(&g_cancel_result), MP_ECANCELED);
  mp_queue_free(g_empty);
  mp_cancel_free(g_cancel);
}

int main(int argc, char **argv) {
  mp_register("thr_exit", exit_code_target, NULL);
  mp_register_task("thr_double", double_task, NULL);
  mp_main(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_processes_from_many_threads),
      cmocka_unit_test(test_threads_many_joiners_one_process),
      cmocka_unit_test(test_threads_thread_pool_fed_by_threads),
      cmocka_unit_test(test_threads_process_pool_fed_by_threads),
      cmocka_unit_test(test_threads_queue_shared_by_threads),
      cmocka_unit_test(test_threads_connection_concurrent_senders),
      cmocka_unit_test(test_threads_lock_value_dict_shared_by_threads),
      cmocka_unit_test(test_threads_cancel_from_another_thread),
  };
  return MP_RUN_TESTS(tests);
}
