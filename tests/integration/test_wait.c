/* mp_wait (multiprocessing.connection.wait) over connections, queues,
 * processes and events, woken by real child processes; and the process
 * getters that go with it (daemon, sentinel), active children and the
 * parent process.
 *
 * Ported in spirit from CPython Lib/test/_test_multiprocessing.py
 * TestWait (test_wait, test_wait_timeout, test_wait_integer) and
 * test_sentinel / test_active_children / test_parent_process. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

/* The objects the actor children act on: set before each fork. */
static mp_queue_t *g_queue;
static mp_event_t *g_event;
static mp_conn_t *g_conn_child; /* the end the child writes */

/* Sleep 200 ms, do one thing (arg: 'q' put, 'e' set, 'c' send, 'x' exit),
 * then stay alive (except 'x') so that only that one thing is ready. */
static int actor(const void *arg, size_t len, void *payload) {
  (void)payload;
  char what = len ? *(const char *)arg : 'x';
  sleep_ms(200);
  if (what == 'q' && mp_queue_put(g_queue, "hi", 2, MP_FOREVER) != MP_OK) return 2;
  if (what == 'e' && mp_event_set(g_event) != MP_OK) return 3;
  if (what == 'c' && mp_conn_send(g_conn_child, "hi", 2, MP_FOREVER) != MP_OK) return 4;
  if (what == 'x') return 7;
  sleep_ms(30000);
  return 0;
}

static int sleeper(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  sleep_ms(30000);
  return 0;
}

/* The parent's pid and liveness as a child sees them: exit status 0 when
 * both agree with what the parent sent (its pid in the argument). */
static int parent_checker(const void *arg, size_t len, void *payload) {
  (void)payload;
  int want;
  if (len != sizeof want) return 10;
  memcpy(&want, arg, sizeof want);
  if (mp_parent_pid() != want) return 11;
  if (mp_parent_alive() != 1) return 12;
  if (strcmp(mp_parent_name(), "MainProcess") != 0) return 13;
  return 0;
}

/* A child whose own child outlives it: the grandchild reports (exit 0)
 * that its parent is gone. */
static int orphan_checker(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  for (int i = 0; i < 500 && mp_parent_alive() == 1; ++i) sleep_ms(10);
  return mp_parent_alive() == 0 ? 0 : 1;
}

static int orphan_parent(const void *arg, size_t len, void *payload) {
  (void)payload;
  mp_process_t *p = NULL;
  if (mp_process_new(&p, "orphan_checker", NULL, 0) != MP_OK) return 20;
  if (mp_process_start(p) != MP_OK) return 21;
  int pid = mp_process_pid(p);
  int fd = *(const int *)arg;
  (void)len;
  if (write(fd, &pid, sizeof pid) != sizeof pid) return 22;
  mp_set_exit_join(0); /* leave the grandchild behind */
  return 0;
}

struct fixture {
  mp_queue_t *queue;
  mp_event_t *event;
  mp_conn_t *conn;  /* the parent's receiving end */
  mp_process_t *proc;
};

static void fixture_start(struct fixture *f, char what) {
  memset(f, 0, sizeof *f);
  MP_ASSERT_OK(mp_queue_new(&f->queue, 0, 0, 0));
  MP_ASSERT_OK(mp_event_new(&f->event));
  MP_ASSERT_OK(mp_pipe(&f->conn, &g_conn_child, 0));
  g_queue = f->queue;
  g_event = f->event;
  MP_ASSERT_OK(mp_process_new(&f->proc, "actor", &what, 1));
  MP_ASSERT_OK(mp_process_start(f->proc));
}

static void fixture_end(struct fixture *f) {
  mp_process_kill(f->proc);
  MP_ASSERT_OK(mp_process_join(f->proc, 10000));
  mp_process_free(f->proc);
  mp_conn_free(f->conn);
  mp_conn_free(g_conn_child);
  mp_queue_free(f->queue);
  mp_event_free(f->event);
}

