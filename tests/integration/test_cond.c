/* Conditions shared between processes (mp_cond_*, bound to an mp_lock):
 * every function's success and documented errors, waits that time out
 * holding the lock again, producer/consumer across processes, wait_for
 * (ported from CPython's _TestCondition), notify and notify_all waking
 * waiters in other processes, a SIGKILLed waiter breaking nothing, the
 * owner dying after notify, and no notify lost between threads.
 * Helpers: tests/common/synctest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "synctest.h"

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* In a target: the lock, condition and block of 4 int64 words the fixture
 * (cond_trio_t below) passes at fds 0, 1, 2. */
typedef struct child_trio {
  mp_lock_t *l;
  mp_cond_t *c;
  mp_shm_t *s;
  volatile int64_t *word;
} child_trio_t;

/* 1 if all three opened (child_lock etc. say on stderr what did not). */
static int child_trio_open(child_trio_t *t) {
  t->l = child_lock(0);
  t->c = t->l ? child_cond(1, t->l) : NULL;
  t->s = child_shm(2);
  t->word = t->s ? mp_shm_data(t->s) : NULL;
  return t->l && t->c && t->s;
}

static void child_trio_free(child_trio_t *t) {
  mp_shm_free(t->s);
  mp_cond_free(t->c);
  mp_lock_free(t->l);
}

/* fds: lock, cond, shm. Wait (a predicate loop) until shm[0] >= a. */
static int ts_cond_consumer(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  child_trio_t k;
  CK(child_trio_open(&k));
  volatile int64_t *counter = k.word;
  int timeouts = 0;
  CK(mp_lock_acquire(k.l, 10000) == MP_OK);
  while (counter[0] < t.a) {
    int r = mp_cond_wait(k.c, 5000);
    CK(r == MP_OK || r == MP_ETIMEDOUT);
    if (r == MP_ETIMEDOUT) CK(++timeouts < 3);
    CK(mp_lock_locked(k.l) == 1);
  }
  counter[1] = counter[0]; /* what the consumer saw */
  CK(mp_lock_release(k.l) == MP_OK);
  child_trio_free(&k);
  return 0;
}

/* fds: lock, cond, shm. a times {acquire; shm[0] += 1; notify; release}. */
static int ts_cond_producer(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  child_trio_t k;
  CK(child_trio_open(&k));
  volatile int64_t *counter = k.word;
  for (int i = 0; i < t.a; ++i) {
    CK(mp_lock_acquire(k.l, 10000) == MP_OK);
    counter[0] = counter[0] + 1;
    CK(mp_cond_notify(k.c, 1) == MP_OK);
    CK(mp_lock_release(k.l) == MP_OK);
    if (i % 8 == 0) sleep_ms(1);
  }
  child_trio_free(&k);
  return 0;
}

/* Predicate of the wait_for tests: shm word 0 equals the wanted value. */
typedef struct {
  volatile int64_t *word;
  int64_t want;
  int calls;
} waitfor_pred_t;

static int word_equals(void *payload) {
  waitfor_pred_t *p = payload;
  p->calls++;
  return *p->word == p->want;
}

/* CPython _TestCondition._test_waitfor_f. fds: lock, cond, shm (word 0:
 * state). Under the lock: state = 0, notify, wait_for(state == 4). */
static int ts_waitfor(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  child_trio_t k;
  CK(child_trio_open(&k));
  volatile int64_t *state = k.word;
  CK(mp_lock_acquire(k.l, 10000) == MP_OK);
  state[0] = 0;
  CK(mp_cond_notify(k.c, 1) == MP_OK);
  waitfor_pred_t pred = {state, 4, 0};
  CK(mp_cond_wait_for(k.c, word_equals, &pred, MP_FOREVER) == MP_OK);
  CK(state[0] == 4 && mp_lock_locked(k.l) == 1);
  CK(mp_lock_release(k.l) == MP_OK);
  child_trio_free(&k);
  return 0;
}

/* CPython _TestCondition._test_waitfor_timeout_f. fds: lock, cond, shm
 * (word 0: state, word 1: success), sem. Release sem, then wait_for(state
 * == 4, 100 ms) under the lock: success if it timed out after a plausible
 * time (0.6x to 10x, as CPython's bounds). */
