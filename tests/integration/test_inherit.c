/* Handles passed by name to target children and to a pool's workers (the
 * child opens them with the same mp_*_inherit calls as a command's
 * program), in fork and spawn children, replacement workers included; and
 * the process-wide default start method (mp_set_start_method).
 *
 * Targets and tasks are registered before mp_main() so that spawned
 * children find them. A child reports through its exit code: 0 when every
 * check held, else the number of the first check that failed (printed on
 * stderr with the reason). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>

/* Set by the parent before it starts children: a forked child sees it, a
 * spawned one (a fresh execution) does not. */
static int g_marker;

/* This program's path: the command tests run it again. */
static const char *g_self;

static int child_check(int ok, int code, const char *what) {
  if (ok) return 0;
  fprintf(stderr, "[child %d] check %d failed: %s (last error: %s)\n", (int)getpid(), code,
          what, mp_last_error());
  return code;
}

#define CHECK(cond, code)                        \
  do {                                           \
    int c__ = child_check((cond), code, #cond);  \
    if (c__) return c__;                         \
  } while (0)

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* Opens "jobs" (queue), "back" (conn) and "lk" (a lock the parent holds):
 * takes a message from jobs and sends it back over back. */
static int t_use_named(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_queue_t *q = NULL;
  mp_conn_t *c = NULL;
  mp_lock_t *l = NULL;
  int fd = -1;
  CHECK(mp_queue_inherit(&q, "jobs") == MP_OK, 1);
  CHECK(mp_conn_inherit(&c, "back", MP_CONN_WRITABLE) == MP_OK, 2);
  CHECK(mp_fd_inherit(&fd, "lk") == MP_OK, 3);
  CHECK(mp_lock_from_fd(&l, fd) == MP_OK, 4);
  CHECK(mp_lock_acquire(l, 0) == MP_ETIMEDOUT, 5); /* the parent holds it */
  void *msg = NULL;
  size_t n = 0;
  CHECK(mp_queue_get(&msg, &n, q, 10000) == MP_OK, 6);
  CHECK(mp_conn_send(c, msg, n, 10000) == MP_OK, 7);
  mp_free(msg);
  mp_lock_free(l);
  mp_conn_free(c);
  mp_queue_free(q);
  return 0;
}

/* Given only "jobs" (a queue): a missing name and a wrong kind. */
static int t_wrong_names(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_queue_t *q = NULL;
  mp_conn_t *c = NULL;
  int fd = -1;
  CHECK(mp_queue_inherit(&q, "nosuch") == MP_ENOENT, 1);
  CHECK(strstr(mp_last_error(), "nosuch") != NULL, 2);
  CHECK(q == NULL, 3);
  CHECK(mp_conn_inherit(&c, "jobs", MP_CONN_READABLE) == MP_ESTATE, 4);
  CHECK(strstr(mp_last_error(), "queue") != NULL, 5);
  CHECK(mp_fd_inherit(&fd, "jobs") == MP_ESTATE, 6);
  CHECK(fd == -1, 7);
  CHECK(mp_queue_inherit(&q, "bad-name") == MP_EINVAL, 8);
  CHECK(mp_queue_inherit(&q, "jobs") == MP_OK, 9); /* still there after the misses */
  mp_queue_free(q);
  return 0;
}

/* A grandchild given "other" only: it must not see its parent's "jobs". */
static int t_grandchild(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_queue_t *q = NULL;
  int fd = -1;
  CHECK(mp_queue_inherit(&q, "jobs") == MP_ENOENT, 1);
  CHECK(mp_fd_inherit(&fd, "other") == MP_OK, 2);
  close(fd);
  return 0;
}

/* Given "jobs": opens it, then starts a grandchild (arg: its start method)
 * passing it "other" only; the grandchild's exit code is the result. */
static int t_parent_of_grandchild(const void *arg, size_t len, void *payload) {
  (void)payload;
  mp_queue_t *q = NULL;
  CHECK(len == 1, 1);
  CHECK(mp_queue_inherit(&q, "jobs") == MP_OK, 2);
  mp_process_t *g = NULL;
  CHECK(mp_process_new(&g, "inh_grandchild", NULL, 0) == MP_OK, 3);
  CHECK(mp_process_set_start_method(g, ((const char *)arg)[0] == 's' ? MP_START_SPAWN
                                                                      : MP_START_FORK) == MP_OK,
        4);
  CHECK(mp_process_pass_fd2(g, "other", 2) == MP_OK, 5);
  CHECK(mp_process_start(g) == MP_OK, 6);
  CHECK(mp_process_join(g, 20000) == MP_OK, 7);
  int code = -1;
  CHECK(mp_process_exitcode(&code, g) == MP_OK, 8);
  mp_process_free(g);
  mp_queue_free(q);
  return code == 0 ? 0 : 100 + code;
}

/* A target started by a command's program: the handles passed to the
 * command are the command's own, never its children's (issue 21's rule
 * for targets, now for commands). */
static int t_no_command_names(const void *arg, size_t len, void *payload) {
  (void)payload;
  int fd = -1;
  CHECK(mp_fd_inherit(&fd, "jobs") == MP_ENOENT, 1);
  /* A forked child has its parent's environment as it was (changing it
   * after fork is not safe in a threaded parent); any other start method
   * builds a fresh one without the variable. */
  int forked = len == 1 && ((const char *)arg)[0] == 'f';
  CHECK(forked || getenv("MULTIPROC_HANDLE_jobs") == NULL, 2);
  return 0;
}

/* The program of a command given "jobs": it takes "jobs", then runs a
 * target child with each start method and itself as a command; none of
 * them may find "jobs". Exit 0, or the failed step. */
static int command_child(const char *self) {
  int fd = -1;
  CHECK(mp_fd_inherit(&fd, "jobs") == MP_OK, 1);
  close(fd);
  const mp_start_method_t methods[] = {MP_START_FORK, MP_START_SPAWN, MP_START_FORKSERVER};
  for (int i = 0; i < 3; i++) {
    mp_process_t *p = NULL;
    CHECK(mp_process_new(&p, "inh_no_command_names", i == 0 ? "f" : "o", 1) == MP_OK, 2);
    CHECK(mp_process_set_start_method(p, methods[i]) == MP_OK, 3);
    CHECK(mp_process_start(p) == MP_OK && mp_process_join(p, 20000) == MP_OK, 4);
    int code = -1;
    CHECK(mp_process_exitcode(&code, p) == MP_OK, 5);
    mp_process_free(p);
    CHECK(code == 0, 10 + 10 * i + code);
  }
  mp_cmd_t *cmd = NULL;
  CHECK(mp_cmd_new(&cmd, self) == MP_OK && mp_cmd_add_arg(cmd, "cmd-grandchild") == MP_OK, 6);
  int code = -1;
  CHECK(mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, 20000) == MP_OK, 7);
  mp_cmd_free(cmd);
  CHECK(code == 0, 8);
  return 0;
}

