/* Queues (Python's multiprocessing.Queue / JoinableQueue), tested against
 * the documented behaviour of include/multiproc.h only: round trips, FIFO
 * order, empty messages, get/get_into, timeouts, the item and byte bounds,
 * qsize/empty/full, messages far larger than the queue (64 MiB through
 * 1 MiB, fork and spawn producers) and sizes around the chunking boundary,
 * many producers and consumers across processes and threads (exactly once,
 * FIFO per producer), close instead of poison pills (the seeds' 3 producers
 * / 2 consumers program), JoinableQueue task_done/join, handles (garbage
 * descriptors, queues passed to a command by name), bad arguments, and
 * descriptor and /dev/shm accounting.
 *
 * Every target is registered before mp_main() so that MP_START_SPAWN
 * children (re-executions of this program) find it. "--queue-child" as
 * argv[1] makes this program the external command of the handle tests.
 * Threads started here only record results; every assertion runs on the
 * CMocka thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "queuetest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* Puts a list of messages: message i has sizes[i] pattern bytes, seed i. */
struct seq_arg {
  uint32_t n;
  uint32_t reserved;
  uint64_t sizes[64];
};

static int t_seq_producer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  struct seq_arg a;
  if (arg_len != sizeof a) return 10;
  memcpy(&a, arg, sizeof a);
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  size_t max = 1;
  for (uint32_t i = 0; i < a.n; i++)
    if (a.sizes[i] > max) max = (size_t)a.sizes[i];
  unsigned char *buf = malloc(max);
  int rc = 0;
  if (!buf) rc = 12;
  for (uint32_t i = 0; rc == 0 && i < a.n; i++) {
    pattern_fill(buf, (size_t)a.sizes[i], i);
    int r = mp_queue_put(q, buf, (size_t)a.sizes[i], LONG_MS);
    if (r != MP_OK) {
      child_report("put", r);
      rc = 13;
    }
  }
  free(buf);
  mp_queue_free(q);
  return rc;
}

/* A growable array of (id, seq) pairs. */
struct pairs {
  uint32_t *v; /* 2 per pair */
  size_t n, cap;
};

static int pairs_push(struct pairs *p, uint32_t id, uint32_t seq) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 1024;
    uint32_t *v = realloc(p->v, cap * 2 * sizeof *v);
    if (!v) return -1;
    p->v = v;
    p->cap = cap;
  }
  p->v[2 * p->n] = id;
  p->v[2 * p->n + 1] = seq;
  p->n++;
  return 0;
}

/* Gets (id, seq) messages from queue 0 until MP_ECLOSED (with
 * mp_queue_get_many when a.many, else even consumer indices with
 * mp_queue_get, odd ones with mp_queue_get_into), then puts every pair it
 * got, in order, as one message to queue 1. */
static int get_some(mp_queue_t *q, const struct num_arg *a, void **m,
                    unsigned char *buf, size_t *lens, size_t *count) {
  *count = 1;
  if (a->many)
    return mp_queue_get_many(count, q, buf, (size_t)NUM_MANY_MAX * NUM_MAX, lens,
                             a->many, LONG_MS);
  if (a->id % 2 == 0) return mp_queue_get(m, &lens[0], q, LONG_MS);
  return mp_queue_get_into(&lens[0], q, buf, NUM_MAX, LONG_MS);
}

static int t_mpmc_consumer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  struct num_arg a;
  if (arg_len != sizeof a) return 10;
  memcpy(&a, arg, sizeof a);
  if (a.many > NUM_MANY_MAX) return 10;
  mp_queue_t *q = child_queue(0), *res = child_queue(1);
  if (!q || !res) return 11;
  struct pairs got = {NULL, 0, 0};
  int rc = 0;
  static unsigned char buf[NUM_MANY_MAX * NUM_MAX];
  size_t lens[NUM_MANY_MAX];
  while (rc == 0) {
    void *m = NULL;
    size_t count = 0;
    int r = get_some(q, &a, &m, buf, lens, &count);
    if (r == MP_ECLOSED) break;
    if (r != MP_OK) {
      child_report("get", r);
      rc = 12;
      break;
    }
    const unsigned char *at = m ? m : buf;
    for (size_t i = 0; i < count && rc == 0; at += lens[i], i++) {
      uint32_t id, seq;
      if (num_decode(at, lens[i], &id, &seq) != 0)
        rc = 13;
      else if (pairs_push(&got, id, seq) != 0)
        rc = 14;
    }
    mp_free(m);
  }
  int r = mp_queue_put(res, got.v ? (void *)got.v : (void *)"", got.n * 8,
                       LONG_MS);
  if (r != MP_OK && rc == 0) {
    child_report("put result", r);
    rc = 15;
  }
  free(got.v);
  mp_queue_free(q);
  mp_queue_free(res);
  return rc;
}

/* The seeds' producer: puts "<name><i>" for i < count. */
static const char *const k_seed_names[] = {"baozi", "gutou", "ganshui"};

static int t_seed_producer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  struct num_arg a;
  if (arg_len != sizeof a) return 10;
  memcpy(&a, arg, sizeof a);
  if (a.id > 2) return 10;
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  int r = put_counted(q, k_seed_names[a.id], 0, a.count);
  if (r != MP_OK) child_report("put", r);
  mp_queue_free(q);
  return r == MP_OK ? 0 : 12;
}

/* The seeds' consumer, without poison pills: gets until MP_ECLOSED, then
 * puts "<count> <sum>" to queue 1, where an item "<name k><i>" adds
 * k * 1000000 + i + 1 to the sum. */
static int t_seed_consumer(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_queue_t *q = child_queue(0), *res = child_queue(1);
  if (!q || !res) return 11;
  unsigned long long count = 0, sum = 0;
  int rc = 0;
  for (;;) {
    void *m = NULL;
    size_t n = 0;
    int r = mp_queue_get(&m, &n, q, MP_FOREVER);
    if (r == MP_ECLOSED) break;
    if (r != MP_OK) {
      child_report("get", r);
      rc = 12;
      break;
    }
    int k = -1;
    for (int j = 0; j < 3; j++) {
      size_t l = strlen(k_seed_names[j]);
      if (n > l && memcmp(m, k_seed_names[j], l) == 0) {
        k = j;
        count++;
        sum += (unsigned long long)j * 1000000ull +
               strtoull((char *)m + l, NULL, 10) + 1;
      }
    }
    mp_free(m);
    if (k < 0) {
      rc = 13;
      break;
    }
  }
  char out[64];
  int n = snprintf(out, sizeof out, "%llu %llu", count, sum);
  int r = mp_queue_put(res, out, (size_t)n, LONG_MS);
  if (r != MP_OK && rc == 0) rc = 14;
  mp_queue_free(q);
  mp_queue_free(res);
  return rc;
}

/* Blocks in get(MP_FOREVER) on queue 0; exits 0 if that returns
 * MP_ECLOSED. */
static int t_blocked_get(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  void *m = NULL;
  size_t n = 0;
  int r = mp_queue_get(&m, &n, q, MP_FOREVER);
  mp_free(m);
  mp_queue_free(q);
  if (r != MP_ECLOSED) {
    child_report("blocked get", r);
    return 12;
  }
  return 0;
}

/* Gets one message from queue 0, which must be "ring" (put on the ring by
 * the test itself, test_queue_ring_words_and_wake). */
static int t_ring_get_one(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  char buf[16];
  size_t n = 0;
  int r = mp_queue_get_into(&n, q, buf, sizeof buf, MP_FOREVER);
  mp_queue_free(q);
  if (r != MP_OK) {
    child_report("ring get", r);
    return 12;
  }
  return n == 4 && memcmp(buf, "ring", 4) == 0 ? 0 : 13;
}

/* Gets `count` messages from joinable queue 0, marking each task_done a
 * little later. */
static int t_task_consumer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  struct num_arg a;
  if (arg_len != sizeof a) return 10;
  memcpy(&a, arg, sizeof a);
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  int rc = 0;
  for (uint32_t i = 0; i < a.count && rc == 0; i++) {
    void *m = NULL;
    size_t n = 0;
    int r = mp_queue_get(&m, &n, q, LONG_MS);
    mp_free(m);
    if (r != MP_OK) {
      child_report("get", r);
      rc = 12;
      break;
    }
    sleep_ms(20);
    r = mp_queue_task_done(q);
    if (r != MP_OK) {
      child_report("task_done", r);
      rc = 13;
    }
  }
  mp_queue_free(q);
  return rc;
}

/* ------------------------------------------------------------------------
 * The external command of the handle tests (argv[1] == "--queue-child"):
 * opens "jobs" and "results" by name, answers one job, and checks the
 * errors of mp_queue_inherit. Exit code 0 on success.
 * ---------------------------------------------------------------------- */

/* The command of test_queue_pass_fd_lock_and_dict ("--fd-child"): opens
 * the lock and dict passed by descriptor, finds the lock held by the
 * parent, waits for it, counts in the dict, and checks mp_fd_inherit's
 * errors. Exit code 0 on success. */
static int fd_child_main(void) {
  int lock_fd = -1, dict_fd = -1, event_fd = -1, x = 0;
  mp_lock_t *lock = NULL;
  mp_dict_t *dict = NULL;
  mp_event_t *held_seen = NULL;
  int r = mp_fd_inherit(&lock_fd, "lock");
  if (r == MP_OK) r = mp_lock_from_fd(&lock, lock_fd);
  if (r != MP_OK) return child_report("inherit lock", r), 20;
  r = mp_fd_inherit(&dict_fd, "dict");
  if (r == MP_OK) r = mp_dict_from_fd(&dict, dict_fd);
  if (r != MP_OK) return child_report("inherit dict", r), 21;
  r = mp_fd_inherit(&event_fd, "held_seen");
  if (r == MP_OK) r = mp_event_from_fd(&held_seen, event_fd);
  if (r != MP_OK) return child_report("inherit event", r), 22;
  if ((r = mp_fd_inherit(&x, "jobs")) != MP_ESTATE || x != -1)
    return child_report("fd_inherit of a queue name", r), 23;
  if ((r = mp_fd_inherit(&x, "nothing_here")) != MP_ENOENT)
    return child_report("fd_inherit of an unknown name", r), 24;
  /* The parent holds the lock until this event is set. */
  if ((r = mp_lock_acquire(lock, 0)) != MP_ETIMEDOUT)
    return child_report("acquire(0) of the parent's lock", r), 25;
  if ((r = mp_event_set(held_seen)) != MP_OK) return child_report("event_set", r), 26;
  if ((r = mp_lock_acquire(lock, LONG_MS)) != MP_OK) return child_report("acquire", r), 27;
  int64_t n = 0;
  if ((r = mp_dict_incr(&n, dict, "n", 1, 1)) != MP_OK) return child_report("incr", r), 28;
  if ((r = mp_lock_release(lock)) != MP_OK) return child_report("release", r), 29;
  mp_event_free(held_seen);
  mp_lock_free(lock);
  mp_dict_free(dict);
  return n == 1 ? 0 : 30;
}

