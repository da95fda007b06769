/* A pool across hosts on redis (issue 16): a real redis-server
 * (redis_fixture.h); serving hosts are mp-redis-pool-peer programs started
 * independently, each in a process group of its own (its workers
 * included), and this program is the client (mp_pool_open of the
 * redis:// address). Covered: apply; many apply_async; map; imap order;
 * an unknown task name; a task's failure; a worker SIGKILLed mid-task
 * (MP_EWORKERDIED, or a retry that succeeds); a whole host SIGKILLed
 * (retried on a second host, or failed, within the lease); a host cut off
 * by a TCP proxy that stops forwarding (its task goes to another host,
 * and its late result is refused by the fencing script); a serving pool
 * terminated mid-task (its task handed back at once); a host's prefetch
 * after a burst of short tasks leaves slow ones to a new host; nothing left
 * behind in the server. Lease 1000 ms. Skipped (TAP) without
 * redis-server. */
#include "testutil.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>

#include "redis_fixture.h"

static redis_srv g_srv;

static void addr_at(char *buf, size_t cap, int port, const char *name) {
  snprintf(buf, cap, "redis://127.0.0.1:%d#%s", port, name);
}

/* A raw client: the reply's integer, or its element count for an array. */
static long long raw_int(const char *fmt, const char *arg) {
  redisContext *c = redisConnect("127.0.0.1", g_srv.port);
  assert_non_null(c);
  assert_int_equal(c->err, 0);
  redisReply *r = redisCommand(c, fmt, arg);
  redisFree(c);
  assert_non_null(r);
  long long v = r->type == REDIS_REPLY_INTEGER ? r->integer
                : r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
  freeReplyObject(r);
  return v;
}

/* Entries held by serving hosts (XPENDING's count). */
static long long held(const char *name) {
  char key[128];
  snprintf(key, sizeof key, "mp:pool:{%s}:tasks", name);
  redisContext *c = redisConnect("127.0.0.1", g_srv.port);
  assert_non_null(c);
  redisReply *r = redisCommand(c, "XPENDING %s g", key);
  redisFree(c);
  long long n = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                r->element[0]->type == REDIS_REPLY_INTEGER ? r->element[0]->integer : 0;
  if (r) freeReplyObject(r);
  return n;
}

typedef struct {
  pid_t pid;
  int out;
} host_t;

/* Hosts still running: a failed test's are killed by its teardown. */
static pid_t g_running[16];

static void track(pid_t pid, pid_t now) {
  for (int i = 0; i < 16; i++)
    if (g_running[i] == pid) {
      g_running[i] = now;
      return;
    }
}

static int kill_leftovers(void **state) {
  (void)state;
  for (int i = 0; i < 16; i++)
    if (g_running[i] > 0) {
      kill(-g_running[i], SIGKILL);
      waitpid(g_running[i], NULL, 0);
      g_running[i] = 0;
    }
  return 0;
}