/* 10 if this child is a fork of the parent (it sees g_marker), 20 if not. */
static int t_marker(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  return g_marker == 42 ? 10 : 20;
}

/* ------------------------------------------------------------------------
 * Pool tasks
 * ---------------------------------------------------------------------- */

static mp_queue_t *g_init_queue; /* what the initializer opened, in a worker */
static mp_lock_t *g_init_lock;
static char g_init_error[200];

static int reply(void **out, size_t *out_len, int rc, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  *out_len = strlen(buf);
  *out = strdup(buf);
  return *out ? rc : 1;
}

/* The initializer: open "jobs" and "lk" by name, remember why not. It
 * succeeds either way, so that a failure shows in the task's reply rather
 * than as workers replaced forever. */
static int task_init(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)out, (void)out_len, (void)arg, (void)len, (void)p;
  int fd = -1;
  int r = mp_queue_inherit(&g_init_queue, "jobs");
  if (r == MP_OK) r = mp_fd_inherit(&fd, "lk");
  if (r == MP_OK) r = mp_lock_from_fd(&g_init_lock, fd);
  if (r != MP_OK)
    snprintf(g_init_error, sizeof g_init_error, "%s: %s", mp_err_name(r), mp_last_error());
  return 0;
}

/* Under the lock, put this worker's pid on the queue; reply with the pid. */
static int task_use(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)arg, (void)len, (void)p;
  if (!g_init_queue || !g_init_lock)
    return reply(out, out_len, 1, "initializer got nothing: %s", g_init_error);
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  int r = mp_lock_acquire(g_init_lock, 10000);
  if (r == MP_OK) r = mp_queue_put(g_init_queue, pid, strlen(pid), 10000);
  mp_lock_release(g_init_lock);
  if (r != MP_OK) return reply(out, out_len, 1, "put: %s", mp_last_error());
  return reply(out, out_len, 0, "%s", pid);
}

static int task_marker(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)arg, (void)len, (void)p;
  return reply(out, out_len, 0, "%d", g_marker);
}