static int queue_child_main(void) {
  mp_queue_t *jobs = NULL, *results = NULL, *x = (mp_queue_t *)&x;
  int r = mp_queue_inherit(&jobs, "jobs");
  if (r != MP_OK) {
    child_report("inherit jobs", r);
    return 10;
  }
  r = mp_queue_inherit(&results, "results");
  if (r != MP_OK) {
    child_report("inherit results", r);
    mp_queue_free(jobs);
    return 11;
  }
  int rc = 0;
  r = mp_queue_inherit(&x, "nothing_here");
  if (r != MP_ENOENT || x != NULL) {
    child_report("inherit nothing_here", r);
    rc = 12;
  }
  x = (mp_queue_t *)&x;
  r = mp_queue_inherit(&x, "a-b");
  if (r != MP_EINVAL || x != NULL) {
    child_report("inherit a-b", r);
    rc = 13;
  }
  void *m = NULL;
  size_t n = 0;
  r = mp_queue_get(&m, &n, jobs, LONG_MS);
  if (r != MP_OK) {
    child_report("get job", r);
    rc = 14;
  } else {
    char reply[128];
    int len = snprintf(reply, sizeof reply, "reply:%.*s", (int)n, (char *)m);
    r = mp_queue_put(results, reply, (size_t)len, LONG_MS);
    if (r != MP_OK) {
      child_report("put reply", r);
      rc = 15;
    }
  }
  mp_free(m);
  mp_queue_free(jobs);
  mp_queue_free(results);
  return rc;
}

/* ------------------------------------------------------------------------
 * Basics
 * ---------------------------------------------------------------------- */

static void test_queue_put_get_roundtrip(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  assert_non_null(q);
  MP_ASSERT_OK(mp_queue_put(q, "hello", 5, 0));
  expect_msg(q, "hello", 5, 0);
  /* binary bytes, NULs included */
  MP_ASSERT_OK(mp_queue_put(q, "a\0b\0", 4, MP_FOREVER));
  expect_msg(q, "a\0b\0", 4, MP_FOREVER);
  assert_int_equal(mp_queue_qsize(q), 0);
  mp_queue_free(q);
}

static void test_queue_fifo_single_producer(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  char msg[64];
  for (int i = 0; i < 2000; i++) {
    int n = snprintf(msg, sizeof msg, "msg-%d-%.*s", i, i % 30,
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    MP_ASSERT_OK(mp_queue_put(q, msg, (size_t)n, 0));
  }
  assert_int_equal(mp_queue_qsize(q), 2000);
  for (int i = 0; i < 2000; i++) {
    int n = snprintf(msg, sizeof msg, "msg-%d-%.*s", i, i % 30,
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    expect_msg(q, msg, (size_t)n, 0);
  }
  assert_int_equal(mp_queue_empty(q), 1);
  mp_queue_free(q);
}

/* Many laps around the smallest ring: every record size, wrap and padding
 * position comes up, in one process. */
static void test_queue_fifo_wraparound_small_ring(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 4096, 0));
  unsigned char buf[600];
  unsigned seq_put = 0, seq_get = 0;
  for (int round = 0; round < 3000; round++) {
    int k = 1 + round % 4;
    for (int j = 0; j < k; j++) {
      size_t n = (seq_put * 37u) % 500u;
      pattern_fill(buf, n, seq_put);
      MP_ASSERT_OK(mp_queue_put(q, buf, n, 0));
      seq_put++;
    }
    for (int j = 0; j < k; j++) {
      size_t n = 0;
      MP_ASSERT_OK(mp_queue_get_into(&n, q, buf, sizeof buf, 0));
      assert_int_equal(n, (seq_get * 37u) % 500u);
      assert_int_equal(pattern_check(buf, n, seq_get), n);
      seq_get++;
    }
  }
  MP_ASSERT_ERR(mp_queue_get_into(&(size_t){0}, q, buf, sizeof buf, 0),
                MP_EEMPTY);
  mp_queue_free(q);
}

static void test_queue_empty_message(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  MP_ASSERT_OK(mp_queue_put(q, "", 0, 0));
  MP_ASSERT_OK(mp_queue_put(q, "", 0, 0));
  PUT_STR(q, "after");
  assert_int_equal(mp_queue_qsize(q), 3);
  void *out = NULL;
  size_t n = 99;
  MP_ASSERT_OK(mp_queue_get(&out, &n, q, 0));
  assert_int_equal(n, 0);
  assert_non_null(out);
  assert_int_equal(((char *)out)[0], '\0');
  mp_free(out);
  char buf[8];
  n = 99;
  MP_ASSERT_OK(mp_queue_get_into(&n, q, buf, 0, 0));
  assert_int_equal(n, 0);
  EXPECT_STR(q, "after");
  mp_queue_free(q);
}

static void test_queue_get_buffer_nul_terminated(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  const char abc[3] = {'a', 'b', 'c'}; /* no NUL of its own */
  for (size_t len = 1; len <= 3; len++) {
    MP_ASSERT_OK(mp_queue_put(q, abc, len, 0));
    void *out = NULL;
    size_t n = 0;
    MP_ASSERT_OK(mp_queue_get(&out, &n, q, 0));
    assert_int_equal(n, len);
    assert_memory_equal(out, abc, len);
    assert_int_equal(((char *)out)[len], '\0');
    assert_int_equal(strlen(out), len);
    mp_free(out);
  }
  mp_queue_free(q);
}

static void test_queue_get_into_exact_size(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  unsigned char msg[16], buf[64];
  pattern_fill(msg, sizeof msg, 7);
  MP_ASSERT_OK(mp_queue_put(q, msg, sizeof msg, 0));
  size_t n = 0;
  MP_ASSERT_OK(mp_queue_get_into(&n, q, buf, sizeof msg, 0));
  assert_int_equal(n, sizeof msg);
  assert_memory_equal(buf, msg, sizeof msg);
  /* a larger buffer: the length is the message's */
  MP_ASSERT_OK(mp_queue_put(q, msg, 10, 0));
  n = 0;
  MP_ASSERT_OK(mp_queue_get_into(&n, q, buf, sizeof buf, 0));
  assert_int_equal(n, 10);
  assert_memory_equal(buf, msg, 10);
  mp_queue_free(q);
}

static void test_queue_get_into_too_small_enospc(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  PUT_STR(q, "0123456789");
  PUT_STR(q, "next");
  char buf[16];
  size_t n = 0;
  MP_ASSERT_ERR(mp_queue_get_into(&n, q, buf, 4, 0), MP_ENOSPC);
  assert_int_equal(n, 10);
  assert_int_equal(mp_queue_qsize(q), 2); /* still queued */
  n = 0;
  MP_ASSERT_ERR(mp_queue_get_into(&n, q, buf, 9, LONG_MS), MP_ENOSPC);
  assert_int_equal(n, 10);
  EXPECT_STR(q, "0123456789"); /* a later get has it, whole */
  n = 0;
  MP_ASSERT_OK(mp_queue_get_into(&n, q, buf, 4, 0));
  assert_int_equal(n, 4);
  assert_memory_equal(buf, "next", 4);
  mp_queue_free(q);
}

static void test_queue_get_timeouts(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  void *out = (void *)&out;
  size_t n = 99;
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, 0), MP_EEMPTY);
  assert_null(out);
  char buf[8];
  MP_ASSERT_ERR(mp_queue_get_into(&n, q, buf, sizeof buf, 0), MP_EEMPTY);
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, 100), MP_ETIMEDOUT);
  int64_t el = now_ms() - t0;
  assert_null(out);
  assert_true(el >= 90);
  assert_true(el < 10000);
  t0 = now_ms();
  MP_ASSERT_ERR(mp_queue_get_into(&n, q, buf, sizeof buf, 100), MP_ETIMEDOUT);
  el = now_ms() - t0;
  assert_true(el >= 90);
  assert_true(el < 10000);
  /* still usable */
  PUT_STR(q, "x");
  EXPECT_STR(q, "x");
  mp_queue_free(q);
}

static void test_queue_maxsize_put_timeouts(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 2, 0, 0));
  MP_ASSERT_OK(mp_queue_put(q, "one", 3, 0));
  MP_ASSERT_OK(mp_queue_put(q, "two", 3, 0));
  MP_ASSERT_ERR(mp_queue_put(q, "three", 5, 0), MP_EFULL);
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_queue_put(q, "three", 5, 100), MP_ETIMEDOUT);
  int64_t el = now_ms() - t0;
  assert_true(el >= 90);
  assert_true(el < 10000);
  assert_int_equal(mp_queue_qsize(q), 2);
  assert_int_equal(mp_queue_full(q), 1);
  EXPECT_STR(q, "one");
  MP_ASSERT_OK(mp_queue_put(q, "three", 5, 0));
  EXPECT_STR(q, "two");
  EXPECT_STR(q, "three"); /* the failed puts left nothing behind */
  MP_ASSERT_ERR(mp_queue_get(&(void *){NULL}, &(size_t){0}, q, 0), MP_EEMPTY);
  mp_queue_free(q);
}

static void test_queue_qsize_empty_full_follow(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 3, 0, 0));
#define STATE(sz, em, fu)                         \
  do {                                            \
    assert_int_equal(mp_queue_qsize(q), (sz));    \
    assert_int_equal(mp_queue_empty(q), (em));    \
    assert_int_equal(mp_queue_full(q), (fu));     \
  } while (0)
  STATE(0, 1, 0);
  PUT_STR(q, "a");
  STATE(1, 0, 0);
  PUT_STR(q, "b");
  STATE(2, 0, 0);
  PUT_STR(q, "c");
  STATE(3, 0, 1);
  EXPECT_STR(q, "a");
  STATE(2, 0, 0);
  EXPECT_STR(q, "b");
  STATE(1, 0, 0);
  EXPECT_STR(q, "c");
  STATE(0, 1, 0);
  mp_queue_free(q);

  /* no item limit: never full with a few small messages */
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  for (int i = 0; i < 100; i++) PUT_STR(q, "m");
  STATE(100, 0, 0);
#undef STATE
  mp_queue_free(q);
}

/* full() by bytes: when it says 0, a put of any message up to the largest
 * one kept whole (a quarter of the ring less a 24-byte record header) goes
 * in without waiting; a put of such a message that would wait finds it 1.
 * Filled with mixed sizes, wrapping the ring several times. */
static void test_queue_full_means_a_whole_put_fits(void **state) {
  (void)state;
  const size_t ring = 64 * 1024, largest = ring / 4 - 24;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, ring, 0));
  unsigned char *msg = calloc(1, largest);
  assert_non_null(msg);
  const size_t sizes[] = {10 * 1024, 1, largest, 3000, 700, largest - 1, 5};
  int puts = 0, gets = 0;
  for (int step = 0; step < 400; step++) {
    size_t len = sizes[step % 7];
    int full = mp_queue_full(q);
    assert_true(full == 0 || full == 1);
    int rc = mp_queue_put(q, msg, len, 0);
    if (full == 0 && rc != MP_OK)
      fail_msg("step %d: full() said 0, put of %zu bytes = %s", step, len, mp_err_name(rc));
    if (rc == MP_EFULL) assert_int_equal(mp_queue_full(q), 1);
    if (rc == MP_OK) puts++;
    if (rc == MP_EFULL || step % 3 == 0) { /* drain some, wrap the ring */
      size_t n = 0;
      for (int k = 0; k < 2 && mp_queue_get_into(&n, q, msg, largest, 0) == MP_OK; k++) gets++;
    }
  }
  assert_true(puts > 100);
  assert_int_equal(mp_queue_qsize(q), puts - gets);
  free(msg);
  mp_queue_free(q);
}

