/* Spawning commands with real processes: exit codes, arguments,
 * environment, working directory, exec failures, stdio, descriptor hygiene,
 * reaping, join/exitcode/pid/is_alive states and argument checks. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#define LONG_MS 30000 /* generous bound for anything that should be quick */

static int trivial_target(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  return 0;
}

/* Spawn cmd (stdout piped), collect stdout until the child ends, return its
 * exit code. *out is NUL-terminated; free it with mp_free(). */
static int run_capture(mp_cmd_t *cmd, char **out, size_t *out_len) {
  mp_process_t *p = NULL;
  void *buf = NULL;
  size_t len = 0;
  int code = -1000;
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  assert_non_null(p);
  MP_ASSERT_OK(mp_process_communicate(&buf, &len, NULL, NULL, p, NULL, 0,
                                      LONG_MS));
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  assert_non_null(buf);
  *out = buf;
  if (out_len) *out_len = len;
  return code;
}

/* Run cmd, expect exit 0 and stdout equal to expect. Frees cmd. */
static void expect_output(mp_cmd_t *cmd, const char *expect) {
  char *out = NULL;
  int code = run_capture(cmd, &out, NULL);
  mp_cmd_free(cmd);
  assert_int_equal(code, 0);
  assert_string_equal(out, expect);
  mp_free(out);
}

/* expect_output for the "fds" helper: the descriptors listed in expect,
 * and under the portable backend also every descriptor this process holds
 * without close-on-exec (libuv's uv_spawn closes none; the test's own
 * runner may leave some open), in ascending order as /proc lists them. */
static void expect_fds(mp_cmd_t *cmd, const char *expect) {
  if (!mp_test_portable()) {
    expect_output(cmd, expect);
    return;
  }
  enum { kMax = 1024 };
  static char open_in_child[kMax];
  memset(open_in_child, 0, sizeof open_in_child);
  for (const char *p = expect; *p;) {
    char *end;
    long fd = strtol(p, &end, 10);
    assert_true(end != p && fd >= 0 && fd < kMax);
    open_in_child[fd] = 1;
    p = *end ? end + 1 : end;
  }
  for (int fd = 3; fd < kMax; ++fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) open_in_child[fd] = 1;
  }
  char want[8 * kMax] = "";
  size_t len = 0;
  for (int fd = 0; fd < kMax; ++fd)
    if (open_in_child[fd]) len += (size_t)snprintf(want + len, sizeof want - len, "%d\n", fd);
  expect_output(cmd, want);
}

/* Spawn cmd, join it forever, return the exit code. Frees cmd. */
static int run_exitcode(mp_cmd_t *cmd) {
  mp_process_t *p = NULL;
  int code = -1000;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  MP_ASSERT_OK(mp_process_join(p, MP_FOREVER));
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  return code;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  assert_true(fd >= 0);
  size_t len = strlen(text);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  assert_int_equal(chmod(path, mode), 0);
}

/* A fresh temporary directory; remove it with remove_tmpdir(). */
static void make_tmpdir(char *dir, size_t cap) {
  snprintf(dir, cap, "/tmp/mp-test-spawn-XXXXXX");
  assert_non_null(mkdtemp(dir));
}

static void remove_tmpdir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[4096];
  if (!d) return;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (unlink(path) != 0) rmdir(path);
  }
  closedir(d);
  rmdir(dir);
}

/* The first NUL-terminated string of /proc/PID/cmdline. */
static void proc_arg0(int pid, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  buf[0] = '\0';
  /* The child may still be between clone and exec for a moment. */
  for (int i = 0; i < 100; i++) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (n > 0) return;
    sleep_ms(20);
  }
}

/* ---- exit codes ---- */

static void test_spawn_exit_code_zero(void **state) {
  (void)state;
  assert_int_equal(run_exitcode(helper_cmd("exit", "0", NULL)), 0);
}

static void test_spawn_exit_code_three(void **state) {
  (void)state;
  assert_int_equal(run_exitcode(helper_cmd("exit", "3", NULL)), 3);
}

static void test_spawn_exit_code_255(void **state) {
  (void)state;
  assert_int_equal(run_exitcode(helper_cmd("exit", "255", NULL)), 255);
}

static void test_spawn_killed_by_signal_exitcode_is_negative(void **state) {
  (void)state;
  assert_int_equal(run_exitcode(helper_cmd("signal-self", "9", NULL)), -9);
  assert_int_equal(run_exitcode(helper_cmd("signal-self", "15", NULL)),
                   -SIGTERM);
}

/* ---- arguments ---- */

static void test_spawn_arguments_reach_child(void **state) {
  (void)state;
  expect_output(helper_cmd("echo", "hello", "two words", "'q'", NULL),
                "hello two words 'q'\n");
}

static void test_spawn_empty_argument_reaches_child(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "-c"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "echo \"$#:[$1]\""));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, ""));
  expect_output(cmd, "1:[]\n");
}

static void test_spawn_arg0_reaches_child(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  MP_ASSERT_OK(mp_cmd_arg0(cmd, "my-custom-arg0"));
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  char arg0[256];
  proc_arg0(mp_process_pid(p), arg0, sizeof arg0);
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  mp_process_free(p);
  assert_string_equal(arg0, "my-custom-arg0");
}

static void test_spawn_default_arg0_is_program(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  char arg0[4096];
  proc_arg0(mp_process_pid(p), arg0, sizeof arg0);
  assert_string_equal(mp_process_name(p), test_helper_path());
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  mp_process_free(p);
  assert_string_equal(arg0, test_helper_path());
}

static void test_spawn_program_found_in_path(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "-c"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "echo found"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "PATH", "/usr/bin:/bin"));
  expect_output(cmd, "found\n");
}

/* ---- environment ---- */

