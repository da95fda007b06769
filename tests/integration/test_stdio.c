/* Integration tests of a command's standard streams: mp_process_communicate,
 * mp_process_write / close_stdin / read, mp_run, descriptor accounting. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#define BIG_EACH_WAY ((size_t)64 * 1024 * 1024)
#define EARLY_EXIT_INPUT ((size_t)16 * 1024 * 1024)

/* ---------------------------------------------------------------- helpers */

/* Set the three stdio modes of cmd. */
static void set_stdio(mp_cmd_t *cmd, mp_stdio_t in, mp_stdio_t out, mp_stdio_t err) {
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDIN, in));
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, out));
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDERR, err));
}

/* Spawn cmd with the given stdio modes and free the command. */
static mp_process_t *spawn_with(mp_cmd_t *cmd, mp_stdio_t in, mp_stdio_t out,
                                mp_stdio_t err) {
  mp_process_t *p = NULL;
  set_stdio(cmd, in, out, err);
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  assert_non_null(p);
  mp_cmd_free(cmd);
  return p;
}

static int exitcode_of(mp_process_t *p) {
  int code = 12345;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  return code;
}

/* Join (generously bounded) and return the exit code. */
static int join_code(mp_process_t *p) {
  MP_ASSERT_OK(mp_process_join(p, 20000));
  return exitcode_of(p);
}

/* Kill a child that still runs, join it, expect death by SIGKILL. */
static void kill_and_join(mp_process_t *p) {
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(join_code(p), -SIGKILL);
}

/* Whether SIGPIPE is pending for this thread or process. */
static int sigpipe_pending(void) {
  sigset_t set;
  sigemptyset(&set);
  assert_int_equal(sigpending(&set), 0);
  return sigismember(&set, SIGPIPE);
}

/* Read a stream with mp_process_read until MP_ECLOSED; returns a malloc'd
 * NUL-terminated buffer, length in *len. */
static char *read_to_end(mp_process_t *p, mp_stream_t stream, size_t *len) {
  size_t cap = 256, used = 0;
  char *acc = malloc(cap);
  assert_non_null(acc);
  for (;;) {
    char buf[64];
    size_t n = 0;
    int r = mp_process_read(&n, p, stream, buf, sizeof buf, 10000);
    if (r == MP_ECLOSED) break;
    if (r != MP_OK) {
      free(acc);
      fail_msg("mp_process_read = %s: %s", mp_err_name(r), mp_last_error());
    }
    assert_true(n > 0 && n <= sizeof buf);
    if (used + n + 1 > cap) {
      cap = (used + n + 1) * 2;
      acc = realloc(acc, cap);
      assert_non_null(acc);
    }
    memcpy(acc + used, buf, n);
    used += n;
  }
  acc[used] = '\0';
  *len = used;
  return acc;
}

static int noop_target(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  return 0;
}

/* ------------------------------------------------- mp_process_communicate */

static void test_stdio_communicate_sorts_input_and_exits_zero(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "sort"));
  mp_process_t *p = spawn_with(cmd, MP_STDIO_PIPE, MP_STDIO_PIPE, MP_STDIO_PIPE);
  void *out = NULL, *err = NULL;
  size_t out_len = 99, err_len = 99;
  const char *in = "b\na\nc\n";
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, &err, &err_len, p, in,
                                      strlen(in), 20000));
  assert_non_null(out);
  assert_int_equal(out_len, 6);
  assert_memory_equal(out, "a\nb\nc\n", 6);
  assert_non_null(err);
  assert_int_equal(err_len, 0);
  assert_int_equal(exitcode_of(p), 0);
  assert_int_equal(mp_process_is_alive(p), 0);
  mp_free(out);
  mp_free(err);
  mp_process_free(p);
}

static void test_stdio_communicate_output_is_nul_terminated(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("echo", "hello", NULL), MP_STDIO_NULL,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 99;
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, &err, &err_len, p, NULL, 0,
                                      20000));
  assert_non_null(out);
  assert_int_equal(out_len, 6);
  assert_int_equal(((char *)out)[out_len], '\0');
  assert_string_equal((char *)out, "hello\n");
  assert_non_null(err);
  assert_int_equal(err_len, 0);
  assert_int_equal(((char *)err)[0], '\0');
  mp_free(out);
  mp_free(err);
  mp_process_free(p);
}

