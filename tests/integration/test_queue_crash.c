/* Queue robustness (include/multiproc.h: "A producer or consumer killed in
 * the middle of a put or get loses at most the message it was moving; the
 * queue stays usable"): a producer SIGKILLed in the middle of a large put,
 * a consumer SIGKILLed in the middle of a large get, producers and
 * consumers killed at random moments (nothing duplicated, at most the one
 * message in flight lost; with put_many / get_many, a killed producer's
 * messages still form a prefix and a killed consumer loses at most the
 * batch it held), waiters killed asleep leave a live waiter beside them
 * woken, and queues whose other users died — the holder,
 * a blocked waiter, the creator itself — still work, close and free.
 *
 * Every target is registered before mp_main() so that MP_START_SPAWN
 * children (re-executions of this program) find it. Every child is a
 * daemon, so that a failed test never leaves one behind. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "queuetest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

static unsigned g_seed; /* for the random kill moments; in failure messages */

/* ------------------------------------------------------------------------
 * Utilities
 * ---------------------------------------------------------------------- */

/* Read exactly len bytes within timeout_ms: 1 done, 0 EOF, -1 timeout or
 * error. */
static int read_full(int fd, void *buf, size_t len, int timeout_ms) {
  unsigned char *p = buf;
  size_t got = 0;
  int64_t deadline = now_ms() + timeout_ms;
  while (got < len) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return -1;
    struct pollfd pfd = {fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    ssize_t n = read(fd, p + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return got == 0 ? 0 : -1;
    got += (size_t)n;
  }
  return 1;
}

/* The queue still works both ways and holds nothing else. */
static void expect_usable_and_empty(mp_queue_t *q) {
  void *out = NULL;
  size_t n = 0;
  int r = mp_queue_get(&out, &n, q, 0);
  if (r == MP_OK) {
    mp_free(out);
    fail_msg("a stray %zu-byte message is still queued", n);
  }
  MP_ASSERT_ERR(r, MP_EEMPTY);
  MP_ASSERT_OK(mp_queue_put(q, "probe", 5, LONG_MS));
  EXPECT_STR(q, "probe");
  assert_int_equal(mp_queue_qsize(q), 0);
  assert_int_equal(mp_queue_empty(q), 1);
}

/* ------------------------------------------------------------------------
 * Children
 * ---------------------------------------------------------------------- */

static void sleep_forever(void) {
  for (;;) sleep_ms(1000);
}

/* Puts one message of `big` pattern bytes (if big > 0; seed 0), then
 * "<prefix>-1" .. "<prefix>-<nsmall>". Exit 0 if every small put worked;
 * the big put's result is only reported (its consumer may have died). */
struct prod_arg {
  uint64_t big;
  uint32_t nsmall;
  char prefix[20];
};

static int t_producer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  struct prod_arg a;
  if (arg_len != sizeof a) return 10;
  memcpy(&a, arg, sizeof a);
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  if (a.big > 0) {
    unsigned char *buf = malloc((size_t)a.big);
    if (!buf) return 12;
    pattern_fill(buf, (size_t)a.big, 0);
    int r = mp_queue_put(q, buf, (size_t)a.big, MP_FOREVER);
    if (r != MP_OK) child_report("big put (its consumer died)", r);
    free(buf);
  }
  char prefix[sizeof a.prefix + 1];
  snprintf(prefix, sizeof prefix, "%.*s-", (int)sizeof a.prefix - 1, a.prefix);
  int r = put_counted(q, prefix, 1, a.nsmall);
  if (r != MP_OK) child_report("small put", r);
  mp_queue_free(q);
  return r == MP_OK ? 0 : 13;
}

/* Writes 'S' to the pipe (fd 1), gets one message, then writes 'D' and the
 * result code, and sleeps until it is killed. */
static int t_get_one(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_queue_t *q = child_queue(0);
  int wfd = mp_child_fd(1);
  if (!q || wfd < 0) return 11;
  if (write_all(wfd, "S", 1) != 0) return 12;
  void *out = NULL;
  size_t n = 0;
  int r = mp_queue_get(&out, &n, q, MP_FOREVER);
  mp_free(out);
  char done[2] = {'D', (char)(-r)};
  write_all(wfd, done, 2);
  sleep_forever();
  return 0;
}

