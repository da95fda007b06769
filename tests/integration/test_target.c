/* Processes running registered targets (Python's Process): exit codes,
 * arguments, identity, passed descriptors, state errors, many children,
 * reaping, the exit policy and daemons, nested children.
 *
 * Every target is registered before mp_main() so that MP_START_SPAWN children
 * (re-executions of this program) find it. The exit-policy tests need a
 * separate parent process: this program re-executed with MPTT_ROLE set, which
 * main() dispatches to run_role() before CMocka runs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static char **g_argv; /* main()'s argv, for re-executing this program */

/* ------------------------------------------------------------------------
 * Small utilities
 * ---------------------------------------------------------------------- */

/* Read exactly len bytes within timeout_ms; returns 0 or -1. */
static int read_exact(int fd, void *buf, size_t len, int timeout_ms) {
  char *p = buf;
  int64_t end = now_ms() + timeout_ms;
  while (len > 0) {
    int64_t left = end - now_ms();
    if (left <= 0) return -1;
    struct pollfd pfd = {fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Read until EOF (at most cap bytes) within timeout_ms; the length, or -1
 * if EOF did not come in time (a write end is still open somewhere). */
static ssize_t read_to_eof(int fd, char *buf, size_t cap, int timeout_ms) {
  size_t got = 0;
  int64_t end = now_ms() + timeout_ms;
  while (got < cap) {
    int64_t left = end - now_ms();
    if (left <= 0) return -1;
    struct pollfd pfd = {fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) continue;
    ssize_t n = read(fd, buf + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

/* Wait for a child we forked ourselves; 1 if reaped within timeout_ms. */
static int wait_pid_timeout(pid_t pid, int timeout_ms, int *status) {
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return 1;
    if (r < 0 && errno != EINTR) return 0;
    if (now_ms() >= end) return 0;
    sleep_ms(10);
  }
}

/* Poll until pid is no longer running; 1 if it went away within timeout. */
static int wait_pid_gone(int pid, int timeout_ms) {
  int64_t end = now_ms() + timeout_ms;
  while (pid_running(pid)) {
    if (now_ms() >= end) return 0;
    sleep_ms(20);
  }
  return 1;
}

static void make_pipe(int fds[2]) {
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
}

/* The byte at position i of the large argument: includes many NUL bytes. */
static unsigned char pattern_byte(size_t i) {
  return (unsigned char)((i * 131u) ^ (i >> 8));
}

/* Create (not start) a target process with the given start method. */
static mp_process_t *new_proc(const char *target, const void *arg,
                              size_t len, int method) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, target, arg, len));
  assert_non_null(p);
  MP_ASSERT_OK(mp_process_set_start_method(p, (mp_start_method_t)method));
  return p;
}

/* Join forever and return the exit code. */
static int join_code(mp_process_t *p) {
  int code = -1000;
  MP_ASSERT_OK(mp_process_join(p, MP_FOREVER));
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  return code;
}

/* Start a target, join it, free it, return its exit code. */
static int run_target(const char *target, const void *arg, size_t len,
                      int method) {
  mp_process_t *p = new_proc(target, arg, len, method);
  MP_ASSERT_OK(mp_process_start(p));
  int code = join_code(p);
  mp_process_free(p);
  return code;
}

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

static int arg_int(const void *arg, size_t len, int dflt) {
  int v;
  if (len != sizeof v || arg == NULL) return dflt;
  memcpy(&v, arg, sizeof v);
  return v;
}

/* Return the int in arg. */
static int tt_ret(const void *arg, size_t len, void *payload) {
  (void)payload;
  return arg_int(arg, len, 200);
}

/* Return at once. */
static int tt_quick(const void *arg, size_t len, void *payload) {
  (void)arg;
  (void)len;
  (void)payload;
  return 0;
}

/* Write the argument bytes to passed descriptor 0. */
static int tt_echo(const void *arg, size_t len, void *payload) {
  (void)payload;
  int fd = mp_child_fd(0);
  if (fd < 0) return 10;
  if (len > 0 && write_all(fd, arg, len) != 0) return 11;
  close(fd);
  return 0;
}

/* Check the large argument against pattern_byte(); its length in payload. */
static int tt_pattern(const void *arg, size_t len, void *payload) {
  (void)payload;
  if (len != (size_t)1 << 20 || arg == NULL) return 1;
  const unsigned char *b = arg;
  for (size_t i = 0; i < len; ++i)
    if (b[i] != pattern_byte(i)) return 2;
  return 0;
}

/* 0 if arg is NULL and len 0. */
static int tt_null_arg(const void *arg, size_t len, void *payload) {
  (void)payload;
  if (arg != NULL) return 1;
  if (len != 0) return 2;
  return 0;
}

/* Report this child's view of itself through passed descriptor 0:
 * "is_child|parent_pid|child_fd(1)|cloexec(fd0)|name". */
static int tt_info(const void *arg, size_t len, void *payload) {
  (void)arg;
  (void)len;
  (void)payload;
  int fd = mp_child_fd(0);
  if (fd < 0) return 10;
  int flags = fcntl(fd, F_GETFD);
  char buf[1024];
  int n = snprintf(buf, sizeof buf, "%d|%d|%d|%d|%s", mp_is_child(),
                   mp_parent_pid(), mp_child_fd(1),
                   flags >= 0 && (flags & FD_CLOEXEC) ? 1 : 0,
                   mp_current_name());
  if (n < 0 || (size_t)n >= sizeof buf) return 11;
  if (write_all(fd, buf, (size_t)n) != 0) return 12;
  close(fd);
  return 0;
}

/* Kill itself with SIGKILL. */
static int tt_sigkill(const void *arg, size_t len, void *payload) {
  (void)arg;
  (void)len;
  (void)payload;
  kill(getpid(), SIGKILL);
  for (;;) pause();
  return 0;
}

/* Sleep the number of milliseconds in arg. */
static int tt_sleep(const void *arg, size_t len, void *payload) {
  (void)payload;
  sleep_ms(arg_int(arg, len, 30000));
  return 0;
}

/* Wait (at most 20 s) for one byte on passed descriptor 0, then return 3. */
static int tt_wait_byte(const void *arg, size_t len, void *payload) {
  (void)arg;
  (void)len;
  (void)payload;
  int fd = mp_child_fd(0);
  if (fd < 0) return 10;
  struct pollfd pfd = {fd, POLLIN, 0};
  int r;
  do {
    r = poll(&pfd, 1, 20000);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return 4;
  char c;
  if (read(fd, &c, 1) != 1) return 5;
  return 3;
}

/* Sleep 300 ms, then create the file whose path is arg. */
static int tt_marker(const void *arg, size_t len, void *payload) {
  (void)payload;
  char path[512];
  if (len == 0 || len >= sizeof path) return 10;
  memcpy(path, arg, len);
  path[len] = '\0';
  sleep_ms(300);
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return 11;
  close(fd);
  return 0;
}

/* Start tt_ret(41) with the start method in arg, join it, return its
 * exit code + 1 (100 + step on failure). */
static int tt_nested(const void *arg, size_t len, void *payload) {
  (void)payload;
  int method = arg_int(arg, len, MP_START_FORK);
  int v = 41, code = -1;
  mp_process_t *p = NULL;
  if (mp_process_new(&p, "tt_ret", &v, sizeof v) != MP_OK) return 101;
  if (mp_process_set_start_method(p, (mp_start_method_t)method) != MP_OK)
    return 102;
  if (mp_process_start(p) != MP_OK) {
    fprintf(stderr, "tt_nested: start: %s\n", mp_last_error());
    return 103;
  }
  if (mp_process_join(p, 30000) != MP_OK) return 104;
  if (mp_process_exitcode(&code, p) != MP_OK) return 105;
  mp_process_free(p);
  return code + 1;
}

static void register_targets(void) {
  struct {
    const char *name;
    mp_target_fn fn;
  } t[] = {{"tt_ret", tt_ret},         {"tt_quick", tt_quick},
           {"tt_echo", tt_echo},       {"tt_pattern", tt_pattern},
           {"tt_null_arg", tt_null_arg}, {"tt_info", tt_info},
           {"tt_sigkill", tt_sigkill}, {"tt_sleep", tt_sleep},
           {"tt_wait_byte", tt_wait_byte}, {"tt_marker", tt_marker},
           {"tt_nested", tt_nested}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; ++i)
    if (mp_register(t[i].name, t[i].fn, NULL) != MP_OK) {
      fprintf(stderr, "mp_register %s: %s\n", t[i].name, mp_last_error());
      exit(99);
    }
}

/* ------------------------------------------------------------------------
 * Exit codes and arguments
 * ---------------------------------------------------------------------- */

static void test_target_exit_code_is_return_value(void **state) {
  (void)state;
  const int values[] = {0, 7, 255};
  FOR_EACH_METHOD(m) {
    for (size_t i = 0; i < 3; ++i) {
      int code = run_target("tt_ret", &values[i], sizeof values[i], (int)m);
      if (code != values[i])
        fail_msg("%s: exit code %d, expected %d", method_name((int)m), code,
                 values[i]);
    }
    /* Only the low 8 bits reach the parent. */
    int big = 256 + 9;
    assert_int_equal(run_target("tt_ret", &big, sizeof big, (int)m), 9);
  }
}

/* Run tt_echo with arg and return what the child wrote (len in *out_len). */
static void echo_roundtrip(const void *arg, size_t len, int method,
                           char *out, size_t cap, size_t *out_len) {
  int fds[2];
  make_pipe(fds);
  mp_process_t *p = new_proc("tt_echo", arg, len, method);
  assert_int_equal(mp_process_pass_fd(p, fds[1]), 0);
  close(fds[1]);
  MP_ASSERT_OK(mp_process_start(p));
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
  /* Every write end is closed now (ours, the child's): EOF must come. */
  ssize_t got = read_to_eof(fds[0], out, cap, 10000);
  close(fds[0]);
  if (got < 0)
    fail_msg("%s: no EOF on the pipe after the child ended: a copy of the "
             "passed descriptor stayed open",
             method_name(method));
  *out_len = (size_t)got;
}

static void test_target_arg_bytes_intact(void **state) {
  (void)state;
  static const char arg[] = "\0a\0\0b\xff\n\0";
  const size_t len = sizeof arg; /* includes the final NUL */
  FOR_EACH_METHOD(m) {
    char out[64];
    size_t got = 0;
    echo_roundtrip(arg, len, (int)m, out, sizeof out, &got);
    assert_int_equal(got, len);
    assert_memory_equal(out, arg, len);
  }
}

static void test_target_large_arg_intact(void **state) {
  (void)state;
  const size_t len = (size_t)1 << 20;
  unsigned char *arg = malloc(len);
  assert_non_null(arg);
  for (size_t i = 0; i < len; ++i) arg[i] = pattern_byte(i);
  FOR_EACH_METHOD(m) {
    int code = run_target("tt_pattern", arg, len, (int)m);
    if (code != 0)
      fail_msg("%s: 1 MiB argument: child reported %d (1: length, 2: bytes)",
               method_name((int)m), code);
  }
  free(arg);
}

static void test_target_null_arg(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    assert_int_equal(run_target("tt_null_arg", NULL, 0, (int)m), 0);
    /* A non-NULL pointer with length 0 also arrives as NULL, 0. */
    assert_int_equal(run_target("tt_null_arg", "x", 0, (int)m), 0);
  }
}

/* ------------------------------------------------------------------------
 * Identity inside the child and passed descriptors
 * ---------------------------------------------------------------------- */

struct info {
  int is_child, parent_pid, child_fd1, cloexec;
  char name[512];
};

/* Start tt_info (optionally named) and parse its report. */
static void run_info(mp_process_t *p, struct info *out) {
  int fds[2];
  make_pipe(fds);
  assert_int_equal(mp_process_pass_fd(p, fds[1]), 0);
  close(fds[1]);
  MP_ASSERT_OK(mp_process_start(p));
  assert_int_equal(join_code(p), 0);
  char buf[1024];
  ssize_t got = read_to_eof(fds[0], buf, sizeof buf - 1, 10000);
  close(fds[0]);
  if (got < 0)
    fail_msg("no EOF on the pipe after the child ended: a copy of the "
             "passed descriptor stayed open");
  buf[got] = '\0';
  int consumed = 0;
  memset(out, 0, sizeof *out);
  if (sscanf(buf, "%d|%d|%d|%d|%n", &out->is_child, &out->parent_pid,
             &out->child_fd1, &out->cloexec, &consumed) != 4 ||
      consumed == 0)
    fail_msg("bad report from the child: '%s'", buf);
  snprintf(out->name, sizeof out->name, "%s", buf + consumed);
}

static void test_target_main_process_identity(void **state) {
  (void)state;
  assert_int_equal(mp_is_child(), 0);
  assert_string_equal(mp_current_name(), "MainProcess");
  assert_int_equal(mp_parent_pid(), (int)getppid());
  MP_ASSERT_ERR(mp_child_fd(0), MP_ESTATE);
}

/* Whether s is "Process-N" with N a positive decimal number; N in *n. */
static int is_default_name(const char *s, long *n) {
  const char *prefix = "Process-";
  if (strncmp(s, prefix, strlen(prefix)) != 0) return 0;
  const char *d = s + strlen(prefix);
  if (*d == '\0') return 0;
  for (const char *c = d; *c; ++c)
    if (*c < '0' || *c > '9') return 0;
  *n = strtol(d, NULL, 10);
  return *n > 0;
}

static void test_target_default_name(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    mp_process_t *p = new_proc("tt_info", NULL, 0, (int)m);
    mp_process_t *q = new_proc("tt_info", NULL, 0, (int)m);
    long n1 = 0, n2 = 0;
    char expected[64];
    snprintf(expected, sizeof expected, "%s", mp_process_name(p));
    if (!is_default_name(expected, &n1))
      fail_msg("default name '%s' is not Process-N", expected);
    if (!is_default_name(mp_process_name(q), &n2))
      fail_msg("default name '%s' is not Process-N", mp_process_name(q));
    assert_int_equal(n2, n1 + 1);
    struct info info;
    run_info(p, &info);
    assert_string_equal(info.name, expected);
    mp_process_free(p);
    mp_process_free(q);
  }
}

static void test_target_set_name(void **state) {
  (void)state;
  char longname[256];
  memset(longname, 'n', 255);
  longname[255] = '\0';
  const char *names[] = {"worker one", "w\xc3\xa4rker|7", longname};
  FOR_EACH_METHOD(m) {
    for (size_t i = 0; i < 3; ++i) {
      mp_process_t *p = new_proc("tt_info", NULL, 0, (int)m);
      MP_ASSERT_OK(mp_process_set_name(p, names[i]));
      assert_string_equal(mp_process_name(p), names[i]);
      struct info info;
      run_info(p, &info);
      assert_string_equal(info.name, names[i]);
      assert_string_equal(mp_process_name(p), names[i]);
      mp_process_free(p);
    }
    /* 256 bytes and empty are refused. */
    char toolong[257];
    memset(toolong, 'x', 256);
    toolong[256] = '\0';
    mp_process_t *p = new_proc("tt_info", NULL, 0, (int)m);
    MP_ASSERT_ERR(mp_process_set_name(p, toolong), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_set_name(p, ""), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_set_name(p, NULL), MP_EINVAL);
    mp_process_free(p);
  }
}

static void test_target_is_child_and_parent_pid(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    mp_process_t *p = new_proc("tt_info", NULL, 0, (int)m);
    struct info info;
    run_info(p, &info);
    assert_int_equal(info.is_child, 1);
    assert_int_equal(info.parent_pid, (int)getpid());
    mp_process_free(p);
  }
  /* The parent itself is still not a child. */
  assert_int_equal(mp_is_child(), 0);
}

