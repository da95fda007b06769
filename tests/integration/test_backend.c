/* The backend choice of issue 18 (src/core/backend.hpp): which one this
 * process really uses, and what only the portable backend promises. Runs in
 * the sync suite (Linux backend, unless the build has no Linux mechanisms)
 * and in the portable suite (MULTIPROC_BACKEND=portable):
 * - a shared object's descriptor is a memfd under the Linux backend and an
 *   unlinked POSIX shared-memory object under the portable one (fails when
 *   the environment variable is ignored, or when shm_open's name is kept);
 * - the names of a SIGKILLed creator's segments are gone from /dev/shm;
 * - a process of the other backend refuses a segment (they wait
 *   differently: a silent mix would hang);
 * - waiters SIGKILLed while parked (more than a mapping's 63 slots) leave
 *   the object working: a live waiter is still woken, and fast;
 * - the process layer: no child of any kind (command, fork, spawn,
 *   forkserver) has a pidfd under the portable backend (uv_spawn, fork and
 *   SIGCHLD, not clone + pidfd), each has one under the Linux backend, and
 *   a child the program forked itself is still the program's to reap. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testutil.h"

/* What /proc/self/fd/<fd> points to. */
static void fd_target(int fd, char *out, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, out, size - 1);
  if (n < 0) fail_msg("readlink %s: %s", path, strerror(errno));
  out[n] = '\0';
}

static int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_backend_segment_kind(void **state) {
  (void)state;
  mp_lock_t *l = NULL;
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  int fds[] = {mp_lock_fileno(l), mp_queue_fileno(q)};
  for (int i = 0; i < 2; ++i) {
    char target[512];
    fd_target(fds[i], target, sizeof target);
    if (mp_test_portable()) {
      /* shm_open's object, its name unlinked at once. */
      if (!starts_with(target, "/dev/shm/mp-") || !ends_with(target, " (deleted)"))
        fail_msg("portable backend: fd %d is %s, not an unlinked /dev/shm/mp-*", fds[i],
                 target);
    } else if (!starts_with(target, "/memfd:")) {
      fail_msg("linux backend: fd %d is %s, not a memfd", fds[i], target);
    }
  }
  mp_queue_free(q);
  mp_lock_free(l);
}

/* A child makes segments, writes their /dev/shm paths to a pipe and is
 * SIGKILLed: none of the paths exists afterwards. */
static void test_backend_no_names_left_after_sigkill(void **state) {
  (void)state;
  if (!mp_test_portable()) return; /* memfds have no name */
  enum { kSegments = 20 };
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    for (int i = 0; i < kSegments; ++i) {
      mp_event_t *e = NULL;
      if (mp_event_new(&e) != MP_OK) _exit(2);
      char target[512], path[64];
      snprintf(path, sizeof path, "/proc/self/fd/%d", mp_event_fileno(e));
      ssize_t n = readlink(path, target, sizeof target - 1);
      if (n <= 0) _exit(3);
      target[n] = '\n';
      if (write(p[1], target, (size_t)n + 1) != n + 1) _exit(4);
      /* kept open and mapped: the kill finds them in use */
    }
    close(p[1]);
    pause();
    _exit(0);
  }
  close(p[1]);
  char buf[16384];
  size_t got = 0;
  ssize_t n;
  while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
  close(p[0]);
  buf[got] = '\0';
  kill(pid, SIGKILL);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  int lines = 0;
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    char *deleted = strstr(line, " (deleted)");
    if (deleted) *deleted = '\0';
    if (!starts_with(line, "/dev/shm/mp-")) fail_msg("segment %s is not in /dev/shm", line);
    struct stat st;
    if (stat(line, &st) == 0) fail_msg("%s outlived its SIGKILLed creator", line);
    ++lines;
  }
  assert_int_equal(lines, kSegments);
}

/* Exec this program again with the other backend and the lock's fd: it
 * must refuse the segment (exit 0 when mp_lock_from_fd says MP_EINVAL). */
static char **g_argv;

static void test_backend_other_backend_refuses_segment(void **state) {
  (void)state;
#ifndef MP_HAVE_LINUX_MECHANISMS
  return; /* one backend only */
#endif
  mp_lock_t *l = NULL;
  MP_ASSERT_OK(mp_lock_new(&l, 0));
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = dup(mp_lock_fileno(l)); /* without FD_CLOEXEC */
    char arg[16];
    snprintf(arg, sizeof arg, "%d", fd);
    if (mp_test_portable())
      unsetenv("MULTIPROC_BACKEND");
    else
      setenv("MULTIPROC_BACKEND", "portable", 1);
    execl("/proc/self/exe", g_argv[0], "--attach", arg, (char *)NULL);
    _exit(5);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) != 0)
    fail_msg("the other backend's process: exit %d (1: it accepted the segment)",
             WEXITSTATUS(status));
  mp_lock_free(l);
}

static int attach_child(const char *fd_arg) {
  mp_lock_t *l = NULL;
  int r = mp_lock_from_fd(&l, atoi(fd_arg));
  if (r == MP_OK) {
    mp_lock_free(l);
    return 1;
  }
  if (r != MP_EINVAL || !strstr(mp_last_error(), "backend")) {
    fprintf(stderr, "attach: %s: %s\n", mp_err_name(r), mp_last_error());
    return 2;
  }
  return 0;
}

