/* Every blocking call under a signal storm: a SIGALRM handler installed
 * without SA_RESTART fires every 5 ms (setitimer ITIMER_REAL) for the
 * whole program, so each futex, poll, read, write and waitid the library
 * makes is interrupted with EINTR again and again. <multiproc.h> promises
 * that EINTR is retried inside the library and never returned; each call
 * must therefore
 *   (a) with nothing to wake it, return its timeout code after at least
 *       the timeout (less 1 ms: timeouts are whole milliseconds) and
 *       within a generous bound: a wait that restarted its whole timeout
 *       at each signal would never end, one that took a signal for a wake
 *       would end at once;
 *   (b) woken for real by another thread or process, return the real
 *       result (MP_OK only when notified, the value sent, ...).
 * The storm's signals go to the main thread (the kernel gives a signal
 * sent to the process to its main thread first while that one sleeps);
 * waker threads block SIGALRM. Each case checks that the waiting thread
 * was interrupted at least once. Children started by fork set up their
 * own storm (interval timers are not inherited).
 *
 * A child target returns 0 on success; on a failed check it prints why on
 * stderr and returns 99 (or 1/2 where the code is the answer). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

enum {
  kTimeoutMs = 150,   /* the timeout of every (a) case */
  kSlackMs = 2500,    /* a loaded machine or a sanitizer build may be slow */
  kWakeAfterMs = 100, /* a waker thread's delay before it wakes the call */
  kLongMs = 10000,    /* the timeout of every (b) case */
};

/* ------------------------------------------------------------------------
 * The storm
 * ---------------------------------------------------------------------- */

static __thread volatile sig_atomic_t t_signals; /* received by this thread */

static void on_alarm(int sig) {
  (void)sig;
  t_signals = t_signals + 1;
}

static void storm_start(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: interrupted system calls fail with EINTR */
  if (sigaction(SIGALRM, &sa, NULL) != 0) fail_msg("sigaction: %s", strerror(errno));
  struct itimerval it = {{0, 5000}, {0, 5000}};
  if (setitimer(ITIMER_REAL, &it, NULL) != 0) fail_msg("setitimer: %s", strerror(errno));
}

static void storm_stop(void) {
  struct itimerval off;
  memset(&off, 0, sizeof off);
  setitimer(ITIMER_REAL, &off, NULL);
}

/* One blocking call being timed: start it, then check what it returned. */
typedef struct span {
  int64_t t0;
  int signals0;
} span_t;

static span_t span_start(void) {
  span_t s = {now_ms(), (int)t_signals};
  return s;
}

/* Checks shared by the parent's cases (fail_msg) and the children's
 * (return 99): the text of the failure, or NULL. */
static const char *check_timeout(char *buf, size_t cap, span_t s, int r, int want,
                                 int64_t timeout_ms, const char *what) {
  int64_t took = now_ms() - s.t0;
  int sigs = (int)t_signals - s.signals0;
  if (r != want)
    snprintf(buf, cap, "%s: %s after %" PRId64 " ms (%d signals), expected %s", what,
             mp_err_name(r), took, sigs, mp_err_name(want));
  else if (took < timeout_ms - 1)
    snprintf(buf, cap, "%s: timed out after %" PRId64 " ms, before its %" PRId64 " ms", what,
             took, timeout_ms);
  else if (took > timeout_ms + kSlackMs)
    snprintf(buf, cap, "%s: timed out after %" PRId64 " ms, timeout %" PRId64 " ms", what,
             took, timeout_ms);
  else if (sigs < 1)
    snprintf(buf, cap, "%s: the storm never interrupted the wait", what);
  else
    return NULL;
  return buf;
}

static void expect_timeout_code(span_t s, int r, int want, const char *what) {
  char buf[300];
  const char *why = check_timeout(buf, sizeof buf, s, r, want, kTimeoutMs, what);
  if (why) fail_msg("%s", why);
}

static void expect_timeout(span_t s, int r, const char *what) {
  expect_timeout_code(s, r, MP_ETIMEDOUT, what);
}

/* (b): the real result, after the waker acted and not long after. */
static void expect_woken(span_t s, int r, int want, const char *what) {
  int64_t took = now_ms() - s.t0;
  if (r != want)
    fail_msg("%s: %s after %" PRId64 " ms (%d signals; %s), expected %s", what, mp_err_name(r),
             took, (int)t_signals - s.signals0, mp_last_error(), mp_err_name(want));
  if (took > kWakeAfterMs + kSlackMs)
    fail_msg("%s: woken after %" PRId64 " ms, the wake came after %d ms", what, took,
             kWakeAfterMs);
}

