/* Synchronisation shared between processes (mp_lock_*, mp_sem_*,
 * mp_event_*, mp_cond_*, mp_barrier_*) and shared memory (mp_shm_*,
 * mp_value_*): every function's success and documented errors, and the
 * multi-process guarantees: mutual exclusion counted across processes,
 * owner-death recovery, a semaphore never exceeding its count, an event
 * waking every process, conditions, barrier indexes, atomic and locked
 * updates of values, handles passed with both start methods.
 *
 * Every target is registered before mp_main() so that MP_START_SPAWN
 * children (re-executions of this program) find it. Objects reach a child
 * as descriptors: mp_process_pass_fd(p, mp_X_fileno(obj)) in the parent,
 * mp_X_from_fd(&obj, mp_child_fd(i)) in the child. A target returns 0 on
 * success; on a failed check it prints why on stderr and returns 99. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define MP_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP_TEST_ASAN 1
#endif
#endif
#ifndef MP_TEST_ASAN
#define MP_TEST_ASAN 0
#endif

static const int k_methods[] = {MP_START_FORK, MP_START_SPAWN};

static const char *method_name(int m) {
  return m == MP_START_SPAWN ? "spawn" : "fork";
}

/* ------------------------------------------------------------------------
 * Small utilities
 * ---------------------------------------------------------------------- */

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Close fd if it is still open (after a from_fd that failed: whether the
 * library took the descriptor is not what these tests check). */
static void close_if_open(int fd) {
  if (fd >= 0 && fcntl(fd, F_GETFD) >= 0) close(fd);
}

/* The arguments of a target: a few integers. */
typedef struct targ {
  int32_t a, b, c, d;
} targ_t;

static targ_t targ_of(const void *arg, size_t len) {
  targ_t t = {0, 0, 0, 0};
  if (arg && len == sizeof t) memcpy(&t, arg, sizeof t);
  return t;
}

/* Start a target child with descriptors passed at indexes 0, 1, … */
static mp_process_t *start_child(const char *target, targ_t arg, int method,
                                 const int *fds, size_t nfds) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, target, &arg, sizeof arg));
  MP_ASSERT_OK(mp_process_set_start_method(p, (mp_start_method_t)method));
  for (size_t i = 0; i < nfds; ++i) {
    int idx = mp_process_pass_fd(p, fds[i]);
    if (idx != (int)i)
      fail_msg("mp_process_pass_fd(%d) = %d, expected %zu: %s", fds[i], idx, i,
               mp_last_error());
  }
  MP_ASSERT_OK(mp_process_start(p));
  return p;
}

/* Join within timeout_ms, free the process and return its exit code; a
 * child still running then is killed and the test fails. */
static int finish_child(mp_process_t *p, int64_t timeout_ms) {
  int r = mp_process_join(p, timeout_ms);
  if (r != MP_OK) {
    mp_process_kill(p);
    mp_process_join(p, 10000);
    mp_process_free(p);
    fail_msg("child did not end within %" PRId64 " ms (%s)", timeout_ms,
             mp_err_name(r));
  }
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  return code;
}

static void expect_child_ok(mp_process_t *p, int64_t timeout_ms, const char *what) {
  int code = finish_child(p, timeout_ms);
  if (code != 0) fail_msg("%s: child exit code %d, expected 0", what, code);
}

/* Wait until an integer element reaches want; 1 if it did in time. */
static int poll_value(mp_value_t *v, size_t index, int64_t want, int timeout_ms) {
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    int64_t x = -1;
    if (mp_value_get_i64(&x, v, index) == MP_OK && x == want) return 1;
    if (now_ms() >= end) return 0;
    sleep_ms(5);
  }
}

/* Wait until n callers wait on the barrier; 1 if they did in time. */
static int poll_barrier_waiting(mp_barrier_t *b, int n, int timeout_ms) {
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    if (mp_barrier_n_waiting(b) == n) return 1;
    if (now_ms() >= end) return 0;
    sleep_ms(5);
  }
}

/* Names in /dev/shm (up to 512), for checking that nothing is added. */
typedef struct shm_names {
  int n;
  char *name[512];
} shm_names_t;

static void shm_names_take(shm_names_t *s) {
  s->n = 0;
  DIR *d = opendir("/dev/shm");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && s->n < 512)
    if (e->d_name[0] != '.') s->name[s->n++] = strdup(e->d_name);
  closedir(d);
}

static void shm_names_free(shm_names_t *s) {
  for (int i = 0; i < s->n; ++i) free(s->name[i]);
  s->n = 0;
}

/* The first name in after that is not in before, or NULL. */
static const char *shm_names_added(const shm_names_t *before, const shm_names_t *after) {
  for (int i = 0; i < after->n; ++i) {
    int found = 0;
    for (int j = 0; j < before->n && !found; ++j)
      found = strcmp(after->name[i], before->name[j]) == 0;
    if (!found) return after->name[i];
  }
  return NULL;
}

/* ------------------------------------------------------------------------
 * Child side: opening passed objects, checks
 * ---------------------------------------------------------------------- */

#define CK(expr)                                                             \
  do {                                                                       \
    if (!(expr)) {                                                           \
      fprintf(stderr, "[child %d] %s:%d: check failed: %s (last error: %s)\n", \
              (int)getpid(), __FILE__, __LINE__, #expr, mp_last_error());    \
      return 99;                                                             \
    }                                                                        \
  } while (0)

#define DEFINE_CHILD_OPEN(type, kind)                                          \
  static type *child_##kind(size_t i) {                                        \
    type *h = NULL;                                                            \
    int fd = mp_child_fd(i);                                                   \
    if (fd < 0) {                                                              \
      fprintf(stderr, "[child] mp_child_fd(%zu) = %d: %s\n", i, fd,            \
              mp_last_error());                                                \
      return NULL;                                                             \
    }                                                                          \
    int r = mp_##kind##_from_fd(&h, fd);                                       \
    if (r != MP_OK) {                                                          \
      fprintf(stderr, "[child] mp_" #kind "_from_fd = %s: %s\n", mp_err_name(r), \
              mp_last_error());                                                \
      return NULL;                                                             \
    }                                                                          \
    return h;                                                                  \
  }

DEFINE_CHILD_OPEN(mp_lock_t, lock)
DEFINE_CHILD_OPEN(mp_sem_t, sem)
DEFINE_CHILD_OPEN(mp_event_t, event)
DEFINE_CHILD_OPEN(mp_barrier_t, barrier)
DEFINE_CHILD_OPEN(mp_shm_t, shm)
DEFINE_CHILD_OPEN(mp_value_t, value)

static mp_cond_t *child_cond(size_t i, mp_lock_t *lock) {
  mp_cond_t *c = NULL;
  int fd = mp_child_fd(i);
  if (fd < 0) return NULL;
  int r = mp_cond_from_fd(&c, fd, lock);
  if (r != MP_OK) {
    fprintf(stderr, "[child] mp_cond_from_fd = %s: %s\n", mp_err_name(r),
            mp_last_error());
    return NULL;
  }
  return c;
}

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* fds: lock, shm. a iterations of {acquire; read the plain int64; write it
 * + 1; release}; shm[1] flags that someone is inside. */
static int ts_lock_count(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_lock_t *l = child_lock(0);
  mp_shm_t *s = child_shm(1);
  CK(l && s);
  volatile int64_t *c = mp_shm_data(s);
  for (int i = 0; i < t.a; ++i) {
    CK(mp_lock_acquire(l, 30000) == MP_OK);
    CK(c[1] == 0);
    c[1] = 1;
    int64_t v = c[0];
    c[0] = v + 1;
    c[1] = 0;
    CK(mp_lock_release(l) == MP_OK);
  }
  mp_shm_free(s);
  mp_lock_free(l);
  return 0;
}

/* fds: lock, event. Acquire a levels, set the event, then (b == 0) sleep
 * c ms and SIGKILL itself, or (b == 1) sleep until killed. */
static int ts_lock_die(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_lock_t *l = child_lock(0);
  mp_event_t *e = child_event(1);
  CK(l && e);
  for (int i = 0; i < t.a; ++i) CK(mp_lock_acquire(l, 10000) == MP_OK);
  CK(mp_lock_locked(l) == 1);
  CK(mp_event_set(e) == MP_OK);
  if (t.b == 0) {
    if (t.c > 0) sleep_ms(t.c);
    kill(getpid(), SIGKILL);
  }
  for (;;) sleep_ms(1000);
}

/* fds: value (with MP_VALUE_LOCK), event. Take the value's lock, set the
 * event, sleep a ms and SIGKILL itself. */
static int ts_value_lock_die(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_value_t *v = child_value(0);
  mp_event_t *e = child_event(1);
  CK(v && e);
  CK(mp_value_acquire(v, 10000) == MP_OK);
  CK(mp_value_set_f64(v, 0, 1.5) == MP_OK); /* a half-done update */
  CK(mp_event_set(e) == MP_OK);
  if (t.a > 0) sleep_ms(t.a);
  kill(getpid(), SIGKILL);
  for (;;) sleep_ms(1000);
}

/* fds: lock, held by the parent: timeout 0 fails, locked() says 1, and
 * this process may not release it. */
static int ts_lock_foreign(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_lock_t *l = child_lock(0);
  CK(l);
  CK(mp_lock_locked(l) == 1);
  CK(mp_lock_acquire(l, 0) == MP_ETIMEDOUT);
  CK(mp_lock_acquire(l, 50) == MP_ETIMEDOUT);
  CK(mp_lock_release(l) == MP_ESTATE);
  CK(mp_lock_locked(l) == 1);
  mp_lock_free(l);
  return 0;
}

/* fds: sem, value [inside, max inside], event (start). a rounds of
 * {acquire; inside += 1; record the max; sleep b ms; inside -= 1;
 * release}. */
static int ts_ktv(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_sem_t *s = child_sem(0);
  mp_value_t *v = child_value(1);
  mp_event_t *go = child_event(2);
  CK(s && v && go);
  CK(mp_event_wait(go, 30000) == MP_OK);
  for (int r = 0; r < t.a; ++r) {
    CK(mp_sem_acquire(s, 30000) == MP_OK);
    int64_t n = 0, seen = 0;
    CK(mp_value_add_i64(&n, v, 0, 1) == MP_OK);
    CK(mp_value_get_i64(&seen, v, 1) == MP_OK);
    while (n > seen) {
      int c = mp_value_cas_i64(v, 1, seen, n, &seen);
      CK(c == 0 || c == 1);
      if (c == 1) break;
    }
    sleep_ms(t.b);
    CK(mp_value_add_i64(&n, v, 0, -1) == MP_OK);
    CK(n >= 0);
    CK(mp_sem_release(s) == MP_OK);
  }
  mp_event_free(go);
  mp_value_free(v);
  mp_sem_free(s);
  return 0;
}

/* fds: sem. Acquire with a generous timeout. */
static int ts_sem_acquire(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_sem_t *s = child_sem(0);
  CK(s);
  CK(mp_sem_acquire(s, 20000) == MP_OK);
  mp_sem_free(s);
  return 0;
}

/* fds: event, value [ready]. Count itself ready, then wait forever. */
static int ts_event_wait(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_event_t *e = child_event(0);
  mp_value_t *v = child_value(1);
  CK(e && v);
  int64_t n;
  CK(mp_value_add_i64(&n, v, 0, 1) == MP_OK);
  CK(mp_event_wait(e, MP_FOREVER) == MP_OK);
  CK(mp_event_is_set(e) == 1);
  mp_value_free(v);
  mp_event_free(e);
  return 0;
}

/* The seeds' traffic light. fds: event. a toggles, b ms apart; green at
 * the end so that every car gets through. */
static int ts_light(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_event_t *e = child_event(0);
  CK(e);
  for (int i = 0; i < t.a; ++i) {
    sleep_ms(t.b);
    if (mp_event_is_set(e) == 1)
      CK(mp_event_clear(e) == MP_OK);
    else
      CK(mp_event_set(e) == MP_OK);
  }
  CK(mp_event_set(e) == MP_OK);
  mp_event_free(e);
  return 0;
}

/* A car: fds: event, value [cars through, red lights waited at]. */
static int ts_car(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_event_t *e = child_event(0);
  mp_value_t *v = child_value(1);
  CK(e && v);
  int64_t n;
  for (int guard = 0;; ++guard) {
    CK(guard < 1000);
    if (mp_event_is_set(e) == 0) { /* red: wait for green */
      CK(mp_value_add_i64(&n, v, 1, 1) == MP_OK);
      CK(mp_event_wait(e, 20000) == MP_OK);
      sleep_ms(10);
    }
    if (mp_event_is_set(e) == 0) continue; /* red again: back to waiting */
    CK(mp_value_add_i64(&n, v, 0, 1) == MP_OK);
    break;
  }
  mp_value_free(v);
  mp_event_free(e);
  return 0;
}

/* fds: lock, cond, shm. Wait (a predicate loop) until shm[0] >= a. */
static int ts_cond_consumer(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_lock_t *l = child_lock(0);
  mp_cond_t *c = l ? child_cond(1, l) : NULL;
  mp_shm_t *s = child_shm(2);
  CK(l && c && s);
  volatile int64_t *counter = mp_shm_data(s);
  int timeouts = 0;
  CK(mp_lock_acquire(l, 10000) == MP_OK);
  while (counter[0] < t.a) {
    int r = mp_cond_wait(c, 5000);
    CK(r == MP_OK || r == MP_ETIMEDOUT);
    if (r == MP_ETIMEDOUT) CK(++timeouts < 3);
    CK(mp_lock_locked(l) == 1);
  }
  counter[1] = counter[0]; /* what the consumer saw */
  CK(mp_lock_release(l) == MP_OK);
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
  return 0;
}

/* fds: lock, cond, shm. a times {acquire; shm[0] += 1; notify; release}. */
static int ts_cond_producer(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_lock_t *l = child_lock(0);
  mp_cond_t *c = l ? child_cond(1, l) : NULL;
  mp_shm_t *s = child_shm(2);
  CK(l && c && s);
  volatile int64_t *counter = mp_shm_data(s);
  for (int i = 0; i < t.a; ++i) {
    CK(mp_lock_acquire(l, 10000) == MP_OK);
    counter[0] = counter[0] + 1;
    CK(mp_cond_notify(c, 1) == MP_OK);
    CK(mp_lock_release(l) == MP_OK);
    if (i % 8 == 0) sleep_ms(1);
  }
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
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
  mp_lock_t *l = child_lock(0);
  mp_cond_t *c = l ? child_cond(1, l) : NULL;
  mp_shm_t *s = child_shm(2);
  CK(l && c && s);
  volatile int64_t *state = mp_shm_data(s);
  CK(mp_lock_acquire(l, 10000) == MP_OK);
  state[0] = 0;
  CK(mp_cond_notify(c, 1) == MP_OK);
  waitfor_pred_t pred = {state, 4, 0};
  CK(mp_cond_wait_for(c, word_equals, &pred, MP_FOREVER) == MP_OK);
  CK(state[0] == 4 && mp_lock_locked(l) == 1);
  CK(mp_lock_release(l) == MP_OK);
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
  return 0;
}

/* CPython _TestCondition._test_waitfor_timeout_f. fds: lock, cond, shm
 * (word 0: state, word 1: success), sem. Release sem, then wait_for(state
 * == 4, 100 ms) under the lock: success if it timed out after a plausible
 * time (0.6x to 10x, as CPython's bounds). */
static int ts_waitfor_timeout(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_lock_t *l = child_lock(0);
  mp_cond_t *c = l ? child_cond(1, l) : NULL;
  mp_shm_t *s = child_shm(2);
  mp_sem_t *sem = child_sem(3);
  CK(l && c && s && sem);
  volatile int64_t *sh = mp_shm_data(s);
  CK(mp_sem_release(sem) == MP_OK);
  CK(mp_lock_acquire(l, 10000) == MP_OK);
  waitfor_pred_t pred = {sh, 4, 0};
  int64_t t0 = now_ms();
  int r = mp_cond_wait_for(c, word_equals, &pred, 100);
  int64_t dt = now_ms() - t0;
  if (r == MP_ETIMEDOUT && dt > 60 && dt < 1000 && mp_lock_locked(l) == 1) sh[1] = 1;
  CK(mp_lock_release(l) == MP_OK);
  mp_sem_free(sem);
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
  return 0;
}