/* Gets numbered messages until MP_ECLOSED and writes (consumer index, seq)
 * for each to the pipe (fd 1): 8 bytes, an atomic pipe write. */
static int t_num_consumer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  struct num_arg a;
  if (arg_len != sizeof a) return 10;
  memcpy(&a, arg, sizeof a);
  mp_queue_t *q = child_queue(0);
  int wfd = mp_child_fd(1);
  if (!q || wfd < 0) return 11;
  static unsigned char buf[NUM_MANY_MAX * NUM_MAX];
  size_t lens[NUM_MANY_MAX];
  int rc = 0;
  while (rc == 0) {
    size_t count = 1;
    int r = a.many ? mp_queue_get_many(&count, q, buf, sizeof buf, lens, a.many, LONG_MS)
                   : mp_queue_get_into(&lens[0], q, buf, NUM_MAX, LONG_MS);
    if (r == MP_ECLOSED) break;
    if (r != MP_OK) {
      child_report("get", r);
      rc = 12;
      break;
    }
    const unsigned char *at = buf;
    for (size_t i = 0; i < count && rc == 0; at += lens[i], i++) {
      uint32_t id, seq;
      if (num_decode(at, lens[i], &id, &seq) != 0) {
        fprintf(stderr, "child: a malformed %zu-byte message\n", lens[i]);
        rc = 13;
      }
      uint32_t rec[2] = {a.id, seq};
      if (rc == 0 && write_all(wfd, rec, sizeof rec) != 0) rc = 14;
    }
  }
  close(wfd);
  mp_queue_free(q);
  return rc;
}

/* Puts "held-1" and "held-2", then holds the queue until killed. */
static int t_holder(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  if (mp_queue_put(q, "held-1", 6, LONG_MS) != MP_OK) return 12;
  if (mp_queue_put(q, "held-2", 6, LONG_MS) != MP_OK) return 13;
  sleep_forever();
  return 0;
}

/* Puts "first" (which fills a maxsize-1 queue), then blocks putting
 * "second" until killed. */
static int t_blocked_putter(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  if (mp_queue_put(q, "first", 5, LONG_MS) != MP_OK) return 12;
  mp_queue_put(q, "second", 6, MP_FOREVER);
  sleep_forever();
  return 0;
}

/* Blocks in get(MP_FOREVER) until killed. */
static int t_blocked_getter(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_queue_t *q = child_queue(0);
  if (!q) return 11;
  void *out = NULL;
  size_t n = 0;
  mp_queue_get(&out, &n, q, MP_FOREVER);
  mp_free(out);
  sleep_forever();
  return 0;
}

/* Creates a queue, puts "from-creator", sends the queue's descriptor over
 * the Unix socket at fd 0 (SCM_RIGHTS), then sleeps until killed. */
static int t_creator(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  int sock = mp_child_fd(0);
  if (sock < 0) return 11;
  mp_queue_t *q = NULL;
  int r = mp_queue_new(&q, 0, 1 << 16, 0);
  if (r != MP_OK) {
    child_report("new", r);
    return 12;
  }
  if (mp_queue_put(q, "from-creator", 12, LONG_MS) != MP_OK) return 13;
  int qfd = mp_queue_fileno(q);
  char byte = 'Q';
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &qfd, sizeof(int));
  if (sendmsg(sock, &msg, 0) != 1) return 14;
  sleep_forever();
  return 0;
}

/* ------------------------------------------------------------------------
 * A producer killed in the middle of a large put
 * ---------------------------------------------------------------------- */

