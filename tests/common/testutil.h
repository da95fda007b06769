/* Shared helpers for the CMocka tests: the helper program, descriptor and
 * child accounting, assertions that print mp_last_error(), the clock, the
 * start methods, and a target child's opening of the objects passed to it. */
#ifndef MP_TESTUTIL_H
#define MP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "multiproc.h"
#include "testclock.h"

/* Assert that a multiproc call returned MP_OK, printing the detail if not. */
#define MP_ASSERT_OK(expr)                                                  \
  do {                                                                      \
    int mp__r = (expr);                                                     \
    if (mp__r != MP_OK)                                                     \
      fail_msg("%s = %d (%s): %s", #expr, mp__r, mp_err_name(mp__r),        \
               mp_last_error());                                            \
  } while (0)

/* Assert that a call returned a given code and left a non-empty message. */
#define MP_ASSERT_ERR(expr, code)                                           \
  do {                                                                      \
    int mp__r = (expr);                                                     \
    if (mp__r != (code))                                                    \
      fail_msg("%s = %d (%s), expected %s", #expr, mp__r,                   \
               mp_err_name(mp__r), mp_err_name(code));                      \
    assert_true(mp_last_error()[0] != '\0');                                \
  } while (0)

/* Assert that a wait (expr, given a timeout) fails with MP_ETIMEDOUT after
 * at least min_ms and less than max_ms: a timeout that comes early, or
 * that a missed wake-up stretches, is a defect the return code alone does
 * not show. */
#define MP_ASSERT_TIMES_OUT(expr, min_ms, max_ms)                           \
  do {                                                                      \
    int64_t mp__t0 = now_ms();                                              \
    MP_ASSERT_ERR(expr, MP_ETIMEDOUT);                                      \
    int64_t mp__waited = now_ms() - mp__t0;                                 \
    if (mp__waited < (min_ms) || mp__waited >= (max_ms))                    \
      fail_msg("%s timed out after %lld ms, expected %lld to %lld", #expr,   \
               (long long)mp__waited, (long long)(min_ms),                  \
               (long long)(max_ms));                                        \
  } while (0)

/* The start methods, for tests that run once per method. */
static const int k_methods[] = {MP_START_FORK, MP_START_SPAWN, MP_START_FORKSERVER};
#define MP_N_METHODS ((int)(sizeof k_methods / sizeof k_methods[0]))
#define FOR_EACH_METHOD(m)                                                  \
  for (int m##_i = 0, m = k_methods[0]; m##_i < MP_N_METHODS;               \
       ++m##_i, m = k_methods[m##_i < MP_N_METHODS ? m##_i : 0])

static inline const char *method_name(int m) {
  return m == MP_START_SPAWN ? "spawn" : m == MP_START_FORKSERVER ? "forkserver" : "fork";
}

/* Whether this process runs the portable backend (issue 18): always in a
 * build without the Linux mechanisms, else under MULTIPROC_BACKEND=portable. */
static inline int mp_test_portable(void) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  const char *v = getenv("MULTIPROC_BACKEND");
  return v && strcmp(v, "portable") == 0;
#else
  return 1;
#endif
}

/* Put cmd's child in a process group of its own: mp_cmd_set_new_group, or
 * under the portable backend, which has no setpgid (MP_ENOTSUP there, see
 * test_spawn), a new session, whose leader leads a new group too. */
static inline void cmd_own_group(mp_cmd_t *cmd) {
  MP_ASSERT_OK(mp_test_portable() ? mp_cmd_set_new_session(cmd, 1)
                                  : mp_cmd_set_new_group(cmd, 1));
}

/* The path of tests/helper/mp-test-helper (meson sets MP_TEST_HELPER). */
static inline const char *test_helper_path(void) {
  const char *p = getenv("MP_TEST_HELPER");
  if (!p) fail_msg("MP_TEST_HELPER is not set; run the tests with meson test");
  return p;
}

/* A command running the helper with up to 4 arguments (NULL-terminated). */
static inline mp_cmd_t *helper_cmd(const char *mode, ...) {
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, test_helper_path()));
  MP_ASSERT_OK(mp_cmd_arg(cmd, mode));
  va_list ap;
  va_start(ap, mode);
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL) MP_ASSERT_OK(mp_cmd_arg(cmd, a));
  va_end(ap);
  return cmd;
}