static void test_spawn_env_set_reaches_child(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("env", "MP_TEST_SET_VAR", NULL);
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "MP_TEST_SET_VAR", "first"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "MP_TEST_SET_VAR", "hello world"));
  expect_output(cmd, "hello world\n");
}

static void test_spawn_env_set_overrides_inherited(void **state) {
  (void)state;
  assert_int_equal(setenv("MP_TEST_OVERRIDE", "parent", 1), 0);
  mp_cmd_t *cmd = helper_cmd("env", "MP_TEST_OVERRIDE", NULL);
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "MP_TEST_OVERRIDE", "child"));
  expect_output(cmd, "child\n");
  unsetenv("MP_TEST_OVERRIDE");
}

static void test_spawn_env_unset_removes_inherited(void **state) {
  (void)state;
  assert_int_equal(setenv("MP_TEST_UNSET_VAR", "present", 1), 0);
  mp_cmd_t *cmd = helper_cmd("env", "MP_TEST_UNSET_VAR", NULL);
  MP_ASSERT_OK(mp_cmd_env_unset(cmd, "MP_TEST_UNSET_VAR"));
  expect_output(cmd, "(unset)\n");
  unsetenv("MP_TEST_UNSET_VAR");
}

static void test_spawn_env_unset_after_set_wins(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("env", "MP_TEST_SET_THEN_UNSET", NULL);
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "MP_TEST_SET_THEN_UNSET", "x"));
  MP_ASSERT_OK(mp_cmd_env_unset(cmd, "MP_TEST_SET_THEN_UNSET"));
  expect_output(cmd, "(unset)\n");
}

static void test_spawn_env_clear_starts_empty(void **state) {
  (void)state;
  assert_int_equal(setenv("MP_TEST_CLEARED", "parent", 1), 0);
  mp_cmd_t *cmd = helper_cmd("env", "MP_TEST_CLEARED", NULL);
  MP_ASSERT_OK(mp_cmd_env_clear(cmd));
  expect_output(cmd, "(unset)\n");

  cmd = helper_cmd("env", "PATH", NULL);
  MP_ASSERT_OK(mp_cmd_env_clear(cmd));
  expect_output(cmd, "(unset)\n");

  /* Only what is set after the clear is there. */
  cmd = helper_cmd("env", "MP_TEST_AFTER_CLEAR", NULL);
  MP_ASSERT_OK(mp_cmd_env_clear(cmd));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "MP_TEST_AFTER_CLEAR", "yes"));
  expect_output(cmd, "yes\n");
  unsetenv("MP_TEST_CLEARED");
}

static void test_spawn_env_clear_forgets_earlier_set(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("env", "MP_TEST_FORGOTTEN", NULL);
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "MP_TEST_FORGOTTEN", "x"));
  MP_ASSERT_OK(mp_cmd_env_clear(cmd));
  expect_output(cmd, "(unset)\n");
}

static void test_spawn_env_inherited_at_spawn_time(void **state) {
  (void)state;
  unsetenv("MP_TEST_INHERIT");
  mp_cmd_t *cmd = helper_cmd("env", "MP_TEST_INHERIT", NULL);
  /* Set after the command was made: the environment at spawn time counts. */
  assert_int_equal(setenv("MP_TEST_INHERIT", "from parent", 1), 0);
  expect_output(cmd, "from parent\n");
  unsetenv("MP_TEST_INHERIT");
}

/* ---- working directory ---- */

static void test_spawn_cwd_is_used(void **state) {
  (void)state;
  char dir[64], real[4096], expect[4200];
  make_tmpdir(dir, sizeof dir);
  assert_non_null(realpath(dir, real));
  mp_cmd_t *cmd = helper_cmd("pwd", NULL);
  MP_ASSERT_OK(mp_cmd_cwd(cmd, real));
  snprintf(expect, sizeof expect, "%s\n", real);
  expect_output(cmd, expect);
  remove_tmpdir(dir);
}

/* The 0.3 names configure the child as the deprecated ones did: arguments,
 * argv[0]-independent output, working directory, stderr into stdout, and
 * check making mp_run report a failing exit. */
static void test_spawn_set_names_configure_the_child(void **state) {
  (void)state;
  char dir[64], real[4096], expect[4200];
  make_tmpdir(dir, sizeof dir);
  assert_non_null(realpath(dir, real));
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, test_helper_path()));
  MP_ASSERT_OK(mp_cmd_add_arg(cmd, "pwd"));
  MP_ASSERT_OK(mp_cmd_set_cwd(cmd, real));
  MP_ASSERT_OK(mp_cmd_set_stdio(cmd, MP_STDERR, MP_STDIO_STDOUT));
  snprintf(expect, sizeof expect, "%s\n", real);
  expect_output(cmd, expect);
  remove_tmpdir(dir);

  cmd = helper_cmd("exit", "3", NULL);
  MP_ASSERT_OK(mp_cmd_set_check(cmd, 1));
  int code = -1;
  MP_ASSERT_ERR(mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, LONG_MS),
                MP_ECALLEDPROCESS);
  assert_int_equal(code, 3);
  mp_cmd_free(cmd);
}

static void test_spawn_cwd_default_is_parents(void **state) {
  (void)state;
  char cwd[4096], expect[4200];
  assert_non_null(getcwd(cwd, sizeof cwd));
  snprintf(expect, sizeof expect, "%s\n", cwd);
  expect_output(helper_cmd("pwd", NULL), expect);
}

static void test_spawn_missing_cwd_is_enoent(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("pwd", NULL);
  MP_ASSERT_OK(mp_cmd_cwd(cmd, "/no/such/directory/for/mp"));
  mp_process_t *p = (mp_process_t *)0x1;
  MP_ASSERT_ERR(mp_process_spawn(&p, cmd), MP_ENOENT);
  assert_null(p);
  mp_cmd_free(cmd);
}

/* ---- exec failures come back from spawn ---- */

