/* Cancel tokens: a token bound to a thread lets another thread wake that
 * thread's blocking calls (MP_ECANCELED), for every kind of wait the library
 * has: futex (queue, semaphore, event, condition, barrier), descriptors
 * (connection, process join, communicate), condition variables (pool
 * results) and process-shared mutexes (lock). Nothing is lost: a canceled
 * get takes no message, a canceled put stores none. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

/* Long enough that a call which was not woken makes the test fail by
 * MP_ETIMEDOUT rather than by meson's timeout; short enough to end. */
#define BLOCK_MS 20000

/* One blocking call run on its own thread with a token bound. */
typedef struct blocked {
  int (*call)(void *arg);
  void *arg;
  mp_cancel_t *token;
  int rc;
  char message[256];
  int64_t returned_at;
} blocked_t;

static void *blocked_main(void *p) {
  blocked_t *b = p;
  mp_cancel_t *prev = mp_cancel_bind(b->token);
  b->rc = b->call(b->arg);
  snprintf(b->message, sizeof b->message, "%s", mp_last_error());
  b->returned_at = now_ms();
  assert_ptr_equal(mp_cancel_bind(prev), b->token);
  return NULL;
}

/* Run call on a thread, fire its token after 200 ms, and check the call
 * returned MP_ECANCELED soon after (a generous bound: 5 s). */
static void expect_woken(int (*call)(void *), void *arg) {
  blocked_t b = {call, arg, NULL, 1, "", 0};
  MP_ASSERT_OK(mp_cancel_new(&b.token));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, blocked_main, &b), 0);
  sleep_ms(200);
  int64_t fired_at = now_ms();
  MP_ASSERT_OK(mp_cancel_fire(b.token));
  assert_int_equal(pthread_join(t, NULL), 0);
  if (b.rc != MP_ECANCELED)
    fail_msg("call returned %s (%s), expected ECANCELED", mp_err_name(b.rc), b.message);
  assert_non_null(strstr(b.message, "canceled"));
  assert_true(b.returned_at - fired_at < 5000);
  assert_int_equal(mp_cancel_fired(b.token), 1);
  mp_cancel_free(b.token);
}

/* --- the API itself ---------------------------------------------------- */