static void producer_killed_mid_put(int method) {
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 1 << 16, 0));
  struct prod_arg big = {32 * MIB, 0, "unused"};
  mp_process_t *p = start_target("qc_producer", &big, sizeof big, method, &q, 1);
  wait_for_first_bytes(q);
  assert_int_equal(mp_process_is_alive(p), 1); /* blocked: nobody reads */
  kill_and_join(p);

  struct prod_arg after = {0, 100, "after"};
  mp_process_t *a =
      start_target("qc_producer", &after, sizeof after, MP_START_FORK, &q, 1);
  for (int i = 1; i <= 100; i++) {
    char want[32];
    snprintf(want, sizeof want, "after-%d", i);
    void *out = NULL;
    size_t n = 0;
    int r = mp_queue_get(&out, &n, q, 10000);
    if (r != MP_OK)
      fail_msg("get #%d after the kill = %s: %s", i, mp_err_name(r),
               mp_last_error());
    int same = n == strlen(want) && memcmp(out, want, n) == 0;
    mp_free(out);
    if (!same)
      fail_msg("get #%d after the kill: a %zu-byte message, expected \"%s\""
               " (a torn message was delivered, or one was lost)",
               i, n, want);
  }
  join_expect(a, 0);
  expect_usable_and_empty(q);
  mp_queue_free(q);
}

static void test_queue_producer_killed_mid_large_put_fork(void **state) {
  (void)state;
  producer_killed_mid_put(MP_START_FORK);
}

static void test_queue_producer_killed_mid_large_put_spawn(void **state) {
  (void)state;
  producer_killed_mid_put(MP_START_SPAWN);
}

/* ------------------------------------------------------------------------
 * A consumer killed in the middle of a large get
 * ---------------------------------------------------------------------- */

/* The producer of a 64 MiB message (then 50 small ones) is stopped while
 * its message fills the 1 MiB ring; a consumer starts getting it, takes
 * what is there and waits for the rest; it is killed there. The producer
 * goes on: everyone else gets the 50 small messages, in order, and never a
 * part of the large one. */
static void test_queue_consumer_killed_mid_large_get(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, MIB, 0));
  struct prod_arg pa = {64 * MIB, 50, "small"};
  mp_process_t *p =
      start_target("qc_producer", &pa, sizeof pa, MP_START_FORK, &q, 1);
  wait_for_first_bytes(q);
  MP_ASSERT_OK(mp_process_signal(p, SIGSTOP, 0));

  int pfd[2];
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  int fds[2] = {mp_queue_fileno(q), pfd[1]};
  mp_process_t *c = start_target_fds("qc_get_one", NULL, 0, MP_START_FORK, fds, 2);
  close(pfd[1]);
  char s = 0;
  assert_int_equal(read_full(pfd[0], &s, 1, LONG_MS), 1);
  assert_int_equal(s, 'S');
  sleep_ms(300); /* it takes what the ring holds, then waits for more */
  struct pollfd pl = {pfd[0], POLLIN, 0};
  if (poll(&pl, 1, 0) == 1) {
    char d[2] = {0, 0};
    read_full(pfd[0], d, 2, 1000);
    MP_ASSERT_OK(mp_process_signal(p, SIGCONT, 0));
    fail_msg("the consumer's get returned (%s) while the producer of the "
             "64 MiB message was stopped", mp_err_name(-(int)d[1]));
  }
  kill_and_join(c);
  close(pfd[0]);
  MP_ASSERT_OK(mp_process_signal(p, SIGCONT, 0));

  for (int i = 1; i <= 50; i++) {
    char want[32];
    snprintf(want, sizeof want, "small-%d", i);
    void *out = NULL;
    size_t n = 0;
    int r = mp_queue_get(&out, &n, q, 20000);
    if (r != MP_OK)
      fail_msg("get of small-%d after the consumer's death = %s: %s", i,
               mp_err_name(r), mp_last_error());
    if (i == 1 && n == 64 * MIB) {
      /* "loses at most the message it was moving": the whole message
       * again would be allowed, never a part of it */
      size_t bad = pattern_check(out, n, 0);
      mp_free(out);
      if (bad != n) fail_msg("a torn 64 MiB message (differs at %zu)", bad);
      i--;
      continue;
    }
    int same = n == strlen(want) && memcmp(out, want, n) == 0;
    mp_free(out);
    if (!same)
      fail_msg("got a %zu-byte message, expected \"%s\" (a part of the torn "
               "message was delivered, or a message was lost)", n, want);
  }
  join_expect(p, 0);
  expect_usable_and_empty(q);
  mp_queue_free(q);
}