static int ts_waitfor_timeout(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  child_trio_t k;
  mp_sem_t *sem = child_sem(3);
  CK(child_trio_open(&k) && sem);
  volatile int64_t *sh = k.word;
  CK(mp_sem_release(sem) == MP_OK);
  CK(mp_lock_acquire(k.l, 10000) == MP_OK);
  waitfor_pred_t pred = {sh, 4, 0};
  int64_t t0 = now_ms();
  int r = mp_cond_wait_for(k.c, word_equals, &pred, 100);
  int64_t dt = now_ms() - t0;
  if (r == MP_ETIMEDOUT && dt > 60 && dt < 1000 && mp_lock_locked(k.l) == 1) sh[1] = 1;
  CK(mp_lock_release(k.l) == MP_OK);
  mp_sem_free(sem);
  child_trio_free(&k);
  return 0;
}

/* fds: lock, cond, shm. Under the lock count itself in shm[2], then wait
 * once (timeout a ms, or forever if a < 0); returns 0 if notified (b == 0)
 * or if the wait reports MP_EOWNERDEAD (b == 1). */
static int ts_cond_waiter(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  child_trio_t k;
  CK(child_trio_open(&k));
  volatile int64_t *sh = k.word;
  CK(mp_lock_acquire(k.l, 10000) == MP_OK);
  sh[2] = sh[2] + 1;
  int r = mp_cond_wait(k.c, t.a < 0 ? MP_FOREVER : t.a);
  CK(r == (t.b == 1 ? MP_EOWNERDEAD : MP_OK));
  CK(mp_lock_locked(k.l) == 1);
  sh[3] = sh[3] + 1;
  CK(mp_lock_release(k.l) == MP_OK);
  child_trio_free(&k);
  return 0;
}

/* fds: lock, cond. Take the lock, notify every waiter and SIGKILL itself
 * while still holding the lock. */
static int ts_notify_die(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_lock_t *l = child_lock(0);
  mp_cond_t *c = l ? child_cond(1, l) : NULL;
  CK(l && c);
  CK(mp_lock_acquire(l, 10000) == MP_OK);
  CK(mp_cond_notify_all(c) == MP_OK);
  sleep_ms(100); /* the waiter is now blocked re-acquiring the lock */
  kill(getpid(), SIGKILL);
  for (;;) sleep_ms(1000);
}

static const sync_target_t k_targets[] = {
    {"ts_cond_consumer", ts_cond_consumer},
    {"ts_cond_producer", ts_cond_producer},
    {"ts_waitfor", ts_waitfor},
    {"ts_waitfor_timeout", ts_waitfor_timeout},
    {"ts_cond_waiter", ts_cond_waiter},
    {"ts_notify_die", ts_notify_die},
};

/* ------------------------------------------------------------------------
 * Fixture: the lock + condition + shared block most tests hand to children
 * ---------------------------------------------------------------------- */

/* A lock, a condition bound to it and a block of 4 int64 words (zeroed),
 * passed to children in that order (fds). Made afresh for each test (a
 * test's waiters count themselves in the block, so sharing it between
 * tests would make one depend on another) and freed after it, also when
 * it fails. */
typedef struct cond_trio {
  mp_lock_t *lock;
  mp_cond_t *cond;
  mp_shm_t *shm;
  int fds[3];
} cond_trio_t;

static int trio_new(void **state, int lock_flags) {
  cond_trio_t *t = calloc(1, sizeof *t);
  if (!t || mp_lock_new(&t->lock, lock_flags) != MP_OK ||
      mp_cond_new(&t->cond, t->lock) != MP_OK ||
      mp_shm_new(&t->shm, 4 * sizeof(int64_t)) != MP_OK) {
    fprintf(stderr, "trio setup: %s\n", mp_last_error());
    if (t) {
      mp_cond_free(t->cond);
      mp_lock_free(t->lock);
      free(t);
    }
    return -1;
  }
  t->fds[0] = mp_lock_fileno(t->lock);
  t->fds[1] = mp_cond_fileno(t->cond);
  t->fds[2] = mp_shm_fileno(t->shm);
  *state = t;
  return 0;
}

