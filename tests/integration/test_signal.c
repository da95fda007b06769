/* Signals and stopping: terminate/kill/signal, process groups, stop steps,
 * and daemon commands that die with their parent. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define LONG_MS 30000 /* generous bound for anything that should be quick */

static int trivial_target(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  return 0;
}

static mp_process_t *spawn(mp_cmd_t *cmd) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  assert_non_null(p);
  mp_cmd_free(cmd);
  return p;
}

static mp_process_t *spawn_sleeper(void) {
  return spawn(helper_cmd("sleep", "30000", NULL));
}

static int join_exitcode(mp_process_t *p) {
  int code = -1000;
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  return code;
}

/* Wait until pid is gone (or a zombie); returns whether it is gone. */
static int wait_pid_gone(int pid, int64_t timeout_ms) {
  int64_t end = now_ms() + timeout_ms;
  while (pid_running(pid)) {
    if (now_ms() >= end) return 0;
    sleep_ms(20);
  }
  return 1;
}

/* Whether pid has signal sig ignored (SigIgn in /proc/PID/status). */
static int sig_ignored(int pid, int sig) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long long mask = 0;
  int found = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "SigIgn: %llx", &mask) == 1) {
      found = 1;
      break;
    }
  fclose(f);
  return found && (mask >> (sig - 1)) & 1;
}

/* A helper that ignores SIGTERM, returned once it really ignores it. */
static mp_process_t *spawn_term_ignorer(void) {
  mp_process_t *p = spawn(helper_cmd("ignore-term", "30000", NULL));
  int pid = mp_process_pid(p);
  int64_t end = now_ms() + 10000;
  while (!sig_ignored(pid, SIGTERM) && now_ms() < end) sleep_ms(5);
  assert_true(sig_ignored(pid, SIGTERM));
  return p;
}

/* Read one line (the first) from the child's stdout. */
static void read_line(mp_process_t *p, char *buf, size_t cap) {
  size_t got = 0;
  buf[0] = '\0';
  while (got + 1 < cap && !memchr(buf, '\n', got)) {
    size_t n = 0;
    MP_ASSERT_OK(mp_process_read(&n, p, MP_STDOUT, buf + got, cap - 1 - got,
                                 LONG_MS));
    got += n;
    buf[got] = '\0';
  }
}

/* ---- terminate, kill, signal ---- */

static void test_signal_terminate_exitcode_is_minus_sigterm(void **state) {
  (void)state;
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_OK(mp_process_terminate(p));
  assert_int_equal(join_exitcode(p), -SIGTERM);
  mp_process_free(p);
}

static void test_signal_kill_exitcode_is_minus_sigkill(void **state) {
  (void)state;
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(join_exitcode(p), -SIGKILL);
  mp_process_free(p);
}

static void test_signal_sigusr1_exitcode_is_minus_sigusr1(void **state) {
  (void)state;
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_OK(mp_process_signal(p, SIGUSR1, 0));
  assert_int_equal(join_exitcode(p), -SIGUSR1);
  mp_process_free(p);
}

static void test_signal_kill_reaches_term_ignorer(void **state) {
  (void)state;
  mp_process_t *p = spawn_term_ignorer();
  MP_ASSERT_OK(mp_process_terminate(p));
  MP_ASSERT_ERR(mp_process_join(p, 200), MP_ETIMEDOUT);
  assert_int_equal(mp_process_is_alive(p), 1);
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(join_exitcode(p), -SIGKILL);
  mp_process_free(p);
}

static void test_signal_ended_child_is_noop(void **state) {
  (void)state;
  mp_process_t *p = spawn(helper_cmd("exit", "4", NULL));
  assert_int_equal(join_exitcode(p), 4);
  MP_ASSERT_OK(mp_process_terminate(p));
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_signal(p, SIGUSR1, 0));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 4);
  mp_process_free(p);
}