static void test_queue_max_bytes_bounds_queue(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 4096, 0));
  unsigned char msg[1000];
  int held = 0, r = MP_OK;
  for (; held < 100; held++) {
    pattern_fill(msg, sizeof msg, (unsigned)held);
    r = mp_queue_put(q, msg, sizeof msg, 0);
    if (r != MP_OK) break;
  }
  if (r != MP_EFULL)
    fail_msg("put #%d of 1000 bytes into a 4096-byte queue = %s, expected "
             "EFULL: %s", held + 1, mp_err_name(r), mp_last_error());
  if (held < 1 || held > 4)
    fail_msg("a 4096-byte queue took %d messages of 1000 bytes", held);
  assert_int_equal(mp_queue_qsize(q), held);
  MP_ASSERT_ERR(mp_queue_put(q, msg, sizeof msg, 100), MP_ETIMEDOUT);
  /* a get makes room for one more */
  size_t n = 0;
  unsigned char buf[1000];
  MP_ASSERT_OK(mp_queue_get_into(&n, q, buf, sizeof buf, 0));
  assert_int_equal(n, 1000);
  assert_int_equal(pattern_check(buf, n, 0), n);
  pattern_fill(msg, sizeof msg, (unsigned)held);
  MP_ASSERT_OK(mp_queue_put(q, msg, sizeof msg, 0));
  for (int i = 1; i <= held; i++) {
    MP_ASSERT_OK(mp_queue_get_into(&n, q, buf, sizeof buf, 0));
    assert_int_equal(n, 1000);
    assert_int_equal(pattern_check(buf, n, (unsigned)i), n);
  }
  assert_int_equal(mp_queue_empty(q), 1);
  mp_queue_free(q);
}

/* ------------------------------------------------------------------------
 * Large messages
 * ---------------------------------------------------------------------- */

static void large_from_child(int method) {
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, MIB, 0));
  struct seq_arg a;
  memset(&a, 0, sizeof a);
  a.n = 2;
  a.sizes[0] = 64 * MIB;
  a.sizes[1] = 7;
  mp_process_t *p = start_target("q_seq_producer", &a, sizeof a, method, &q, 1);
  if (method == MP_START_FORK) {
    /* too small a buffer: told the size, the message stays queued */
    char small[1024];
    size_t need = 0;
    MP_ASSERT_ERR(mp_queue_get_into(&need, q, small, sizeof small, LONG_MS),
                  MP_ENOSPC);
    assert_int_equal(need, 64 * MIB);
  }
  void *out = NULL;
  size_t n = 0;
  if (method == MP_START_FORK) {
    MP_ASSERT_OK(mp_queue_get(&out, &n, q, LONG_MS));
    assert_non_null(out);
    if (n != 64 * MIB) {
      mp_free(out);
      fail_msg("got %zu bytes, expected 64 MiB", n);
    }
    size_t bad = pattern_check(out, n, 0);
    unsigned char nul = ((unsigned char *)out)[n];
    mp_free(out);
    if (bad != n) fail_msg("64 MiB message differs at byte %zu", bad);
    assert_int_equal(nul, 0);
  } else {
    /* into a caller buffer of exactly the message's size */
    unsigned char *buf = malloc(64 * MIB);
    assert_non_null(buf);
    int r = mp_queue_get_into(&n, q, buf, 64 * MIB, LONG_MS);
    size_t bad = r == MP_OK && n == 64 * MIB ? pattern_check(buf, n, 0) : 0;
    free(buf);
    MP_ASSERT_OK(r);
    assert_int_equal(n, 64 * MIB);
    if (bad != n) fail_msg("64 MiB message differs at byte %zu", bad);
  }
  unsigned char tail[7];
  pattern_fill(tail, 7, 1);
  expect_msg(q, tail, 7, LONG_MS);
  join_expect(p, 0);
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, 0), MP_EEMPTY);
  mp_queue_free(q);
}

static void test_queue_large_64mib_through_1mib_fork(void **state) {
  (void)state;
  large_from_child(MP_START_FORK);
}

static void test_queue_large_64mib_through_1mib_spawn(void **state) {
  (void)state;
  large_from_child(MP_START_SPAWN);
}

/* A get that times out while a large message is still arriving must not
 * lose it ("every message is delivered exactly once"): the producer of an
 * 8 MiB message is stopped (SIGSTOP) in the middle of its put, so the gets
 * with a timeout cannot finish; after SIGCONT the message arrives whole. */
static void get_timeout_mid_large(int64_t timeout) {
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 1 << 16, 0));
  struct seq_arg a;
  memset(&a, 0, sizeof a);
  a.n = 2;
  a.sizes[0] = 8 * MIB;
  a.sizes[1] = 3;
  mp_process_t *p =
      start_target("q_seq_producer", &a, sizeof a, MP_START_FORK, &q, 1);
  wait_for_first_bytes(q); /* the ring is full: the producer waits mid-message */
  MP_ASSERT_OK(mp_process_signal(p, SIGSTOP, 0));
  void *out = NULL;
  size_t n = 0;
  int r = mp_queue_get(&out, &n, q, timeout);
  int r2 = mp_queue_get(&out, &n, q, timeout); /* and once more */
  MP_ASSERT_OK(mp_process_signal(p, SIGCONT, 0));
  if (r != MP_ETIMEDOUT && !(timeout == 0 && r == MP_EEMPTY))
    fail_msg("get(%lld) while the message is incomplete = %s",
             (long long)timeout, mp_err_name(r));
  if (r2 != MP_ETIMEDOUT && !(timeout == 0 && r2 == MP_EEMPTY))
    fail_msg("second get(%lld) while the message is incomplete = %s",
             (long long)timeout, mp_err_name(r2));
  out = NULL;
  MP_ASSERT_OK(mp_queue_get(&out, &n, q, LONG_MS));
  if (n != 8 * MIB) {
    mp_free(out);
    join_expect(p, 0);
    mp_queue_free(q);
    fail_msg("after a get(%lld) timed out in the middle of an 8 MiB message "
             "the next get returned %zu bytes: the message was lost",
             (long long)timeout, n);
  }
  size_t bad = pattern_check(out, n, 0);
  mp_free(out);
  if (bad != n) fail_msg("the 8 MiB message differs at byte %zu", bad);
  unsigned char tail[3];
  pattern_fill(tail, 3, 1);
  expect_msg(q, tail, 3, LONG_MS);
  join_expect(p, 0);
  mp_queue_free(q);
}

static void test_queue_get_timeout_mid_large_message_keeps_it(void **state) {
  (void)state;
  get_timeout_mid_large(100);
}

static void test_queue_get_nowait_mid_large_message_keeps_it(void **state) {
  (void)state;
  get_timeout_mid_large(0);
}

/* Sizes around the chunking boundary (half the ring), a quarter of it, the
 * ring itself and three times it, each followed by a small message, from
 * one producer: all arrive, intact and in order. */
static void test_queue_chunk_boundary_sizes_in_order(void **state) {
  (void)state;
  const size_t rings[] = {4096, 65536};
  for (size_t ri = 0; ri < 2; ri++) {
    size_t m = rings[ri];
    struct seq_arg a;
    memset(&a, 0, sizeof a);
    size_t bigs[32], nb = 0;
    for (int d = -3; d <= 3; d++) bigs[nb++] = (size_t)((long)m / 2 + d);
    for (int d = -3; d <= 3; d++) bigs[nb++] = (size_t)((long)m / 4 + d);
    bigs[nb++] = m - 1;
    bigs[nb++] = m;
    bigs[nb++] = m + 1;
    bigs[nb++] = 3 * m - 1;
    bigs[nb++] = 3 * m;
    bigs[nb++] = 3 * m + 1;
    a.sizes[a.n++] = 0;
    for (size_t i = 0; i < nb; i++) {
      a.sizes[a.n++] = bigs[i];
      a.sizes[a.n++] = 1 + i % 5; /* a small one after each */
    }
    assert_true(a.n <= 64);
    mp_queue_t *q = NULL;
    MP_ASSERT_OK(mp_queue_new(&q, 0, m, 0));
    mp_process_t *p =
        start_target("q_seq_producer", &a, sizeof a, MP_START_FORK, &q, 1);
    for (uint32_t i = 0; i < a.n; i++) {
      void *out = NULL;
      size_t n = 0;
      MP_ASSERT_OK(mp_queue_get(&out, &n, q, LONG_MS));
      if (n != a.sizes[i]) {
        mp_free(out);
        fail_msg("ring %zu: message %u has %zu bytes, expected %zu", m, i, n,
                 (size_t)a.sizes[i]);
      }
      size_t bad = pattern_check(out, n, i);
      mp_free(out);
      if (bad != n)
        fail_msg("ring %zu: message %u (%zu bytes) differs at byte %zu", m, i,
                 n, bad);
    }
    join_expect(p, 0);
    assert_int_equal(mp_queue_qsize(q), 0);
    mp_queue_free(q);
  }
}

/* ------------------------------------------------------------------------
 * Batches: mp_queue_put_many / mp_queue_get_many
 * ---------------------------------------------------------------------- */

/* Size of message i of the batch tests: 0 .. 499 bytes, and every 100th
 * 600 KiB (above a quarter of a 2 MiB ring: streamed). */
static size_t many_size(size_t i) {
  return i % 100 == 99 ? 600 * 1024 : (i * 37u) % 500u;
}

/* Put messages first .. first+n-1 (pattern bytes, seed i) with one
 * put_many and check that all went in. */
static void put_many_pattern(mp_queue_t *q, size_t first, size_t n) {
  const void **bufs = calloc(n, sizeof *bufs);
  size_t *lens = calloc(n, sizeof *lens), put = 12345;
  assert_true(bufs && lens);
  for (size_t i = 0; i < n; i++) {
    lens[i] = many_size(first + i);
    unsigned char *b = malloc(lens[i] ? lens[i] : 1);
    assert_non_null(b);
    pattern_fill(b, lens[i], (unsigned)(first + i));
    bufs[i] = b;
  }
  MP_ASSERT_OK(mp_queue_put_many(&put, q, bufs, lens, n, LONG_MS));
  assert_int_equal(put, n);
  for (size_t i = 0; i < n; i++) free((void *)bufs[i]);
  free(bufs);
  free(lens);
}

/* Check a batch got into buf: message next .. next+count-1, back to back. */
static void check_batch(const unsigned char *buf, const size_t *lens,
                        size_t count, size_t next) {
  for (size_t i = 0; i < count; buf += lens[i], i++) {
    if (lens[i] != many_size(next + i))
      fail_msg("message %zu has %zu bytes, expected %zu", next + i, lens[i],
               many_size(next + i));
    size_t bad = pattern_check(buf, lens[i], (unsigned)(next + i));
    if (bad != lens[i]) fail_msg("message %zu differs at byte %zu", next + i, bad);
  }
}

/* 300 messages (empty ones, binary ones, 3 streamed) in 3 put_many calls;
 * get_many with a 2000-byte buffer and at most 7 per call: every batch
 * respects both limits, a message too large for the buffer is MP_ENOSPC
 * with its size and stays first (a get takes it), and order and bytes are
 * kept throughout. */