/* 70 forked waiters (more than a mapping's 63 parking slots) block on an
 * event and are SIGKILLed while parked; then a live waiter is woken by a
 * set within a second, and a semaphore still counts. */
static void test_backend_dead_waiters_are_harmless(void **state) {
  (void)state;
  enum { kDead = 70 };
  mp_event_t *never = NULL;
  mp_sem_t *s = NULL;
  MP_ASSERT_OK(mp_event_new(&never));
  MP_ASSERT_OK(mp_sem_new(&s, 0, 0));
  pid_t dead[kDead];
  for (int i = 0; i < kDead; ++i) {
    dead[i] = fork();
    assert_true(dead[i] >= 0);
    if (dead[i] == 0) {
      mp_sem_release(s); /* parked next */
      mp_event_wait(never, MP_FOREVER);
      _exit(0);
    }
  }
  for (int i = 0; i < kDead; ++i) MP_ASSERT_OK(mp_sem_acquire(s, 20000));
  sleep_ms(200); /* let the last ones park */
  for (int i = 0; i < kDead; ++i) kill(dead[i], SIGKILL);
  for (int i = 0; i < kDead; ++i) assert_int_equal(waitpid(dead[i], NULL, 0), dead[i]);
  pid_t live = fork();
  assert_true(live >= 0);
  if (live == 0) {
    if (mp_event_wait(never, 20000) != MP_OK) _exit(2);
    if (mp_sem_acquire(s, 20000) != MP_OK) _exit(3);
    _exit(0);
  }
  sleep_ms(300); /* parked among the dead */
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_event_set(never));
  MP_ASSERT_OK(mp_sem_release(s));
  int status = 0;
  assert_int_equal(waitpid(live, &status, 0), live);
  int64_t took = now_ms() - t0;
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  if (took > 5000) fail_msg("the live waiter took %lld ms to wake", (long long)took);
  mp_sem_free(s);
  mp_event_free(never);
}

static int tb_sleep(const void *arg, size_t len, void *payload) {
  (void)arg;
  (void)len;
  (void)payload;
  sleep(30);
  return 0;
}

/* What /proc/self/fd says a process's sentinel is. */
static void sentinel_kind(mp_process_t *p, char *out, size_t size) {
  int fd = -1;
  MP_ASSERT_OK(mp_process_sentinel(&fd, p));
  fd_target(fd, out, size);
}

static void test_backend_process_mechanism(void **state) {
  (void)state;
  enum { kChildren = 4 };
  mp_process_t *p[kChildren] = {NULL};
  mp_cmd_t *cmd = helper_cmd("sleep", "30000", NULL);
  MP_ASSERT_OK(mp_process_spawn(&p[0], cmd));
  mp_cmd_free(cmd);
  for (int i = 0; i < MP_N_METHODS; ++i) {
    MP_ASSERT_OK(mp_process_new(&p[1 + i], "tb_sleep", NULL, 0));
    MP_ASSERT_OK(mp_process_set_start_method(p[1 + i], (mp_start_method_t)k_methods[i]));
    MP_ASSERT_OK(mp_process_start(p[1 + i]));
  }
  /* A child of the program's own, ending while ours run: the library must
   * not reap it (no waitpid(-1)). */
  pid_t own = fork();
  if (own == 0) _exit(7);
  int pidfds = count_pidfds(0);
  char kind[kChildren][256];
  for (int i = 0; i < kChildren; ++i) sentinel_kind(p[i], kind[i], sizeof kind[i]);
  for (int i = 0; i < kChildren; ++i) {
    MP_ASSERT_OK(mp_process_kill(p[i]));
    MP_ASSERT_OK(mp_process_join(p[i], 10000));
    int code = 0;
    MP_ASSERT_OK(mp_process_exitcode(&code, p[i]));
    assert_int_equal(code, -SIGKILL);
    mp_process_free(p[i]);
  }
  int status = 0;
  assert_int_equal(waitpid(own, &status, 0), own);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 7);
  if (mp_test_portable()) {
    if (pidfds != 0) fail_msg("portable backend: %d pidfds while 4 children ran", pidfds);
    for (int i = 0; i < kChildren - 1; ++i) /* a forkserver child's is its status socket */
      if (strcmp(kind[i], "anon_inode:[eventfd]") != 0)
        fail_msg("portable backend: child %d's sentinel is %s, not an eventfd", i, kind[i]);
  } else {
    /* count_pidfds leaves out a forkserver child's (its /proc environ is
     * the server's) */
    if (pidfds < kChildren - 1) fail_msg("linux backend: %d pidfds for 4 children", pidfds);
    for (int i = 0; i < kChildren - 1; ++i)
      if (strcmp(kind[i], "anon_inode:[pidfd]") != 0)
        fail_msg("linux backend: child %d's sentinel is %s, not a pidfd", i, kind[i]);
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--attach") == 0) return attach_child(argv[2]);
  g_argv = argv;
  if (mp_register("tb_sleep", tb_sleep, NULL) != MP_OK || mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "test_backend: %s\n", mp_last_error());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backend_segment_kind),
      cmocka_unit_test(test_backend_no_names_left_after_sigkill),
      cmocka_unit_test(test_backend_other_backend_refuses_segment),
      cmocka_unit_test(test_backend_dead_waiters_are_harmless),
      cmocka_unit_test(test_backend_process_mechanism),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