static void test_stdio_communicate_null_out_or_err_discards_stream(void **state) {
  (void)state;
  /* stdout discarded, stderr kept. */
  mp_process_t *p = spawn_with(helper_cmd("both", NULL), MP_STDIO_NULL,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  void *err = NULL;
  size_t err_len = 0;
  MP_ASSERT_OK(mp_process_communicate(NULL, NULL, &err, &err_len, p, NULL, 0, 20000));
  assert_non_null(err);
  assert_int_equal(err_len, 4);
  assert_string_equal((char *)err, "err\n");
  assert_int_equal(exitcode_of(p), 0);
  mp_free(err);
  mp_process_free(p);

  /* stderr discarded, stdout kept. */
  p = spawn_with(helper_cmd("both", NULL), MP_STDIO_NULL, MP_STDIO_PIPE,
                 MP_STDIO_PIPE);
  void *out = NULL;
  size_t out_len = 0;
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, NULL, NULL, p, NULL, 0, 20000));
  assert_non_null(out);
  assert_string_equal((char *)out, "out\n");
  assert_int_equal(out_len, 4);
  mp_free(out);
  mp_process_free(p);

  /* Everything discarded: still waits for the end. */
  p = spawn_with(helper_cmd("both", NULL), MP_STDIO_NULL, MP_STDIO_PIPE,
                 MP_STDIO_PIPE);
  MP_ASSERT_OK(mp_process_communicate(NULL, NULL, NULL, NULL, p, NULL, 0, 20000));
  assert_int_equal(exitcode_of(p), 0);
  mp_process_free(p);
}

static void test_stdio_communicate_unpiped_streams_give_null_buffers(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("both", NULL), MP_STDIO_NULL,
                               MP_STDIO_NULL, MP_STDIO_NULL);
  void *out = (void *)&out, *err = (void *)&err; /* garbage to be replaced */
  size_t out_len = 99, err_len = 99;
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, &err, &err_len, p, NULL, 0,
                                      20000));
  assert_null(out);
  assert_int_equal(out_len, 0);
  assert_null(err);
  assert_int_equal(err_len, 0);
  assert_int_equal(exitcode_of(p), 0);
  mp_process_free(p);

  /* Only stderr piped: stdout NULL, stderr captured. */
  p = spawn_with(helper_cmd("both", NULL), MP_STDIO_NULL, MP_STDIO_NULL,
                 MP_STDIO_PIPE);
  out = (void *)&out;
  out_len = 99;
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, &err, &err_len, p, NULL, 0,
                                      20000));
  assert_null(out);
  assert_int_equal(out_len, 0);
  assert_non_null(err);
  assert_string_equal((char *)err, "err\n");
  mp_free(err);
  mp_process_free(p);
}

static void test_stdio_communicate_64mib_each_way_does_not_deadlock(void **state) {
  (void)state;
  char nbuf[32];
  snprintf(nbuf, sizeof nbuf, "%zu", BIG_EACH_WAY);
  mp_process_t *p = spawn_with(helper_cmd("spew", nbuf, NULL), MP_STDIO_PIPE,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  char *input = malloc(BIG_EACH_WAY);
  assert_non_null(input);
  memset(input, 'y', BIG_EACH_WAY);
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  int r = mp_process_communicate(&out, &out_len, &err, &err_len, p, input,
                                 BIG_EACH_WAY, 120000);
  free(input);
  if (r != MP_OK) {
    mp_free(out);
    mp_free(err);
    mp_process_kill(p);
    mp_process_join(p, 10000);
    mp_process_free(p);
    fail_msg("communicate = %s: %s", mp_err_name(r), mp_last_error());
  }
  assert_non_null(out);
  assert_non_null(err);
  assert_int_equal(out_len, BIG_EACH_WAY);
  const char *o = out, *e = err;
  size_t xs = 0;
  for (size_t i = 0; i < out_len; i++) xs += o[i] == 'x';
  assert_int_equal(xs, BIG_EACH_WAY);
  xs = 0;
  for (size_t i = 0; i < err_len; i++) xs += e[i] == 'x';
  assert_int_equal(xs, BIG_EACH_WAY);
  char tail[64];
  int tl = snprintf(tail, sizeof tail, "\nstdin=%zu\n", BIG_EACH_WAY);
  assert_int_equal(err_len, BIG_EACH_WAY + (size_t)tl);
  assert_memory_equal(e + BIG_EACH_WAY, tail, (size_t)tl);
  assert_int_equal(e[err_len], '\0');
  assert_int_equal(exitcode_of(p), 0);
  mp_free(out);
  mp_free(err);
  mp_process_free(p);
}

static void test_stdio_communicate_child_not_reading_stdin_is_not_error(void **state) {
  (void)state;
  assert_false(sigpipe_pending());
  mp_process_t *p = spawn_with(helper_cmd("exit", "0", NULL), MP_STDIO_PIPE,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  char *input = malloc(EARLY_EXIT_INPUT);
  assert_non_null(input);
  memset(input, 'z', EARLY_EXIT_INPUT);
  void *out = NULL, *err = NULL;
  size_t out_len = 99, err_len = 99;
  int r = mp_process_communicate(&out, &out_len, &err, &err_len, p, input,
                                 EARLY_EXIT_INPUT, 30000);
  free(input);
  mp_free(out);
  mp_free(err);
  if (r != MP_OK) {
    mp_process_free(p);
    fail_msg("communicate = %s: %s", mp_err_name(r), mp_last_error());
  }
  assert_int_equal(out_len, 0);
  assert_int_equal(err_len, 0);
  assert_int_equal(exitcode_of(p), 0);
  assert_false(sigpipe_pending());
  mp_process_free(p);
}

static void test_stdio_communicate_input_without_stdin_pipe_is_estate(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("exit", "0", NULL), MP_STDIO_NULL,
                               MP_STDIO_PIPE, MP_STDIO_NULL);
  void *out = (void *)&out;
  size_t out_len = 99;
  MP_ASSERT_ERR(mp_process_communicate(&out, &out_len, NULL, NULL, p, "x", 1, 20000),
                MP_ESTATE);
  assert_null(out);
  /* Without input the same process communicates fine. */
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, NULL, NULL, p, NULL, 0, 20000));
  assert_non_null(out);
  assert_int_equal(out_len, 0);
  mp_free(out);
  assert_int_equal(exitcode_of(p), 0);
  mp_process_free(p);
}

