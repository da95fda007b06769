/* Queues on a redis server (issue 16): a real redis-server started on a free
 * loopback port (redis_fixture.h), and mp-redis-peer started as an
 * independent program that opens the queue by address. Covered: put/get
 * between two programs; a consumer SIGKILLed holding a message (redelivered
 * exactly once, delivery count 2), also to a consumer that never finds
 * the queue empty; close, drain, MP_ECLOSED; a joinable
 * queue's join counting a redelivered message once; a body above the
 * threshold stored beside the entry, and the maximum; maxsize and the calls
 * that never wait; the server unreachable at open and killed mid-call;
 * garbage written into our keys by another client; the eviction warning;
 * the calls that make no sense remotely. Skipped (TAP) without
 * redis-server. */
#include "testutil.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <spawn.h>

#include "redis_fixture.h"

static redis_srv g_srv;
static char g_addr[128];

static const char *addr(const char *name) {
  snprintf(g_addr, sizeof g_addr, "redis://127.0.0.1:%d#%s", g_srv.port, name);
  return g_addr;
}

/* A raw client, as another program on the same server would use. */
static redisReply *raw(const char *fmt, const char *arg) {
  redisContext *c = redisConnect("127.0.0.1", g_srv.port);
  assert_non_null(c);
  assert_int_equal(c->err, 0);
  redisReply *r = redisCommand(c, fmt, arg);
  redisFree(c);
  return r;
}

static long long raw_int(const char *fmt, const char *arg) {
  redisReply *r = raw(fmt, arg);
  assert_non_null(r);
  long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
  freeReplyObject(r);
  return v;
}

/* Start mp-redis-peer with args; its stdout on *out_fd. */
static pid_t peer(int *out_fd, const char *mode, const char *a, const char *n, const char *p) {
  const char *path = getenv("MP_REDIS_PEER");
  if (!path) fail_msg("MP_REDIS_PEER is not set; run with meson test");
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  char *argv[] = {(char *)path, (char *)mode, (char *)a, (char *)n, (char *)p, NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, path, &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  *out_fd = fds[0];
  return pid;
}

static void read_line(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, 1);
    if (r <= 0 || buf[n] == '\n') break;
    n++;
  }
  buf[n] = '\0';
}

static int peer_status(pid_t pid) {
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_get(mp_queue_t *q, const char *want, int64_t want_count) {
  void *m;
  size_t n;
  MP_ASSERT_OK(mp_queue_get(&m, &n, q, 15000));
  assert_int_equal(n, strlen(want));
  assert_memory_equal(m, want, n);
  mp_free(m);
  char id[MP_QUEUE_ID_MAX];
  int64_t count = 0;
  MP_ASSERT_OK(mp_queue_last_delivery(&count, id, sizeof id, q));
  assert_int_equal(count, want_count);
}

static void test_two_programs(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr("two"), 5000));
  int fd;
  pid_t pid = peer(&fd, "put", g_addr, "50", "m");
  for (int i = 0; i < 50; i++) {
    char want[16];
    snprintf(want, sizeof want, "m-%d", i);
    expect_get(q, want, 1);
  }
  assert_int_equal(peer_status(pid), 0);
  close(fd);
  for (int i = 0; i < 10; i++) {
    char msg[16];
    int n = snprintf(msg, sizeof msg, "p-%d", i);
    MP_ASSERT_OK(mp_queue_put(q, msg, (size_t)n, 5000));
  }
  pid = peer(&fd, "get", addr("two"), "10", NULL);
  for (int i = 0; i < 10; i++) {
    char line[64], want[16];
    read_line(fd, line, sizeof line);
    snprintf(want, sizeof want, "p-%d", i);
    assert_string_equal(line, want);
  }
  assert_int_equal(peer_status(pid), 0);
  close(fd);
  mp_queue_free(q);
}

/* The peer takes the message and is SIGKILLed holding it: once its
 * heartbeat expires, the next get here claims it, delivery count 2, the
 * same id; and only once. */