/* ------------------------------------------------------------------------
 * Waker threads: block SIGALRM, sleep, act
 * ---------------------------------------------------------------------- */

typedef void (*wake_fn)(void *arg);

typedef struct waker {
  pthread_t thread;
  wake_fn fn;
  void *arg;
  int delay_ms;
} waker_t;

static void block_alarm(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *waker_main(void *p) {
  waker_t *w = p;
  block_alarm();
  sleep_ms(w->delay_ms);
  w->fn(w->arg);
  return NULL;
}

static void waker_start(waker_t *w, wake_fn fn, void *arg, int delay_ms) {
  w->fn = fn;
  w->arg = arg;
  w->delay_ms = delay_ms;
  if (pthread_create(&w->thread, NULL, waker_main, w) != 0) fail_msg("pthread_create");
}

static void waker_join(waker_t *w) { pthread_join(w->thread, NULL); }

/* ------------------------------------------------------------------------
 * Children
 * ---------------------------------------------------------------------- */

static mp_process_t *start_child(const char *target, int32_t arg, const int *fds, size_t nfds) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, target, &arg, sizeof arg));
  for (size_t i = 0; i < nfds; ++i)
    if (mp_process_pass_fd(p, fds[i]) != (int)i) fail_msg("pass_fd: %s", mp_last_error());
  MP_ASSERT_OK(mp_process_start(p));
  return p;
}

static int child_exitcode(mp_process_t *p) {
  int r = mp_process_join(p, 30000);
  if (r != MP_OK) {
    mp_process_kill(p);
    mp_process_join(p, MP_FOREVER);
  }
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  if (r != MP_OK) fail_msg("child did not end: %s", mp_err_name(r));
  return code;
}

static int32_t arg_int(const void *arg, size_t len) {
  int32_t v = 0;
  if (arg && len == sizeof v) memcpy(&v, arg, sizeof v);
  return v;
}

/* Sleeps arg ms (or forever for 0) and exits 0. */
static int target_sleep(const void *arg, size_t len, void *payload) {
  (void)payload;
  int32_t ms = arg_int(arg, len);
  sleep_ms(ms ? ms : 60000);
  return 0;
}

/* Under its own storm: a condition wait nobody notifies and a semaphore
 * nobody releases time out; then waits for the parent's notify (arg 1:
 * exit 0 if notified, 1 if timed out) on the condition and lock at child
 * descriptors 0 and 1. */
static int target_cond_waiter(const void *arg, size_t len, void *payload) {
  (void)payload;
  mp_lock_t *lock = NULL;
  mp_cond_t *cond = NULL;
  mp_sem_t *ready = NULL;
  if (mp_lock_from_fd(&lock, mp_child_fd(0)) != MP_OK ||
      mp_cond_from_fd(&cond, mp_child_fd(1), lock) != MP_OK ||
      mp_sem_from_fd(&ready, mp_child_fd(2)) != MP_OK) {
    fprintf(stderr, "child: open: %s\n", mp_last_error());
    return 99;
  }
  storm_start();
  char buf[300];
  const char *why = NULL;
  if (arg_int(arg, len) == 0) {
    mp_sem_t *sem = NULL;
    mp_sem_new(&sem, 0, 0);
    span_t s = span_start();
    why = check_timeout(buf, sizeof buf, s, mp_sem_acquire(sem, kTimeoutMs), MP_ETIMEDOUT,
                        kTimeoutMs, "child sem_acquire");
    mp_sem_free(sem);
    if (!why) {
      mp_lock_acquire(lock, MP_FOREVER);
      s = span_start();
      why = check_timeout(buf, sizeof buf, s, mp_cond_wait(cond, kTimeoutMs), MP_ETIMEDOUT,
                          kTimeoutMs, "child cond_wait");
      mp_lock_release(lock);
    }
    if (why) fprintf(stderr, "%s\n", why);
    return why ? 99 : 0;
  }
  mp_lock_acquire(lock, MP_FOREVER);
  mp_sem_release(ready); /* registered as a waiter once the lock is released */
  int r = mp_cond_wait(cond, 3000);
  mp_lock_release(lock);
  storm_stop();
  if (r == MP_OK) return 0;
  if (r == MP_ETIMEDOUT) return 1;
  fprintf(stderr, "child cond_wait: %s\n", mp_err_name(r));
  return 99;
}