static void test_stdio_communicate_timeout_leaves_child_running(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("sleep", "30000", NULL), MP_STDIO_NULL,
                               MP_STDIO_PIPE, MP_STDIO_INHERIT);
  void *out = NULL, *err = NULL;
  size_t out_len = 99, err_len = 99;
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_process_communicate(&out, &out_len, &err, &err_len, p, NULL, 0, 200),
                MP_ETIMEDOUT);
  assert_true(now_ms() - t0 < 10000);
  /* Partial buffers: stdout is a pipe, so a (possibly empty) buffer. */
  assert_non_null(out);
  assert_int_equal(out_len, 0);
  assert_null(err);
  assert_int_equal(err_len, 0);
  mp_free(out);
  mp_free(err);
  assert_int_equal(mp_process_is_alive(p), 1);
  int code;
  MP_ASSERT_ERR(mp_process_exitcode(&code, p), MP_ESTATE);
  kill_and_join(p);
  mp_process_free(p);
}

static void test_stdio_communicate_timeout_returns_output_read_so_far(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "-c"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "printf partial; printf e >&2; exec \"$0\" sleep 30000"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, test_helper_path()));
  mp_process_t *p = spawn_with(cmd, MP_STDIO_PIPE, MP_STDIO_PIPE, MP_STDIO_PIPE);
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  MP_ASSERT_ERR(mp_process_communicate(&out, &out_len, &err, &err_len, p, "ignored",
                                       7, 2000),
                MP_ETIMEDOUT);
  assert_non_null(out);
  assert_non_null(err);
  assert_int_equal(out_len, 7);
  assert_string_equal((char *)out, "partial");
  assert_int_equal(err_len, 1);
  assert_string_equal((char *)err, "e");
  mp_free(out);
  mp_free(err);
  /* stdin was closed by the timed-out communicate. */
  MP_ASSERT_ERR(mp_process_write(p, "x", 1, 1000), MP_ESTATE);
  assert_int_equal(mp_process_is_alive(p), 1);
  kill_and_join(p);
  mp_process_free(p);
}

static void test_stdio_communicate_grandchild_holding_stdout_does_not_hang(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("grandchild", "20000", NULL), MP_STDIO_NULL,
                               MP_STDIO_PIPE, MP_STDIO_INHERIT);
  void *out = NULL;
  size_t out_len = 0;
  int64_t t0 = now_ms();
  int r = mp_process_communicate(&out, &out_len, NULL, NULL, p, NULL, 0, 15000);
  int64_t elapsed = now_ms() - t0;
  long gpid = out ? strtol((char *)out, NULL, 10) : 0;
  if (gpid > 1) kill((pid_t)gpid, SIGKILL);
  if (r != MP_OK) {
    mp_free(out);
    mp_process_kill(p);
    mp_process_join(p, 10000);
    mp_process_free(p);
    fail_msg("communicate = %s after %lld ms: %s", mp_err_name(r), (long long)elapsed,
             mp_last_error());
  }
  assert_true(elapsed < 10000);
  assert_non_null(out);
  assert_true(gpid > 1);
  assert_int_equal(((char *)out)[out_len - 1], '\n');
  assert_int_equal(exitcode_of(p), 0);
  mp_free(out);
  mp_process_free(p);
}

static void test_stdio_communicate_unstarted_process_is_estate(void **state) {
  (void)state;
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, "stdio_noop", NULL, 0));
  void *out = (void *)&out, *err = (void *)&err;
  size_t out_len = 99, err_len = 99;
  MP_ASSERT_ERR(mp_process_communicate(&out, &out_len, &err, &err_len, p, NULL, 0,
                                       1000),
                MP_ESTATE);
  assert_null(out);
  assert_null(err);
  mp_process_free(p);
}

static void test_stdio_communicate_bad_arguments_are_einval(void **state) {
  (void)state;
  void *out = (void *)&out, *err = (void *)&err;
  size_t out_len = 99, err_len = 99;
  MP_ASSERT_ERR(mp_process_communicate(&out, &out_len, &err, &err_len, NULL, NULL, 0,
                                       1000),
                MP_EINVAL);
  assert_null(out);
  assert_null(err);

  mp_process_t *p = spawn_with(helper_cmd("cat", NULL), MP_STDIO_PIPE, MP_STDIO_PIPE,
                               MP_STDIO_NULL);
  out = (void *)&out;
  MP_ASSERT_ERR(mp_process_communicate(&out, &out_len, NULL, NULL, p, NULL, 5, 1000),
                MP_EINVAL);
  assert_null(out);
  out = (void *)&out;
  MP_ASSERT_ERR(mp_process_communicate(&out, &out_len, NULL, NULL, p, "abc", 3, -5),
                MP_EINVAL);
  assert_null(out);
  /* Nothing was consumed: the child still gets its input afterwards. */
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, NULL, NULL, p, "abc", 3, 20000));
  assert_non_null(out);
  assert_int_equal(out_len, 3);
  assert_string_equal((char *)out, "abc");
  mp_free(out);
  assert_int_equal(exitcode_of(p), 0);
  mp_process_free(p);
}