/* Wait on all four; `which` (index) must be the only one ready. */
static void check_wakes(char what, int which) {
  struct fixture f;
  fixture_start(&f, what);
  mp_waitable_t w[4] = {{MP_WAIT_CONN, f.conn, 9},
                        {MP_WAIT_QUEUE, f.queue, 9},
                        {MP_WAIT_PROCESS, f.proc, 9},
                        {MP_WAIT_EVENT, f.event, 9}};
  int64_t t0 = now_ms();
  int n = mp_wait(w, 4, 20000);
  int64_t took = now_ms() - t0;
  if (n < 0) fail_msg("mp_wait = %s: %s", mp_err_name(n), mp_last_error());
  assert_int_equal(n, 1);
  for (int i = 0; i < 4; ++i) assert_int_equal(w[i].ready, i == which);
  assert_true(took >= 150);   /* it waited for the child */
  assert_true(took < 10000);  /* and was woken, not timed out */
  fixture_end(&f);
}

static void test_wait_queue_put_wakes(void **state) {
  (void)state;
  check_wakes('q', 1);
}

static void test_wait_event_set_wakes(void **state) {
  (void)state;
  check_wakes('e', 3);
}

static void test_wait_process_exit_wakes(void **state) {
  (void)state;
  check_wakes('x', 2);
}

static void test_wait_conn_send_wakes(void **state) {
  (void)state;
  check_wakes('c', 0);
}

/* Only futex words (no descriptor): the single futex_waitv path. */
static void test_wait_futex_only(void **state) {
  (void)state;
  struct fixture f;
  fixture_start(&f, 'q');
  mp_waitable_t w[2] = {{MP_WAIT_EVENT, f.event, 0}, {MP_WAIT_QUEUE, f.queue, 0}};
  int64_t t0 = now_ms();
  assert_int_equal(mp_wait(w, 2, 20000), 1);
  assert_true(now_ms() - t0 >= 150);
  assert_int_equal(w[0].ready, 0);
  assert_int_equal(w[1].ready, 1);
  fixture_end(&f);
}

/* Only descriptors: the poll() path. */
static void test_wait_fds_only(void **state) {
  (void)state;
  struct fixture f;
  fixture_start(&f, 'x');
  mp_waitable_t w[2] = {{MP_WAIT_CONN, f.conn, 0}, {MP_WAIT_PROCESS, f.proc, 0}};
  assert_int_equal(mp_wait(w, 2, 20000), 1);
  assert_int_equal(w[0].ready, 0);
  assert_int_equal(w[1].ready, 1);
  int code;
  MP_ASSERT_OK(mp_process_join(f.proc, 5000));
  MP_ASSERT_OK(mp_process_exitcode(&code, f.proc));
  assert_int_equal(code, 7);
  fixture_end(&f);
}

/* TestWait.test_wait_timeout: nothing ready, the timeout is kept. */
static void test_wait_timeout(void **state) {
  (void)state;
  struct fixture f;
  fixture_start(&f, 'z'); /* 'z': does nothing, stays alive */
  mp_waitable_t w[4] = {{MP_WAIT_CONN, f.conn, 9},
                        {MP_WAIT_QUEUE, f.queue, 9},
                        {MP_WAIT_PROCESS, f.proc, 9},
                        {MP_WAIT_EVENT, f.event, 9}};
  int64_t t0 = now_ms();
  assert_int_equal(mp_wait(w, 4, 0), 0); /* a poll: returns at once */
  assert_true(now_ms() - t0 < 1000);
  for (int i = 0; i < 4; ++i) assert_int_equal(w[i].ready, 0);
  t0 = now_ms();
  assert_int_equal(mp_wait(w, 4, 300), 0);
  int64_t took = now_ms() - t0;
  assert_true(took >= 290 && took < 5000);
  /* Ready before the call: timeout 0 reports every ready entry. */
  MP_ASSERT_OK(mp_event_set(f.event));
  MP_ASSERT_OK(mp_queue_put(f.queue, "x", 1, 0));
  assert_int_equal(mp_wait(w, 4, 0), 2);
  assert_int_equal(w[1].ready, 1);
  assert_int_equal(w[3].ready, 1);
  fixture_end(&f);
}

/* A plain descriptor (MP_WAIT_FD): a pipe another process writes, mixed
 * with an event (TestWait.test_wait_integer). */