static void test_cancel_api_errors(void **state) {
  (void)state;
  MP_ASSERT_ERR(mp_cancel_new(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_cancel_fire(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_cancel_reset(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_cancel_fired(NULL), MP_EINVAL);
  mp_cancel_free(NULL);
}

static void test_cancel_fire_reset_fired(void **state) {
  (void)state;
  mp_cancel_t *c;
  MP_ASSERT_OK(mp_cancel_new(&c));
  assert_int_equal(mp_cancel_fired(c), 0);
  MP_ASSERT_OK(mp_cancel_fire(c));
  MP_ASSERT_OK(mp_cancel_fire(c));  /* twice is harmless */
  assert_int_equal(mp_cancel_fired(c), 1);
  MP_ASSERT_OK(mp_cancel_reset(c));
  assert_int_equal(mp_cancel_fired(c), 0);
  mp_cancel_free(c);
}

static void test_cancel_bind_returns_previous(void **state) {
  (void)state;
  mp_cancel_t *a, *b;
  MP_ASSERT_OK(mp_cancel_new(&a));
  MP_ASSERT_OK(mp_cancel_new(&b));
  assert_null(mp_cancel_bind(a));
  assert_ptr_equal(mp_cancel_bind(b), a);
  assert_ptr_equal(mp_cancel_bind(NULL), b);
  assert_null(mp_cancel_bind(NULL));
  mp_cancel_free(a);
  mp_cancel_free(b);
}

/* A fired token makes the next call return at once; a reset one does not;
 * without a binding the call times out as usual. */
static void test_cancel_fired_before_call_and_reset(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_cancel_t *c;
  MP_ASSERT_OK(mp_cancel_new(&c));
  MP_ASSERT_OK(mp_cancel_fire(c));
  mp_cancel_bind(c);
  void *buf = NULL;
  size_t len = 0;
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_queue_get(&buf, &len, q, MP_FOREVER), MP_ECANCELED);
  assert_true(now_ms() - t0 < 5000);
  MP_ASSERT_OK(mp_cancel_reset(c));
  MP_ASSERT_ERR(mp_queue_get(&buf, &len, q, 0), MP_EEMPTY);
  MP_ASSERT_ERR(mp_queue_get(&buf, &len, q, 50), MP_ETIMEDOUT);
  mp_cancel_bind(NULL);
  MP_ASSERT_OK(mp_cancel_fire(c));  /* not bound: no effect on this thread */
  MP_ASSERT_ERR(mp_queue_get(&buf, &len, q, 50), MP_ETIMEDOUT);
  mp_cancel_free(c);
  mp_queue_free(q);
}

/* A canceled get takes nothing and a canceled put stores nothing: the
 * queue afterwards holds exactly what was put successfully. */
static void test_cancel_queue_loses_nothing(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_new(&q, 1, 0, 0));  /* one message at most */
  MP_ASSERT_OK(mp_queue_put(q, "first", 5, 0));
  mp_cancel_t *c;
  MP_ASSERT_OK(mp_cancel_new(&c));
  MP_ASSERT_OK(mp_cancel_fire(c));
  mp_cancel_bind(c);
  MP_ASSERT_ERR(mp_queue_put(q, "second", 6, MP_FOREVER), MP_ECANCELED);
  mp_cancel_bind(NULL);
  assert_int_equal(mp_queue_qsize(q), 1);
  void *buf = NULL;
  size_t len = 0;
  MP_ASSERT_OK(mp_queue_get(&buf, &len, q, 0));
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "first", 5);
  mp_free(buf);
  MP_ASSERT_ERR(mp_queue_get(&buf, &len, q, 0), MP_EEMPTY);
  mp_cancel_free(c);
  mp_queue_free(q);
}

/* --- every kind of wait is woken --------------------------------------- */

static int call_queue_get(void *arg) {
  void *buf = NULL;
  size_t len = 0;
  int r = mp_queue_get(&buf, &len, arg, BLOCK_MS);
  mp_free(buf);
  return r;
}

static void test_cancel_wakes_queue_get(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  expect_woken(call_queue_get, q);
  /* The queue still works and the canceled get took nothing. */
  MP_ASSERT_OK(mp_queue_put(q, "x", 1, 0));
  assert_int_equal(mp_queue_qsize(q), 1);
  mp_queue_free(q);
}

static int call_queue_put_full(void *arg) { return mp_queue_put(arg, "y", 1, BLOCK_MS); }

static void test_cancel_wakes_queue_put_on_full(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_new(&q, 1, 0, 0));
  MP_ASSERT_OK(mp_queue_put(q, "x", 1, 0));
  expect_woken(call_queue_put_full, q);
  assert_int_equal(mp_queue_qsize(q), 1);
  mp_queue_free(q);
}

static int call_sem_acquire(void *arg) { return mp_sem_acquire(arg, MP_FOREVER); }

static void test_cancel_wakes_sem_acquire_forever(void **state) {
  (void)state;
  mp_sem_t *s;
  MP_ASSERT_OK(mp_sem_new(&s, 0, 0));
  expect_woken(call_sem_acquire, s);
  assert_int_equal(mp_sem_value(s), 0);
  mp_sem_free(s);
}

static int call_event_wait(void *arg) { return mp_event_wait(arg, BLOCK_MS); }

static void test_cancel_wakes_event_wait(void **state) {
  (void)state;
  mp_event_t *e;
  MP_ASSERT_OK(mp_event_new(&e));
  expect_woken(call_event_wait, e);
  mp_event_free(e);
}

static mp_lock_t *g_cond_lock;