/* ------------------------------------ mp_process_write / close_stdin / read */

static void test_stdio_write_close_stdin_read_roundtrip(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("cat", NULL), MP_STDIO_PIPE, MP_STDIO_PIPE,
                               MP_STDIO_NULL);
  MP_ASSERT_OK(mp_process_write(p, "hello", 5, 10000));
  MP_ASSERT_OK(mp_process_close_stdin(p));
  size_t len = 0;
  char *got = read_to_end(p, MP_STDOUT, &len);
  assert_int_equal(len, 5);
  assert_string_equal(got, "hello");
  free(got);
  /* End of stream stays end of stream. */
  char buf[8];
  size_t n = 99;
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDOUT, buf, sizeof buf, 1000), MP_ECLOSED);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

static void test_stdio_write_to_unpiped_stdin_is_estate(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("exit", "0", NULL), MP_STDIO_NULL,
                               MP_STDIO_NULL, MP_STDIO_NULL);
  MP_ASSERT_ERR(mp_process_write(p, "x", 1, 1000), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_close_stdin(p), MP_ESTATE);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

static void test_stdio_write_after_close_stdin_is_estate(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("cat", NULL), MP_STDIO_PIPE, MP_STDIO_NULL,
                               MP_STDIO_NULL);
  MP_ASSERT_OK(mp_process_close_stdin(p));
  MP_ASSERT_ERR(mp_process_write(p, "x", 1, 1000), MP_ESTATE);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

static void test_stdio_close_stdin_twice_is_ok(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("cat", NULL), MP_STDIO_PIPE, MP_STDIO_NULL,
                               MP_STDIO_NULL);
  MP_ASSERT_OK(mp_process_close_stdin(p));
  MP_ASSERT_OK(mp_process_close_stdin(p));
  assert_int_equal(join_code(p), 0);
  MP_ASSERT_OK(mp_process_close_stdin(p));
  MP_ASSERT_ERR(mp_process_close_stdin(NULL), MP_EINVAL);
  mp_process_free(p);
}

static void test_stdio_write_to_exited_child_is_epipe_not_sigpipe(void **state) {
  (void)state;
  assert_false(sigpipe_pending());
  mp_process_t *p = spawn_with(helper_cmd("exit", "0", NULL), MP_STDIO_PIPE,
                               MP_STDIO_NULL, MP_STDIO_NULL);
  assert_int_equal(join_code(p), 0);
  MP_ASSERT_ERR(mp_process_write(p, "x", 1, 1000), MP_EPIPE);
  MP_ASSERT_ERR(mp_process_write(p, "more", 4, MP_FOREVER), MP_EPIPE);
  assert_false(sigpipe_pending());
  mp_process_free(p);
}

static void test_stdio_write_bad_arguments_are_einval(void **state) {
  (void)state;
  MP_ASSERT_ERR(mp_process_write(NULL, "x", 1, 1000), MP_EINVAL);
  mp_process_t *p = spawn_with(helper_cmd("cat", NULL), MP_STDIO_PIPE, MP_STDIO_NULL,
                               MP_STDIO_NULL);
  MP_ASSERT_ERR(mp_process_write(p, NULL, 1, 1000), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_write(p, "x", 1, -5), MP_EINVAL);
  MP_ASSERT_OK(mp_process_close_stdin(p));
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

static void test_stdio_read_times_out_on_silent_child(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("sleep", "30000", NULL), MP_STDIO_NULL,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  char buf[16];
  size_t n = 99;
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDOUT, buf, sizeof buf, 100), MP_ETIMEDOUT);
  assert_true(now_ms() - t0 < 10000);
  assert_int_equal(n, 0);
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDERR, buf, sizeof buf, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_process_is_alive(p), 1);
  kill_and_join(p);
  mp_process_free(p);
}

static void test_stdio_read_from_stderr(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("stderr", "oops here", NULL), MP_STDIO_NULL,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  size_t len = 0;
  char *got = read_to_end(p, MP_STDERR, &len);
  assert_string_equal(got, "oops here\n");
  assert_int_equal(len, 10);
  free(got);
  got = read_to_end(p, MP_STDOUT, &len);
  assert_int_equal(len, 0);
  free(got);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

static void test_stdio_read_unpiped_stream_is_estate(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("exit", "0", NULL), MP_STDIO_PIPE,
                               MP_STDIO_NULL, MP_STDIO_NULL);
  char buf[16];
  size_t n = 99;
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDOUT, buf, sizeof buf, 1000), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDERR, buf, sizeof buf, 1000), MP_ESTATE);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