/* Takes the lock at child descriptor 0, says so on the semaphore at 1,
 * holds it arg ms and releases it. */
static int target_hold_lock(const void *arg, size_t len, void *payload) {
  (void)payload;
  mp_lock_t *lock = NULL;
  mp_sem_t *taken = NULL;
  if (mp_lock_from_fd(&lock, mp_child_fd(0)) != MP_OK ||
      mp_sem_from_fd(&taken, mp_child_fd(1)) != MP_OK)
    return 99;
  if (mp_lock_acquire(lock, MP_FOREVER) != MP_OK) return 99;
  mp_sem_release(taken);
  sleep_ms(arg_int(arg, len));
  return mp_lock_release(lock) == MP_OK ? 0 : 99;
}

/* Pool task: sleeps the int32 argument's ms, returns "done". */
static int task_sleep(void **out, size_t *out_len, const void *arg, size_t arg_len,
                      void *payload) {
  (void)payload;
  sleep_ms(arg_int(arg, arg_len));
  *out = strdup("done");
  *out_len = 4;
  return 0;
}

static void register_targets(void) {
  mp_register("eintr_sleep", target_sleep, NULL);
  mp_register("eintr_cond_waiter", target_cond_waiter, NULL);
  mp_register("eintr_hold_lock", target_hold_lock, NULL);
  mp_register_task("eintr_sleep", task_sleep, NULL);
}

/* ------------------------------------------------------------------------
 * Conditions
 * ---------------------------------------------------------------------- */

typedef struct cond_pair {
  mp_lock_t *lock;
  mp_cond_t *cond;
} cond_pair_t;

static void wake_notify(void *p) {
  cond_pair_t *c = p;
  mp_lock_acquire(c->lock, MP_FOREVER);
  mp_cond_notify(c->cond, 1);
  mp_lock_release(c->lock);
}

static void test_eintr_cond_wait(void **state) {
  (void)state;
  cond_pair_t c = {NULL, NULL};
  MP_ASSERT_OK(mp_lock_new(&c.lock, 0));
  MP_ASSERT_OK(mp_cond_new(&c.cond, c.lock));
  MP_ASSERT_OK(mp_lock_acquire(c.lock, MP_FOREVER));
  span_t s = span_start();
  expect_timeout(s, mp_cond_wait(c.cond, kTimeoutMs), "cond_wait, no notify");
  assert_int_equal(mp_lock_release(c.lock), MP_OK);  /* held again */

  int64_t timeouts[] = {kLongMs, MP_FOREVER};
  for (int i = 0; i < 2; ++i) {
    MP_ASSERT_OK(mp_lock_acquire(c.lock, MP_FOREVER));
    waker_t w;
    waker_start(&w, wake_notify, &c, kWakeAfterMs);
    s = span_start();
    expect_woken(s, mp_cond_wait(c.cond, timeouts[i]), MP_OK, "cond_wait, notified");
    MP_ASSERT_OK(mp_lock_release(c.lock));
    waker_join(&w);
  }
  mp_cond_free(c.cond);
  mp_lock_free(c.lock);
}

/* The objects of the "eintr_cond_waiter" child: a lock, its condition
 * and a semaphore the child releases once it waits; fds in that order. */
typedef struct cond_waiter_objs {
  mp_lock_t *lock;
  mp_cond_t *cond;
  mp_sem_t *ready;
  int fds[3];
} cond_waiter_objs_t;

static void cond_waiter_objs_new(cond_waiter_objs_t *o) {
  MP_ASSERT_OK(mp_lock_new(&o->lock, 0));
  MP_ASSERT_OK(mp_cond_new(&o->cond, o->lock));
  MP_ASSERT_OK(mp_sem_new(&o->ready, 0, 0));
  o->fds[0] = mp_lock_fileno(o->lock);
  o->fds[1] = mp_cond_fileno(o->cond);
  o->fds[2] = mp_sem_fileno(o->ready);
}

static void cond_waiter_objs_free(cond_waiter_objs_t *o) {
  mp_sem_free(o->ready);
  mp_cond_free(o->cond);
  mp_lock_free(o->lock);
}

/* Two processes wait under their own storms; notify(1) wakes exactly one
 * of them: a signal is not a notification, for the other either. */