static int call_cond_wait(void *arg) {
  int r = mp_lock_acquire(g_cond_lock, MP_FOREVER);
  if (r != MP_OK) return r;
  r = mp_cond_wait(arg, BLOCK_MS);
  /* Like a timeout, a canceled wait holds the lock again on return. */
  int held = mp_lock_release(g_cond_lock);
  return held == MP_OK ? r : held;
}

static void test_cancel_wakes_cond_wait(void **state) {
  (void)state;
  mp_cond_t *cv;
  MP_ASSERT_OK(mp_lock_new(&g_cond_lock, 0));
  MP_ASSERT_OK(mp_cond_new(&cv, g_cond_lock));
  expect_woken(call_cond_wait, cv);
  assert_int_equal(mp_lock_locked(g_cond_lock), 0);
  mp_cond_free(cv);
  mp_lock_free(g_cond_lock);
}

static int call_barrier_wait(void *arg) { return mp_barrier_wait(arg, BLOCK_MS); }

static void test_cancel_wakes_barrier_wait(void **state) {
  (void)state;
  mp_barrier_t *b;
  MP_ASSERT_OK(mp_barrier_new(&b, 2));
  expect_woken(call_barrier_wait, b);
  mp_barrier_free(b);
}

/* A thread waiting on a barrier twice: the first wait is canceled, the
 * second (token reset) goes on waiting for the same round. */
typedef struct barrier_party {
  mp_barrier_t *barrier;
  mp_cancel_t *token;
  mp_event_t *go_on; /* set once the token was reset */
  int first, second;
} barrier_party_t;

static void *barrier_party_main(void *p) {
  barrier_party_t *bp = p;
  mp_cancel_t *prev = mp_cancel_bind(bp->token);
  __atomic_store_n(&bp->first, mp_barrier_wait(bp->barrier, BLOCK_MS), __ATOMIC_RELEASE);
  mp_cancel_bind(NULL); /* the token stays fired until the test resets it */
  int r = mp_event_wait(bp->go_on, BLOCK_MS);
  mp_cancel_bind(bp->token);
  if (r == MP_OK) bp->second = mp_barrier_wait(bp->barrier, BLOCK_MS);
  mp_cancel_bind(prev);
  return NULL;
}

static void *plain_party_main(void *p) {
  barrier_party_t *bp = p;
  bp->first = mp_barrier_wait(bp->barrier, BLOCK_MS);
  return NULL;
}

/* A canceled barrier wait does not break the barrier (a timeout does, as
 * in Python): the caller's arrival stands, and its next wait goes on
 * waiting for the same round. Ruby's unblock function fires the token for
 * any signal the VM handles (a trap, SIGCHLD of a child), and that must
 * not break the barrier for everyone. Three parties, so the canceled one
 * (index 0) is not the last arrival: indexes stay 0, 1, 2. */
static void test_cancel_barrier_wait_keeps_arrival(void **state) {
  (void)state;
  mp_barrier_t *b;
  MP_ASSERT_OK(mp_barrier_new(&b, 3));
  barrier_party_t a = {b, NULL, NULL, 100, 100}, other = {b, NULL, NULL, 100, 100};
  MP_ASSERT_OK(mp_cancel_new(&a.token));
  MP_ASSERT_OK(mp_event_new(&a.go_on));
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, barrier_party_main, &a), 0);
  while (mp_barrier_n_waiting(b) != 1) sleep_ms(1);
  assert_int_equal(pthread_create(&tb, NULL, plain_party_main, &other), 0);
  while (mp_barrier_n_waiting(b) != 2) sleep_ms(1);
  MP_ASSERT_OK(mp_cancel_fire(a.token));
  while (__atomic_load_n(&a.first, __ATOMIC_ACQUIRE) == 100) sleep_ms(1);
  if (a.first != MP_ECANCELED) fail_msg("canceled wait = %s", mp_err_name(a.first));
  assert_int_equal(mp_barrier_broken(b), 0);
  assert_int_equal(mp_barrier_n_waiting(b), 2);
  MP_ASSERT_OK(mp_cancel_reset(a.token));
  MP_ASSERT_OK(mp_event_set(a.go_on));
  sleep_ms(100); /* the resumed wait is asleep again */
  int mine = mp_barrier_wait(b, BLOCK_MS);
  assert_int_equal(pthread_join(ta, NULL), 0);
  assert_int_equal(pthread_join(tb, NULL), 0);
  int seen = 0;
  int got[] = {a.second, other.first, mine};
  for (int i = 0; i < 3; i++) {
    if (got[i] < 0 || got[i] > 2) fail_msg("party %d: %s", i, mp_err_name(got[i]));
    seen |= 1 << got[i];
  }
  assert_int_equal(seen, 7); /* 0, 1 and 2, each once */
  assert_int_equal(a.second, 0);
  /* The next round starts fresh for the once-canceled thread too. */
  assert_int_equal(mp_barrier_broken(b), 0);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  mp_event_free(a.go_on);
  mp_cancel_free(a.token);
  mp_barrier_free(b);
}