static void test_stdio_read_bad_arguments_are_einval(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("echo", "x", NULL), MP_STDIO_PIPE,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  char buf[16];
  size_t n = 99;
  MP_ASSERT_ERR(mp_process_read(&n, NULL, MP_STDOUT, buf, sizeof buf, 1000), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDIN, buf, sizeof buf, 1000), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_read(&n, p, (mp_stream_t)7, buf, sizeof buf, 1000),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDOUT, buf, 0, 1000), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDOUT, NULL, sizeof buf, 1000), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDOUT, buf, sizeof buf, -5), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_read(NULL, p, MP_STDOUT, buf, sizeof buf, 1000), MP_EINVAL);
  /* The stream is untouched by the rejected calls. */
  size_t len = 0;
  char *got = read_to_end(p, MP_STDOUT, &len);
  assert_string_equal(got, "x\n");
  free(got);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

/* ------------------------------------------------------------------ mp_run */

static void test_stdio_run_captures_stdout_and_exit_code(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("echo", "hello", "world", NULL);
  set_stdio(cmd, MP_STDIO_NULL, MP_STDIO_PIPE, MP_STDIO_PIPE);
  int code = 12345;
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 99;
  MP_ASSERT_OK(mp_run(&code, &out, &out_len, &err, &err_len, cmd, NULL, 0, 20000));
  assert_int_equal(code, 0);
  assert_non_null(out);
  assert_int_equal(out_len, 12);
  assert_string_equal((char *)out, "hello world\n");
  assert_non_null(err);
  assert_int_equal(err_len, 0);
  mp_free(out);
  mp_free(err);
  /* The command can be run again, without any out-parameter. */
  MP_ASSERT_OK(mp_run(NULL, NULL, NULL, NULL, NULL, cmd, NULL, 0, 20000));
  mp_cmd_free(cmd);
}

static void test_stdio_run_nonzero_exit_is_ok_with_exitcode(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("exit", "3", NULL);
  set_stdio(cmd, MP_STDIO_NULL, MP_STDIO_PIPE, MP_STDIO_NULL);
  int code = 12345;
  void *out = NULL;
  size_t out_len = 99;
  MP_ASSERT_OK(mp_run(&code, &out, &out_len, NULL, NULL, cmd, NULL, 0, 20000));
  assert_int_equal(code, 3);
  assert_non_null(out);
  assert_int_equal(out_len, 0);
  mp_free(out);
  mp_cmd_free(cmd);

  /* Death by a signal is -N, also with MP_OK. */
  cmd = helper_cmd("signal-self", "15", NULL);
  set_stdio(cmd, MP_STDIO_NULL, MP_STDIO_NULL, MP_STDIO_NULL);
  code = 12345;
  MP_ASSERT_OK(mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, 20000));
  assert_int_equal(code, -SIGTERM);
  mp_cmd_free(cmd);
}

static void test_stdio_run_feeds_input_to_stdin(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "sort"));
  set_stdio(cmd, MP_STDIO_PIPE, MP_STDIO_PIPE, MP_STDIO_PIPE);
  const char *in = "b\na\nc\n";
  int code = 12345;
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  MP_ASSERT_OK(mp_run(&code, &out, &out_len, &err, &err_len, cmd, in, strlen(in),
                      20000));
  assert_int_equal(code, 0);
  assert_non_null(out);
  assert_int_equal(out_len, 6);
  assert_string_equal((char *)out, "a\nb\nc\n");
  assert_int_equal(err_len, 0);
  mp_free(out);
  mp_free(err);
  mp_cmd_free(cmd);
}

static void test_stdio_run_timeout_kills_child(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  set_stdio(cmd, MP_STDIO_NULL, MP_STDIO_PIPE, MP_STDIO_PIPE);
  int code = 12345;
  void *out = NULL, *err = NULL;
  size_t out_len = 99, err_len = 99;
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_run(&code, &out, &out_len, &err, &err_len, cmd, NULL, 0, 200),
                MP_ETIMEDOUT);
  int64_t elapsed = now_ms() - t0;
  mp_free(out);
  mp_free(err);
  assert_true(elapsed < 10000);
  assert_int_equal(code, -SIGKILL);
  assert_int_equal(out_len, 0);
  assert_int_equal(err_len, 0);
  assert_int_equal(count_zombie_children(), 0);
  mp_cmd_free(cmd);
}

static void test_stdio_run_missing_program_is_enoent(void **state) {
  (void)state;
  const char *progs[] = {"/no/such/dir/mp-no-such-program",
                         "mp-no-such-program-anywhere"};
  for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
    mp_cmd_t *cmd = NULL;
    MP_ASSERT_OK(mp_cmd_new(&cmd, progs[i]));
    set_stdio(cmd, MP_STDIO_PIPE, MP_STDIO_PIPE, MP_STDIO_PIPE);
    int code = 12345;
    void *out = (void *)&out, *err = (void *)&err;
    size_t out_len = 99, err_len = 99;
    MP_ASSERT_ERR(mp_run(&code, &out, &out_len, &err, &err_len, cmd, "x", 1, 5000),
                  MP_ENOENT);
    assert_null(out);
    assert_null(err);
    assert_non_null(strstr(mp_last_error(), progs[i]));
    mp_cmd_free(cmd);
  }
}

