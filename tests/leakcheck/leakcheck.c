/* Leak checks (docs/reliability.md, "No /dev/shm entries" and "No
 * descriptor or thread leaks", after normal exit or a SIGKILLed creator;
 * "Children are reaped"; section "Leak checks after the whole suite").
 *
 * meson runs this program after every other test of the run (priority
 * -100, not in parallel with anything), so its scans see what the whole
 * suite left behind:
 *  - no process of this build's test run is still alive (every test
 *    process carries MP_TEST_HELPER=<this build>/tests/mp-test-helper or
 *    LD_LIBRARY_PATH=<this build>/src... in its environment, and so does
 *    anything it started);
 *  - no /dev/shm entry that multiproc could have made.
 * And it checks one scenario of its own: a creator holding a queue, a lock,
 * a dict, a pool, target children and commands is SIGKILLed; its live
 * children keep using the queue, the daemons die with it, and once the
 * non-daemons exit nothing is left (this process is their subreaper, so it
 * sees and reaps every orphan itself). Its own descriptors and threads are
 * compared before and after. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_PIDS 64

/* The parent pid of pid, or -1. */
static int parent_of(int pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  char *rp = strrchr(buf, ')');
  char state;
  int ppid;
  return rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 ? ppid : -1;
}

/* The children of this process, found in /proc. */
static int list_children(int *pids, int max) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  if (!d) return 0;
  while ((e = readdir(d)) != NULL && n < max) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    int pid = atoi(e->d_name);
    if (parent_of(pid) == getpid()) pids[n++] = pid;
  }
  closedir(d);
  return n;
}

/* Whether /proc/<pid>/environ holds the exact entry want, or an entry
 * that starts with prefix (NULL: none). */
static int environ_has(int pid, const char *want, const char *prefix) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/environ", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  static char buf[1 << 16];
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
    if (strcmp(buf + i, want) == 0 || (prefix && strncmp(buf + i, prefix, strlen(prefix)) == 0))
      return 1;
  return 0;
}

/* ------------------------------------------------------------------------
 * The creator that is SIGKILLed, and its children
 * ---------------------------------------------------------------------- */

/* A non-daemon child: outlives the creator, then still uses the queue. */
static int holder_main(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_queue_t *q = NULL;
  if (mp_queue_from_fd(&q, mp_child_fd(0)) != MP_OK) return 3;
  while (getppid() == mp_parent_pid()) sleep_ms(10); /* until the creator is gone */
  sleep_ms(300);
  int r = mp_queue_put(q, "after", 5, 1000);
  void *got = NULL;
  size_t got_len = 0;
  if (r == MP_OK) r = mp_queue_get(&got, &got_len, q, 1000);
  int ok = r == MP_OK && got_len == 5 && memcmp(got, "after", 5) == 0;
  mp_free(got);
  mp_queue_free(q);
  return ok ? 0 : 4;
}

static int noop_main(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  return 0;
}

/* A daemon child: must die with the creator. */
static int sleeper_main(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  for (;;) pause();
  return 0;
}

static int square_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                       void *payload) {
  (void)payload, (void)arg, (void)arg_len;
  *out = NULL;
  *out_len = 0;
  return 0;
}

static mp_process_t *start_target(const char *name, int daemon, int fd) {
  mp_process_t *p = NULL;
  if (mp_process_new(&p, name, NULL, 0) != MP_OK) _exit(10);
  if (mp_process_set_daemon(p, daemon) != MP_OK) _exit(11);
  if (fd >= 0 && mp_process_pass_fd(p, fd) < 0) _exit(12);
  if (mp_process_start(p) != MP_OK) _exit(13);
  return p;
}

static mp_process_t *spawn_helper(const char *ms, int daemon) {
  mp_cmd_t *cmd = NULL;
  mp_process_t *p = NULL;
  if (mp_cmd_new(&cmd, getenv("MP_TEST_HELPER")) != MP_OK) _exit(20);
  mp_cmd_arg(cmd, "sleep");
  mp_cmd_arg(cmd, ms);
  mp_cmd_daemon(cmd, daemon);
  if (mp_process_spawn(&p, cmd) != MP_OK) _exit(21);
  mp_cmd_free(cmd);
  return p;
}