static int call_conn_recv(void *arg) {
  void *buf = NULL;
  size_t len = 0;
  int r = mp_conn_recv(&buf, &len, arg, MP_FOREVER);
  mp_free(buf);
  return r;
}

static void test_cancel_wakes_conn_recv_forever(void **state) {
  (void)state;
  mp_conn_t *a, *b;
  MP_ASSERT_OK(mp_pipe(&a, &b, 1));
  expect_woken(call_conn_recv, a);
  /* The connection is intact: a message sent now arrives whole. */
  MP_ASSERT_OK(mp_conn_send(b, "ping", 4, 1000));
  void *buf = NULL;
  size_t len = 0;
  MP_ASSERT_OK(mp_conn_recv(&buf, &len, a, 1000));
  assert_int_equal(len, 4);
  mp_free(buf);
  mp_conn_free(a);
  mp_conn_free(b);
}

/* A send canceled in the middle of a message keeps its place: the same
 * buffer sent again finishes that message (Ruby retries a send that a trap
 * handler interrupted, as IO#write does), and the peer receives it once,
 * whole. Any other send after such a cancel is refused: MP_ESTATE, and the
 * connection is unusable, as after a timeout half-way. */
typedef struct conn_send_job {
  mp_conn_t *conn;
  const void *buf;
  size_t len;
} conn_send_job_t;

static int call_conn_send(void *arg) {
  conn_send_job_t *j = arg;
  return mp_conn_send(j->conn, j->buf, j->len, BLOCK_MS);
}

static void *conn_recv_main(void *arg) {
  mp_conn_t *c = arg;
  void *buf = NULL;
  size_t len = 0;
  if (mp_conn_recv(&buf, &len, c, BLOCK_MS) != MP_OK) return NULL;
  char *copy = malloc(len + sizeof(size_t));
  memcpy(copy, &len, sizeof len);
  memcpy(copy + sizeof len, buf, len);
  mp_free(buf);
  return copy;
}

static void test_cancel_conn_send_resumes(void **state) {
  (void)state;
  enum { kLen = 8 << 20 }; /* far more than a socket buffer holds */
  unsigned char *msg = malloc(kLen);
  for (size_t i = 0; i < kLen; i++) msg[i] = (unsigned char)(i * 7 + (i >> 16));
  mp_conn_t *a, *b;
  MP_ASSERT_OK(mp_pipe(&a, &b, 1));
  conn_send_job_t job = {a, msg, kLen};
  expect_woken(call_conn_send, &job); /* part of it went out */
  pthread_t reader;
  assert_int_equal(pthread_create(&reader, NULL, conn_recv_main, b), 0);
  MP_ASSERT_OK(mp_conn_send(a, msg, kLen, BLOCK_MS)); /* finishes it */
  MP_ASSERT_OK(mp_conn_send(a, "next", 4, BLOCK_MS));
  char *got = NULL;
  assert_int_equal(pthread_join(reader, (void **)&got), 0);
  assert_non_null(got);
  size_t len;
  memcpy(&len, got, sizeof len);
  assert_int_equal(len, kLen);
  assert_memory_equal(got + sizeof len, msg, kLen);
  free(got);
  void *next = NULL;
  MP_ASSERT_OK(mp_conn_recv(&next, &len, b, BLOCK_MS));
  assert_int_equal(len, 4);
  mp_free(next);

  /* Canceled half-way, then another message: refused, the end unusable. */
  expect_woken(call_conn_send, &job);
  MP_ASSERT_ERR(mp_conn_send(a, "other", 5, BLOCK_MS), MP_ESTATE);
  MP_ASSERT_ERR(mp_conn_send(a, msg, kLen, BLOCK_MS), MP_ESTATE);
  mp_conn_free(a);
  mp_conn_free(b);
  free(msg);
}