static void test_target_pass_fd(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    mp_process_t *p = new_proc("tt_info", NULL, 0, (int)m);
    struct info info;
    run_info(p, &info); /* checks pass_fd returned index 0 and the write */
    assert_int_equal(info.child_fd1, MP_ENOENT);
    if (info.cloexec != 1)
      fail_msg("%s: the passed descriptor is not close-on-exec in the child",
               method_name((int)m));
    mp_process_free(p);
  }
}

static void test_target_pass_fd_caller_may_close(void **state) {
  (void)state;
  /* The descriptor is duplicated at once: the caller's copy can be closed
   * before start, and the parent keeps no copy after the child ended. */
  FOR_EACH_METHOD(m) {
    int before = count_open_fds();
    char out[16];
    size_t got = 0;
    echo_roundtrip("hello", 5, (int)m, out, sizeof out, &got);
    assert_int_equal(got, 5);
    assert_memory_equal(out, "hello", 5);
    /* No descriptor left behind (the runtime may still be closing the
     * child's own watch descriptor for a moment). */
    int64_t end = now_ms() + 3000;
    while (count_open_fds() > before && now_ms() < end) sleep_ms(20);
    assert_true(count_open_fds() <= before);
  }
}

/* Freeing a joined process closes the descriptors that referred to its
 * child at once, not at the next start or at exit: with every process of
 * this test program freed, no pidfd is left. */