static void test_wait_plain_fd(void **state) {
  (void)state;
  struct fixture f;
  fixture_start(&f, 'z');
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  mp_waitable_t w[2] = {{MP_WAIT_EVENT, f.event, 0},
                        {MP_WAIT_FD, (void *)(intptr_t)fds[0], 0}};
  assert_int_equal(mp_wait(w, 2, 0), 0);
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(200);
    _exit(write(fds[1], "x", 1) == 1 ? 0 : 1);
  }
  int64_t t0 = now_ms();
  assert_int_equal(mp_wait(w, 2, 20000), 1);
  assert_true(now_ms() - t0 >= 150);
  assert_int_equal(w[0].ready, 0);
  assert_int_equal(w[1].ready, 1);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  close(fds[0]);
  close(fds[1]);
  w[1].handle = (void *)(intptr_t)fds[0]; /* closed now */
  MP_ASSERT_ERR(mp_wait(w, 2, 0), MP_EINVAL);
  w[1].handle = (void *)(intptr_t)-1;
  MP_ASSERT_ERR(mp_wait(w, 2, 0), MP_EINVAL);
  fixture_end(&f);
}

/* A closed queue is ready: a get answers at once (MP_ECLOSED). */
static void test_wait_closed_queue_ready(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_waitable_t w = {MP_WAIT_QUEUE, q, 0};
  assert_int_equal(mp_wait(&w, 1, 0), 0);
  MP_ASSERT_OK(mp_queue_close(q));
  assert_int_equal(mp_wait(&w, 1, 1000), 1);
  mp_queue_free(q);
}

struct firer {
  mp_cancel_t *token;
  int delay_ms;
};

static void *fire_later(void *p) {
  struct firer *f = p;
  sleep_ms(f->delay_ms);
  mp_cancel_fire(f->token);
  return NULL;
}

/* A fired cancel token wakes the wait: mixed and futex-only sets. */
static void test_wait_cancel(void **state) {
  (void)state;
  struct fixture f;
  fixture_start(&f, 'z');
  mp_waitable_t mixed[2] = {{MP_WAIT_CONN, f.conn, 0}, {MP_WAIT_EVENT, f.event, 0}};
  mp_waitable_t futex[1] = {{MP_WAIT_QUEUE, f.queue, 0}};
  mp_waitable_t *sets[2] = {mixed, futex};
  size_t sizes[2] = {2, 1};
  for (int i = 0; i < 2; ++i) {
    struct firer fr = {NULL, 150};
    MP_ASSERT_OK(mp_cancel_new(&fr.token));
    mp_cancel_t *prev = mp_cancel_bind(fr.token);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fire_later, &fr), 0);
    int64_t t0 = now_ms();
    MP_ASSERT_ERR(mp_wait(sets[i], sizes[i], 20000), MP_ECANCELED);
    assert_true(now_ms() - t0 < 10000);
    pthread_join(t, NULL);
    mp_cancel_bind(prev);
    mp_cancel_free(fr.token);
  }
  fixture_end(&f);
}

static void test_wait_bad_input(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  mp_event_t *e = NULL;
  mp_process_t *p = NULL;
  mp_conn_t *a = NULL, *b = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  MP_ASSERT_OK(mp_event_new(&e));
  MP_ASSERT_OK(mp_process_new(&p, "sleeper", NULL, 0));
  MP_ASSERT_OK(mp_pipe(&a, &b, 0));
  mp_waitable_t w[MP_WAIT_MAX + 1];
  for (int i = 0; i <= MP_WAIT_MAX; ++i) w[i] = (mp_waitable_t){MP_WAIT_EVENT, e, 0};
  MP_ASSERT_ERR(mp_wait(NULL, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_wait(w, 0, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_wait(w, 1, -5), MP_EINVAL);
  MP_ASSERT_ERR(mp_wait(w, MP_WAIT_MAX + 1, 0), MP_ENOSPC);
  assert_int_equal(mp_wait(w, MP_WAIT_MAX, 0), 0); /* the limit itself is fine */
  w[0] = (mp_waitable_t){0, e, 0};
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_EINVAL); /* unknown kind */
  w[0] = (mp_waitable_t){99, e, 0};
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_EINVAL);
  w[0] = (mp_waitable_t){MP_WAIT_EVENT, NULL, 0};
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_EINVAL);
  w[0] = (mp_waitable_t){MP_WAIT_EVENT, q, 0}; /* a queue called an event */
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_EINVAL);
  w[0] = (mp_waitable_t){MP_WAIT_QUEUE, e, 0};
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_EINVAL);
  w[0] = (mp_waitable_t){MP_WAIT_CONN, q, 0};
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_EINVAL);
  w[0] = (mp_waitable_t){MP_WAIT_PROCESS, p, 0}; /* not started */
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_ESTATE);
  w[0] = (mp_waitable_t){MP_WAIT_CONN, b, 0}; /* send-only end */
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_EINVAL);
  MP_ASSERT_OK(mp_conn_close(a));
  w[0] = (mp_waitable_t){MP_WAIT_CONN, a, 0};
  MP_ASSERT_ERR(mp_wait(w, 1, 0), MP_ECLOSED);
  mp_conn_free(a);
  mp_conn_free(b);
  mp_process_free(p);
  mp_queue_free(q);
  mp_event_free(e);
}

