/* Commands (mp_cmd_*) and stop lists (mp_stop_*): setters and their
 * argument checks. Nothing here starts a process. */
#include "testutil.h"

static mp_cmd_t *new_cmd(void) {
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/true"));
  assert_non_null(cmd);
  return cmd;
}

/* ---- mp_cmd_new / mp_cmd_free ---- */

static void test_cmd_new_accepts_path_and_name(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/true"));
  assert_non_null(cmd);
  mp_cmd_free(cmd);
  cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "true"));
  assert_non_null(cmd);
  mp_cmd_free(cmd);
  /* A program that does not exist is only an error at spawn time. */
  cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/no/such/program"));
  assert_non_null(cmd);
  mp_cmd_free(cmd);
}

static void test_cmd_new_rejects_null_and_empty(void **state) {
  (void)state;
  mp_cmd_t *cmd = (mp_cmd_t *)0x1;
  MP_ASSERT_ERR(mp_cmd_new(&cmd, NULL), MP_EINVAL);
  assert_null(cmd);
  cmd = (mp_cmd_t *)0x1;
  MP_ASSERT_ERR(mp_cmd_new(&cmd, ""), MP_EINVAL);
  assert_null(cmd);
  MP_ASSERT_ERR(mp_cmd_new(NULL, "/bin/true"), MP_EINVAL);
}

static void test_cmd_free_null_is_noop(void **state) {
  (void)state;
  mp_cmd_free(NULL);
}

/* ---- arguments ---- */

static void test_cmd_arg_appends(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_arg(cmd, "one"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, ""));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "with space"));
  mp_cmd_free(cmd);
}

static void test_cmd_arg_rejects_null(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_arg(cmd, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_arg(NULL, "x"), MP_EINVAL);
  mp_cmd_free(cmd);
}

static void test_cmd_arg0_sets(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_arg0(cmd, "first"));
  MP_ASSERT_OK(mp_cmd_arg0(cmd, "second"));
  mp_cmd_free(cmd);
}

static void test_cmd_arg0_rejects_null(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_arg0(cmd, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_arg0(NULL, "x"), MP_EINVAL);
  mp_cmd_free(cmd);
}

/* ---- environment ---- */

static void test_cmd_env_set_accepts_valid(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "NAME", "value"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "NAME", "later wins"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "EMPTY", ""));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "WITH_EQ_VALUE", "a=b"));
  mp_cmd_free(cmd);
}

static void test_cmd_env_set_rejects_bad_input(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_env_set(NULL, "NAME", "v"), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_set(cmd, NULL, "v"), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_set(cmd, "", "v"), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_set(cmd, "A=B", "v"), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_set(cmd, "=", "v"), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_set(cmd, "NAME=", "v"), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_set(cmd, "NAME", NULL), MP_EINVAL);
  mp_cmd_free(cmd);
}

static void test_cmd_env_unset_accepts_valid(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_env_unset(cmd, "HOME"));
  MP_ASSERT_OK(mp_cmd_env_unset(cmd, "NOT_SET_ANYWHERE_12345"));
  mp_cmd_free(cmd);
}

static void test_cmd_env_unset_rejects_bad_input(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_env_unset(NULL, "NAME"), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_unset(cmd, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_unset(cmd, ""), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_env_unset(cmd, "A=B"), MP_EINVAL);
  mp_cmd_free(cmd);
}

static void test_cmd_env_clear(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "A", "1"));
  MP_ASSERT_OK(mp_cmd_env_clear(cmd));
  MP_ASSERT_OK(mp_cmd_env_clear(cmd));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "B", "2"));
  MP_ASSERT_ERR(mp_cmd_env_clear(NULL), MP_EINVAL);
  mp_cmd_free(cmd);
}

/* ---- working directory ---- */

static void test_cmd_cwd_accepts_dir(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_cwd(cmd, "/"));
  /* A missing directory is only an error at spawn time. */
  MP_ASSERT_OK(mp_cmd_cwd(cmd, "/no/such/dir"));
  mp_cmd_free(cmd);
}

static void test_cmd_cwd_rejects_null_and_empty(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_cwd(NULL, "/"), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_cwd(cmd, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_cwd(cmd, ""), MP_EINVAL);
  mp_cmd_free(cmd);
}

/* ---- stdio ---- */