static void test_stdio_run_shell_pipeline(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "-c"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "echo a | tr a b"));
  set_stdio(cmd, MP_STDIO_NULL, MP_STDIO_PIPE, MP_STDIO_PIPE);
  int code = 12345;
  void *out = NULL;
  size_t out_len = 0;
  MP_ASSERT_OK(mp_run(&code, &out, &out_len, NULL, NULL, cmd, NULL, 0, 20000));
  assert_int_equal(code, 0);
  assert_non_null(out);
  assert_int_equal(out_len, 2);
  assert_string_equal((char *)out, "b\n");
  mp_free(out);
  mp_cmd_free(cmd);
}

static void test_stdio_run_bad_arguments_are_einval(void **state) {
  (void)state;
  void *out = (void *)&out;
  size_t out_len = 99;
  MP_ASSERT_ERR(mp_run(NULL, &out, &out_len, NULL, NULL, NULL, NULL, 0, 1000),
                MP_EINVAL);
  assert_null(out);
  mp_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  MP_ASSERT_ERR(mp_run(NULL, NULL, NULL, NULL, NULL, cmd, NULL, 3, 1000), MP_EINVAL);
  MP_ASSERT_ERR(mp_run(NULL, NULL, NULL, NULL, NULL, cmd, NULL, 0, -5), MP_EINVAL);
  mp_cmd_free(cmd);
}

/* Issue 20, defect 1: input for a stdin that is not a pipe is refused
 * before anything starts, so no child outlives the call. */
static void test_stdio_run_input_without_stdin_pipe_starts_no_child(void **state) {
  (void)state;
  int before = count_children(0);
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  set_stdio(cmd, MP_STDIO_NULL, MP_STDIO_PIPE, MP_STDIO_PIPE);
  void *out = (void *)&out;
  MP_ASSERT_ERR(mp_run(NULL, &out, NULL, NULL, NULL, cmd, "x", 1, 20000), MP_ESTATE);
  assert_null(out);
  assert_int_equal(count_children(0), before);
  mp_cmd_free(cmd);
}

struct fire_later {
  mp_cancel_t *token;
  int delay_ms;
};

static void *fire_after_delay(void *arg) {
  struct fire_later *f = arg;
  struct timespec ts = {0, (long)f->delay_ms * 1000000L};
  nanosleep(&ts, NULL);
  mp_cancel_fire(f->token);
  return NULL;
}

/* Issue 20, defect 1: a canceled mp_run kills and reaps its child (fired
 * before the call, and while the call waits). */
static void test_stdio_run_canceled_kills_and_reaps_child(void **state) {
  (void)state;
  int before = count_children(0);
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  set_stdio(cmd, MP_STDIO_PIPE, MP_STDIO_PIPE, MP_STDIO_PIPE);
  mp_cancel_t *token = NULL;
  MP_ASSERT_OK(mp_cancel_new(&token));
  for (int delay = 0; delay <= 200; delay += 200) {
    MP_ASSERT_OK(mp_cancel_reset(token));
    struct fire_later f = {token, delay};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fire_after_delay, &f), 0);
    if (delay == 0) pthread_join(t, NULL);
    mp_cancel_t *prev = mp_cancel_bind(token);
    int code = 12345;
    int64_t t0 = now_ms();
    int r = mp_run(&code, NULL, NULL, NULL, NULL, cmd, "in", 2, 20000);
    mp_cancel_bind(prev);
    if (delay > 0) pthread_join(t, NULL);
    if (r != MP_ECANCELED) print_message("mp_run: %s\n", mp_last_error());
    assert_int_equal(r, MP_ECANCELED);
    assert_true(now_ms() - t0 < 10000);
    assert_int_equal(count_children(0), before);
  }
  mp_cancel_free(token);
  mp_cmd_free(cmd);
}

/* ------------------------------------------ closing stdout / stderr early */

/* Issue 20, defect 3 (os/exec TestClosePipeOnCopyError): a parent that
 * stops reading closes its end; the child writing gets SIGPIPE instead of
 * blocking on a full pipe, and join returns. */
static void test_stdio_close_stdout_child_gets_sigpipe_join_returns(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("spew", "100000000", NULL), MP_STDIO_NULL,
                               MP_STDIO_PIPE, MP_STDIO_NULL);
  char buf[16];
  size_t n = 0;
  MP_ASSERT_OK(mp_process_read(&n, p, MP_STDOUT, buf, sizeof buf, 20000));
  MP_ASSERT_OK(mp_process_close_stream(p, MP_STDOUT));
  MP_ASSERT_OK(mp_process_close_stream(p, MP_STDOUT)); /* again: no-op */
  assert_int_equal(join_code(p), -SIGPIPE);
  MP_ASSERT_ERR(mp_process_read(&n, p, MP_STDOUT, buf, sizeof buf, 0), MP_ECLOSED);
  mp_process_free(p);
}

