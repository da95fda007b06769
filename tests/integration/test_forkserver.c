/* MP_START_FORKSERVER: children forked by a server process (this program
 * re-executed once), with the guarantees of the other start methods: exit
 * codes and signals, handles by index and by name, join/terminate/kill
 * with timeouts, daemons dying with a SIGKILLed parent, a SIGKILLed server
 * replaced at the next start, pool workers, no zombies or descriptor leaks,
 * a parent with threads.
 *
 * A child tells its server's pid by getppid(): the server, not this
 * process, is its parent. Every target is registered before mp_main(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

/* ------------------------------------------------------------------------
 * Targets and tasks
 * ---------------------------------------------------------------------- */

static long arg_long(const void *arg, size_t len) {
  char buf[32] = {0};
  memcpy(buf, arg, len < sizeof buf - 1 ? len : sizeof buf - 1);
  return strtol(buf, NULL, 10);
}

/* Exits with the code in arg; "-N" raises signal N instead. */
static int fs_exit(const void *arg, size_t len, void *payload) {
  (void)payload;
  long v = arg_long(arg, len);
  if (v < 0) raise((int)-v);
  return (int)v;
}

static int fs_sleep(const void *arg, size_t len, void *payload) {
  (void)payload;
  sleep_ms((int)arg_long(arg, len));
  return 0;
}

/* Writes its pid and its parent's (the server) to descriptor 0 by index. */
static int fs_pids(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  int pids[2] = {getpid(), getppid()};
  if (write_all(mp_child_fd(0), pids, sizeof pids) != 0) return 3;
  sleep_ms((int)arg_long(arg, len));
  return 0;
}

/* Writes "idx" to the descriptor passed by index, "name" to the one
 * passed by name as "out", and puts "queued" on the queue "q". */
static int fs_handles(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  int out = -1;
  mp_queue_t *q = NULL;
  if (mp_fd_inherit(&out, "out") != MP_OK) return 2;
  if (mp_queue_inherit(&q, "q") != MP_OK) return 3;
  if (write_all(mp_child_fd(0), "idx", 3) != 0) return 4;
  if (write_all(out, "name", 4) != 0) return 5;
  if (mp_queue_put(q, "queued", 6, MP_FOREVER) != MP_OK) return 6;
  mp_queue_free(q);
  return mp_is_child() == 1 && mp_parent_pid() != getppid() ? 0 : 7;
}

/* A fork child that starts a forkserver daemon, reports its pid and the
 * server's over descriptor 0, then sleeps until killed. */
static int fs_middle(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_process_t *p = NULL;
  int pair[2];
  if (pipe(pair) != 0) return 2;
  if (mp_process_new(&p, "fs_pids", "60000", 5) != MP_OK) return 3;
  mp_process_set_start_method(p, MP_START_FORKSERVER);
  mp_process_set_daemon(p, 1);
  mp_process_pass_fd(p, pair[1]);
  if (mp_process_start(p) != MP_OK) return 4;
  int pids[2];
  if (read(pair[0], pids, sizeof pids) != (ssize_t)sizeof pids) return 5;
  if (write_all(mp_child_fd(0), pids, sizeof pids) != 0) return 6;
  sleep_ms(60000);
  return 0;
}

static int t_getpid(void **out, size_t *out_len, const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%d", (int)getpid());
  *out = malloc((size_t)n);
  memcpy(*out, buf, (size_t)n);
  *out_len = (size_t)n;
  return 0;
}

static int t_die(void **out, size_t *out_len, const void *arg, size_t len, void *payload) {
  (void)out, (void)out_len, (void)arg, (void)len, (void)payload;
  kill(getpid(), SIGKILL);
  return 0;
}