static void test_cmd_stdio_accepts_every_valid_pair(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  const mp_stream_t streams[] = {MP_STDIN, MP_STDOUT, MP_STDERR};
  const mp_stdio_t modes[] = {MP_STDIO_INHERIT, MP_STDIO_NULL, MP_STDIO_PIPE};
  for (size_t s = 0; s < 3; s++)
    for (size_t m = 0; m < 3; m++)
      MP_ASSERT_OK(mp_cmd_stdio(cmd, streams[s], modes[m]));
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDERR, MP_STDIO_STDOUT));
  mp_cmd_free(cmd);
}

static void test_cmd_stdio_rejects_bad_input(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_stdio(NULL, MP_STDOUT, MP_STDIO_PIPE), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio(cmd, (mp_stream_t)3, MP_STDIO_PIPE), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio(cmd, (mp_stream_t)-1, MP_STDIO_PIPE), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio(cmd, MP_STDOUT, (mp_stdio_t)4), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio(cmd, MP_STDOUT, (mp_stdio_t)-1), MP_EINVAL);
  mp_cmd_free(cmd);
}

static void test_cmd_stdio_stdout_mode_only_for_stderr(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_stdio(cmd, MP_STDIN, MP_STDIO_STDOUT), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_STDOUT), MP_EINVAL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDERR, MP_STDIO_STDOUT));
  mp_cmd_free(cmd);
}

static void test_cmd_stdio_file_accepts_valid(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDIN, "/dev/null", MP_FILE_TRUNCATE));
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDOUT, "/tmp/x", MP_FILE_TRUNCATE));
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDERR, "/tmp/x", MP_FILE_APPEND));
  /* The file is opened at spawn time, not now. */
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDOUT, "/no/such/dir/f",
                                 MP_FILE_TRUNCATE));
  mp_cmd_free(cmd);
}

static void test_cmd_stdio_file_rejects_bad_input(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_stdio_file(NULL, MP_STDOUT, "/tmp/x", MP_FILE_TRUNCATE),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_file(cmd, MP_STDOUT, NULL, MP_FILE_TRUNCATE),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_file(cmd, MP_STDOUT, "", MP_FILE_TRUNCATE),
                MP_EINVAL);
  MP_ASSERT_ERR(
      mp_cmd_stdio_file(cmd, (mp_stream_t)3, "/tmp/x", MP_FILE_TRUNCATE),
      MP_EINVAL);
  MP_ASSERT_ERR(
      mp_cmd_stdio_file(cmd, (mp_stream_t)-1, "/tmp/x", MP_FILE_TRUNCATE),
      MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_file(cmd, MP_STDOUT, "/tmp/x", 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_file(cmd, MP_STDOUT, "/tmp/x", -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_file(cmd, MP_STDOUT, "/tmp/x", 0x100), MP_EINVAL);
  mp_cmd_free(cmd);
}

static void test_cmd_stdio_fd_accepts_valid(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_stdio_fd(cmd, MP_STDIN, 0));
  MP_ASSERT_OK(mp_cmd_stdio_fd(cmd, MP_STDOUT, 1));
  MP_ASSERT_OK(mp_cmd_stdio_fd(cmd, MP_STDERR, 2));
  /* Whether the descriptor is open is checked at spawn time. */
  MP_ASSERT_OK(mp_cmd_stdio_fd(cmd, MP_STDOUT, 999));
  mp_cmd_free(cmd);
}