static void test_target_free_closes_child_descriptors(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    int v = 0;
    mp_process_t *p = new_proc("tt_ret", &v, sizeof v, (int)m);
    MP_ASSERT_OK(mp_process_start(p));
    assert_int_equal(join_code(p), 0);
    mp_process_free(p);
    /* The runtime thread may still be closing its watch for a moment. */
    int64_t end = now_ms() + 3000;
    while (count_pidfds(0) > 0 && now_ms() < end) sleep_ms(20);
    if (count_pidfds(0) != 0)
      fail_msg("%s: %d pidfd(s) still open after every process was freed",
               method_name((int)m), count_pidfds(0));
  }
}

static void test_target_sigkill_exitcode(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    int code = run_target("tt_sigkill", NULL, 0, (int)m);
    if (code != -SIGKILL)
      fail_msg("%s: exit code %d, expected %d", method_name((int)m), code,
               -SIGKILL);
  }
}

/* ------------------------------------------------------------------------
 * State errors and bad arguments
 * ---------------------------------------------------------------------- */

static void test_target_start_twice(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    int v = 0;
    mp_process_t *p = new_proc("tt_ret", &v, sizeof v, (int)m);
    MP_ASSERT_OK(mp_process_start(p));
    MP_ASSERT_ERR(mp_process_start(p), MP_ESTATE);
    assert_int_equal(join_code(p), 0);
    MP_ASSERT_ERR(mp_process_start(p), MP_ESTATE);
    mp_process_free(p);
  }
}