/* Create one of everything, start children that hold them, report the
 * children's pids to the test over the passed descriptor, and die. */
static int creator_main(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  int report = mp_child_fd(0);
  mp_queue_t *q = NULL;
  mp_lock_t *lock = NULL;
  mp_dict_t *dict = NULL;
  mp_pool_t *pool = NULL;
  mp_pool_opts_t *opts = NULL;
  if (mp_queue_new(&q, 0, 0, 0) != MP_OK || mp_lock_new(&lock, 0) != MP_OK ||
      mp_dict_new(&dict, 16, 4096) != MP_OK || mp_pool_opts_new(&opts) != MP_OK ||
      mp_pool_opts_set_workers(opts, 2) != MP_OK || mp_pool_new(&pool, opts) != MP_OK)
    return 5;
  void *out = NULL;
  size_t out_len;
  if (mp_pool_apply(&out, &out_len, pool, "leak_task", NULL, 0) != MP_OK) return 6;
  mp_free(out);
  /* Hold the lock and leave a value, as a real creator would. */
  if (mp_lock_acquire(lock, 1000) != MP_OK || mp_dict_set(dict, "k", 1, "v", 1) != MP_OK)
    return 7;
  start_target("leak_holder", 0, mp_queue_fileno(q));
  start_target("leak_holder", 0, mp_queue_fileno(q));
  start_target("leak_sleeper", 1, mp_lock_fileno(lock));
  start_target("leak_sleeper", 1, mp_dict_fileno(dict));
  spawn_helper("1000", 0);
  spawn_helper("60000", 1);
  /* The pool may still be starting its second worker: wait for all 8. */
  int pids[MAX_PIDS], n = 0;
  for (int64_t until = now_ms() + 5000; (n = list_children(pids, MAX_PIDS)) < 8 && now_ms() < until;)
    sleep_ms(10);
  if (write(report, pids, (size_t)n * sizeof pids[0]) < 0) return 8;
  close(report);
  raise(SIGKILL);
  return 9;
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_leakcheck_killed_creator_leaves_nothing(void **state) {
  (void)state;
  int fds0 = count_open_fds(), threads0 = count_threads();
  /* Orphans of the creator come to this process, which reaps them. */
  assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int pipefd[2];
  assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
  mp_process_t *creator = NULL;
  MP_ASSERT_OK(mp_process_new(&creator, "leak_creator", NULL, 0));
  assert_true(mp_process_pass_fd(creator, pipefd[1]) >= 0);
  close(pipefd[1]);
  MP_ASSERT_OK(mp_process_start(creator));

  int pids[MAX_PIDS];
  ssize_t got = read(pipefd[0], pids, sizeof pids);
  close(pipefd[0]);
  MP_ASSERT_OK(mp_process_join(creator, 30000));
  int code;
  MP_ASSERT_OK(mp_process_exitcode(&code, creator));
  assert_int_equal(code, -SIGKILL);
  mp_process_free(creator);
  int n = got > 0 ? (int)(got / (ssize_t)sizeof pids[0]) : 0;
  /* 2 pool workers, 4 targets, 2 commands. */
  assert_int_equal(n, 8);

  /* Each orphan must end: the daemons at once (SIGKILL from their death
   * watch), the non-daemons by themselves, successfully. */
  int ended = 0, killed = 0, clean = 0;
  int64_t deadline = now_ms() + 20000;
  while (ended < n && now_ms() < deadline) {
    for (int i = 0; i < n; i++) {
      if (pids[i] <= 0) continue;
      int status;
      pid_t r = waitpid(pids[i], &status, WNOHANG);
      if (r == 0) continue;
      if (r == pids[i] && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) killed++;
      if (r == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0) clean++;
      if (r == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) != 0)
        print_error("orphan %d exited with %d\n", pids[i], WEXITSTATUS(status));
      pids[i] = -1;
      ended++;
    }
    sleep_ms(20);
  }
  for (int i = 0; i < n; i++)
    if (pids[i] > 0) print_error("orphan %d still running\n", pids[i]);
  assert_int_equal(ended, n);
  assert_int_equal(killed, 5); /* 2 workers, 2 daemon targets, the daemon command */
  assert_int_equal(clean, 3);  /* the 2 holders used the queue; the command */
  assert_int_equal(count_zombie_children(), 0);
  assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);

  /* This process holds nothing more than before: every process was
   * freed, so no descriptor of theirs is left. */
  ASSERT_NO_FD_LEAK(fds0);
  assert_int_equal(count_threads(), threads0);
}