/* fds: lock, cond, shm. Under the lock count itself in shm[2], then wait
 * once (timeout a ms, or forever if a < 0); returns 0 if notified (b == 0)
 * or if the wait reports MP_EOWNERDEAD (b == 1). */
static int ts_cond_waiter(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_lock_t *l = child_lock(0);
  mp_cond_t *c = l ? child_cond(1, l) : NULL;
  mp_shm_t *s = child_shm(2);
  CK(l && c && s);
  volatile int64_t *sh = mp_shm_data(s);
  CK(mp_lock_acquire(l, 10000) == MP_OK);
  sh[2] = sh[2] + 1;
  int r = mp_cond_wait(c, t.a < 0 ? MP_FOREVER : t.a);
  CK(r == (t.b == 1 ? MP_EOWNERDEAD : MP_OK));
  CK(mp_lock_locked(l) == 1);
  sh[3] = sh[3] + 1;
  CK(mp_lock_release(l) == MP_OK);
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
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

/* fds: barrier, value [slots]. a rounds; in round r slot r * parties +
 * index is incremented. Returns the first round's index (or 100 + -error). */
static int ts_barrier(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_barrier_t *b = child_barrier(0);
  mp_value_t *v = child_value(1);
  CK(b && v);
  int parties = mp_barrier_parties(b);
  CK(parties >= 1);
  int first = -1;
  for (int r = 0; r < t.a; ++r) {
    int idx = mp_barrier_wait(b, 20000);
    if (idx < 0) {
      fprintf(stderr, "[child] barrier wait: %s: %s\n", mp_err_name(idx), mp_last_error());
      return 100 - idx;
    }
    CK(idx < parties);
    int64_t n;
    CK(mp_value_add_i64(&n, v, (size_t)(r * parties + idx), 1) == MP_OK);
    if (r == 0) first = idx;
  }
  mp_value_free(v);
  mp_barrier_free(b);
  return first;
}

/* CPython _TestBarrier's AppendTrue: the action counts itself in value
 * element 0 (the payload is this process's handle on the value). */
static int append_true(void *payload) {
  int64_t n;
  return mp_value_add_i64(&n, payload, 0, 1) == MP_OK ? 0 : 1;
}

/* A "broken" answer of one party: Python raises BrokenBarrierError for a
 * timeout too; here the timed-out party gets MP_ETIMEDOUT, the others
 * MP_ESTATE. */
static int is_broken(int r) { return r == MP_ETIMEDOUT || r == MP_ESTATE; }

enum { kBarrierN = 5 }; /* CPython's _TestBarrier.N */

/* One party of the ported _TestBarrier tests; value element 1 counts the
 * parties that saw the barrier broken. a: 0 _test_action_f, 1
 * _test_timeout_f, 2 _test_default_timeout_f. Returns 0 if this party saw
 * what the test expects. */
static int barrier_party(mp_barrier_t *b, mp_value_t *v, int test) {
  int64_t n;
  if (test == 0) {
    if (mp_barrier_wait(b, 30000) < 0) return 2;
    CK(mp_value_get_i64(&n, v, 0) == MP_OK);
    return n == 1 ? 0 : 3; /* the action ran once, before anyone was released */
  }
  int i = mp_barrier_wait(b, 30000);
  if (i < 0) return 2;
  if (i == kBarrierN / 2) sleep_ms(1000); /* one party is late */
  int r = mp_barrier_wait(b, test == 1 ? 500 : MP_FOREVER); /* 2: the default, 500 ms */
  if (is_broken(r)) CK(mp_value_add_i64(&n, v, 1, 1) == MP_OK);
  return 0;
}

/* fds: barrier, value. barrier_party(a) with the action set on this
 * process's handle. */
static int ts_barrier_party(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_barrier_t *b = child_barrier(0);
  mp_value_t *v = child_value(1);
  CK(b && v);
  if (t.a == 0) CK(mp_barrier_set_action(b, append_true, v) == MP_OK);
  int r = barrier_party(b, v, t.a);
  mp_value_free(v);
  mp_barrier_free(b);
  return r;
}

/* fds: barrier. Wait; returns 0 if the wait failed with MP_ESTATE. */
static int ts_barrier_broken(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_barrier_t *b = child_barrier(0);
  CK(b);
  int r = mp_barrier_wait(b, 20000);
  if (r != MP_ESTATE) {
    fprintf(stderr, "[child] barrier wait = %d (%s), expected ESTATE\n", r, mp_err_name(r));
    return r < 0 ? 100 - r : 50 + r;
  }
  mp_barrier_free(b);
  return 0;
}

/* fds: shm. Write the pattern (i * 7 + a) & 0xff over the whole block. */
static int ts_shm_write(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_shm_t *s = child_shm(0);
  CK(s);
  size_t n = mp_shm_size(s);
  CK(n == (size_t)t.b);
  unsigned char *p = mp_shm_data(s);
  CK(p != NULL);
  for (size_t i = 0; i < n; ++i) CK(p[i] == 0); /* zero-filled */
  for (size_t i = 0; i < n; ++i) p[i] = (unsigned char)((i * 7 + (size_t)t.a) & 0xff);
  mp_shm_free(s);
  return 0;
}

/* fds: value (INT64), value (INT32, 2 elements). a atomic adds of 1 to
 * element 0 of the first and element 1 of the second. */
static int ts_value_add(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_value_t *v64 = child_value(0);
  mp_value_t *v32 = child_value(1);
  CK(v64 && v32);
  int64_t n;
  for (int i = 0; i < t.a; ++i) {
    CK(mp_value_add_i64(&n, v64, 0, 1) == MP_OK);
    CK(mp_value_add_i64(&n, v32, 1, 1) == MP_OK);
  }
  mp_value_free(v32);
  mp_value_free(v64);
  return 0;
}

/* fds: value (DOUBLE, MP_VALUE_LOCK). a times {acquire; get; set + 1.0;
 * release}. */
static int ts_value_locked_f64(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_value_t *v = child_value(0);
  CK(v);
  for (int i = 0; i < t.a; ++i) {
    double x = 0;
    CK(mp_value_acquire(v, 30000) == MP_OK);
    CK(mp_value_get_f64(&x, v, 0) == MP_OK);
    CK(mp_value_set_f64(v, 0, x + 1.0) == MP_OK);
    CK(mp_value_release(v) == MP_OK);
  }
  mp_value_free(v);
  return 0;
}

/* The seeds' `modify`: fds n (INT32), b (INT32, no lock), s (BYTES), arr
 * (INT32 x 5), A (DOUBLE x 4: two points). */
static int ts_modify(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_value_t *n = child_value(0), *b = child_value(1), *s = child_value(2),
             *arr = child_value(3), *A = child_value(4);
  CK(n && b && s && arr && A);
  int64_t x;
  CK(mp_value_acquire(n, 10000) == MP_OK);
  CK(mp_value_get_i64(&x, n, 0) == MP_OK);
  CK(mp_value_set_i64(n, 0, x * x) == MP_OK); /* n.value **= 2 */
  CK(mp_value_release(n) == MP_OK);
  CK(mp_value_set_i64(b, 0, 1) == MP_OK); /* b.value = True */
  char buf[64];
  size_t got = 0;
  CK(mp_value_get_bytes(&got, s, buf, sizeof buf) == MP_OK);
  for (size_t i = 0; i < got; ++i)
    if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (char)(buf[i] - 'a' + 'A');
  CK(mp_value_set_bytes(s, buf, got) == MP_OK); /* s.value.upper() */
  CK(mp_value_set_i64(arr, 0, 10) == MP_OK);    /* arr[0] = 10 */
  for (size_t i = 0; i < mp_value_count(A); ++i) {
    double d;
    CK(mp_value_get_f64(&d, A, i) == MP_OK);
    CK(mp_value_set_f64(A, i, d * d) == MP_OK); /* a.x **= 2; a.y **= 2 */
  }
  mp_value_free(A);
  mp_value_free(arr);
  mp_value_free(s);
  mp_value_free(b);
  mp_value_free(n);
  return 0;
}

/* fds: lock, sem, event, cond (bound to the lock), barrier (2 parties),
 * shm, value: use each one once from the child. */
static int ts_all_kinds(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_lock_t *l = child_lock(0);
  mp_sem_t *sem = child_sem(1);
  mp_event_t *e = child_event(2);
  mp_cond_t *c = l ? child_cond(3, l) : NULL;
  mp_barrier_t *b = child_barrier(4);
  mp_shm_t *s = child_shm(5);
  mp_value_t *v = child_value(6);
  CK(l && sem && e && c && b && s && v);
  char *p = mp_shm_data(s);
  CK(mp_value_set_i64(v, 0, 42) == MP_OK);
  memcpy(p, "hello from the child", 21);
  CK(mp_sem_release(sem) == MP_OK);
  CK(mp_event_set(e) == MP_OK);
  CK(mp_lock_acquire(l, 20000) == MP_OK);
  p[100] = 1;
  CK(mp_cond_notify_all(c) == MP_OK);
  CK(mp_lock_release(l) == MP_OK);
  int idx = mp_barrier_wait(b, 20000);
  CK(idx == 0 || idx == 1);
  mp_value_free(v);
  mp_shm_free(s);
  mp_barrier_free(b);
  mp_cond_free(c);
  mp_event_free(e);
  mp_sem_free(sem);
  mp_lock_free(l);
  return 0;
}

static void register_targets(void) {
  struct {
    const char *name;
    mp_target_fn fn;
  } t[] = {
      {"ts_lock_count", ts_lock_count},
      {"ts_lock_die", ts_lock_die},
      {"ts_value_lock_die", ts_value_lock_die},
      {"ts_lock_foreign", ts_lock_foreign},
      {"ts_ktv", ts_ktv},
      {"ts_sem_acquire", ts_sem_acquire},
      {"ts_event_wait", ts_event_wait},
      {"ts_light", ts_light},
      {"ts_car", ts_car},
      {"ts_cond_consumer", ts_cond_consumer},
      {"ts_cond_producer", ts_cond_producer},
      {"ts_cond_waiter", ts_cond_waiter},
      {"ts_waitfor", ts_waitfor},
      {"ts_waitfor_timeout", ts_waitfor_timeout},
      {"ts_notify_die", ts_notify_die},
      {"ts_barrier", ts_barrier},
      {"ts_barrier_broken", ts_barrier_broken},
      {"ts_barrier_party", ts_barrier_party},
      {"ts_shm_write", ts_shm_write},
      {"ts_value_add", ts_value_add},
      {"ts_value_locked_f64", ts_value_locked_f64},
      {"ts_modify", ts_modify},
      {"ts_all_kinds", ts_all_kinds},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; ++i)
    if (mp_register(t[i].name, t[i].fn, NULL) != MP_OK) {
      fprintf(stderr, "mp_register %s: %s\n", t[i].name, mp_last_error());
      exit(99);
    }
}

/* ------------------------------------------------------------------------
 * Locks
 * ---------------------------------------------------------------------- */

static void test_sync_lock_new_errors(void **state) {
  (void)state;
  mp_lock_t *l = (mp_lock_t *)&l;
  MP_ASSERT_ERR(mp_lock_new(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_lock_new(&l, 2), MP_EINVAL);
  assert_null(l);
  l = (mp_lock_t *)&l;
  MP_ASSERT_ERR(mp_lock_new(&l, -1), MP_EINVAL);
  assert_null(l);
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  assert_non_null(l);
  assert_true(mp_lock_fileno(l) >= 0);
  assert_int_equal(mp_lock_locked(l), 0);
  mp_lock_free(l);
  MP_ASSERT_OK(mp_lock_new(&l, MP_LOCK_RECURSIVE));
  assert_true(mp_lock_fileno(l) >= 0);
  assert_int_equal(mp_lock_locked(l), 0);
  mp_lock_free(l);
  mp_lock_free(NULL);
}

static void test_sync_lock_plain_acquire_release(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_ERR(mp_lock_acquire(l, -2), MP_EINVAL);
  MP_ASSERT_ERR(mp_lock_acquire(l, INT64_MIN), MP_EINVAL);
  MP_ASSERT_OK(mp_lock_acquire(l, 0));
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 0);
  MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  MP_ASSERT_OK(mp_lock_acquire(l, 1000));
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 0);
  mp_lock_free(l);
}

/* A plain lock acquired again by its holder: MP_ESTATE without a timeout
 * (Python would deadlock); with one, "not acquired" at once (Python waits
 * the timeout and returns False; here only this thread could release). */
static void test_sync_lock_plain_acquire_twice_estate(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
  MP_ASSERT_ERR(mp_lock_acquire(l, MP_FOREVER), MP_ESTATE); /* not a deadlock */
  MP_ASSERT_ERR(mp_lock_acquire(l, 200), MP_ETIMEDOUT);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 0);
  MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
  mp_lock_free(l);
}

/* Defect 7 of issue 20: acquire(False) by the holder is "not acquired"
 * (MP_ETIMEDOUT, as for any busy lock), not an error. Ported from CPython
 * _test_multiprocessing _TestLock.test_lock:
 *   lock.acquire() is True; lock.acquire(False) is False; lock.release();
 *   a second release raises. */
static void test_sync_lock_plain_acquire_twice_timeout0_not_acquired(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
  int r = mp_lock_acquire(l, 0);
  char copy[256];
  snprintf(copy, sizeof copy, "%s", mp_last_error());
  MP_ASSERT_OK(mp_lock_release(l));
  MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
  /* An RLock's holder takes it again, also without waiting. */
  mp_lock_t *rl = NULL;
  MP_ASSERT_OK(mp_lock_new(&rl, MP_LOCK_RECURSIVE));
  MP_ASSERT_OK(mp_lock_acquire(rl, 0));
  MP_ASSERT_OK(mp_lock_acquire(rl, 0));
  MP_ASSERT_OK(mp_lock_release(rl));
  MP_ASSERT_OK(mp_lock_release(rl));
  mp_lock_free(rl);
  mp_lock_free(l);
  if (r != MP_ETIMEDOUT)
    fail_msg("acquire(0) by the holder of a plain lock = %s, expected ETIMEDOUT (%s)",
             mp_err_name(r), copy);
}

static void test_sync_lock_release_not_held_estate(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
  assert_int_equal(mp_lock_locked(l), 0);
  MP_ASSERT_OK(mp_lock_acquire(l, 0)); /* still usable */
  MP_ASSERT_OK(mp_lock_release(l));
  mp_lock_free(l);
}

typedef struct other_thread {
  mp_lock_t *lock;
  int release_rc, try_rc, timed_rc, locked;
} other_thread_t;

static void *other_thread_main(void *arg) {
  other_thread_t *t = arg;
  t->release_rc = mp_lock_release(t->lock);
  t->try_rc = mp_lock_acquire(t->lock, 0);
  t->timed_rc = mp_lock_acquire(t->lock, 50);
  t->locked = mp_lock_locked(t->lock);
  return NULL;
}

/* Only the holding thread releases (plain and recursive). */
static void test_sync_lock_release_other_thread_estate(void **state) {
  (void)state;
  for (int flags = 0; flags <= MP_LOCK_RECURSIVE; ++flags) {
    mp_lock_t *l = NULL;
    MP_ASSERT_OK(mp_lock_new(&l, flags));
    MP_ASSERT_OK(mp_lock_acquire(l, 0));
    other_thread_t t = {l, 1, 1, 1, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, other_thread_main, &t), 0);
    pthread_join(th, NULL);
    assert_int_equal(t.release_rc, MP_ESTATE);
    assert_int_equal(t.try_rc, MP_ETIMEDOUT);
    assert_int_equal(t.timed_rc, MP_ETIMEDOUT);
    assert_int_equal(t.locked, 1);
    assert_int_equal(mp_lock_locked(l), 1);
    MP_ASSERT_OK(mp_lock_release(l));
    assert_int_equal(mp_lock_locked(l), 0);
    mp_lock_free(l);
  }
}