static void register_all(void) {
  mp_register("fs_exit", fs_exit, NULL);
  mp_register("fs_sleep", fs_sleep, NULL);
  mp_register("fs_pids", fs_pids, NULL);
  mp_register("fs_handles", fs_handles, NULL);
  mp_register("fs_middle", fs_middle, NULL);
  mp_register_task("getpid", t_getpid, NULL);
  mp_register_task("die", t_die, NULL);
}

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static mp_process_t *new_fs(const char *target, const char *arg) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, target, arg, arg ? strlen(arg) : 0));
  MP_ASSERT_OK(mp_process_set_start_method(p, MP_START_FORKSERVER));
  return p;
}

static int run_exitcode(const char *target, const char *arg) {
  mp_process_t *p = new_fs(target, arg);
  MP_ASSERT_OK(mp_process_start(p));
  MP_ASSERT_OK(mp_process_join(p, 20000));
  int code = 0;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  return code;
}

/* Starts fs_pids (sleeping ms afterwards); *child and *server from it. */
static mp_process_t *start_pids(int ms, int daemon, int *child, int *server) {
  int pair[2];
  assert_int_equal(pipe(pair), 0);
  char arg[16];
  snprintf(arg, sizeof arg, "%d", ms);
  mp_process_t *p = new_fs("fs_pids", arg);
  MP_ASSERT_OK(mp_process_set_daemon(p, daemon));
  MP_ASSERT_OK(mp_process_pass_fd(p, pair[1]));
  MP_ASSERT_OK(mp_process_start(p));
  close(pair[1]);
  int pids[2] = {0, 0};
  assert_int_equal(read(pair[0], pids, sizeof pids), (ssize_t)sizeof pids);
  close(pair[0]);
  *child = pids[0];
  *server = pids[1];
  assert_int_equal(pids[0], mp_process_pid(p));
  return p;
}