static int call_process_join(void *arg) { return mp_process_join(arg, MP_FOREVER); }

static void test_cancel_wakes_process_join(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  mp_process_t *p;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  expect_woken(call_process_join, p);
  assert_int_equal(mp_process_is_alive(p), 1);
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, 10000));
  mp_process_free(p);
  mp_cmd_free(cmd);
}

static int call_communicate(void *arg) {
  void *out = NULL, *err = NULL;
  size_t olen = 0, elen = 0;
  int r = mp_process_communicate(&out, &olen, &err, &elen, arg, NULL, 0, BLOCK_MS);
  mp_free(out);
  mp_free(err);
  return r;
}

static void test_cancel_wakes_communicate(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
  mp_process_t *p;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  expect_woken(call_communicate, p);
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, 10000));
  mp_process_free(p);
  mp_cmd_free(cmd);
}

/* A lock held by another thread: a process-shared mutex wait, re-checked
 * every 10 ms while a token is bound. */
typedef struct holder {
  mp_lock_t *lock;
  mp_event_t *taken, *release;
} holder_t;

static void *hold_lock(void *p) {
  holder_t *h = p;
  assert_int_equal(mp_lock_acquire(h->lock, MP_FOREVER), MP_OK);
  mp_event_set(h->taken);
  mp_event_wait(h->release, MP_FOREVER);
  mp_lock_release(h->lock);
  return NULL;
}

static int call_lock_acquire(void *arg) { return mp_lock_acquire(arg, MP_FOREVER); }

static void test_cancel_wakes_lock_acquire(void **state) {
  (void)state;
  holder_t h;
  MP_ASSERT_OK(mp_lock_new(&h.lock, 0));
  MP_ASSERT_OK(mp_event_new(&h.taken));
  MP_ASSERT_OK(mp_event_new(&h.release));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, hold_lock, &h), 0);
  MP_ASSERT_OK(mp_event_wait(h.taken, 10000));
  expect_woken(call_lock_acquire, h.lock);
  MP_ASSERT_OK(mp_event_set(h.release));
  assert_int_equal(pthread_join(t, NULL), 0);
  MP_ASSERT_OK(mp_lock_acquire(h.lock, 1000));  /* nothing left held */
  MP_ASSERT_OK(mp_lock_release(h.lock));
  mp_event_free(h.taken);
  mp_event_free(h.release);
  mp_lock_free(h.lock);
}

/* A pool result: a wait on the library's own condition variable. */
static mp_event_t *g_task_release;

static int task_wait_release(void **out, size_t *out_len, const void *arg, size_t len,
                             void *payload) {
  (void)out, (void)out_len, (void)arg, (void)len, (void)payload;
  return mp_event_wait(g_task_release, 30000) == MP_OK ? 0 : 1;
}

static int call_result_wait(void *arg) { return mp_result_wait(arg, MP_FOREVER); }

/* A pool of one worker thread whose "wait_release" tasks run until
 * g_task_release is set. */
