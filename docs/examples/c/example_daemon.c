/*
 * example_daemon — daemon and non-daemon children at the parent's exit.
 *
 * Ports the "主进程和子进程的关系" examples of 000_*.txt (and "守护进程" of
 * 001_*.txt):
 *
 *     def worker(interval):
 *         print("work start")
 *         time.sleep(interval)
 *         print("work end")
 *
 *     if __name__ == "__main__":
 *         p = multiprocessing.Process(target=worker, args=(0.3,))
 *         p.daemon = True
 *         p.start()
 *         p.join()                  # part 1: a joined daemon runs to the end
 *         print("end!")
 *
 *         d = multiprocessing.Process(target=worker, args=(5,))
 *         d.daemon = True           # part 2: ended when the parent exits
 *         w = multiprocessing.Process(target=worker, args=(0.5,))
 *         d.start(); w.start()      # w is not a daemon: joined at exit
 *         print("end of the main process!")
 *
 * The argument is the interval in milliseconds, a plain int copied into
 * the argument bytes. The children use their multiproc names ("daemon",
 * "worker") instead of time.ctime(), so the output can be checked.
 * Children flush after every line: a daemon ended by SIGTERM loses
 * whatever is still in its stdio buffer.
 *
 * At exit the daemon is terminated first, at once, before the non-daemon
 * child is joined (as in Python). Left alone, the daemon in part 2 might
 * be ended before it prints "work start" (the tutorial's output shows
 * just that). To make the output checkable, the parent hands the daemon
 * the write end of a pipe (mp_process_pass_fd) and waits for one byte
 * that the daemon writes after its first line.
 */
#define _POSIX_C_SOURCE 200809L
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* def worker(interval) */
static int worker(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  int interval_ms;
  if (arg_len != sizeof interval_ms) return 2;
  memcpy(&interval_ms, arg, sizeof interval_ms);
  printf("%s: work start\n", mp_current_name());
  fflush(stdout);
  int ready = mp_child_fd(0); /* MP_ENOENT unless the parent passed one */
  if (ready >= 0) {
    ssize_t n = write(ready, "!", 1);
    close(ready);
    if (n != 1) return 3;
  }
  sleep_ms(interval_ms);
  printf("%s: work end\n", mp_current_name());
  fflush(stdout);
  return 0;
}

/* Create and start a worker child; with ready_fd >= 0 pass it to the
 * child as its descriptor 0. On failure *out is NULL or unstarted. */
static int start_worker(mp_process_t **out, const char *name, int daemon,
                        int interval_ms, int ready_fd) {
  int rc = mp_process_new(out, "worker", &interval_ms, sizeof interval_ms);
  if (rc < 0) return fail("mp_process_new", rc);
  rc = mp_process_set_name(*out, name);
  if (rc < 0) return fail("mp_process_set_name", rc);
  rc = mp_process_set_daemon(*out, daemon);
  if (rc < 0) return fail("mp_process_set_daemon", rc);
  if (ready_fd >= 0) {
    rc = mp_process_pass_fd(*out, ready_fd);
    if (rc < 0) return fail("mp_process_pass_fd", rc);
  }
  rc = mp_process_start(*out);
  if (rc < 0) return fail("mp_process_start", rc);
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  int rc = mp_register("worker", worker, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  mp_process_t *p = NULL, *d = NULL, *w = NULL;
  int ready[2] = {-1, -1};
  int status;

  /* Part 1: a daemon that is joined runs to its end. */
  fflush(stdout);
  status = start_worker(&p, "joined-daemon", 1, 300, -1);
  if (status != EXIT_SUCCESS) goto out;
  rc = mp_process_join(p, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_process_join", rc);
    goto out;
  }
  int code;
  rc = mp_process_exitcode(&code, p);
  if (rc < 0) {
    status = fail("mp_process_exitcode", rc);
    goto out;
  }
  if (code != 0) {
    fprintf(stderr, "%s exited with %d\n", mp_process_name(p), code);
    status = EXIT_FAILURE;
    goto out;
  }
  printf("end!\n");

  /* Part 2: nobody joins. At exit the library terminates the daemon (its
   * "work end" never comes) and joins the non-daemon worker. */
  fflush(stdout);
  if (pipe(ready) != 0) {
    perror("pipe");
    status = EXIT_FAILURE;
    goto out;
  }
  status = start_worker(&d, "daemon", 1, 5000, ready[1]);
  if (status != EXIT_SUCCESS) goto out;
  close(ready[1]); /* the daemon has its own copy */
  ready[1] = -1;
  status = start_worker(&w, "worker", 0, 500, -1);
  if (status != EXIT_SUCCESS) goto out;
  char byte;
  if (read(ready[0], &byte, 1) != 1) { /* 0: the daemon died first */
    fprintf(stderr, "the daemon did not report that it started\n");
    status = EXIT_FAILURE;
    goto out;
  }
  printf("end of the main process!\n");
  fflush(stdout); /* print it now, not after the exit-time join */

out:
  if (ready[0] >= 0) close(ready[0]);
  if (ready[1] >= 0) close(ready[1]);
  /* Freeing a handle neither stops nor detaches the child: the exit
   * handler (mp_set_exit_join, on by default) still deals with it. */
  mp_process_free(p);
  mp_process_free(d);
  mp_process_free(w);
  return status;
}