static void test_signal_bad_signal_number_is_einval(void **state) {
  (void)state;
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_ERR(mp_process_signal(p, 0, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_signal(p, -1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_signal(p, -SIGKILL, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_signal(p, NSIG, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_signal(p, 1000, 0), MP_EINVAL);
  /* Unknown flags. */
  MP_ASSERT_ERR(mp_process_signal(p, SIGTERM, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_signal(p, SIGTERM, -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_signal(NULL, SIGTERM, 0), MP_EINVAL);
  /* None of that reached the child. */
  assert_int_equal(mp_process_is_alive(p), 1);
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(join_exitcode(p), -SIGKILL);
  mp_process_free(p);
}

static void test_signal_unstarted_process_is_estate(void **state) {
  (void)state;
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, "signal-trivial", NULL, 0));
  MP_ASSERT_ERR(mp_process_signal(p, SIGTERM, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_terminate(p), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_kill(p), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_stop(p, NULL, 0), MP_ESTATE);
  mp_process_free(p);
}

/* ---- process groups ---- */

static void test_signal_group_without_new_group_is_estate(void **state) {
  (void)state;
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_ERR(mp_process_signal(p, SIGTERM, MP_SIGNAL_GROUP), MP_ESTATE);
  MP_ASSERT_ERR(mp_process_stop(p, NULL, MP_SIGNAL_GROUP), MP_ESTATE);
  /* Nothing was sent (to our own group least of all). */
  assert_int_equal(mp_process_is_alive(p), 1);
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(join_exitcode(p), -SIGKILL);
  mp_process_free(p);
}

static void test_signal_new_group_child_leads_its_group(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("pgid", NULL);
  cmd_own_group(cmd);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
  mp_process_t *p = spawn(cmd);
  void *out = NULL;
  MP_ASSERT_OK(mp_process_communicate(&out, NULL, NULL, NULL, p, NULL, 0,
                                      LONG_MS));
  int pid = 0, pgid = 0;
  assert_int_equal(sscanf(out, "%d %d", &pid, &pgid), 2);
  assert_int_equal(pid, pgid);
  assert_int_equal(pid, mp_process_pid(p));
  assert_int_not_equal(pgid, (int)getpgrp());
  mp_free(out);
  mp_process_free(p);
}

/* sh in a new group with a background sleep; returns the sleep's pid. */
static mp_process_t *spawn_shell_with_grandchild(int *grandchild) {
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "-c"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "sleep 30 & echo $!; wait"));
  cmd_own_group(cmd);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
  mp_process_t *p = spawn(cmd);
  char line[64];
  read_line(p, line, sizeof line);
  *grandchild = atoi(line);
  assert_true(*grandchild > 0);
  assert_true(pid_running(*grandchild));
  return p;
}

static void test_signal_group_kill_reaches_grandchild(void **state) {
  (void)state;
  int grandchild = 0;
  mp_process_t *p = spawn_shell_with_grandchild(&grandchild);
  MP_ASSERT_OK(mp_process_signal(p, SIGKILL, MP_SIGNAL_GROUP));
  assert_int_equal(join_exitcode(p), -SIGKILL);
  int gone = wait_pid_gone(grandchild, 10000);
  if (!gone) kill(grandchild, SIGKILL);
  assert_true(gone);
  mp_process_free(p);
}

static void test_signal_group_stop_reaches_grandchild(void **state) {
  (void)state;
  int grandchild = 0;
  mp_process_t *p = spawn_shell_with_grandchild(&grandchild);
  MP_ASSERT_OK(mp_process_stop(p, NULL, MP_SIGNAL_GROUP));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_true(code == -SIGTERM || code == -SIGKILL);
  int gone = wait_pid_gone(grandchild, 10000);
  if (!gone) kill(grandchild, SIGKILL);
  assert_true(gone);
  mp_process_free(p);
}

static void test_signal_group_reaches_members_after_leader_ended(void **state) {
  (void)state;
  mp_cmd_t *cmd = helper_cmd("grandchild", "30000", NULL);
  cmd_own_group(cmd);
  MP_ASSERT_OK(mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
  mp_process_t *p = spawn(cmd);
  char line[64];
  read_line(p, line, sizeof line);
  int grandchild = atoi(line);
  assert_true(grandchild > 0);
  assert_int_equal(join_exitcode(p), 0); /* the leader is gone */
  assert_true(pid_running(grandchild));
  MP_ASSERT_OK(mp_process_signal(p, SIGKILL, MP_SIGNAL_GROUP));
  int gone = wait_pid_gone(grandchild, 10000);
  if (!gone) kill(grandchild, SIGKILL);
  assert_true(gone);
  /* The whole group is gone: signalling it again still succeeds. */
  MP_ASSERT_OK(mp_process_signal(p, SIGTERM, MP_SIGNAL_GROUP));
  mp_process_free(p);
}

/* ---- stop steps ---- */

static void test_signal_stop_default_escalates_to_kill(void **state) {
  (void)state;
  mp_process_t *p = spawn_term_ignorer();
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_process_stop(p, NULL, 0));
  int64_t took = now_ms() - t0;
  assert_int_equal(mp_process_is_alive(p), 0);
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, -SIGKILL);
  /* The default grace period is 3000 ms (lower bound only). */
  assert_true(took >= 2500);
  mp_process_free(p);
}

static void test_signal_stop_default_terminates_cooperative_child(void **state) {
  (void)state;
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_OK(mp_process_stop(p, NULL, 0));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, -SIGTERM);
  mp_process_free(p);
}

static mp_stop_t *term_then_kill(void) {
  mp_stop_t *steps = NULL;
  MP_ASSERT_OK(mp_stop_new(&steps));
  MP_ASSERT_OK(mp_stop_add(steps, MP_STOP_TERMINATE, 100));
  MP_ASSERT_OK(mp_stop_add(steps, MP_STOP_KILL, MP_FOREVER));
  return steps;
}

static void test_signal_stop_custom_steps_kill_term_ignorer(void **state) {
  (void)state;
  mp_stop_t *steps = term_then_kill();
  mp_process_t *p = spawn_term_ignorer();
  MP_ASSERT_OK(mp_process_stop(p, steps, 0));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, -SIGKILL);
  mp_process_free(p);
  /* The same list serves again, here ending at the first step. */
  p = spawn_sleeper();
  MP_ASSERT_OK(mp_process_stop(p, steps, 0));
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, -SIGTERM);
  mp_process_free(p);
  mp_stop_free(steps);
}