static int trio_setup(void **state) { return trio_new(state, 0); }
static int rtrio_setup(void **state) { return trio_new(state, MP_LOCK_RECURSIVE); }

static int trio_teardown(void **state) {
  cond_trio_t *t = *state;
  mp_shm_free(t->shm);
  mp_cond_free(t->cond);
  mp_lock_free(t->lock);
  free(t);
  return 0;
}

/* ------------------------------------------------------------------------
 * Conditions
 * ---------------------------------------------------------------------- */

static void test_sync_cond_errors(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_cond_t *c = (mp_cond_t *)&c;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_ERR(mp_cond_new(NULL, l), MP_EINVAL);
  MP_ASSERT_ERR(mp_cond_new(&c, NULL), MP_EINVAL);
  assert_null(c);
  MP_ASSERT_OK(mp_cond_new(&c, l));
  assert_true(mp_cond_fileno(c) >= 0);
  MP_ASSERT_ERR(mp_cond_notify(c, 1), MP_ESTATE);
  MP_ASSERT_ERR(mp_cond_notify_all(c), MP_ESTATE);
  MP_ASSERT_ERR(mp_cond_wait(c, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_cond_wait(c, 100), MP_ESTATE);
  assert_int_equal(mp_lock_locked(l), 0);
  MP_ASSERT_OK(mp_lock_acquire(l, 0));
  MP_ASSERT_ERR(mp_cond_notify(c, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_cond_notify(c, -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cond_wait(c, -2), MP_EINVAL);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_cond_notify(c, 1)); /* nobody waits: fine */
  MP_ASSERT_OK(mp_cond_notify(c, 5));
  MP_ASSERT_OK(mp_cond_notify_all(c));
  MP_ASSERT_OK(mp_lock_release(l));
  mp_cond_free(c);
  mp_cond_free(NULL);
  mp_lock_free(l);
}

/* Held by another thread of this process: still not the caller's. */
typedef struct cond_thread {
  mp_cond_t *cond;
  int notify_rc, all_rc, wait_rc;
} cond_thread_t;

static void *cond_thread_main(void *arg) {
  cond_thread_t *t = arg;
  t->notify_rc = mp_cond_notify(t->cond, 1);
  t->all_rc = mp_cond_notify_all(t->cond);
  t->wait_rc = mp_cond_wait(t->cond, 10);
  return NULL;
}

static void test_sync_cond_lock_held_by_other_thread_estate(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_cond_t *c = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_cond_new(&c, l));
  MP_ASSERT_OK(mp_lock_acquire(l, 0));
  cond_thread_t t = {c, 1, 1, 1};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cond_thread_main, &t), 0);
  pthread_join(th, NULL);
  assert_int_equal(t.notify_rc, MP_ESTATE);
  assert_int_equal(t.all_rc, MP_ESTATE);
  assert_int_equal(t.wait_rc, MP_ESTATE);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  mp_cond_free(c);
  mp_lock_free(l);
}

/* A wait that times out holds the lock again afterwards (plain and
 * recursive locks). */
static void test_sync_cond_wait_timeout_reacquires(void **state) {
  (void)state;
  for (int flags = 0; flags <= MP_LOCK_RECURSIVE; ++flags) {
    mp_lock_t *l = NULL;
    mp_cond_t *c = NULL;
    MP_ASSERT_OK(mp_lock_new(&l, flags));
    MP_ASSERT_OK(mp_cond_new(&c, l));
    MP_ASSERT_OK(mp_lock_acquire(l, 0));
    MP_ASSERT_ERR(mp_cond_wait(c, 0), MP_ETIMEDOUT);
    assert_int_equal(mp_lock_locked(l), 1);
    MP_ASSERT_TIMES_OUT(mp_cond_wait(c, 150), 100, 10000);
    assert_int_equal(mp_lock_locked(l), 1);
    MP_ASSERT_OK(mp_lock_release(l));
    assert_int_equal(mp_lock_locked(l), 0);
    MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
    mp_cond_free(c);
    mp_lock_free(l);
  }
}