/* A reader parked in the middle of a large message (its get timed out)
 * whose producer then dies: the ABORT that the next producer appends for
 * that message belongs to the parked reader. Another consumer that took it
 * (it did until 0.4) left the parked reader waiting for the rest forever,
 * and its gets timed out for good even after the close (the soak's
 * consumer that never ended). Now the other consumer waits behind the
 * parked reader, which gets the ABORT, drops its partial message and goes
 * on with the next message. */
static void test_queue_abort_left_for_parked_reader(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 1 << 16, 0));
  struct prod_arg big = {32 * MIB, 0, "unused"};
  mp_process_t *w = start_target("qc_producer", &big, sizeof big, MP_START_FORK, &q, 1);
  wait_for_first_bytes(q);
  MP_ASSERT_OK(mp_process_signal(w, SIGSTOP, 0));
  void *out = NULL;
  size_t n = 0;
  /* Takes the chunks in the ring, then times out: parked mid-message. */
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, 100), MP_ETIMEDOUT);
  kill_and_join(w);

  /* The next producer finds the dead streamer, appends the ABORT, then
   * its own message. */
  struct prod_arg after = {0, 1, "after"};
  join_expect(start_target("qc_producer", &after, sizeof after, MP_START_FORK, &q, 1), 0);

  int pfd[2];
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  int fds[2] = {mp_queue_fileno(q), pfd[1]};
  mp_process_t *c = start_target_fds("qc_get_one", NULL, 0, MP_START_FORK, fds, 2);
  close(pfd[1]);
  char started = 0;
  assert_int_equal(read_full(pfd[0], &started, 1, LONG_MS), 1);
  char done[2] = {0, 0};
  if (read_full(pfd[0], done, 2, 300) == 1)
    fail_msg("the other consumer's get returned (%s) past the parked message's ABORT",
             mp_err_name(-(int)done[1]));

  int r = mp_queue_get(&out, &n, q, 5000);
  if (r != MP_OK)
    fail_msg("the parked reader's next get = %s (%s): its message's ABORT was taken",
             mp_err_name(r), mp_last_error());
  int same = n == 7 && memcmp(out, "after-1", 7) == 0;
  mp_free(out);
  if (!same) fail_msg("got a %zu-byte message, expected \"after-1\"", n);
  kill_and_join(c);
  close(pfd[0]);
  mp_queue_close(q);
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, 5000), MP_ECLOSED);
  mp_queue_free(q);
}

/* ------------------------------------------------------------------------
 * Repeated kills at random moments
 * ---------------------------------------------------------------------- */

/* Each round: one producer puts numbered messages until it is SIGKILLed at
 * a random moment, another puts a fixed number meanwhile; the parent gets
 * everything. The killed producer's numbers must be exactly 0..k-1 (a
 * prefix: no gap, no duplicate; only what it was putting is lost), the
 * other's all of 0..N-1 in order, and the queue must work afterwards. */