static int register_all(void) {
  return mp_register("inh_use_named", t_use_named, NULL) ||
         mp_register("inh_wrong_names", t_wrong_names, NULL) ||
         mp_register("inh_grandchild", t_grandchild, NULL) ||
         mp_register("inh_parent_of_grandchild", t_parent_of_grandchild, NULL) ||
         mp_register("inh_marker", t_marker, NULL) ||
         mp_register("inh_no_command_names", t_no_command_names, NULL) ||
         mp_register_task("inh_init", task_init, NULL) ||
         mp_register_task("inh_use", task_use, NULL) ||
         mp_register_task("inh_marker", task_marker, NULL);
}

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static int run_to_exit(mp_process_t *p) {
  MP_ASSERT_OK(mp_process_start(p));
  MP_ASSERT_OK(mp_process_join(p, 30000));
  int code = -1;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  return code;
}

static mp_process_t *new_target(const char *target, int method) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, target, NULL, 0));
  MP_ASSERT_OK(mp_process_set_start_method(p, (mp_start_method_t)method));
  return p;
}

/* ------------------------------------------------------------------------
 * Target children
 * ---------------------------------------------------------------------- */

static void test_target_inherits_by_name(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    mp_queue_t *q = NULL;
    mp_conn_t *mine = NULL, *theirs = NULL;
    mp_lock_t *l = NULL;
    MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
    MP_ASSERT_OK(mp_pipe(&mine, &theirs, 0));
    MP_ASSERT_OK(mp_lock_new(&l, 0));
    MP_ASSERT_OK(mp_lock_acquire(l, 0));
    mp_process_t *p = new_target("inh_use_named", m);
    MP_ASSERT_OK(mp_process_pass_queue(p, "jobs", q));
    MP_ASSERT_OK(mp_process_pass_conn(p, "back", theirs));
    MP_ASSERT_OK(mp_process_pass_fd2(p, "lk", mp_lock_fileno(l)));
    /* An index pass beside the names keeps its numbering. */
    assert_int_equal(mp_process_pass_fd(p, 2), 0);
    MP_ASSERT_ERR(mp_process_pass_queue(p, "jobs", q), MP_EEXIST);
    mp_conn_free(theirs); /* duplicated at the pass */
    MP_ASSERT_OK(mp_queue_put(q, "hello", 5, 1000));
    assert_int_equal(run_to_exit(p), 0);
    void *msg = NULL;
    size_t n = 0;
    MP_ASSERT_OK(mp_conn_recv(&msg, &n, mine, 5000));
    assert_int_equal(n, 5);
    assert_memory_equal(msg, "hello", 5);
    mp_free(msg);
    mp_lock_release(l);
    mp_lock_free(l);
    mp_conn_free(mine);
    mp_queue_free(q);
  }
}

static void test_target_missing_and_wrong_kind(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    mp_queue_t *q = NULL;
    MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
    mp_process_t *p = new_target("inh_wrong_names", m);
    MP_ASSERT_OK(mp_process_pass_queue(p, "jobs", q));
    int code = run_to_exit(p);
    if (code != 0) fail_msg("%s child: check %d failed (see stderr)", method_name(m), code);
    mp_queue_free(q);
  }
}

static void test_grandchild_does_not_see_names(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    FOR_EACH_METHOD(gm) {
      mp_queue_t *q = NULL;
      MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
      mp_process_t *p = NULL;
      MP_ASSERT_OK(mp_process_new(&p, "inh_parent_of_grandchild",
                                  gm == MP_START_SPAWN ? "s" : "f", 1));
      MP_ASSERT_OK(mp_process_set_start_method(p, (mp_start_method_t)m));
      MP_ASSERT_OK(mp_process_pass_queue(p, "jobs", q));
      int code = run_to_exit(p);
      if (code != 0)
        fail_msg("%s child, %s grandchild: exit %d (see stderr)", method_name(m),
                 method_name(gm), code);
      mp_queue_free(q);
    }
  }
}

/* The parent itself has no names: nothing was passed to this program. */
static void test_parent_has_no_names(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_ERR(mp_queue_inherit(&q, "jobs"), MP_ENOENT);
}

static void test_command_children_do_not_see_names(void **state) {
  (void)state;
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, g_self));
  MP_ASSERT_OK(mp_cmd_add_arg(cmd, "cmd-child"));
  MP_ASSERT_OK(mp_cmd_pass_fd(cmd, "jobs", fd));
  int code = -1;
  MP_ASSERT_OK(mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, 60000));
  if (code != 0) fail_msg("the command's program: check %d failed (see stderr)", code);
  mp_cmd_free(cmd);
  close(fd);
}