static void expect_spawn_error(mp_cmd_t *cmd, int code) {
  mp_process_t *p = (mp_process_t *)0x1;
  MP_ASSERT_ERR(mp_process_spawn(&p, cmd), code);
  assert_null(p);
  mp_cmd_free(cmd);
}

/* This process's descriptor count once the library has released what
 * ended children held. A joined child's exit watch is closed by the
 * library shortly after join returns: a spawn that fails at exec goes
 * through the library's spawning path after that, and the count must then
 * stay put. */
static int stable_fd_count(void) {
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/no/such/program/mp-test-barrier"));
  expect_spawn_error(cmd, MP_ENOENT);
  int n = count_open_fds(), same = 0;
  int64_t end = now_ms() + 3000;
  while (same < 5 && now_ms() < end) {
    sleep_ms(20);
    int m = count_open_fds();
    same = m == n ? same + 1 : 0;
    n = m;
  }
  return n;
}

static void test_spawn_missing_program_is_enoent(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/no/such/program/mp-test"));
  expect_spawn_error(cmd, MP_ENOENT);
  assert_non_null(strstr(mp_last_error(), "/no/such/program/mp-test"));
}

static void test_spawn_missing_program_in_path_is_enoent(void **state) {
  (void)state;
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "mp-no-such-program-4711"));
  expect_spawn_error(cmd, MP_ENOENT);
}

static void test_spawn_non_executable_file_is_eacces(void **state) {
  (void)state;
  char dir[64], path[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/not-exec", dir);
  write_file(path, "#!/bin/sh\necho hi\n", 0644);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, path));
  expect_spawn_error(cmd, MP_EACCES);
  remove_tmpdir(dir);
}

/* An executable file that is neither a binary nor a "#!" script: execve
 * fails with ENOEXEC (MP_EACCES) under the Linux backend, as in Python;
 * libuv's uv_spawn calls execvp, which runs such a file with /bin/sh, so
 * under the portable backend it runs (docs/guide.md, "Platforms"). */
static void test_spawn_file_without_interpreter(void **state) {
  (void)state;
  char dir[64], path[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/no-shebang", dir);
  write_file(path, "exit 3\n", 0755);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, path));
  if (mp_test_portable())
    assert_int_equal(run_exitcode(cmd), 3);
  else
    expect_spawn_error(cmd, MP_EACCES);
  remove_tmpdir(dir);
}

static void test_spawn_non_executable_file_in_path_is_eacces(void **state) {
  (void)state;
  char dir[64], path[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/mp-not-exec-4711", dir);
  write_file(path, "#!/bin/sh\necho hi\n", 0644);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "mp-not-exec-4711"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "PATH", dir));
  expect_spawn_error(cmd, MP_EACCES);
  remove_tmpdir(dir);
}

static void test_spawn_directory_as_program_is_eacces(void **state) {
  (void)state;
  char dir[64];
  make_tmpdir(dir, sizeof dir);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, dir));
  expect_spawn_error(cmd, MP_EACCES);
  remove_tmpdir(dir);
}

static void test_spawn_failure_leaves_no_child(void **state) {
  (void)state;
  assert_int_equal(run_exitcode(helper_cmd("exit", "0", NULL)), 0);
  int before = stable_fd_count();
  for (int i = 0; i < 20; i++) {
    mp_cmd_t *cmd = NULL;
    MP_ASSERT_OK(mp_cmd_new(&cmd, "/no/such/program/mp-test"));
    MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
    expect_spawn_error(cmd, MP_ENOENT);
  }
  assert_int_equal(count_zombie_children(), 0);
  ASSERT_NO_FD_LEAK(before);
}


/* ---- PATH lookup and the child's directory (issue 20, defect 2) ---- */

/* An executable script at dir/name printing text. */
static void write_script(const char *dir, const char *name, const char *text) {
  char path[256], body[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  snprintf(body, sizeof body, "#!/bin/sh\necho %s\n", text);
  write_file(path, body, 0755);
}

/* Run cmd with stdout piped; expect spawn to fail with code and a message
 * containing needle. Frees cmd. */
static void expect_spawn_error_saying(mp_cmd_t *cmd, int code, const char *needle) {
  expect_spawn_error(cmd, code);
  if (!strstr(mp_last_error(), needle))
    fail_msg("message %s does not contain %s", mp_last_error(), needle);
}

static char g_saved_cwd[4096];

static void enter_dir(const char *dir) {
  assert_non_null(getcwd(g_saved_cwd, sizeof g_saved_cwd));
  assert_int_equal(chdir(dir), 0);
}

static void leave_dir(void) { assert_int_equal(chdir(g_saved_cwd), 0); }

/* Go's TestLookPath / ErrDot: a program in the current directory is not run
 * through PATH=".", PATH="" entries or "../dir", however it is spelled. */
static void test_spawn_relative_path_entries_are_refused(void **state) {
  (void)state;
  char dir[64], sub[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(sub, sizeof sub, "%s/sub", dir);
  assert_int_equal(mkdir(sub, 0755), 0);
  write_script(dir, "mp-dot-prog", "dot");
  enter_dir(dir);
  const char *paths[] = {".", ":", "/nonexistent-mp:", "sub/..", "./"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    mp_cmd_t *cmd = NULL;
    MP_ASSERT_OK(mp_cmd_new(&cmd, "mp-dot-prog"));
    MP_ASSERT_OK(mp_cmd_env_set(cmd, "PATH", paths[i]));
    MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_NULL));
    expect_spawn_error_saying(cmd, MP_EACCES, "relative to the current directory");
  }
  leave_dir();
  /* "../dir" from the directory the child runs in. */
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "mp-dot-prog"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "PATH", ".."));
  MP_ASSERT_OK(mp_cmd_cwd(cmd, sub));
  expect_spawn_error_saying(cmd, MP_EACCES, "relative to the current directory");
  remove_tmpdir(sub);
  remove_tmpdir(dir);
}