static void test_target_config_after_start(void **state) {
  (void)state;
  int v = 0;
  mp_process_t *p = new_proc("tt_ret", &v, sizeof v, MP_START_FORK);
  MP_ASSERT_OK(mp_process_start(p));
  MP_ASSERT_ERR(mp_process_set_name(p, "late"), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_set_daemon(p, 1), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_set_start_method(p, MP_START_SPAWN), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_pass_fd(p, 1), MP_ESTATE);
  assert_int_equal(join_code(p), 0);
  /* Still refused after the child ended. */
  MP_ASSERT_ERR(mp_process_set_name(p, "late"), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_pass_fd(p, 1), MP_ESTATE);
  assert_string_not_equal(mp_process_name(p), "late");
  mp_process_free(p);
}

static void test_target_join_before_start(void **state) {
  (void)state;
  int v = 0, code = 1234;
  mp_process_t *p = new_proc("tt_ret", &v, sizeof v, MP_START_FORK);
  MP_ASSERT_ERR(mp_process_join(p, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_join(p, MP_FOREVER), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_exitcode(&code, p), MP_ESTATE);
  assert_int_equal(code, 1234);
  MP_ASSERT_ERR(mp_process_pid(p), MP_ESTATE);
  assert_int_equal(mp_process_is_alive(p), 0);
  mp_process_free(p);
}

static void test_target_unknown_target(void **state) {
  (void)state;
  mp_process_t *p = (mp_process_t *)&p; /* not NULL: must be reset */
  MP_ASSERT_ERR(mp_process_new(&p, "tt_no_such_target", NULL, 0), MP_ENOENT);
  assert_null(p);
  p = (mp_process_t *)&p;
  MP_ASSERT_ERR(mp_process_new(&p, "", NULL, 0), MP_EINVAL);
  assert_null(p);
}

static void test_target_bad_args(void **state) {
  (void)state;
  mp_process_t *p = (mp_process_t *)&p;
  MP_ASSERT_ERR(mp_process_new(NULL, "tt_quick", NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_new(&p, NULL, NULL, 0), MP_EINVAL);
  assert_null(p);
  p = (mp_process_t *)&p;
  MP_ASSERT_ERR(mp_process_new(&p, "tt_quick", NULL, 5), MP_EINVAL);
  assert_null(p);

  MP_ASSERT_OK(mp_process_new(&p, "tt_quick", NULL, 0));
  MP_ASSERT_ERR(mp_process_set_start_method(p, (mp_start_method_t)99),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_process_set_start_method(p, (mp_start_method_t)-1),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_process_set_daemon(p, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_set_daemon(p, -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_pass_fd(p, -1), MP_EINVAL);
  int fds[2];
  make_pipe(fds);
  close(fds[0]);
  close(fds[1]);
  MP_ASSERT_ERR(mp_process_pass_fd(p, fds[0]), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_join(p, -2), MP_EINVAL);
  /* The failures changed nothing: it still starts and exits 0. */
  MP_ASSERT_OK(mp_process_start(p));
  MP_ASSERT_ERR(mp_process_join(p, -2), MP_EINVAL);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);

  /* NULL handles. */
  MP_ASSERT_ERR(mp_process_start(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_join(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_set_name(NULL, "x"), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_set_daemon(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_set_start_method(NULL, MP_START_FORK), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_pass_fd(NULL, 0), MP_EINVAL);
  assert_int_equal(mp_process_is_alive(NULL), MP_EINVAL);
  assert_string_equal(mp_process_name(NULL), "");
  mp_process_free(NULL);
}

static void test_target_start_command_process(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/true"));
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  MP_ASSERT_ERR(mp_process_start(p), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_set_name(p, "x"), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_set_daemon(p, 1), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_set_start_method(p, MP_START_SPAWN), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_pass_fd(p, 1), MP_ESTATE);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

static void test_target_pass_fd_limit(void **state) {
  (void)state;
  int before = steady_open_fds(); /* earlier tests' children: their watches close late */
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, "tt_quick", NULL, 0));
  for (int i = 0; i < 64; ++i) {
    int r = mp_process_pass_fd(p, 2);
    if (r != i)
      fail_msg("pass_fd #%d returned %d (%s): %s", i + 1, r, mp_err_name(r),
               mp_last_error());
  }
  MP_ASSERT_ERR(mp_process_pass_fd(p, 2), MP_ENOSPC);
  MP_ASSERT_ERR(mp_process_pass_fd(p, 2), MP_ENOSPC);
  assert_int_equal(count_open_fds(), before + 64);
  /* Freeing an unstarted process closes its copies. */
  mp_process_free(p);
  ASSERT_NO_FD_LEAK(before);
}

/* ------------------------------------------------------------------------
 * Several children, liveness, reaping
 * ---------------------------------------------------------------------- */

static void test_target_several_children(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    mp_process_t *ps[5];
    int codes[5], pids[5];
    for (int i = 0; i < 5; ++i) {
      codes[i] = i * 11 + 1;
      ps[i] = new_proc("tt_ret", &codes[i], sizeof codes[i], (int)m);
    }
    for (int i = 0; i < 5; ++i) {
      MP_ASSERT_OK(mp_process_start(ps[i]));
      pids[i] = mp_process_pid(ps[i]);
      assert_true(pids[i] > 0);
      for (int j = 0; j < i; ++j) assert_int_not_equal(pids[i], pids[j]);
    }
    for (int i = 0; i < 5; ++i) {
      int code = join_code(ps[i]);
      if (code != codes[i])
        fail_msg("%s: child %d exit code %d, expected %d",
                 method_name((int)m), i, code, codes[i]);
      assert_int_equal(mp_process_is_alive(ps[i]), 0);
      assert_int_equal(mp_process_pid(ps[i]), pids[i]);
    }
    for (int i = 0; i < 5; ++i) mp_process_free(ps[i]);
  }
}

static void test_target_is_alive(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    int fds[2], code = -1;
    make_pipe(fds);
    mp_process_t *p = new_proc("tt_wait_byte", NULL, 0, (int)m);
    assert_int_equal(mp_process_is_alive(p), 0);
    assert_int_equal(mp_process_pass_fd(p, fds[0]), 0);
    close(fds[0]);
    MP_ASSERT_OK(mp_process_start(p));
    /* The target cannot end before we write the byte. */
    assert_int_equal(mp_process_is_alive(p), 1);
    MP_ASSERT_ERR(mp_process_join(p, 0), MP_ETIMEDOUT);
    MP_ASSERT_ERR(mp_process_join(p, 50), MP_ETIMEDOUT);
    MP_ASSERT_ERR(mp_process_exitcode(&code, p), MP_ESTATE);
    assert_int_equal(mp_process_is_alive(p), 1);
    assert_true(pid_running(mp_process_pid(p)));
    assert_int_equal(write_all(fds[1], "x", 1), 0);
    assert_int_equal(join_code(p), 3);
    assert_int_equal(mp_process_is_alive(p), 0);
    MP_ASSERT_OK(mp_process_join(p, 0)); /* joining again is fine */
    close(fds[1]);
    mp_process_free(p);
  }
}

static void test_target_no_zombies(void **state) {
  (void)state;
  for (int i = 0; i < 200; ++i) {
    mp_process_t *p = NULL;
    MP_ASSERT_OK(mp_process_new(&p, "tt_quick", NULL, 0));
    MP_ASSERT_OK(mp_process_start(p));
    mp_process_free(p); /* never joined */
  }
  int64_t end = now_ms() + 10000;
  int z;
  while ((z = count_zombie_children()) != 0 && now_ms() < end) sleep_ms(50);
  assert_int_equal(z, 0);
}

/* ------------------------------------------------------------------------
 * The exit policy and daemons: a separate parent process
 *
 * The parent is this program re-executed with MPTT_ROLE=<role>; it starts
 * one child (start method MPTT_METHOD), writes the child's pid (or a
 * negative error code) as an int to descriptor MPTT_FD, and then ends as the
 * role says.
 * ---------------------------------------------------------------------- */

static void role_report(int fd, int value) {
  if (write_all(fd, &value, sizeof value) != 0) _exit(90);
}

static void run_role(const char *role) {
  alarm(60); /* never linger */
  const char *fd_s = getenv("MPTT_FD"), *m_s = getenv("MPTT_METHOD");
  const char *path = getenv("MPTT_PATH");
  if (!fd_s || !m_s) _exit(91);
  int fd = atoi(fd_s), method = atoi(m_s);
  char path_copy[512] = "";
  if (path) snprintf(path_copy, sizeof path_copy, "%s", path);
  unsetenv("MPTT_ROLE");
  unsetenv("MPTT_FD");
  unsetenv("MPTT_METHOD");
  unsetenv("MPTT_PATH");

  int sleep_for = 30000, daemon = 0;
  const char *target = "tt_sleep";
  const void *arg = &sleep_for;
  size_t len = sizeof sleep_for;
  if (strcmp(role, "exit_join") == 0) {
    target = "tt_marker";
    arg = path_copy;
    len = strlen(path_copy);
  } else if (strcmp(role, "exit_daemon") == 0 ||
             strcmp(role, "kill_daemon") == 0 ||
             strcmp(role, "kill_daemon_sibling") == 0) {
    daemon = 1;
  } else if (strcmp(role, "exit_nojoin") == 0) {
    if (mp_set_exit_join(0) != MP_OK) role_report(fd, -1000);
  } else {
    _exit(92);
  }
  mp_process_t *p = NULL;
  int r = mp_process_new(&p, target, arg, len);
  if (r == MP_OK) r = mp_process_set_daemon(p, daemon);
  if (r == MP_OK) r = mp_process_set_start_method(p, (mp_start_method_t)method);
  if (r == MP_OK) r = mp_process_start(p);
  if (r != MP_OK) {
    fprintf(stderr, "role %s: %s\n", role, mp_last_error());
    role_report(fd, r);
    _exit(93);
  }
  if (strcmp(role, "kill_daemon_sibling") == 0 && fork() == 0) {
    /* A child of the program's own, forked after the daemon started: it
     * must not keep the daemon's parent watch alive (the portable
     * backend's pipe: every fork closes its write end). */
    alarm(15);
    for (;;) pause();
  }
  role_report(fd, mp_process_pid(p));
  close(fd);
  if (strcmp(role, "kill_daemon") == 0 || strcmp(role, "kill_daemon_sibling") == 0)
    for (;;) pause(); /* the test SIGKILLs us */
  exit(0);            /* normal exit: the exit policy runs */
}

/* Fork and re-execute this program as a parent playing role. Returns the
 * parent's pid; *child_pid is the pid of the child it started. */
static pid_t start_role(const char *role, int method, const char *path,
                        int *child_pid) {
  int fds[2];
  make_pipe(fds);
  /* Build the environment before fork(): the child only execs. */
  size_t n = 0;
  while (environ[n]) ++n;
  char **envp = calloc(n + 5, sizeof *envp);
  assert_non_null(envp);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i)
    if (strncmp(environ[i], "MPTT_", 5) != 0) envp[k++] = environ[i];
  char role_v[64], fd_v[32], m_v[32], path_v[600];
  snprintf(role_v, sizeof role_v, "MPTT_ROLE=%s", role);
  snprintf(fd_v, sizeof fd_v, "MPTT_FD=%d", 200);
  snprintf(m_v, sizeof m_v, "MPTT_METHOD=%d", method);
  envp[k++] = role_v;
  envp[k++] = fd_v;
  envp[k++] = m_v;
  if (path) {
    snprintf(path_v, sizeof path_v, "MPTT_PATH=%s", path);
    envp[k++] = path_v;
  }
  envp[k] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    /* dup2 clears close-on-exec on descriptor 200 only. */
    if (dup2(fds[1], 200) < 0) _exit(126);
    execve("/proc/self/exe", g_argv, envp);
    _exit(127);
  }
  free(envp);
  assert_true(pid > 0);
  close(fds[1]);
  int value = 0;
  int r = read_exact(fds[0], &value, sizeof value, 30000);
  close(fds[0]);
  if (r != 0 || value <= 0) {
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    fail_msg("role %s (%s): no pid from the parent (read %d, value %d)", role,
             method_name(method), r, value);
  }
  *child_pid = value;
  return pid;
}

/* Reap the role parent (it must end within timeout_ms) and check exit 0. */
static void reap_role(pid_t pid, int timeout_ms, int child_pid) {
  int st = 0;
  if (!wait_pid_timeout(pid, timeout_ms, &st)) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    kill(child_pid, SIGKILL);
    fail_msg("the parent did not exit within %d ms", timeout_ms);
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    kill(child_pid, SIGKILL);
    fail_msg("the parent ended with status 0x%x", st);
  }
}