static void test_pass_by_name_bad_input(void **state) {
  (void)state;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  mp_process_t *p = new_target("inh_marker", MP_START_FORK);
  MP_ASSERT_ERR(mp_process_pass_queue(p, "", q), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_pass_queue(p, "a b", q), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_pass_queue(p, NULL, q), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_pass_queue(p, "q", NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_pass_fd2(p, "f", 100000), MP_EINVAL); /* not open */
  for (int i = 0; i < 64; ++i) {
    char name[16];
    snprintf(name, sizeof name, "h%d", i);
    MP_ASSERT_OK(mp_process_pass_fd2(p, name, 2));
  }
  MP_ASSERT_ERR(mp_process_pass_fd2(p, "one_more", 2), MP_ENOSPC);
  MP_ASSERT_ERR(mp_process_pass_fd(p, 2), MP_ENOSPC);
  mp_process_free(p);
  /* A command takes names with mp_cmd_pass_*, not these. */
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "true"));
  mp_process_t *running = NULL;
  MP_ASSERT_OK(mp_process_spawn(&running, cmd));
  MP_ASSERT_ERR(mp_process_pass_queue(running, "q", q), MP_ESTATE);
  MP_ASSERT_OK(mp_process_join(running, 10000));
  mp_process_free(running);
  mp_cmd_free(cmd);
  mp_queue_free(q);
}

/* ------------------------------------------------------------------------
 * Pool workers
 * ---------------------------------------------------------------------- */

static mp_pool_t *named_pool(int method, mp_queue_t *q, mp_lock_t *l) {
  mp_pool_opts_t *o = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_workers(o, 1));
  MP_ASSERT_OK(mp_pool_opts_set_start_method(o, (mp_start_method_t)method));
  MP_ASSERT_OK(mp_pool_opts_set_initializer(o, "inh_init", NULL, 0));
  MP_ASSERT_OK(mp_pool_opts_pass_queue(o, "jobs", q));
  MP_ASSERT_OK(mp_pool_opts_pass_fd(o, "lk", mp_lock_fileno(l)));
  MP_ASSERT_ERR(mp_pool_opts_pass_fd(o, "lk", 2), MP_EEXIST);
  mp_pool_t *p = NULL;
  MP_ASSERT_OK(mp_pool_new(&p, o));
  mp_pool_opts_free(o); /* the pool keeps its copies */
  return p;
}

/* Runs inh_use once; returns the worker's pid, checks the queue got it. */
static int use_once(mp_pool_t *p, mp_queue_t *q) {
  void *out = NULL;
  size_t len = 0;
  int r = mp_pool_apply(&out, &len, p, "inh_use", NULL, 0);
  if (r != MP_OK) fail_msg("inh_use: %s: %.*s", mp_err_name(r), (int)len, (char *)out);
  int pid = atoi((char *)out);
  mp_free(out);
  void *msg = NULL;
  size_t n = 0;
  MP_ASSERT_OK(mp_queue_get(&msg, &n, q, 5000));
  assert_int_equal(atoi((char *)msg), pid);
  mp_free(msg);
  return pid;
}

static void test_pool_initializer_gets_queue_and_lock(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    mp_queue_t *q = NULL;
    mp_lock_t *l = NULL;
    MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
    MP_ASSERT_OK(mp_lock_new(&l, 0));
    mp_pool_t *p = named_pool(m, q, l);
    int first = use_once(p, q);
    assert_int_not_equal(first, getpid());
    /* The replacement of a worker killed with SIGKILL gets them too. */
    assert_int_equal(kill(first, SIGKILL), 0);
    int64_t deadline = now_ms() + 20000;
    while (mp_pool_stat(p, MP_POOL_WORKERS_STARTED) < 2 && now_ms() < deadline) sleep_ms(5);
    assert_true(mp_pool_stat(p, MP_POOL_WORKERS_STARTED) >= 2);
    int second = use_once(p, q);
    assert_int_not_equal(second, first);
    /* The lock is the parent's: held here, the worker's task waits. */
    MP_ASSERT_OK(mp_lock_acquire(l, 0));
    mp_result_t *r = NULL;
    MP_ASSERT_OK(mp_pool_apply_async(&r, p, "inh_use", NULL, 0, NULL, NULL, NULL));
    sleep_ms(200);
    assert_int_equal(mp_result_ready(r), 0);
    mp_lock_release(l);
    MP_ASSERT_OK(mp_result_wait(r, 10000));
    assert_int_equal(mp_result_successful(r), 1);
    mp_result_free(r);
    void *msg = NULL;
    size_t n = 0;
    MP_ASSERT_OK(mp_queue_get(&msg, &n, q, 5000));
    mp_free(msg);
    mp_pool_terminate(p);
    mp_pool_free(p);
    mp_lock_free(l);
    mp_queue_free(q);
  }
}