/* 1 once pid is gone (or a zombie) within ms. */
static int gone_within(int pid, int ms) {
  int64_t end = now_ms() + ms;
  while (pid_running(pid))
    if (now_ms() > end) return 0;
    else
      sleep_ms(5);
  return 1;
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_fs_exit_codes_and_signals(void **state) {
  (void)state;
  assert_int_equal(run_exitcode("fs_exit", "0"), 0);
  assert_int_equal(run_exitcode("fs_exit", "7"), 7);
  assert_int_equal(run_exitcode("fs_exit", "255"), 255);
  assert_int_equal(run_exitcode("fs_exit", "-9"), -SIGKILL);
  assert_int_equal(run_exitcode("fs_exit", "-15"), -SIGTERM);
  assert_int_equal(run_exitcode("fs_exit", "-10"), -SIGUSR1); /* ASan takes SIGSEGV */
}

static void test_fs_child_of_the_server(void **state) {
  (void)state;
  int child, server;
  mp_process_t *p = start_pids(0, 0, &child, &server);
  assert_int_not_equal(server, getpid());
  assert_true(pid_running(server));
  MP_ASSERT_OK(mp_process_join(p, 20000));
  mp_process_free(p);
  /* The same server forks the next one. */
  int child2, server2;
  p = start_pids(0, 0, &child2, &server2);
  assert_int_equal(server2, server);
  MP_ASSERT_OK(mp_process_join(p, 20000));
  mp_process_free(p);
}

static void test_fs_handles_by_index_and_name(void **state) {
  (void)state;
  int by_index[2], by_name[2];
  assert_int_equal(pipe(by_index), 0);
  assert_int_equal(pipe(by_name), 0);
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_process_t *p = new_fs("fs_handles", NULL);
  MP_ASSERT_OK(mp_process_pass_fd(p, by_index[1]));
  MP_ASSERT_OK(mp_process_pass_fd2(p, "out", by_name[1]));
  MP_ASSERT_OK(mp_process_pass_queue(p, "q", q));
  MP_ASSERT_OK(mp_process_start(p));
  close(by_index[1]);
  close(by_name[1]);
  char buf[16] = {0};
  assert_int_equal(read(by_index[0], buf, sizeof buf), 3);
  assert_memory_equal(buf, "idx", 3);
  assert_int_equal(read(by_name[0], buf, sizeof buf), 4);
  assert_memory_equal(buf, "name", 4);
  void *item = NULL;
  size_t len = 0;
  MP_ASSERT_OK(mp_queue_get(&item, &len, q, 20000));
  assert_int_equal(len, 6);
  assert_memory_equal(item, "queued", 6);
  mp_free(item);
  MP_ASSERT_OK(mp_process_join(p, 20000));
  int code = -1;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  /* Every copy of the write ends was closed: the child's and the server's. */
  assert_int_equal(read(by_index[0], buf, sizeof buf), 0);
  assert_int_equal(read(by_name[0], buf, sizeof buf), 0);
  close(by_index[0]);
  close(by_name[0]);
  mp_process_free(p);
  mp_queue_free(q);
}

static void test_fs_join_timeout_terminate_kill(void **state) {
  (void)state;
  mp_process_t *a = new_fs("fs_sleep", "60000");
  mp_process_t *b = new_fs("fs_sleep", "60000");
  MP_ASSERT_OK(mp_process_start(a));
  MP_ASSERT_OK(mp_process_start(b));
  MP_ASSERT_TIMES_OUT(mp_process_join(a, 200), 150, 5000);
  assert_int_equal(mp_process_is_alive(a), 1);
  int fd = -1;
  MP_ASSERT_OK(mp_process_sentinel(&fd, a));
  struct pollfd pfd = {fd, POLLIN, 0};
  assert_int_equal(poll(&pfd, 1, 0), 0);
  MP_ASSERT_OK(mp_process_terminate(a));
  MP_ASSERT_OK(mp_process_kill(b));
  assert_int_equal(poll(&pfd, 1, 20000), 1); /* the sentinel turns readable */
  mp_waitable_t w = {MP_WAIT_PROCESS, b, 0};
  assert_int_equal(mp_wait(&w, 1, 20000), 1);
  MP_ASSERT_OK(mp_process_join(a, 20000));
  MP_ASSERT_OK(mp_process_join(b, 20000));
  int code = 0;
  MP_ASSERT_OK(mp_process_exitcode(&code, a));
  assert_int_equal(code, -SIGTERM);
  MP_ASSERT_OK(mp_process_exitcode(&code, b));
  assert_int_equal(code, -SIGKILL);
  assert_int_equal(mp_process_is_alive(a), 0);
  MP_ASSERT_OK(mp_process_kill(a)); /* ended: nothing to signal */
  mp_process_free(a);
  mp_process_free(b);
}

static void test_fs_daemon_dies_with_sigkilled_parent(void **state) {
  (void)state;
  int pair[2];
  assert_int_equal(pipe(pair), 0);
  mp_process_t *middle = NULL;
  MP_ASSERT_OK(mp_process_new(&middle, "fs_middle", NULL, 0));
  MP_ASSERT_OK(mp_process_set_start_method(middle, MP_START_FORK));
  MP_ASSERT_OK(mp_process_pass_fd(middle, pair[1]));
  MP_ASSERT_OK(mp_process_start(middle));
  close(pair[1]);
  int pids[2] = {0, 0};
  assert_int_equal(read(pair[0], pids, sizeof pids), (ssize_t)sizeof pids);
  close(pair[0]);
  assert_true(pid_running(pids[0]) && pid_running(pids[1]));
  assert_int_not_equal(pids[1], mp_process_pid(middle)); /* forked by the server */
  MP_ASSERT_OK(mp_process_kill(middle));
  MP_ASSERT_OK(mp_process_join(middle, 20000));
  if (!gone_within(pids[1], 10000)) fail_msg("the server outlived its SIGKILLed parent");
  if (!gone_within(pids[0], 10000)) fail_msg("the daemon outlived its SIGKILLed parent");
  mp_process_free(middle);
}

static void test_fs_server_sigkilled_then_next_start(void **state) {
  (void)state;
  int running, daemon, server, server2, other;
  mp_process_t *p = start_pids(60000, 0, &running, &server);
  mp_process_t *d = start_pids(60000, 1, &daemon, &other);
  assert_int_equal(other, server);
  assert_int_equal(kill(server, SIGKILL), 0);
  /* The running child's status is lost with the server: 255, as Python. */
  MP_ASSERT_OK(mp_process_join(p, 20000));
  int code = 0;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 255);
  MP_ASSERT_OK(mp_process_join(d, 20000));
  if (!gone_within(daemon, 10000)) fail_msg("a daemon outlived its server");
  assert_true(pid_running(running)); /* not a daemon: it goes on */
  kill(running, SIGKILL);
  mp_process_free(p);
  mp_process_free(d);
  /* The next start runs on a new server. */
  p = start_pids(0, 0, &other, &server2);
  assert_int_not_equal(server2, server);
  MP_ASSERT_OK(mp_process_join(p, 20000));
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  mp_process_free(p);
  if (!gone_within(server, 10000)) fail_msg("the killed server was never reaped");
}