static void test_queue_many_roundtrip_limits_and_enospc(void **state) {
  (void)state;
  enum { N = 300, CAP = 2000, MAX = 7 };
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 2 * MIB, 0));
  put_many_pattern(q, 0, 100);
  put_many_pattern(q, 100, 120);
  put_many_pattern(q, 220, 80);
  assert_int_equal(mp_queue_qsize(q), N);
  unsigned char buf[CAP];
  size_t lens[MAX], next = 0, enospc = 0;
  while (next < N) {
    size_t count = 12345;
    int r = mp_queue_get_many(&count, q, buf, CAP, lens, MAX, 0);
    if (r == MP_ENOSPC) {
      assert_int_equal(count, 0);
      assert_int_equal(lens[0], many_size(next));
      void *big = NULL;
      size_t n = 0;
      MP_ASSERT_OK(mp_queue_get(&big, &n, q, 0));
      check_batch(big, &n, 1, next);
      mp_free(big);
      next++, enospc++;
      continue;
    }
    MP_ASSERT_OK(r);
    assert_true(count >= 1 && count <= MAX);
    size_t total = 0;
    for (size_t i = 0; i < count; i++) total += lens[i];
    assert_true(total <= CAP);
    check_batch(buf, lens, count, next);
    next += count;
  }
  assert_int_equal(enospc, N / 100);
  size_t count = 1;
  MP_ASSERT_ERR(mp_queue_get_many(&count, q, buf, CAP, lens, MAX, 0), MP_EEMPTY);
  assert_int_equal(count, 0);
  mp_queue_free(q);
}

/* The batch calls mix with the single ones, a streamed message comes
 * whole as the first of a batch, and a batch stops in front of one. */
static void test_queue_many_mixes_with_single_calls(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  put_many_pattern(q, 95, 10); /* 95..104: 99 is streamed */
  unsigned char *big = malloc(700 * 1024);
  size_t lens[16], count = 0;
  assert_non_null(big);
  /* a batch stops in front of the streamed message ... */
  MP_ASSERT_OK(mp_queue_get_many(&count, q, big, 700 * 1024, lens, 16, 0));
  assert_int_equal(count, 4);
  check_batch(big, lens, count, 95);
  /* ... which is the first of the next, whole, followed by what fits */
  MP_ASSERT_OK(mp_queue_get_many(&count, q, big, 700 * 1024, lens, 16, 0));
  assert_int_equal(count, 6);
  check_batch(big, lens, count, 99);
  /* single puts, then one get_many; put_many, then single gets */
  PUT_STR(q, "one");
  PUT_STR(q, "");
  PUT_STR(q, "three");
  MP_ASSERT_OK(mp_queue_get_many(&count, q, big, 64, lens, 16, 0));
  assert_int_equal(count, 3);
  assert_int_equal(lens[0], 3);
  assert_int_equal(lens[1], 0);
  assert_int_equal(lens[2], 5);
  assert_memory_equal(big, "onethree", 8);
  const void *bufs[2] = {"a\0b", "cd"};
  size_t blens[2] = {3, 2}, put = 0;
  MP_ASSERT_OK(mp_queue_put_many(&put, q, bufs, blens, 2, 0));
  assert_int_equal(put, 2);
  expect_msg(q, "a\0b", 3, 0);
  expect_msg(q, "cd", 2, 0);
  /* cap 0 and no buffer: an empty message still comes; others do not */
  PUT_STR(q, "");
  PUT_STR(q, "x");
  MP_ASSERT_OK(mp_queue_get_many(&count, q, NULL, 0, lens, 16, 0));
  assert_int_equal(count, 1);
  assert_int_equal(lens[0], 0);
  MP_ASSERT_ERR(mp_queue_get_many(&count, q, NULL, 0, lens, 16, 0), MP_ENOSPC);
  assert_int_equal(lens[0], 1);
  EXPECT_STR(q, "x");
  free(big);
  mp_queue_free(q);
}

/* No room for all: with timeout 0 put_many puts a prefix and says how
 * many (by bytes on a small ring, by count with maxsize); with a timeout
 * it waits that long; what went in is exactly that prefix. */
static void test_queue_many_full_puts_a_prefix(void **state) {
  (void)state;
  enum { N = 100 };
  const void *bufs[N];
  size_t lens[N], put = 0;
  unsigned char msg[N][100];
  for (size_t i = 0; i < N; i++) {
    memset(msg[i], (int)i, sizeof msg[i]);
    bufs[i] = msg[i];
    lens[i] = sizeof msg[i];
  }
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 4096, 0));
  MP_ASSERT_ERR(mp_queue_put_many(&put, q, bufs, lens, N, 0), MP_EFULL);
  assert_true(put > 0 && put < N);
  assert_int_equal(mp_queue_qsize(q), (int)put);
  int64_t t0 = now_ms();
  size_t more = 99;
  MP_ASSERT_ERR(mp_queue_put_many(&more, q, bufs + put, lens + put, N - put, 200),
                MP_ETIMEDOUT);
  int64_t waited = now_ms() - t0;
  assert_int_equal(more, 0);
  assert_true(waited >= 150 && waited < LONG_MS);
  for (size_t i = 0; i < put; i++) expect_msg(q, msg[i], sizeof msg[i], 0);
  MP_ASSERT_ERR(mp_queue_get(&(void *){NULL}, &(size_t){0}, q, 0), MP_EEMPTY);
  mp_queue_free(q);

  MP_ASSERT_OK(mp_queue_new(&q, 10, 0, 0)); /* maxsize 10 */
  MP_ASSERT_ERR(mp_queue_put_many(&put, q, bufs, lens, 25, 0), MP_EFULL);
  assert_int_equal(put, 10);
  assert_int_equal(mp_queue_full(q), 1);
  mp_queue_free(q);
}

/* get_many waits only for the first message: timeouts as get_into. */
static void test_queue_many_get_timeouts(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  char buf[64];
  size_t lens[4], count = 7;
  MP_ASSERT_ERR(mp_queue_get_many(&count, q, buf, sizeof buf, lens, 4, 0), MP_EEMPTY);
  assert_int_equal(count, 0);
  MP_ASSERT_TIMES_OUT(mp_queue_get_many(&count, q, buf, sizeof buf, lens, 4, 150), 100, LONG_MS);
  PUT_STR(q, "late");
  MP_ASSERT_OK(mp_queue_get_many(&count, q, buf, sizeof buf, lens, 4, LONG_MS));
  assert_int_equal(count, 1);
  assert_memory_equal(buf, "late", 4);
  mp_queue_free(q);
}

struct blocked_put_many {
  mp_queue_t *q;
  const void *const *bufs;
  const size_t *lens;
  size_t n, put;
  int rc;
};

static void *put_many_thread(void *p) {
  struct blocked_put_many *b = p;
  b->rc = mp_queue_put_many(&b->put, b->q, b->bufs, b->lens, b->n, MP_FOREVER);
  return NULL;
}

/* Closing wakes a put_many blocked on a full queue: MP_ECLOSED, and the
 * count says what went in before; consumers drain exactly that, then see
 * the end of the stream; a put_many to a closed queue puts nothing. */
static void test_queue_many_close_wakes_blocked_put_many(void **state) {
  (void)state;
  enum { N = 200 };
  static unsigned char msg[N][64];
  const void *bufs[N];
  size_t lens[N];
  for (size_t i = 0; i < N; i++) {
    memset(msg[i], (int)i, sizeof msg[i]);
    bufs[i] = msg[i];
    lens[i] = sizeof msg[i];
  }
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 4096, 0));
  struct blocked_put_many b = {q, bufs, lens, N, 0, 1};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, put_many_thread, &b), 0);
  /* 4096 bytes hold about 50 records of 64 bytes: it fills them and waits */
  for (int64_t end = now_ms() + LONG_MS; mp_queue_qsize(q) < 40 && now_ms() < end;)
    sleep_ms(5);
  sleep_ms(50);
  MP_ASSERT_OK(mp_queue_close(q));
  assert_int_equal(pthread_join(t, NULL), 0);
  MP_ASSERT_ERR(b.rc, MP_ECLOSED);
  assert_true(b.put > 0 && b.put < N);
  unsigned char buf[4096];
  size_t glens[N], count, got = 0;
  int r;
  while ((r = mp_queue_get_many(&count, q, buf, sizeof buf, glens, N, 0)) == MP_OK)
    for (size_t i = 0; i < count; i++, got++) {
      assert_int_equal(glens[i], 64);
      assert_memory_equal(buf + i * 64, msg[got], 64);
    }
  MP_ASSERT_ERR(r, MP_ECLOSED);
  assert_int_equal(got, b.put);
  size_t put = 99;
  MP_ASSERT_ERR(mp_queue_put_many(&put, q, bufs, lens, 2, 0), MP_ECLOSED);
  assert_int_equal(put, 0);
  mp_queue_free(q);
}

/* JoinableQueue: each message of a batch counts for task_done. */
static void test_queue_many_joinable_counts_each_message(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, MP_QUEUE_JOINABLE));
  const void *bufs[5] = {"a", "b", "c", "d", "e"};
  size_t lens[5] = {1, 1, 1, 1, 1}, put = 0, count = 0;
  MP_ASSERT_OK(mp_queue_put_many(&put, q, bufs, lens, 5, 0));
  MP_ASSERT_ERR(mp_queue_join(q, 0), MP_ETIMEDOUT);
  char buf[8];
  MP_ASSERT_OK(mp_queue_get_many(&count, q, buf, sizeof buf, lens, 5, 0));
  assert_int_equal(count, 5);
  for (int i = 0; i < 4; i++) MP_ASSERT_OK(mp_queue_task_done(q));
  MP_ASSERT_ERR(mp_queue_join(q, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_queue_task_done(q));
  MP_ASSERT_OK(mp_queue_join(q, 0));
  MP_ASSERT_ERR(mp_queue_task_done(q), MP_ESTATE);
  mp_queue_free(q);
}

/* ------------------------------------------------------------------------
 * Many producers, many consumers
 * ---------------------------------------------------------------------- */

/* Every (id, seq) for id < nprod, seq < count appears exactly once over all
 * consumers, and within each consumer the seqs of one producer increase. */
static void verify_exactly_once_fifo(struct pairs *got, size_t ncons,
                                     uint32_t nprod, uint32_t count) {
  unsigned char *seen = calloc((size_t)nprod * count, 1);
  assert_non_null(seen);
  size_t total = 0;
  for (size_t c = 0; c < ncons; c++) {
    int64_t last[16];
    for (uint32_t i = 0; i < nprod; i++) last[i] = -1;
    for (size_t k = 0; k < got[c].n; k++) {
      uint32_t id = got[c].v[2 * k], seq = got[c].v[2 * k + 1];
      if (id >= nprod || seq >= count) {
        free(seen);
        fail_msg("consumer %zu got an unknown message (%u, %u)", c, id, seq);
      }
      if ((int64_t)seq <= last[id]) {
        free(seen);
        fail_msg("consumer %zu got producer %u's %u after its %lld", c, id,
                 seq, (long long)last[id]);
      }
      last[id] = seq;
      if (seen[(size_t)id * count + seq]++) {
        free(seen);
        fail_msg("(%u, %u) delivered twice", id, seq);
      }
      total++;
    }
  }
  for (size_t i = 0; i < (size_t)nprod * count; i++)
    if (!seen[i]) {
      free(seen);
      fail_msg("(%zu, %zu) never delivered (%zu of %zu delivered)", i / count,
               i % count, total, (size_t)nprod * count);
    }
  free(seen);
}