static void test_sync_rlock_three_levels(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, MP_LOCK_RECURSIVE));
  MP_ASSERT_OK(mp_lock_acquire(l, 0));
  MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
  MP_ASSERT_OK(mp_lock_acquire(l, 100));
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 0);
  MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
  MP_ASSERT_OK(mp_lock_acquire(l, 0));
  MP_ASSERT_OK(mp_lock_release(l));
  mp_lock_free(l);
}

/* Held by another process: timeout 0 and a short timeout fail, locked()
 * says 1, this process cannot release it; when the holder is killed the
 * next acquire gets MP_EOWNERDEAD and the lock works on. */
static void test_sync_lock_held_by_other_process(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_event_t *held = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_event_new(&held));
  int fds[] = {mp_lock_fileno(l), mp_event_fileno(held)};
  targ_t a = {1, 1, 0, 0}; /* one level, wait to be killed */
  mp_process_t *p = start_child("ts_lock_die", a, MP_START_FORK, fds, 2);
  MP_ASSERT_OK(mp_event_wait(held, 20000));
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_ERR(mp_lock_acquire(l, 0), MP_ETIMEDOUT);
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_lock_acquire(l, 200), MP_ETIMEDOUT);
  int64_t waited = now_ms() - t0;
  assert_true(waited >= 150 && waited < 10000);
  MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(finish_child(p, 20000), -SIGKILL);
  MP_ASSERT_ERR(mp_lock_acquire(l, 10000), MP_EOWNERDEAD);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 0);
  MP_ASSERT_OK(mp_lock_acquire(l, 0));
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_ERR(mp_lock_acquire(l, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 0);
  mp_event_free(held);
  mp_lock_free(l);
}

/* The parent holds the lock; a child (either start method) cannot take or
 * release it. */
static void test_sync_lock_child_cannot_release_parents_lock(void **state) {
  (void)state;
  for (int m = 0; m < 2; ++m) {
    mp_lock_t *l = NULL;
    MP_ASSERT_OK(mp_lock_new(&l, 0));
    MP_ASSERT_OK(mp_lock_acquire(l, 0));
    int fds[] = {mp_lock_fileno(l)};
    targ_t a = {0, 0, 0, 0};
    mp_process_t *p = start_child("ts_lock_foreign", a, k_methods[m], fds, 1);
    int code = finish_child(p, 30000);
    if (code != 0) fail_msg("%s: child exit code %d", method_name(k_methods[m]), code);
    assert_int_equal(mp_lock_locked(l), 1);
    MP_ASSERT_OK(mp_lock_release(l));
    mp_lock_free(l);
  }
}

/* The holder SIGKILLs itself while the parent is already blocked in
 * acquire: the parent gets the lock with MP_EOWNERDEAD in time. */
static void test_sync_lock_owner_death_self_kill(void **state) {
  (void)state;
  /* Each start method, without and with a cancel token bound to the
   * waiter (which then sleeps on the mutex word and the token at once: the
   * kernel's wake at the holder's death must reach it, well before the 2 s
   * safety slice). */
  for (int run = 0; run < 4; ++run) {
    int m = run % 2, with_token = run / 2;
    mp_lock_t *l = NULL;
    mp_event_t *held = NULL;
    mp_cancel_t *token = NULL;
    MP_ASSERT_OK(mp_lock_new(&l, 0));
    MP_ASSERT_OK(mp_event_new(&held));
    MP_ASSERT_OK(mp_cancel_new(&token));
    int fds[] = {mp_lock_fileno(l), mp_event_fileno(held)};
    targ_t a = {1, 0, 200, 0}; /* one level, die after 200 ms */
    mp_process_t *p = start_child("ts_lock_die", a, k_methods[m], fds, 2);
    MP_ASSERT_OK(mp_event_wait(held, 20000));
    mp_cancel_t *prev = mp_cancel_bind(with_token ? token : NULL);
    int64_t t0 = now_ms();
    int r = mp_lock_acquire(l, 20000);
    int64_t waited = now_ms() - t0;
    mp_cancel_bind(prev);
    mp_cancel_free(token);
    if (r != MP_EOWNERDEAD)
      fail_msg("%s: acquire = %s, expected EOWNERDEAD: %s", method_name(k_methods[m]),
               mp_err_name(r), mp_last_error());
    assert_true(waited < 20000);
    if (with_token && waited >= 1800)
      fail_msg("%s, token bound: the holder's death took %lld ms to reach the waiter",
               method_name(k_methods[m]), (long long)waited);
    assert_true(mp_last_error()[0] != '\0');
    assert_int_equal(finish_child(p, 20000), -SIGKILL);
    assert_int_equal(mp_lock_locked(l), 1);
    MP_ASSERT_OK(mp_lock_release(l));
    assert_int_equal(mp_lock_locked(l), 0);
    MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
    MP_ASSERT_OK(mp_lock_acquire(l, 0));
    assert_int_equal(mp_lock_locked(l), 1);
    MP_ASSERT_OK(mp_lock_release(l));
    assert_int_equal(mp_lock_locked(l), 0);
    mp_event_free(held);
    mp_lock_free(l);
  }
}

/* A recursive lock held 3 levels deep by a process that dies: the next
 * acquirer holds it once, and it works as a fresh RLock afterwards. */
static void test_sync_rlock_owner_death_three_levels(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_event_t *held = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, MP_LOCK_RECURSIVE));
  MP_ASSERT_OK(mp_event_new(&held));
  int fds[] = {mp_lock_fileno(l), mp_event_fileno(held)};
  targ_t a = {3, 0, 0, 0}; /* three levels, die at once */
  mp_process_t *p = start_child("ts_lock_die", a, MP_START_FORK, fds, 2);
  MP_ASSERT_OK(mp_event_wait(held, 20000));
  assert_int_equal(finish_child(p, 20000), -SIGKILL);
  MP_ASSERT_ERR(mp_lock_acquire(l, 10000), MP_EOWNERDEAD);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_acquire(l, 0)); /* a second level */
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 0);
  MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
  for (int i = 0; i < 3; ++i) MP_ASSERT_OK(mp_lock_acquire(l, 0));
  for (int i = 0; i < 3; ++i) MP_ASSERT_OK(mp_lock_release(l));
  assert_int_equal(mp_lock_locked(l), 0);
  MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
  mp_event_free(held);
  mp_lock_free(l);
}

/* The lock inside an MP_VALUE_LOCK value, after its holder died. */
static void test_sync_value_lock_owner_death(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  mp_event_t *held = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_DOUBLE, 1, MP_VALUE_LOCK));
  MP_ASSERT_OK(mp_event_new(&held));
  int fds[] = {mp_value_fileno(v), mp_event_fileno(held)};
  targ_t a = {100, 0, 0, 0};
  mp_process_t *p = start_child("ts_value_lock_die", a, MP_START_SPAWN, fds, 2);
  MP_ASSERT_OK(mp_event_wait(held, 20000));
  MP_ASSERT_ERR(mp_value_acquire(v, 20000), MP_EOWNERDEAD);
  assert_int_equal(finish_child(p, 20000), -SIGKILL);
  double d = 0;
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 0));
  assert_true(d == 1.5);
  MP_ASSERT_OK(mp_value_set_f64(v, 0, 0.0)); /* repair */
  MP_ASSERT_OK(mp_value_release(v));
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE);
  MP_ASSERT_OK(mp_value_acquire(v, 0));
  MP_ASSERT_ERR(mp_value_acquire(v, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_value_release(v));
  mp_event_free(held);
  mp_value_free(v);
}

/* 4 processes x 20000 {acquire; read a plain int64; write it + 1;
 * release}: exactly 80000. Two fork, two spawn. */
static void test_sync_lock_mutual_exclusion_counted(void **state) {
  (void)state;
  enum { kProcs = 4, kIters = 20000 };
  mp_lock_t *l = NULL;
  mp_shm_t *s = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_shm_new(&s, 2 * sizeof(int64_t)));
  int fds[] = {mp_lock_fileno(l), mp_shm_fileno(s)};
  mp_process_t *p[kProcs];
  targ_t a = {kIters, 0, 0, 0};
  for (int i = 0; i < kProcs; ++i)
    p[i] = start_child("ts_lock_count", a, k_methods[i % 2], fds, 2);
  for (int i = 0; i < kProcs; ++i) {
    int code = finish_child(p[i], 60000);
    if (code != 0) fail_msg("child %d (%s): exit code %d", i, method_name(k_methods[i % 2]), code);
  }
  volatile int64_t *c = mp_shm_data(s);
  assert_int_equal(c[0], (int64_t)kProcs * kIters);
  assert_int_equal(c[1], 0);
  assert_int_equal(mp_lock_locked(l), 0);
  mp_shm_free(s);
  mp_lock_free(l);
}

/* A thread blocked in mp_lock_acquire sleeps: the holder's death is the
 * kernel's to report (robust list), so the waiter does not wake to poll.
 * Its own CPU time over a 2 s wait stays under 1 ms (about 0.05 ms since
 * the fix; 2-3 ms when it woke every 50 ms). */
static void *hold_lock_for(void *p) {
  mp_lock_t *l = p;
  if (mp_lock_acquire(l, MP_FOREVER) != MP_OK) return NULL;
  sleep_ms(2600);
  mp_lock_release(l);
  return NULL;
}

static void test_sync_lock_waiter_sleeps(void **state) {
  (void)state;
  /* Without a cancel token, and with one bound, as the Go and Ruby
   * bindings bind one to every blocking call (it woke every 10 ms). */
  for (int with_token = 0; with_token < 2; with_token++) {
    mp_lock_t *l = NULL;
    MP_ASSERT_OK(mp_lock_new(&l, 0));
    mp_cancel_t *token = NULL;
    MP_ASSERT_OK(mp_cancel_new(&token));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_lock_for, l), 0);
    while (mp_lock_locked(l) != 1) sleep_ms(1);
    mp_cancel_t *prev = mp_cancel_bind(with_token ? token : NULL);
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    MP_ASSERT_ERR(mp_lock_acquire(l, 2000), MP_ETIMEDOUT);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double ms = (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-6;
    if (ms >= 1.0)
      fail_msg("a waiter blocked 2 s (%s) used %.3f ms of CPU",
               with_token ? "cancel token bound" : "no token", ms);
    /* Still woken by the release, token or not. */
    MP_ASSERT_OK(mp_lock_acquire(l, 10000));
    MP_ASSERT_OK(mp_lock_release(l));
    mp_cancel_bind(prev);
    pthread_join(t, NULL);
    mp_cancel_free(token);
    mp_lock_free(l);
  }
}

/* ------------------------------------------------------------------------
 * Semaphores
 * ---------------------------------------------------------------------- */

static void test_sync_sem_new_errors(void **state) {
  (void)state;
  mp_sem_t *s = (mp_sem_t *)&s;
  MP_ASSERT_ERR(mp_sem_new(NULL, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_sem_new(&s, 5, 3), MP_EINVAL);
  assert_null(s);
  s = (mp_sem_t *)&s;
  MP_ASSERT_ERR(mp_sem_new(&s, 0x80000000u, 0), MP_EINVAL);
  assert_null(s);
  MP_ASSERT_ERR(mp_sem_new(&s, 1, 0x80000000u), MP_EINVAL);
  MP_ASSERT_ERR(mp_sem_new(&s, 0xffffffffu, 0xffffffffu), MP_EINVAL);
  MP_ASSERT_OK(mp_sem_new(&s, 0, 0));
  assert_int_equal(mp_sem_value(s), 0);
  assert_true(mp_sem_fileno(s) >= 0);
  mp_sem_free(s);
  MP_ASSERT_OK(mp_sem_new(&s, 3, 3));
  assert_int_equal(mp_sem_value(s), 3);
  mp_sem_free(s);
  MP_ASSERT_OK(mp_sem_new(&s, 0x7fffffffu, 0));
  assert_int_equal(mp_sem_value(s), INT32_MAX);
  mp_sem_free(s);
  mp_sem_free(NULL);
}

static void test_sync_sem_bounded_over_release_estate(void **state) {
  (void)state;
  mp_sem_t *s = NULL;
  MP_ASSERT_OK(mp_sem_new(&s, 2, 2));
  MP_ASSERT_ERR(mp_sem_release(s), MP_ESTATE);
  assert_int_equal(mp_sem_value(s), 2);
  MP_ASSERT_OK(mp_sem_acquire(s, 0));
  assert_int_equal(mp_sem_value(s), 1);
  MP_ASSERT_OK(mp_sem_acquire(s, MP_FOREVER));
  assert_int_equal(mp_sem_value(s), 0);
  MP_ASSERT_ERR(mp_sem_acquire(s, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_sem_release(s));
  MP_ASSERT_OK(mp_sem_release(s));
  assert_int_equal(mp_sem_value(s), 2);
  MP_ASSERT_ERR(mp_sem_release(s), MP_ESTATE);
  assert_int_equal(mp_sem_value(s), 2);
  mp_sem_free(s);
  /* A bound above the initial value. */
  MP_ASSERT_OK(mp_sem_new(&s, 0, 2));
  MP_ASSERT_OK(mp_sem_release(s));
  MP_ASSERT_OK(mp_sem_release(s));
  MP_ASSERT_ERR(mp_sem_release(s), MP_ESTATE);
  assert_int_equal(mp_sem_value(s), 2);
  mp_sem_free(s);
}

static void test_sync_sem_unbounded_release_above_initial(void **state) {
  (void)state;
  mp_sem_t *s = NULL;
  MP_ASSERT_OK(mp_sem_new(&s, 1, 0));
  for (int i = 0; i < 3; ++i) MP_ASSERT_OK(mp_sem_release(s));
  assert_int_equal(mp_sem_value(s), 4);
  for (int i = 3; i >= 0; --i) {
    MP_ASSERT_OK(mp_sem_acquire(s, 0));
    assert_int_equal(mp_sem_value(s), i);
  }
  MP_ASSERT_ERR(mp_sem_acquire(s, 0), MP_ETIMEDOUT);
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_sem_acquire(s, 150), MP_ETIMEDOUT);
  int64_t waited = now_ms() - t0;
  assert_true(waited >= 100 && waited < 10000);
  MP_ASSERT_ERR(mp_sem_acquire(s, -2), MP_EINVAL);
  assert_int_equal(mp_sem_value(s), 0);
  mp_sem_free(s);
}

static void test_sync_sem_release_wakes_other_process(void **state) {
  (void)state;
  mp_sem_t *s = NULL;
  MP_ASSERT_OK(mp_sem_new(&s, 0, 0));
  int fds[] = {mp_sem_fileno(s)};
  targ_t a = {0, 0, 0, 0};
  mp_process_t *p = start_child("ts_sem_acquire", a, MP_START_FORK, fds, 1);
  sleep_ms(100);
  MP_ASSERT_OK(mp_sem_release(s));
  expect_child_ok(p, 20000, "sem waiter");
  assert_int_equal(mp_sem_value(s), 0);
  mp_sem_free(s);
}

/* The seeds' KTV rooms: Semaphore(3), 10 processes; never more than 3
 * inside, and 3 at some point. */
static void test_sync_sem_ktv_never_exceeds_count(void **state) {
  (void)state;
  enum { kRooms = 3, kPeople = 10 };
  mp_sem_t *s = NULL;
  mp_value_t *v = NULL;
  mp_event_t *go = NULL;
  MP_ASSERT_OK(mp_sem_new(&s, kRooms, kRooms));
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 2, 0));
  MP_ASSERT_OK(mp_event_new(&go));
  int fds[] = {mp_sem_fileno(s), mp_value_fileno(v), mp_event_fileno(go)};
  mp_process_t *p[kPeople];
  targ_t a = {2, 40, 0, 0}; /* two visits of 40 ms each */
  for (int i = 0; i < kPeople; ++i)
    p[i] = start_child("ts_ktv", a, i == 0 ? MP_START_SPAWN : MP_START_FORK, fds, 3);
  MP_ASSERT_OK(mp_event_set(go));
  for (int i = 0; i < kPeople; ++i) {
    int code = finish_child(p[i], 60000);
    if (code != 0) fail_msg("person %d: exit code %d", i, code);
  }
  int64_t inside = -1, max = -1;
  MP_ASSERT_OK(mp_value_get_i64(&inside, v, 0));
  MP_ASSERT_OK(mp_value_get_i64(&max, v, 1));
  assert_int_equal(inside, 0);
  assert_int_equal(max, kRooms);
  assert_int_equal(mp_sem_value(s), kRooms);
  mp_event_free(go);
  mp_value_free(v);
  mp_sem_free(s);
}

