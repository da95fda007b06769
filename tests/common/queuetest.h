/* Shared by the queue tests (test_queue: the documented behaviour,
 * test_queue_crash: users killed in the middle): starting a child with
 * queues or other descriptors passed to it, joining it with its exit code
 * checked, a message compared with what it should be, and the numbered
 * messages (producer id, sequence number) with which the many-producer
 * tests check "exactly once, FIFO per producer". Both programs kill and
 * race children the same way, so a fix to these helpers reaches both. */
#ifndef MP_QUEUETEST_H
#define MP_QUEUETEST_H

#include "pattern.h"
#include "testutil.h"

#include <signal.h>

#define LONG_MS 30000 /* generous bound for anything that should be quick */
#define JOIN_MS 60000
#define MIB ((size_t)1 << 20)

/* Start a target child with the descriptors fds passed at indexes 0, 1,
 * ... A daemon, so that a failed test never leaves it behind. */
static inline mp_process_t *start_target_fds(const char *target, const void *arg, size_t len,
                                             int method, const int *fds, size_t nfds) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, target, arg, len));
  MP_ASSERT_OK(mp_process_set_start_method(p, (mp_start_method_t)method));
  MP_ASSERT_OK(mp_process_set_daemon(p, 1));
  for (size_t i = 0; i < nfds; i++) assert_int_equal(mp_process_pass_fd(p, fds[i]), (int)i);
  MP_ASSERT_OK(mp_process_start(p));
  return p;
}

/* The same with the queues qs passed (child_queue(0), child_queue(1), ...). */
static inline mp_process_t *start_target(const char *target, const void *arg, size_t len,
                                         int method, mp_queue_t *const *qs, size_t nq) {
  int fds[4];
  assert_true(nq <= 4);
  for (size_t i = 0; i < nq; i++) {
    fds[i] = mp_queue_fileno(qs[i]);
    assert_true(fds[i] >= 0);
  }
  return start_target_fds(target, arg, len, method, fds, nq);
}

/* Join a child and check its exit code (-signal if a signal ended it);
 * frees it. */
static inline void join_expect(mp_process_t *p, int expected) {
  MP_ASSERT_OK(mp_process_join(p, JOIN_MS));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  if (code != expected)
    fail_msg("child %s exited with %d, expected %d", mp_process_name(p), code, expected);
  mp_process_free(p);
}

static inline void kill_and_join(mp_process_t *p) {
  MP_ASSERT_OK(mp_process_kill(p));
  join_expect(p, -SIGKILL);
}

#define PUT_STR(q, s) MP_ASSERT_OK(mp_queue_put((q), (s), strlen(s), LONG_MS))

/* Get one message and check it equals (buf, len) and is NUL-terminated. */
static inline void expect_msg(mp_queue_t *q, const void *buf, size_t len, int64_t timeout) {
  void *out = NULL;
  size_t n = 12345;
  MP_ASSERT_OK(mp_queue_get(&out, &n, q, timeout));
  assert_non_null(out);
  if (n != len) {
    mp_free(out);
    fail_msg("got a %zu-byte message, expected %zu", n, len);
  }
  if (len && memcmp(out, buf, len) != 0) {
    mp_free(out);
    fail_msg("message differs from the expected %zu bytes", len);
  }
  assert_int_equal(((char *)out)[n], '\0');
  mp_free(out);
}

#define EXPECT_STR(q, s) expect_msg((q), (s), strlen(s), LONG_MS)

/* Put "<prefix><i>" for i = first .. first+count-1: MP_OK or the first
 * error (in a child or a thread: the caller reports it). */
static inline int put_counted(mp_queue_t *q, const char *prefix, uint32_t first, uint32_t count) {
  for (uint32_t i = first; i < first + count; i++) {
    char msg[64];
    int n = snprintf(msg, sizeof msg, "%s%u", prefix, i);
    int r = mp_queue_put(q, msg, (size_t)n, LONG_MS);
    if (r != MP_OK) return r;
  }
  return MP_OK;
}