static void mpmc_processes(uint32_t nprod, uint32_t ncons, uint32_t count,
                           size_t ring, uint32_t many) {
  mp_queue_t *q = NULL, *res = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, ring, 0));
  MP_ASSERT_OK(mp_queue_new(&res, 0, 0, 0));
  mp_queue_t *both[2] = {q, res};
  mp_process_t *cons[8], *prod[8];
  assert_true(nprod <= 8 && ncons <= 8);
  for (uint32_t c = 0; c < ncons; c++) {
    struct num_arg a = {c, 0, many};
    cons[c] = start_target("q_mpmc_consumer", &a, sizeof a,
                           c == 1 ? MP_START_SPAWN : MP_START_FORK, both, 2);
  }
  for (uint32_t i = 0; i < nprod; i++) {
    struct num_arg a = {i, count, many};
    prod[i] = start_target("q_mpmc_producer", &a, sizeof a,
                           i >= 2 ? MP_START_SPAWN : MP_START_FORK, &q, 1);
  }
  for (uint32_t i = 0; i < nprod; i++) join_expect(prod[i], 0);
  MP_ASSERT_OK(mp_queue_close(q));
  struct pairs got[8];
  memset(got, 0, sizeof got);
  for (uint32_t c = 0; c < ncons; c++) {
    void *out = NULL;
    size_t n = 0;
    MP_ASSERT_OK(mp_queue_get(&out, &n, res, JOIN_MS));
    assert_int_equal(n % 8, 0);
    got[c].v = out;
    got[c].n = n / 8;
  }
  for (uint32_t c = 0; c < ncons; c++) join_expect(cons[c], 0);
  /* per consumer FIFO is checked on whole result messages: the order of
   * the result messages does not matter */
  verify_exactly_once_fifo(got, ncons, nprod, count);
  for (uint32_t c = 0; c < ncons; c++) mp_free(got[c].v);
  mp_queue_free(q);
  mp_queue_free(res);
}

/* 4 producers x 20000 messages, 3 consumers, a 64 KiB ring. */
static void test_queue_mpmc_processes_exactly_once_fifo(void **state) {
  (void)state;
  mpmc_processes(4, 3, 20000, 1 << 16, 0);
}

/* The same on the smallest ring, where every 16th message is streamed in
 * pieces while other producers put whole ones. */
static void test_queue_mpmc_streamed_messages_small_ring(void **state) {
  (void)state;
  mpmc_processes(2, 2, 5000, 4096, 0);
}

/* A ring whose size is not a power of two (4104 and 65544 bytes): a
 * position in it is a division, where the default ring's is a mask. Whole,
 * streamed and batched messages wrap around it many times. */
static void test_queue_mpmc_ring_not_power_of_two(void **state) {
  (void)state;
  mpmc_processes(2, 2, 5000, 4104, 0);
  mpmc_processes(3, 2, 20000, 65544, 0);
  mpmc_processes(2, 2, 5000, 4104, 37);
}

/* Batches (mp_queue_put_many / get_many of up to 64) between 3 producer
 * and 2 consumer processes, on a 64 KiB ring and on the smallest one,
 * where every 16th message is streamed in the middle of a batch. */
static void test_queue_mpmc_batches_exactly_once_fifo(void **state) {
  (void)state;
  mpmc_processes(3, 2, 20000, 1 << 16, 64);
  mpmc_processes(2, 2, 5000, 4096, 37);
}

struct thr {
  mp_queue_t *q;
  uint32_t id, count;
  int rc;  /* first unexpected return code, MP_OK if none */
  int bad; /* a malformed message */
  struct pairs got;
};

static void *producer_thread(void *p) {
  struct thr *t = p;
  unsigned char *buf = malloc(NUM_MAX);
  if (!buf) {
    t->bad = 1;
    return NULL;
  }
  for (uint32_t s = 0; s < t->count; s++) {
    size_t n = num_encode(buf, t->id, s);
    int r = mp_queue_put(t->q, buf, n, LONG_MS);
    if (r != MP_OK) {
      t->rc = r;
      break;
    }
  }
  free(buf);
  return NULL;
}

static void *consumer_thread(void *p) {
  struct thr *t = p;
  unsigned char *buf = malloc(NUM_MAX);
  if (!buf) {
    t->bad = 1;
    return NULL;
  }
  for (;;) {
    size_t n = 0;
    int r = mp_queue_get_into(&n, t->q, buf, NUM_MAX, LONG_MS);
    if (r == MP_ECLOSED) break;
    if (r != MP_OK) {
      t->rc = r;
      break;
    }
    uint32_t id, seq;
    if (num_decode(buf, n, &id, &seq) != 0 ||
        pairs_push(&t->got, id, seq) != 0) {
      t->bad = 1;
      break;
    }
  }
  free(buf);
  return NULL;
}

static void test_queue_mpmc_threads_exactly_once_fifo(void **state) {
  (void)state;
  enum { NPROD = 2, NCONS = 2, COUNT = 20000 };
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 100, 4096, 0));
  struct thr prod[NPROD], cons[NCONS];
  pthread_t tp[NPROD], tc[NCONS];
  memset(prod, 0, sizeof prod);
  memset(cons, 0, sizeof cons);
  for (int c = 0; c < NCONS; c++) {
    cons[c].q = q;
    assert_int_equal(pthread_create(&tc[c], NULL, consumer_thread, &cons[c]),
                     0);
  }
  for (int i = 0; i < NPROD; i++) {
    prod[i].q = q;
    prod[i].id = (uint32_t)i;
    prod[i].count = COUNT;
    assert_int_equal(pthread_create(&tp[i], NULL, producer_thread, &prod[i]),
                     0);
  }
  for (int i = 0; i < NPROD; i++) pthread_join(tp[i], NULL);
  MP_ASSERT_OK(mp_queue_close(q));
  for (int c = 0; c < NCONS; c++) pthread_join(tc[c], NULL);
  for (int i = 0; i < NPROD; i++)
    if (prod[i].rc != MP_OK)
      fail_msg("producer thread %d: put = %s", i, mp_err_name(prod[i].rc));
  struct pairs got[NCONS];
  for (int c = 0; c < NCONS; c++) {
    if (cons[c].rc != MP_OK || cons[c].bad)
      fail_msg("consumer thread %d: get = %s, bad = %d", c,
               mp_err_name(cons[c].rc), cons[c].bad);
    got[c] = cons[c].got;
  }
  verify_exactly_once_fifo(got, NCONS, NPROD, COUNT);
  for (int c = 0; c < NCONS; c++) free(got[c].v);
  mp_queue_free(q);
}

/* Puts "m0" .. "m<count-1>" and exits at once. */
static int t_tiny_producer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  struct num_arg a;
  if (arg_len != sizeof a) return 10;
  memcpy(&a, arg, sizeof a);
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  int r = put_counted(q, "m", 0, a.count);
  if (r != MP_OK) child_report("put", r);
  mp_queue_free(q);
  return r == MP_OK ? 0 : 12;
}

struct tiny_job {
  mp_queue_t *q;
  uint32_t count;
  int rc;
};

static void *tiny_producer_thread(void *p) {
  struct tiny_job *j = p;
  j->rc = put_counted(j->q, "m", 0, j->count);
  return NULL;
}

/* A consumer blocked in get is woken by every put, the last one included
 * (no later put can wake it instead): 100 times, a producer puts 300 small
 * messages and ends at once while the parent gets each with a 5 s
 * timeout; a message queued while the get times out is a lost wake-up. */
static void lost_wakeup_rounds(int threads) {
  enum { ROUNDS = 100, COUNT = 300 };
  for (int round = 0; round < ROUNDS; round++) {
    mp_queue_t *q = NULL;
    MP_ASSERT_OK(mp_queue_new(&q, 0, round % 2 ? 4096 : 0, 0));
    struct num_arg a = {(uint32_t)round, COUNT, 0};
    struct tiny_job j = {q, COUNT, MP_OK};
    mp_process_t *p = NULL;
    pthread_t tid;
    if (threads)
      assert_int_equal(pthread_create(&tid, NULL, tiny_producer_thread, &j), 0);
    else
      p = start_target("q_tiny_producer", &a, sizeof a, MP_START_FORK, &q, 1);
    for (uint32_t i = 0; i < COUNT; i++) {
      char buf[32], want[32];
      size_t n = 0;
      int r = mp_queue_get_into(&n, q, buf, sizeof buf, 5000);
      if (r != MP_OK) {
        int qs = mp_queue_qsize(q);
        int r0 = mp_queue_get_into(&n, q, buf, sizeof buf, 0);
        fail_msg("round %d (%s producer, %s ring): get #%u = %s after 5 s "
                 "(%s); then qsize %d and get(0) = %s%s", round,
                 threads ? "thread" : "process", round % 2 ? "4 KiB" : "1 MiB",
                 i, mp_err_name(r), mp_last_error(), qs, mp_err_name(r0),
                 r0 == MP_OK ? ": a lost wake-up" : "");
      }
      int wn = snprintf(want, sizeof want, "m%u", i);
      if (n != (size_t)wn || memcmp(buf, want, n) != 0)
        fail_msg("round %d: message #%u is wrong", round, i);
    }
    if (threads) {
      pthread_join(tid, NULL);
      assert_int_equal(j.rc, MP_OK);
    } else {
      join_expect(p, 0);
    }
    mp_queue_free(q);
  }
}

static void test_queue_blocked_get_woken_by_last_put_process(void **state) {
  (void)state;
  lost_wakeup_rounds(0);
}

static void test_queue_blocked_get_woken_by_last_put_thread(void **state) {
  (void)state;
  lost_wakeup_rounds(1);
}

/* CPU time (user + system, in clock ticks) a process has used so far. */
static long cpu_ticks(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  char *rp = strrchr(buf, ')');
  unsigned long utime = 0, stime = 0;
  if (!rp || sscanf(rp + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                    &utime, &stime) != 2)
    return -1;
  return (long)(utime + stime);
}

/* A consumer blocked on an empty queue sleeps (on a futex) after a brief
 * spin: over a second of waiting it uses almost no CPU. */
static void test_queue_idle_blocked_consumer_uses_no_cpu(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_process_t *p = start_target("q_blocked_get", NULL, 0, MP_START_FORK, &q, 1);
  sleep_ms(200); /* past start-up and the spin */
  int pid = mp_process_pid(p);
  long before = cpu_ticks(pid);
  sleep_ms(1000);
  long after = cpu_ticks(pid);
  MP_ASSERT_OK(mp_queue_close(q)); /* the blocked get ends with MP_ECLOSED */
  join_expect(p, 0);
  mp_queue_free(q);
  assert_true(before >= 0 && after >= 0);
  long hz = sysconf(_SC_CLK_TCK);
  if (after - before > hz / 10)
    fail_msg("a consumer blocked for 1 s used %ld ticks of CPU (%ld ticks = 1 s)",
             after - before, hz);
}

/* ------------------------------------------------------------------------
 * Close
 * ---------------------------------------------------------------------- */

static void test_queue_close_drains_then_closed(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  PUT_STR(q, "m0");
  PUT_STR(q, "m1");
  PUT_STR(q, "m2");
  MP_ASSERT_OK(mp_queue_close(q));
  MP_ASSERT_OK(mp_queue_close(q)); /* again: a no-op */
  MP_ASSERT_ERR(mp_queue_put(q, "late", 4, 0), MP_ECLOSED);
  MP_ASSERT_ERR(mp_queue_put(q, "late", 4, LONG_MS), MP_ECLOSED);
  assert_int_equal(mp_queue_qsize(q), 3);
  EXPECT_STR(q, "m0");
  char buf[8];
  size_t n = 0;
  MP_ASSERT_OK(mp_queue_get_into(&n, q, buf, sizeof buf, 0));
  assert_int_equal(n, 2);
  assert_memory_equal(buf, "m1", 2);
  expect_msg(q, "m2", 2, MP_FOREVER);
  /* the end of the stream, whatever the timeout: no hang, no EEMPTY */
  void *out = (void *)&out;
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, MP_FOREVER), MP_ECLOSED);
  assert_null(out);
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, 0), MP_ECLOSED);
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, 5000), MP_ECLOSED);
  MP_ASSERT_ERR(mp_queue_get_into(&n, q, buf, sizeof buf, MP_FOREVER),
                MP_ECLOSED);
  assert_true(now_ms() - t0 < 4000);
  assert_int_equal(mp_queue_qsize(q), 0);
  assert_int_equal(mp_queue_empty(q), 1);
  mp_queue_free(q);
}