/* ------------------------------------------------------------------------
 * Events
 * ---------------------------------------------------------------------- */

static void test_sync_event_basics(void **state) {
  (void)state;
  mp_event_t *e = NULL;
  MP_ASSERT_ERR(mp_event_new(NULL), MP_EINVAL);
  MP_ASSERT_OK(mp_event_new(&e));
  assert_true(mp_event_fileno(e) >= 0);
  assert_int_equal(mp_event_is_set(e), 0);
  MP_ASSERT_ERR(mp_event_wait(e, 0), MP_ETIMEDOUT);
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_event_wait(e, 150), MP_ETIMEDOUT);
  int64_t waited = now_ms() - t0;
  assert_true(waited >= 100 && waited < 10000);
  MP_ASSERT_ERR(mp_event_wait(e, -2), MP_EINVAL);
  MP_ASSERT_OK(mp_event_set(e));
  assert_int_equal(mp_event_is_set(e), 1);
  MP_ASSERT_OK(mp_event_set(e)); /* again: still set */
  assert_int_equal(mp_event_is_set(e), 1);
  t0 = now_ms();
  MP_ASSERT_OK(mp_event_wait(e, 0));
  MP_ASSERT_OK(mp_event_wait(e, 10000));
  MP_ASSERT_OK(mp_event_wait(e, MP_FOREVER));
  assert_true(now_ms() - t0 < 2000); /* at once */
  MP_ASSERT_OK(mp_event_clear(e));
  assert_int_equal(mp_event_is_set(e), 0);
  MP_ASSERT_OK(mp_event_clear(e));
  assert_int_equal(mp_event_is_set(e), 0);
  MP_ASSERT_ERR(mp_event_wait(e, 20), MP_ETIMEDOUT);
  mp_event_free(e);
  mp_event_free(NULL);
}

/* 5 processes waiting forever are all released by one set. */
static void test_sync_event_set_wakes_all_processes(void **state) {
  (void)state;
  enum { kWaiters = 5 };
  mp_event_t *e = NULL;
  mp_value_t *ready = NULL;
  MP_ASSERT_OK(mp_event_new(&e));
  MP_ASSERT_OK(mp_value_new(&ready, MP_TYPE_INT64, 1, 0));
  int fds[] = {mp_event_fileno(e), mp_value_fileno(ready)};
  mp_process_t *p[kWaiters];
  targ_t a = {0, 0, 0, 0};
  for (int i = 0; i < kWaiters; ++i)
    p[i] = start_child("ts_event_wait", a, i == 0 ? MP_START_SPAWN : MP_START_FORK, fds, 2);
  if (!poll_value(ready, 0, kWaiters, 30000)) {
    for (int i = 0; i < kWaiters; ++i) mp_process_kill(p[i]);
    for (int i = 0; i < kWaiters; ++i) finish_child(p[i], 10000);
    fail_msg("the waiters did not get ready");
  }
  sleep_ms(100); /* let them reach the futex */
  for (int i = 0; i < kWaiters; ++i) assert_int_equal(mp_process_is_alive(p[i]), 1);
  MP_ASSERT_OK(mp_event_set(e));
  for (int i = 0; i < kWaiters; ++i) {
    int code = finish_child(p[i], 20000);
    if (code != 0) fail_msg("waiter %d: exit code %d", i, code);
  }
  assert_int_equal(mp_event_is_set(e), 1);
  mp_value_free(ready);
  mp_event_free(e);
}

/* The seeds' traffic light: a light process toggles the event, car
 * processes wait for green and drive through. */
static void test_sync_event_traffic_light(void **state) {
  (void)state;
  enum { kCars = 3 };
  mp_event_t *e = NULL;
  mp_value_t *v = NULL;
  MP_ASSERT_OK(mp_event_new(&e)); /* red */
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 2, 0));
  int car_fds[] = {mp_event_fileno(e), mp_value_fileno(v)};
  mp_process_t *cars[kCars];
  targ_t none = {0, 0, 0, 0};
  for (int i = 0; i < kCars; ++i)
    cars[i] = start_child("ts_car", none, i == 0 ? MP_START_SPAWN : MP_START_FORK, car_fds, 2);
  targ_t la = {6, 40, 0, 0};
  mp_process_t *light = start_child("ts_light", la, MP_START_FORK, car_fds, 1);
  expect_child_ok(light, 20000, "traffic light");
  for (int i = 0; i < kCars; ++i) expect_child_ok(cars[i], 30000, "car");
  int64_t through = -1, waited = -1;
  MP_ASSERT_OK(mp_value_get_i64(&through, v, 0));
  MP_ASSERT_OK(mp_value_get_i64(&waited, v, 1));
  assert_int_equal(through, kCars);
  assert_true(waited >= 1); /* somebody met a red light */
  assert_int_equal(mp_event_is_set(e), 1);
  mp_value_free(v);
  mp_event_free(e);
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
    int64_t t0 = now_ms();
    MP_ASSERT_ERR(mp_cond_wait(c, 150), MP_ETIMEDOUT);
    int64_t waited = now_ms() - t0;
    assert_true(waited >= 100 && waited < 10000);
    assert_int_equal(mp_lock_locked(l), 1);
    MP_ASSERT_OK(mp_lock_release(l));
    assert_int_equal(mp_lock_locked(l), 0);
    MP_ASSERT_ERR(mp_lock_release(l), MP_ESTATE);
    mp_cond_free(c);
    mp_lock_free(l);
  }
}

/* A consumer process waits in a predicate loop for a counter in shared
 * memory; a producer process increments it under the lock and notifies. */
static void test_sync_cond_producer_consumer(void **state) {
  (void)state;
  enum { kTarget = 200 };
  mp_lock_t *l = NULL;
  mp_cond_t *c = NULL;
  mp_shm_t *s = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_cond_new(&c, l));
  MP_ASSERT_OK(mp_shm_new(&s, 4 * sizeof(int64_t)));
  int fds[] = {mp_lock_fileno(l), mp_cond_fileno(c), mp_shm_fileno(s)};
  targ_t a = {kTarget, 0, 0, 0};
  mp_process_t *consumer = start_child("ts_cond_consumer", a, MP_START_SPAWN, fds, 3);
  mp_process_t *producer = start_child("ts_cond_producer", a, MP_START_FORK, fds, 3);
  expect_child_ok(producer, 30000, "producer");
  expect_child_ok(consumer, 30000, "consumer");
  volatile int64_t *counter = mp_shm_data(s);
  assert_int_equal(counter[0], kTarget);
  assert_int_equal(counter[1], kTarget);
  assert_int_equal(mp_lock_locked(l), 0);
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
}

/* Ported from CPython _TestCondition.test_waitfor. */
static void test_sync_cond_waitfor(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_cond_t *c = NULL;
  mp_shm_t *s = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_cond_new(&c, l));
  MP_ASSERT_OK(mp_shm_new(&s, 2 * sizeof(int64_t)));
  volatile int64_t *st = mp_shm_data(s);
  st[0] = -1;
  int fds[] = {mp_lock_fileno(l), mp_cond_fileno(c), mp_shm_fileno(s)};
  targ_t a = {0, 0, 0, 0};
  mp_process_t *p = start_child("ts_waitfor", a, MP_START_FORK, fds, 3);
  MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
  waitfor_pred_t pred = {st, 0, 0};
  MP_ASSERT_OK(mp_cond_wait_for(c, word_equals, &pred, MP_FOREVER));
  assert_int_equal(st[0], 0);
  MP_ASSERT_OK(mp_lock_release(l));
  for (int i = 0; i < 4; i++) {
    sleep_ms(10);
    MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
    st[0] = st[0] + 1;
    MP_ASSERT_OK(mp_cond_notify(c, 1));
    MP_ASSERT_OK(mp_lock_release(l));
  }
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
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
}

/* Ported from CPython _TestCondition.test_waitfor_timeout. */
static void test_sync_cond_waitfor_timeout(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_cond_t *c = NULL;
  mp_shm_t *s = NULL;
  mp_sem_t *sem = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_cond_new(&c, l));
  MP_ASSERT_OK(mp_shm_new(&s, 2 * sizeof(int64_t)));
  MP_ASSERT_OK(mp_sem_new(&sem, 0, 0));
  volatile int64_t *sh = mp_shm_data(s);
  int fds[] = {mp_lock_fileno(l), mp_cond_fileno(c), mp_shm_fileno(s), mp_sem_fileno(sem)};
  targ_t a = {0, 0, 0, 0};
  mp_process_t *p = start_child("ts_waitfor_timeout", a, MP_START_FORK, fds, 4);
  MP_ASSERT_OK(mp_sem_acquire(sem, 30000));
  for (int i = 0; i < 3; i++) { /* notifications that never make it true */
    sleep_ms(10);
    MP_ASSERT_OK(mp_lock_acquire(l, MP_FOREVER));
    sh[0] = sh[0] + 1;
    MP_ASSERT_OK(mp_cond_notify(c, 1));
    MP_ASSERT_OK(mp_lock_release(l));
  }
  assert_int_equal(finish_child(p, 30000), 0);
  assert_int_equal(sh[1], 1);
  mp_sem_free(sem);
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
}

/* Wait under the lock until shm[2] counts n waiters; they are then all
 * inside mp_cond_wait (each counted itself while holding the lock). */
static int wait_for_cond_waiters(mp_lock_t *l, mp_shm_t *s, int64_t n, int timeout_ms) {
  volatile int64_t *sh = mp_shm_data(s);
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    if (mp_lock_acquire(l, 10000) != MP_OK) return 0;
    int64_t got = sh[2];
    mp_lock_release(l);
    if (got == n) return 1;
    if (now_ms() >= end) return 0;
    sleep_ms(10);
  }
}

static void test_sync_cond_notify_all_wakes_three(void **state) {
  (void)state;
  enum { kWaiters = 3 };
  mp_lock_t *l = NULL;
  mp_cond_t *c = NULL;
  mp_shm_t *s = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_cond_new(&c, l));
  MP_ASSERT_OK(mp_shm_new(&s, 4 * sizeof(int64_t)));
  int fds[] = {mp_lock_fileno(l), mp_cond_fileno(c), mp_shm_fileno(s)};
  targ_t a = {20000, 0, 0, 0}; /* each waits once, up to 20 s */
  mp_process_t *p[kWaiters];
  for (int i = 0; i < kWaiters; ++i)
    p[i] = start_child("ts_cond_waiter", a, i == 0 ? MP_START_SPAWN : MP_START_FORK, fds, 3);
  assert_true(wait_for_cond_waiters(l, s, kWaiters, 30000));
  sleep_ms(50);
  MP_ASSERT_OK(mp_lock_acquire(l, 10000));
  MP_ASSERT_OK(mp_cond_notify_all(c));
  MP_ASSERT_OK(mp_lock_release(l));
  int64_t t0 = now_ms();
  for (int i = 0; i < kWaiters; ++i) {
    int code = finish_child(p[i], 30000);
    if (code != 0) fail_msg("waiter %d: exit code %d", i, code);
  }
  assert_true(now_ms() - t0 < 15000); /* notified, not timed out */
  volatile int64_t *sh = mp_shm_data(s);
  assert_int_equal(sh[3], kWaiters);
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
}

/* notify(1) with one waiter wakes it; a second notify(1) with another
 * waiter wakes that one too. */
static void test_sync_cond_notify_one_wakes_waiter(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_cond_t *c = NULL;
  mp_shm_t *s = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, MP_LOCK_RECURSIVE));
  MP_ASSERT_OK(mp_cond_new(&c, l));
  MP_ASSERT_OK(mp_shm_new(&s, 4 * sizeof(int64_t)));
  int fds[] = {mp_lock_fileno(l), mp_cond_fileno(c), mp_shm_fileno(s)};
  targ_t a = {20000, 0, 0, 0};
  for (int i = 0; i < 2; ++i) {
    mp_process_t *p = start_child("ts_cond_waiter", a, MP_START_FORK, fds, 3);
    assert_true(wait_for_cond_waiters(l, s, i + 1, 30000));
    sleep_ms(50);
    MP_ASSERT_OK(mp_lock_acquire(l, 10000));
    MP_ASSERT_OK(mp_cond_notify(c, 1));
    MP_ASSERT_OK(mp_lock_release(l));
    int64_t t0 = now_ms();
    expect_child_ok(p, 30000, "waiter");
    assert_true(now_ms() - t0 < 15000);
  }
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
}

/* A waiter SIGKILLed inside mp_cond_wait breaks nothing: the lock is free
 * (not owner-dead), waits time out and notifies wake the next waiter. */
static void test_sync_cond_killed_waiter_breaks_nothing(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_cond_t *c = NULL;
  mp_shm_t *s = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_cond_new(&c, l));
  MP_ASSERT_OK(mp_shm_new(&s, 4 * sizeof(int64_t)));
  int fds[] = {mp_lock_fileno(l), mp_cond_fileno(c), mp_shm_fileno(s)};
  targ_t forever = {-1, 0, 0, 0};
  mp_process_t *victim = start_child("ts_cond_waiter", forever, MP_START_FORK, fds, 3);
  assert_true(wait_for_cond_waiters(l, s, 1, 30000));
  sleep_ms(50);
  MP_ASSERT_OK(mp_process_kill(victim));
  assert_int_equal(finish_child(victim, 20000), -SIGKILL);
  MP_ASSERT_OK(mp_lock_acquire(l, 10000)); /* MP_OK: nobody died holding it */
  MP_ASSERT_ERR(mp_cond_wait(c, 100), MP_ETIMEDOUT);
  assert_int_equal(mp_lock_locked(l), 1);
  MP_ASSERT_OK(mp_cond_notify_all(c));
  MP_ASSERT_OK(mp_cond_notify(c, 1));
  MP_ASSERT_OK(mp_lock_release(l));
  targ_t a = {20000, 0, 0, 0};
  mp_process_t *p = start_child("ts_cond_waiter", a, MP_START_FORK, fds, 3);
  assert_true(wait_for_cond_waiters(l, s, 2, 30000));
  sleep_ms(50);
  MP_ASSERT_OK(mp_lock_acquire(l, 10000));
  MP_ASSERT_OK(mp_cond_notify(c, 1));
  MP_ASSERT_OK(mp_lock_release(l));
  int64_t t0 = now_ms();
  expect_child_ok(p, 30000, "waiter after the killed one");
  assert_true(now_ms() - t0 < 15000);
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
}

/* The lock's holder dies after notifying: the woken waiter re-acquires the
 * lock with MP_EOWNERDEAD and holds it. */