/* Wait until a message shows in the queue, or up to 1 s, and a little
 * more: a producer of a message larger than the ring is then blocked in
 * the middle of its put. */
static inline void wait_for_first_bytes(mp_queue_t *q) {
  int64_t t0 = now_ms();
  while (mp_queue_qsize(q) < 1 && now_ms() - t0 < 1000) sleep_ms(10);
  sleep_ms(200);
}

/* Numbered messages: (id, seq) and a padding of a length and content
 * derived from both, so that a message is checked whole on arrival. */
#define NUM_MAX 4096
#define NUM_MANY_MAX 64 /* the largest num_arg.many */

/* Every 16th message is 2.5 KB: streamed in pieces through a 4096-byte
 * ring, whole through larger ones. */
static inline size_t num_pad(uint32_t id, uint32_t seq) {
  return seq % 16 == 15 ? 2500 + id % 7 : (seq * 7u + id) % 33u;
}

static inline size_t num_encode(unsigned char *buf, uint32_t id, uint32_t seq) {
  memcpy(buf, &id, 4);
  memcpy(buf + 4, &seq, 4);
  size_t pad = num_pad(id, seq);
  for (size_t i = 0; i < pad; i++) buf[8 + i] = (unsigned char)(id * 31u + seq + i);
  return 8 + pad;
}

/* 0 if (buf, n) is a well-formed numbered message, its (id, seq) out. */
static inline int num_decode(const unsigned char *buf, size_t n, uint32_t *id, uint32_t *seq) {
  *id = *seq = 0; /* named in failure messages even when malformed */
  if (n < 8) return -1;
  memcpy(id, buf, 4);
  memcpy(seq, buf + 4, 4);
  size_t pad = num_pad(*id, *seq);
  if (n != 8 + pad) return -1;
  for (size_t i = 0; i < pad; i++)
    if (buf[8 + i] != (unsigned char)(*id * 31u + *seq + i)) return -1;
  return 0;
}

/* The argument of the numbered producers and consumers. */
struct num_arg {
  uint32_t id;    /* producer id, or consumer index */
  uint32_t count; /* messages to put (a producer; 0: until killed) */
  uint32_t many;  /* 0: one by one; else put_many / get_many of this many */
};

/* Put numbers first .. first+n-1 of producer id with one call: put_many
 * if many (all n must go in), else one put (n is 1). In a child. */
static inline int put_numbered(mp_queue_t *q, uint32_t id, uint32_t first, uint32_t n,
                               uint32_t many) {
  static unsigned char buf[NUM_MANY_MAX][NUM_MAX];
  const void *bufs[NUM_MANY_MAX];
  size_t lens[NUM_MANY_MAX], put = 0;
  for (uint32_t k = 0; k < n; k++) {
    bufs[k] = buf[k];
    lens[k] = num_encode(buf[k], id, first + k);
  }
  int r = many ? mp_queue_put_many(&put, q, bufs, lens, n, LONG_MS)
               : mp_queue_put(q, buf[0], lens[0], LONG_MS);
  if (r != MP_OK || (many && put != n)) {
    child_report(many ? "put_many" : "put", r);
    return r != MP_OK ? r : MP_EINVAL;
  }
  return MP_OK;
}

/* Target: puts a.count numbered messages of producer a.id (until killed if
 * a.count is 0) to queue 0, a.many at a time with put_many (0: one by
 * one). Exit 0, or 12 after a failed put. */
static inline int t_num_producer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  struct num_arg a;
  if (arg_len != sizeof a) return 10;
  memcpy(&a, arg, sizeof a);
  if (a.many > NUM_MANY_MAX) return 10;
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  int rc = 0;
  for (uint32_t s = 0; a.count == 0 || s < a.count;) {
    uint32_t n = a.many ? a.many : 1;
    if (a.count && a.count - s < n) n = a.count - s;
    if (put_numbered(q, a.id, s, n, a.many) != MP_OK) {
      rc = 12;
      break;
    }
    s += n;
  }
  mp_queue_free(q);
  return rc;
}

#endif