/* communicate after closing stderr serves the rest and does not hang. */
static void test_stdio_close_stderr_then_communicate(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("both", NULL), MP_STDIO_NULL, MP_STDIO_PIPE,
                               MP_STDIO_PIPE);
  MP_ASSERT_OK(mp_process_close_stream(p, MP_STDERR));
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 99;
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, &err, &err_len, p, NULL, 0, 20000));
  assert_string_equal((char *)out, "out\n");
  assert_int_equal(err_len, 0);
  mp_free(out);
  mp_free(err);
  mp_process_free(p);
}

/* MP_STDIN is close_stdin; a stream that is not a pipe is MP_ESTATE. */
static void test_stdio_close_stream_stdin_and_unpiped(void **state) {
  (void)state;
  mp_process_t *p = spawn_with(helper_cmd("cat", NULL), MP_STDIO_PIPE, MP_STDIO_PIPE,
                               MP_STDIO_NULL);
  MP_ASSERT_OK(mp_process_write(p, "x\n", 2, 20000));
  MP_ASSERT_OK(mp_process_close_stream(p, MP_STDIN));
  MP_ASSERT_ERR(mp_process_write(p, "y", 1, 0), MP_ESTATE);
  size_t len = 0;
  char *got = read_to_end(p, MP_STDOUT, &len);
  assert_string_equal(got, "x\n");
  free(got);
  MP_ASSERT_ERR(mp_process_close_stream(p, MP_STDERR), MP_ESTATE);
  assert_int_equal(join_code(p), 0);
  mp_process_free(p);
}

/* -------------------------------------------------- mp_run with check */

/* Python's check=True: a non-zero exit (or a signal death) is
 * MP_ECALLEDPROCESS, with the exit code and the output delivered. */
static void test_stdio_run_check_nonzero_exit_is_ecalledprocess(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "-c"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "echo partial; exit 3"));
  MP_ASSERT_OK(mp_cmd_check(cmd, 1));
  set_stdio(cmd, MP_STDIO_NULL, MP_STDIO_PIPE, MP_STDIO_NULL);
  int code = 12345;
  void *out = NULL;
  size_t out_len = 0;
  MP_ASSERT_ERR(mp_run(&code, &out, &out_len, NULL, NULL, cmd, NULL, 0, 20000),
                MP_ECALLEDPROCESS);
  assert_int_equal(code, 3);
  assert_string_equal((char *)out, "partial\n");
  assert_non_null(strstr(mp_last_error(), "3"));
  mp_free(out);
  mp_cmd_free(cmd);

  cmd = helper_cmd("signal-self", "15", NULL);
  MP_ASSERT_OK(mp_cmd_check(cmd, 1));
  MP_ASSERT_ERR(mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, 20000),
                MP_ECALLEDPROCESS);
  assert_int_equal(code, -SIGTERM);
  mp_cmd_free(cmd);

  cmd = helper_cmd("exit", "0", NULL);
  MP_ASSERT_OK(mp_cmd_check(cmd, 1));
  MP_ASSERT_OK(mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, 20000));
  assert_int_equal(code, 0);
  /* Unchecked again: exit 3 is MP_OK. */
  mp_cmd_free(cmd);
  cmd = helper_cmd("exit", "3", NULL);
  MP_ASSERT_OK(mp_cmd_check(cmd, 0));
  MP_ASSERT_OK(mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, 20000));
  mp_cmd_free(cmd);
}

/* ------------------------------------------------- descriptor accounting */

/* "fd=target fd=target ..." for this process's descriptors. */
static void describe_fds(char *buf, size_t cap) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  size_t used = 0;
  buf[0] = '\0';
  if (!d) return;
  while ((e = readdir(d)) != NULL && used + 1 < cap) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
    char path[300], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = '\0';
    int w = snprintf(buf + used, cap - used, " %s=%s", e->d_name, target);
    if (w < 0) break;
    used += (size_t)w;
  }
  closedir(d);
}

static void print_fds(const char *tag) {
  char buf[2048];
  describe_fds(buf, sizeof buf);
  print_message("%s%s\n", tag, buf);
}