static void test_eintr_cond_notify_one_of_two_processes(void **state) {
  (void)state;
  cond_waiter_objs_t o;
  cond_waiter_objs_new(&o);
  mp_process_t *a = start_child("eintr_cond_waiter", 1, o.fds, 3);
  mp_process_t *b = start_child("eintr_cond_waiter", 1, o.fds, 3);
  MP_ASSERT_OK(mp_sem_acquire(o.ready, kLongMs));
  MP_ASSERT_OK(mp_sem_acquire(o.ready, kLongMs));
  /* Both wait once this process gets the lock (they released it). */
  MP_ASSERT_OK(mp_lock_acquire(o.lock, kLongMs));
  sleep_ms(300); /* ~60 signals each while nobody notifies */
  MP_ASSERT_OK(mp_cond_notify(o.cond, 1));
  MP_ASSERT_OK(mp_lock_release(o.lock));
  int ca = child_exitcode(a), cb = child_exitcode(b);
  if (ca + cb != 1 || ca * cb != 0)
    fail_msg("exit codes %d and %d: expected one notified (0) and one timed out (1)", ca, cb);
  cond_waiter_objs_free(&o);
}

/* ------------------------------------------------------------------------
 * Locks, values, semaphores, events, barriers
 * ---------------------------------------------------------------------- */

typedef struct held {
  int (*acquire)(void *obj, int64_t timeout_ms);
  int (*release)(void *obj);
  void *obj;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int taken;
} held_t;

static void *holder_main(void *p) {
  held_t *h = p;
  block_alarm();
  h->acquire(h->obj, MP_FOREVER);
  pthread_mutex_lock(&h->mu);
  h->taken = 1;
  pthread_cond_signal(&h->cv);
  pthread_mutex_unlock(&h->mu);
  sleep_ms(kTimeoutMs + kWakeAfterMs + 200);
  h->release(h->obj);
  return NULL;
}

/* Another thread holds the lock for a while: a timed acquire times out,
 * then a long one gets it once released. */
static void check_acquire_held(int (*acquire)(void *, int64_t), int (*release)(void *),
                               void *obj, const char *what) {
  held_t h = {acquire, release, obj, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, holder_main, &h) != 0) fail_msg("pthread_create");
  pthread_mutex_lock(&h.mu);
  while (!h.taken) pthread_cond_wait(&h.cv, &h.mu);
  pthread_mutex_unlock(&h.mu);
  char msg[100];
  snprintf(msg, sizeof msg, "%s, held by another thread", what);
  span_t s = span_start();
  expect_timeout(s, acquire(obj, kTimeoutMs), msg);
  snprintf(msg, sizeof msg, "%s, released", what);
  s = span_start();
  int r = acquire(obj, kLongMs);
  if (r != MP_OK) fail_msg("%s: %s (%s)", msg, mp_err_name(r), mp_last_error());
  if (now_ms() - s.t0 > 200 + kSlackMs) fail_msg("%s: took %" PRId64 " ms", msg, now_ms() - s.t0);
  MP_ASSERT_OK(release(obj));
  pthread_join(t, NULL);
}

static int lock_acq(void *o, int64_t t) { return mp_lock_acquire(o, t); }
static int lock_rel(void *o) { return mp_lock_release(o); }
static int value_acq(void *o, int64_t t) { return mp_value_acquire(o, t); }
static int value_rel(void *o) { return mp_value_release(o); }

static void test_eintr_lock_acquire(void **state) {
  (void)state;
  for (int flags = 0; flags <= MP_LOCK_RECURSIVE; ++flags) {
    mp_lock_t *lock = NULL;
    MP_ASSERT_OK(mp_lock_new(&lock, flags));
    check_acquire_held(lock_acq, lock_rel, lock, flags ? "rlock acquire" : "lock acquire");
    mp_lock_free(lock);
  }
  mp_value_t *v = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, MP_VALUE_LOCK));
  check_acquire_held(value_acq, value_rel, v, "value acquire");
  mp_value_free(v);
}