/* Parent-side steps the trio tests share. */

/* times times, 10 ms apart: under the lock, word 0 += 1 and notify one
 * waiter. */
static void bump_and_notify(const cond_trio_t *t, int times) {
  volatile int64_t *word = mp_shm_data(t->shm);
  for (int i = 0; i < times; i++) {
    sleep_ms(10);
    MP_ASSERT_OK(mp_lock_acquire(t->lock, MP_FOREVER));
    word[0] = word[0] + 1;
    MP_ASSERT_OK(mp_cond_notify(t->cond, 1));
    MP_ASSERT_OK(mp_lock_release(t->lock));
  }
}

/* Wait under the lock until word 2 counts n ts_cond_waiter children (each
 * counts itself holding the lock, then waits), and a little more: they
 * are then all inside mp_cond_wait. */
static void await_cond_waiters(const cond_trio_t *t, int64_t n) {
  volatile int64_t *sh = mp_shm_data(t->shm);
  int64_t end = now_ms() + 30000;
  for (;;) {
    MP_ASSERT_OK(mp_lock_acquire(t->lock, 10000));
    int64_t got = sh[2];
    MP_ASSERT_OK(mp_lock_release(t->lock));
    if (got == n) break;
    if (now_ms() >= end) fail_msg("%lld of %lld waiters reached the condition", (long long)got,
                                  (long long)n);
    sleep_ms(10);
  }
  sleep_ms(50);
}

/* Under the lock: notify one waiter, or all. */
static void notify_locked(const cond_trio_t *t, int all) {
  MP_ASSERT_OK(mp_lock_acquire(t->lock, 10000));
  MP_ASSERT_OK(all ? mp_cond_notify_all(t->cond) : mp_cond_notify(t->cond, 1));
  MP_ASSERT_OK(mp_lock_release(t->lock));
}

/* A ts_cond_waiter (waiting up to 20 s) ends with 0 soon: it was woken by
 * the notify, not by its timeout. */
static void expect_notified(mp_process_t *p, const char *what) {
  int64_t t0 = now_ms();
  expect_child_ok(p, 30000, what);
  assert_true(now_ms() - t0 < 15000);
}

/* A consumer process waits in a predicate loop for a counter in shared
 * memory; a producer process increments it under the lock and notifies. */
static void test_sync_cond_producer_consumer(void **state) {
  enum { kTarget = 200 };
  cond_trio_t *t = *state;
  targ_t a = {kTarget, 0, 0, 0};
  mp_process_t *consumer = start_child("ts_cond_consumer", a, MP_START_SPAWN, t->fds, 3);
  mp_process_t *producer = start_child("ts_cond_producer", a, MP_START_FORK, t->fds, 3);
  expect_child_ok(producer, 30000, "producer");
  expect_child_ok(consumer, 30000, "consumer");
  volatile int64_t *counter = mp_shm_data(t->shm);
  assert_int_equal(counter[0], kTarget);
  assert_int_equal(counter[1], kTarget);
  assert_int_equal(mp_lock_locked(t->lock), 0);
}