/* Start a serving host (its own process group) and wait for "serving". */
static host_t serve(const char *address, const char *workers, const char *tag) {
  const char *path = getenv("MP_REDIS_POOL_PEER");
  if (!path) fail_msg("MP_REDIS_POOL_PEER is not set; run with meson test");
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&at, 0);
  char *argv[] = {(char *)path, "serve", (char *)address, (char *)workers, (char *)tag, NULL};
  host_t h;
  assert_int_equal(posix_spawn(&h.pid, path, &fa, &at, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(fds[1]);
  h.out = fds[0];
  track(0, h.pid);
  char line[32] = "";
  size_t n = 0;
  while (n + 1 < sizeof line && read(h.out, line + n, 1) == 1 && line[n] != '\n') n++;
  line[n] = '\0';
  assert_string_equal(line, "serving");
  return h;
}

/* SIGTERM: the host closes its pool and leaves (exit 0). */
static void stop_host(host_t *h) {
  kill(h->pid, SIGTERM);
  track(h->pid, 0);
  int st = 0;
  assert_int_equal(waitpid(h->pid, &st, 0), h->pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  kill(-h->pid, SIGKILL); /* its workers, if any lingered */
  close(h->out);
}

/* The whole host vanishes: its process group SIGKILLed. */
static void kill_host(host_t *h) {
  kill(-h->pid, SIGKILL);
  track(h->pid, 0);
  waitpid(h->pid, NULL, 0);
  close(h->out);
}

static mp_pool_t *open_pool(const char *name) {
  char a[128];
  addr_at(a, sizeof a, g_srv.port, name);
  mp_pool_t *p = NULL;
  MP_ASSERT_OK(mp_pool_open(&p, a, 5000));
  return p;
}

static void expect_item(mp_result_t *r, size_t i, const char *want) {
  const void *d;
  size_t len;
  MP_ASSERT_OK(mp_result_item(&d, &len, r, i));
  assert_int_equal(len, strlen(want));
  assert_memory_equal(d, want, len);
}

/* Nothing of the pool's tasks or results is left in the server. */
static void expect_clean(const char *name) {
  char key[128];
  snprintf(key, sizeof key, "mp:pool:{%s}:tasks", name);
  assert_int_equal(raw_int("XLEN %s", key), 0);
  snprintf(key, sizeof key, "mp:pool:{%s}:res:*", name);
  assert_int_equal(raw_int("KEYS %s", key), 0);
}

static void test_apply_and_errors(void **state) {
  (void)state;
  char a[128];
  addr_at(a, sizeof a, g_srv.port, "p_apply");
  host_t h = serve(a, "2", "A");
  mp_pool_t *p = open_pool("p_apply");
  void *out;
  size_t len;
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "echo", "hello", 5));
  assert_int_equal(len, 5);
  assert_memory_equal(out, "hello", 5);
  mp_free(out);
  /* Unknown on the host: MP_ENOENT, as for a pool opened through a broker. */
  assert_int_equal(mp_pool_apply(&out, &len, p, "no_such_task", "x", 1), MP_ENOENT);
  mp_free(out); /* the message */
  /* The task's own failure, with its message. */
  mp_result_t *r;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "fail", "x", 1, NULL, NULL, NULL));
  const void *d;
  assert_int_equal(mp_result_get(&d, &len, r, 10000), MP_ETASKFAILED);
  assert_int_equal(len, strlen("failed: x"));
  assert_memory_equal(d, "failed: x", len);
  mp_result_free(r);
  MP_ASSERT_OK(mp_pool_close(p));
  MP_ASSERT_OK(mp_pool_join(p, 10000));
  mp_pool_free(p);
  stop_host(&h);
  expect_clean("p_apply");
}