static void kill_holder(mp_queue_t *q, const char *name, const char *body, char *id_out) {
  int fd;
  pid_t pid = peer(&fd, "hold", addr(name), NULL, NULL);
  char line[160], got[64];
  long long count = 0;
  read_line(fd, line, sizeof line);
  assert_int_equal(sscanf(line, "got %63s %47s %lld", got, id_out, &count), 3);
  assert_string_equal(got, body);
  assert_int_equal(count, 1);
  kill(pid, SIGKILL);
  assert_int_equal(peer_status(pid), 128 + SIGKILL);
  close(fd);
  (void)q;
}

static void test_sigkill_redelivered_once(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr("kill"), 5000));
  MP_ASSERT_OK(mp_queue_put(q, "precious", 8, 5000));
  char held_id[MP_QUEUE_ID_MAX];
  kill_holder(q, "kill", "precious", held_id);
  int64_t t0 = now_ms();
  expect_get(q, "precious", 2);
  char id[MP_QUEUE_ID_MAX];
  int64_t count;
  MP_ASSERT_OK(mp_queue_last_delivery(&count, id, sizeof id, q));
  assert_string_equal(id, held_id);
  assert_true(now_ms() - t0 < 10000); /* lease 500 ms, polls 250 ms */
  void *m;
  size_t n;
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q, 1500), MP_ETIMEDOUT);
  mp_queue_free(q);
}

/* A consumer that never finds the queue empty still claims what a dead
 * one held: its gets look for dead consumers at least every lease/10 (not
 * only when no new message is there), so the held message comes back
 * while fillers are still queued, about one lease after the kill. */
static void test_busy_consumer_claims_dead_ones(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr("busy"), 5000));
  MP_ASSERT_OK(mp_queue_put(q, "precious", 8, 5000));
  char held_id[MP_QUEUE_ID_MAX];
  kill_holder(q, "busy", "precious", held_id);
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_queue_put(q, "filler", 6, 5000));
  int found = 0;
  while (!found && now_ms() - t0 < 10000) { /* lease 500 ms */
    MP_ASSERT_OK(mp_queue_put(q, "filler", 6, 5000)); /* never empty */
    void *m;
    size_t n;
    MP_ASSERT_OK(mp_queue_get(&m, &n, q, 5000));
    found = n == 8 && memcmp(m, "precious", 8) == 0;
    mp_free(m);
  }
  assert_true(found);
  char id[MP_QUEUE_ID_MAX];
  int64_t count = 0;
  MP_ASSERT_OK(mp_queue_last_delivery(&count, id, sizeof id, q));
  assert_int_equal(count, 2);
  assert_string_equal(id, held_id);
  mp_queue_free(q);
}

static void test_close_drain(void **state) {
  (void)state;
  mp_queue_t *q, *q2;
  MP_ASSERT_OK(mp_queue_open(&q, addr("close"), 5000));
  MP_ASSERT_OK(mp_queue_open(&q2, addr("close"), 5000));
  for (int i = 0; i < 3; i++) MP_ASSERT_OK(mp_queue_put(q, "x", 1, 5000));
  assert_int_equal(mp_queue_closed(q2), 0);
  MP_ASSERT_OK(mp_queue_close(q));
  assert_int_equal(mp_queue_closed(q2), 1);
  MP_ASSERT_ERR(mp_queue_put(q2, "y", 1, 5000), MP_ECLOSED);
  expect_get(q2, "x", 1);
  expect_get(q, "x", 1);
  expect_get(q2, "x", 1);
  void *m;
  size_t n;
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q, MP_FOREVER), MP_ECLOSED);
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q2, 0), MP_ECLOSED);
  mp_queue_free(q2);
  mp_queue_free(q);
}