static void test_sync_cond_wait_owner_dead(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_cond_t *c = NULL;
  mp_shm_t *s = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_cond_new(&c, l));
  MP_ASSERT_OK(mp_shm_new(&s, 4 * sizeof(int64_t)));
  int fds[] = {mp_lock_fileno(l), mp_cond_fileno(c), mp_shm_fileno(s)};
  targ_t a = {20000, 1, 0, 0}; /* expects MP_EOWNERDEAD */
  mp_process_t *w = start_child("ts_cond_waiter", a, MP_START_FORK, fds, 3);
  assert_true(wait_for_cond_waiters(l, s, 1, 30000));
  sleep_ms(50);
  mp_process_t *n = start_child("ts_notify_die", a, MP_START_FORK, fds, 2);
  assert_int_equal(finish_child(n, 20000), -SIGKILL);
  expect_child_ok(w, 20000, "waiter (expects EOWNERDEAD)");
  MP_ASSERT_OK(mp_lock_acquire(l, 10000)); /* the waiter released it */
  MP_ASSERT_OK(mp_lock_release(l));
  mp_shm_free(s);
  mp_cond_free(c);
  mp_lock_free(l);
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

/* ------------------------------------------------------------------------
 * Barriers
 * ---------------------------------------------------------------------- */

static void test_sync_barrier_basics(void **state) {
  (void)state;
  mp_barrier_t *b = (mp_barrier_t *)&b;
  MP_ASSERT_ERR(mp_barrier_new(NULL, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_barrier_new(&b, 0), MP_EINVAL);
  assert_null(b);
  MP_ASSERT_OK(mp_barrier_new(&b, 4));
  assert_true(mp_barrier_fileno(b) >= 0);
  assert_int_equal(mp_barrier_parties(b), 4);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  assert_int_equal(mp_barrier_broken(b), 0);
  MP_ASSERT_ERR(mp_barrier_wait(b, -2), MP_EINVAL);
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_barrier_wait(b, 100), MP_ETIMEDOUT);
  assert_true(now_ms() - t0 >= 50);
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_broken(b), 0);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  assert_int_equal(mp_barrier_parties(b), 4);
  mp_barrier_free(b);
  /* One party: every wait passes at once with index 0. */
  MP_ASSERT_OK(mp_barrier_new(&b, 1));
  for (int i = 0; i < 3; ++i) assert_int_equal(mp_barrier_wait(b, 0), 0);
  assert_int_equal(mp_barrier_wait(b, MP_FOREVER), 0);
  assert_int_equal(mp_barrier_broken(b), 0);
  MP_ASSERT_OK(mp_barrier_abort(b));
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_ERR(mp_barrier_wait(b, 0), MP_ESTATE);
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_wait(b, 0), 0);
  mp_barrier_free(b);
  mp_barrier_free(NULL);
}

/* N - 1 child processes and this one run barrier_party(test) on a barrier
 * made with mp_barrier_new2(action, timeout_ms); returns value element k. */
static int64_t run_barrier_parties(int test, int with_action, int64_t timeout_ms, size_t k) {
  mp_value_t *v = NULL;
  mp_barrier_t *b = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 2, 0));
  MP_ASSERT_OK(mp_barrier_new2(&b, kBarrierN, with_action ? append_true : NULL, v, timeout_ms));
  int fds[] = {mp_barrier_fileno(b), mp_value_fileno(v)};
  targ_t a = {test, 0, 0, 0};
  mp_process_t *p[kBarrierN - 1];
  for (int i = 0; i < kBarrierN - 1; i++)
    p[i] = start_child("ts_barrier_party", a, MP_START_FORK, fds, 2);
  int mine = barrier_party(b, v, test);
  for (int i = 0; i < kBarrierN - 1; i++) assert_int_equal(finish_child(p[i], 30000), 0);
  assert_int_equal(mine, 0);
  int64_t n = -1;
  MP_ASSERT_OK(mp_value_get_i64(&n, v, k));
  mp_barrier_free(b);
  mp_value_free(v);
  return n;
}

/* Ported from CPython _TestBarrier.test_action: the action runs once per
 * round, before any party is released. */
static void test_sync_barrier_action(void **state) {
  (void)state;
  assert_int_equal(run_barrier_parties(0, 1, MP_FOREVER, 0), 1);
}

/* Ported from CPython _TestBarrier.test_timeout: one party is late; every
 * party sees the barrier broken. */
static void test_sync_barrier_timeout(void **state) {
  (void)state;
  assert_int_equal(run_barrier_parties(1, 0, MP_FOREVER, 1), kBarrierN);
}

/* Ported from CPython _TestBarrier.test_default_timeout: the same with
 * the barrier's default timeout (500 ms) instead of wait(0.5). */
static void test_sync_barrier_default_timeout(void **state) {
  (void)state;
  assert_int_equal(run_barrier_parties(2, 0, 500, 1), kBarrierN);
}

static int g_action_calls;
static int failing_action(void *payload) {
  (void)payload;
  return ++g_action_calls == 2 ? 7 : 0; /* the second round's action fails */
}

/* A failing action breaks the barrier (Python: the action's exception in
 * its thread, BrokenBarrierError in the others); a process that set no
 * action on a barrier that has one breaks it rather than skipping it. */
static void test_sync_barrier_action_fails_or_missing(void **state) {
  (void)state;
  mp_barrier_t *b = NULL, *other = NULL;
  g_action_calls = 0;
  MP_ASSERT_OK(mp_barrier_new2(&b, 1, failing_action, NULL, MP_FOREVER));
  assert_int_equal(mp_barrier_wait(b, 0), 0);
  MP_ASSERT_ERR(mp_barrier_wait(b, 0), MP_ETASKFAILED);
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_ERR(mp_barrier_wait(b, 0), MP_ESTATE);
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_wait(b, 0), 0); /* third call succeeds */
  assert_int_equal(g_action_calls, 3);
  /* A second handle on it (as another process opens it) without the action. */
  MP_ASSERT_OK(mp_barrier_from_fd(&other, dup(mp_barrier_fileno(b))));
  MP_ASSERT_ERR(mp_barrier_wait(other, 0), MP_ESTATE);
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_OK(mp_barrier_reset(other));
  MP_ASSERT_OK(mp_barrier_set_action(other, failing_action, NULL));
  assert_int_equal(mp_barrier_wait(other, 0), 0);
  assert_int_equal(g_action_calls, 4);
  MP_ASSERT_ERR(mp_barrier_set_action(other, NULL, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_barrier_set_action(NULL, failing_action, NULL), MP_EINVAL);
  mp_barrier_t *none = NULL;
  MP_ASSERT_ERR(mp_barrier_new2(&none, 2, NULL, NULL, -2), MP_EINVAL);
  assert_null(none);
  mp_barrier_free(other);
  mp_barrier_free(b);
}

/* 4 processes, parties 4: distinct indexes 0..3 (reported by exit code)
 * in each of 3 rounds. */
static void test_sync_barrier_indexes_four_processes(void **state) {
  (void)state;
  enum { kParties = 4, kRounds = 3 };
  mp_barrier_t *b = NULL;
  mp_value_t *slots = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, kParties));
  MP_ASSERT_OK(mp_value_new(&slots, MP_TYPE_INT64, kParties * kRounds, 0));
  int fds[] = {mp_barrier_fileno(b), mp_value_fileno(slots)};
  targ_t a = {kRounds, 0, 0, 0};
  mp_process_t *p[kParties];
  for (int i = 0; i < kParties; ++i)
    p[i] = start_child("ts_barrier", a, i == 0 ? MP_START_SPAWN : MP_START_FORK, fds, 2);
  int seen[kParties] = {0};
  for (int i = 0; i < kParties; ++i) {
    int code = finish_child(p[i], 30000);
    if (code < 0 || code >= kParties) fail_msg("party %d: exit code %d", i, code);
    seen[code]++;
  }
  for (int i = 0; i < kParties; ++i) assert_int_equal(seen[i], 1);
  for (size_t i = 0; i < kParties * kRounds; ++i) {
    int64_t x = -1;
    MP_ASSERT_OK(mp_value_get_i64(&x, slots, i));
    if (x != 1) fail_msg("round %zu index %zu was given %" PRId64 " times", i / kParties,
                         i % kParties, x);
  }
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  assert_int_equal(mp_barrier_broken(b), 0);
  mp_value_free(slots);
  mp_barrier_free(b);
}

/* A waiter that times out breaks the barrier for everyone; reset makes it
 * usable again. */
static void test_sync_barrier_timeout_breaks_for_everyone(void **state) {
  (void)state;
  mp_barrier_t *b = NULL;
  mp_value_t *slots = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, 3));
  MP_ASSERT_OK(mp_value_new(&slots, MP_TYPE_INT64, 3, 0));
  int fds[] = {mp_barrier_fileno(b), mp_value_fileno(slots)};
  targ_t none = {0, 0, 0, 0};
  mp_process_t *w = start_child("ts_barrier_broken", none, MP_START_FORK, fds, 1);
  assert_true(poll_barrier_waiting(b, 1, 30000));
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_barrier_wait(b, 200), MP_ETIMEDOUT);
  assert_true(now_ms() - t0 >= 150);
  expect_child_ok(w, 20000, "the other waiter (expects ESTATE)");
  assert_int_equal(mp_barrier_broken(b), 1);
  int waiting_when_broken = mp_barrier_n_waiting(b); /* nobody waits now */
  MP_ASSERT_ERR(mp_barrier_wait(b, 0), MP_ESTATE);
  t0 = now_ms();
  MP_ASSERT_ERR(mp_barrier_wait(b, 5000), MP_ESTATE);
  assert_true(now_ms() - t0 < 2500); /* at once */
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_broken(b), 0);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  /* A full round after the reset: two children and this process. */
  targ_t one = {1, 0, 0, 0};
  mp_process_t *p[2];
  for (int i = 0; i < 2; ++i) p[i] = start_child("ts_barrier", one, MP_START_FORK, fds, 2);
  int mine = mp_barrier_wait(b, 20000);
  assert_true(mine >= 0 && mine < 3);
  int seen[3] = {0};
  seen[mine]++;
  for (int i = 0; i < 2; ++i) {
    int code = finish_child(p[i], 20000);
    if (code < 0 || code >= 3) fail_msg("party %d: exit code %d", i, code);
    seen[code]++;
  }
  for (int i = 0; i < 3; ++i) assert_int_equal(seen[i], 1);
  assert_int_equal(mp_barrier_broken(b), 0);
  mp_value_free(slots);
  mp_barrier_free(b);
  if (waiting_when_broken != 0)
    fail_msg("n_waiting() = %d on the broken barrier after every waiter left, "
             "expected 0", waiting_when_broken);
}

/* abort: current waiters get MP_ESTATE, so does everyone after. */
static void test_sync_barrier_abort_releases_waiters(void **state) {
  (void)state;
  mp_barrier_t *b = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, 3));
  int fds[] = {mp_barrier_fileno(b)};
  targ_t none = {0, 0, 0, 0};
  mp_process_t *p[2];
  for (int i = 0; i < 2; ++i)
    p[i] = start_child("ts_barrier_broken", none, i == 0 ? MP_START_SPAWN : MP_START_FORK,
                       fds, 1);
  assert_true(poll_barrier_waiting(b, 2, 30000));
  MP_ASSERT_OK(mp_barrier_abort(b));
  for (int i = 0; i < 2; ++i) expect_child_ok(p[i], 20000, "waiter (expects ESTATE)");
  assert_int_equal(mp_barrier_broken(b), 1);
  int waiting_when_broken = mp_barrier_n_waiting(b); /* nobody waits now */
  MP_ASSERT_ERR(mp_barrier_wait(b, 1000), MP_ESTATE);
  MP_ASSERT_OK(mp_barrier_abort(b)); /* again: no-op */
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_broken(b), 0);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  mp_barrier_free(b);
  if (waiting_when_broken != 0)
    fail_msg("n_waiting() = %d on the aborted barrier after every waiter left, "
             "expected 0", waiting_when_broken);
}

/* reset while a process waits: it gets MP_ESTATE; the barrier is usable. */
static void test_sync_barrier_reset_releases_waiters(void **state) {
  (void)state;
  mp_barrier_t *b = NULL;
  mp_value_t *slots = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, 2));
  MP_ASSERT_OK(mp_value_new(&slots, MP_TYPE_INT64, 2, 0));
  int fds[] = {mp_barrier_fileno(b), mp_value_fileno(slots)};
  targ_t none = {0, 0, 0, 0};
  mp_process_t *w = start_child("ts_barrier_broken", none, MP_START_FORK, fds, 1);
  assert_true(poll_barrier_waiting(b, 1, 30000));
  MP_ASSERT_OK(mp_barrier_reset(b));
  expect_child_ok(w, 20000, "waiter during reset (expects ESTATE)");
  assert_int_equal(mp_barrier_broken(b), 0);
  targ_t one = {1, 0, 0, 0};
  mp_process_t *p = start_child("ts_barrier", one, MP_START_FORK, fds, 2);
  int mine = mp_barrier_wait(b, 20000);
  assert_true(mine == 0 || mine == 1);
  int code = finish_child(p, 20000);
  assert_int_equal(code, 1 - mine);
  mp_value_free(slots);
  mp_barrier_free(b);
}

/* ------------------------------------------------------------------------
 * Shared blocks
 * ---------------------------------------------------------------------- */

static void test_sync_shm_basics(void **state) {
  (void)state;
  mp_shm_t *s = (mp_shm_t *)&s;
  MP_ASSERT_ERR(mp_shm_new(NULL, 16), MP_EINVAL);
  MP_ASSERT_ERR(mp_shm_new(&s, 0), MP_EINVAL);
  assert_null(s);
  MP_ASSERT_OK(mp_shm_new(&s, 10000));
  assert_true(mp_shm_fileno(s) >= 0);
  assert_int_equal(mp_shm_size(s), 10000);
  size_t size = 0;
  MP_ASSERT_OK(mp_shm_size2(&size, s));
  assert_int_equal(size, 10000);
  unsigned char *p = mp_shm_data(s);
  assert_non_null(p);
  for (size_t i = 0; i < 10000; ++i)
    if (p[i] != 0) fail_msg("byte %zu is %d, not zero", i, p[i]);
  memset(p, 0xab, 10000);
  /* A second handle on the same block (as a child would open it). */
  mp_shm_t *s2 = NULL;
  int fd = dup(mp_shm_fileno(s));
  assert_true(fd >= 0);
  MP_ASSERT_OK(mp_shm_from_fd(&s2, fd));
  assert_int_equal(mp_shm_size(s2), 10000);
  unsigned char *p2 = mp_shm_data(s2);
  assert_true(p2[0] == 0xab && p2[9999] == 0xab);
  p2[5000] = 1;
  assert_int_equal(p[5000], 1);
  mp_shm_free(s2);
  assert_int_equal(p[5000], 1); /* the first handle still maps it */
  mp_shm_free(s);
  assert_int_equal(mp_shm_size(NULL), 0);
  MP_ASSERT_ERR(mp_shm_size2(&size, NULL), MP_EINVAL); /* 0.3: an error, not a size */
  assert_int_equal(size, 0);
  assert_null(mp_shm_data(NULL));
  MP_ASSERT_ERR(mp_shm_fileno(NULL), MP_EINVAL);
  mp_shm_free(NULL);
  /* One byte. */
  MP_ASSERT_OK(mp_shm_new(&s, 1));
  assert_int_equal(mp_shm_size(s), 1);
  assert_int_equal(((unsigned char *)mp_shm_data(s))[0], 0);
  mp_shm_free(s);
}

/* A child (fork and spawn) writes into the block, the parent sees it. */
static void test_sync_shm_child_writes_parent_sees(void **state) {
  (void)state;
  enum { kSize = 65536 + 3 };
  for (int m = 0; m < 2; ++m) {
    mp_shm_t *s = NULL;
    MP_ASSERT_OK(mp_shm_new(&s, kSize));
    int fds[] = {mp_shm_fileno(s)};
    targ_t a = {11 + m, kSize, 0, 0};
    mp_process_t *p = start_child("ts_shm_write", a, k_methods[m], fds, 1);
    int code = finish_child(p, 30000);
    if (code != 0) fail_msg("%s: child exit code %d", method_name(k_methods[m]), code);
    unsigned char *d = mp_shm_data(s);
    for (size_t i = 0; i < kSize; ++i)
      if (d[i] != (unsigned char)((i * 7 + (size_t)a.a) & 0xff))
        fail_msg("%s: byte %zu is %d", method_name(k_methods[m]), i, d[i]);
    mp_shm_free(s);
  }
}

