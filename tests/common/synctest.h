/* Shared by the synchronisation tests (test_lock, test_cond, test_sema_event,
 * test_barrier, test_shm, test_value, test_handles): target children with a
 * few integer arguments and objects passed as descriptors, joining them,
 * polling shared state, /dev/shm accounting, and the start of main().
 *
 * Split from test_sync.c, one program per object. Every target is
 * registered (sync_test_start) before mp_main() so that MP_START_SPAWN
 * children, re-executions of the program, find it.
 *
 * Objects reach a child as descriptors: mp_process_pass_fd(p,
 * mp_X_fileno(obj)) in the parent, child_X(i) (testutil.h) in the child. A
 * target returns 0 on success; on a failed check (CK) it prints why on
 * stderr and returns 99. */
#ifndef MP_SYNCTEST_H
#define MP_SYNCTEST_H

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define MP_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP_TEST_ASAN 1
#endif
#endif
#ifndef MP_TEST_ASAN
#define MP_TEST_ASAN 0
#endif

/* Close fd if it is still open (after a from_fd that failed: whether the
 * library took the descriptor is not what these tests check). */
static inline void close_if_open(int fd) {
  if (fd >= 0 && fcntl(fd, F_GETFD) >= 0) close(fd);
}

/* The arguments of a target: a few integers. */
typedef struct targ {
  int32_t a, b, c, d;
} targ_t;

static inline targ_t targ_of(const void *arg, size_t len) {
  targ_t t = {0, 0, 0, 0};
  if (arg && len == sizeof t) memcpy(&t, arg, sizeof t);
  return t;
}

/* Start a target child with descriptors passed at indexes 0, 1, … */
static inline mp_process_t *start_child(const char *target, targ_t arg, int method,
                                 const int *fds, size_t nfds) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, target, &arg, sizeof arg));
  MP_ASSERT_OK(mp_process_set_start_method(p, (mp_start_method_t)method));
  for (size_t i = 0; i < nfds; ++i) {
    int idx = mp_process_pass_fd(p, fds[i]);
    if (idx != (int)i)
      fail_msg("mp_process_pass_fd(%d) = %d, expected %zu: %s", fds[i], idx, i,
               mp_last_error());
  }
  MP_ASSERT_OK(mp_process_start(p));
  return p;
}

/* Join within timeout_ms, free the process and return its exit code; a
 * child still running then is killed and the test fails. */
static inline int finish_child(mp_process_t *p, int64_t timeout_ms) {
  int r = mp_process_join(p, timeout_ms);
  if (r != MP_OK) {
    mp_process_kill(p);
    mp_process_join(p, 10000);
    mp_process_free(p);
    fail_msg("child did not end within %" PRId64 " ms (%s)", timeout_ms,
             mp_err_name(r));
  }
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  return code;
}

static inline void expect_child_ok(mp_process_t *p, int64_t timeout_ms, const char *what) {
  int code = finish_child(p, timeout_ms);
  if (code != 0) fail_msg("%s: child exit code %d, expected 0", what, code);
}

/* Start n children of one target, the first by spawn and the others by
 * fork: every many-process test then meets the object both ways. */
static inline void start_children(mp_process_t **p, int n, const char *target, targ_t arg,
                                  const int *fds, size_t nfds) {
  for (int i = 0; i < n; ++i)
    p[i] = start_child(target, arg, i == 0 ? MP_START_SPAWN : MP_START_FORK, fds, nfds);
}

/* Finish n children (each within timeout_ms), then fail naming the first
 * that did not exit with 0. */
static inline void expect_children_ok(mp_process_t **p, int n, int64_t timeout_ms,
                                      const char *what) {
  int bad = -1, bad_code = 0;
  for (int i = 0; i < n; ++i) {
    int code = finish_child(p[i], timeout_ms);
    if (code != 0 && bad < 0) bad = i, bad_code = code;
  }
  if (bad >= 0) fail_msg("%s %d: exit code %d, expected 0", what, bad, bad_code);
}

/* Wait until an integer element reaches want; 1 if it did in time. */
static inline int poll_value(mp_value_t *v, size_t index, int64_t want, int timeout_ms) {
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    int64_t x = -1;
    if (mp_value_get_i64(&x, v, index) == MP_OK && x == want) return 1;
    if (now_ms() >= end) return 0;
    sleep_ms(5);
  }
}

/* Wait until n callers wait on the barrier; 1 if they did in time. */
static inline int poll_barrier_waiting(mp_barrier_t *b, int n, int timeout_ms) {
  int64_t end = now_ms() + timeout_ms;
  for (;;) {
    if (mp_barrier_n_waiting(b) == n) return 1;
    if (now_ms() >= end) return 0;
    sleep_ms(5);
  }
}

/* Names in /dev/shm (up to 512), for checking that nothing is added. */
typedef struct shm_names {
  int n;
  char *name[512];
} shm_names_t;

static inline void shm_names_take(shm_names_t *s) {
  s->n = 0;
  DIR *d = opendir("/dev/shm");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && s->n < 512)
    if (e->d_name[0] != '.') s->name[s->n++] = strdup(e->d_name);
  closedir(d);
}

static inline void shm_names_free(shm_names_t *s) {
  for (int i = 0; i < s->n; ++i) free(s->name[i]);
  s->n = 0;
}

/* The first name in after that is not in before, or NULL. */
static inline const char *shm_names_added(const shm_names_t *before, const shm_names_t *after) {
  for (int i = 0; i < after->n; ++i) {
    int found = 0;
    for (int j = 0; j < before->n && !found; ++j)
      found = strcmp(after->name[i], before->name[j]) == 0;
    if (!found) return after->name[i];
  }
  return NULL;
}

/* In a target child: a failed check prints why and the target returns 99. */
#define CK(expr)                                                             \
  do {                                                                       \
    if (!(expr)) {                                                           \
      fprintf(stderr, "[child %d] %s:%d: check failed: %s (last error: %s)\n", \
              (int)getpid(), __FILE__, __LINE__, #expr, mp_last_error());    \
      return 99;                                                             \
    }                                                                        \
  } while (0)

/* A target by the name children are started with. */
typedef struct sync_target {
  const char *name;
  mp_target_fn fn;
} sync_target_t;

/* The start of every main(): register the targets (before mp_main(), so
 * that MP_START_SPAWN children, re-executions of the program, find them),
 * then mp_main(), which runs a child's target and exits. 0 on success. */
static inline int sync_test_start(int argc, char **argv, const sync_target_t *t, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (mp_register(t[i].name, t[i].fn, NULL) != MP_OK) {
      fprintf(stderr, "mp_register %s: %s\n", t[i].name, mp_last_error());
      return 99;
    }
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 99;
  }
  return 0;
}

#endif