static void producers_killed_rounds(size_t ring, uint32_t many) {
  enum { ROUNDS = 3, N = 3000 };
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, ring, 0));
  static unsigned char buf[NUM_MAX];
  for (uint32_t round = 0; round < ROUNDS; round++) {
    uint32_t kid = 2 * round, sid = 2 * round + 1;
    struct num_arg ka = {kid, 0, many}, sa = {sid, N, many};
    mp_process_t *k =
        start_target("qc_num_producer", &ka, sizeof ka, MP_START_FORK, &q, 1);
    mp_process_t *s = start_target("qc_num_producer", &sa, sizeof sa,
                                       round == 1 ? MP_START_SPAWN
                                                  : MP_START_FORK, &q, 1);
    uint32_t next_k = 0, next_s = 0;
    int killed = 0;
    int64_t kill_at = -1;
    while (!killed || next_s < N) {
      size_t n = 0;
      int r = mp_queue_get_into(&n, q, buf, sizeof buf, 10000);
      if (r != MP_OK)
        fail_msg("ring %zu round %u (seed %u): get = %s after %u+%u "
                 "messages%s: %s", ring, round, g_seed, mp_err_name(r), next_k,
                 next_s, killed ? ", after the kill" : "", mp_last_error());
      uint32_t id, seq;
      if (num_decode(buf, n, &id, &seq) != 0)
        fail_msg("ring %zu round %u (seed %u): a malformed %zu-byte message",
                 ring, round, g_seed, n);
      if (id == kid) {
        if (seq != next_k)
          fail_msg("ring %zu round %u (seed %u): killed producer's %u, "
                   "expected %u", ring, round, g_seed, seq, next_k);
        next_k++;
      } else if (id == sid) {
        if (seq != next_s)
          fail_msg("ring %zu round %u (seed %u): producer's %u, expected %u",
                   ring, round, g_seed, seq, next_s);
        next_s++;
      } else {
        fail_msg("ring %zu round %u: a message of producer %u", ring, round,
                 id);
      }
      if (!killed && kill_at < 0 && next_k >= 1)
        kill_at = now_ms() + rand_r(&g_seed) % 40;
      if (!killed && kill_at >= 0 && now_ms() >= kill_at) {
        MP_ASSERT_OK(mp_process_kill(k));
        killed = 1;
      }
    }
    join_expect(k, -SIGKILL);
    join_expect(s, 0);
    /* what the killed producer committed before it died is still there;
     * its torn message, if any, is dropped (give the queue time to find
     * out that its writer died) */
    for (;;) {
      size_t n = 0;
      int r = mp_queue_get_into(&n, q, buf, sizeof buf, 300);
      if (r == MP_EEMPTY || r == MP_ETIMEDOUT) break;
      if (r != MP_OK)
        fail_msg("ring %zu round %u: draining get = %s: %s", ring, round,
                 mp_err_name(r), mp_last_error());
      uint32_t id, seq;
      if (num_decode(buf, n, &id, &seq) != 0 || id != kid || seq != next_k)
        fail_msg("ring %zu round %u (seed %u): drained a %zu-byte message "
                 "(%u, %u), expected (%u, %u)", ring, round, g_seed, n, id,
                 seq, kid, next_k);
      next_k++;
    }
    expect_usable_and_empty(q);
  }
  mp_queue_free(q);
}

static void test_queue_producers_killed_repeatedly_small_ring(void **state) {
  (void)state;
  producers_killed_rounds(4096, 0);
}

static void test_queue_producers_killed_repeatedly_64k_ring(void **state) {
  (void)state;
  producers_killed_rounds(1 << 16, 0);
}

/* The same with put_many of up to 32 messages (a batch is published at
 * once, so a killed producer's numbers still form a prefix), on the
 * smallest ring (streamed messages inside batches) and a 64 KiB one. */
static void test_queue_put_many_producers_killed_repeatedly(void **state) {
  (void)state;
  producers_killed_rounds(4096, 32);
  producers_killed_rounds(1 << 16, 7);
}

/* Each round: a producer puts N numbered messages; a consumer (the victim)
 * gets them and reports every number to the parent through a pipe; once it
 * has reported a random number of them a second consumer starts, and the
 * victim is SIGKILLed a random moment later, while both compete. Over both
 * consumers no number comes twice, each consumer's numbers increase, and at
 * most one number (the message the victim was moving, or had got and not
 * yet reported) is missing. */