/* The seeds' producers/consumers program (3 producers, 2 consumers), with
 * close instead of one None per consumer. */
static void test_queue_close_seed_3_producers_2_consumers(void **state) {
  (void)state;
  enum { N = 1000 };
  mp_queue_t *q = NULL, *res = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  MP_ASSERT_OK(mp_queue_new(&res, 0, 0, 0));
  mp_queue_t *both[2] = {q, res};
  mp_process_t *prod[3], *cons[2];
  for (uint32_t i = 0; i < 3; i++) {
    struct num_arg a = {i, N, 0};
    prod[i] = start_target("q_seed_producer", &a, sizeof a,
                           i == 2 ? MP_START_SPAWN : MP_START_FORK, &q, 1);
  }
  for (int c = 0; c < 2; c++)
    cons[c] = start_target("q_seed_consumer", NULL, 0,
                           c == 1 ? MP_START_SPAWN : MP_START_FORK, both, 2);
  for (int i = 0; i < 3; i++) join_expect(prod[i], 0);
  MP_ASSERT_OK(mp_queue_close(q)); /* instead of q.put(None) twice */
  MP_ASSERT_ERR(mp_queue_put(q, "late", 4, 0), MP_ECLOSED);
  unsigned long long count = 0, sum = 0;
  for (int c = 0; c < 2; c++) {
    void *out = NULL;
    size_t n = 0;
    MP_ASSERT_OK(mp_queue_get(&out, &n, res, JOIN_MS));
    unsigned long long cc = 0, cs = 0;
    int ok = sscanf(out, "%llu %llu", &cc, &cs) == 2;
    mp_free(out);
    assert_true(ok);
    count += cc;
    sum += cs;
  }
  for (int c = 0; c < 2; c++) join_expect(cons[c], 0);
  unsigned long long want = 0;
  for (unsigned long long k = 0; k < 3; k++)
    for (unsigned long long i = 0; i < N; i++) want += k * 1000000ull + i + 1;
  assert_int_equal(count, 3 * N);
  assert_int_equal(sum, want);
  mp_queue_free(q);
  mp_queue_free(res);
}

struct get_job {
  mp_queue_t *q;
  int64_t timeout;
  int rc;
  int64_t ended;
};

static void *get_thread(void *p) {
  struct get_job *j = p;
  void *out = NULL;
  size_t n = 0;
  j->rc = mp_queue_get(&out, &n, j->q, j->timeout);
  j->ended = now_ms();
  mp_free(out);
  return NULL;
}

static void *put_thread(void *p) {
  struct get_job *j = p;
  j->rc = mp_queue_put(j->q, "blocked", 7, j->timeout);
  j->ended = now_ms();
  return NULL;
}

/* Join a thread within ms or fail (leaving the queue alone: the thread may
 * still use it). */
static void join_thread_within(pthread_t t, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  int r = pthread_timedjoin_np(t, NULL, &ts);
  if (r != 0) fail_msg("a blocked thread was not woken within %d ms", ms);
}

static void test_queue_close_wakes_blocked_get_threads(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  struct get_job j[3];
  pthread_t t[3];
  for (int i = 0; i < 3; i++) {
    j[i] = (struct get_job){q, MP_FOREVER, -100, 0};
    assert_int_equal(pthread_create(&t[i], NULL, get_thread, &j[i]), 0);
  }
  sleep_ms(200);
  for (int i = 0; i < 3; i++) assert_int_equal(j[i].rc, -100); /* blocked */
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_queue_close(q));
  for (int i = 0; i < 3; i++) join_thread_within(t[i], 10000);
  for (int i = 0; i < 3; i++) {
    if (j[i].rc != MP_ECLOSED)
      fail_msg("blocked get %d = %s, expected ECLOSED", i,
               mp_err_name(j[i].rc));
    assert_true(j[i].ended - t0 < 5000);
  }
  mp_queue_free(q);
}

static void test_queue_close_wakes_blocked_get_process(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    mp_queue_t *q = NULL;
    MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
    mp_process_t *p =
        start_target("q_blocked_get", NULL, 0, m, &q, 1);
    sleep_ms(m == MP_START_FORK ? 300 : 800); /* let it block (spawn takes longer) */
    assert_int_equal(mp_process_is_alive(p), 1);
    MP_ASSERT_OK(mp_queue_close(q));
    MP_ASSERT_OK(mp_process_join(p, 10000));
    join_expect(p, 0);
    mp_queue_free(q);
  }
}

static void test_queue_close_wakes_blocked_put(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 1, 0, 0));
  PUT_STR(q, "only");
  struct get_job j = {q, 20000, -100, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, put_thread, &j), 0);
  sleep_ms(200);
  assert_int_equal(j.rc, -100);
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_queue_close(q));
  join_thread_within(t, 30000);
  if (j.rc != MP_ECLOSED)
    fail_msg("blocked put = %s, expected ECLOSED", mp_err_name(j.rc));
  assert_true(j.ended - t0 < 10000);
  EXPECT_STR(q, "only"); /* what was queued drains */
  MP_ASSERT_ERR(mp_queue_get(&(void *){NULL}, &(size_t){0}, q, 0), MP_ECLOSED);
  mp_queue_free(q);
}

/* ------------------------------------------------------------------------
 * Joinable
 * ---------------------------------------------------------------------- */

static void test_queue_joinable_task_done_and_join(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, MP_QUEUE_JOINABLE));
  MP_ASSERT_OK(mp_queue_join(q, 0)); /* nothing put: done at once */
  MP_ASSERT_ERR(mp_queue_task_done(q), MP_ESTATE); /* nothing got */
  PUT_STR(q, "t1");
  PUT_STR(q, "t2");
  PUT_STR(q, "t3");
  MP_ASSERT_ERR(mp_queue_join(q, 100), MP_ETIMEDOUT);
  EXPECT_STR(q, "t1");
  EXPECT_STR(q, "t2");
  EXPECT_STR(q, "t3");
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_queue_join(q, 100), MP_ETIMEDOUT); /* got, not done */
  int64_t el = now_ms() - t0;
  assert_true(el >= 90 && el < 10000);
  MP_ASSERT_OK(mp_queue_task_done(q));
  MP_ASSERT_OK(mp_queue_task_done(q));
  MP_ASSERT_ERR(mp_queue_join(q, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_queue_task_done(q));
  MP_ASSERT_OK(mp_queue_join(q, LONG_MS));
  MP_ASSERT_OK(mp_queue_join(q, MP_FOREVER));
  MP_ASSERT_ERR(mp_queue_task_done(q), MP_ESTATE); /* a 4th time */
  /* and the count is not corrupted by the refusal */
  PUT_STR(q, "t4");
  MP_ASSERT_ERR(mp_queue_join(q, 0), MP_ETIMEDOUT);
  EXPECT_STR(q, "t4");
  MP_ASSERT_OK(mp_queue_task_done(q));
  MP_ASSERT_OK(mp_queue_join(q, LONG_MS));
  mp_queue_free(q);
}

static void test_queue_join_not_joinable_estate(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  MP_ASSERT_ERR(mp_queue_join(q, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_queue_join(q, 100), MP_ESTATE);
  PUT_STR(q, "x");
  EXPECT_STR(q, "x");
  MP_ASSERT_ERR(mp_queue_task_done(q), MP_ESTATE);
  mp_queue_free(q);
}

static void test_queue_join_across_processes(void **state) {
  (void)state;
  enum { N = 5 };
  FOR_EACH_METHOD(m) {
    mp_queue_t *q = NULL;
    MP_ASSERT_OK(mp_queue_new(&q, 0, 0, MP_QUEUE_JOINABLE));
    for (int i = 0; i < N; i++) PUT_STR(q, "task");
    MP_ASSERT_ERR(mp_queue_join(q, 100), MP_ETIMEDOUT);
    struct num_arg a = {0, N, 0};
    mp_process_t *p =
        start_target("q_task_consumer", &a, sizeof a, m, &q, 1);
    MP_ASSERT_OK(mp_queue_join(q, JOIN_MS)); /* woken by the child */
    join_expect(p, 0);
    MP_ASSERT_ERR(mp_queue_task_done(q), MP_ESTATE);
    assert_int_equal(mp_queue_qsize(q), 0);
    mp_queue_free(q);
  }
}

/* ------------------------------------------------------------------------
 * Handles
 * ---------------------------------------------------------------------- */

/* mp_queue_from_fd(fd) must refuse with MP_EINVAL (and not crash). */
static void expect_from_fd_einval(int fd, const char *what) {
  mp_queue_t *q = (mp_queue_t *)&q;
  int r = mp_queue_from_fd(&q, fd);
  if (r == MP_OK) mp_queue_free(q);
  if (r != MP_EINVAL)
    fail_msg("mp_queue_from_fd(%s) = %s, expected EINVAL", what,
             mp_err_name(r));
  assert_null(q);
  assert_true(mp_last_error()[0] != '\0');
  /* ownership of a refused descriptor is not documented: close it if it is
   * still open (single-threaded here, so the number cannot be reused). */
  if (fd >= 0 && fcntl(fd, F_GETFD) >= 0) close(fd);
}

static int make_memfd(const char *name, const void *data, size_t len) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  assert_true(fd >= 0);
  if (len) {
    const unsigned char *p = data;
    size_t off = 0;
    while (off < len) {
      ssize_t w = write(fd, p + off, len - off);
      assert_true(w > 0);
      off += (size_t)w;
    }
  }
  return fd;
}

static void test_queue_from_fd_rejects_garbage(void **state) {
  (void)state;
  int fds_before = count_open_fds();
  expect_from_fd_einval(-1, "-1");

  int closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(closed >= 0);
  close(closed);
  expect_from_fd_einval(closed, "a closed descriptor");

  int pfd[2];
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  expect_from_fd_einval(pfd[0], "a pipe's read end");
  expect_from_fd_einval(pfd[1], "a pipe's write end");

  char path[] = "/tmp/mp-test-queue-XXXXXX";
  int tf = mkostemp(path, O_CLOEXEC);
  assert_true(tf >= 0);
  unlink(path);
  assert_int_equal(write(tf, "hello", 5), 5);
  expect_from_fd_einval(tf, "a 5-byte regular file");

  int dn = open("/dev/null", O_RDWR | O_CLOEXEC);
  assert_true(dn >= 0);
  expect_from_fd_einval(dn, "/dev/null");

  expect_from_fd_einval(make_memfd("empty", NULL, 0), "an empty memfd");

  unsigned char junk[4096];
  unsigned seed = (unsigned)time(NULL);
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)rand_r(&seed);
  expect_from_fd_einval(make_memfd("junk", junk, sizeof junk),
                        "a memfd of 4096 random bytes");

  unsigned char *zeros = calloc(1, MIB);
  assert_non_null(zeros);
  expect_from_fd_einval(make_memfd("zeros", zeros, MIB),
                        "a memfd of 1 MiB of zeros");
  free(zeros);

  /* A real queue's first page copied into a memfd of just that page: the
   * header promises a segment that is not there. */
  mp_queue_t *real = NULL;
  MP_ASSERT_OK(mp_queue_new(&real, 0, 0, 0));
  unsigned char page[4096];
  ssize_t got = pread(mp_queue_fileno(real), page, sizeof page, 0);
  assert_int_equal(got, (ssize_t)sizeof page);
  mp_queue_free(real);
  expect_from_fd_einval(make_memfd("truncated", page, sizeof page),
                        "a queue header without its ring");

  ASSERT_NO_FD_LEAK(fds_before);
}