/* A relative entry is skipped, not fatal: a later absolute one is used. */
static void test_spawn_relative_path_entry_is_skipped_for_absolute(void **state) {
  (void)state;
  char dir[64], other[64];
  make_tmpdir(dir, sizeof dir);
  make_tmpdir(other, sizeof other);
  write_script(dir, "mp-dot-prog", "dot");
  write_script(other, "mp-dot-prog", "absolute");
  char path[128];
  snprintf(path, sizeof path, ".:%s", other);
  enter_dir(dir);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "mp-dot-prog"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "PATH", path));
  expect_output(cmd, "absolute\n");
  leave_dir();
  remove_tmpdir(dir);
  remove_tmpdir(other);
}

/* Opted in, relative entries are searched in the directory the child runs
 * in (mp_cmd_cwd), not the parent's. */
static void test_spawn_allow_relative_path_resolves_in_child_cwd(void **state) {
  (void)state;
  char dir[64], sub[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(sub, sizeof sub, "%s/sub", dir);
  assert_int_equal(mkdir(sub, 0755), 0);
  write_script(sub, "mp-dot-prog", "in-sub");
  enter_dir(dir);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "mp-dot-prog"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "PATH", "."));
  MP_ASSERT_OK(mp_cmd_cwd(cmd, "sub"));
  MP_ASSERT_OK(mp_cmd_allow_relative_path(cmd, 1));
  expect_output(cmd, "in-sub\n");
  /* Only in the parent's directory: not found for the child. */
  remove_tmpdir(sub);
  assert_int_equal(mkdir(sub, 0755), 0);
  write_script(dir, "mp-dot-prog", "in-parent-dir");
  MP_ASSERT_OK(mp_cmd_new(&cmd, "mp-dot-prog"));
  MP_ASSERT_OK(mp_cmd_env_set(cmd, "PATH", "."));
  MP_ASSERT_OK(mp_cmd_cwd(cmd, "sub"));
  MP_ASSERT_OK(mp_cmd_allow_relative_path(cmd, 1));
  expect_spawn_error(cmd, MP_ENOENT);
  leave_dir();
  remove_tmpdir(sub);
  remove_tmpdir(dir);
}

/* CPython test_cwd_with_relative_arg and test_executable_with_cwd: a
 * relative program with '/' is found relative to cwd, whatever argv[0]. */
static void test_spawn_cwd_with_relative_arg(void **state) {
  (void)state;
  char dir[64];
  make_tmpdir(dir, sizeof dir);
  write_script(dir, "mp-rel-prog", "relative");
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "./mp-rel-prog"));
  expect_spawn_error(cmd, MP_ENOENT); /* not in the parent's directory */
  MP_ASSERT_OK(mp_cmd_new(&cmd, "./mp-rel-prog"));
  MP_ASSERT_OK(mp_cmd_cwd(cmd, dir));
  expect_output(cmd, "relative\n");
  MP_ASSERT_OK(mp_cmd_new(&cmd, "./mp-rel-prog"));
  MP_ASSERT_OK(mp_cmd_arg0(cmd, "somethingyoudonthave"));
  MP_ASSERT_OK(mp_cmd_cwd(cmd, dir));
  expect_output(cmd, "relative\n");
  remove_tmpdir(dir);
}

/* CPython test_file_not_found_with_bad_cwd: a missing cwd is the error,
 * named, even when the program is missing too. */
static void test_spawn_file_not_found_with_bad_cwd(void **state) {
  (void)state;
  const char *progs[] = {"mp-no-such-program-4711", "/no/such/prog", "./exit"};
  for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
    mp_cmd_t *cmd = NULL;
    MP_ASSERT_OK(mp_cmd_new(&cmd, progs[i]));
    MP_ASSERT_OK(mp_cmd_cwd(cmd, "/some/nonexistent/directory"));
    expect_spawn_error_saying(cmd, MP_ENOENT, "/some/nonexistent/directory");
  }
}

/* ---- sessions and groups (issue 20, defect 6) ---- */

static void child_ids(mp_cmd_t *cmd, int *pid, int *pgid, int *sid) {
  char *out = NULL;
  assert_int_equal(run_capture(cmd, &out, NULL), 0);
  mp_cmd_free(cmd);
  assert_int_equal(sscanf(out, "%d %d %d", pid, pgid, sid), 3);
  mp_free(out);
}

/* Python's start_new_session=True (setsid) and process_group=0 (setpgid). */
static void test_spawn_new_session_and_new_group(void **state) {
  (void)state;
  int pid, pgid, sid;
  mp_cmd_t *cmd = helper_cmd("ids", NULL);
  MP_ASSERT_OK(mp_cmd_new_session(cmd, 1));
  child_ids(cmd, &pid, &pgid, &sid);
  assert_int_equal(sid, pid);
  assert_int_equal(pgid, pid);

  cmd = helper_cmd("ids", NULL);
  MP_ASSERT_OK(mp_cmd_new_group(cmd, 1));
  if (mp_test_portable()) {
    /* libuv's uv_spawn has no setpgid: refused, nothing started. */
    mp_process_t *p = NULL;
    MP_ASSERT_ERR(mp_process_spawn(&p, cmd), MP_ENOTSUP);
    assert_null(p);
    assert_non_null(strstr(mp_last_error(), "mp_cmd_set_new_session"));
    mp_cmd_free(cmd);
  } else {
    child_ids(cmd, &pid, &pgid, &sid);
    assert_int_equal(pgid, pid);
    assert_int_equal(sid, (int)getsid(0));
  }

  /* Both: the session leader leads its group. */
  cmd = helper_cmd("ids", NULL);
  MP_ASSERT_OK(mp_cmd_new_group(cmd, 1));
  MP_ASSERT_OK(mp_cmd_new_session(cmd, 1));
  child_ids(cmd, &pid, &pgid, &sid);
  assert_int_equal(sid, pid);
  assert_int_equal(pgid, pid);
}