static void test_many_async_map_imap(void **state) {
  (void)state;
  char a[128];
  addr_at(a, sizeof a, g_srv.port, "p_many");
  host_t h1 = serve(a, "2", "A"), h2 = serve(a, "1", "B");
  mp_pool_t *p = open_pool("p_many");
  enum { N = 300 };
  mp_result_t *rs[N];
  char bufs[N][16];
  for (int i = 0; i < N; i++) {
    int n = snprintf(bufs[i], sizeof bufs[i], "t%d", i);
    MP_ASSERT_OK(mp_pool_apply_async(&rs[i], p, "echo", bufs[i], (size_t)n, NULL, NULL, NULL));
  }
  for (int i = 0; i < N; i++) {
    MP_ASSERT_OK(mp_result_wait(rs[i], 20000));
    expect_item(rs[i], 0, bufs[i]);
    mp_result_free(rs[i]);
  }
  /* map: results in argument order, chunked. */
  enum { M = 50 };
  const void *args[M];
  size_t lens[M];
  for (int i = 0; i < M; i++) {
    args[i] = bufs[i];
    lens[i] = strlen(bufs[i]);
  }
  mp_result_t *m;
  MP_ASSERT_OK(mp_pool_map(&m, p, "echo", args, lens, M, 3));
  assert_int_equal(mp_result_count(m), M);
  for (int i = 0; i < M; i++) expect_item(m, (size_t)i, bufs[i]);
  mp_result_free(m);
  /* imap: in order, one item at a time. */
  mp_iter_t *it;
  MP_ASSERT_OK(mp_pool_imap(&it, p, "echo", args, lens, M, 1, 0));
  size_t index;
  const void *d;
  size_t len;
  int rc, k = 0;
  while ((rc = mp_pool_iter_next(&index, &d, &len, it, 20000)) > 0) {
    assert_int_equal(index, (size_t)k);
    assert_int_equal(len, strlen(bufs[k]));
    assert_memory_equal(d, bufs[k], len);
    k++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(k, M);
  mp_pool_iter_free(it);
  mp_pool_free(p);
  stop_host(&h1);
  stop_host(&h2);
  expect_clean("p_many");
}

static void test_worker_killed(void **state) {
  (void)state;
  char a[128], marker[128];
  addr_at(a, sizeof a, g_srv.port, "p_die");
  host_t h = serve(a, "2", "A");
  mp_pool_t *p = open_pool("p_die");
  void *out;
  size_t len;
  assert_int_equal(mp_pool_apply(&out, &len, p, "die", "", 0), MP_EWORKERDIED);
  mp_free(out); /* the message */
  /* With a retry the second run (on a replacement worker) succeeds. */
  snprintf(marker, sizeof marker, "%s/die_once", g_srv.dir);
  MP_ASSERT_OK(mp_pool_set_retries(p, 1));
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "die_once", marker, strlen(marker)));
  assert_int_equal(len, strlen("again A"));
  assert_memory_equal(out, "again A", len);
  mp_free(out);
  /* The host's pool still works afterwards. */
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "echo", "ok", 2));
  mp_free(out);
  mp_pool_free(p);
  stop_host(&h);
  expect_clean("p_die");
}

/* Wait until the pool's hosts hold n entries (a host took the task). */
static void wait_held(const char *name, long long n) {
  for (int i = 0; i < 200 && held(name) != n; i++) usleep(25 * 1000);
  assert_int_equal(held(name), n);
}

static void test_host_killed(void **state) {
  (void)state;
  char a[128];
  addr_at(a, sizeof a, g_srv.port, "p_host");
  mp_pool_t *p = open_pool("p_host");
  /* No retries, no other host: the waiting client notices within the lease. */
  host_t h = serve(a, "1", "A");
  mp_result_t *r;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep_tag", "20000 -", 7, NULL, NULL, NULL));
  wait_held("p_host", 1);
  int64_t t0 = now_ms();
  kill_host(&h);
  const void *d;
  size_t len;
  assert_int_equal(mp_result_get(&d, &len, r, 10000), MP_EWORKERDIED);
  int64_t took = now_ms() - t0;
  assert_true(took < 5000); /* lease 1000 ms */
  mp_result_free(r);
  /* With a retry: it runs again on the host still there. */
  MP_ASSERT_OK(mp_pool_set_retries(p, 1));
  host_t a1 = serve(a, "1", "A");
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep_tag", "2000 -", 6, NULL, NULL, NULL));
  wait_held("p_host", 1);
  host_t b = serve(a, "1", "B");
  kill_host(&a1);
  MP_ASSERT_OK(mp_result_wait(r, 20000));
  expect_item(r, 0, "B");
  mp_result_free(r);
  mp_pool_free(p);
  stop_host(&b);
}

/* Prefetch: a host that just ran a burst of short tasks (its prefetch
 * deepened to keep its worker fed) holds no more than 4 chunks per worker
 * of slow ones, so a host that joins later runs the rest at once. */