static void test_target_exit_joins_non_daemon(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/mptt-marker-%d-%d", (int)getpid(),
             (int)m);
    unlink(path);
    int child = 0;
    pid_t parent = start_role("exit_join", (int)m, path, &child);
    reap_role(parent, 20000, child);
    int marker = access(path, F_OK) == 0;
    /* Clean up whatever the outcome: the child ends within ~300 ms. */
    int gone = wait_pid_gone(child, 10000);
    if (!gone) kill(child, SIGKILL);
    unlink(path);
    if (!marker)
      fail_msg("%s: the parent's exit(0) completed before its non-daemon "
               "child ended (no marker file): children are not joined at exit",
               method_name((int)m));
  }
}

static void test_target_exit_terminates_daemon(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    int child = 0;
    pid_t parent = start_role("exit_daemon", (int)m, NULL, &child);
    reap_role(parent, 20000, child);
    int gone = wait_pid_gone(child, 5000);
    if (!gone) kill(child, SIGKILL);
    if (!gone)
      fail_msg("%s: daemon child %d still runs after its parent exited",
               method_name((int)m), child);
  }
}

/* For each start method: run role in a parent, SIGKILL the parent, and
 * expect its daemon child gone within 5 s (why: the failure's words). */
static void expect_daemon_dies_with_killed_parent(const char *role, const char *why) {
  FOR_EACH_METHOD(m) {
    int child = 0, st;
    pid_t parent = start_role(role, (int)m, NULL, &child);
    assert_true(pid_running(child));
    kill(parent, SIGKILL);
    waitpid(parent, &st, 0);
    int gone = wait_pid_gone(child, 5000);
    if (!gone) kill(child, SIGKILL);
    if (!gone) fail_msg("%s: daemon child %d %s", method_name((int)m), child, why);
  }
}