/* A child in a new session can be signalled as a group. */
static void test_spawn_new_session_signals_group(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  MP_ASSERT_OK(mp_cmd_new_session(cmd, 1));
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  MP_ASSERT_OK(mp_process_signal(p, SIGKILL, MP_SIGNAL_GROUP));
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  int code = 0;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, -SIGKILL);
  mp_process_free(p);
}

/* ---- stdio ---- */

static void test_spawn_stdio_null(void **state) {
  (void)state;
  /* stdin from /dev/null: cat ends at once with nothing to copy. */
  mp_cmd_t *cmd = helper_cmd("cat", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDIN, MP_STDIO_NULL));
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDERR, MP_STDIO_NULL));
  expect_output(cmd, "");
  /* stdout and stderr to /dev/null: the child runs normally. */
  cmd = helper_cmd("both", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_NULL));
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDERR, MP_STDIO_NULL));
  assert_int_equal(run_exitcode(cmd), 0);
}

static void test_spawn_stdout_to_file_truncates(void **state) {
  (void)state;
  char dir[64], path[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/out.txt", dir);
  write_file(path, "old content that is longer than the new one\n", 0644);
  mp_cmd_t *cmd = helper_cmd("echo", "new", NULL);
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDOUT, path, MP_FILE_TRUNCATE));
  assert_int_equal(run_exitcode(cmd), 0);
  assert_string_equal(read_file(path), "new\n");
  remove_tmpdir(dir);
}

static void test_spawn_stdout_to_new_file_is_created(void **state) {
  (void)state;
  char dir[64], path[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/created.txt", dir);
  mp_cmd_t *cmd = helper_cmd("echo", "created", NULL);
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDOUT, path, MP_FILE_TRUNCATE));
  assert_int_equal(run_exitcode(cmd), 0);
  assert_string_equal(read_file(path), "created\n");
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  mode_t mask = umask(0);
  umask(mask);
  assert_int_equal(st.st_mode & 0777, 0644 & ~mask);
  remove_tmpdir(dir);
}

static void test_spawn_stdout_to_file_appends(void **state) {
  (void)state;
  char dir[64], path[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/log.txt", dir);
  write_file(path, "first\n", 0644);
  mp_cmd_t *cmd = helper_cmd("echo", "second", NULL);
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDOUT, path, MP_FILE_APPEND));
  assert_int_equal(run_exitcode(cmd), 0);
  cmd = helper_cmd("stderr", "third", NULL);
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDERR, path, MP_FILE_APPEND));
  assert_int_equal(run_exitcode(cmd), 0);
  assert_string_equal(read_file(path), "first\nsecond\nthird\n");
  remove_tmpdir(dir);
}

static void test_spawn_stdin_from_file(void **state) {
  (void)state;
  char dir[64], path[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/in.txt", dir);
  write_file(path, "line one\nline two\n", 0644);
  mp_cmd_t *cmd = helper_cmd("cat", NULL);
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDIN, path, MP_FILE_TRUNCATE));
  expect_output(cmd, "line one\nline two\n");
  /* Reading did not truncate the file. */
  assert_string_equal(read_file(path), "line one\nline two\n");
  remove_tmpdir(dir);
}

static void test_spawn_stdio_file_unopenable_fails_spawn(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("echo", "x", NULL);
  MP_ASSERT_OK(mp_cmd_stdio_file(cmd, MP_STDOUT, "/no/such/dir/out.txt",
                                 MP_FILE_TRUNCATE));
  mp_process_t *p = (mp_process_t *)0x1;
  int r = mp_process_spawn(&p, cmd);
  assert_true(r < 0);
  assert_null(p);
  assert_true(mp_last_error()[0] != '\0');
  mp_cmd_free(cmd);
}

static void test_spawn_stdout_to_existing_fd(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  mp_cmd_t *cmd = helper_cmd("echo", "through my pipe", NULL);
  MP_ASSERT_OK(mp_cmd_stdio_fd(cmd, MP_STDOUT, fds[1]));
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  close(fds[1]); /* borrowed only until spawn returned */
  char buf[256];
  size_t got = 0;
  ssize_t n;
  while ((n = read(fds[0], buf + got, sizeof buf - 1 - got)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    assert_true(n > 0);
    got += (size_t)n;
  }
  buf[got] = '\0';
  close(fds[0]);
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  mp_process_free(p);
  assert_string_equal(buf, "through my pipe\n");
}

static void test_spawn_stdio_fd_not_open_is_einval(void **state) {
  (void)state;
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  close(fd); /* now certainly not open */
  mp_cmd_t *cmd = helper_cmd("echo", "x", NULL);
  MP_ASSERT_OK(mp_cmd_stdio_fd(cmd, MP_STDOUT, fd));
  expect_spawn_error(cmd, MP_EINVAL);
}

static void test_spawn_stderr_merged_into_stdout(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("both", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDERR, MP_STDIO_STDOUT));
  char *out = NULL;
  int code = run_capture(cmd, &out, NULL);
  mp_cmd_free(cmd);
  assert_int_equal(code, 0);
  assert_non_null(strstr(out, "out\n"));
  assert_non_null(strstr(out, "err\n"));
  assert_int_equal(strlen(out), 8);
  mp_free(out);
}

/* ---- descriptor hygiene ---- */

/* The Linux backend closes every other descriptor in the child; the
 * portable backend (libuv's uv_spawn closes none) only the close-on-exec
 * ones, which is every descriptor the library opens (docs/guide.md,
 * "Platforms"). */