/* ---- process getters: daemon, sentinel ---------------------------------- */

static void test_process_daemon_getter(void **state) {
  (void)state;
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, "sleeper", NULL, 0));
  assert_int_equal(mp_process_daemon(p), 0);
  MP_ASSERT_OK(mp_process_set_daemon(p, 1));
  assert_int_equal(mp_process_daemon(p), 1);
  MP_ASSERT_OK(mp_process_start(p));
  assert_int_equal(mp_process_daemon(p), 1);
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, 10000));
  mp_process_free(p);
  MP_ASSERT_ERR(mp_process_daemon(NULL), MP_EINVAL);
  /* A command: daemon as mp_cmd_daemon() said (the portable backend has
   * no daemon commands: test_signal). */
  mp_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  MP_ASSERT_OK(mp_cmd_daemon(cmd, !mp_test_portable()));
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  assert_int_equal(mp_process_daemon(p), !mp_test_portable());
  MP_ASSERT_OK(mp_process_join(p, 10000));
  mp_process_free(p);
  mp_cmd_free(cmd);
}

/* poll() one descriptor for POLLIN, again after EINTR (without pidfds the
 * library reaps on SIGCHLD, which may land on this thread). */
static int poll_in(int fd, int timeout_ms) {
  struct pollfd pfd = {fd, POLLIN, 0};
  int r;
  while ((r = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  return r;
}

/* test_sentinel: not readable while the child runs, readable after. */
static void test_process_sentinel(void **state) {
  (void)state;
  mp_process_t *p = NULL;
  int fd = -1;
  MP_ASSERT_OK(mp_process_new(&p, "sleeper", NULL, 0));
  MP_ASSERT_ERR(mp_process_sentinel(&fd, p), MP_ESTATE);
  MP_ASSERT_OK(mp_process_start(p));
  MP_ASSERT_OK(mp_process_sentinel(&fd, p));
  assert_true(fd >= 0);
  assert_int_equal(poll_in(fd, 100), 0);
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(poll_in(fd, 10000), 1);
  int again = -1;
  MP_ASSERT_OK(mp_process_sentinel(&again, p));
  assert_int_equal(again, fd); /* the same borrowed descriptor */
  MP_ASSERT_OK(mp_process_join(p, 10000));
  assert_int_equal(poll_in(fd, 0), 1); /* stays readable */
  mp_process_free(p);
  MP_ASSERT_ERR(mp_process_sentinel(NULL, p), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_sentinel(&fd, NULL), MP_EINVAL);
}

/* ---- active children, parent process ------------------------------------ */

static int has_pid(const int *pids, size_t n, int pid) {
  for (size_t i = 0; i < n; ++i)
    if (pids[i] == pid) return 1;
  return 0;
}

/* test_active_children: started children are listed while they live. */
static void test_active_children(void **state) {
  (void)state;
  mp_process_t *p = NULL, *q = NULL;
  int pids[MP_WAIT_MAX];
  size_t count = 99;
  MP_ASSERT_OK(mp_process_new(&p, "sleeper", NULL, 0));
  MP_ASSERT_OK(mp_process_new(&q, "sleeper", NULL, 0));
  MP_ASSERT_OK(mp_active_children(pids, MP_WAIT_MAX, &count));
  size_t before = count;
  MP_ASSERT_OK(mp_process_start(p));
  MP_ASSERT_OK(mp_process_start(q));
  MP_ASSERT_OK(mp_active_children(pids, MP_WAIT_MAX, &count));
  assert_int_equal(count, before + 2);
  assert_true(has_pid(pids, count, mp_process_pid(p)));
  assert_true(has_pid(pids, count, mp_process_pid(q)));
  /* cap smaller than the list: count is the whole number. */
  MP_ASSERT_OK(mp_active_children(pids, 1, &count));
  assert_int_equal(count, before + 2);
  MP_ASSERT_OK(mp_active_children(NULL, 0, &count));
  assert_int_equal(count, before + 2);
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, 10000));
  MP_ASSERT_OK(mp_active_children(pids, MP_WAIT_MAX, &count));
  assert_int_equal(count, before + 1);
  assert_false(has_pid(pids, count, mp_process_pid(p)));
  mp_process_kill(q);
  MP_ASSERT_OK(mp_process_join(q, 10000));
  mp_process_free(p);
  mp_process_free(q);
  MP_ASSERT_ERR(mp_active_children(pids, 1, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_active_children(NULL, 1, &count), MP_EINVAL);
}

/* test_parent_process: in the main process there is no parent. */
static void test_parent_process_main(void **state) {
  (void)state;
  MP_ASSERT_ERR(mp_parent_alive(), MP_ESTATE);
  assert_string_equal(mp_parent_name(), "");
}

/* test_parent_process: a child knows its parent's pid, name, liveness. */
static void test_parent_process_child(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    int me = (int)getpid();
    mp_process_t *p = NULL;
    MP_ASSERT_OK(mp_process_new(&p, "parent_checker", &me, sizeof me));
    MP_ASSERT_OK(mp_process_set_start_method(p, (mp_start_method_t)m));
    MP_ASSERT_OK(mp_process_start(p));
    MP_ASSERT_OK(mp_process_join(p, 20000));
    int code = -1;
    MP_ASSERT_OK(mp_process_exitcode(&code, p));
    assert_int_equal(code, 0);
    mp_process_free(p);
  }
}