static void test_target_parent_sigkill_kills_daemon(void **state) {
  (void)state;
  expect_daemon_dies_with_killed_parent("kill_daemon", "survived its SIGKILLed parent");
}

/* The same with a child the parent forked itself after the daemon, which
 * outlives the parent. */
static void test_target_parent_sigkill_kills_daemon_despite_sibling(void **state) {
  (void)state;
  expect_daemon_dies_with_killed_parent("kill_daemon_sibling",
                                        "survived its SIGKILLed parent (a sibling lives)");
}

static void test_target_exit_join_disabled(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    int child = 0;
    pid_t parent = start_role("exit_nojoin", (int)m, NULL, &child);
    /* The parent must not wait for its 30 s child. */
    reap_role(parent, 15000, child);
    int alive1 = pid_running(child);
    sleep_ms(200);
    int alive2 = pid_running(child);
    kill(child, SIGKILL);
    assert_true(wait_pid_gone(child, 5000));
    if (!alive1 || !alive2)
      fail_msg("%s: a non-daemon child did not survive its parent's exit "
               "with mp_set_exit_join(0)",
               method_name((int)m));
  }
}

struct thread_start {
  int method;
  int rc;
  mp_process_t *proc;
  char err[256];
};

static void *start_daemon_thread(void *arg) {
  struct thread_start *ts = arg;
  int ms = 30000;
  mp_process_t *p = NULL;
  int r = mp_process_new(&p, "tt_sleep", &ms, sizeof ms);
  if (r == MP_OK) r = mp_process_set_daemon(p, 1);
  if (r == MP_OK)
    r = mp_process_set_start_method(p, (mp_start_method_t)ts->method);
  if (r == MP_OK) r = mp_process_start(p);
  if (r != MP_OK) snprintf(ts->err, sizeof ts->err, "%s", mp_last_error());
  ts->rc = r;
  ts->proc = p;
  return NULL;
}