static mp_pool_t *release_pool_new(void) {
  MP_ASSERT_OK(mp_event_new(&g_task_release));
  mp_pool_opts_t *opts;
  MP_ASSERT_OK(mp_pool_opts_new(&opts));
  MP_ASSERT_OK(mp_pool_opts_set_threads(opts, 1));
  MP_ASSERT_OK(mp_pool_opts_set_workers(opts, 1));
  mp_pool_t *pool;
  MP_ASSERT_OK(mp_pool_new(&pool, opts));
  mp_pool_opts_free(opts); /* borrowed by mp_pool_new only */
  return pool;
}

/* Let its tasks finish, then close, join and free it. */
static void release_pool_free(mp_pool_t *pool) {
  MP_ASSERT_OK(mp_event_set(g_task_release));
  MP_ASSERT_OK(mp_pool_close(pool));
  MP_ASSERT_OK(mp_pool_join(pool, 10000));
  mp_pool_free(pool);
  mp_event_free(g_task_release);
}

static void test_cancel_wakes_pool_result_wait(void **state) {
  (void)state;
  mp_pool_t *pool = release_pool_new();
  mp_result_t *r;
  MP_ASSERT_OK(mp_pool_apply_async(&r, pool, "wait_release", "", 0, NULL, NULL, NULL));
  expect_woken(call_result_wait, r);
  assert_int_equal(mp_result_ready(r), 0);  /* the task itself goes on */
  MP_ASSERT_OK(mp_event_set(g_task_release));
  MP_ASSERT_OK(mp_result_wait(r, 10000));
  assert_int_equal(mp_result_successful(r), 1);
  mp_result_free(r);
  release_pool_free(pool);
}

static int call_pool_apply(void *arg) {
  void *out = NULL;
  size_t len = 0;
  int r = mp_pool_apply(&out, &len, arg, "wait_release", "", 0);
  mp_free(out);
  return r;
}

/* mp_pool_apply waits without a timeout: a token is its only way out, and
 * the canceled call must not read the unfinished result. */
static void test_cancel_wakes_pool_apply(void **state) {
  (void)state;
  mp_pool_t *pool = release_pool_new();
  expect_woken(call_pool_apply, pool);
  release_pool_free(pool);
}

/* --- firing from a signal handler ------------------------------------- */

/* The token a SIGUSR1 handler fires, as Ruby's unblock function does when
 * a signal arrives on whatever thread (issue 22 item 2). */
static mp_cancel_t *volatile g_signal_token;

static void fire_on_signal(int sig) {
  (void)sig;
  mp_cancel_fire(g_signal_token);
}

typedef struct waiter {
  mp_result_t *result;
  atomic_int stop;
  int canceled; /* waits that ended MP_ECANCELED */
} waiter_t;

/* Waits on the pool result again and again, each wait canceled by the
 * signal storm: the token stays registered with the result's condition
 * variable for most of the time. */
static void *wait_while_storm(void *p) {
  waiter_t *w = p;
  mp_cancel_bind(g_signal_token);
  while (!atomic_load(&w->stop)) {
    int rc = mp_result_wait(w->result, 2000);
    if (rc == MP_ECANCELED) {
      w->canceled++;
      mp_cancel_reset(g_signal_token);
    } else if (rc != MP_ETIMEDOUT) {
      break;
    }
  }
  mp_cancel_bind(NULL);
  return NULL;
}

/* Asks whether the result is ready again and again: each ask holds the
 * result's mutex, the one the waiter's condition variable uses. A signal
 * that lands here while it is held runs the handler on the holder, where
 * the fire used to spin on try_lock of that mutex for ever (the pool's
 * dispatcher, holding the pool's mutex, in the issue). */
static void *hold_while_storm(void *p) {
  waiter_t *w = p;
  while (!atomic_load(&w->stop)) mp_result_ready(w->result);
  return NULL;
}