static void test_spawn_child_gets_only_stdio_descriptors(void **state) {
  (void)state;
  int extra[50];
  int flags = mp_test_portable() ? O_CLOEXEC : 0; /* Linux: deliberately not */
  for (int i = 0; i < 50; i++) {
    extra[i] = open("/dev/null", O_RDONLY | flags);
    assert_true(extra[i] >= 0);
  }
  expect_fds(helper_cmd("fds", NULL), "0\n1\n2\n");
  /* Also with every stream redirected. */
  mp_cmd_t *cmd = helper_cmd("fds", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDIN, MP_STDIO_PIPE));
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDERR, MP_STDIO_NULL));
  expect_fds(cmd, "0\n1\n2\n");
  for (int i = 0; i < 50; i++) close(extra[i]);
}

static void wait_for_fd_count(int expect, int64_t timeout_ms) {
  int64_t end = now_ms() + timeout_ms;
  while (count_open_fds() != expect && now_ms() < end) sleep_ms(10);
}

/* mp_cmd_pass_fd_at: the descriptors land at the numbers asked for, the gap
 * between them is closed (the parent's descriptor 4 is not inherited; under
 * the portable backend only when it is close-on-exec: expect_fds), and a
 * handle passed by name comes after the highest one. */
static void test_spawn_pass_fd_at_numbers(void **state) {
  (void)state;
  int extra[8];
  for (int i = 0; i < 8; i++) {
    extra[i] = open("/dev/null", O_RDONLY); /* not O_CLOEXEC: 4 is among them */
    assert_true(extra[i] >= 0);
  }
  mp_cmd_t *cmd = helper_cmd("fds", NULL);
  MP_ASSERT_OK(mp_cmd_pass_fd_at(cmd, extra[0], 5));
  MP_ASSERT_OK(mp_cmd_pass_fd_at(cmd, extra[1], 3));
  MP_ASSERT_OK(mp_cmd_pass_fd(cmd, "named", extra[2]));
  expect_fds(cmd, "0\n1\n2\n3\n5\n6\n");
  for (int i = 0; i < 8; i++) close(extra[i]);
}

/* The child's descriptor is the parent's file, open without close-on-exec
 * in the child although the parent's has the flag. */
static void test_spawn_pass_fd_at_reaches_child(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "-c"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "echo through seven >&7"));
  MP_ASSERT_OK(mp_cmd_pass_fd_at(cmd, fds[1], 9)); /* replaced below */
  MP_ASSERT_OK(mp_cmd_pass_fd_at(cmd, fds[1], 7));
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  close(fds[1]);
  char buf[64];
  size_t got = 0;
  ssize_t n;
  while ((n = read(fds[0], buf + got, sizeof buf - 1 - got)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    assert_true(n > 0);
    got += (size_t)n;
  }
  buf[got] = '\0';
  close(fds[0]);
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  int code = -1;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  assert_int_equal(code, 0);
  assert_string_equal(buf, "through seven\n");
}

static void test_spawn_pass_fd_at_not_open_is_einval(void **state) {
  (void)state;
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  close(fd);
  mp_cmd_t *cmd = helper_cmd("echo", "x", NULL);
  MP_ASSERT_OK(mp_cmd_pass_fd_at(cmd, fd, 3));
  expect_spawn_error(cmd, MP_EINVAL);
}

static void test_spawn_descriptor_count_returns_to_start(void **state) {
  (void)state;
  /* Warm up: the runtime opens its own descriptors once. */
  assert_int_equal(run_exitcode(helper_cmd("exit", "0", NULL)), 0);
  int before = stable_fd_count();
  assert_true(before > 0);

  for (int i = 0; i < 40; i++) {
    mp_cmd_t *cmd = helper_cmd("cat", NULL);
    MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDIN, MP_STDIO_PIPE));
    MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
    MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDERR, MP_STDIO_PIPE));
    mp_process_t *p = NULL;
    MP_ASSERT_OK(mp_process_spawn(&p, cmd));
    mp_cmd_free(cmd);
    MP_ASSERT_OK(mp_process_close_stdin(p));
    MP_ASSERT_OK(mp_process_join(p, LONG_MS));
    mp_process_free(p);
  }
  /* Handles freed while the child still runs: released once it ends. */
  for (int i = 0; i < 10; i++) {
    mp_cmd_t *cmd = helper_cmd("sleep", "100", NULL);
    MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
    mp_process_t *p = NULL;
    MP_ASSERT_OK(mp_process_spawn(&p, cmd));
    mp_cmd_free(cmd);
    mp_process_free(p);
  }
  wait_for_fd_count(before, 10000);
  ASSERT_NO_FD_LEAK(before);
}

/* ---- reaping ---- */

static void test_spawn_unjoined_children_leave_no_zombies(void **state) {
  (void)state;
  enum { N = 200 };
  int pids[N];
  for (int i = 0; i < N; i++) {
    mp_cmd_t *cmd = helper_cmd("exit", "0", NULL);
    mp_process_t *p = NULL;
    MP_ASSERT_OK(mp_process_spawn(&p, cmd));
    mp_cmd_free(cmd);
    pids[i] = mp_process_pid(p);
    assert_true(pids[i] > 0);
    mp_process_free(p); /* never joined */
  }
  /* Every child has ended (gone or zombie)... */
  int64_t end = now_ms() + 20000;
  for (int i = 0; i < N; i++)
    while (pid_running(pids[i]) && now_ms() < end) sleep_ms(10);
  for (int i = 0; i < N; i++) assert_false(pid_running(pids[i]));
  /* ...and the library reaps them all. */
  end = now_ms() + 10000;
  while (count_zombie_children() != 0 && now_ms() < end) sleep_ms(20);
  assert_int_equal(count_zombie_children(), 0);
}

/* ---- join, exitcode, pid, is_alive ---- */

static void test_spawn_join_timeout_zero_on_running_child(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "1500", NULL);
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  MP_ASSERT_ERR(mp_process_join(p, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_process_join(p, MP_FOREVER));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  /* Joining an ended child again returns at once. */
  MP_ASSERT_OK(mp_process_join(p, 0));
  MP_ASSERT_OK(mp_process_join(p, MP_FOREVER));
  mp_process_free(p);
}