/* Ported from CPython _TestCondition.test_waitfor. */
static void test_sync_cond_waitfor(void **state) {
  cond_trio_t *t = *state;
  mp_lock_t *l = t->lock;
  mp_cond_t *c = t->cond;
  volatile int64_t *st = mp_shm_data(t->shm);
  st[0] = -1;
  targ_t a = {0, 0, 0, 0};
  mp_process_t *p = start_child("ts_waitfor", a, MP_START_FORK, t->fds, 3);
  MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
  waitfor_pred_t pred = {st, 0, 0};
  MP_ASSERT_OK(mp_cond_wait_for(c, word_equals, &pred, MP_FOREVER));
  assert_int_equal(st[0], 0);
  MP_ASSERT_OK(mp_lock_release(l));
  bump_and_notify(t, 4);
  assert_int_equal(finish_child(p, 30000), 0);
  /* The predicate is checked before waiting: true at once, no wait; a
   * false one with timeout 0 is checked once more, then MP_ETIMEDOUT. */
  MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
  waitfor_pred_t now = {st, 4, 0};
  MP_ASSERT_OK(mp_cond_wait_for(c, word_equals, &now, MP_FOREVER));
  assert_int_equal(now.calls, 1);
  waitfor_pred_t never = {st, 99, 0};
  MP_ASSERT_ERR(mp_cond_wait_for(c, word_equals, &never, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_ERR(mp_cond_wait_for(c, NULL, &never, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_cond_wait_for(c, word_equals, &never, -2), MP_EINVAL);
  MP_ASSERT_OK(mp_lock_release(l));
  MP_ASSERT_ERR(mp_cond_wait_for(c, word_equals, &never, 0), MP_ESTATE); /* not held */
}

/* Ported from CPython _TestCondition.test_waitfor_timeout. */
static void test_sync_cond_waitfor_timeout(void **state) {
  cond_trio_t *t = *state;
  mp_sem_t *sem = NULL;
  MP_ASSERT_OK(mp_sem_new(&sem, 0, 0));
  int fds[] = {t->fds[0], t->fds[1], t->fds[2], mp_sem_fileno(sem)};
  targ_t a = {0, 0, 0, 0};
  mp_process_t *p = start_child("ts_waitfor_timeout", a, MP_START_FORK, fds, 4);
  MP_ASSERT_OK(mp_sem_acquire(sem, 30000));
  bump_and_notify(t, 3); /* notifications that never make it true */
  assert_int_equal(finish_child(p, 30000), 0);
  volatile int64_t *sh = mp_shm_data(t->shm);
  assert_int_equal(sh[1], 1);
  mp_sem_free(sem);
}

static void test_sync_cond_notify_all_wakes_three(void **state) {
  enum { kWaiters = 3 };
  cond_trio_t *t = *state;
  targ_t a = {20000, 0, 0, 0}; /* each waits once, up to 20 s */
  mp_process_t *p[kWaiters];
  start_children(p, kWaiters, "ts_cond_waiter", a, t->fds, 3);
  await_cond_waiters(t, kWaiters);
  notify_locked(t, 1);
  int64_t t0 = now_ms();
  expect_children_ok(p, kWaiters, 30000, "waiter");
  assert_true(now_ms() - t0 < 15000); /* notified, not timed out */
  volatile int64_t *sh = mp_shm_data(t->shm);
  assert_int_equal(sh[3], kWaiters);
}

/* notify(1) with one waiter wakes it; a second notify(1) with another
 * waiter wakes that one too. */
static void test_sync_cond_notify_one_wakes_waiter(void **state) {
  cond_trio_t *t = *state;
  targ_t a = {20000, 0, 0, 0};
  for (int i = 0; i < 2; ++i) {
    mp_process_t *p = start_child("ts_cond_waiter", a, MP_START_FORK, t->fds, 3);
    await_cond_waiters(t, i + 1);
    notify_locked(t, 0);
    expect_notified(p, "waiter");
  }
}

/* A waiter SIGKILLed inside mp_cond_wait breaks nothing: the lock is free
 * (not owner-dead), waits time out and notifies wake the next waiter. */
static void test_sync_cond_killed_waiter_breaks_nothing(void **state) {
  cond_trio_t *t = *state;
  mp_lock_t *l = t->lock;
  mp_cond_t *c = t->cond;
  targ_t forever = {-1, 0, 0, 0};
  mp_process_t *victim = start_child("ts_cond_waiter", forever, MP_START_FORK, t->fds, 3);
  await_cond_waiters(t, 1);
  MP_ASSERT_OK(mp_process_kill(victim));
  assert_int_equal(finish_child(victim, 20000), -SIGKILL);
  MP_ASSERT_OK(mp_lock_acquire(l, 10000)); /* MP_OK: nobody died holding it */
  MP_ASSERT_ERR(mp_cond_wait(c, 100), MP_ETIMEDOUT);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_cond_notify_all(c));
  MP_ASSERT_OK(mp_cond_notify(c, 1));
  MP_ASSERT_OK(mp_lock_release(l));
  targ_t a = {20000, 0, 0, 0};
  mp_process_t *p = start_child("ts_cond_waiter", a, MP_START_FORK, t->fds, 3);
  await_cond_waiters(t, 2);
  notify_locked(t, 0);
  expect_notified(p, "waiter after the killed one");
}

/* The lock's holder dies after notifying: the woken waiter re-acquires the
 * lock with MP_EOWNERDEAD and holds it. */
static void test_sync_cond_wait_owner_dead(void **state) {
  cond_trio_t *t = *state;
  targ_t a = {20000, 1, 0, 0}; /* expects MP_EOWNERDEAD */
  mp_process_t *w = start_child("ts_cond_waiter", a, MP_START_FORK, t->fds, 3);
  await_cond_waiters(t, 1);
  mp_process_t *n = start_child("ts_notify_die", a, MP_START_FORK, t->fds, 2);
  assert_int_equal(finish_child(n, 20000), -SIGKILL);
  expect_child_ok(w, 20000, "waiter (expects EOWNERDEAD)");
  MP_ASSERT_OK(mp_lock_acquire(t->lock, 10000)); /* the waiter released it */
  MP_ASSERT_OK(mp_lock_release(t->lock));
}

/* Two threads ping-pong a turn through one condition, many times: a
 * notify must never be lost (a lost one shows as a wait timing out). */
typedef struct pingpong {
  mp_lock_t *lock;
  mp_cond_t *cond;
  volatile int turn;
  int rounds, me, timeouts, errors;
} pingpong_t;

typedef struct pingpong_arg {
  pingpong_t *pp;
  int me;
} pingpong_arg_t;

static void *pingpong_main(void *arg) {
  pingpong_arg_t *a = arg;
  pingpong_t *pp = a->pp;
  for (int i = 0; i < pp->rounds; ++i) {
    if (mp_lock_acquire(pp->lock, 10000) != MP_OK) {
      __atomic_add_fetch(&pp->errors, 1, __ATOMIC_SEQ_CST);
      return NULL;
    }
    while (pp->turn != a->me) {
      int r = mp_cond_wait(pp->cond, 1000);
      if (r == MP_ETIMEDOUT) {
        __atomic_add_fetch(&pp->timeouts, 1, __ATOMIC_SEQ_CST);
      } else if (r != MP_OK) {
        __atomic_add_fetch(&pp->errors, 1, __ATOMIC_SEQ_CST);
        mp_lock_release(pp->lock);
        return NULL;
      }
    }
    pp->turn = 1 - a->me;
    if (mp_cond_notify(pp->cond, 1) != MP_OK) __atomic_add_fetch(&pp->errors, 1, __ATOMIC_SEQ_CST);
    mp_lock_release(pp->lock);
  }
  return NULL;
}

static void test_sync_cond_ping_pong_threads(void **state) {
  (void)state;
  pingpong_t pp;
  memset(&pp, 0, sizeof pp);
  MP_ASSERT_OK(mp_lock_new(&pp.lock, 0));
  MP_ASSERT_OK(mp_cond_new(&pp.cond, pp.lock));
  pp.rounds = 3000;
  pingpong_arg_t a0 = {&pp, 0}, a1 = {&pp, 1};
  pthread_t t0, t1;
  assert_int_equal(pthread_create(&t0, NULL, pingpong_main, &a0), 0);
  assert_int_equal(pthread_create(&t1, NULL, pingpong_main, &a1), 0);
  pthread_join(t0, NULL);
  pthread_join(t1, NULL);
  mp_cond_free(pp.cond);
  mp_lock_free(pp.lock);
  assert_int_equal(pp.errors, 0);
  if (pp.timeouts != 0)
    fail_msg("%d notifies were lost (the waiter slept until its timeout)", pp.timeouts);
}

/* A notifier that takes the lock the moment a waiter's mp_cond_wait
 * releases it: the waiter counted itself (ready = 1) under the lock before
 * waiting, so the notifier that sees ready == 1 under the lock notifies a
 * waiter that is, by the contract, already waiting. Such a notify must
 * wake it (a lost one shows as the wait timing out although the notifier
 * took the flag). */
typedef struct quick_notifier {
  mp_lock_t *lock;
  mp_cond_t *cond;
  volatile int ready, done, notified;
  int errors;
} quick_notifier_t;

static void *quick_notifier_main(void *arg) {
  quick_notifier_t *q = arg;
  for (;;) {
    while (mp_lock_locked(q->lock) == 1 && !q->done) {
    } /* pounce the moment the lock is let go */
    int r = mp_lock_acquire(q->lock, 0);
    if (r == MP_ETIMEDOUT) continue;
    if (r != MP_OK) {
      q->errors++;
      return NULL;
    }
    int done = q->done;
    if (q->ready) {
      q->ready = 0;
      q->notified++;
      if (mp_cond_notify(q->cond, 1) != MP_OK) q->errors++;
    }
    mp_lock_release(q->lock);
    if (done) return NULL;
  }
}

static void test_sync_cond_notify_not_lost_to_quick_notifier(void **state) {
  (void)state;
  quick_notifier_t q;
  memset(&q, 0, sizeof q);
  MP_ASSERT_OK(mp_lock_new(&q.lock, 0));
  MP_ASSERT_OK(mp_cond_new(&q.cond, q.lock));
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, quick_notifier_main, &q), 0);
  int lost = 0, rounds = 0, starved = 0;
  int64_t end = now_ms() + 3000; /* the race is rare: many quick rounds */
  for (; rounds < 50000 && lost == 0 && starved < 3 && now_ms() < end; ++rounds) {
    MP_ASSERT_OK(mp_lock_acquire(q.lock, 10000));
    q.ready = 1;
    int before = q.notified;
    int r = mp_cond_wait(q.cond, 1000);
    if (r == MP_ETIMEDOUT) {
      if (q.notified != before)
        lost++; /* the notifier saw the waiter and notified it */
      else
        starved++; /* the notifier never got the lock: not a verdict */
    } else if (r != MP_OK) {
      fail_msg("cond_wait = %s: %s", mp_err_name(r), mp_last_error());
    }
    q.ready = 0;
    MP_ASSERT_OK(mp_lock_release(q.lock));
  }
  MP_ASSERT_OK(mp_lock_acquire(q.lock, 10000));
  q.done = 1;
  MP_ASSERT_OK(mp_lock_release(q.lock));
  pthread_join(th, NULL);
  mp_cond_free(q.cond);
  mp_lock_free(q.lock);
  assert_int_equal(q.errors, 0);
  if (lost)
    fail_msg("a notify made under the lock after the waiter released it in "
             "mp_cond_wait was lost (round %d; the wait timed out)", rounds);
  (void)starved;
}