/* Number of entries of a directory, "." and ".." left out; -1 if it
 * cannot be read. */
static inline int count_dir_entries(const char *path) {
  DIR *d = opendir(path);
  int n = 0;
  struct dirent *e;
  if (!d) return -1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* Whether pid is a forkserver (MP_START_FORKSERVER): it lives as long as
 * its parent, so its pidfd is no child's. /proc/PID/environ keeps the
 * variable the server unset. */
static inline int is_forkserver(long pid) {
  char path[64], env[65536];
  snprintf(path, sizeof path, "/proc/%ld/environ", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t len = fread(env, 1, sizeof env - 1, f);
  fclose(f);
  env[len] = '\0';
  static const char var[] = "MULTIPROC_FORKSERVER_FD=";
  for (size_t i = 0; i < len; i += strlen(env + i) + 1)
    if (strncmp(env + i, var, sizeof var - 1) == 0) return 1;
  return 0;
}

/* Number of this process's pidfds (descriptors whose /proc/self/fdinfo
 * has a "Pid:" line) but a forkserver's; with reaped_only, those whose
 * child was already reaped ("Pid: -1"). */
static inline int count_pidfds(int reaped_only) {
  DIR *d = opendir("/proc/self/fdinfo");
  struct dirent *e;
  int n = 0;
  char path[300], line[128];
  if (!d) return -1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%s", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue; /* closed meanwhile (the directory's own fd) */
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "Pid:", 4) != 0) continue;
      long pid = strtol(line + 4, NULL, 10);
      if ((!reaped_only || pid == -1) && !is_forkserver(pid)) n++;
    }
    fclose(f);
  }
  closedir(d);
  return n;
}

/* Number of open descriptors of this process. The runtime thread closes a
 * freed process's pidfd a moment after its child was reaped, so the count
 * first waits (up to 1 s) for reaped children's pidfds to go; one that
 * stays (a process not freed yet, or a leak) is counted. */
static inline int count_open_fds(void) {
  struct timespec pause = {0, 5 * 1000000L};
  for (int i = 0; i < 200 && count_pidfds(1) > 0; i++) nanosleep(&pause, NULL);
  int n = count_dir_entries("/proc/self/fd");
  return n < 0 ? -1 : n - 1; /* the directory's own descriptor */
}

/* Number of threads of this process. */
static inline int count_threads(void) { return count_dir_entries("/proc/self/task"); }

/* The number of open descriptors once it has dropped to at_most, or what
 * it still is after 3 s: the runtime thread closes an ended child's watch
 * (and with it the child's pidfd) a moment after join returns. */
static inline int settled_open_fds(int at_most) {
  struct timespec pause = {0, 20 * 1000000L};
  int n = count_open_fds();
  for (int i = 0; i < 150 && n > at_most; i++) {
    nanosleep(&pause, NULL);
    n = count_open_fds();
  }
  return n;
}

/* The number of open descriptors once it has stayed the same for 200 ms
 * (at most 3 s): the runtime thread closes an ended child's watch (its
 * pidfd, a forkserver child's status socket, or under the portable backend
 * its eventfd sentinel) a moment after free, up to a sweep (20 ms) later
 * for a child that was never watched, so a baseline taken right after
 * children ran can still fall. */
static inline int steady_open_fds(void) {
  struct timespec pause = {0, 200 * 1000000L};
  int n = count_open_fds();
  for (int i = 0; i < 15; i++) {
    nanosleep(&pause, NULL);
    int m = count_open_fds();
    if (m == n) break;
    n = m;
  }
  return n;
}

/* No descriptor more than before: a leak is an increase. Fewer is fine
 * (a pidfd of a process freed before `before` was counted may have closed
 * since, on the runtime thread). */
#define ASSERT_NO_FD_LEAK(before)                                           \
  do {                                                                      \
    int mp__before = (before), mp__now = settled_open_fds(mp__before);      \
    if (mp__now > mp__before)                                               \
      fail_msg("%d descriptors open, %d before", mp__now, mp__before);      \
  } while (0)