/* ------------------------------------------------------------------------
 * Values and arrays
 * ---------------------------------------------------------------------- */

static void test_sync_value_new_errors(void **state) {
  (void)state;
  mp_value_t *v = (mp_value_t *)&v;
  MP_ASSERT_ERR(mp_value_new(NULL, MP_TYPE_INT64, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, (mp_type_t)0, 1, 0), MP_EINVAL);
  assert_null(v);
  MP_ASSERT_ERR(mp_value_new(&v, (mp_type_t)12, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, (mp_type_t)-1, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_INT64, 0, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_BYTES, 0, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_INT64, SIZE_MAX, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_DOUBLE, SIZE_MAX / 8 + 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_INT64, 1, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_INT64, 1, -1), MP_EINVAL);
  assert_null(v);
  const mp_type_t types[] = {MP_TYPE_INT32, MP_TYPE_INT64, MP_TYPE_UINT64, MP_TYPE_DOUBLE,
                             MP_TYPE_BYTES};
  for (size_t i = 0; i < 5; ++i)
    for (int flags = 0; flags <= MP_VALUE_LOCK; ++flags) {
      MP_ASSERT_OK(mp_value_new(&v, types[i], 7, flags));
      assert_int_equal(mp_value_type(v), types[i]);
      assert_int_equal(mp_value_count(v), 7);
      size_t count = 0;
      MP_ASSERT_OK(mp_value_count2(&count, v));
      assert_int_equal(count, 7);
      assert_true(mp_value_fileno(v) >= 0);
      mp_value_free(v);
    }
  mp_value_free(NULL);
}

static void test_sync_value_int32(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  int64_t x = 99, actual = 0;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT32, 3, 0));
  for (size_t i = 0; i < 3; ++i) {
    MP_ASSERT_OK(mp_value_get_i64(&x, v, i));
    assert_int_equal(x, 0);
  }
  const int64_t vals[] = {INT32_MIN, INT32_MAX, -1, 0, 12345};
  for (size_t i = 0; i < 5; ++i) {
    MP_ASSERT_OK(mp_value_set_i64(v, 2, vals[i]));
    MP_ASSERT_OK(mp_value_get_i64(&x, v, 2));
    assert_int_equal(x, vals[i]);
  }
  MP_ASSERT_OK(mp_value_set_i64(v, 0, 7));
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, (int64_t)INT32_MAX + 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, (int64_t)INT32_MIN - 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, INT64_MAX), MP_EINVAL);
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 7);
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, 5));
  assert_int_equal(x, 12);
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, -20));
  assert_int_equal(x, -8);
  assert_int_equal(mp_value_cas_i64(v, 0, -8, 100, &actual), 1);
  assert_int_equal(actual, -8);
  actual = 0;
  assert_int_equal(mp_value_cas_i64(v, 0, -8, 5, &actual), 0);
  assert_int_equal(actual, 100);
  assert_int_equal(mp_value_cas_i64(v, 0, 100, 101, NULL), 1);
  assert_int_equal(mp_value_cas_i64(v, 0, 100, 102, NULL), 0);
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 101);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 0, 101, (int64_t)INT32_MAX + 1, NULL), MP_EINVAL);
  /* The same through mp_value_compare_exchange_i64 (0.3: out-parameter first). */
  actual = 0;
  assert_int_equal(mp_value_compare_exchange_i64(&actual, v, 0, 101, 102), 1);
  assert_int_equal(actual, 101);
  assert_int_equal(mp_value_compare_exchange_i64(&actual, v, 0, 101, 103), 0);
  assert_int_equal(actual, 102);
  assert_int_equal(mp_value_compare_exchange_i64(NULL, v, 0, 102, 101), 1);
  MP_ASSERT_ERR(mp_value_compare_exchange_i64(NULL, v, 0, 101, (int64_t)INT32_MAX + 1),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_value_compare_exchange_i64(&actual, v, 3, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 0, (int64_t)INT32_MAX + 1), MP_EINVAL);
  /* out of range */
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 3), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 3, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 3, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 3, 0, 1, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, SIZE_MAX), MP_EINVAL);
  /* wrong type */
  uint64_t u;
  double d;
  char buf[8];
  size_t n;
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_u64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_f64(v, 0, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, sizeof buf), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "x", 1), MP_EINVAL);
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 101);
  mp_value_free(v);
}

static void test_sync_value_int64(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  int64_t x = 99, actual = 0;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, 0));
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 0);
  const int64_t vals[] = {INT64_MIN, INT64_MAX, -1, (int64_t)1 << 40};
  for (size_t i = 0; i < 4; ++i) {
    MP_ASSERT_OK(mp_value_set_i64(v, 0, vals[i]));
    MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
    assert_true(x == vals[i]);
  }
  MP_ASSERT_OK(mp_value_set_i64(v, 0, 10));
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, (int64_t)1 << 33));
  assert_true(x == 10 + ((int64_t)1 << 33));
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, -((int64_t)1 << 33)));
  assert_int_equal(x, 10);
  assert_int_equal(mp_value_cas_i64(v, 0, 10, INT64_MIN, &actual), 1);
  assert_int_equal(actual, 10);
  assert_int_equal(mp_value_cas_i64(v, 0, 10, 11, &actual), 0);
  assert_true(actual == INT64_MIN);
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 1, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 1, 0, 1, &actual), MP_EINVAL);
  uint64_t u;
  double d;
  size_t n;
  char buf[4];
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_u64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_f64(v, 0, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, sizeof buf), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "ab", 2), MP_EINVAL);
  mp_value_free(v);
}

static void test_sync_value_uint64(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  uint64_t u = 1;
  int64_t x = 0, actual = 0;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_UINT64, 2, MP_VALUE_LOCK));
  MP_ASSERT_OK(mp_value_get_u64(&u, v, 1));
  assert_true(u == 0);
  MP_ASSERT_OK(mp_value_set_u64(v, 1, UINT64_MAX));
  MP_ASSERT_OK(mp_value_get_u64(&u, v, 1));
  assert_true(u == UINT64_MAX);
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 1), MP_EINVAL); /* does not fit */
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, INT64_MIN), MP_EINVAL);
  MP_ASSERT_OK(mp_value_get_u64(&u, v, 0));
  assert_true(u == 0);
  MP_ASSERT_OK(mp_value_set_i64(v, 0, INT64_MAX));
  MP_ASSERT_OK(mp_value_get_u64(&u, v, 0));
  assert_true(u == (uint64_t)INT64_MAX);
  MP_ASSERT_OK(mp_value_set_i64(v, 0, 5));
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 5);
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, 3));
  assert_int_equal(x, 8);
  assert_int_equal(mp_value_cas_i64(v, 0, 8, 9, &actual), 1);
  assert_int_equal(mp_value_cas_i64(v, 0, 8, 10, &actual), 0);
  assert_int_equal(actual, 9);
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_u64(v, 2, 1), MP_EINVAL);
  double d;
  size_t n;
  char buf[4];
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_f64(v, 0, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "ab", 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, sizeof buf), MP_EINVAL);
  mp_value_free(v);
}

static void test_sync_value_double(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  double d = 1.0;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_DOUBLE, 4, 0));
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 3));
  assert_true(d == 0.0);
  const double vals[] = {3.25, -0.5, 1e300, -1e-300, 3.1415927};
  for (size_t i = 0; i < 5; ++i) {
    MP_ASSERT_OK(mp_value_set_f64(v, i % 4, vals[i]));
    MP_ASSERT_OK(mp_value_get_f64(&d, v, i % 4));
    assert_true(d == vals[i]);
  }
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 4), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_f64(v, 4, 1.0), MP_EINVAL);
  int64_t x, actual;
  uint64_t u;
  size_t n;
  char buf[4];
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 0, 0, 1, &actual), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_u64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, sizeof buf), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "ab", 2), MP_EINVAL);
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 0));
  assert_true(d == 3.1415927);
  mp_value_free(v);
}

/* The small type codes of Python's Value/Array ('h', 'H', 'b', 'B', 'c',
 * 'f'): each range's ends, refusal beyond them, add wrapping as ctypes
 * does, cas, and a child process sees what the parent wrote. */
static void test_sync_value_small_integers(void **state) {
  (void)state;
  static const struct {
    mp_type_t type;
    int64_t lo, hi;
  } kinds[] = {{MP_TYPE_INT16, INT16_MIN, INT16_MAX}, {MP_TYPE_UINT16, 0, UINT16_MAX},
               {MP_TYPE_INT8, INT8_MIN, INT8_MAX},    {MP_TYPE_UINT8, 0, UINT8_MAX},
               {MP_TYPE_CHAR, 0, UINT8_MAX}};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; ++k) {
    mp_value_t *v = NULL;
    int64_t x = 99, actual = 0;
    MP_ASSERT_OK(mp_value_new(&v, kinds[k].type, 3, MP_VALUE_LOCK));
    assert_int_equal(mp_value_type(v), kinds[k].type);
    assert_int_equal(mp_value_count(v), 3);
    MP_ASSERT_OK(mp_value_get_i64(&x, v, 2));
    assert_int_equal(x, 0);
    const int64_t ends[] = {kinds[k].lo, kinds[k].hi, 0, 1};
    for (size_t i = 0; i < 4; ++i) {
      MP_ASSERT_OK(mp_value_set_i64(v, i % 3, ends[i]));
      MP_ASSERT_OK(mp_value_get_i64(&x, v, i % 3));
      assert_int_equal(x, ends[i]);
    }
    MP_ASSERT_ERR(mp_value_set_i64(v, 0, kinds[k].hi + 1), MP_EINVAL);
    MP_ASSERT_ERR(mp_value_set_i64(v, 0, kinds[k].lo - 1), MP_EINVAL);
    MP_ASSERT_ERR(mp_value_set_i64(v, 3, 0), MP_EINVAL);
    MP_ASSERT_OK(mp_value_set_i64(v, 1, kinds[k].hi));
    MP_ASSERT_OK(mp_value_add_i64(&x, v, 1, 1)); /* wraps, as ctypes does */
    assert_int_equal(x, kinds[k].lo);
    MP_ASSERT_OK(mp_value_add_i64(&x, v, 1, -1));
    assert_int_equal(x, kinds[k].hi);
    MP_ASSERT_ERR(mp_value_add_i64(&x, v, 1, INT64_MAX), MP_EINVAL);
    assert_int_equal(mp_value_cas_i64(v, 1, kinds[k].hi, 7, &actual), 1);
    assert_int_equal(mp_value_cas_i64(v, 1, kinds[k].hi, 8, &actual), 0);
    assert_int_equal(actual, 7);
    MP_ASSERT_ERR(mp_value_cas_i64(v, 1, 7, kinds[k].hi + 1, NULL), MP_EINVAL);
    double d;
    MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
    MP_ASSERT_OK(mp_value_acquire(v, 0));
    MP_ASSERT_OK(mp_value_release(v));
    mp_value_t *w = NULL; /* a second handle, as a child opens it */
    MP_ASSERT_OK(mp_value_from_fd(&w, dup(mp_value_fileno(v))));
    MP_ASSERT_OK(mp_value_get_i64(&x, w, 1));
    assert_int_equal(x, 7);
    mp_value_free(w);
    mp_value_free(v);
  }
}

static void test_sync_value_float(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  double d = 1.0;
  int64_t x;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_FLOAT, 2, 0));
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 1));
  assert_true(d == 0.0);
  MP_ASSERT_OK(mp_value_set_f64(v, 1, 3.25)); /* exact in a float */
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 1));
  assert_true(d == 3.25);
  MP_ASSERT_OK(mp_value_set_f64(v, 0, 0.1)); /* rounded to float, as ctypes' c_float */
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 0));
  assert_true(d == (double)0.1f);
  MP_ASSERT_ERR(mp_value_set_f64(v, 2, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 0, 0, 1, NULL), MP_EINVAL);
  mp_value_free(v);
}

static void test_sync_value_bytes(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  char buf[32];
  size_t n = 99;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_BYTES, 16, 0));
  assert_int_equal(mp_value_type(v), MP_TYPE_BYTES);
  assert_int_equal(mp_value_count(v), 16);
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 0);
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, NULL, 0));
  assert_int_equal(n, 0);
  MP_ASSERT_OK(mp_value_set_bytes(v, "hello", 5));
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "hello", 5);
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, 5)); /* exactly enough */
  assert_int_equal(n, 5);
  n = 0;
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, 4), MP_ENOSPC);
  assert_int_equal(n, 5);
  n = 0;
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, NULL, 0), MP_ENOSPC);
  assert_int_equal(n, 5);
  const char full[] = "0123456789abcdef";
  MP_ASSERT_OK(mp_value_set_bytes(v, full, 16)); /* the whole capacity */
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 16);
  assert_memory_equal(buf, full, 16);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "0123456789abcdefg", 17), MP_ENOSPC);
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf)); /* unchanged */
  assert_int_equal(n, 16);
  assert_memory_equal(buf, full, 16);
  n = 0;
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, 15), MP_ENOSPC);
  assert_int_equal(n, 16);
  MP_ASSERT_OK(mp_value_set_bytes(v, "\0a\0", 3)); /* binary, shorter */
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 3);
  assert_memory_equal(buf, "\0a\0", 3);
  MP_ASSERT_OK(mp_value_set_bytes(v, NULL, 0)); /* empty */
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 0);
  MP_ASSERT_ERR(mp_value_set_bytes(v, NULL, 3), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(NULL, v, buf, sizeof buf), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, NULL, 8), MP_EINVAL);
  int64_t x;
  uint64_t u;
  double d;
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 0, 0, 1, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
  mp_value_free(v);
}

static void test_sync_value_null_out_params(void **state) {
  (void)state;
  mp_value_t *v = NULL, *vu = NULL, *vd = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, 0));
  MP_ASSERT_OK(mp_value_new(&vu, MP_TYPE_UINT64, 1, 0));
  MP_ASSERT_OK(mp_value_new(&vd, MP_TYPE_DOUBLE, 1, 0));
  MP_ASSERT_ERR(mp_value_get_i64(NULL, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(NULL, v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_u64(NULL, vu, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_f64(NULL, vd, 0), MP_EINVAL);
  int64_t x = -1;
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 0); /* the failed add added nothing */
  mp_value_free(vd);
  mp_value_free(vu);
  mp_value_free(v);
}

static void test_sync_value_acquire_without_lock_estate(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, 0));
  MP_ASSERT_ERR(mp_value_acquire(v, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_value_acquire(v, MP_FOREVER), MP_ESTATE);
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE);
  mp_value_free(v);
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, MP_VALUE_LOCK));
  MP_ASSERT_ERR(mp_value_acquire(v, -2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE); /* not held */
  MP_ASSERT_OK(mp_value_acquire(v, 0));
  MP_ASSERT_ERR(mp_value_acquire(v, 0), MP_ETIMEDOUT); /* a plain lock */
  MP_ASSERT_OK(mp_value_set_i64(v, 0, 3));
  MP_ASSERT_OK(mp_value_release(v));
  MP_ASSERT_OK(mp_value_acquire(v, MP_FOREVER));
  MP_ASSERT_OK(mp_value_release(v));
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE);
  mp_value_free(v);
}

/* 4 processes x 10000 atomic adds (no lock) on an INT64 value and an
 * INT32 array element: exact. */