/* A lock held by another process: the wait is the kernel's. */
static void test_eintr_lock_held_by_process(void **state) {
  (void)state;
  mp_lock_t *lock = NULL;
  mp_sem_t *taken = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, 0));
  MP_ASSERT_OK(mp_sem_new(&taken, 0, 0));
  int fds[2] = {mp_lock_fileno(lock), mp_sem_fileno(taken)};
  mp_process_t *p = start_child("eintr_hold_lock", kTimeoutMs + kWakeAfterMs + 200, fds, 2);
  MP_ASSERT_OK(mp_sem_acquire(taken, kLongMs));
  span_t s = span_start();
  expect_timeout(s, mp_lock_acquire(lock, kTimeoutMs), "lock acquire, held by a process");
  s = span_start();
  int r = mp_lock_acquire(lock, kLongMs);
  if (r != MP_OK) fail_msg("lock acquire, released by a process: %s", mp_err_name(r));
  MP_ASSERT_OK(mp_lock_release(lock));
  assert_int_equal(child_exitcode(p), 0);
  mp_sem_free(taken);
  mp_lock_free(lock);
}

static void wake_sem(void *p) { mp_sem_release(p); }
static void wake_event(void *p) { mp_event_set(p); }

static void test_eintr_sem_event(void **state) {
  (void)state;
  mp_sem_t *sem = NULL;
  MP_ASSERT_OK(mp_sem_new(&sem, 0, 0));
  span_t s = span_start();
  expect_timeout(s, mp_sem_acquire(sem, kTimeoutMs), "sem_acquire, value 0");
  waker_t w;
  waker_start(&w, wake_sem, sem, kWakeAfterMs);
  s = span_start();
  expect_woken(s, mp_sem_acquire(sem, kLongMs), MP_OK, "sem_acquire, released");
  waker_join(&w);
  mp_sem_free(sem);

  mp_event_t *ev = NULL;
  MP_ASSERT_OK(mp_event_new(&ev));
  s = span_start();
  expect_timeout(s, mp_event_wait(ev, kTimeoutMs), "event_wait, not set");
  waker_start(&w, wake_event, ev, kWakeAfterMs);
  s = span_start();
  expect_woken(s, mp_event_wait(ev, MP_FOREVER), MP_OK, "event_wait, set");
  waker_join(&w);
  mp_event_free(ev);
}

static void wake_barrier(void *p) { mp_barrier_wait(p, kLongMs); }

static void test_eintr_barrier_wait(void **state) {
  (void)state;
  mp_barrier_t *b = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, 2));
  span_t s = span_start();
  expect_timeout(s, mp_barrier_wait(b, kTimeoutMs), "barrier_wait, alone");
  MP_ASSERT_OK(mp_barrier_reset(b));
  waker_t w;
  waker_start(&w, wake_barrier, b, kWakeAfterMs);
  s = span_start();
  int r = mp_barrier_wait(b, kLongMs);
  if (r < 0) fail_msg("barrier_wait, second party came: %s", mp_err_name(r));
  expect_woken(s, MP_OK, MP_OK, "barrier_wait, second party came");
  waker_join(&w);
  mp_barrier_free(b);
}

/* ------------------------------------------------------------------------
 * Queues
 * ---------------------------------------------------------------------- */

static void wake_put(void *q) { mp_queue_put(q, "hello", 5, kLongMs); }

static void wake_get(void *q) {
  void *m = NULL;
  size_t n = 0;
  if (mp_queue_get(&m, &n, q, kLongMs) == MP_OK) mp_free(m);
}

static void wake_task_done(void *q) { mp_queue_task_done(q); }

static void test_eintr_queue_get(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  char buf[64];
  size_t n = 0, lens[4], count = 0;
  void *m = NULL;
  for (int kind = 0; kind < 3; ++kind) {
    const char *what = kind == 0 ? "queue_get" : kind == 1 ? "queue_get_into" : "queue_get_many";
    span_t s = span_start();
    int r = kind == 0   ? mp_queue_get(&m, &n, q, kTimeoutMs)
            : kind == 1 ? mp_queue_get_into(&n, q, buf, sizeof buf, kTimeoutMs)
                        : mp_queue_get_many(&count, q, buf, sizeof buf, lens, 4, kTimeoutMs);
    expect_timeout(s, r, what);
    waker_t w;
    waker_start(&w, wake_put, q, kWakeAfterMs);
    s = span_start();
    r = kind == 0   ? mp_queue_get(&m, &n, q, kLongMs)
        : kind == 1 ? mp_queue_get_into(&n, q, buf, sizeof buf, kLongMs)
                    : mp_queue_get_many(&count, q, buf, sizeof buf, lens, 4, kLongMs);
    expect_woken(s, r, MP_OK, what);
    if (kind == 0) {
      assert_memory_equal(m, "hello", 5);
      mp_free(m);
    } else if (kind == 2) {
      assert_int_equal(count, 1);
    }
    waker_join(&w);
  }
  mp_queue_free(q);
}

