/* The round trips of a queue on a redis server made on the caller's own
 * thread (src/redis/direct.hpp), against a real redis-server
 * (redis_fixture.h): connections are pooled, not leaked (many handles
 * opened and freed, also from several threads: the descriptor count
 * stays put; a forked child closes its copies of the idle ones); a cancel
 * token ends a get waiting on an empty queue and one stuck in a round
 * trip (redis_proxy.h stops forwarding), and a token fired before the
 * call sends nothing; timeouts of 0 and of 1 ms; a server restarted on
 * the same port (a pooled connection it closed is not used: no
 * MP_EPIPE); a process that exits while a thread waits in a get (the
 * server killed while a get waits: test_redis_queue's
 * test_killed_mid_call). Skipped (TAP) without redis-server. */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>

#include "redis_fixture.h"
#include "redis_proxy.h"

static redis_srv g_srv;
static redis_srv g_own; /* a test's own server, stopped by stop_own even when it fails */

static int stop_own(void **state) {
  (void)state;
  if (g_own.dir[0]) redis_stop(&g_own, 1);
  memset(&g_own, 0, sizeof g_own);
  return 0;
}

static const char *addr_at(char *buf, size_t cap, int port, const char *name) {
  snprintf(buf, cap, "redis://127.0.0.1:%d#%s", port, name);
  return buf;
}

static const char *addr(char *buf, size_t cap, const char *name) {
  return addr_at(buf, cap, g_srv.port, name);
}

static void put_get(mp_queue_t *q, const char *body) {
  MP_ASSERT_OK(mp_queue_put(q, body, strlen(body), 5000));
  void *m;
  size_t n;
  MP_ASSERT_OK(mp_queue_get(&m, &n, q, 5000));
  assert_int_equal(n, strlen(body));
  assert_memory_equal(m, body, n);
  mp_free(m);
}

/* ---- connections are pooled ---- */

static void *open_use_free(void *arg) {
  const char *a = arg;
  for (int i = 0; i < 25; i++) {
    mp_queue_t *q;
    MP_ASSERT_OK(mp_queue_open(&q, a, 5000));
    put_get(q, "x");
    mp_queue_free(q);
  }
  return NULL;
}

/* Each handle's calls borrow a pooled connection for one round trip: 200
 * handles in a row, then 8 threads at once, leave at most 4 idle ones
 * (kDirectIdleMax) beside what the first handle opened. */
static void test_fds_stable(void **state) {
  (void)state;
  char a[96];
  addr(a, sizeof a, "fds");
  open_use_free(a); /* the loop's connections, the pool's first one */
  int before = count_dir_entries("/proc/self/fd");
  for (int i = 0; i < 8; i++) open_use_free(a);
  assert_true(count_dir_entries("/proc/self/fd") <= before);
  pthread_t t[8];
  for (int i = 0; i < 8; i++) assert_int_equal(pthread_create(&t[i], NULL, open_use_free, a), 0);
  for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
  int after = count_dir_entries("/proc/self/fd");
  assert_true(after <= before + 4);
  for (int i = 0; i < 8; i++) open_use_free(a);
  assert_int_equal(count_dir_entries("/proc/self/fd"), after);
}

static int count_sockets(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    char path[300], target[64];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len > 0 && strncmp(target, "socket:", 7) == 0) n++;
  }
  if (d) closedir(d);
  return n;
}

/* Every socket of the library is close-on-exec, the loop's hiredis
 * connections (commands, pub/sub) as the direct ones: a program the caller
 * executes must not inherit a connection to the server. */
static void test_sockets_close_on_exec(void **state) {
  (void)state;
  char a[96];
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr(a, sizeof a, "cloexec"), 5000));
  put_get(q, "one");
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int sockets = 0;
  for (struct dirent *e; (e = readdir(d));) {
    char path[300], target[64];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len <= 0 || strncmp(target, "socket:", 7) != 0) continue;
    sockets++;
    int fd = atoi(e->d_name);
    if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC)) fail_msg("socket fd %d is not close-on-exec", fd);
  }
  closedir(d);
  assert_true(sockets >= 2); /* the loop's command and pub/sub connections */
  mp_queue_free(q);
}

/* A forked child closes its copies of the idle pooled connections (they
 * are its parent's: the server must see the parent's close). */
static void test_fork_closes_idle(void **state) {
  (void)state;
  char a[96];
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr(a, sizeof a, "forked"), 5000));
  put_get(q, "pooled");
  int parent = count_sockets();
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(parent - count_sockets());
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_true(WEXITSTATUS(st) >= 1); /* 1 to 4 idle, as earlier tests left them */
  put_get(q, "still pooled");
  mp_queue_free(q);
}

/* ---- cancel tokens and timeouts ---- */

typedef struct {
  mp_queue_t *q;
  mp_cancel_t *token;
  int rc;
  int64_t took;
} getter_t;

static void *get_with_token(void *arg) {
  getter_t *g = arg;
  mp_cancel_bind(g->token);
  void *m;
  size_t n;
  int64_t t0 = now_ms();
  g->rc = mp_queue_get(&m, &n, g->q, MP_FOREVER);
  g->took = now_ms() - t0;
  if (g->rc == MP_OK) mp_free(m);
  mp_cancel_bind(NULL);
  return NULL;
}

/* Fire g's token after ms; the get ends MP_ECANCELED within 2 s of it. */
static void cancel_after(getter_t *g, int ms) {
  MP_ASSERT_OK(mp_cancel_new(&g->token));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, get_with_token, g), 0);
  usleep((useconds_t)ms * 1000);
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_cancel_fire(g->token));
  pthread_join(t, NULL);
  assert_int_equal(g->rc, MP_ECANCELED);
  assert_true(now_ms() - t0 < 2000);
  mp_cancel_free(g->token);
}