static void test_target_daemon_from_exiting_thread(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    struct thread_start ts = {(int)m, 0, NULL, ""};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, start_daemon_thread, &ts), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (ts.rc != MP_OK)
      fail_msg("start from a thread: %d (%s): %s", ts.rc, mp_err_name(ts.rc),
               ts.err);
    int pid = mp_process_pid(ts.proc);
    assert_true(pid > 0);
    /* Leave time for a death signal tied to the exited thread to land. */
    sleep_ms(300);
    int alive = mp_process_is_alive(ts.proc);
    int running = pid_running(pid);
    MP_ASSERT_OK(mp_process_kill(ts.proc));
    int code = join_code(ts.proc);
    mp_process_free(ts.proc);
    if (alive != 1 || !running)
      fail_msg("%s: the daemon died when the thread that started it exited "
               "(exit code %d)",
               method_name((int)m), code);
    assert_int_equal(code, -SIGKILL);
  }
}

/* ------------------------------------------------------------------------
 * Nested children, a host program that forks
 * ---------------------------------------------------------------------- */

static void test_target_nested(void **state) {
  (void)state;
  FOR_EACH_METHOD(outer) {
    FOR_EACH_METHOD(inner) {
      int arg = (int)inner;
      int code = run_target("tt_nested", &arg, sizeof arg, (int)outer);
      if (code != 42)
        fail_msg("outer %s, inner %s: exit code %d, expected 42 (10x: the "
                 "child's own start failed at step x)",
                 method_name((int)outer), method_name((int)inner), code);
    }
  }
}