static void *start_in_thread(void *p) {
  return (void *)(intptr_t)mp_process_start((mp_process_t *)p);
}

/* A server killed while a start's request waits unread in its socket (it
 * was stopped first): the request never reached a fork, so the start is
 * made again on a new server instead of failing with MP_EPIPE. */
static void test_fs_server_killed_holding_a_request(void **state) {
  (void)state;
  int child, server, child2, server2;
  mp_process_t *p = start_pids(0, 0, &child, &server);
  MP_ASSERT_OK(mp_process_join(p, 20000));
  mp_process_free(p);
  assert_int_equal(kill(server, SIGSTOP), 0);
  int pair[2];
  assert_int_equal(pipe(pair), 0);
  p = new_fs("fs_pids", "0");
  MP_ASSERT_OK(mp_process_pass_fd(p, pair[1]));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, start_in_thread, p), 0);
  struct timespec pause = {0, 300 * 1000000L}; /* the request is queued */
  nanosleep(&pause, NULL);
  assert_int_equal(kill(server, SIGKILL), 0);
  void *rc = NULL;
  pthread_join(t, &rc);
  if ((int)(intptr_t)rc != MP_OK)
    fail_msg("start = %s: %s", mp_err_name((int)(intptr_t)rc), mp_last_error());
  close(pair[1]);
  int pids[2] = {0, 0};
  assert_int_equal(read(pair[0], pids, sizeof pids), (ssize_t)sizeof pids);
  close(pair[0]);
  child2 = pids[0];
  server2 = pids[1];
  assert_int_equal(child2, mp_process_pid(p));
  assert_int_not_equal(server2, server);
  MP_ASSERT_OK(mp_process_join(p, 20000));
  mp_process_free(p);
  if (!gone_within(server, 10000)) fail_msg("the killed server was never reaped");
}

static long apply_getpid(mp_pool_t *pool) {
  void *out = NULL;
  size_t len = 0;
  MP_ASSERT_OK(mp_pool_apply(&out, &len, pool, "getpid", "0", 1));
  long pid = arg_long(out, len);
  mp_free(out);
  return pid;
}

static void test_fs_pool_worker_killed_and_replaced(void **state) {
  (void)state;
  mp_pool_opts_t *o = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_workers(o, 2));
  MP_ASSERT_OK(mp_pool_opts_set_start_method(o, MP_START_FORKSERVER));
  mp_pool_t *pool = NULL;
  MP_ASSERT_OK(mp_pool_new(&pool, o));
  mp_pool_opts_free(o);
  long pid = apply_getpid(pool);
  assert_true(pid > 0 && pid != getpid());
  void *out = NULL;
  size_t len = 0;
  assert_int_equal(mp_pool_apply(&out, &len, pool, "die", "", 0), MP_EWORKERDIED);
  mp_free(out); /* the error's message, if any */
  int64_t end = now_ms() + 10000;
  while (mp_pool_stat(pool, MP_POOL_WORKERS_REPLACED) < 1 && now_ms() < end) sleep_ms(5);
  assert_true(mp_pool_stat(pool, MP_POOL_WORKERS_REPLACED) >= 1);
  for (int i = 0; i < 8; i++) assert_true(apply_getpid(pool) > 0);
  MP_ASSERT_OK(mp_pool_close(pool));
  MP_ASSERT_OK(mp_pool_join(pool, 20000));
  mp_pool_free(pool);
}