/* test_parent_process (the parent dies): the grandchild sees it gone. */
static void test_parent_process_dies(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, "orphan_parent", &fds[1], sizeof fds[1]));
  MP_ASSERT_OK(mp_process_start(p));
  MP_ASSERT_OK(mp_process_join(p, 20000));
  int code = -1;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  int grandchild = 0;
  assert_int_equal(read(fds[0], &grandchild, sizeof grandchild), (ssize_t)sizeof grandchild);
  /* The grandchild is not ours to reap: wait for it to leave. */
  for (int i = 0; i < 1000 && pid_running(grandchild); ++i) sleep_ms(10);
  assert_false(pid_running(grandchild));
  close(fds[0]);
  close(fds[1]);
  mp_process_free(p);
}

int main(int argc, char **argv) {
  mp_register("actor", actor, NULL);
  mp_register("sleeper", sleeper, NULL);
  mp_register("parent_checker", parent_checker, NULL);
  mp_register("orphan_checker", orphan_checker, NULL);
  mp_register("orphan_parent", orphan_parent, NULL);
  if (mp_main(argc, argv) != MP_OK) return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wait_queue_put_wakes),
      cmocka_unit_test(test_wait_event_set_wakes),
      cmocka_unit_test(test_wait_process_exit_wakes),
      cmocka_unit_test(test_wait_conn_send_wakes),
      cmocka_unit_test(test_wait_futex_only),
      cmocka_unit_test(test_wait_fds_only),
      cmocka_unit_test(test_wait_timeout),
      cmocka_unit_test(test_wait_plain_fd),
      cmocka_unit_test(test_wait_closed_queue_ready),
      cmocka_unit_test(test_wait_cancel),
      cmocka_unit_test(test_wait_bad_input),
      cmocka_unit_test(test_process_daemon_getter),
      cmocka_unit_test(test_process_sentinel),
      cmocka_unit_test(test_active_children),
      cmocka_unit_test(test_parent_process_main),
      cmocka_unit_test(test_parent_process_child),
      cmocka_unit_test(test_parent_process_dies),
  };
  return MP_RUN_TESTS(tests);
}