static void test_eintr_queue_put(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 1, 0, 0));
  MP_ASSERT_OK(mp_queue_put(q, "x", 1, 0));
  const void *bufs[1] = {"y"};
  size_t lens[1] = {1}, count = 0;
  for (int kind = 0; kind < 2; ++kind) {
    const char *what = kind == 0 ? "queue_put, full" : "queue_put_many, full";
    span_t s = span_start();
    int r = kind == 0 ? mp_queue_put(q, "y", 1, kTimeoutMs)
                      : mp_queue_put_many(&count, q, bufs, lens, 1, kTimeoutMs);
    expect_timeout(s, r, what);
    waker_t w;
    waker_start(&w, wake_get, q, kWakeAfterMs);
    s = span_start();
    r = kind == 0 ? mp_queue_put(q, "y", 1, kLongMs)
                  : mp_queue_put_many(&count, q, bufs, lens, 1, kLongMs);
    expect_woken(s, r, MP_OK, what);
    waker_join(&w);
  }
  mp_queue_free(q);

  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, MP_QUEUE_JOINABLE));
  MP_ASSERT_OK(mp_queue_put(q, "x", 1, 0));
  wake_get(q);
  span_t s = span_start();
  expect_timeout(s, mp_queue_join(q, kTimeoutMs), "queue_join, a task not done");
  waker_t w;
  waker_start(&w, wake_task_done, q, kWakeAfterMs);
  s = span_start();
  expect_woken(s, mp_queue_join(q, MP_FOREVER), MP_OK, "queue_join, done");
  waker_join(&w);
  mp_queue_free(q);
}

/* ------------------------------------------------------------------------
 * Connections
 * ---------------------------------------------------------------------- */

static void wake_send(void *c) { mp_conn_send(c, "ping", 4, kLongMs); }

enum { kBigMessage = 4 << 20 }; /* more than a socket buffer holds */

static void wake_recv_big(void *c) {
  void *m = NULL;
  size_t n = 0;
  if (mp_conn_recv(&m, &n, c, kLongMs) == MP_OK) mp_free(m);
}

static void test_eintr_conn(void **state) {
  (void)state;
  mp_conn_t *a = NULL, *b = NULL;
  MP_ASSERT_OK(mp_pipe(&a, &b, 1));
  void *m = NULL;
  size_t n = 0;
  char buf[16];
  span_t s = span_start();
  expect_timeout(s, mp_conn_recv(&m, &n, a, kTimeoutMs), "conn_recv, silent peer");
  s = span_start();
  expect_timeout(s, mp_conn_recv_into(&n, a, buf, sizeof buf, kTimeoutMs),
                 "conn_recv_into, silent peer");
  s = span_start();
  expect_timeout_code(s, mp_conn_poll(a, kTimeoutMs), 0, "conn_poll, silent peer");

  waker_t w;
  waker_start(&w, wake_send, b, kWakeAfterMs);
  s = span_start();
  expect_woken(s, mp_conn_poll(a, kLongMs), 1, "conn_poll, peer sent");
  waker_join(&w);
  MP_ASSERT_OK(mp_conn_recv_into(&n, a, buf, sizeof buf, 0));
  waker_start(&w, wake_send, b, kWakeAfterMs);
  s = span_start();
  expect_woken(s, mp_conn_recv(&m, &n, a, MP_FOREVER), MP_OK, "conn_recv, peer sent");
  assert_memory_equal(m, "ping", 4);
  mp_free(m);
  waker_join(&w);

  char *big = calloc(1, kBigMessage);
  assert_non_null(big);
  waker_start(&w, wake_recv_big, b, kWakeAfterMs);
  s = span_start();
  expect_woken(s, mp_conn_send(a, big, kBigMessage, kLongMs), MP_OK, "conn_send, peer reads");
  waker_join(&w);
  s = span_start();
  expect_timeout(s, mp_conn_send(a, big, kBigMessage, kTimeoutMs), "conn_send, peer never reads");
  free(big);
  mp_conn_free(a);
  mp_conn_free(b);
}

/* ------------------------------------------------------------------------
 * Processes and commands
 * ---------------------------------------------------------------------- */