/* A queue handed to a command by name: this program itself, started with
 * "--queue-child", opens "jobs" and "results" and answers one job. */
static void test_queue_pass_queue_to_command(void **state) {
  (void)state;
  char exe[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(len > 0);
  exe[len] = '\0';
  mp_queue_t *jobs = NULL, *results = NULL;
  MP_ASSERT_OK(mp_queue_new(&jobs, 0, 0, 0));
  MP_ASSERT_OK(mp_queue_new(&results, 0, 0, 0));
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, exe));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "--queue-child"));
  MP_ASSERT_OK(mp_cmd_pass_queue(cmd, "jobs", jobs));
  MP_ASSERT_OK(mp_cmd_pass_queue(cmd, "results", results));
  PUT_STR(jobs, "job-42");
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  EXPECT_STR(results, "reply:job-42");
  join_expect(p, 0);
  assert_int_equal(mp_queue_qsize(jobs), 0);
  mp_queue_free(jobs);
  mp_queue_free(results);
}

/* Any shared object reaches a command by descriptor (mp_cmd_pass_fd): a
 * lock the parent holds is seen held by the child, which then counts in a
 * dict once the parent lets go. */
static void test_queue_pass_fd_lock_and_dict(void **state) {
  (void)state;
  char exe[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(len > 0);
  exe[len] = '\0';
  mp_lock_t *lock = NULL;
  mp_dict_t *dict = NULL;
  mp_event_t *held_seen = NULL;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, 0));
  MP_ASSERT_OK(mp_dict_new(&dict, 16, 4096));
  MP_ASSERT_OK(mp_event_new(&held_seen));
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, exe));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "--fd-child"));
  MP_ASSERT_OK(mp_cmd_pass_fd(cmd, "lock", mp_lock_fileno(lock)));
  MP_ASSERT_OK(mp_cmd_pass_fd(cmd, "dict", mp_dict_fileno(dict)));
  MP_ASSERT_OK(mp_cmd_pass_fd(cmd, "held_seen", mp_event_fileno(held_seen)));
  MP_ASSERT_OK(mp_cmd_pass_queue(cmd, "jobs", q));
  MP_ASSERT_ERR(mp_cmd_pass_fd(cmd, "lock", mp_lock_fileno(lock)), MP_EEXIST);
  MP_ASSERT_ERR(mp_cmd_pass_fd(cmd, "neg", -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_pass_fd(cmd, "a-b", 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_pass_fd(NULL, "x", 0), MP_EINVAL);
  MP_ASSERT_OK(mp_lock_acquire(lock, 0));
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  /* The child's acquire(0) must find the lock held: keep it until then. */
  MP_ASSERT_OK(mp_event_wait(held_seen, LONG_MS));
  MP_ASSERT_OK(mp_lock_release(lock));
  join_expect(p, 0);
  int64_t n = 0;
  MP_ASSERT_OK(mp_dict_incr(&n, dict, "n", 1, 0));
  assert_int_equal(n, 1);
  int fd = 0;
  MP_ASSERT_ERR(mp_fd_inherit(&fd, "lock"), MP_ENOENT);  /* not in this process */
  MP_ASSERT_ERR(mp_fd_inherit(NULL, "lock"), MP_EINVAL);
  MP_ASSERT_ERR(mp_fd_inherit(&fd, "a b"), MP_EINVAL);
  mp_queue_free(q);
  mp_event_free(held_seen);
  mp_dict_free(dict);
  mp_lock_free(lock);
}

static void test_queue_inherit_unknown_name_enoent(void **state) {
  (void)state;
  mp_queue_t *q = (mp_queue_t *)&q;
  MP_ASSERT_ERR(mp_queue_inherit(&q, "jobs_not_passed_here"), MP_ENOENT);
  assert_null(q);
}

static void test_queue_pass_queue_names(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/true"));
  char n64[65], n65[66];
  memset(n64, 'a', 64);
  n64[64] = '\0';
  memset(n65, 'b', 65);
  n65[65] = '\0';
  const char *bad[] = {"", n65, "a-b", "a b", "a.b", "jobs\n", "é"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int r = mp_cmd_pass_queue(cmd, bad[i], q);
    if (r != MP_EINVAL)
      fail_msg("mp_cmd_pass_queue(\"%s\") = %s, expected EINVAL", bad[i],
               mp_err_name(r));
    mp_queue_t *x = (mp_queue_t *)&x;
    r = mp_queue_inherit(&x, bad[i]);
    if (r != MP_EINVAL || x != NULL)
      fail_msg("mp_queue_inherit(\"%s\") = %s, expected EINVAL", bad[i],
               mp_err_name(r));
  }
  MP_ASSERT_ERR(mp_cmd_pass_queue(cmd, NULL, q), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_pass_queue(NULL, "jobs", q), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_pass_queue(cmd, "jobs", NULL), MP_EINVAL);
  MP_ASSERT_OK(mp_cmd_pass_queue(cmd, n64, q));
  MP_ASSERT_OK(mp_cmd_pass_queue(cmd, "Jobs_09", q));
  MP_ASSERT_OK(mp_cmd_pass_queue(cmd, "jobs", q));
  MP_ASSERT_ERR(mp_cmd_pass_queue(cmd, "jobs", q), MP_EEXIST);
  mp_queue_t *other = NULL;
  MP_ASSERT_OK(mp_queue_new(&other, 0, 0, 0));
  MP_ASSERT_ERR(mp_cmd_pass_queue(cmd, "jobs", other), MP_EEXIST);
  mp_queue_free(other);
  mp_queue_t *x = (mp_queue_t *)&x;
  MP_ASSERT_ERR(mp_queue_inherit(&x, NULL), MP_EINVAL);
  assert_null(x);
  MP_ASSERT_ERR(mp_queue_inherit(NULL, "jobs"), MP_EINVAL);
  mp_cmd_free(cmd);
  mp_queue_free(q);
}

/* ------------------------------------------------------------------------
 * Bad arguments
 * ---------------------------------------------------------------------- */

/* A word of q's ring (mp_queue_ring_word), asserted to exist. */
static void *ring_word(mp_queue_t *q, int which) {
  void *w = NULL;
  MP_ASSERT_OK(mp_queue_ring_word(&w, q, which));
  assert_non_null(w);
  return w;
}

static uint64_t ring_value(mp_queue_t *q, int which) {
  uint64_t v = 0;
  MP_ASSERT_OK(mp_queue_ring_value(&v, q, which));
  return v;
}

#define RING64(q, which) ((uint64_t *)ring_word((q), (which)))
#define RING32(q, which) ((uint32_t *)ring_word((q), (which)))

/* mp_queue_ring_word/_value: the words of a binding's own put and get,
 * each as the library itself moves it; and a put made on the ring by
 * hand, with the steps multiproc/queue.h gives, reaching a consumer asleep
 * in mp_queue_get_into only through mp_queue_ring_wake (nothing else
 * wakes it: its wait has no time limit). */
static void test_queue_ring_words_and_wake(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 8192, MP_QUEUE_JOINABLE));
  void *w = &w;
  uint64_t v = 77;
  assert_int_equal(mp_queue_ring_word(&w, q, MP_RING_GOT_NOT_DONE + 1), MP_EINVAL);
  assert_int_equal(mp_queue_ring_word(&w, q, -1), MP_EINVAL);
  assert_ptr_equal(w, &w); /* untouched */
  assert_int_equal(mp_queue_ring_value(&v, q, MP_RING_TOKEN + 1), MP_EINVAL);
  assert_int_equal(v, 77);
  assert_int_equal(mp_queue_ring_word(NULL, q, MP_RING_TAIL), MP_EINVAL);
  assert_int_equal(mp_queue_ring_value(NULL, q, MP_RING_CAPACITY), MP_EINVAL);
  assert_int_equal(mp_queue_ring_wake(NULL, MP_QUEUE_RING_PUT), MP_EINVAL);
  assert_int_equal(mp_queue_ring_wake(q, 0), MP_EINVAL);
  assert_int_equal(ring_value(q, MP_RING_PROTOCOL), MP_QUEUE_RING_PROTOCOL);
  assert_int_equal(ring_value(q, MP_RING_JOINABLE), 1);
  assert_int_equal(ring_value(q, MP_RING_CAPACITY), 8192);
  assert_int_equal(ring_value(q, MP_RING_MAX_WHOLE), 8192 / 4 - 24);
  assert_int_equal(ring_value(q, MP_RING_MAX_ITEMS), 0);
  uint64_t token = ring_value(q, MP_RING_TOKEN);
  assert_true(token != 0);
  for (int which = MP_RING_DATA; which <= MP_RING_GOT_NOT_DONE; ++which) ring_word(q, which);
  char *ring = ring_word(q, MP_RING_DATA);
  assert_int_equal(*(unsigned char *)ring_word(q, MP_RING_PARKED), 0);
  assert_int_equal(*RING64(q, MP_RING_PUT_OWNER), 0);
  assert_int_equal(*RING64(q, MP_RING_GET_OWNER), 0);

  /* The library's put and get move the words. */
  PUT_STR(q, "0123456789");
  assert_int_equal(*RING64(q, MP_RING_PUTS) - *RING64(q, MP_RING_GETS), 1);
  assert_int_equal(*RING64(q, MP_RING_TAIL), 40); /* a 24-byte header and 10 bytes, 8-aligned */
  assert_int_equal(*RING64(q, MP_RING_UNFINISHED), 1);
  uint32_t kind, len;
  memcpy(&kind, ring, 4);
  memcpy(&len, ring + 4, 4);
  assert_int_equal(kind, 1);
  assert_int_equal(len, 10);
  assert_memory_equal(ring + 24, "0123456789", 10);
  expect_msg(q, "0123456789", 10, 0);
  assert_int_equal(*RING64(q, MP_RING_HEAD), 40);
  assert_int_equal(*RING64(q, MP_RING_GETS), 1);
  assert_int_equal(*RING64(q, MP_RING_GOT_NOT_DONE), 1);
  MP_ASSERT_OK(mp_queue_task_done(q));

  /* A forked child is another lock owner. */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    uint64_t child = 0;
    _exit(mp_queue_ring_value(&child, q, MP_RING_TOKEN) == MP_OK && child != token ? 0 : 1);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  /* A consumer asleep; a put by hand; the wake. */
  uint32_t *get_waiters = RING32(q, MP_RING_GET_WAITERS);
  mp_process_t *p = start_target("q_ring_get_one", NULL, 0, MP_START_FORK, &q, 1);
  for (int i = 0; i < 10000 && !__atomic_load_n(get_waiters, __ATOMIC_SEQ_CST); ++i) sleep_ms(1);
  assert_true(__atomic_load_n(get_waiters, __ATOMIC_SEQ_CST) != 0);
  uint64_t *owner = RING64(q, MP_RING_PUT_OWNER), *tailp = RING64(q, MP_RING_TAIL);
  uint64_t free_word = 0;
  assert_true(__atomic_compare_exchange_n(owner, &free_word, token, 0, __ATOMIC_ACQUIRE,
                                          __ATOMIC_RELAXED));
  uint64_t tail = *tailp;
  uint32_t header[6] = {1, 4, 0, 0, 0, 0};
  memcpy(ring + tail % 8192, header, sizeof header);
  memcpy(ring + tail % 8192 + 24, "ring", 4);
  *RING64(q, MP_RING_PUTS) += 1;
  __atomic_add_fetch(RING64(q, MP_RING_UNFINISHED), 1, __ATOMIC_RELAXED);
  __atomic_store_n(tailp, tail + 32, __ATOMIC_RELEASE);
  __atomic_store_n(owner, 0, __ATOMIC_SEQ_CST);
  assert_true(__atomic_load_n(get_waiters, __ATOMIC_SEQ_CST) != 0);
  assert_true(__atomic_load_n(RING32(q, MP_RING_DATA_SEQ), __ATOMIC_SEQ_CST) & 1); /* armed */
  MP_ASSERT_OK(mp_queue_ring_wake(q, MP_QUEUE_RING_PUT));
  join_expect(p, 0);
  assert_int_equal(mp_queue_qsize(q), 0);
  assert_int_equal(*RING64(q, MP_RING_GOT_NOT_DONE), 1); /* the child's get, not yet done */
  MP_ASSERT_OK(mp_queue_ring_wake(q, MP_QUEUE_RING_GET)); /* nobody waits: nothing */
  mp_queue_free(q);
}