static void consumers_killed_rounds(uint32_t many) {
  enum { ROUNDS = 3, N = 6000 };
  size_t may_lose = many ? many : 1; /* a batch got and not yet reported */
  for (int round = 0; round < ROUNDS; round++) {
    mp_queue_t *q = NULL;
    MP_ASSERT_OK(mp_queue_new(&q, 0, 4096, 0));
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    int fds[2] = {mp_queue_fileno(q), pfd[1]};
    struct num_arg c0 = {0, 0, many}, c1 = {1, 0, many}, pa = {0, N, 0};
    mp_process_t *victim =
        start_target_fds("qc_num_consumer", &c0, sizeof c0, MP_START_FORK, fds, 2);
    mp_process_t *p =
        start_target("qc_num_producer", &pa, sizeof pa, MP_START_FORK, &q, 1);
    mp_process_t *survivor = NULL;
    size_t start_survivor_at = 1 + rand_r(&g_seed) % (N / 3);
    unsigned char *seen = calloc(N, 1);
    assert_non_null(seen);
    int64_t last[2] = {-1, -1};
    size_t total = 0, per[2] = {0, 0};
    int killed = 0, closed = 0;
    int64_t kill_at = -1, round_deadline = now_ms() + 60000;
    for (;;) {
      if (!survivor && total >= start_survivor_at) {
        survivor = start_target_fds("qc_num_consumer", &c1, sizeof c1,
                                MP_START_FORK, fds, 2);
        close(pfd[1]);
        pfd[1] = -1;
        kill_at = now_ms() + rand_r(&g_seed) % 30;
      }
      if (!killed && kill_at >= 0 && now_ms() >= kill_at) {
        MP_ASSERT_OK(mp_process_kill(victim));
        killed = 1;
      }
      if (killed && !closed && mp_process_join(p, 0) == MP_OK) {
        /* every message was put: the survivor drains the rest and stops */
        MP_ASSERT_OK(mp_queue_close(q));
        closed = 1;
      }
      uint32_t rec[2];
      int r = read_full(pfd[0], rec, sizeof rec, survivor ? 20 : 20000);
      if (r == 0) break; /* both consumers are gone */
      if (r < 0 && survivor && now_ms() < round_deadline) continue;
      if (r < 0) {
        free(seen);
        fail_msg("round %d (seed %u): no report from the consumers (%zu "
                 "numbers so far; victim %zu, survivor %zu; killed %d, "
                 "closed %d)", round, g_seed, total, per[0], per[1], killed,
                 closed);
      }
      uint32_t who = rec[0], seq = rec[1];
      if (who > 1 || seq >= N || seen[seq] || (int64_t)seq <= last[who]) {
        free(seen);
        fail_msg("round %d (seed %u): consumer %u reported %u (seen before: "
                 "%d)", round, g_seed, who, seq, seq < N ? seen[seq] : -1);
      }
      seen[seq] = 1;
      last[who] = seq;
      per[who]++;
      total++;
    }
    close(pfd[0]);
    free(seen);
    if (total + may_lose < N)
      fail_msg("round %d (seed %u): %zu of %d numbers delivered (victim %zu, "
               "survivor %zu): more than the %zu in flight were lost", round,
               g_seed, total, (int)N, per[0], per[1], may_lose);
    join_expect(victim, -SIGKILL);
    join_expect(survivor, 0);
    join_expect(p, 0);
    /* closed and drained: nothing left, and the end of the stream */
    assert_int_equal(mp_queue_qsize(q), 0);
    void *out = NULL;
    size_t n = 0;
    MP_ASSERT_ERR(mp_queue_get(&out, &n, q, 0), MP_ECLOSED);
    mp_queue_free(q);
  }
}

static void test_queue_consumers_killed_repeatedly(void **state) {
  (void)state;
  consumers_killed_rounds(0);
}

/* The same with consumers taking up to 16 messages per mp_queue_get_many:
 * a killed victim loses at most the batch it had got and not reported. */
static void test_queue_get_many_consumers_killed_repeatedly(void **state) {
  (void)state;
  consumers_killed_rounds(16);
}

/* ------------------------------------------------------------------------
 * Queues whose other users died
 * ---------------------------------------------------------------------- */

/* A child that holds the queue (it put two messages) is killed: the
 * parent still gets what it put, and the queue works for the parent and
 * for a new child. */
static void test_queue_usable_after_holder_child_dies(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_process_t *h = start_target("qc_holder", NULL, 0, MP_START_FORK, &q, 1);
  EXPECT_STR(q, "held-1");
  int64_t t0 = now_ms();
  while (mp_queue_qsize(q) < 1 && now_ms() - t0 < LONG_MS) sleep_ms(5);
  kill_and_join(h);
  EXPECT_STR(q, "held-2");
  expect_usable_and_empty(q);
  struct prod_arg pa = {0, 3, "next"};
  mp_process_t *p =
      start_target("qc_producer", &pa, sizeof pa, MP_START_SPAWN, &q, 1);
  EXPECT_STR(q, "next-1");
  EXPECT_STR(q, "next-2");
  EXPECT_STR(q, "next-3");
  join_expect(p, 0);
  expect_usable_and_empty(q);
  MP_ASSERT_OK(mp_queue_close(q));
  mp_queue_free(q);
}