static void test_joinable_counts_redelivered_once(void **state) {
  (void)state;
  mp_queue_t *q, *other;
  MP_ASSERT_OK(mp_queue_new_at(&q, addr("join"), 0, MP_QUEUE_JOINABLE, 5000));
  MP_ASSERT_ERR(mp_queue_new_at(&other, addr("join"), 0, 0, 5000), MP_EEXIST);
  MP_ASSERT_OK(mp_queue_put(q, "a", 1, 5000));
  MP_ASSERT_OK(mp_queue_put(q, "b", 1, 5000));
  char held_id[MP_QUEUE_ID_MAX];
  kill_holder(q, "join", "a", held_id);
  MP_ASSERT_ERR(mp_queue_join(q, 300), MP_ETIMEDOUT);
  /* "b" may come first: "a" is claimed once the holder's lease expires. */
  int seen_a = 0, seen_b = 0;
  for (int i = 0; i < 2; i++) {
    void *m;
    size_t n;
    MP_ASSERT_OK(mp_queue_get(&m, &n, q, 15000));
    char id[MP_QUEUE_ID_MAX];
    int64_t count = 0;
    MP_ASSERT_OK(mp_queue_last_delivery(&count, id, sizeof id, q));
    assert_int_equal(n, 1);
    if (*(char *)m == 'a') {
      seen_a++;
      assert_int_equal(count, 2);
      assert_string_equal(id, held_id);
    } else {
      seen_b++;
      assert_int_equal(count, 1);
    }
    mp_free(m);
    if (i == 0) {
      MP_ASSERT_OK(mp_queue_task_done(q));
      MP_ASSERT_ERR(mp_queue_join(q, 300), MP_ETIMEDOUT);
    }
  }
  assert_int_equal(seen_a, 1);
  assert_int_equal(seen_b, 1);
  MP_ASSERT_OK(mp_queue_task_done(q));
  MP_ASSERT_OK(mp_queue_join(q, 5000));
  MP_ASSERT_ERR(mp_queue_task_done(q), MP_ESTATE);
  mp_queue_free(q);
}

static void test_large_message(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr("big"), 5000));
  size_t len = 3 << 20;
  char *body = malloc(len);
  for (size_t i = 0; i < len; i++) body[i] = (char)(i * 131 + 7);
  MP_ASSERT_OK(mp_queue_put(q, body, len, 10000));
  assert_int_equal(raw_int("KEYS %s", "mp:queue:{big}:body:*"), 1);
  void *m;
  size_t n;
  MP_ASSERT_OK(mp_queue_get(&m, &n, q, 10000));
  assert_int_equal(n, len);
  assert_memory_equal(m, body, len);
  mp_free(m);
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q, 0), MP_EEMPTY); /* acknowledges it */
  assert_int_equal(raw_int("KEYS %s", "mp:queue:{big}:body:*"), 0);
  assert_int_equal(raw_int("XLEN %s", "mp:queue:{big}:stream"), 0);
  MP_ASSERT_ERR(mp_queue_put(q, body, (size_t)(256 << 20) + 1, 1000), MP_EMSGSIZE);
  free(body);
  mp_queue_free(q);
}

static void test_bounded_and_batches(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_new_at(&q, addr("bounded"), 3, 0, 5000));
  assert_int_equal(mp_queue_maxsize(q), 3);
  const void *bufs[5] = {"a", "bb", "ccc", "dddd", "eeeee"};
  size_t lens[5] = {1, 2, 3, 4, 5}, done = 0;
  MP_ASSERT_ERR(mp_queue_put_many(&done, q, bufs, lens, 5, 0), MP_EFULL);
  assert_int_equal(done, 3);
  assert_int_equal(mp_queue_full(q), 1);
  assert_int_equal(mp_queue_qsize(q), 3);
  MP_ASSERT_ERR(mp_queue_put(q, "x", 1, 300), MP_ETIMEDOUT);
  char buf[64];
  size_t got = 0, out[8];
  MP_ASSERT_ERR(mp_queue_get_into(&got, q, buf, 0, 1000), MP_ENOSPC);
  assert_int_equal(got, 1);
  MP_ASSERT_OK(mp_queue_get_many(&got, q, buf, sizeof buf, out, 8, 1000));
  assert_int_equal(got, 3);
  assert_memory_equal(buf, "abbccc", 6);
  assert_int_equal(mp_queue_empty(q), 1);
  MP_ASSERT_OK(mp_queue_put_many(&done, q, bufs + 3, lens + 3, 2, 1000));
  assert_int_equal(mp_queue_qsize(q), 2);
  MP_ASSERT_ERR(mp_queue_fileno(q), MP_ENOTSUP);
  MP_ASSERT_ERR(mp_queue_task_done(q), MP_ESTATE);
  mp_queue_free(q);
}