static void test_signal_stop_interrupt_step_sends_sigint(void **state) {
  (void)state;
  struct sigaction old;
  assert_int_equal(sigaction(SIGINT, NULL, &old), 0);
  if (old.sa_handler == SIG_IGN) skip(); /* inherited by the child too */
  mp_stop_t *steps = NULL;
  MP_ASSERT_OK(mp_stop_new(&steps));
  MP_ASSERT_OK(mp_stop_add(steps, MP_STOP_INTERRUPT, LONG_MS));
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_OK(mp_process_stop(p, steps, 0));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, -SIGINT);
  mp_process_free(p);
  mp_stop_free(steps);
}

/* A signal the parent ignores (nohup's SIGHUP) stays ignored in a command
 * under the Linux backend, as POSIX exec and Python keep it; libuv's
 * uv_spawn resets every signal below 32 to its default, so under the
 * portable backend the command dies of it (docs/guide.md, "Platforms"). */
static void test_signal_ignored_disposition_of_a_command(void **state) {
  (void)state;
  struct sigaction ign = {0}, old;
  ign.sa_handler = SIG_IGN;
  assert_int_equal(sigaction(SIGHUP, &ign, &old), 0);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "/bin/sh"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "-c"));
  MP_ASSERT_OK(mp_cmd_arg(cmd, "kill -HUP $$; exit 0"));
  mp_process_t *p = spawn(cmd);
  assert_int_equal(sigaction(SIGHUP, &old, NULL), 0);
  assert_int_equal(join_exitcode(p), mp_test_portable() ? -SIGHUP : 0);
  mp_process_free(p);
}