/* The only other user died blocked in a put (on a full queue) or in a get:
 * the parent gets what was committed, nothing of the withdrawn put, and
 * can close and free the queue without hanging. */
static void test_queue_close_and_free_after_only_other_user_died(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 1, 0, 0));
  mp_process_t *w =
      start_target("qc_blocked_putter", NULL, 0, MP_START_FORK, &q, 1);
  int64_t t0 = now_ms();
  while (mp_queue_qsize(q) < 1 && now_ms() - t0 < LONG_MS) sleep_ms(5);
  sleep_ms(200); /* blocked putting "second" */
  kill_and_join(w);
  EXPECT_STR(q, "first");
  void *out = NULL;
  size_t n = 0;
  int r = mp_queue_get(&out, &n, q, 200);
  mp_free(out);
  if (r != MP_ETIMEDOUT)
    fail_msg("after the blocked putter died: get = %s (%zu bytes), expected "
             "ETIMEDOUT", mp_err_name(r), n);
  expect_usable_and_empty(q);
  t0 = now_ms();
  MP_ASSERT_OK(mp_queue_close(q));
  MP_ASSERT_ERR(mp_queue_put(q, "x", 1, LONG_MS), MP_ECLOSED);
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, LONG_MS), MP_ECLOSED);
  assert_true(now_ms() - t0 < 5000);
  mp_queue_free(q);

  MP_ASSERT_OK(mp_queue_new(&q, 0, 4096, MP_QUEUE_JOINABLE));
  mp_process_t *g =
      start_target("qc_blocked_getter", NULL, 0, MP_START_SPAWN, &q, 1);
  sleep_ms(800);
  kill_and_join(g);
  MP_ASSERT_OK(mp_queue_put(q, "for-nobody", 10, LONG_MS));
  MP_ASSERT_ERR(mp_queue_join(q, 100), MP_ETIMEDOUT);
  t0 = now_ms();
  MP_ASSERT_OK(mp_queue_close(q));
  EXPECT_STR(q, "for-nobody");
  MP_ASSERT_ERR(mp_queue_get(&out, &n, q, MP_FOREVER), MP_ECLOSED);
  MP_ASSERT_OK(mp_queue_task_done(q));
  MP_ASSERT_OK(mp_queue_join(q, LONG_MS));
  assert_true(now_ms() - t0 < 5000);
  mp_queue_free(q);
}

/* Start n children of `target` and kill them once they had 300 ms to go
 * to sleep in their blocked put or get. */
static void kill_sleepers(mp_queue_t *q, const char *target, int n) {
  mp_process_t *p[4];
  for (int i = 0; i < n; i++) p[i] = start_target(target, NULL, 0, MP_START_FORK, &q, 1);
  sleep_ms(300);
  for (int i = 0; i < n; i++) kill_and_join(p[i]);
}

/* Waiters killed asleep stay counted and leave the futex word armed (a
 * sleeper arms it, its waker clears it): a live waiter asleep beside them
 * is still woken at once, on both sides. Three dead getters, then three
 * live ones one after the other, each asleep 300 ms before its put; three
 * dead putters on a full queue, then a live one asleep before the get
 * that makes room. 5 s bounds (a missed wake waits forever). */
static void test_queue_wakes_live_waiter_beside_dead_sleepers(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 1, 0, 0));
  kill_sleepers(q, "qc_blocked_getter", 3);
  for (int round = 0; round < 3; round++) {
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    int fds[2] = {mp_queue_fileno(q), pfd[1]};
    mp_process_t *c = start_target_fds("qc_get_one", NULL, 0, MP_START_FORK, fds, 2);
    close(pfd[1]);
    char s = 0, done[2] = {0, 0};
    assert_int_equal(read_full(pfd[0], &s, 1, LONG_MS), 1);
    sleep_ms(300); /* asleep in its get */
    MP_ASSERT_OK(mp_queue_put(q, "live", 4, LONG_MS));
    if (read_full(pfd[0], done, 2, 5000) != 1)
      fail_msg("round %d: a live consumer beside 3 dead ones was not woken by a put", round);
    assert_int_equal(done[0], 'D');
    assert_int_equal(done[1], 0);
    kill_and_join(c);
    close(pfd[0]);
  }
  PUT_STR(q, "full");
  kill_sleepers(q, "qc_blocked_putter", 3);
  struct prod_arg pa = {0, 1, "live"};
  mp_process_t *p = start_target("qc_producer", &pa, sizeof pa, MP_START_FORK, &q, 1);
  sleep_ms(300); /* asleep in its put */
  EXPECT_STR(q, "full");
  void *out = NULL;
  size_t n = 0;
  int r = mp_queue_get(&out, &n, q, 5000);
  mp_free(out);
  if (r != MP_OK)
    fail_msg("a live producer beside 3 dead ones was not woken by a get: %s", mp_err_name(r));
  assert_int_equal(n, 6); /* "live-1" */
  join_expect(p, 0);
  expect_usable_and_empty(q);
  mp_queue_free(q);
}