static void one_cycle(void) {
  mp_process_t *p = spawn_with(helper_cmd("spew", "100000", NULL), MP_STDIO_PIPE,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  MP_ASSERT_OK(mp_process_communicate(&out, &out_len, &err, &err_len, p, "abc", 3,
                                      20000));
  assert_int_equal(out_len, 100000);
  assert_int_equal(exitcode_of(p), 0);
  mp_free(out);
  mp_free(err);
  mp_process_free(p);
}

static void test_stdio_spawn_communicate_cycles_leak_no_fds(void **state) {
  (void)state;
  one_cycle(); /* warm up whatever the runtime opens lazily */
  /* A child that just ended may still hold its pidfd for a moment (see
   * below): the baseline is the lowest count seen over a short while. */
  int before = count_open_fds();
  for (int i = 0; i < 30; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int n = count_open_fds();
    if (n < before) before = n;
  }
  assert_true(before > 0);
  char fds_before[2048];
  describe_fds(fds_before, sizeof fds_before);
  for (int i = 0; i < 5; i++) one_cycle();
  /* mp_run and a timed-out communicate must not leak either. */
  mp_cmd_t *cmd = helper_cmd("echo", "x", NULL);
  set_stdio(cmd, MP_STDIO_PIPE, MP_STDIO_PIPE, MP_STDIO_PIPE);
  MP_ASSERT_OK(mp_run(NULL, NULL, NULL, NULL, NULL, cmd, "in", 2, 20000));
  mp_cmd_free(cmd);
  mp_process_t *p = spawn_with(helper_cmd("sleep", "30000", NULL), MP_STDIO_PIPE,
                               MP_STDIO_PIPE, MP_STDIO_PIPE);
  MP_ASSERT_ERR(mp_process_communicate(NULL, NULL, NULL, NULL, p, NULL, 0, 50),
                MP_ETIMEDOUT);
  kill_and_join(p);
  mp_process_free(p);
  /* The runtime thread drops its watch of an ended child (and with it the
   * child's pidfd) just after join has returned: allow it a moment. */
  int after = count_open_fds();
  for (int i = 0; i < 200 && after != before; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    after = count_open_fds();
  }
  if (after != before) {
    print_message("descriptors before: %s\n", fds_before);
    print_fds("descriptors after: ");
  }
  assert_int_equal(after, before);
}

int main(int argc, char **argv) {
  if (mp_main(argc, argv) != MP_OK) return 1;
  if (mp_register("stdio_noop", noop_target, NULL) != MP_OK) return 1;
  /* A SIGPIPE that escaped the library would kill the test: make sure it
   * has its default action even if the runner ignored it. */
  signal(SIGPIPE, SIG_DFL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stdio_communicate_sorts_input_and_exits_zero),
      cmocka_unit_test(test_stdio_communicate_output_is_nul_terminated),
      cmocka_unit_test(test_stdio_communicate_null_out_or_err_discards_stream),
      cmocka_unit_test(test_stdio_communicate_unpiped_streams_give_null_buffers),
      cmocka_unit_test(test_stdio_communicate_64mib_each_way_does_not_deadlock),
      cmocka_unit_test(test_stdio_communicate_child_not_reading_stdin_is_not_error),
      cmocka_unit_test(test_stdio_communicate_input_without_stdin_pipe_is_estate),
      cmocka_unit_test(test_stdio_communicate_timeout_leaves_child_running),
      cmocka_unit_test(test_stdio_communicate_timeout_returns_output_read_so_far),
      cmocka_unit_test(test_stdio_communicate_grandchild_holding_stdout_does_not_hang),
      cmocka_unit_test(test_stdio_communicate_unstarted_process_is_estate),
      cmocka_unit_test(test_stdio_communicate_bad_arguments_are_einval),
      cmocka_unit_test(test_stdio_write_close_stdin_read_roundtrip),
      cmocka_unit_test(test_stdio_write_to_unpiped_stdin_is_estate),
      cmocka_unit_test(test_stdio_write_after_close_stdin_is_estate),
      cmocka_unit_test(test_stdio_close_stdin_twice_is_ok),
      cmocka_unit_test(test_stdio_write_to_exited_child_is_epipe_not_sigpipe),
      cmocka_unit_test(test_stdio_write_bad_arguments_are_einval),
      cmocka_unit_test(test_stdio_read_times_out_on_silent_child),
      cmocka_unit_test(test_stdio_read_from_stderr),
      cmocka_unit_test(test_stdio_read_unpiped_stream_is_estate),
      cmocka_unit_test(test_stdio_read_bad_arguments_are_einval),
      cmocka_unit_test(test_stdio_run_captures_stdout_and_exit_code),
      cmocka_unit_test(test_stdio_run_nonzero_exit_is_ok_with_exitcode),
      cmocka_unit_test(test_stdio_run_feeds_input_to_stdin),
      cmocka_unit_test(test_stdio_run_timeout_kills_child),
      cmocka_unit_test(test_stdio_run_missing_program_is_enoent),
      cmocka_unit_test(test_stdio_run_shell_pipeline),
      cmocka_unit_test(test_stdio_run_bad_arguments_are_einval),
      cmocka_unit_test(test_stdio_run_input_without_stdin_pipe_starts_no_child),
      cmocka_unit_test(test_stdio_run_canceled_kills_and_reaps_child),
      cmocka_unit_test(test_stdio_close_stdout_child_gets_sigpipe_join_returns),
      cmocka_unit_test(test_stdio_close_stderr_then_communicate),
      cmocka_unit_test(test_stdio_close_stream_stdin_and_unpiped),
      cmocka_unit_test(test_stdio_run_check_nonzero_exit_is_ecalledprocess),
      cmocka_unit_test(test_stdio_spawn_communicate_cycles_leak_no_fds),
  };
  return MP_RUN_TESTS(tests);
}