static void test_cmd_stdio_fd_rejects_bad_input(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_stdio_fd(NULL, MP_STDOUT, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_fd(cmd, (mp_stream_t)3, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_fd(cmd, (mp_stream_t)-1, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_fd(cmd, MP_STDOUT, -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_stdio_fd(cmd, MP_STDOUT, -100), MP_EINVAL);
  mp_cmd_free(cmd);
}

/* ---- group and daemon ---- */

static void test_cmd_new_group_accepts_0_and_1(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_new_group(cmd, 1));
  MP_ASSERT_OK(mp_cmd_new_group(cmd, 0));
  mp_cmd_free(cmd);
}

static void test_cmd_new_group_rejects_bad_input(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_new_group(NULL, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_new_group(cmd, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_new_group(cmd, -1), MP_EINVAL);
  mp_cmd_free(cmd);
}

static void test_cmd_daemon_accepts_0_and_1(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_daemon(cmd, 1));
  MP_ASSERT_OK(mp_cmd_daemon(cmd, 0));
  mp_cmd_free(cmd);
}

static void test_cmd_daemon_rejects_bad_input(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_ERR(mp_cmd_daemon(NULL, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_daemon(cmd, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_cmd_daemon(cmd, -1), MP_EINVAL);
  mp_cmd_free(cmd);
}

/* The 0/1 switches added in 0.2: session, relative PATH entries, check. */
static void test_cmd_switches_accept_0_and_1_only(void **state) {
  (void)state;
  int (*const switches[])(mp_cmd_t *, int) = {mp_cmd_new_session,
                                              mp_cmd_allow_relative_path, mp_cmd_check};
  mp_cmd_t *cmd = new_cmd();
  for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++) {
    MP_ASSERT_OK(switches[i](cmd, 1));
    MP_ASSERT_OK(switches[i](cmd, 0));
    MP_ASSERT_ERR(switches[i](NULL, 1), MP_EINVAL);
    MP_ASSERT_ERR(switches[i](cmd, 2), MP_EINVAL);
    MP_ASSERT_ERR(switches[i](cmd, -1), MP_EINVAL);
  }
  mp_cmd_free(cmd);
}

/* ---- stop lists ---- */

static void test_cmd_stop_new_and_free(void **state) {
  (void)state;
  mp_stop_t *stop = NULL;
  MP_ASSERT_OK(mp_stop_new(&stop));
  assert_non_null(stop);
  mp_stop_free(stop);
  mp_stop_free(NULL);
  MP_ASSERT_ERR(mp_stop_new(NULL), MP_EINVAL);
}

static void test_cmd_stop_add_accepts_every_action(void **state) {
  (void)state;
  mp_stop_t *stop = NULL;
  MP_ASSERT_OK(mp_stop_new(&stop));
  MP_ASSERT_OK(mp_stop_add(stop, MP_STOP_WAIT, 0));
  MP_ASSERT_OK(mp_stop_add(stop, MP_STOP_TERMINATE, 100));
  MP_ASSERT_OK(mp_stop_add(stop, MP_STOP_INTERRUPT, 100));
  MP_ASSERT_OK(mp_stop_add(stop, MP_STOP_KILL, MP_FOREVER));
  mp_stop_free(stop);
}

static void test_cmd_stop_add_rejects_bad_input(void **state) {
  (void)state;
  mp_stop_t *stop = NULL;
  MP_ASSERT_OK(mp_stop_new(&stop));
  MP_ASSERT_ERR(mp_stop_add(NULL, MP_STOP_KILL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_stop_add(stop, (mp_stop_action_t)4, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_stop_add(stop, (mp_stop_action_t)-1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_stop_add(stop, MP_STOP_KILL, -2), MP_EINVAL);
  MP_ASSERT_ERR(mp_stop_add(stop, MP_STOP_KILL, INT64_MIN), MP_EINVAL);
  /* Rejected steps took no slot: 8 valid steps still fit. */
  for (int i = 0; i < 8; i++) MP_ASSERT_OK(mp_stop_add(stop, MP_STOP_WAIT, 1));
  mp_stop_free(stop);
}

static void test_cmd_stop_add_ninth_step_is_enospc(void **state) {
  (void)state;
  mp_stop_t *stop = NULL;
  MP_ASSERT_OK(mp_stop_new(&stop));
  for (int i = 0; i < 8; i++)
    MP_ASSERT_OK(mp_stop_add(stop, MP_STOP_TERMINATE, 10));
  MP_ASSERT_ERR(mp_stop_add(stop, MP_STOP_KILL, MP_FOREVER), MP_ENOSPC);
  MP_ASSERT_ERR(mp_stop_add(stop, MP_STOP_WAIT, 0), MP_ENOSPC);
  mp_stop_free(stop);
}

/* ---- the 0.3 names (mp_cmd_set_<option>, mp_cmd_add_arg) ---- */

/* Each 0.3 name takes what its deprecated twin took, refuses what it
 * refused, and names itself in the error message. */
static void expect_einval_naming(int rc, const char *fn) {
  MP_ASSERT_ERR(rc, MP_EINVAL);
  if (!strstr(mp_last_error(), fn)) fail_msg("'%s' does not name %s", mp_last_error(), fn);
}

static void test_cmd_set_names_accept_and_refuse_as_before(void **state) {
  (void)state;
  mp_cmd_t *cmd = new_cmd();
  MP_ASSERT_OK(mp_cmd_add_arg(cmd, "one"));
  MP_ASSERT_OK(mp_cmd_set_arg0(cmd, "zero"));
  MP_ASSERT_OK(mp_cmd_set_cwd(cmd, "/"));
  MP_ASSERT_OK(mp_cmd_set_stdio(cmd, MP_STDERR, MP_STDIO_STDOUT));
  MP_ASSERT_OK(mp_cmd_set_stdio_file(cmd, MP_STDOUT, "/dev/null", MP_FILE_APPEND));
  MP_ASSERT_OK(mp_cmd_set_stdio_fd(cmd, MP_STDIN, 0));
  int (*const switches[])(mp_cmd_t *, int) = {
      mp_cmd_set_new_group, mp_cmd_set_new_session, mp_cmd_set_allow_relative_path,
      mp_cmd_set_check, mp_cmd_set_daemon};
  const char *const names[] = {"mp_cmd_set_new_group", "mp_cmd_set_new_session",
                               "mp_cmd_set_allow_relative_path", "mp_cmd_set_check",
                               "mp_cmd_set_daemon"};
  for (size_t i = 0; i < sizeof switches / sizeof *switches; i++) {
    MP_ASSERT_OK(switches[i](cmd, 1));
    MP_ASSERT_OK(switches[i](cmd, 0));
    expect_einval_naming(switches[i](cmd, 2), names[i]);
    expect_einval_naming(switches[i](NULL, 1), names[i]);
  }
  expect_einval_naming(mp_cmd_add_arg(cmd, NULL), "mp_cmd_add_arg");
  expect_einval_naming(mp_cmd_set_arg0(NULL, "x"), "mp_cmd_set_arg0");
  expect_einval_naming(mp_cmd_set_cwd(cmd, ""), "mp_cmd_set_cwd");
  expect_einval_naming(mp_cmd_set_stdio(cmd, MP_STDIN, MP_STDIO_STDOUT), "mp_cmd_set_stdio");
  expect_einval_naming(mp_cmd_set_stdio_file(cmd, MP_STDOUT, "/tmp/x", 7),
                       "mp_cmd_set_stdio_file");
  expect_einval_naming(mp_cmd_set_stdio_fd(cmd, MP_STDIN, -1), "mp_cmd_set_stdio_fd");
  /* The deprecated names still work and name themselves. */
  MP_ASSERT_OK(mp_cmd_daemon(cmd, 1));
  expect_einval_naming(mp_cmd_daemon(cmd, 2), "mp_cmd_daemon");
  mp_cmd_free(cmd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cmd_new_accepts_path_and_name),
      cmocka_unit_test(test_cmd_new_rejects_null_and_empty),
      cmocka_unit_test(test_cmd_free_null_is_noop),
      cmocka_unit_test(test_cmd_arg_appends),
      cmocka_unit_test(test_cmd_arg_rejects_null),
      cmocka_unit_test(test_cmd_arg0_sets),
      cmocka_unit_test(test_cmd_arg0_rejects_null),
      cmocka_unit_test(test_cmd_env_set_accepts_valid),
      cmocka_unit_test(test_cmd_env_set_rejects_bad_input),
      cmocka_unit_test(test_cmd_env_unset_accepts_valid),
      cmocka_unit_test(test_cmd_env_unset_rejects_bad_input),
      cmocka_unit_test(test_cmd_env_clear),
      cmocka_unit_test(test_cmd_cwd_accepts_dir),
      cmocka_unit_test(test_cmd_cwd_rejects_null_and_empty),
      cmocka_unit_test(test_cmd_stdio_accepts_every_valid_pair),
      cmocka_unit_test(test_cmd_stdio_rejects_bad_input),
      cmocka_unit_test(test_cmd_stdio_stdout_mode_only_for_stderr),
      cmocka_unit_test(test_cmd_stdio_file_accepts_valid),
      cmocka_unit_test(test_cmd_stdio_file_rejects_bad_input),
      cmocka_unit_test(test_cmd_stdio_fd_accepts_valid),
      cmocka_unit_test(test_cmd_stdio_fd_rejects_bad_input),
      cmocka_unit_test(test_cmd_new_group_accepts_0_and_1),
      cmocka_unit_test(test_cmd_new_group_rejects_bad_input),
      cmocka_unit_test(test_cmd_daemon_accepts_0_and_1),
      cmocka_unit_test(test_cmd_daemon_rejects_bad_input),
      cmocka_unit_test(test_cmd_switches_accept_0_and_1_only),
      cmocka_unit_test(test_cmd_set_names_accept_and_refuse_as_before),
      cmocka_unit_test(test_cmd_stop_new_and_free),
      cmocka_unit_test(test_cmd_stop_add_accepts_every_action),
      cmocka_unit_test(test_cmd_stop_add_rejects_bad_input),
      cmocka_unit_test(test_cmd_stop_add_ninth_step_is_enospc),
  };
  return MP_RUN_TESTS(tests);
}