/* How many PUBLISH commands the server ran so far (INFO commandstats). */
static long long publish_calls(void) {
  redisReply *r = raw("INFO %s", "commandstats");
  assert_non_null(r);
  const char *at = r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_publish:calls=") : NULL;
  long long n = at ? atoll(at + strlen("cmdstat_publish:calls=")) : 0;
  freeReplyObject(r);
  return n;
}

static void *waiting_get(void *arg) {
  void *m = NULL;
  size_t n = 0;
  intptr_t r = mp_queue_get(&m, &n, arg, 10000);
  if (r == MP_OK && !(n == 4 && memcmp(m, "wake", 4) == 0)) r = -1000;
  mp_free(m);
  return (void *)r;
}

/* A put wakes waiting gets over pub/sub, and only then: puts nobody waits
 * for publish nothing; a get counts itself waiting (P:waiting) and the
 * get that takes the message uncounts it. Acknowledging many at once
 * trims every entry. */
static void test_wakes_only_waiters(void **state) {
  (void)state;
  mp_queue_t *q, *w;
  MP_ASSERT_OK(mp_queue_open(&q, addr("wake"), 5000));
  MP_ASSERT_OK(mp_queue_open(&w, addr("wake"), 5000));
  long long before = publish_calls();
  const void *bufs[20];
  size_t lens[20], done = 0, got = 0, out[20];
  for (int i = 0; i < 20; i++) bufs[i] = "m", lens[i] = 1;
  MP_ASSERT_OK(mp_queue_put(q, "m", 1, 5000));
  MP_ASSERT_OK(mp_queue_put_many(&done, q, bufs, lens, 19, 5000));
  char buf[64];
  MP_ASSERT_OK(mp_queue_get_many(&got, w, buf, sizeof buf, out, 20, 5000));
  assert_int_equal(got, 20);
  void *m;
  size_t n;
  MP_ASSERT_ERR(mp_queue_get(&m, &n, w, 0), MP_EEMPTY); /* acknowledges the 20 */
  assert_int_equal(raw_int("XLEN %s", "mp:queue:{wake}:stream"), 0);
  MP_ASSERT_OK(mp_queue_put(q, "m", 1, 5000)); /* nobody waits: no wake-up */
  assert_int_equal(publish_calls(), before);
  expect_get(w, "m", 1);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, waiting_get, w), 0);
  for (int i = 0; i < 500 && raw_int("EXISTS %s", "mp:queue:{wake}:waiting") == 0; i++)
    usleep(10000);
  assert_int_equal(raw_int("EXISTS %s", "mp:queue:{wake}:waiting"), 1);
  MP_ASSERT_OK(mp_queue_put(q, "wake", 4, 5000));
  void *rc;
  pthread_join(t, &rc);
  assert_int_equal((intptr_t)rc, MP_OK);
  assert_true(publish_calls() > before);
  assert_int_equal(raw_int("EXISTS %s", "mp:queue:{wake}:waiting"), 0);
  mp_queue_free(w);
  mp_queue_free(q);
}

static void test_unreachable_at_open(void **state) {
  (void)state;
  char a[96];
  snprintf(a, sizeof a, "redis://127.0.0.1:%d#q", redis_free_port());
  mp_queue_t *q = NULL;
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_queue_open(&q, a, 2000), MP_ECONNREFUSED);
  assert_true(now_ms() - t0 < 2000);
  assert_non_null(strstr(mp_last_error(), "cannot connect"));
  assert_null(q);
}