/* Nothing in /dev/shm that multiproc could have made (it uses anonymous
 * memfds, so it never should). */
static void test_leakcheck_no_dev_shm_entries(void **state) {
  (void)state;
  DIR *d = opendir("/dev/shm");
  if (!d) skip();
  struct dirent *e;
  int bad = 0;
  while ((e = readdir(d)) != NULL) {
    const char *s = e->d_name;
    if (s[0] == '.') continue;
    if (strstr(s, "multiproc") || strncmp(s, "mp-", 3) == 0 || strncmp(s, "mp_", 3) == 0 ||
        strncmp(s, "sem.mp", 6) == 0) {
      print_error("/dev/shm/%s left behind\n", s);
      bad++;
    }
  }
  closedir(d);
  assert_int_equal(bad, 0);
}

/* No process of this test run outlived it (zombies included: a zombie
 * shows as a process whose environment can no longer be read, so those are
 * counted by parent below). */
static void test_leakcheck_no_leftover_processes(void **state) {
  (void)state;
  char want[4096], lib[4096];
  snprintf(want, sizeof want, "MP_TEST_HELPER=%s", test_helper_path());
  /* Tests without the helper in their environment still run with this
   * build's library first in LD_LIBRARY_PATH (meson sets it): <build>/src. */
  const char *tests_dir = strrchr(test_helper_path(), '/');
  int build_len = (int)(tests_dir - test_helper_path()) - (int)strlen("/tests");
  snprintf(lib, sizeof lib, "LD_LIBRARY_PATH=%.*s/src", build_len, test_helper_path());
  int leftover = 0;
  /* A test's last children may take a moment to die after it exits. */
  int64_t deadline = now_ms() + 5000;
  do {
    leftover = 0;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      int pid = atoi(e->d_name);
      if (pid == getpid() || !environ_has(pid, want, lib)) continue;
      if (now_ms() >= deadline) {
        char path[64], comm[64] = "?";
        snprintf(path, sizeof path, "/proc/%d/comm", pid);
        FILE *f = fopen(path, "r");
        if (f) {
          if (!fgets(comm, sizeof comm, f)) comm[0] = '\0';
          fclose(f);
        }
        comm[strcspn(comm, "\n")] = '\0';
        print_error("left behind by a test: pid %d (%s)\n", pid, comm);
      }
      leftover++;
    }
    closedir(d);
    if (leftover) sleep_ms(100);
  } while (leftover && now_ms() < deadline + 100);
  assert_int_equal(leftover, 0);
  assert_int_equal(count_zombie_children(), 0);
}

int main(int argc, char **argv) {
  mp_register("leak_creator", creator_main, NULL);
  mp_register("leak_holder", holder_main, NULL);
  mp_register("leak_sleeper", sleeper_main, NULL);
  mp_register("leak_noop", noop_main, NULL);
  mp_register_task("leak_task", square_task, NULL);
  mp_main(argc, argv);
  /* The runtime thread and its descriptors live as long as the process:
   * start them before the first baseline. */
  mp_process_t *p = NULL;
  if (mp_process_new(&p, "leak_noop", NULL, 0) != MP_OK || mp_process_start(p) != MP_OK ||
      mp_process_join(p, 30000) != MP_OK)
    return 1;
  mp_process_free(p);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_leakcheck_killed_creator_leaves_nothing),
      cmocka_unit_test(test_leakcheck_no_dev_shm_entries),
      cmocka_unit_test(test_leakcheck_no_leftover_processes),
  };
  return MP_RUN_TESTS(tests);
}