static void test_spawn_join_short_timeout_times_out(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_process_join(p, 100), MP_ETIMEDOUT);
  assert_true(now_ms() - t0 >= 90);
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  mp_process_free(p);
}

static void test_spawn_unstarted_process_is_estate(void **state) {
  (void)state;
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, "spawn-trivial", NULL, 0));
  assert_non_null(p);
  int code = 12345;
  MP_ASSERT_ERR(mp_process_join(p, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_join(p, MP_FOREVER), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_exitcode(&code, p), MP_ESTATE);
  assert_int_equal(code, 12345);
  MP_ASSERT_ERR(mp_process_pid(p), MP_ESTATE);
  assert_int_equal(mp_process_is_alive(p), 0);
  mp_process_free(p);
}

static void test_spawn_exitcode_while_running_is_estate(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  int code = 12345;
  MP_ASSERT_ERR(mp_process_exitcode(&code, p), MP_ESTATE);
  assert_int_equal(code, 12345);
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, -SIGKILL);
  mp_process_free(p);
}

static void test_spawn_is_alive_transitions(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("cat", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDIN, MP_STDIO_PIPE));
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  assert_int_equal(mp_process_is_alive(p), 1);
  MP_ASSERT_ERR(mp_process_join(p, 50), MP_ETIMEDOUT);
  assert_int_equal(mp_process_is_alive(p), 1);
  MP_ASSERT_OK(mp_process_close_stdin(p)); /* cat reads EOF and exits */
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  assert_int_equal(mp_process_is_alive(p), 0);
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  mp_process_free(p);
}

static void test_spawn_pid_is_the_child(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("pgid", NULL);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  int pid = mp_process_pid(p);
  assert_true(pid > 0);
  assert_int_not_equal(pid, (int)getpid());
  void *out = NULL;
  MP_ASSERT_OK(mp_process_communicate(&out, NULL, NULL, NULL, p, NULL, 0,
                                      LONG_MS));
  int printed = 0, pgid = 0;
  assert_int_equal(sscanf(out, "%d %d", &printed, &pgid), 2);
  assert_int_equal(printed, pid);
  /* Without mp_cmd_new_group the child stays in our group. */
  assert_int_equal(pgid, (int)getpgrp());
  /* The pid stays available after the child ended. */
  assert_int_equal(mp_process_pid(p), pid);
  mp_free(out);
  mp_process_free(p);
}

static void test_spawn_command_cannot_be_started(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  MP_ASSERT_ERR(mp_process_start(p), MP_ESTATE);
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  mp_process_free(p);
}

static void test_spawn_command_spawned_twice(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("exit", "7", NULL);
  mp_process_t *a = NULL, *b = NULL;
  MP_ASSERT_OK(mp_process_spawn(&a, cmd));
  MP_ASSERT_OK(mp_process_spawn(&b, cmd));
  mp_cmd_free(cmd); /* processes do not depend on the command */
  assert_int_not_equal(mp_process_pid(a), mp_process_pid(b));
  int ca = -1, cb = -1;
  MP_ASSERT_OK(mp_process_join(a, LONG_MS));
  MP_ASSERT_OK(mp_process_join(b, LONG_MS));
  MP_ASSERT_OK(mp_process_exitcode(&ca, a));
  MP_ASSERT_OK(mp_process_exitcode(&cb, b));
  assert_int_equal(ca, 7);
  assert_int_equal(cb, 7);
  mp_process_free(a);
  mp_process_free(b);
}

/* ---- argument checks ---- */

/* Bytes that are certainly not a live mp_process_t. */
static union {
  char bytes[4096];
  max_align_t align;
} g_garbage;