static void test_eintr_process_join(void **state) {
  (void)state;
  mp_process_t *p = start_child("eintr_sleep", 0, NULL, 0);
  span_t s = span_start();
  expect_timeout(s, mp_process_join(p, kTimeoutMs), "process_join, child sleeps");
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, kLongMs));
  mp_process_free(p);

  p = start_child("eintr_sleep", kWakeAfterMs, NULL, 0);
  s = span_start();
  expect_woken(s, mp_process_join(p, MP_FOREVER), MP_OK, "process_join, child exits");
  int code = -1;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  mp_process_free(p);
}

static mp_process_t *spawn_helper(mp_cmd_t *cmd, int pipes) {
  for (int i = 0; i < 3; ++i)
    if (pipes & (1 << i)) MP_ASSERT_OK(mp_cmd_stdio(cmd, (mp_stream_t)i, MP_STDIO_PIPE));
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  return p;
}

static void kill_and_free(mp_process_t *p) {
  mp_process_kill(p);
  MP_ASSERT_OK(mp_process_join(p, kLongMs));
  mp_process_free(p);
}

static void test_eintr_process_io(void **state) {
  (void)state;
  char buf[64];
  size_t n = 0;
  mp_process_t *p = spawn_helper(helper_cmd("sleep", "30000", NULL), 7);
  span_t s = span_start();
  expect_timeout(s, mp_process_read(&n, p, MP_STDOUT, buf, sizeof buf, kTimeoutMs),
                 "process_read, silent child");
  char *big = calloc(1, 1 << 20);
  assert_non_null(big);
  s = span_start();
  expect_timeout(s, mp_process_write(p, big, 1 << 20, kTimeoutMs),
                 "process_write, child never reads");
  kill_and_free(p);

  p = spawn_helper(helper_cmd("sleep", "30000", NULL), 6);
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  s = span_start();
  expect_timeout(s, mp_process_communicate(&out, &out_len, &err, &err_len, p, NULL, 0, kTimeoutMs),
                 "process_communicate, child sleeps");
  mp_free(out);
  mp_free(err);
  kill_and_free(p);

  mp_cmd_t *cat = helper_cmd("cat", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cat, MP_STDOUT, MP_STDIO_NULL));
  p = spawn_helper(cat, 1);
  s = span_start();
  expect_woken(s, mp_process_write(p, big, 1 << 20, kLongMs), MP_OK, "process_write, cat");
  free(big);
  MP_ASSERT_OK(mp_process_close_stdin(p));
  expect_woken(s, mp_process_join(p, kLongMs), MP_OK, "process_join, cat");
  mp_process_free(p);

  p = spawn_helper(helper_cmd("echo", "hi", NULL), 2);
  s = span_start();
  expect_woken(s, mp_process_read(&n, p, MP_STDOUT, buf, sizeof buf, kLongMs), MP_OK,
               "process_read, echo");
  assert_true(n >= 2 && memcmp(buf, "hi", 2) == 0);
  MP_ASSERT_OK(mp_process_join(p, kLongMs));
  mp_process_free(p);
}