static void test_sync_value_atomic_add_four_processes(void **state) {
  (void)state;
  enum { kProcs = 4, kAdds = 10000 };
  mp_value_t *v64 = NULL, *v32 = NULL;
  MP_ASSERT_OK(mp_value_new(&v64, MP_TYPE_INT64, 1, 0));
  MP_ASSERT_OK(mp_value_new(&v32, MP_TYPE_INT32, 2, 0));
  int fds[] = {mp_value_fileno(v64), mp_value_fileno(v32)};
  targ_t a = {kAdds, 0, 0, 0};
  mp_process_t *p[kProcs];
  for (int i = 0; i < kProcs; ++i)
    p[i] = start_child("ts_value_add", a, i == 0 ? MP_START_SPAWN : MP_START_FORK, fds, 2);
  for (int i = 0; i < kProcs; ++i) expect_child_ok(p[i], 60000, "adder");
  int64_t x = -1;
  MP_ASSERT_OK(mp_value_get_i64(&x, v64, 0));
  assert_int_equal(x, (int64_t)kProcs * kAdds);
  MP_ASSERT_OK(mp_value_get_i64(&x, v32, 1));
  assert_int_equal(x, (int64_t)kProcs * kAdds);
  MP_ASSERT_OK(mp_value_get_i64(&x, v32, 0));
  assert_int_equal(x, 0);
  mp_value_free(v32);
  mp_value_free(v64);
}

/* 4 processes x 5000 {acquire; get_f64; set_f64 + 1.0; release}: exact. */
static void test_sync_value_locked_double_four_processes(void **state) {
  (void)state;
  enum { kProcs = 4, kIters = 5000 };
  mp_value_t *v = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_DOUBLE, 1, MP_VALUE_LOCK));
  int fds[] = {mp_value_fileno(v)};
  targ_t a = {kIters, 0, 0, 0};
  mp_process_t *p[kProcs];
  for (int i = 0; i < kProcs; ++i)
    p[i] = start_child("ts_value_locked_f64", a, k_methods[i % 2], fds, 1);
  for (int i = 0; i < kProcs; ++i) expect_child_ok(p[i], 60000, "locked adder");
  double d = -1;
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 0));
  if (d != (double)(kProcs * kIters)) fail_msg("value %.1f, expected %d", d, kProcs * kIters);
  MP_ASSERT_OK(mp_value_acquire(v, 0)); /* nobody holds it */
  MP_ASSERT_OK(mp_value_release(v));
  mp_value_free(v);
}

/* A double as Python prints it for these values (shortest form, ".0"). */
static void fmt_double(char *out, size_t cap, double d) {
  snprintf(out, cap, "%.6f", d);
  char *e = out + strlen(out) - 1;
  while (e > out && *e == '0' && e[-1] != '.') *e-- = '\0';
}

/* The seeds' Value/Array `modify`: a child modifies values and arrays, the
 * parent prints them. */
static void test_sync_value_modify_example(void **state) {
  (void)state;
  mp_value_t *n = NULL, *b = NULL, *s = NULL, *arr = NULL, *A = NULL;
  MP_ASSERT_OK(mp_value_new(&n, MP_TYPE_INT32, 1, MP_VALUE_LOCK)); /* Value('i', 7) */
  MP_ASSERT_OK(mp_value_set_i64(n, 0, 7));
  MP_ASSERT_OK(mp_value_new(&b, MP_TYPE_INT32, 1, 0)); /* Value(c_bool, False, lock=False) */
  MP_ASSERT_OK(mp_value_new(&s, MP_TYPE_BYTES, 11, MP_VALUE_LOCK));
  MP_ASSERT_OK(mp_value_set_bytes(s, "hello world", 11));
  MP_ASSERT_OK(mp_value_new(&arr, MP_TYPE_INT32, 5, MP_VALUE_LOCK)); /* range(5) */
  for (int i = 0; i < 5; ++i) MP_ASSERT_OK(mp_value_set_i64(arr, (size_t)i, i));
  MP_ASSERT_OK(mp_value_new(&A, MP_TYPE_DOUBLE, 4, MP_VALUE_LOCK)); /* two Points */
  const double pts[] = {1.875, -6.25, -5.75, 2.0};
  for (int i = 0; i < 4; ++i) MP_ASSERT_OK(mp_value_set_f64(A, (size_t)i, pts[i]));
  int fds[] = {mp_value_fileno(n), mp_value_fileno(b), mp_value_fileno(s), mp_value_fileno(arr),
               mp_value_fileno(A)};
  targ_t none = {0, 0, 0, 0};
  for (int m = 0; m < 2; ++m) {
    if (m == 1) { /* again from the start, with the other start method */
      MP_ASSERT_OK(mp_value_set_i64(n, 0, 7));
      MP_ASSERT_OK(mp_value_set_i64(b, 0, 0));
      MP_ASSERT_OK(mp_value_set_bytes(s, "hello world", 11));
      MP_ASSERT_OK(mp_value_set_i64(arr, 0, 0));
      for (int i = 0; i < 4; ++i) MP_ASSERT_OK(mp_value_set_f64(A, (size_t)i, pts[i]));
    }
    mp_process_t *p = start_child("ts_modify", none, k_methods[m], fds, 5);
    expect_child_ok(p, 30000, "modify");
    char out[512], num[4][32], bytes[32];
    int64_t nv, bv, av[5];
    double ad[4];
    size_t blen = 0;
    MP_ASSERT_OK(mp_value_get_i64(&nv, n, 0));
    MP_ASSERT_OK(mp_value_get_i64(&bv, b, 0));
    MP_ASSERT_OK(mp_value_get_bytes(&blen, s, bytes, sizeof bytes - 1));
    bytes[blen] = '\0';
    for (int i = 0; i < 5; ++i) MP_ASSERT_OK(mp_value_get_i64(&av[i], arr, (size_t)i));
    for (int i = 0; i < 4; ++i) {
      MP_ASSERT_OK(mp_value_get_f64(&ad[i], A, (size_t)i));
      fmt_double(num[i], sizeof num[i], ad[i]);
    }
    snprintf(out, sizeof out,
             "%" PRId64 "\n%s\nb'%s'\n[%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
             ", %" PRId64 "]\n[(%s, %s), (%s, %s)]\n",
             nv, bv ? "True" : "False", bytes, av[0], av[1], av[2], av[3], av[4], num[0],
             num[1], num[2], num[3]);
    printf("# modify (%s):\n", method_name(k_methods[m]));
    for (char *line = out, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1)
      printf("#   %.*s\n", (int)(nl - line), line);
    fflush(stdout);
    assert_string_equal(out,
                        "49\nTrue\nb'HELLO WORLD'\n[10, 1, 2, 3, 4]\n"
                        "[(3.515625, 39.0625), (33.0625, 4.0)]\n");
  }
  mp_value_free(A);
  mp_value_free(arr);
  mp_value_free(s);
  mp_value_free(b);
  mp_value_free(n);
}

/* ------------------------------------------------------------------------
 * Handles
 * ---------------------------------------------------------------------- */

enum { K_LOCK, K_SEM, K_EVENT, K_COND, K_BARRIER, K_SHM, K_VALUE, K_COUNT };
static const char *const k_kind_names[K_COUNT] = {"lock", "sem",  "event", "cond",
                                                   "barrier", "shm", "value"};

/* One live object of each kind (the condition bound to objs[K_LOCK]). */
static void kinds_new(void *objs[K_COUNT]) {
  MP_ASSERT_OK(mp_lock_new((mp_lock_t **)&objs[K_LOCK], 0));
  MP_ASSERT_OK(mp_sem_new((mp_sem_t **)&objs[K_SEM], 1, 0));
  MP_ASSERT_OK(mp_event_new((mp_event_t **)&objs[K_EVENT]));
  MP_ASSERT_OK(mp_cond_new((mp_cond_t **)&objs[K_COND], objs[K_LOCK]));
  MP_ASSERT_OK(mp_barrier_new((mp_barrier_t **)&objs[K_BARRIER], 2));
  MP_ASSERT_OK(mp_shm_new((mp_shm_t **)&objs[K_SHM], 100));
  MP_ASSERT_OK(mp_value_new((mp_value_t **)&objs[K_VALUE], MP_TYPE_INT64, 1, 0));
}

static void kind_free(int kind, void *h) {
  switch (kind) {
    case K_LOCK: mp_lock_free(h); break;
    case K_SEM: mp_sem_free(h); break;
    case K_EVENT: mp_event_free(h); break;
    case K_COND: mp_cond_free(h); break;
    case K_BARRIER: mp_barrier_free(h); break;
    case K_SHM: mp_shm_free(h); break;
    case K_VALUE: mp_value_free(h); break;
  }
}

static void kinds_free(void *objs[K_COUNT]) {
  for (int k = K_COUNT - 1; k >= 0; --k) kind_free(k, objs[k]);
}

static int kind_fileno(int kind, void *h) {
  switch (kind) {
    case K_LOCK: return mp_lock_fileno(h);
    case K_SEM: return mp_sem_fileno(h);
    case K_EVENT: return mp_event_fileno(h);
    case K_COND: return mp_cond_fileno(h);
    case K_BARRIER: return mp_barrier_fileno(h);
    case K_SHM: return mp_shm_fileno(h);
    case K_VALUE: return mp_value_fileno(h);
  }
  return MP_EINVAL;
}

static int kind_from_fd(int kind, void **out, int fd, mp_lock_t *lock) {
  switch (kind) {
    case K_LOCK: return mp_lock_from_fd((mp_lock_t **)out, fd);
    case K_SEM: return mp_sem_from_fd((mp_sem_t **)out, fd);
    case K_EVENT: return mp_event_from_fd((mp_event_t **)out, fd);
    case K_COND: return mp_cond_from_fd((mp_cond_t **)out, fd, lock);
    case K_BARRIER: return mp_barrier_from_fd((mp_barrier_t **)out, fd);
    case K_SHM: return mp_shm_from_fd((mp_shm_t **)out, fd);
    case K_VALUE: return mp_value_from_fd((mp_value_t **)out, fd);
  }
  return MP_EINVAL;
}

/* A descriptor of one kind given to every other kind's from_fd: MP_EINVAL
 * and no handle; the own kind opens it. */
static void test_sync_handles_from_fd_wrong_kind(void **state) {
  (void)state;
  void *objs[K_COUNT];
  kinds_new(objs);
  for (int k = 0; k < K_COUNT; ++k) {
    for (int j = 0; j < K_COUNT; ++j) {
      int fd = dup(kind_fileno(k, objs[k]));
      assert_true(fd >= 0);
      void *h = (void *)&h;
      int r = kind_from_fd(j, &h, fd, objs[K_LOCK]);
      if (j == k) {
        if (r != MP_OK)
          fail_msg("mp_%s_from_fd of a %s: %s: %s", k_kind_names[j], k_kind_names[k],
                   mp_err_name(r), mp_last_error());
        assert_non_null(h);
        kind_free(j, h);
        close_if_open(fd); /* freed with the handle, normally */
        continue;
      }
      if (r != MP_EINVAL)
        fail_msg("mp_%s_from_fd of a %s's descriptor = %s, expected EINVAL",
                 k_kind_names[j], k_kind_names[k], mp_err_name(r));
      assert_true(mp_last_error()[0] != '\0');
      assert_null(h);
      close_if_open(fd);
    }
  }
  /* The original objects are untouched. */
  MP_ASSERT_OK(mp_lock_acquire(objs[K_LOCK], 0));
  MP_ASSERT_OK(mp_lock_release(objs[K_LOCK]));
  assert_int_equal(mp_sem_value(objs[K_SEM]), 1);
  kinds_free(objs);
}

/* from_fd of a pipe, a closed descriptor, -1, /dev/null, an empty and a
 * zero-filled memfd, and with a NULL out: MP_EINVAL. */