static void test_prefetch_shared(void **state) {
  (void)state;
  char a[128];
  addr_at(a, sizeof a, g_srv.port, "p_fair");
  mp_pool_t *p = open_pool("p_fair");
  host_t ha = serve(a, "1", "A");
  mp_result_t *r[500];
  for (int i = 0; i < 500; i++)
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "sleep_tag", "0 -", 3, NULL, NULL, NULL));
  for (int i = 0; i < 500; i++) {
    MP_ASSERT_OK(mp_result_wait(r[i], 20000));
    mp_result_free(r[i]);
  }
  usleep(200 * 1000); /* an idle spell */
  for (int i = 0; i < 8; i++)
    MP_ASSERT_OK(mp_pool_apply_async(&r[i], p, "sleep_tag", "1500 -", 6, NULL, NULL, NULL));
  wait_held("p_fair", 4); /* 1 worker: 4 held, 4 left in the stream */
  usleep(100 * 1000);
  assert_int_equal(held("p_fair"), 4);
  host_t hb = serve(a, "1", "B");
  int on_b = 0;
  for (int i = 0; i < 8; i++) {
    MP_ASSERT_OK(mp_result_wait(r[i], 20000));
    const void *d;
    size_t len;
    MP_ASSERT_OK(mp_result_item(&d, &len, r[i], 0));
    on_b += len == 1 && memcmp(d, "B", 1) == 0;
    mp_result_free(r[i]);
  }
  assert_true(on_b >= 1);
  mp_pool_free(p);
  stop_host(&ha);
  stop_host(&hb);
  expect_clean("p_fair");
}

/* This program's own serving pool: sleeps 3 s, returns "T". */
static int t_sleep_tag(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)arg, (void)len, (void)p;
  usleep(3000 * 1000);
  *out = strdup("T");
  *out_len = 1;
  return 0;
}

/* A serving pool terminated (here: freed) mid-task hands the task back at
 * once, without counting a retry: another host runs it, long before the
 * lease would have let anyone notice. */
static void test_terminated_host_hands_back(void **state) {
  (void)state;
  char a[128];
  addr_at(a, sizeof a, g_srv.port, "p_back");
  mp_pool_opts_t *o;
  mp_pool_t *local;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_workers(o, 1));
  MP_ASSERT_OK(mp_pool_opts_set_start_method(o, MP_START_FORK));
  MP_ASSERT_OK(mp_pool_new(&local, o));
  mp_pool_opts_free(o);
  MP_ASSERT_OK(mp_pool_serve(local, a, 5000));
  assert_int_equal(mp_pool_serve(local, a, 5000), MP_ESTATE);
  mp_pool_t *p = open_pool("p_back");
  mp_result_t *r;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep_tag", "2000 -", 6, NULL, NULL, NULL));
  wait_held("p_back", 1);
  mp_pool_free(local); /* terminate: the task goes back to the stream */
  assert_int_equal(held("p_back"), 0);
  host_t b = serve(a, "1", "B");
  MP_ASSERT_OK(mp_result_wait(r, 20000));
  expect_item(r, 0, "B");
  mp_result_free(r);
  mp_pool_free(p);
  stop_host(&b);
  expect_clean("p_back");
}

/* ---- a TCP proxy that can stop forwarding -------------------------------- */

typedef struct {
  int listen_fd, port;
  volatile int paused, stop;
  pthread_t thread;
} proxy_t;

