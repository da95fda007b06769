/*
 * example_spawn — example_start_join with the "spawn" start method.
 *
 * Ports the same tutorial example as example_start_join ("简单多进程程序"
 * of 000_*.txt, "多进程 multiprocessing" of 002_*.txt) together with the
 * tutorials' note on `if __name__ == '__main__'` (001_*.txt: "Since
 * Windows has no fork, the multiprocessing module starts a new Python
 * process and imports the calling module"):
 *
 *     multiprocessing.set_start_method('spawn')
 *
 *     def run_proc(name):
 *         print('Run child process %s...' % name)
 *
 *     if __name__ == '__main__':      # the child re-imports this module
 *         for name in ('alpha', 'beta', 'gamma'):
 *             p = Process(target=run_proc, args=(name,))
 *             p.start()
 *             ...
 *
 * With MP_START_SPAWN the child is a fresh execution of this program. It
 * runs main() again from the top, so main() must begin with the C
 * equivalent of the `if __name__ == '__main__'` guard:
 *
 *     mp_register(...)   every target, before mp_main()
 *     mp_main(argc, argv) in a spawned child: runs the target and exits;
 *                         in the parent: returns MP_OK at once
 *
 * Everything after mp_main() is the body of `if __name__ == '__main__'`:
 * it only runs in the parent. State the parent sets up there (here the
 * global g_parent_state) does not reach a spawned child; only the
 * argument bytes do. A forked child would see the parent's value.
 */
#define _POSIX_C_SOURCE 200809L
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCHILDREN 3

/* Set by the parent after mp_main(); a spawned child still sees 0. */
static int g_parent_state = 0;

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

static int run_proc(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  printf("Run child process %.*s (%s): is_child=%d g_parent_state=%d "
         "parent_pid_ok=%d\n",
         (int)arg_len, (const char *)arg, mp_current_name(), mp_is_child(),
         g_parent_state, mp_parent_pid() == (int)getppid());
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  /* ---- the `if __name__ == '__main__'` guard ---- */
  int rc = mp_register("run_proc", run_proc, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv); /* a spawned child never returns from here */
  if (rc < 0) return fail("mp_main", rc);
  /* ---- from here on: only the parent ---- */

  g_parent_state = 42;
  static const char *const names[NCHILDREN] = {"alpha", "beta", "gamma"};
  mp_process_t *record[NCHILDREN] = {NULL};
  int status = EXIT_SUCCESS;

  printf("Parent process %s: is_child=%d g_parent_state=%d\n",
         mp_current_name(), mp_is_child(), g_parent_state);
  printf("Process will start.\n");
  fflush(stdout); /* a spawned child does not share our stdio buffer */

  for (int i = 0; i < NCHILDREN; i++) {
    rc = mp_process_new(&record[i], "run_proc", names[i], strlen(names[i]));
    if (rc < 0) {
      status = fail("mp_process_new", rc);
      goto out;
    }
    rc = mp_process_set_start_method(record[i], MP_START_SPAWN);
    if (rc < 0) {
      status = fail("mp_process_set_start_method", rc);
      goto out;
    }
    rc = mp_process_start(record[i]);
    if (rc < 0) {
      status = fail("mp_process_start", rc);
      goto out;
    }
  }

  /* Join them all before reporting: a child still running could print
   * between the report lines. */
  for (int i = 0; i < NCHILDREN; i++) {
    rc = mp_process_join(record[i], MP_FOREVER);
    if (rc < 0) {
      status = fail("mp_process_join", rc);
      goto out;
    }
  }
  for (int i = 0; i < NCHILDREN; i++) {
    int code;
    rc = mp_process_exitcode(&code, record[i]);
    if (rc < 0) {
      status = fail("mp_process_exitcode", rc);
      goto out;
    }
    printf("%s (%s) exited with %d\n", mp_process_name(record[i]), names[i],
           code);
    if (code != 0) status = EXIT_FAILURE;
  }
  printf("Process end.\n");

out:
  for (int i = 0; i < NCHILDREN; i++) mp_process_free(record[i]);
  return status;
}