/* A get waiting on an empty queue, and one whose round trip is stuck (the
 * proxy stopped forwarding: without the token it would wait for the
 * round trip's cap, 30 s). The handle works afterwards. */
static void test_cancel_while_blocked(void **state) {
  (void)state;
  char a[96];
  getter_t g = {0};
  MP_ASSERT_OK(mp_queue_open(&g.q, addr(a, sizeof a, "cancel"), 5000));
  cancel_after(&g, 300);
  put_get(g.q, "after the cancel");
  mp_queue_free(g.q);

  proxy_t px;
  assert_int_equal(proxy_start(&px, g_srv.port), 0);
  MP_ASSERT_OK(mp_queue_open(&g.q, addr_at(a, sizeof a, px.port, "cancel_stuck"), 5000));
  put_get(g.q, "before");
  proxy_freeze(&px, 1);
  cancel_after(&g, 300);
  proxy_freeze(&px, 0);
  put_get(g.q, "healed");
  mp_queue_free(g.q);
  proxy_stop(&px);
}

/* A token fired before the call: MP_ECANCELED at once, and nothing is
 * sent (the put did not go in). */
static void test_fired_before_the_call(void **state) {
  (void)state;
  char a[96];
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr(a, sizeof a, "fired"), 5000));
  mp_cancel_t *token;
  MP_ASSERT_OK(mp_cancel_new(&token));
  MP_ASSERT_OK(mp_cancel_fire(token));
  mp_cancel_bind(token);
  int64_t t0 = now_ms();
  int put = mp_queue_put(q, "never", 5, MP_FOREVER);
  void *m;
  size_t n;
  int get = mp_queue_get(&m, &n, q, 5000);
  mp_cancel_bind(NULL);
  assert_int_equal(put, MP_ECANCELED);
  assert_int_equal(get, MP_ECANCELED);
  assert_true(now_ms() - t0 < 1000);
  mp_cancel_free(token);
  assert_int_equal(mp_queue_qsize(q), 0);
  put_get(q, "then");
  mp_queue_free(q);
}

/* Timeout 0 makes its one round trip (a put goes in, a get on an empty
 * queue is MP_EEMPTY); 1 ms on an empty queue is MP_ETIMEDOUT soon. */
static void test_zero_and_tiny_timeouts(void **state) {
  (void)state;
  char a[96];
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr(a, sizeof a, "zero"), 5000));
  void *m;
  size_t n;
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q, 0), MP_EEMPTY);
  MP_ASSERT_TIMES_OUT(mp_queue_get(&m, &n, q, 1), 0, 1000);
  MP_ASSERT_OK(mp_queue_put(q, "now", 3, 0));
  MP_ASSERT_OK(mp_queue_get(&m, &n, q, 0));
  assert_memory_equal(m, "now", 3);
  mp_free(m);
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q, 0), MP_EEMPTY);
  mp_queue_free(q);
}

/* ---- the server goes away ---- */

/* Restarted on the same port: the pooled connection it closed is not
 * used (the first call after the restart does not fail with MP_EPIPE). */
static void test_restart_reconnects(void **state) {
  (void)state;
  assert_int_equal(redis_start(&g_own), 0);
  char a[96];
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr_at(a, sizeof a, g_own.port, "restart"), 5000));
  put_get(q, "before");
  mp_queue_free(q);
  redis_kill_keep(&g_own);
  assert_int_equal(redis_restart(&g_own), 0);
  MP_ASSERT_OK(mp_queue_open(&q, a, 5000));
  put_get(q, "after");
  mp_queue_free(q);
}

static void *get_forever(void *arg) {
  getter_t *g = arg;
  void *m;
  size_t n;
  int64_t t0 = now_ms();
  g->rc = mp_queue_get(&m, &n, g->q, MP_FOREVER);
  g->took = now_ms() - t0;
  return NULL;
}

/* A process that returns from main while a thread waits in a get exits
 * (it does not wait for the get): in a child, within 10 s. */
static void test_exit_while_get_waits(void **state) {
  (void)state;
  char a[96];
  addr(a, sizeof a, "exiting");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    getter_t g = {0};
    if (mp_queue_open(&g.q, a, 5000) != MP_OK) _exit(2);
    pthread_t t;
    if (pthread_create(&t, NULL, get_forever, &g) != 0) _exit(3);
    usleep(300 * 1000);
    exit(0);
  }
  int st = -1;
  for (int64_t t0 = now_ms(); now_ms() - t0 < 10000;) {
    if (waitpid(pid, &st, WNOHANG) == pid) break;
    st = -1;
    usleep(20 * 1000);
  }
  if (st == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("the process did not exit while a thread waited in a get");
  }
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void) {
  if (!redis_server_path()) {
    printf("1..0 # SKIP redis-server is not installed (apt-get install redis-server)\n");
    return 0;
  }
  if (redis_start(&g_srv) != 0) fail_msg("redis-server did not start");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fds_stable),
      cmocka_unit_test(test_sockets_close_on_exec),
      cmocka_unit_test(test_fork_closes_idle),
      cmocka_unit_test(test_cancel_while_blocked),
      cmocka_unit_test(test_fired_before_the_call),
      cmocka_unit_test(test_zero_and_tiny_timeouts),
      cmocka_unit_test_teardown(test_restart_reconnects, stop_own),
      cmocka_unit_test(test_exit_while_get_waits),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  redis_stop(&g_srv, 0);
  return failed;
}