/* Number of children of this process that are zombies (state Z in /proc),
 * or, with zombies 0, that still run. */
static inline int count_children(int zombies) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  char path[300], buf[512];
  int me = getpid();
  if (!d) return -1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* pid (comm) state ppid ... ; comm may contain spaces: find the last ')' */
    char *rp = strrchr(buf, ')');
    char state;
    int ppid;
    if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == me &&
        (state == 'Z') == (zombies != 0))
      n++;
  }
  closedir(d);
  return n;
}

static inline int count_zombie_children(void) { return count_children(1); }

/* Whether pid exists and is not a zombie. */
static inline int pid_running(int pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  char *rp = strrchr(buf, ')');
  char state = 0;
  if (rp) sscanf(rp + 1, " %c", &state);
  return state != 0 && state != 'Z' && state != 'X';
}

/* Write all of buf to fd, retrying after EINTR and short writes: 0, or -1
 * with errno set. */
static inline int write_all(int fd, const void *buf, size_t len) {
  const unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* In a target child: open the object of a kind passed at descriptor index
 * i (mp_child_fd), or print why not on stderr and return NULL. Defines
 * child_lock(i), child_queue(i), ... */
#define MP_DEFINE_CHILD_OPEN(type, kind)                                    \
  static inline type *child_##kind(size_t i) {                              \
    type *h = NULL;                                                         \
    int fd = mp_child_fd(i);                                                \
    if (fd < 0) {                                                           \
      fprintf(stderr, "[child %d] mp_child_fd(%zu) = %d: %s\n",             \
              (int)getpid(), i, fd, mp_last_error());                       \
      return NULL;                                                          \
    }                                                                       \
    int r = mp_##kind##_from_fd(&h, fd);                                    \
    if (r != MP_OK) {                                                       \
      fprintf(stderr, "[child %d] mp_" #kind "_from_fd = %s: %s\n",         \
              (int)getpid(), mp_err_name(r), mp_last_error());              \
      return NULL;                                                          \
    }                                                                       \
    return h;                                                               \
  }

MP_DEFINE_CHILD_OPEN(mp_lock_t, lock)
MP_DEFINE_CHILD_OPEN(mp_sem_t, sem)
MP_DEFINE_CHILD_OPEN(mp_event_t, event)
MP_DEFINE_CHILD_OPEN(mp_barrier_t, barrier)
MP_DEFINE_CHILD_OPEN(mp_shm_t, shm)
MP_DEFINE_CHILD_OPEN(mp_value_t, value)
MP_DEFINE_CHILD_OPEN(mp_queue_t, queue)
MP_DEFINE_CHILD_OPEN(mp_dict_t, dict)

/* A condition passed at index i, bound to lock (opened by the child). */
static inline mp_cond_t *child_cond(size_t i, mp_lock_t *lock) {
  mp_cond_t *c = NULL;
  int fd = mp_child_fd(i);
  if (fd < 0) return NULL;
  int r = mp_cond_from_fd(&c, fd, lock);
  if (r != MP_OK) {
    fprintf(stderr, "[child %d] mp_cond_from_fd = %s: %s\n", (int)getpid(),
            mp_err_name(r), mp_last_error());
    return NULL;
  }
  return c;
}

/* In a target child: say on stderr which call failed and why. */
static inline void child_report(const char *what, int r) {
  fprintf(stderr, "child %d: %s = %s: %s\n", (int)getpid(), what,
          mp_err_name(r), mp_last_error());
}

/* Run a CMocka group with TAP output: one group per executable. */
/* MP_TEST_FILTER=<pattern> (cmocka's * and ? wildcards) runs only the
 * matching tests of a program: for looping one test while debugging. */
static inline void mp_test_filter_from_env(void) {
  const char *pattern = getenv("MP_TEST_FILTER");
  if (pattern && *pattern) cmocka_set_test_filter(pattern);
}

#define MP_RUN_TESTS(tests) \
  (mp_test_filter_from_env(), cmocka_run_group_tests(tests, NULL, NULL))

#endif