static int connect_port(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void *proxy_run(void *arg) {
  proxy_t *px = arg;
  int pairs[32][2];
  int n = 0;
  while (!px->stop) {
    struct pollfd fds[65];
    int nf = 0;
    fds[nf++] = (struct pollfd){px->listen_fd, POLLIN, 0};
    if (!px->paused)
      for (int i = 0; i < n; i++)
        for (int s = 0; s < 2; s++) fds[nf++] = (struct pollfd){pairs[i][s], POLLIN, 0};
    if (poll(fds, (nfds_t)nf, 20) <= 0) continue;
    if (fds[0].revents && n < 32) {
      int c = accept(px->listen_fd, NULL, NULL);
      int up = c >= 0 ? connect_port(g_srv.port) : -1;
      if (up >= 0) {
        pairs[n][0] = c;
        pairs[n][1] = up;
        n++;
      } else if (c >= 0) {
        close(c);
      }
    }
    for (int k = 1; k < nf; k++) {
      if (!fds[k].revents) continue;
      int i = (k - 1) / 2, s = (k - 1) % 2;
      char buf[65536];
      ssize_t got = read(pairs[i][s], buf, sizeof buf);
      if (got > 0) {
        ssize_t w = write(pairs[i][1 - s], buf, (size_t)got);
        (void)w;
      }
    }
  }
  for (int i = 0; i < n; i++) close(pairs[i][0]), close(pairs[i][1]);
  return NULL;
}

static void proxy_start(proxy_t *px) {
  memset(px, 0, sizeof *px);
  px->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  assert_int_equal(bind(px->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(px->listen_fd, 8), 0);
  assert_int_equal(getsockname(px->listen_fd, (struct sockaddr *)&sa, &len), 0);
  px->port = ntohs(sa.sin_port);
  assert_int_equal(pthread_create(&px->thread, NULL, proxy_run, px), 0);
}

static void proxy_stop(proxy_t *px) {
  px->stop = 1;
  pthread_join(px->thread, NULL);
  close(px->listen_fd);
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void test_partition_fenced(void **state) {
  (void)state;
  proxy_t px;
  proxy_start(&px);
  char via_proxy[128], direct[128], arg[256], done_a[256], run_a[256];
  addr_at(via_proxy, sizeof via_proxy, px.port, "p_part");
  addr_at(direct, sizeof direct, g_srv.port, "p_part");
  host_t a = serve(via_proxy, "1", "A");
  mp_pool_t *p = open_pool("p_part");
  MP_ASSERT_OK(mp_pool_set_retries(p, 1));
  int n = snprintf(arg, sizeof arg, "1500 %s/part", g_srv.dir);
  snprintf(done_a, sizeof done_a, "%s/part.A", g_srv.dir);
  snprintf(run_a, sizeof run_a, "%s/part.A.run", g_srv.dir);
  mp_result_t *r;
  MP_ASSERT_OK(mp_pool_apply_async(&r, p, "sleep_tag", arg, (size_t)n, NULL, NULL, NULL));
  wait_held("p_part", 1);
  /* Held on the server is not yet received by A (the reply may still be
   * in the proxy): cut A off only once its worker runs the task. */
  for (int i = 0; i < 400 && !exists(run_a); i++) usleep(25 * 1000);
  assert_true(exists(run_a));
  px.paused = 1; /* A is cut off mid-task: its heartbeat stops reaching redis */
  host_t b = serve(direct, "1", "B");
  MP_ASSERT_OK(mp_result_wait(r, 20000));
  expect_item(r, 0, "B"); /* reclaimed, run again by B */
  mp_result_free(r);
  for (int i = 0; i < 200 && !exists(done_a); i++) usleep(25 * 1000);
  assert_true(exists(done_a)); /* A finished too, its result stuck in the proxy */
  mp_pool_free(p); /* deletes the client's result list */
  px.paused = 0;   /* A's late result reaches redis now: refused */
  sleep(2);
  expect_clean("p_part");
  stop_host(&a);
  stop_host(&b);
  proxy_stop(&px);
}

int main(void) {
  if (!redis_server_path()) {
    printf("1..0 # SKIP redis-server is not installed (apt-get install redis-server)\n");
    return 0;
  }
  setenv("MULTIPROC_REDIS_LEASE_MS", "1000", 1); /* the hosts inherit it */
  mp_register_task("sleep_tag", t_sleep_tag, NULL);
  if (redis_start(&g_srv) != 0) fail_msg("redis-server did not start");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_apply_and_errors, kill_leftovers),
      cmocka_unit_test_teardown(test_many_async_map_imap, kill_leftovers),
      cmocka_unit_test_teardown(test_worker_killed, kill_leftovers),
      cmocka_unit_test_teardown(test_host_killed, kill_leftovers),
      cmocka_unit_test_teardown(test_prefetch_shared, kill_leftovers),
      cmocka_unit_test_teardown(test_terminated_host_hands_back, kill_leftovers),
      cmocka_unit_test_teardown(test_partition_fenced, kill_leftovers),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  redis_stop(&g_srv, 0);
  return failed;
}