static void test_target_start_in_host_forked_child(void **state) {
  (void)state;
  /* This process has used the library (its runtime runs); a child the host
   * program forks itself must still be able to start and join targets. */
  int v = 5;
  assert_int_equal(run_target("tt_ret", &v, sizeof v, MP_START_FORK), 5);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(8);
    int code = -1;
    mp_process_t *p = NULL;
    if (mp_process_new(&p, "tt_ret", &v, sizeof v) != MP_OK) _exit(10);
    if (mp_process_start(p) != MP_OK) _exit(11);
    if (mp_process_join(p, 5000) != MP_OK) _exit(12);
    if (mp_process_exitcode(&code, p) != MP_OK) _exit(13);
    mp_process_free(p);
    _exit(code == 5 ? 0 : 14);
  }
  assert_true(pid > 0);
  int st = 0;
  if (!wait_pid_timeout(pid, 30000, &st)) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    fail_msg("the forked child did not end");
  }
  if (WIFSIGNALED(st))
    fail_msg("the host-forked child was killed by signal %d (%s): the "
             "library hangs in a child the host forked",
             WTERMSIG(st), WTERMSIG(st) == SIGALRM ? "hung, alarm" : "crash");
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv) {
  register_targets();
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 99;
  }
  g_argv = argv;
  const char *role = getenv("MPTT_ROLE");
  if (role) run_role(role); /* never returns */

  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_target_exit_code_is_return_value),
      cmocka_unit_test(test_target_arg_bytes_intact),
      cmocka_unit_test(test_target_large_arg_intact),
      cmocka_unit_test(test_target_null_arg),
      cmocka_unit_test(test_target_main_process_identity),
      cmocka_unit_test(test_target_default_name),
      cmocka_unit_test(test_target_set_name),
      cmocka_unit_test(test_target_is_child_and_parent_pid),
      cmocka_unit_test(test_target_pass_fd),
      cmocka_unit_test(test_target_pass_fd_caller_may_close),
      cmocka_unit_test(test_target_sigkill_exitcode),
      cmocka_unit_test(test_target_free_closes_child_descriptors),
      cmocka_unit_test(test_target_start_twice),
      cmocka_unit_test(test_target_config_after_start),
      cmocka_unit_test(test_target_join_before_start),
      cmocka_unit_test(test_target_unknown_target),
      cmocka_unit_test(test_target_bad_args),
      cmocka_unit_test(test_target_start_command_process),
      cmocka_unit_test(test_target_pass_fd_limit),
      cmocka_unit_test(test_target_several_children),
      cmocka_unit_test(test_target_is_alive),
      cmocka_unit_test(test_target_no_zombies),
      cmocka_unit_test(test_target_exit_joins_non_daemon),
      cmocka_unit_test(test_target_exit_terminates_daemon),
      cmocka_unit_test(test_target_parent_sigkill_kills_daemon),
      cmocka_unit_test(test_target_parent_sigkill_kills_daemon_despite_sibling),
      cmocka_unit_test(test_target_exit_join_disabled),
      cmocka_unit_test(test_target_daemon_from_exiting_thread),
      cmocka_unit_test(test_target_nested),
      cmocka_unit_test(test_target_start_in_host_forked_child),
  };
  return MP_RUN_TESTS(tests);
}