static void test_queue_bad_args(void **state) {
  (void)state;
  mp_queue_t *q = (mp_queue_t *)&q;
  MP_ASSERT_ERR(mp_queue_new(NULL, 0, 0, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_new(&q, 0, 0, 7), MP_EINVAL);
  assert_null(q);
  q = (mp_queue_t *)&q;
  MP_ASSERT_ERR(mp_queue_new(&q, 0, 0, 2), MP_EINVAL);
  assert_null(q);
  MP_ASSERT_ERR(mp_queue_new(&q, 0, 0, -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_new(&q, 0, 100, 0), MP_EINVAL);
  assert_null(q);
  MP_ASSERT_ERR(mp_queue_new(&q, 0, ((size_t)16 << 30) + 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_new(&q, 0, SIZE_MAX, 0), MP_EINVAL);
  assert_null(q);

  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, MP_QUEUE_JOINABLE));
  char buf[8];
  void *out = (void *)&out;
  size_t n = 0;
  MP_ASSERT_ERR(mp_queue_put(NULL, "x", 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_put(q, NULL, 5, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_put(q, "x", 1, -5), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_put(q, "x", 1, -2), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_put(q, "x", 1, INT64_MIN), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_get(NULL, &n, q, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_get(&out, NULL, q, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_get(&out, &n, NULL, 0), MP_EINVAL);
  assert_null(out);
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, -5), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_get_into(NULL, q, buf, sizeof buf, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_get_into(&n, NULL, buf, sizeof buf, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_get_into(&n, q, NULL, 8, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_get_into(&n, q, buf, sizeof buf, -5), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_qsize(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_empty(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_full(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_close(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_task_done(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_join(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_join(q, -5), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_fileno(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_from_fd(NULL, 0), MP_EINVAL);
  /* the refusals did not touch the queue */
  assert_int_equal(mp_queue_qsize(q), 0);
  MP_ASSERT_OK(mp_queue_join(q, 0));
  mp_queue_free(q);

  /* a garbage handle (zeroed memory) is refused where detectable */
  static unsigned char fake[1 << 16];
  MP_ASSERT_ERR(mp_queue_qsize((mp_queue_t *)fake), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_put((mp_queue_t *)fake, "x", 1, 0), MP_EINVAL);
  mp_queue_free(NULL);
}

/* max_bytes: "at least 4096, at most 16 GiB" (0 = 1 MiB). */
static void test_queue_new_max_bytes_limits(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 4096, 0)); /* the smallest ring */
  mp_queue_free(q);
  MP_ASSERT_OK(mp_queue_new(&q, 0, 4097, 0));
  mp_queue_free(q);
  q = (mp_queue_t *)&q;
  int r = mp_queue_new(&q, 0, 4095, 0);
  if (r == MP_OK) mp_queue_free(q);
  if (r != MP_EINVAL)
    fail_msg("mp_queue_new(max_bytes 4095) = %s, expected EINVAL",
             mp_err_name(r));
  assert_null(q);
  for (size_t b = 1; b < 4096; b = b * 2 + 1) {
    r = mp_queue_new(&q, 0, b, 0);
    if (r == MP_OK) mp_queue_free(q);
    if (r != MP_EINVAL)
      fail_msg("mp_queue_new(max_bytes %zu) = %s, expected EINVAL", b,
               mp_err_name(r));
  }
}

/* ------------------------------------------------------------------------
 * Resources
 * ---------------------------------------------------------------------- */

struct names {
  char **v;
  size_t n;
};

static struct names list_dir(const char *path) {
  struct names r = {NULL, 0};
  DIR *d = opendir(path);
  if (!d) return r;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char **v = realloc(r.v, (r.n + 1) * sizeof *v);
    if (!v) break;
    r.v = v;
    r.v[r.n++] = strdup(e->d_name);
  }
  closedir(d);
  return r;
}

static int names_has(const struct names *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] && strcmp(s->v[i], name) == 0) return 1;
  return 0;
}

static void names_free(struct names *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
}

static void test_queue_no_descriptor_or_shm_leak(void **state) {
  (void)state;
  /* warm up anything the library sets up once */
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_queue_free(q);
  int fds_before = count_open_fds();
  struct names shm_before = list_dir("/dev/shm");
  for (int i = 0; i < 50; i++) {
    MP_ASSERT_OK(mp_queue_new(&q, (size_t)(i % 3), i % 2 ? 4096 : 0,
                              i % 4 == 0 ? MP_QUEUE_JOINABLE : 0));
    int fd = mp_queue_fileno(q);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    PUT_STR(q, "x");
    EXPECT_STR(q, "x");
    if (i % 5 == 0) {
      /* a second handle on the same queue, through a copy of its fd */
      int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
      assert_true(dup_fd >= 0);
      mp_queue_t *q2 = NULL;
      MP_ASSERT_OK(mp_queue_from_fd(&q2, dup_fd));
      PUT_STR(q2, "y");
      EXPECT_STR(q, "y");
      mp_queue_free(q2);
    }
    if (i % 7 == 0) MP_ASSERT_OK(mp_queue_close(q));
    mp_queue_free(q);
  }
  ASSERT_NO_FD_LEAK(fds_before);
  struct names shm_after = list_dir("/dev/shm");
  for (size_t i = 0; i < shm_after.n; i++)
    if (shm_after.v[i] && !names_has(&shm_before, shm_after.v[i])) {
      char name[256];
      snprintf(name, sizeof name, "%s", shm_after.v[i]);
      names_free(&shm_before);
      names_free(&shm_after);
      fail_msg("/dev/shm/%s appeared", name);
    }
  names_free(&shm_before);
  names_free(&shm_after);
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

int main(int argc, char **argv) {
  if (mp_register("q_seq_producer", t_seq_producer, NULL) != MP_OK ||
      mp_register("q_mpmc_producer", t_num_producer, NULL) != MP_OK ||
      mp_register("q_mpmc_consumer", t_mpmc_consumer, NULL) != MP_OK ||
      mp_register("q_seed_producer", t_seed_producer, NULL) != MP_OK ||
      mp_register("q_seed_consumer", t_seed_consumer, NULL) != MP_OK ||
      mp_register("q_blocked_get", t_blocked_get, NULL) != MP_OK ||
      mp_register("q_ring_get_one", t_ring_get_one, NULL) != MP_OK ||
      mp_register("q_task_consumer", t_task_consumer, NULL) != MP_OK ||
      mp_register("q_tiny_producer", t_tiny_producer, NULL) != MP_OK) {
    fprintf(stderr, "mp_register: %s\n", mp_last_error());
    return 1;
  }
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 1;
  }
  if (argc >= 2 && strcmp(argv[1], "--queue-child") == 0)
    return queue_child_main();
  if (argc >= 2 && strcmp(argv[1], "--fd-child") == 0)
    return fd_child_main();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_no_descriptor_or_shm_leak),
      cmocka_unit_test(test_queue_put_get_roundtrip),
      cmocka_unit_test(test_queue_fifo_single_producer),
      cmocka_unit_test(test_queue_fifo_wraparound_small_ring),
      cmocka_unit_test(test_queue_empty_message),
      cmocka_unit_test(test_queue_get_buffer_nul_terminated),
      cmocka_unit_test(test_queue_get_into_exact_size),
      cmocka_unit_test(test_queue_get_into_too_small_enospc),
      cmocka_unit_test(test_queue_get_timeouts),
      cmocka_unit_test(test_queue_maxsize_put_timeouts),
      cmocka_unit_test(test_queue_qsize_empty_full_follow),
      cmocka_unit_test(test_queue_full_means_a_whole_put_fits),
      cmocka_unit_test(test_queue_max_bytes_bounds_queue),
      cmocka_unit_test(test_queue_large_64mib_through_1mib_fork),
      cmocka_unit_test(test_queue_large_64mib_through_1mib_spawn),
      cmocka_unit_test(test_queue_chunk_boundary_sizes_in_order),
      cmocka_unit_test(test_queue_get_timeout_mid_large_message_keeps_it),
      cmocka_unit_test(test_queue_get_nowait_mid_large_message_keeps_it),
      cmocka_unit_test(test_queue_mpmc_processes_exactly_once_fifo),
      cmocka_unit_test(test_queue_mpmc_streamed_messages_small_ring),
      cmocka_unit_test(test_queue_mpmc_ring_not_power_of_two),
      cmocka_unit_test(test_queue_many_roundtrip_limits_and_enospc),
      cmocka_unit_test(test_queue_many_mixes_with_single_calls),
      cmocka_unit_test(test_queue_many_full_puts_a_prefix),
      cmocka_unit_test(test_queue_many_get_timeouts),
      cmocka_unit_test(test_queue_many_close_wakes_blocked_put_many),
      cmocka_unit_test(test_queue_many_joinable_counts_each_message),
      cmocka_unit_test(test_queue_mpmc_batches_exactly_once_fifo),
      cmocka_unit_test(test_queue_mpmc_threads_exactly_once_fifo),
      cmocka_unit_test(test_queue_blocked_get_woken_by_last_put_process),
      cmocka_unit_test(test_queue_blocked_get_woken_by_last_put_thread),
      cmocka_unit_test(test_queue_idle_blocked_consumer_uses_no_cpu),
      cmocka_unit_test(test_queue_close_drains_then_closed),
      cmocka_unit_test(test_queue_close_seed_3_producers_2_consumers),
      cmocka_unit_test(test_queue_close_wakes_blocked_get_threads),
      cmocka_unit_test(test_queue_close_wakes_blocked_get_process),
      cmocka_unit_test(test_queue_close_wakes_blocked_put),
      cmocka_unit_test(test_queue_joinable_task_done_and_join),
      cmocka_unit_test(test_queue_join_not_joinable_estate),
      cmocka_unit_test(test_queue_join_across_processes),
      cmocka_unit_test(test_queue_from_fd_rejects_garbage),
      cmocka_unit_test(test_queue_pass_queue_to_command),
      cmocka_unit_test(test_queue_pass_fd_lock_and_dict),
      cmocka_unit_test(test_queue_inherit_unknown_name_enoent),
      cmocka_unit_test(test_queue_pass_queue_names),
      cmocka_unit_test(test_queue_bad_args),
      cmocka_unit_test(test_queue_ring_words_and_wake),
      cmocka_unit_test(test_queue_new_max_bytes_limits),
  };
  return MP_RUN_TESTS(tests);
}