static void test_signal_stop_only_wait_times_out(void **state) {
  (void)state;
  mp_stop_t *steps = NULL;
  MP_ASSERT_OK(mp_stop_new(&steps));
  MP_ASSERT_OK(mp_stop_add(steps, MP_STOP_WAIT, 50));
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_ERR(mp_process_stop(p, steps, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_process_is_alive(p), 1); /* nothing was sent */
  int code = 0;
  MP_ASSERT_ERR(mp_process_exitcode(&code, p), MP_ESTATE);
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(join_exitcode(p), -SIGKILL);
  mp_process_free(p);
  mp_stop_free(steps);
}

static void test_signal_stop_wait_step_sees_natural_exit(void **state) {
  (void)state;
  mp_stop_t *steps = NULL;
  MP_ASSERT_OK(mp_stop_new(&steps));
  MP_ASSERT_OK(mp_stop_add(steps, MP_STOP_WAIT, LONG_MS));
  MP_ASSERT_OK(mp_stop_add(steps, MP_STOP_KILL, MP_FOREVER));
  mp_process_t *p = spawn(helper_cmd("sleep", "100", NULL));
  MP_ASSERT_OK(mp_process_stop(p, steps, 0));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  mp_process_free(p);
  mp_stop_free(steps);
}

static void test_signal_stop_ended_child_is_ok(void **state) {
  (void)state;
  mp_process_t *p = spawn(helper_cmd("exit", "5", NULL));
  assert_int_equal(join_exitcode(p), 5);
  MP_ASSERT_OK(mp_process_stop(p, NULL, 0));
  mp_stop_t *steps = term_then_kill();
  MP_ASSERT_OK(mp_process_stop(p, steps, 0));
  mp_stop_free(steps);
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 5);
  mp_process_free(p);
}

static void test_signal_stop_empty_list_on_ended_child_is_ok(void **state) {
  (void)state;
  mp_stop_t *steps = NULL;
  MP_ASSERT_OK(mp_stop_new(&steps));
  mp_process_t *p = spawn(helper_cmd("exit", "0", NULL));
  assert_int_equal(join_exitcode(p), 0);
  /* "MP_OK once the child has ended": no step is needed for that. */
  int r = mp_process_stop(p, steps, 0);
  char msg[512];
  snprintf(msg, sizeof msg, "%s", mp_last_error());
  mp_process_free(p);
  mp_stop_free(steps);
  if (r != MP_OK)
    fail_msg("mp_process_stop(empty list, ended child) = %d (%s): %s", r,
             mp_err_name(r), msg);
}

static void test_signal_stop_empty_list_on_running_child_times_out(void **state) {
  (void)state;
  mp_stop_t *steps = NULL;
  MP_ASSERT_OK(mp_stop_new(&steps));
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_ERR(mp_process_stop(p, steps, 0), MP_ETIMEDOUT);
  assert_int_equal(mp_process_is_alive(p), 1);
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(join_exitcode(p), -SIGKILL);
  mp_process_free(p);
  mp_stop_free(steps);
}