/* The creator of a queue is SIGKILLed after handing the queue's
 * descriptor to the parent (SCM_RIGHTS): the parent keeps using it. */
static void test_queue_survives_creator_killed(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  mp_process_t *c = start_target_fds("qc_creator", NULL, 0, MP_START_FORK, &sv[1], 1);
  close(sv[1]);
  struct pollfd pl = {sv[0], POLLIN, 0};
  assert_int_equal(poll(&pl, 1, LONG_MS), 1);
  char byte = 0;
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  assert_int_equal(recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC), 1);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  assert_non_null(cm);
  assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
  int qfd = -1;
  memcpy(&qfd, CMSG_DATA(cm), sizeof qfd);
  close(sv[0]);
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_from_fd(&q, qfd));
  kill_and_join(c);
  EXPECT_STR(q, "from-creator");
  expect_usable_and_empty(q);
  struct prod_arg pa = {0, 2, "orphan"};
  mp_process_t *p =
      start_target("qc_producer", &pa, sizeof pa, MP_START_FORK, &q, 1);
  EXPECT_STR(q, "orphan-1");
  EXPECT_STR(q, "orphan-2");
  join_expect(p, 0);
  MP_ASSERT_OK(mp_queue_close(q));
  mp_queue_free(q);
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

int main(int argc, char **argv) {
  if (mp_register("qc_producer", t_producer, NULL) != MP_OK ||
      mp_register("qc_get_one", t_get_one, NULL) != MP_OK ||
      mp_register("qc_num_producer", t_num_producer, NULL) != MP_OK ||
      mp_register("qc_num_consumer", t_num_consumer, NULL) != MP_OK ||
      mp_register("qc_holder", t_holder, NULL) != MP_OK ||
      mp_register("qc_blocked_putter", t_blocked_putter, NULL) != MP_OK ||
      mp_register("qc_blocked_getter", t_blocked_getter, NULL) != MP_OK ||
      mp_register("qc_creator", t_creator, NULL) != MP_OK) {
    fprintf(stderr, "mp_register: %s\n", mp_last_error());
    return 1;
  }
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 1;
  }
  const char *seed = getenv("MP_TEST_SEED");
  g_seed = seed ? (unsigned)strtoul(seed, NULL, 10)
                : (unsigned)time(NULL) ^ (unsigned)getpid();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_producer_killed_mid_large_put_fork),
      cmocka_unit_test(test_queue_producer_killed_mid_large_put_spawn),
      cmocka_unit_test(test_queue_consumer_killed_mid_large_get),
      cmocka_unit_test(test_queue_abort_left_for_parked_reader),
      cmocka_unit_test(test_queue_producers_killed_repeatedly_small_ring),
      cmocka_unit_test(test_queue_producers_killed_repeatedly_64k_ring),
      cmocka_unit_test(test_queue_consumers_killed_repeatedly),
      cmocka_unit_test(test_queue_put_many_producers_killed_repeatedly),
      cmocka_unit_test(test_queue_get_many_consumers_killed_repeatedly),
      cmocka_unit_test(test_queue_usable_after_holder_child_dies),
      cmocka_unit_test(test_queue_close_and_free_after_only_other_user_died),
      cmocka_unit_test(test_queue_survives_creator_killed),
      cmocka_unit_test(test_queue_wakes_live_waiter_beside_dead_sleepers),
  };
  return MP_RUN_TESTS(tests);
}