int main(int argc, char **argv) {
  if (sync_test_start(argc, argv, k_targets, sizeof k_targets / sizeof k_targets[0]) != 0)
    return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync_cond_errors),
      cmocka_unit_test(test_sync_cond_lock_held_by_other_thread_estate),
      cmocka_unit_test(test_sync_cond_wait_timeout_reacquires),
      cmocka_unit_test_setup_teardown(test_sync_cond_producer_consumer, trio_setup, trio_teardown),
      cmocka_unit_test_setup_teardown(test_sync_cond_waitfor, trio_setup, trio_teardown),
      cmocka_unit_test_setup_teardown(test_sync_cond_waitfor_timeout, trio_setup, trio_teardown),
      cmocka_unit_test_setup_teardown(test_sync_cond_notify_all_wakes_three, trio_setup, trio_teardown),
      cmocka_unit_test_setup_teardown(test_sync_cond_notify_one_wakes_waiter, rtrio_setup, trio_teardown),
      cmocka_unit_test_setup_teardown(test_sync_cond_killed_waiter_breaks_nothing, trio_setup, trio_teardown),
      cmocka_unit_test(test_sync_cond_ping_pong_threads),
      cmocka_unit_test(test_sync_cond_notify_not_lost_to_quick_notifier),
      cmocka_unit_test_setup_teardown(test_sync_cond_wait_owner_dead, trio_setup, trio_teardown),
  };
  return MP_RUN_TESTS(tests);
}