static void test_fs_no_zombies_no_fd_leak(void **state) {
  (void)state;
  assert_int_equal(run_exitcode("fs_exit", "0"), 0); /* the server runs */
  int before = count_open_fds();
  for (int i = 0; i < 20; i++) {
    mp_process_t *p = new_fs("fs_exit", i % 2 ? "-9" : "3");
    MP_ASSERT_OK(mp_process_start(p));
    if (i % 3 == 0) MP_ASSERT_OK(mp_process_join(p, 20000));
    mp_process_free(p); /* some freed while running: the runtime reaps them */
  }
  sleep_ms(200);
  /* Freeing a joined process drops the ended ones from the exit list. */
  assert_int_equal(run_exitcode("fs_exit", "0"), 0);
  ASSERT_NO_FD_LEAK(before);
  assert_int_equal(count_zombie_children(), 0);
}

static atomic_int g_churn_stop;

/* Allocates and frees all the time: a fork from this process could copy a
 * held allocator lock; the server's children are not forked from here. */
static void *churn(void *arg) {
  (void)arg;
  while (!atomic_load(&g_churn_stop)) free(malloc(1 + (size_t)rand() % 4096));
  return NULL;
}

static void test_fs_parent_with_threads(void **state) {
  (void)state;
  pthread_t t[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
  for (int i = 0; i < 30; i++) assert_int_equal(run_exitcode("fs_exit", "5"), 5);
  atomic_store(&g_churn_stop, 1);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
}

static void test_fs_default_start_method(void **state) {
  (void)state;
  MP_ASSERT_OK(mp_set_start_method(MP_START_FORKSERVER, 1));
  assert_int_equal(mp_get_start_method(), MP_START_FORKSERVER);
  int pair[2];
  assert_int_equal(pipe(pair), 0);
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, "fs_pids", "0", 1));
  MP_ASSERT_OK(mp_process_pass_fd(p, pair[1]));
  MP_ASSERT_OK(mp_process_start(p));
  close(pair[1]);
  int pids[2];
  assert_int_equal(read(pair[0], pids, sizeof pids), (ssize_t)sizeof pids);
  close(pair[0]);
  assert_int_not_equal(pids[1], getpid());
  MP_ASSERT_OK(mp_process_join(p, 20000));
  mp_process_free(p);
  MP_ASSERT_OK(mp_set_start_method(MP_START_FORK, 1));
}

int main(int argc, char **argv) {
  register_all();
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 99;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fs_exit_codes_and_signals),
      cmocka_unit_test(test_fs_child_of_the_server),
      cmocka_unit_test(test_fs_handles_by_index_and_name),
      cmocka_unit_test(test_fs_join_timeout_terminate_kill),
      cmocka_unit_test(test_fs_daemon_dies_with_sigkilled_parent),
      cmocka_unit_test(test_fs_server_sigkilled_then_next_start),
      cmocka_unit_test(test_fs_server_killed_holding_a_request),
      cmocka_unit_test(test_fs_pool_worker_killed_and_replaced),
      cmocka_unit_test(test_fs_no_zombies_no_fd_leak),
      cmocka_unit_test(test_fs_parent_with_threads),
      cmocka_unit_test(test_fs_default_start_method),
  };
  return MP_RUN_TESTS(tests);
}