static void *blocked_get(void *arg) {
  void *m;
  size_t n;
  intptr_t rc = mp_queue_get(&m, &n, arg, MP_FOREVER);
  return (void *)rc;
}

static void test_killed_mid_call(void **state) {
  (void)state;
  redis_srv other;
  assert_int_equal(redis_start(&other), 0);
  char a[96];
  snprintf(a, sizeof a, "redis://127.0.0.1:%d#mid", other.port);
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, a, 5000));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, blocked_get, q), 0);
  usleep(300 * 1000);
  int64_t t0 = now_ms();
  redis_stop(&other, 1);
  void *rc;
  pthread_join(t, &rc);
  assert_true((intptr_t)rc == MP_EPIPE || (intptr_t)rc == MP_ECONNREFUSED);
  assert_true(now_ms() - t0 < 5000);
  int r = mp_queue_put(q, "x", 1, 2000);
  assert_true(r == MP_ECONNREFUSED || r == MP_EPIPE);
  mp_queue_free(q); /* no hang */
}

static void test_garbage_reported(void **state) {
  (void)state;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr("garb"), 5000));
  freeReplyObject(raw("XADD %s * foo bar", "mp:queue:{garb}:stream"));
  void *m;
  size_t n;
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q, 1000), MP_EINVAL);
  assert_non_null(strstr(mp_last_error(), "not a multiproc message"));
  MP_ASSERT_OK(mp_queue_put(q, "fine", 4, 1000));
  expect_get(q, "fine", 1);
  freeReplyObject(raw("DEL %s", "mp:queue:{garb}:meta"));
  freeReplyObject(raw("SET %s junk", "mp:queue:{garb}:meta"));
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q, 1000), MP_EINVAL);
  MP_ASSERT_ERR(mp_queue_put(q, "x", 1, 1000), MP_EINVAL);
  assert_true(mp_queue_qsize(q) < 0);
  mp_queue_t *q2 = NULL;
  MP_ASSERT_ERR(mp_queue_open(&q2, addr("garb"), 1000), MP_EINVAL);
  assert_non_null(strstr(mp_last_error(), "not a hash"));
  mp_queue_free(q);
}

static void test_eviction_warning(void **state) {
  (void)state;
  freeReplyObject(raw("CONFIG SET maxmemory-policy %s", "allkeys-lru"));
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr("evict"), 5000));
  assert_non_null(strstr(mp_last_error(), "maxmemory-policy allkeys-lru"));
  mp_queue_free(q);
  freeReplyObject(raw("CONFIG SET maxmemory-policy %s", "noeviction"));
  MP_ASSERT_OK(mp_queue_open(&q, addr("evict"), 5000));
  assert_string_equal(mp_last_error(), "");
  mp_queue_free(q);
}

int main(void) {
  if (!redis_server_path()) {
    printf("1..0 # SKIP redis-server is not installed (apt-get install redis-server)\n");
    return 0;
  }
  setenv("MULTIPROC_REDIS_LEASE_MS", "500", 1); /* the peers inherit it */
  if (redis_start(&g_srv) != 0) fail_msg("redis-server did not start");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_programs),
      cmocka_unit_test(test_sigkill_redelivered_once),
      cmocka_unit_test(test_busy_consumer_claims_dead_ones),
      cmocka_unit_test(test_close_drain),
      cmocka_unit_test(test_joinable_counts_redelivered_once),
      cmocka_unit_test(test_large_message),
      cmocka_unit_test(test_bounded_and_batches),
      cmocka_unit_test(test_wakes_only_waiters),
      cmocka_unit_test(test_unreachable_at_open),
      cmocka_unit_test(test_killed_mid_call),
      cmocka_unit_test(test_garbage_reported),
      cmocka_unit_test(test_eviction_warning),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  redis_stop(&g_srv, 0);
  return failed;
}