static void test_thread_pool_refuses_names(void **state) {
  (void)state;
  mp_pool_opts_t *o = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_threads(o, 1));
  MP_ASSERT_OK(mp_pool_opts_pass_fd(o, "x", 2));
  mp_pool_t *p = NULL;
  MP_ASSERT_ERR(mp_pool_new(&p, o), MP_EINVAL);
  assert_null(p);
  mp_pool_opts_free(o);
}

/* ------------------------------------------------------------------------
 * The default start method
 * ---------------------------------------------------------------------- */

static int marker_in_pool(void) {
  mp_pool_t *p = NULL;
  mp_pool_opts_t *o = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_workers(o, 1));
  MP_ASSERT_OK(mp_pool_new(&p, o)); /* no start method of its own */
  mp_pool_opts_free(o);
  void *out = NULL;
  size_t len = 0;
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "inh_marker", NULL, 0));
  int v = atoi((char *)out);
  mp_free(out);
  mp_pool_free(p);
  return v;
}

static int marker_in_process(void) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, "inh_marker", NULL, 0)); /* no method chosen */
  return run_to_exit(p);
}

static void test_default_start_method(void **state) {
  (void)state;
  g_marker = 42;
  /* Whatever ran before, the first use (or an earlier set) fixes it. */
  marker_in_process();
  MP_ASSERT_ERR(mp_set_start_method(MP_START_SPAWN, 0), MP_ESTATE);
  assert_non_null(strstr(mp_last_error(), "force"));
  MP_ASSERT_OK(mp_set_start_method(MP_START_SPAWN, 1));
  assert_int_equal(mp_get_start_method(), MP_START_SPAWN);
  assert_int_equal(marker_in_process(), 20); /* spawned: a fresh program */
  assert_int_equal(marker_in_pool(), 0);
  /* A second set without force fails, even to the same method (Python). */
  MP_ASSERT_ERR(mp_set_start_method(MP_START_SPAWN, 0), MP_ESTATE);
  assert_int_equal(mp_get_start_method(), MP_START_SPAWN);
  /* A process created now but started after the change takes the new one. */
  mp_process_t *late = NULL;
  MP_ASSERT_OK(mp_process_new(&late, "inh_marker", NULL, 0));
  MP_ASSERT_OK(mp_set_start_method(MP_START_FORK, 1));
  assert_int_equal(run_to_exit(late), 10);
  assert_int_equal(marker_in_process(), 10); /* forked: sees the marker */
  assert_int_equal(marker_in_pool(), 42);
  /* A process's own choice wins over the default. */
  mp_process_t *own = new_target("inh_marker", MP_START_SPAWN);
  assert_int_equal(run_to_exit(own), 20);
  MP_ASSERT_ERR(mp_set_start_method((mp_start_method_t)7, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_set_start_method(MP_START_FORK, 2), MP_EINVAL);
  g_marker = 0;
}

int main(int argc, char **argv) {
  if (register_all() != MP_OK || mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "register/mp_main: %s\n", mp_last_error());
    return 99;
  }
  g_self = argv[0];
  if (argc > 1 && !strcmp(argv[1], "cmd-child")) return command_child(argv[0]);
  if (argc > 1 && !strcmp(argv[1], "cmd-grandchild"))
    return getenv("MULTIPROC_HANDLE_jobs") == NULL ? 0 : 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_target_inherits_by_name),
      cmocka_unit_test(test_target_missing_and_wrong_kind),
      cmocka_unit_test(test_grandchild_does_not_see_names),
      cmocka_unit_test(test_parent_has_no_names),
      cmocka_unit_test(test_command_children_do_not_see_names),
      cmocka_unit_test(test_pass_by_name_bad_input),
      cmocka_unit_test(test_pool_initializer_gets_queue_and_lock),
      cmocka_unit_test(test_thread_pool_refuses_names),
      cmocka_unit_test(test_default_start_method),
  };
  return MP_RUN_TESTS(tests);
}