static void test_signal_stop_bad_flags_is_einval(void **state) {
  (void)state;
  mp_process_t *p = spawn_sleeper();
  MP_ASSERT_ERR(mp_process_stop(p, NULL, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_process_stop(p, NULL, -1), MP_EINVAL);
  assert_int_equal(mp_process_is_alive(p), 1);
  MP_ASSERT_OK(mp_process_kill(p));
  assert_int_equal(join_exitcode(p), -SIGKILL);
  mp_process_free(p);
}

/* ---- daemons and the death of their parent ----
 *
 * A "parent" process spawns `helper sleep 30000` (daemon or not), writes
 * the child's pid to a pipe and waits; the test SIGKILLs the parent and
 * watches the child. The parent is either a fork() of this test process
 * (which has already used the library), or a fork() that re-executes this
 * program in parent mode (a fresh process). */

#define PARENT_MODE_ARG "--mp-signal-spawn-parent"

/* This program, for re-executing it (argv[0]: under valgrind /proc/self/exe
 * is the tool, not the test). */
static const char *g_self = "/proc/self/exe";

/* The parent's body: never returns. */
static void spawn_parent_main(int daemon, int report_fd,
                              const char *helper) {
  mp_cmd_t *cmd = NULL;
  mp_process_t *p = NULL;
  alarm(30); /* never outlive the test, whatever happens */
  if (mp_cmd_new(&cmd, helper) != MP_OK || mp_cmd_arg(cmd, "sleep") != MP_OK ||
      mp_cmd_arg(cmd, "30000") != MP_OK || mp_cmd_daemon(cmd, daemon) != MP_OK)
    _exit(2);
  if (mp_process_spawn(&p, cmd) != MP_OK) {
    dprintf(2, "spawn parent: %s\n", mp_last_error());
    _exit(3);
  }
  int pid = mp_process_pid(p);
  if (write(report_fd, &pid, sizeof pid) != (ssize_t)sizeof pid) _exit(4);
  for (;;) pause();
}

/* Start a parent; returns its pid and the pid of the child it spawned. */
static int start_spawn_parent(int daemon, int reexec, int *child_pid) {
  const char *helper = test_helper_path();
  /* This process has the library's runtime running before it forks. */
  mp_process_t *warm = spawn(helper_cmd("exit", "0", NULL));
  assert_int_equal(join_exitcode(warm), 0);
  mp_process_free(warm);

  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t parent = fork();
  assert_true(parent >= 0);
  if (parent == 0) {
    close(fds[0]);
    if (reexec) {
      char fdarg[16];
      snprintf(fdarg, sizeof fdarg, "%d", fds[1]);
      char *argv[] = {(char *)"test_signal", (char *)PARENT_MODE_ARG,
                      daemon ? (char *)"1" : (char *)"0", fdarg, NULL};
      execv(g_self, argv);
      _exit(5);
    }
    spawn_parent_main(daemon, fds[1], helper);
    _exit(6);
  }
  close(fds[1]);
  int pid = -1;
  size_t got = 0;
  struct pollfd pfd = {fds[0], POLLIN, 0};
  int64_t end = now_ms() + 15000;
  while (got < sizeof pid && now_ms() < end) {
    int r = poll(&pfd, 1, 100);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = read(fds[0], (char *)&pid + got, sizeof pid - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fds[0]);
  if (got != sizeof pid) {
    kill(parent, SIGKILL);
    int status = 0;
    waitpid(parent, &status, 0);
    fail_msg("the parent (%s) did not report its child's pid: %s %d",
             reexec ? "re-executed" : "forked",
             WIFSIGNALED(status) ? "killed by signal" : "exit status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  *child_pid = pid;
  return parent;
}

static void kill_and_reap(int pid) {
  assert_int_equal(kill(pid, SIGKILL), 0);
  int status = 0;
  pid_t r;
  while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  assert_int_equal(r, pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* The portable backend cannot make an exec'd program die with its parent
 * (no PR_SET_PDEATHSIG; a command runs no watch of ours): a daemon command
 * is MP_ENOTSUP there, and nothing is started. */
static void check_daemon_command_not_supported(void) {
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  MP_ASSERT_OK(mp_cmd_set_daemon(cmd, 1));
  mp_process_t *p = NULL;
  MP_ASSERT_ERR(mp_process_spawn(&p, cmd), MP_ENOTSUP);
  assert_null(p);
  assert_non_null(strstr(mp_last_error(), "MULTIPROC_BACKEND=portable"));
  mp_cmd_free(cmd);
}

static void check_daemon_dies_with_parent(int reexec) {
  if (mp_test_portable()) {
    check_daemon_command_not_supported();
    return;
  }
  int child = 0;
  int parent = start_spawn_parent(1, reexec, &child);
  assert_true(child > 0);
  assert_true(pid_running(child));
  kill_and_reap(parent);
  int gone = wait_pid_gone(child, 10000);
  if (!gone) kill(child, SIGKILL);
  assert_true(gone);
}

static void check_non_daemon_survives_parent(int reexec) {
  int child = 0;
  int parent = start_spawn_parent(0, reexec, &child);
  assert_true(child > 0);
  assert_true(pid_running(child));
  kill_and_reap(parent);
  sleep_ms(1000);
  int alive = pid_running(child);
  kill(child, SIGKILL); /* clean up: it is no longer our business to reap */
  assert_true(alive);
  assert_true(wait_pid_gone(child, 10000));
}

static void test_signal_daemon_dies_when_parent_is_killed(void **state) {
  (void)state;
  check_daemon_dies_with_parent(1);
}

static void test_signal_non_daemon_survives_killed_parent(void **state) {
  (void)state;
  check_non_daemon_survives_parent(1);
}

static void test_signal_daemon_dies_when_forked_parent_is_killed(void **state) {
  (void)state;
  check_daemon_dies_with_parent(0);
}

static void test_signal_non_daemon_survives_killed_forked_parent(void **state) {
  (void)state;
  check_non_daemon_survives_parent(0);
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], PARENT_MODE_ARG)) {
    const char *helper = getenv("MP_TEST_HELPER");
    if (!helper) _exit(7);
    spawn_parent_main(atoi(argv[2]), atoi(argv[3]), helper);
  }
  if (argc >= 1 && argv[0] && strchr(argv[0], '/')) g_self = argv[0];
  MP_ASSERT_OK(mp_register("signal-trivial", trivial_target, NULL));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signal_terminate_exitcode_is_minus_sigterm),
      cmocka_unit_test(test_signal_kill_exitcode_is_minus_sigkill),
      cmocka_unit_test(test_signal_sigusr1_exitcode_is_minus_sigusr1),
      cmocka_unit_test(test_signal_kill_reaches_term_ignorer),
      cmocka_unit_test(test_signal_ended_child_is_noop),
      cmocka_unit_test(test_signal_bad_signal_number_is_einval),
      cmocka_unit_test(test_signal_unstarted_process_is_estate),
      cmocka_unit_test(test_signal_group_without_new_group_is_estate),
      cmocka_unit_test(test_signal_new_group_child_leads_its_group),
      cmocka_unit_test(test_signal_group_kill_reaches_grandchild),
      cmocka_unit_test(test_signal_group_stop_reaches_grandchild),
      cmocka_unit_test(test_signal_group_reaches_members_after_leader_ended),
      cmocka_unit_test(test_signal_stop_default_escalates_to_kill),
      cmocka_unit_test(test_signal_stop_default_terminates_cooperative_child),
      cmocka_unit_test(test_signal_stop_custom_steps_kill_term_ignorer),
      cmocka_unit_test(test_signal_stop_interrupt_step_sends_sigint),
      cmocka_unit_test(test_signal_ignored_disposition_of_a_command),
      cmocka_unit_test(test_signal_stop_only_wait_times_out),
      cmocka_unit_test(test_signal_stop_wait_step_sees_natural_exit),
      cmocka_unit_test(test_signal_stop_ended_child_is_ok),
      cmocka_unit_test(test_signal_stop_empty_list_on_ended_child_is_ok),
      cmocka_unit_test(test_signal_stop_empty_list_on_running_child_times_out),
      cmocka_unit_test(test_signal_stop_bad_flags_is_einval),
      cmocka_unit_test(test_signal_daemon_dies_when_parent_is_killed),
      cmocka_unit_test(test_signal_non_daemon_survives_killed_parent),
      cmocka_unit_test(test_signal_daemon_dies_when_forked_parent_is_killed),
      cmocka_unit_test(test_signal_non_daemon_survives_killed_forked_parent),
  };
  return MP_RUN_TESTS(tests);
}