static void test_eintr_run(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  int code = 0;
  void *out = NULL;
  size_t out_len = 0;
  span_t s = span_start();
  expect_timeout(s, mp_run(&code, &out, &out_len, NULL, NULL, cmd, NULL, 0, kTimeoutMs),
                 "run, child sleeps");
  mp_free(out);
  mp_cmd_free(cmd);

  cmd = helper_cmd("echo", "hello", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
  out = NULL;
  s = span_start();
  expect_woken(s, mp_run(&code, &out, &out_len, NULL, NULL, cmd, NULL, 0, kLongMs), MP_OK,
               "run, echo");
  assert_int_equal(code, 0);
  assert_true(out_len >= 5 && memcmp(out, "hello", 5) == 0);
  mp_free(out);
  mp_cmd_free(cmd);
}

/* Blocking calls in a fork child, under the child's own storm. */
static void test_eintr_in_child(void **state) {
  (void)state;
  cond_waiter_objs_t o;
  cond_waiter_objs_new(&o);
  assert_int_equal(child_exitcode(start_child("eintr_cond_waiter", 0, o.fds, 3)), 0);
  cond_waiter_objs_free(&o);
}

/* ------------------------------------------------------------------------
 * Pools and cancel tokens
 * ---------------------------------------------------------------------- */

static void test_eintr_pool(void **state) {
  (void)state;
  mp_pool_opts_t *opts = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&opts));
  MP_ASSERT_OK(mp_pool_opts_set_workers(opts, 1));
  mp_pool_t *pool = NULL;
  MP_ASSERT_OK(mp_pool_new(&pool, opts));
  mp_pool_opts_free(opts);

  int32_t ms = 800;
  mp_result_t *res = NULL;
  MP_ASSERT_OK(mp_pool_apply_async(&res, pool, "eintr_sleep", &ms, sizeof ms, NULL, NULL, NULL));
  const void *data = NULL;
  size_t len = 0;
  span_t s = span_start();
  expect_timeout(s, mp_result_get(&data, &len, res, kTimeoutMs), "result_get, task runs");
  s = span_start();
  expect_timeout(s, mp_result_wait(res, kTimeoutMs), "result_wait, task runs");
  s = span_start();
  MP_ASSERT_OK(mp_result_get(&data, &len, res, MP_FOREVER));
  assert_memory_equal(data, "done", 4);
  mp_result_free(res);

  const void *args[1] = {&ms};
  size_t arg_lens[1] = {sizeof ms};
  mp_iter_t *it = NULL;
  MP_ASSERT_OK(mp_pool_imap(&it, pool, "eintr_sleep", args, arg_lens, 1, 1, 0));
  size_t index = 9;
  s = span_start();
  expect_timeout(s, mp_iter_next(&index, &data, &len, it, kTimeoutMs), "iter_next, task runs");
  MP_ASSERT_OK(mp_iter_next(&index, &data, &len, it, kLongMs));
  assert_int_equal(index, 0);
  assert_int_equal(mp_iter_next(&index, &data, &len, it, kLongMs), MP_ECLOSED);
  mp_iter_free(it);

  ms = kWakeAfterMs;
  void *out = NULL;
  size_t out_len = 0;
  s = span_start();
  expect_woken(s, mp_pool_apply(&out, &out_len, pool, "eintr_sleep", &ms, sizeof ms), MP_OK,
               "pool_apply");
  mp_free(out);
  MP_ASSERT_OK(mp_pool_close(pool));
  MP_ASSERT_OK(mp_pool_join(pool, kLongMs));
  mp_pool_free(pool);
}

static void wake_cancel(void *c) { mp_cancel_fire(c); }

static void test_eintr_cancel(void **state) {
  (void)state;
  mp_cancel_t *c = NULL;
  MP_ASSERT_OK(mp_cancel_new(&c));
  mp_cancel_t *old = mp_cancel_bind(c);
  mp_event_t *ev = NULL;
  MP_ASSERT_OK(mp_event_new(&ev));
  span_t s = span_start();
  expect_timeout(s, mp_event_wait(ev, kTimeoutMs), "event_wait with a token, not fired");
  mp_lock_t *lock = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, 0));
  check_acquire_held(lock_acq, lock_rel, lock, "lock acquire with a token");
  waker_t w;
  waker_start(&w, wake_cancel, c, kWakeAfterMs);
  s = span_start();
  expect_woken(s, mp_event_wait(ev, MP_FOREVER), MP_ECANCELED, "event_wait, token fired");
  waker_join(&w);
  mp_cancel_bind(old);
  mp_lock_free(lock);
  mp_event_free(ev);
  mp_cancel_free(c);
}

int main(int argc, char **argv) {
  register_targets();
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 99;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eintr_cond_wait),
      cmocka_unit_test(test_eintr_cond_notify_one_of_two_processes),
      cmocka_unit_test(test_eintr_lock_acquire),
      cmocka_unit_test(test_eintr_lock_held_by_process),
      cmocka_unit_test(test_eintr_sem_event),
      cmocka_unit_test(test_eintr_barrier_wait),
      cmocka_unit_test(test_eintr_queue_get),
      cmocka_unit_test(test_eintr_queue_put),
      cmocka_unit_test(test_eintr_conn),
      cmocka_unit_test(test_eintr_process_join),
      cmocka_unit_test(test_eintr_process_io),
      cmocka_unit_test(test_eintr_run),
      cmocka_unit_test(test_eintr_in_child),
      cmocka_unit_test(test_eintr_pool),
      cmocka_unit_test(test_eintr_cancel),
  };
  storm_start();
  int failed = MP_RUN_TESTS(tests);
  storm_stop();
  return failed;
}