static void test_sync_handles_from_fd_bad_descriptors(void **state) {
  (void)state;
  mp_lock_t *lock = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, 0));
  int before = count_open_fds();
  for (int k = 0; k < K_COUNT; ++k) {
    const char *kn = k_kind_names[k];
    void *h = (void *)&h;
    int r;
    /* -1 and other negatives */
    r = kind_from_fd(k, &h, -1, lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(-1) = %s", kn, mp_err_name(r));
    assert_null(h);
    assert_true(mp_last_error()[0] != '\0');
    h = (void *)&h;
    r = kind_from_fd(k, &h, -100, lock);
    assert_int_equal(r, MP_EINVAL);
    assert_null(h);
    /* a closed descriptor */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    close(pfd[0]);
    close(pfd[1]);
    h = (void *)&h;
    r = kind_from_fd(k, &h, pfd[0], lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(closed) = %s", kn, mp_err_name(r));
    assert_null(h);
    /* a pipe */
    assert_int_equal(pipe(pfd), 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, pfd[0], lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(pipe) = %s", kn, mp_err_name(r));
    assert_true(mp_last_error()[0] != '\0');
    assert_null(h);
    close_if_open(pfd[0]);
    close(pfd[1]);
    /* /dev/null */
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(/dev/null) = %s", kn, mp_err_name(r));
    assert_null(h);
    close_if_open(fd);
    /* an empty memfd and a zero-filled one: not multiproc objects */
    for (int size = 0; size <= 4096; size += 4096) {
      fd = memfd_create("not-a-multiproc-object", MFD_CLOEXEC);
      assert_true(fd >= 0);
      assert_int_equal(ftruncate(fd, size), 0);
      h = (void *)&h;
      r = kind_from_fd(k, &h, fd, lock);
      if (r != MP_EINVAL)
        fail_msg("mp_%s_from_fd(memfd of %d zero bytes) = %s", kn, size, mp_err_name(r));
      assert_null(h);
      close_if_open(fd);
    }
    /* NULL out */
    fd = dup(mp_lock_fileno(lock));
    r = kind_from_fd(k, NULL, fd, lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(NULL out) = %s", kn, mp_err_name(r));
    close_if_open(fd);
  }
  /* mp_cond_from_fd without a lock */
  mp_cond_t *c = NULL, *c2 = (mp_cond_t *)&c2;
  MP_ASSERT_OK(mp_cond_new(&c, lock));
  int fd = dup(mp_cond_fileno(c));
  MP_ASSERT_ERR(mp_cond_from_fd(&c2, fd, NULL), MP_EINVAL);
  assert_null(c2);
  close_if_open(fd);
  mp_cond_free(c);
  ASSERT_NO_FD_LEAK(before);
  mp_lock_free(lock);
}

/* A copy of an object's segment in a new memfd, with the 4 bytes at
 * offset `at` replaced by `word` (at < 0: unchanged) and `extra` bytes
 * appended. The segment starts with the object header of
 * src/sync/object.hpp: magic, layout version, kind, reserved, size. */
static int copy_segment(int src_fd, long at, uint32_t word, size_t extra) {
  struct stat st;
  assert_int_equal(fstat(src_fd, &st), 0);
  size_t size = (size_t)st.st_size;
  char *buf = calloc(1, size + extra);
  assert_non_null(buf);
  assert_int_equal(pread(src_fd, buf, size, 0), (ssize_t)size);
  if (at >= 0) memcpy(buf + at, &word, sizeof word);
  int fd = memfd_create("copied-multiproc-object", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, buf, size + extra), (ssize_t)(size + extra));
  free(buf);
  return fd;
}

/* Descriptors that look like multiproc objects but are not readable: a
 * layout version from the future (MP_ENOTSUP), a corrupt magic, kind or
 * size (MP_EINVAL), another user's object (MP_EACCES, needs root). */
static void test_sync_handles_from_fd_foreign_layout(void **state) {
  (void)state;
  void *objs[K_COUNT];
  kinds_new(objs);
  for (int k = 0; k < K_COUNT; ++k) {
    const char *kn = k_kind_names[k];
    int src = kind_fileno(k, objs[k]);
    void *h = NULL;
    int fd, r;
    /* an exact copy opens (and is a separate object) */
    fd = copy_segment(src, -1, 0, 0);
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_OK) fail_msg("mp_%s_from_fd(copy) = %s: %s", kn, mp_err_name(r), mp_last_error());
    kind_free(k, h);
    close_if_open(fd);
    /* a layout version from the future */
    fd = copy_segment(src, 4, 0x7fff, 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_ENOTSUP) fail_msg("mp_%s_from_fd(version 0x7fff) = %s", kn, mp_err_name(r));
    assert_null(h);
    assert_true(mp_last_error()[0] != '\0');
    close_if_open(fd);
    /* a corrupt magic */
    fd = copy_segment(src, 0, 0xdeadbeef, 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(bad magic) = %s", kn, mp_err_name(r));
    assert_null(h);
    close_if_open(fd);
    /* an unknown kind */
    fd = copy_segment(src, 8, 77, 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(kind 77) = %s", kn, mp_err_name(r));
    assert_null(h);
    close_if_open(fd);
    /* a segment longer than its header says */
    fd = copy_segment(src, -1, 0, 4096);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(size mismatch) = %s", kn, mp_err_name(r));
    assert_null(h);
    close_if_open(fd);
    /* another user's object */
    if (geteuid() == 0) {
      fd = copy_segment(src, -1, 0, 0);
      assert_int_equal(fchown(fd, 65534, 65534), 0);
      h = (void *)&h;
      r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
      if (r != MP_EACCES) fail_msg("mp_%s_from_fd(uid 65534) = %s", kn, mp_err_name(r));
      assert_null(h);
      close_if_open(fd);
    }
  }
  kinds_free(objs);
}

/* Every function of a kind given h (NULL, freed, or a handle of another
 * kind): MP_EINVAL, or 0 / NULL where the function returns a size or an
 * address; the free functions ignore it. */
static void expect_all_invalid(int kind, void *h, const char *what) {
  int64_t x;
  uint64_t u;
  double d;
  size_t n;
  char buf[8];
  (void)what;
  switch (kind) {
    case K_LOCK:
      MP_ASSERT_ERR(mp_lock_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_lock_acquire(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_lock_acquire(h, MP_FOREVER), MP_EINVAL);
      MP_ASSERT_ERR(mp_lock_release(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_lock_locked(h), MP_EINVAL);
      mp_lock_free(h);
      break;
    case K_SEM:
      MP_ASSERT_ERR(mp_sem_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_sem_acquire(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_sem_acquire(h, MP_FOREVER), MP_EINVAL);
      MP_ASSERT_ERR(mp_sem_release(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_sem_value(h), MP_EINVAL);
      mp_sem_free(h);
      break;
    case K_EVENT:
      MP_ASSERT_ERR(mp_event_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_set(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_clear(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_is_set(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_wait(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_wait(h, MP_FOREVER), MP_EINVAL);
      mp_event_free(h);
      break;
    case K_COND:
      MP_ASSERT_ERR(mp_cond_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_cond_wait(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_cond_wait(h, MP_FOREVER), MP_EINVAL);
      MP_ASSERT_ERR(mp_cond_notify(h, 1), MP_EINVAL);
      MP_ASSERT_ERR(mp_cond_notify_all(h), MP_EINVAL);
      mp_cond_free(h);
      break;
    case K_BARRIER:
      MP_ASSERT_ERR(mp_barrier_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_wait(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_wait(h, MP_FOREVER), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_abort(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_reset(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_parties(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_n_waiting(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_broken(h), MP_EINVAL);
      mp_barrier_free(h);
      break;
    case K_SHM:
      MP_ASSERT_ERR(mp_shm_fileno(h), MP_EINVAL);
      assert_null(mp_shm_data(h));
      assert_int_equal(mp_shm_size(h), 0);
      mp_shm_free(h);
      break;
    case K_VALUE:
      MP_ASSERT_ERR(mp_value_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_type(h), MP_EINVAL);
      assert_int_equal(mp_value_count(h), 0);
      MP_ASSERT_ERR(mp_value_get_i64(&x, h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_set_i64(h, 0, 1), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_get_u64(&u, h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_set_u64(h, 0, 1), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_get_f64(&d, h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_set_f64(h, 0, 1.0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_add_i64(&x, h, 0, 1), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_cas_i64(h, 0, 0, 1, &x), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_get_bytes(&n, h, buf, sizeof buf), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_set_bytes(h, "ab", 2), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_acquire(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_release(h), MP_EINVAL);
      mp_value_free(h);
      break;
  }
}

static void test_sync_handles_null(void **state) {
  (void)state;
  for (int k = 0; k < K_COUNT; ++k) expect_all_invalid(k, NULL, "NULL");
}

/* A handle of one kind given to another kind's functions. */
static void test_sync_handles_foreign(void **state) {
  (void)state;
  void *objs[K_COUNT];
  kinds_new(objs);
  for (int k = 0; k < K_COUNT; ++k) {
    int other = (k + 1) % K_COUNT;
    if (other == K_COND) other = K_BARRIER; /* a condition handle is larger */
    /* Not the free functions: expect_all_invalid calls them, and they must
     * ignore a foreign handle too (checked below by using it after). */
    expect_all_invalid(k, objs[other], "foreign");
  }
  /* Every object still works. */
  MP_ASSERT_OK(mp_lock_acquire(objs[K_LOCK], 0));
  MP_ASSERT_OK(mp_cond_notify(objs[K_COND], 1));
  MP_ASSERT_OK(mp_lock_release(objs[K_LOCK]));
  MP_ASSERT_OK(mp_sem_acquire(objs[K_SEM], 0));
  MP_ASSERT_OK(mp_event_set(objs[K_EVENT]));
  assert_int_equal(mp_barrier_parties(objs[K_BARRIER]), 2);
  assert_int_equal(mp_shm_size(objs[K_SHM]), 100);
  MP_ASSERT_OK(mp_value_set_i64(objs[K_VALUE], 0, 1));
  kinds_free(objs);
}

/* A freed handle: MP_EINVAL where detectable. Reading freed memory is
 * itself an error under AddressSanitizer, so the test is not registered
 * there (meson's TAP parser counts CMocka's skip as a failure). */
#if !MP_TEST_ASAN
static void test_sync_handles_freed(void **state) {
  (void)state;
  for (int k = 0; k < K_COUNT; ++k) {
    void *objs[K_COUNT];
    kinds_new(objs);
    void *h = objs[k];
    if (k == K_COND) {
      mp_cond_free(h); /* its lock stays alive */
    } else if (k == K_LOCK) {
      mp_cond_free(objs[K_COND]); /* the condition must not outlive it */
      objs[K_COND] = NULL;
      mp_lock_free(h);
    } else {
      kind_free(k, h);
    }
    objs[k] = NULL;
    expect_all_invalid(k, h, "freed");
    kinds_free(objs);
  }
}
#endif

/* Hand every kind of object to a child with both start methods. */
static void test_sync_handles_pass_all_kinds(void **state) {
  (void)state;
  for (int m = 0; m < 2; ++m) {
    void *objs[K_COUNT];
    kinds_new(objs);
    MP_ASSERT_OK(mp_sem_acquire(objs[K_SEM], 0)); /* value 0 */
    int fds[K_COUNT];
    for (int k = 0; k < K_COUNT; ++k) fds[k] = kind_fileno(k, objs[k]);
    targ_t none = {0, 0, 0, 0};
    mp_process_t *p = start_child("ts_all_kinds", none, k_methods[m], fds, K_COUNT);
    MP_ASSERT_OK(mp_event_wait(objs[K_EVENT], 20000));
    MP_ASSERT_OK(mp_sem_acquire(objs[K_SEM], 20000));
    volatile char *sh = mp_shm_data(objs[K_SHM]);
    MP_ASSERT_OK(mp_lock_acquire(objs[K_LOCK], 20000));
    int timeouts = 0;
    while (!sh[100]) {
      int r = mp_cond_wait(objs[K_COND], 5000);
      if (r == MP_ETIMEDOUT) assert_true(++timeouts < 3);
      else MP_ASSERT_OK(r);
    }
    MP_ASSERT_OK(mp_lock_release(objs[K_LOCK]));
    int idx = mp_barrier_wait(objs[K_BARRIER], 20000);
    if (idx != 0 && idx != 1) fail_msg("barrier wait = %d (%s)", idx, mp_err_name(idx));
    int code = finish_child(p, 30000);
    if (code != 0) fail_msg("%s: child exit code %d", method_name(k_methods[m]), code);
    int64_t x = 0;
    MP_ASSERT_OK(mp_value_get_i64(&x, objs[K_VALUE], 0));
    assert_int_equal(x, 42);
    assert_string_equal((const char *)sh, "hello from the child");
    assert_int_equal(mp_sem_value(objs[K_SEM]), 0);
    assert_int_equal(mp_event_is_set(objs[K_EVENT]), 1);
    assert_int_equal(mp_lock_locked(objs[K_LOCK]), 0);
    kinds_free(objs);
  }
}

/* Creating and freeing 100 objects of each kind leaves the descriptor
 * count unchanged and adds nothing to /dev/shm. */
static void test_sync_handles_no_leak_100_each(void **state) {
  (void)state;
  enum { kEach = 100 };
  void *warm[K_COUNT];
  kinds_new(warm); /* any lazy initialisation happens here */
  kinds_free(warm);
  shm_names_t before, after;
  shm_names_take(&before);
  int fds_before = count_open_fds();
  mp_lock_t *lock = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, MP_LOCK_RECURSIVE));
  for (int k = 0; k < K_COUNT; ++k) {
    void *h[kEach];
    for (int i = 0; i < kEach; ++i) {
      int r = MP_OK;
      switch (k) {
        case K_LOCK: r = mp_lock_new((mp_lock_t **)&h[i], i % 2); break;
        case K_SEM: r = mp_sem_new((mp_sem_t **)&h[i], 1, (unsigned)(i % 2)); break;
        case K_EVENT: r = mp_event_new((mp_event_t **)&h[i]); break;
        case K_COND: r = mp_cond_new((mp_cond_t **)&h[i], lock); break;
        case K_BARRIER: r = mp_barrier_new((mp_barrier_t **)&h[i], 3); break;
        case K_SHM: r = mp_shm_new((mp_shm_t **)&h[i], 4096); break;
        case K_VALUE:
          r = mp_value_new((mp_value_t **)&h[i], (mp_type_t)(1 + i % 5), 8, i % 2);
          break;
      }
      if (r != MP_OK)
        fail_msg("creating %s %d: %s: %s", k_kind_names[k], i, mp_err_name(r), mp_last_error());
      /* Opened a second time, as a child would. */
      if (i % 10 == 0) {
        void *again = NULL;
        int fd = dup(kind_fileno(k, h[i]));
        MP_ASSERT_OK(kind_from_fd(k, &again, fd, lock));
        kind_free(k, again);
      }
    }
    assert_int_equal(count_open_fds(), fds_before + 1 + kEach);
    for (int i = 0; i < kEach; ++i) kind_free(k, h[i]);
    if (count_open_fds() != fds_before + 1)
      fail_msg("%s: %d descriptors open after freeing, expected %d", k_kind_names[k],
               count_open_fds(), fds_before + 1);
  }
  mp_lock_free(lock);
  ASSERT_NO_FD_LEAK(fds_before);
  shm_names_take(&after);
  const char *added = shm_names_added(&before, &after);
  char name[300] = "";
  if (added) snprintf(name, sizeof name, "%s", added);
  shm_names_free(&after);
  shm_names_free(&before);
  if (name[0]) fail_msg("/dev/shm/%s appeared", name);
}

int main(int argc, char **argv) {
  register_targets();
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 99;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync_lock_new_errors),
      cmocka_unit_test(test_sync_lock_plain_acquire_release),
      cmocka_unit_test(test_sync_lock_plain_acquire_twice_estate),
      cmocka_unit_test(test_sync_lock_plain_acquire_twice_timeout0_not_acquired),
      cmocka_unit_test(test_sync_lock_release_not_held_estate),
      cmocka_unit_test(test_sync_lock_release_other_thread_estate),
      cmocka_unit_test(test_sync_rlock_three_levels),
      cmocka_unit_test(test_sync_lock_held_by_other_process),
      cmocka_unit_test(test_sync_lock_child_cannot_release_parents_lock),
      cmocka_unit_test(test_sync_lock_owner_death_self_kill),
      cmocka_unit_test(test_sync_rlock_owner_death_three_levels),
      cmocka_unit_test(test_sync_value_lock_owner_death),
      cmocka_unit_test(test_sync_lock_mutual_exclusion_counted),
      cmocka_unit_test(test_sync_lock_waiter_sleeps),
      cmocka_unit_test(test_sync_sem_new_errors),
      cmocka_unit_test(test_sync_sem_bounded_over_release_estate),
      cmocka_unit_test(test_sync_sem_unbounded_release_above_initial),
      cmocka_unit_test(test_sync_sem_release_wakes_other_process),
      cmocka_unit_test(test_sync_sem_ktv_never_exceeds_count),
      cmocka_unit_test(test_sync_event_basics),
      cmocka_unit_test(test_sync_event_set_wakes_all_processes),
      cmocka_unit_test(test_sync_event_traffic_light),
      cmocka_unit_test(test_sync_cond_errors),
      cmocka_unit_test(test_sync_cond_lock_held_by_other_thread_estate),
      cmocka_unit_test(test_sync_cond_wait_timeout_reacquires),
      cmocka_unit_test(test_sync_cond_producer_consumer),
      cmocka_unit_test(test_sync_cond_waitfor),
      cmocka_unit_test(test_sync_cond_waitfor_timeout),
      cmocka_unit_test(test_sync_cond_notify_all_wakes_three),
      cmocka_unit_test(test_sync_cond_notify_one_wakes_waiter),
      cmocka_unit_test(test_sync_cond_killed_waiter_breaks_nothing),
      cmocka_unit_test(test_sync_cond_ping_pong_threads),
      cmocka_unit_test(test_sync_cond_notify_not_lost_to_quick_notifier),
      cmocka_unit_test(test_sync_cond_wait_owner_dead),
      cmocka_unit_test(test_sync_barrier_basics),
      cmocka_unit_test(test_sync_barrier_action),
      cmocka_unit_test(test_sync_barrier_timeout),
      cmocka_unit_test(test_sync_barrier_default_timeout),
      cmocka_unit_test(test_sync_barrier_action_fails_or_missing),
      cmocka_unit_test(test_sync_barrier_indexes_four_processes),
      cmocka_unit_test(test_sync_barrier_timeout_breaks_for_everyone),
      cmocka_unit_test(test_sync_barrier_abort_releases_waiters),
      cmocka_unit_test(test_sync_barrier_reset_releases_waiters),
      cmocka_unit_test(test_sync_shm_basics),
      cmocka_unit_test(test_sync_shm_child_writes_parent_sees),
      cmocka_unit_test(test_sync_value_new_errors),
      cmocka_unit_test(test_sync_value_int32),
      cmocka_unit_test(test_sync_value_int64),
      cmocka_unit_test(test_sync_value_uint64),
      cmocka_unit_test(test_sync_value_double),
      cmocka_unit_test(test_sync_value_small_integers),
      cmocka_unit_test(test_sync_value_float),
      cmocka_unit_test(test_sync_value_bytes),
      cmocka_unit_test(test_sync_value_null_out_params),
      cmocka_unit_test(test_sync_value_acquire_without_lock_estate),
      cmocka_unit_test(test_sync_value_atomic_add_four_processes),
      cmocka_unit_test(test_sync_value_locked_double_four_processes),
      cmocka_unit_test(test_sync_value_modify_example),
      cmocka_unit_test(test_sync_handles_from_fd_wrong_kind),
      cmocka_unit_test(test_sync_handles_from_fd_bad_descriptors),
      cmocka_unit_test(test_sync_handles_from_fd_foreign_layout),
      cmocka_unit_test(test_sync_handles_null),
      cmocka_unit_test(test_sync_handles_foreign),
#if !MP_TEST_ASAN
      cmocka_unit_test(test_sync_handles_freed),
#endif
      cmocka_unit_test(test_sync_handles_pass_all_kinds),
      cmocka_unit_test(test_sync_handles_no_leak_100_each),
  };
  return MP_RUN_TESTS(tests);
}