static void test_spawn_process_functions_reject_null(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  mp_process_t *p = (mp_process_t *)0x1;
  MP_ASSERT_ERR(mp_process_spawn(NULL, cmd), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_spawn(&p, NULL), MP_EINVAL);
  assert_null(p);
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));

  int code = 0;
  MP_ASSERT_ERR(mp_process_join(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_join(NULL, MP_FOREVER), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_join(p, -2), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_join(p, INT64_MIN), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_is_alive(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_exitcode(NULL, p), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_exitcode(&code, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_pid(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_start(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_signal(NULL, SIGTERM, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_terminate(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_kill(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_stop(NULL, NULL, 0), MP_EINVAL);
  assert_string_equal(mp_process_name(NULL), "");
  MP_ASSERT_ERR(mp_process_set_name(NULL, "x"), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_set_daemon(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_set_start_method(NULL, MP_START_FORK), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_pass_fd(NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_write(NULL, "x", 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_close_stdin(NULL), MP_EINVAL);
  char buf[8];
  size_t n = 99;
  MP_ASSERT_ERR(mp_process_read(&n, NULL, MP_STDOUT, buf, sizeof buf, 0),
                MP_EINVAL);
  assert_int_equal(n, 0);
  MP_ASSERT_ERR(mp_process_read(NULL, p, MP_STDOUT, buf, sizeof buf, 0),
                MP_EINVAL);
  void *o = (void *)0x1, *e = (void *)0x1;
  size_t ol = 99, el = 99;
  MP_ASSERT_ERR(mp_process_communicate(&o, &ol, &e, &el, NULL, NULL, 0, 0),
                MP_EINVAL);
  assert_null(o);
  assert_null(e);
  assert_int_equal(ol, 0);
  assert_int_equal(el, 0);
  MP_ASSERT_ERR(mp_run(NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0),
                MP_EINVAL);

  mp_process_t *q = (mp_process_t *)0x1;
  MP_ASSERT_ERR(mp_process_new(NULL, "spawn-trivial", NULL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_new(&q, NULL, NULL, 0), MP_EINVAL);
  assert_null(q);
  q = (mp_process_t *)0x1;
  MP_ASSERT_ERR(mp_process_new(&q, "spawn-trivial", NULL, 5), MP_EINVAL);
  assert_null(q);
  q = (mp_process_t *)0x1;
  MP_ASSERT_ERR(mp_process_new(&q, "spawn-no-such-target", NULL, 0),
                MP_ENOENT);
  assert_null(q);

  /* The valid handle still works after all that. */
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  mp_process_free(p);
  mp_process_free(NULL);
}

static void test_spawn_process_functions_reject_garbage_handle(void **state) {
  (void)state;
  int code = 0;
  for (int fill = 0; fill < 2; fill++) {
    memset(g_garbage.bytes, fill ? 0xab : 0, sizeof g_garbage.bytes);
    mp_process_t *g = (mp_process_t *)(void *)g_garbage.bytes;
    MP_ASSERT_ERR(mp_process_join(g, 0), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_is_alive(g), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_exitcode(&code, g), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_pid(g), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_kill(g), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_stop(g, NULL, 0), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_start(g), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_close_stdin(g), MP_EINVAL);
    MP_ASSERT_ERR(mp_process_set_name(g, "x"), MP_EINVAL);
    assert_string_equal(mp_process_name(g), "");
    mp_process_free(g); /* not a handle: ignored */
  }
}

int main(void) {
  MP_ASSERT_OK(mp_register("spawn-trivial", trivial_target, NULL));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spawn_exit_code_zero),
      cmocka_unit_test(test_spawn_exit_code_three),
      cmocka_unit_test(test_spawn_exit_code_255),
      cmocka_unit_test(test_spawn_killed_by_signal_exitcode_is_negative),
      cmocka_unit_test(test_spawn_arguments_reach_child),
      cmocka_unit_test(test_spawn_empty_argument_reaches_child),
      cmocka_unit_test(test_spawn_arg0_reaches_child),
      cmocka_unit_test(test_spawn_default_arg0_is_program),
      cmocka_unit_test(test_spawn_program_found_in_path),
      cmocka_unit_test(test_spawn_env_set_reaches_child),
      cmocka_unit_test(test_spawn_env_set_overrides_inherited),
      cmocka_unit_test(test_spawn_env_unset_removes_inherited),
      cmocka_unit_test(test_spawn_env_unset_after_set_wins),
      cmocka_unit_test(test_spawn_env_clear_starts_empty),
      cmocka_unit_test(test_spawn_env_clear_forgets_earlier_set),
      cmocka_unit_test(test_spawn_env_inherited_at_spawn_time),
      cmocka_unit_test(test_spawn_cwd_is_used),
      cmocka_unit_test(test_spawn_set_names_configure_the_child),
      cmocka_unit_test(test_spawn_cwd_default_is_parents),
      cmocka_unit_test(test_spawn_missing_cwd_is_enoent),
      cmocka_unit_test(test_spawn_missing_program_is_enoent),
      cmocka_unit_test(test_spawn_missing_program_in_path_is_enoent),
      cmocka_unit_test(test_spawn_non_executable_file_is_eacces),
      cmocka_unit_test(test_spawn_file_without_interpreter),
      cmocka_unit_test(test_spawn_non_executable_file_in_path_is_eacces),
      cmocka_unit_test(test_spawn_directory_as_program_is_eacces),
      cmocka_unit_test(test_spawn_failure_leaves_no_child),
      cmocka_unit_test(test_spawn_relative_path_entries_are_refused),
      cmocka_unit_test(test_spawn_relative_path_entry_is_skipped_for_absolute),
      cmocka_unit_test(test_spawn_allow_relative_path_resolves_in_child_cwd),
      cmocka_unit_test(test_spawn_cwd_with_relative_arg),
      cmocka_unit_test(test_spawn_file_not_found_with_bad_cwd),
      cmocka_unit_test(test_spawn_new_session_and_new_group),
      cmocka_unit_test(test_spawn_new_session_signals_group),
      cmocka_unit_test(test_spawn_stdio_null),
      cmocka_unit_test(test_spawn_stdout_to_file_truncates),
      cmocka_unit_test(test_spawn_stdout_to_new_file_is_created),
      cmocka_unit_test(test_spawn_stdout_to_file_appends),
      cmocka_unit_test(test_spawn_stdin_from_file),
      cmocka_unit_test(test_spawn_stdio_file_unopenable_fails_spawn),
      cmocka_unit_test(test_spawn_stdout_to_existing_fd),
      cmocka_unit_test(test_spawn_stdio_fd_not_open_is_einval),
      cmocka_unit_test(test_spawn_stderr_merged_into_stdout),
      cmocka_unit_test(test_spawn_child_gets_only_stdio_descriptors),
      cmocka_unit_test(test_spawn_pass_fd_at_numbers),
      cmocka_unit_test(test_spawn_pass_fd_at_reaches_child),
      cmocka_unit_test(test_spawn_pass_fd_at_not_open_is_einval),
      cmocka_unit_test(test_spawn_descriptor_count_returns_to_start),
      cmocka_unit_test(test_spawn_unjoined_children_leave_no_zombies),
      cmocka_unit_test(test_spawn_join_timeout_zero_on_running_child),
      cmocka_unit_test(test_spawn_join_short_timeout_times_out),
      cmocka_unit_test(test_spawn_unstarted_process_is_estate),
      cmocka_unit_test(test_spawn_exitcode_while_running_is_estate),
      cmocka_unit_test(test_spawn_is_alive_transitions),
      cmocka_unit_test(test_spawn_pid_is_the_child),
      cmocka_unit_test(test_spawn_command_cannot_be_started),
      cmocka_unit_test(test_spawn_command_spawned_twice),
      cmocka_unit_test(test_spawn_process_functions_reject_null),
      cmocka_unit_test(test_spawn_process_functions_reject_garbage_handle),
  };
  return MP_RUN_TESTS(tests);
}