/* The storm, in a forked child: 0 when it ended with canceled waits. */
static int signal_storm_child(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fire_on_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR1, &sa, NULL) != 0 || mp_cancel_new((mp_cancel_t **)&g_signal_token) != MP_OK)
    return 2;
  mp_pool_t *pool = release_pool_new();
  waiter_t w = {NULL, 0, 0};
  if (mp_pool_apply_async(&w.result, pool, "wait_release", "", 0, NULL, NULL, NULL) != MP_OK)
    return 3;
  pthread_t waiter, holder;
  if (pthread_create(&waiter, NULL, wait_while_storm, &w) != 0 ||
      pthread_create(&holder, NULL, hold_while_storm, &w) != 0)
    return 4;
  int64_t end = now_ms() + 1500;
  for (unsigned i = 0; now_ms() < end; ++i) {
    pthread_kill(i % 2 ? holder : waiter, SIGUSR1);
    sched_yield();
  }
  atomic_store(&w.stop, 1);
  pthread_kill(waiter, SIGUSR1);
  pthread_join(waiter, NULL);
  pthread_join(holder, NULL);
  fprintf(stderr, "storm: %d canceled waits\n", w.canceled);
  return w.canceled > 0 ? 0 : 5;
}

/* A token fired by a signal handler on the thread inside the wait: the
 * fire must neither take a lock nor wait for one (it spun for ever in
 * notify_registered before). Run in a child so that a hang is a failure. */
static void test_cancel_fire_from_signal_handler(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(signal_storm_child());
  int status = 0;
  int64_t give_up = now_ms() + 20000;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (now_ms() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fail_msg("the signal storm hung: a fire from a signal handler waited for a lock");
    }
    sleep_ms(20);
  }
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* Firing a token wakes only the thread it is bound to. */
typedef struct pair {
  mp_queue_t *q;
  int rc;
} pair_t;

static void *get_unbound(void *p) {
  pair_t *x = p;
  void *buf = NULL;
  size_t len = 0;
  x->rc = mp_queue_get(&buf, &len, x->q, 1500);
  mp_free(buf);
  return NULL;
}

static void test_cancel_wakes_only_its_thread(void **state) {
  (void)state;
  pair_t other = {NULL, 1};
  MP_ASSERT_OK(mp_queue_new(&other.q, 0, 0, 0));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, get_unbound, &other), 0);
  expect_woken(call_queue_get, other.q);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(other.rc, MP_ETIMEDOUT);  /* ran its full timeout */
  mp_queue_free(other.q);
}

int main(int argc, char **argv) {
  mp_register_task("wait_release", task_wait_release, NULL);
  mp_main(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cancel_api_errors),
      cmocka_unit_test(test_cancel_fire_reset_fired),
      cmocka_unit_test(test_cancel_bind_returns_previous),
      cmocka_unit_test(test_cancel_fired_before_call_and_reset),
      cmocka_unit_test(test_cancel_queue_loses_nothing),
      cmocka_unit_test(test_cancel_wakes_queue_get),
      cmocka_unit_test(test_cancel_wakes_queue_put_on_full),
      cmocka_unit_test(test_cancel_wakes_sem_acquire_forever),
      cmocka_unit_test(test_cancel_wakes_event_wait),
      cmocka_unit_test(test_cancel_wakes_cond_wait),
      cmocka_unit_test(test_cancel_wakes_barrier_wait),
      cmocka_unit_test(test_cancel_barrier_wait_keeps_arrival),
      cmocka_unit_test(test_cancel_wakes_conn_recv_forever),
      cmocka_unit_test(test_cancel_conn_send_resumes),
      cmocka_unit_test(test_cancel_wakes_process_join),
      cmocka_unit_test(test_cancel_wakes_communicate),
      cmocka_unit_test(test_cancel_wakes_lock_acquire),
      cmocka_unit_test(test_cancel_wakes_pool_result_wait),
      cmocka_unit_test(test_cancel_wakes_pool_apply),
      cmocka_unit_test(test_cancel_wakes_only_its_thread),
      cmocka_unit_test(test_cancel_fire_from_signal_handler),
  };
  mp_test_filter_from_env();
  return cmocka_run_group_tests_name("cancel", tests, NULL, NULL);
}
