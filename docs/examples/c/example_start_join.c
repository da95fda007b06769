/*
 * example_start_join — start several children, then join them all.
 *
 * Ports the first example of the tutorials ("简单多进程程序" in
 * 000_*.txt, "多进程 multiprocessing" in 002_*.txt):
 *
 *     def run_proc(name):
 *         print('Run child process %s (%s)...' % (name, os.getpid()))
 *
 *     if __name__ == '__main__':
 *         print('Parent process %s.' % os.getpid())
 *         print('Process will start.')
 *         record = []
 *         for name in ('alpha', 'beta', 'gamma'):
 *             p = Process(target=run_proc, args=(name,))
 *             p.start()
 *             record.append(p)
 *         for p in record:
 *             p.join()
 *         print('Process end.')
 *
 * In C the target is a function registered under a name; its argument is
 * a copy of the bytes given to mp_process_new() (here the name, without
 * its NUL). Pids change from run to run, so this port prints the
 * multiproc process name (current_process().name) instead, and the parent
 * prints each child's exit code after join().
 */
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCHILDREN 3

/* Print a failed call's code and detail; return the exit status to use. */
static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* The target: def run_proc(name). Its return value is the exit code. */
static int run_proc(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  printf("Run child process %.*s (%s)...\n", (int)arg_len, (const char *)arg,
         mp_current_name());
  printf("process %.*s is done\n", (int)arg_len, (const char *)arg);
  fflush(stdout); /* one write per child, before the parent's next line */
  return 0;
}

int main(int argc, char **argv) {
  int rc = mp_register("run_proc", run_proc, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv); /* needed for MP_START_SPAWN; harmless here */
  if (rc < 0) return fail("mp_main", rc);

  static const char *const names[NCHILDREN] = {"alpha", "beta", "gamma"};
  mp_process_t *record[NCHILDREN] = {NULL};
  int status = EXIT_SUCCESS;

  printf("Parent process %s.\n", mp_current_name());
  printf("Process will start.\n");
  fflush(stdout); /* before the children write to the same stdout */

  for (int i = 0; i < NCHILDREN; i++) {
    rc = mp_process_new(&record[i], "run_proc", names[i], strlen(names[i]));
    if (rc < 0) {
      status = fail("mp_process_new", rc);
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
